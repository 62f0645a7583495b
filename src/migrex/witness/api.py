"""The partner-facing route of witnessing: a partner asks for the heads of its log we hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from migrex.exchange.runtime import ExchangeRuntime
from migrex.witness.partner_heads import HEADS_PATH, answer_heads_request

router = APIRouter(tags=["audit"])


class HeadsRequest(BaseModel):
    request: str = Field(max_length=4096, description="compact JWS signed by the asking node")


@router.post(HEADS_PATH, summary="Heads of the asking node's log that this node holds")
async def heads_of_your_log(body: HeadsRequest, request: Request) -> dict[str, Any]:
    runtime: ExchangeRuntime = request.app.state.exchange
    peer = request.client.host if request.client else None

    def answer() -> dict[str, Any]:
        with runtime.node.unit_of_work() as uow:
            return answer_heads_request(uow, runtime.trust, body.request, datetime.now(UTC),
                                        peer=peer)  # fmt: skip

    return await run_in_threadpool(answer)
