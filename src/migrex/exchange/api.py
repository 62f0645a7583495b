"""The partner-facing door: POST a batch of envelopes, get one outcome (with receipt) each."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from migrex.errors import MigrexError
from migrex.exchange.receiver import receive_batch
from migrex.exchange.runtime import MAX_BATCH, ExchangeRuntime
from migrex.security.model import Refusal

log = structlog.get_logger(__name__)

router = APIRouter(tags=["exchange"])


class BatchTooLarge(MigrexError):
    type_slug = "batch-too-large"
    title = "The request is larger than this node accepts"
    status = 413


class MalformedBatch(MigrexError):
    type_slug = "malformed-batch"
    title = "The request is not a batch of envelopes"
    status = 400


class PartnerDisconnected(MigrexError):
    type_slug = "partner-disconnected"
    title = "The partner disconnected before its batch was complete"
    status = 400


class OutcomeOut(BaseModel):
    status: str = Field(
        description="accepted, duplicate (answered with the first receipt) or rejected"
    )
    message_id: str | None = None
    receipt: str | None = Field(None, description="compact JWS receipt signed by the receiver")
    problem: dict[str, Any] | None = Field(None, description="RFC 9457 problem for a rejection")


class BatchOut(BaseModel):
    results: list[OutcomeOut]


async def _capped_body(request: Request, limit: int) -> bytes:
    # Refuse before reading everything: a partner cannot make us buffer more than `limit`.
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BatchTooLarge(f"the request exceeds {limit} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BatchTooLarge(f"the request exceeds {limit} bytes")
    except ClientDisconnect:
        # A partner node stopping, or cut off by the body deadline, mid-batch: nothing of it
        # was taken, and its relay sends the batch again. Routine, not a server error.
        log.info("partner disconnected mid-batch", received_bytes=len(body))
        raise PartnerDisconnected("the batch was not received whole") from None
    return bytes(body)


def _envelopes(body: bytes) -> list[str]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedBatch("the request body is not JSON") from None
    envelopes = document.get("envelopes") if isinstance(document, dict) else None
    if not isinstance(envelopes, list) or not all(isinstance(e, str) for e in envelopes):
        raise MalformedBatch('expected {"envelopes": [string, ...]}')
    if not 1 <= len(envelopes) <= MAX_BATCH:
        raise MalformedBatch(f"a batch holds 1 to {MAX_BATCH} envelopes")
    return envelopes


def _declared_size(request: Request) -> int:
    declared = request.headers.get("content-length", "")
    return min(int(declared), 2**31 - 1) if declared.isdigit() else 0


@router.post("/v1/envelopes", response_model=BatchOut, summary="Deliver sealed envelopes")
async def deliver(request: Request) -> BatchOut:
    runtime: ExchangeRuntime = request.app.state.exchange
    peer = request.client.host if request.client else None
    try:
        envelopes = _envelopes(await _capped_body(request, runtime.max_request_bytes))
    except (BatchTooLarge, MalformedBatch) as refused:
        # Refused before any envelope is looked at; still the security log's, counted.
        runtime.metrics.requests_refused.labels(refused.type_slug).inc()
        runtime.security_log.note(Refusal(refused.type_slug, refused.detail, peer,
                                          _declared_size(request)))  # fmt: skip
        raise

    def receive() -> list[dict[str, Any]]:
        with runtime.node.unit_of_work() as uow:
            outcomes = receive_batch(
                uow, runtime.trust, envelopes, policy=runtime.receiver_policy,
                now=datetime.now(UTC), peer=peer, metrics=runtime.metrics,
            )  # fmt: skip
        return [outcome.as_json() for outcome in outcomes]

    results = await run_in_threadpool(receive)
    if any(result.get("status") == "accepted" for result in results):
        runtime.received.ring()  # committed: the filing clerk may take them up now
    return BatchOut.model_validate({"results": results})
