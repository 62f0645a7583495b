"""The officers' view of an authority's inbox and outbox: messages by id, type, party, case and
status, never their bodies; a parked message released by the authority's supervisor."""

from __future__ import annotations

from datetime import timedelta

from casework_scenes import INQUIRY, PERSON, call, incoming_in_review, officers_app, token
from casework_steps import deliver
from migrex.exchange.delivery import RetryPolicy, Status
from migrex.exchange.relay import Relay
from migrex.officers.model import Role
from nodes import DirectTransport, Pair

INBOX_KEYS = {"message_id", "type", "sender", "case_id", "received_at", "status"}
OUTBOX_KEYS = {"message_id", "type", "recipient", "case_id", "status", "attempts",
               "next_attempt_at", "last_error"}  # fmt: skip


def test_the_inbox_and_outbox_list_messages_without_their_bodies(pair: Pair) -> None:
    app = officers_app(pair.am)
    officer = token(pair.am, "aram", [(Role.OFFICER, "am-mcs")])
    incoming = incoming_in_review(pair)
    request = {"agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
               "body": INQUIRY}  # fmt: skip
    outgoing = call(app, "POST", "/v1/authorities/am-mcs/requests", officer, request).json()

    inbox = call(app, "GET", "/v1/authorities/am-mcs/inbox", officer)
    assert inbox.status_code == 200, inbox.text
    [received] = inbox.json()
    assert set(received) == INBOX_KEYS
    assert (received["sender"], received["type"]) == ("kz-mia", "person-inquiry")
    assert (received["case_id"], received["status"]) == (incoming, "filed")
    outbox = call(app, "GET", "/v1/authorities/am-mcs/outbox", officer)
    assert outbox.status_code == 200, outbox.text
    [sent] = outbox.json()
    assert set(sent) == OUTBOX_KEYS
    assert (sent["message_id"], sent["case_id"]) == (outgoing["message_id"], outgoing["case_id"])
    assert (sent["recipient"], sent["status"], sent["attempts"]) == ("kz-mia", "pending", 0)
    for response in (inbox, outbox):
        for value in (PERSON["surname_latin"], PERSON["document_number"], INQUIRY["legal_basis"]):
            assert value not in response.text

    # Another authority's mailboxes are not this officer's to see.
    for box in ("inbox", "outbox"):
        assert call(app, "GET", f"/v1/authorities/am-police/{box}", officer).status_code == 403


def test_a_parked_message_is_released_by_the_supervisor(pair: Pair) -> None:
    app = officers_app(pair.am)
    officer = token(pair.am, "aram", [(Role.OFFICER, "am-mcs")])
    supervisor = token(pair.am, "sona", [(Role.SUPERVISOR, "am-mcs")])
    request = {"agreement_id": "kz-am-2024", "recipient": "kz-mia", "type": "person-inquiry",
               "body": INQUIRY}  # fmt: skip
    opened = call(app, "POST", "/v1/authorities/am-mcs/requests", officer, request)
    message_id = opened.json()["message_id"]
    transport = DirectTransport(pair.kz, pair.kz_trust)
    transport.failing = True
    relay = Relay("test", pair.am.unit_of_work, pair.am_trust, transport,
                  policy=RetryPolicy(max_attempts=1, base=timedelta(0)))  # fmt: skip
    relay.run_once()

    parked_url = "/v1/authorities/am-mcs/outbox?parked=true"
    [parked] = call(app, "GET", parked_url, supervisor).json()
    assert (parked["message_id"], parked["status"]) == (message_id, Status.PARKED)
    assert parked["last_error"] == "connection refused"
    retry_url = f"/v1/outbox/{message_id}/retry"
    assert call(app, "POST", retry_url, officer).status_code == 403
    released = call(app, "POST", retry_url, supervisor)
    assert released.status_code == 200, released.text
    assert released.json() == {"message_id": message_id, "status": "pending"}
    assert call(app, "GET", parked_url, supervisor).json() == []
    again = call(app, "POST", retry_url, supervisor)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    unknown = call(app, "POST", "/v1/outbox/nope/retry", supervisor)
    assert unknown.status_code == 404

    deliver(pair.am, pair.am_trust, pair.kz, pair.kz_trust)
    [sent] = call(app, "GET", "/v1/authorities/am-mcs/outbox", supervisor).json()
    assert sent["status"] == Status.DELIVERED
