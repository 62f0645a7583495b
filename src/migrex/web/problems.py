"""RFC 9457 problem documents for every error an HTTP client can meet."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from migrex.errors import MigrexError, Problem


class RequestInvalid(MigrexError):
    type_slug = "request-invalid"
    title = "The request is invalid"
    status = 422


def problem_response(error: MigrexError, instance: str | None = None) -> JSONResponse:
    """An RFC 9457 problem document for a MigrexError."""
    body: dict[str, object] = {
        "type": f"urn:migrex:problem:{error.type_slug}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if instance:
        body["instance"] = instance
    if error.problems:
        body["problems"] = [{"where": p.where, "reason": p.reason} for p in error.problems]
    return JSONResponse(
        body,
        status_code=error.status,
        media_type="application/problem+json",
        headers=getattr(error, "headers", None),
    )


def invalid_request_problem(error: RequestValidationError, instance: str) -> JSONResponse:
    problems = [
        Problem(".".join(str(part) for part in item["loc"]), item["msg"]) for item in error.errors()
    ]
    invalid = RequestInvalid("the request does not match the API description", problems)
    return problem_response(invalid, instance)


def http_problem(error: StarletteHTTPException, instance: str) -> JSONResponse:
    failure = MigrexError(str(error.detail))
    failure.status, failure.title, failure.type_slug = error.status_code, str(error.detail), "http"
    return problem_response(failure, instance)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app can answer with becomes an RFC 9457 problem document."""

    @app.exception_handler(MigrexError)
    async def _problem(request: Request, error: MigrexError) -> JSONResponse:
        return problem_response(error, str(request.url.path))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return invalid_request_problem(error, str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return http_problem(error, str(request.url.path))
