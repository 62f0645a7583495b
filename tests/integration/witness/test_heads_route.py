"""The partner-facing route that answers a heads request, as the partner's node serves it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from witness_steps import exchange_rounds, some_traffic

from casework_steps import now
from migrex.audit.log_keys import log_keys
from migrex.exchange.runtime import ExchangeRuntime
from migrex.web.app import create_app
from migrex.witness.partner_heads import HEADS_PATH, sign_heads_request
from nodes import Pair


def post(pair: Pair, body: dict[str, Any]) -> httpx.Response:
    app = create_app(ExchangeRuntime(pair.am, pair.am_trust))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://am") as client:
            return await client.post(HEADS_PATH, json=body)

    return asyncio.run(call())


def test_the_partner_answers_with_the_heads_of_our_log_it_holds(pair: Pair) -> None:
    some_traffic(pair)
    exchange_rounds(pair)
    origin = log_keys(pair.kz).origin
    key = pair.kz_trust.signing_key("kz-mia", now())
    answer = post(pair, {"request": sign_heads_request(origin, "kz-mia", 0, key, now())})
    assert answer.status_code == 200
    body = answer.json()
    assert body["origin"] == origin and body["checkpoints"] and body["receipts"]
    assert body["more"] is False


def test_a_request_it_cannot_verify_is_a_problem(pair: Pair) -> None:
    answer = post(pair, {"request": "not.a.jws"})
    assert answer.status_code == 403
    assert answer.json()["type"] == "urn:migrex:problem:audit-heads-refused"
    assert post(pair, {"request": "x" * 5000}).status_code in {400, 422}
