"""The body of every message kind, published in the officers' OpenAPI description.

A request's `body` is read by the model of its `type` (`casework.kinds`), so the route takes
it as an object and validates it in the use case. Left at that, the description would say
"any object" and a client would have to guess the fields; this fills in, from the same
registry the use case reads, one schema per kind and the list of bodies a request may carry.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from migrex.casework.kinds import KINDS

REQUEST_MODEL = "RequestIn"
COMPONENTS = "#/components/schemas/{model}"


def with_message_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every kind's body schema among its components and the body of a
    request described as one of the bodies that open a case."""
    kinds = sorted(KINDS.values(), key=lambda kind: kind.type)
    refs, top = models_json_schema(
        [(kind.model, "validation") for kind in kinds], ref_template=COMPONENTS
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in top.get("$defs", {}).items():
        if name in schemas and schemas[name] != schema:
            # Two different models under one name would make a client read the wrong one.
            raise ValueError(f"the OpenAPI description already holds another {name!r}")
        schemas[name] = schema
    request = schemas.get(REQUEST_MODEL)
    if request is not None:
        request["properties"]["body"] = {
            "title": "Body",
            "description": "The message body: the schema of the kind `type` names.",
            "anyOf": [refs[(kind.model, "validation")] for kind in kinds if kind.opens_case],
        }
    return document


def publish_message_bodies(app: FastAPI) -> None:
    """Have `app`'s OpenAPI description carry the body schema of every message kind."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_message_bodies(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
