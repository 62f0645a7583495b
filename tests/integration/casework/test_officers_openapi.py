"""Schemathesis over the officers' OpenAPI description: whatever a client sends, the node
answers without a server error, with a token of each kind of officer."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import schemathesis
from hypothesis import HealthCheck, given, settings

from migrex.casework.kinds import KINDS
from migrex.officers.model import Role
from migrex.officers.service import add_officer, issue_token
from migrex.web.officers_app import create_officer_app
from nodes import Pair


def officer_token(pair: Pair) -> str:
    with pair.am.unit_of_work() as uow:
        add_officer(
            uow, username="officer-am", display_name="Officer",
            roles=[(Role.OFFICER, "am-mcs"), (Role.REVIEWER, "am-police")], password=None,
            actor="test", hosted_authorities=pair.am.settings.authorities,
        )  # fmt: skip
    with pair.am.unit_of_work() as uow:
        return issue_token(
            uow, username="officer-am", name="fuzz", ttl=timedelta(days=1), actor="test"
        ).token


def test_no_operation_answers_with_a_server_error(pair: Pair) -> None:
    headers = {"Authorization": f"Bearer {officer_token(pair)}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_officer_app(pair.am))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, response.text)

        no_server_error()
    # The fuzzing really reached the routes: some calls succeeded, some were refused.
    assert len(statuses) >= 3 * len(operations)
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)


def test_the_description_gives_every_message_body(pair: Pair) -> None:
    document = create_officer_app(pair.am).openapi()
    schemas = document["components"]["schemas"]
    for kind in KINDS.values():
        assert kind.model.__name__ in schemas, kind.type
    inquiry = schemas["PersonInquiry"]
    assert {"persons", "purpose", "legal_basis"} <= set(inquiry["properties"])
    body = schemas["RequestIn"]["properties"]["body"]
    offered = {ref["$ref"].rsplit("/", 1)[1] for ref in body["anyOf"]}
    opening = {kind.model.__name__ for kind in KINDS.values() if kind.opens_case}
    assert offered == opening and "PersonInquiry" in offered
    # Every reference resolves inside the document.
    text = json.dumps(document)
    for name in re.findall(r'"#/components/schemas/([^"]+)"', text):
        assert name in schemas, name
