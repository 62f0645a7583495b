"""G8 over a whole run: two nodes as real processes exchange person inquiries carrying planted
names and document numbers, take garbage carrying them at the partners' door and a login
under a planted name at the officers' listener, all while logging everything (debug) to the
log file their settings name. Neither the log files nor what the processes printed may hold
a planted value; the log files must be written, as JSON lines."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from migrex.bench.twonodes import TwoNodes, two_nodes
from migrex.casework.service import OpenRequest, node_context, open_request
from migrex.exchange.processes import free_port
from migrex.exchange.tables import InboxMessage
from migrex.identity.tls import client_ssl_context

AGREEMENT_FILE = Path(__file__).parents[2] / "agreements" / "kz-am-2024.toml"
PLANTED, PLANTED_DOCUMENT = "ZZPLANTEDSURNAME", "ZZ9876543"
PLANTED_GIVEN = "ZZPLANTEDGIVEN"
PRECISE = "Law of the Republic of Armenia on Foreigners, Article 12, part 3"
PERSON = {"surname_latin": PLANTED, "given_name_latin": PLANTED_GIVEN,
          "birth_date": "1985-03-14", "citizenship": "ARM",
          "document_number": PLANTED_DOCUMENT}  # fmt: skip
INQUIRY = {"purpose": "legal-status-of-stay", "legal_basis": PRECISE, "persons": [PERSON],
           "requested_fields": ["surname_latin", "permit_type"]}  # fmt: skip
SENDS = (("KZ", "kz-mia", "am-mcs", "AM"), ("AM", "am-mcs", "kz-mia", "KZ"))


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwoNodes]:
    monkeypatch.setenv("MIGREX_LOG_LEVEL", "debug")
    with two_nodes(tmp_path / "ws", AGREEMENT_FILE, start=False) as pair:
        for state, process in pair.processes.items():
            with process.config.open("a", encoding="utf-8") as config:
                config.write(f'log_file = "logs/node.log"\nofficer_listen_port = {free_port()}\n')
            pair.processes[state].start()
        yield pair


def _officers_port(pair: TwoNodes, state: str) -> int:
    text = pair.processes[state].config.read_text(encoding="utf-8")
    return int(text.rsplit("officer_listen_port = ", 1)[1].split()[0])


def _hostile_inputs(pair: TwoNodes) -> None:
    am = pair.workspace.node_dir("AM") / "pki"
    kz = pair.workspace.node_dir("KZ") / "pki"
    context = client_ssl_context(am / "node.pem", am / "node-key.pem", [kz / "ca.pem"])
    door = f"https://127.0.0.1:{pair.processes['KZ'].port}/v1/envelopes"
    with httpx.Client(verify=context, timeout=10) as client:
        client.post(door, json={"envelopes": [PLANTED, PLANTED_DOCUMENT]})
        client.post(door, content=f"{{{PLANTED} {PLANTED_DOCUMENT}".encode())
    for state in ("KZ", "AM"):
        officers = f"http://127.0.0.1:{_officers_port(pair, state)}/v1/session"
        for _ in range(7):  # a lockout too
            httpx.post(officers, json={"username": PLANTED.lower(), "password": PLANTED_DOCUMENT})


def _filed(pair: TwoNodes, state: str) -> int:
    with pair.nodes[state].unit_of_work() as uow:
        rows = uow.session.scalars(
            select(InboxMessage.status).where(InboxMessage.type == "person-inquiry")
        ).all()
    return sum(1 for status in rows if status != "new")


def test_the_logs_of_two_exchanging_nodes_name_no_person(nodes: TwoNodes) -> None:
    for state, sender, recipient, _ in SENDS:
        node = nodes.nodes[state]
        for _ in range(3):
            with node.unit_of_work() as uow:
                command = OpenRequest("kz-am-2024", sender, recipient, "person-inquiry",
                                      INQUIRY, "officer:test")  # fmt: skip
                open_request(uow, node_context(node), command, datetime.now(UTC))
    _hostile_inputs(nodes)
    deadline = time.monotonic() + 60
    while not all(_filed(nodes, receiver) == 3 for *_, receiver in SENDS):
        assert time.monotonic() < deadline, "the inquiries were not filed"
        time.sleep(0.2)
    for process in nodes.processes.values():
        process.stop()
    written = 0
    for state in ("KZ", "AM"):
        folder = nodes.workspace.node_dir(state)
        log_file, printed = folder / "logs" / "node.log", folder / "serve.log"
        lines = log_file.read_text(encoding="utf-8").splitlines()
        assert lines, f"{log_file} is empty"
        records = [json.loads(line) for line in lines]
        assert all({"event", "level", "timestamp"} <= set(r) for r in records)
        written += len(records)
        for path in (log_file, printed):
            text = path.read_text(encoding="utf-8", errors="replace")
            for planted in (PLANTED, PLANTED.lower(), PLANTED_GIVEN, PLANTED_DOCUMENT):
                assert planted not in text, f"{planted} in {path}"
    assert written > 10
