"""The analysts' leads on the officers' API: the queue without members, the card (a recorded
read, the same JSON as `migrex channels show --json`), a dismissal with its reason and an
opening as a request; an officer who is no analyst is refused before any lead is read."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from casework_scenes import officers_app, token
from channel_scenes import ANALYST_ROLES, AUTHORITY, import_am, stored_run, synthetic_registers
from migrex.casework.tables import CaseRow
from migrex.channels.tables import LeadRow
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import Role
from nodes import Pair


@pytest.fixture(scope="module")
def registers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_registers(tmp_path_factory.mktemp("channels"))


def _call(pair: Pair, method: str, url: str, bearer: str | None, body: Any = None) -> Any:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=officers_app(pair.am))
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            return await client.request(method, url, json=body, headers=headers)

    return asyncio.run(run())


def _reads(pair: Pair, lead: str) -> int:
    with pair.am.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(DisclosureRow).where(
            DisclosureRow.message_id == f"lead:{lead}")) or 0  # fmt: skip


def test_the_analyst_lists_reads_and_decides_leads(pair: Pair, registers: Path) -> None:
    import_am(pair.am, registers)
    analyst = token(pair.am, "ani", ANALYST_ROLES)
    auditor = token(pair.am, "aud", [(Role.AUDITOR, AUTHORITY)])
    stored = stored_run(pair.am)
    first, second = stored.leads[:2]
    queue = _call(pair, "GET", "/v1/leads", analyst)
    assert queue.status_code == 200, queue.text
    assert [line["id"] for line in queue.json()] == stored.leads
    assert "record_id" not in queue.text and _reads(pair, first) == 0
    card = _call(pair, "GET", f"/v1/leads/{first}", analyst)
    assert card.status_code == 200, card.text
    body = card.json()
    assert body["lead"] == first and body["members"] and body["edges"]
    assert body["request_to"] == "kz-am-2024/kz-mia"
    assert _reads(pair, first) >= len(body["members"])  # a row per identifier shown
    refused = _call(pair, "POST", f"/v1/leads/{second}/dismiss", analyst, {"reason": "  "})
    assert refused.status_code == 422 and refused.headers["content-type"].startswith(
        "application/problem+json")  # fmt: skip
    dismissed = _call(pair, "POST", f"/v1/leads/{second}/dismiss", analyst,
                      {"reason": "a school group, checked"})  # fmt: skip
    assert dismissed.status_code == 200 and dismissed.json()["state"] == "dismissed"
    opened = _call(pair, "POST", f"/v1/leads/{first}/open", analyst, {"to": "kz-am-2024/kz-mia"})
    assert opened.status_code == 200, opened.text
    case_id = opened.json()["case_id"]
    with pair.am.unit_of_work() as uow:
        assert uow.session.get_one(LeadRow, first).case_id == case_id
        assert (
            uow.session.get_one(CaseRow, case_id).purpose == "suppress-illegal-migration-channels"
        )
    again = _call(pair, "POST", f"/v1/leads/{first}/dismiss", analyst, {"reason": "changed"})
    assert again.status_code == 409
    listed = _call(pair, "GET", "/v1/leads?state=opened", analyst).json()
    assert [line["id"] for line in listed] == [first]
    # No token, or an auditor's: refused, whatever the lead.
    assert _call(pair, "GET", f"/v1/leads/{first}", None).status_code == 401
    assert _call(pair, "GET", f"/v1/leads/{first}", auditor).status_code == 403
    assert _call(pair, "GET", "/v1/leads/R999-L0001", auditor).status_code == 403
    assert _call(pair, "GET", "/v1/leads/R999-L0001", analyst).status_code == 404
