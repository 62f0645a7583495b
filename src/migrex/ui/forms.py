"""Reading a submitted form without a multipart parser: the console's forms are small and
URL-encoded, and each route names the fields it takes."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qs

from fastapi import Request

from migrex.errors import MigrexError, Problem

MAX_FORM_BYTES = 64 * 1024


class FormInvalid(MigrexError):
    type_slug = "form-invalid"
    title = "The form is invalid"
    status = 422


async def form_fields(
    request: Request, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, str]:
    """The named fields of an URL-encoded form (each once, without control characters other
    than line breaks); FormInvalid names what is missing or wrong, never what was typed."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormInvalid("the form is too large")
    try:
        sent = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as error:
        raise FormInvalid("the form is not UTF-8") from error
    fields: dict[str, str] = {}
    problems = []
    for name in (*required, *optional):
        values = sent.get(name, [])
        if len(values) > 1:
            problems.append(Problem(name, "given more than once"))
        elif values and any(ord(c) < 32 and c not in "\r\n\t" for c in values[0]):
            problems.append(Problem(name, "holds a control character"))
        elif values and values[0].strip():
            fields[name] = values[0]
        elif name in required:
            problems.append(Problem(name, "is required"))
    if problems:
        raise FormInvalid("the form is incomplete or invalid", problems)
    return fields


async def form_list(request: Request, name: str, *, required: bool = False) -> list[str]:
    """Every value of a repeated field (checkboxes), in the order sent; FormInvalid when
    `required` and none is chosen."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormInvalid("the form is too large")
    try:
        sent = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise FormInvalid("the form is not UTF-8") from error
    values = [v for v in sent.get(name, []) if v.strip()]
    if any(ord(c) < 32 for v in values for c in v):
        raise FormInvalid("the form is invalid", [Problem(name, "holds a control character")])
    if required and not values:
        raise FormInvalid("the form is incomplete", [Problem(name, "choose at least one")])
    return values
