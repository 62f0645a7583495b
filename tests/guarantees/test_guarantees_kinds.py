"""The guarantee matrix on every message kind: sent through the outgoing gate and filed through
the filing gate.

The kinds are `casework.kinds.KINDS`; `ROWS` gives each one a cell per guarantee. A kind without
its row, or its sample, fails `test_every_kind_has_a_row`. Sending is checked at Armenia's node
inside a unit of work that is never committed (the gate's checks, ledger rows and audit entries
are read in that transaction); filing is checked by Kazakhstan's node sending the kind for real
(straight into its outbox, as a faulty or hostile partner could) and Armenia's node filing it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from casework_scenes import PRECISE
from casework_steps import context, deliver, now
from guarantee_matrix import (
    PLANTED,
    PLANTED_DOCUMENT,
    Check,
    NotApplicable,
    Row,
    Scene,
    cells,
    row,
    run_cell,
)
from guarantee_paths import Guarantee, kinds
from migrex.audit.leaves import AuditLeaf
from migrex.audit.pending import pending_mark
from migrex.audit.tables import AuditLeafRow
from migrex.casework import gate
from migrex.casework.kinds import KINDS, Role
from migrex.casework.lifecycle import Direction
from migrex.casework.messages import parse_body, refusal_for
from migrex.casework.onward import OnwardTransferRefused
from migrex.casework.reading import read_case_messages
from migrex.casework.service import OpenRequest, file_inbox, open_request
from migrex.casework.tables import CaseMessageRow, CaseRow, ScreeningNoteRow
from migrex.envelope import new_message_id
from migrex.errors import NotFound
from migrex.exchange.outbox import OutgoingMessage, enqueue
from migrex.exchange.service import NotPermitted
from migrex.exchange.tables import InboxMessage, OutboxMessage, SecurityEvent
from migrex.ledger.tables import DisclosureRow
from migrex.ledger.volume import persons_in_period
from migrex.node import Node
from migrex.rotation import service as rotation_service
from migrex.rotation.filing import file_directory_updates
from migrex.rotation.messages import DirectoryUpdate, Stage
from nodes import World

PERSON = {"surname_latin": PLANTED, "given_name_latin": "ARAM", "birth_date": "1985-03-14",
          "citizenship": "ARM", "document_number": PLANTED_DOCUMENT}  # fmt: skip
INQUIRY = {"purpose": "legal-status-of-stay", "legal_basis": PRECISE, "persons": [PERSON],
           "requested_fields": ["surname_latin", "permit_type"]}  # fmt: skip
CONSULTATION = {"purpose": "legal-status-of-stay", "legal_basis": PRECISE, "question": "Status?",
                "person": PERSON, "requested_fields": ["permit_type"]}  # fmt: skip
ASSISTANCE = {"purpose": "assistance", "legal_basis": PRECISE, "question": "Who?",
              "person": PERSON, "requested_fields": ["surname_latin"]}  # fmt: skip
CITIZENSHIP = {"purpose": "combat-dual-citizenship", "legal_basis": PRECISE,
               "persons": [PERSON]}  # fmt: skip
VIOLATION = {"purpose": "suppress-illegal-migration-channels", "legal_basis": PRECISE,
             "person": PERSON, "violations": [{
                 "violation_type": "overstay", "detected_on": "2026-01-01", "region": "ALA",
                 "legal_article": "Article 1", "decision": "fine"}]}  # fmt: skip


@dataclass(frozen=True)
class Sample:
    """A valid message of the kind, the request whose case it goes into (None for a kind that
    opens its own case, or needs none), and the same message with a field outside the profile
    (None for a kind that carries no field values)."""

    body: dict[str, Any]
    opening: tuple[str, dict[str, Any]] | None
    outside: dict[str, Any] | None = None


REFUSAL = {"grounds": [{"ground": "security", "article": "?"}], "explanation": PLANTED}
LINKAGE_RUN = {"run_id": "run-" + "0" * 12, "purpose": "combat-dual-citizenship",
               "fields": ["surname", "given_name", "birth_date"], "period_start": "2025-01-01",
               "period_end": "2025-12-31", "hardening_version": "migrex-bloom/1",
               "threshold": 0.9, "candidates_to": ["kz-mia", "am-mcs"],
               "key_ids": {"am-mcs": "a" * 43, "kz-mia": "b" * 43}}  # fmt: skip
SAMPLES: dict[str, Sample] = {
    "statistical-information": Sample({"subject": "Figures", "figures": {"2024": 10}}, None),
    "legal-information": Sample({"subject": "Law", "summary": "Registration"}, None),
    "methodological-information": Sample({"subject": "Method"}, None),
    "person-inquiry": Sample(
        INQUIRY, None, {**INQUIRY, "requested_fields": ["sex", "national_id"]}
    ),
    "person-inquiry-reply": Sample(
        {
            "step": "full",
            "results": [
                {
                    "person": 0,
                    "hit": True,
                    "reference": "r" * 32,
                    "fields": {"surname_latin": PLANTED},
                }
            ],
        },
        ("person-inquiry", INQUIRY),
        {
            "step": "full",
            "results": [
                {
                    "person": 0,
                    "hit": True,
                    "reference": "r" * 32,
                    "fields": {"surname_latin": PLANTED, "registration_address": "Abay 1"},
                }
            ],
        },
    ),
    "violation-notice": Sample(
        VIOLATION, None, {**VIOLATION, "person": {**PERSON, "patronymic": "ZZPATRONYMIC"}}
    ),
    "legal-status-consultation": Sample(
        CONSULTATION, None, {**CONSULTATION, "requested_fields": ["sex"]}
    ),
    "consultation-finding": Sample(
        {"finding": "Registered", "fields": {"permit_type": "work"}},
        ("legal-status-consultation", CONSULTATION),
        {"finding": "Registered", "fields": {"permit_type": "work", "national_id": "850314"}},
    ),
    "consultation-outcome": Sample(
        {"outcome": "Lawful"}, ("legal-status-consultation", CONSULTATION)
    ),
    "assistance-request": Sample(ASSISTANCE, None, {**ASSISTANCE, "requested_fields": ["sex"]}),
    "assistance-reply": Sample(
        {"answer": "Found", "fields": {"surname_latin": PLANTED}},
        ("assistance-request", ASSISTANCE),
        {"answer": "Found", "fields": {"surname_latin": PLANTED, "sex": "M"}},
    ),
    "citizenship-verification-request": Sample(
        CITIZENSHIP, None, {**CITIZENSHIP, "requested_fields": ["employer_name"]}
    ),
    "citizenship-verification-reply": Sample(
        {"results": [{"person": 0, "holds": "yes"}]},
        ("citizenship-verification-request", CITIZENSHIP),
    ),
    "clarification-request": Sample({"questions": [PLANTED]}, ("person-inquiry", INQUIRY)),
    "clarification-answer": Sample({"answers": [PLANTED]}, ("person-inquiry", INQUIRY)),
    "refusal": Sample(REFUSAL, ("person-inquiry", INQUIRY)),
    "withdrawal": Sample({"reason": PLANTED}, ("person-inquiry", INQUIRY)),
    "message-problem": Sample({"message_id": str(uuid.uuid4()), "problem": "x"}, None),
    # A run on a document number: a field the agreement's linkage section does not name.
    "linkage-run-proposal": Sample(
        LINKAGE_RUN, None, {**LINKAGE_RUN, "fields": ["surname", "document_number"]}
    ),
    "linkage-run-acceptance": Sample(
        {"run_id": LINKAGE_RUN["run_id"], "remarks": "As proposed."},
        ("linkage-run-proposal", LINKAGE_RUN),
    ),
    # A partner declining a version we never proposed: filed, changing nothing.
    "directory-update": Sample(
        {"stage": "declined", "agreement_id": "kz-am-2024", "version": 99, "reason": "x"}, None
    ),
}


def _body(kind: str, body: dict[str, Any], scene: Scene) -> dict[str, Any]:
    if kind == "refusal":  # the agreement's own article for the ground
        agreement = scene.node.agreements["kz-am-2024"]
        return refusal_for(agreement, ["security"], PLANTED).model_dump(mode="json")
    return {"type": kind, **body}


# ---------------------------------------------------------------- sending


@contextmanager
def _case(node: Node, kind: str, *, category: str | None = None,
          partner: str = "kz-mia", agreement: str = "kz-am-2024",
          our: str = "am-mcs") -> Iterator[tuple[Any, CaseRow, gate.CaseView]]:  # fmt: skip
    """A case the kind may travel on (or of `category`), in a unit of work never committed."""
    sample = SAMPLES[kind]
    opening_type, opening_body = sample.opening or (kind, sample.body)
    opening = parse_body(opening_type, {"type": opening_type, **opening_body})
    opening_kind = KINDS[opening_type]
    with node.unit_of_work() as uow:
        case = CaseRow(
            id=new_message_id(now()), agreement_id=agreement,
            # A request or notice is ours to send; anything else answers the partner's.
            direction=Direction.INCOMING if sample.opening else Direction.OUTGOING,
            category=category or opening_kind.category or "persons-present",
            purpose=opening_body.get("purpose", "legal-status-of-stay"), our_authority=our,
            partner_authority=partner, state="in-review", urgency="normal", opened_at=now(),
            due_at=None, closed_at=None, opened_by="test",
        )  # fmt: skip
        uow.session.add(case)
        uow.session.flush()
        asked = frozenset(getattr(opening, "requested_fields", None) or ())
        view = gate.CaseView(opening=None if sample.opening is None else opening, asked=asked)
        yield uow, case, view
        uow.session.rollback()


def _send(
    scene: Scene, on: tuple[Any, CaseRow, gate.CaseView], kind: str, body: dict[str, Any],
    *, when: Any = None,
) -> str:  # fmt: skip
    uow, case, view = on
    parsed = parse_body(kind, _body(kind, body, scene))
    return gate.send(uow, context(scene.node), case, parsed, view, actor="officer:matrix",
                     now=when or now())  # fmt: skip


def _queued(uow: Any) -> int:
    return uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def outside_the_agreement_is_refused(scene: Scene, kind: str) -> None:
    """G1: the gate refuses the kind before the agreement is in force, and (for a kind of its
    own category) on a case of another category; nothing is queued."""
    agreement = scene.node.agreements["kz-am-2024"]
    before_force = now().replace(year=agreement.valid_from.year - 1)
    with _case(scene.node, kind) as (uow, case, view):
        queued = _queued(uow)
        with pytest.raises(NotPermitted, match="not in force"):
            _send(scene, (uow, case, view), kind, SAMPLES[kind].body, when=before_force)
        assert _queued(uow) == queued
    if KINDS[kind].category is None:
        return
    other = "legal" if KINDS[kind].category != "legal" else "statistical"
    with _case(scene.node, kind, category=other) as (uow, case, view):
        with pytest.raises(NotPermitted, match="does not belong"):
            _send(scene, (uow, case, view), kind, SAMPLES[kind].body)
        assert _queued(uow) == queued


def sent_is_ledgered(scene: Scene, kind: str) -> None:
    """G4, sending: one ledger row per person the message carries, under the officer."""
    with _case(scene.node, kind) as (uow, case, view):
        message_id = _send(scene, (uow, case, view), kind, SAMPLES[kind].body)
        rows = uow.session.scalars(
            select(DisclosureRow).where(DisclosureRow.message_id == message_id)
        ).all()
        assert rows, f"a {kind} left without a ledger row"
        assert {(r.direction, r.actor) for r in rows} == {("sent", "officer:matrix")}
    received_is_ledgered(scene, kind)


def sent_is_audited(scene: Scene, kind: str) -> None:
    """G5: the send is an audit entry in the sending transaction; the receipt is a leaf."""
    with _case(scene.node, kind) as (uow, case, view):
        mark = pending_mark(uow.session)
        _send(scene, (uow, case, view), kind, SAMPLES[kind].body)
        assert pending_mark(uow.session) > mark, f"sending a {kind} queued no audit entry"
    message_id = _arrives(scene, kind, SAMPLES[kind].body)
    with scene.node.unit_of_work() as uow:
        leaves = uow.session.scalar(select(func.count()).select_from(AuditLeafRow)
                                    .where(AuditLeafRow.message_id == message_id))  # fmt: skip
    assert leaves, f"receiving a {kind} left no audit leaf"


def outside_the_profile_is_refused(scene: Scene, kind: str) -> None:
    """G2, sending: a field outside the purpose's profile (or the request) does not leave."""
    sample = SAMPLES[kind]
    assert sample.outside is not None
    if KINDS[kind].role is Role.REQUEST:  # requests are screened when they open a case
        with scene.node.unit_of_work() as uow, pytest.raises(NotPermitted):
            open_request(
                uow,
                context(scene.node),
                OpenRequest(
                    "kz-am-2024", "am-mcs", "kz-mia", kind, sample.outside, "officer:matrix"
                ),
                now(),
            )
        return
    with _case(scene.node, kind) as (uow, case, view):
        queued = _queued(uow)
        with pytest.raises(NotPermitted):
            _send(scene, (uow, case, view), kind, sample.outside)
        assert _queued(uow) == queued
    over_disclosure_is_not_kept(scene, kind)


def over_disclosure_is_not_kept(scene: Scene, kind: str) -> None:
    """G2, filing: fields a partner sends beyond what was asked and allowed are not kept, and
    the reviewer is told."""
    sample = SAMPLES[kind]
    assert sample.outside is not None
    message_id = _arrives(scene, kind, sample.outside)
    with scene.node.unit_of_work() as uow:
        row_ = uow.session.scalars(
            select(CaseMessageRow).where(CaseMessageRow.message_id == message_id)
        ).one()
        views = read_case_messages(uow, context(scene.node), row_.case_id,
                                   reader="officer:matrix", now=now())  # fmt: skip
        notes = uow.session.scalars(
            select(ScreeningNoteRow.kind).where(ScreeningNoteRow.case_id == row_.case_id)
        ).all()
    [kept] = [v.body for v in views if v.message_id == message_id]
    assert not [name for name in _outside_names(kind) if name in json.dumps(kept)], kept
    assert "over-disclosure" in notes


def _outside_names(kind: str) -> set[str]:
    return {"registration_address", "national_id", "sex", "patronymic"} & set(
        json.dumps(SAMPLES[kind].outside).replace('"', " ").split()
    )


# ---------------------------------------------------------------- filing


def _opened_here(scene: Scene, kind: str) -> str | None:
    """Armenia's own request that the kind continues (None for a kind that opens a case)."""
    sample = SAMPLES[kind]
    if sample.opening is None:
        return None
    opening_type, body = sample.opening
    with scene.node.unit_of_work() as uow:
        return open_request(
            uow,
            context(scene.node),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mia", opening_type, body, "officer:matrix"),
            now(),
        ).case_id


def _arrives(scene: Scene, kind: str, body: dict[str, Any], *, raw: bool = False) -> str:
    """Kazakhstan's node sends `body` as a `kind` (on a case of Armenia's that it continues,
    or a new one) and Armenia's node files it; returns its message id."""
    pair = scene.pair
    case_id = _opened_here(scene, kind) or new_message_id(now())
    if kind == "message-problem":
        case_id = None
    agreement = pair.kz.agreements["kz-am-2024"]
    message_id = new_message_id(now())
    payload = body if raw else _body(kind, body, scene)
    with pair.kz.unit_of_work() as uow:
        enqueue(uow.session, OutgoingMessage(
            message_id=message_id, agreement_id=agreement.id, sender="kz-mia",
            recipient="am-mcs", type=kind, body=payload, issued_at=now(),
            expires_at=now() + agreement.message_lifetime, case_id=case_id, in_reply_to=None,
        ), now())  # fmt: skip
        uow.commit()
    deliver(pair.kz, pair.kz_trust, pair.am, pair.am_trust)
    return message_id


def _inbox(scene: Scene, message_id: str) -> InboxMessage:
    with scene.node.unit_of_work() as uow:
        return uow.session.scalars(
            select(InboxMessage).where(InboxMessage.message_id == message_id)
        ).one()


def received_is_ledgered(scene: Scene, kind: str) -> None:
    """G4, receiving: the filed message is one ledger row per person, from the partner."""
    message_id = _arrives(scene, kind, SAMPLES[kind].body)
    assert _inbox(scene, message_id).status.startswith("filed"), _inbox(scene, message_id).problem
    with scene.node.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(DisclosureRow).where(DisclosureRow.message_id == message_id)
        ).all()
    assert rows and {r.direction for r in rows} == {"received"}, f"a {kind} filed unledgered"


def malformed_is_quarantined(scene: Scene, kind: str) -> None:
    """G10: a signed message of the kind whose body does not parse is quarantined with a
    reason; it changes no case, and the next message still files."""
    bad = _arrives(scene, kind, {"type": kind, "unexpected": PLANTED}, raw=True)
    row_ = _inbox(scene, bad)
    assert row_.status == "quarantined" and row_.problem, (row_.status, row_.problem)
    good = _arrives(scene, "legal-information", SAMPLES["legal-information"].body)
    assert _inbox(scene, good).status == "filed"


def quarantine_names_no_one(scene: Scene, kind: str) -> None:
    """G8: the quarantine's reason (inbox, security log, the problem sent back) carries no
    name or document number from the body."""
    bad = _arrives(scene, kind, {"type": kind, "person": PERSON, "persons": "x"}, raw=True)
    row_ = _inbox(scene, bad)
    assert row_.status == "quarantined"
    with scene.node.unit_of_work() as uow:
        texts = [
            row_.problem or "",
            *uow.session.scalars(
                select(OutboxMessage.body).where(OutboxMessage.type == "message-problem")
            ),
        ]
    for text in texts:
        assert PLANTED not in str(text) and PLANTED_DOCUMENT not in str(text), text


def stored_sealed(scene: Scene, kind: str) -> None:
    """G7: what arrived is stored sealed (the key retention destroys), in the inbox and the
    case: a planted name is nowhere in plaintext."""
    message_id = _arrives(scene, kind, SAMPLES[kind].body)
    row_ = _inbox(scene, message_id)
    assert row_.status.startswith("filed"), row_.problem
    with scene.node.unit_of_work() as uow:
        copies = uow.session.scalars(
            select(CaseMessageRow.body).where(CaseMessageRow.message_id == message_id)
        ).all()
    for text in (row_.body, row_.signed_message or "", *copies):
        assert PLANTED not in text and PLANTED_DOCUMENT not in text, text[:200]


def _volume(scene: Scene, direction: str) -> int:
    with scene.node.unit_of_work() as uow:
        agreement = scene.node.agreements["kz-am-2024"]
        return persons_in_period(uow.session, agreement, direction=direction,
                                 partner_state="KZ", now=now())  # fmt: skip


def counts_against_the_limit(scene: Scene, kind: str) -> None:
    """G6: a request or notice about persons counts against the agreement's volume limit,
    sent and received."""
    sent = _volume(scene, "sent")
    with scene.node.unit_of_work() as uow:
        open_request(
            uow,
            context(scene.node),
            OpenRequest(
                "kz-am-2024", "am-mcs", "kz-mia", kind, SAMPLES[kind].body, "officer:matrix"
            ),
            now(),
        )
    assert _volume(scene, "sent") > sent, f"sending a {kind} did not count"
    received = _volume(scene, "received")
    message_id = _arrives(scene, kind, SAMPLES[kind].body)
    assert _inbox(scene, message_id).status.startswith("filed")
    assert _volume(scene, "received") > received, f"receiving a {kind} did not count"


def _world(scene: Scene) -> World:
    world = scene.world()
    if not scene.extra.get("person from Armenia"):
        _person_from_armenia(world)
        scene.extra["person from Armenia"] = True
    return world


def _person_from_armenia(world: World) -> None:
    """Armenia asks Kazakhstan about the planted person: Kazakhstan now holds data from AM."""
    with world.am.unit_of_work() as uow:
        open_request(
            uow,
            context(world.am),
            OpenRequest("kz-am-2024", "am-mcs", "kz-mlsp", "person-inquiry", INQUIRY, "officer:am"),
            now(),
        )
    world.relay("AM")
    with world.kz.unit_of_work() as uow:
        file_inbox(uow, context(world.kz), now())


def no_onward_transfer(scene: Scene, kind: str) -> None:
    """G3: a person Kazakhstan received from Armenia does not leave toward Kyrgyzstan in a
    message of this kind (refused as onward transfer; where KZ–KG has no such category, the
    agreement refuses it first)."""
    world = _world(scene)
    category = KINDS[kind].category or "persons-present"
    kg_has_it = category in world.kz.agreements["kz-kg-example"].categories
    our, partner = ("kz-mia", "kg-mvd") if category == "violations" else ("kz-mlsp", "kg-migration")
    with _case(world.kz, kind, partner=partner, agreement="kz-kg-example", our=our) as (
        uow, case, view,
    ):  # fmt: skip
        case.purpose = "labour-migration-control"
        expected = OnwardTransferRefused if kg_has_it else NotPermitted
        with pytest.raises(expected):
            body = SAMPLES[kind].body
            parsed = parse_body(kind, {"type": kind, **body})
            gate.send(uow, context(world.kz), case, parsed, view, actor="officer:matrix",
                      now=now())  # fmt: skip


# ---------------------------------------------------------------- directory updates


def _update_filed(scene: Scene, body: dict[str, Any]) -> InboxMessage:
    """Kazakhstan sends `body` as a directory-update; Armenia's clerks file it."""
    message_id = _arrives(scene, "directory-update", body, raw=True)
    with scene.node.unit_of_work() as uow:
        file_directory_updates(uow, scene.node, scene.pair.am_trust, now())
    return _inbox(scene, message_id)


def update_outside_the_agreement_is_refused(scene: Scene, kind: str) -> None:
    """G1: a directory update goes only to the other party's authority under an agreement
    this node takes part in; nothing is queued otherwise."""
    update = DirectoryUpdate(stage=Stage.DECLINED, agreement_id="kz-am-2024", version=2,
                             reason="x")  # fmt: skip
    for route, error in (
        (("kz-am-2024", "am-mcs", "am-police"), NotPermitted),  # its own state
        (("kz-am-2024", "kz-mia", "am-mcs"), NotPermitted),  # not hosted here
        (("kz-kg-example", "am-mcs", "kz-mia"), NotFound),  # not our agreement
    ):
        with scene.node.unit_of_work() as uow:
            queued = _queued(uow)
            with pytest.raises(error):
                rotation_service._send(uow, scene.node, route, update, now=now())
            assert _queued(uow) == queued


def update_is_audited(scene: Scene, kind: str) -> None:
    """G5: a directory update is a leaf at both ends (sent on its receipt, received at the
    door), and what the clerk does with it is an administration leaf."""
    with scene.node.unit_of_work() as uow:
        size = uow.session.scalar(select(func.count()).select_from(AuditLeafRow)) or 0
    row_ = _update_filed(scene, SAMPLES[kind].body)
    assert row_.status == "declined", row_.problem
    for node in (scene.pair.kz, scene.node):
        with node.unit_of_work() as uow:
            leaves = uow.session.scalar(
                select(func.count())
                .select_from(AuditLeafRow)
                .where(AuditLeafRow.message_id == row_.message_id)
            )
        assert leaves, f"{node.settings.state} left no leaf of the directory update"
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position)
                                   .offset(size)).all()  # fmt: skip
    references = [AuditLeaf.decode(d).reference for d in data]
    assert "directory-declined-by-partner:kz-am-2024:99" in references, references


def malformed_update_is_refused(scene: Scene, kind: str) -> None:
    """G10: an update that does not parse is refused with the places at fault, installs
    nothing, and the next message still files."""
    version = scene.pair.am_trust.directories["kz-am-2024"].version
    row_ = _update_filed(scene, {"stage": "countersigned", "unexpected": PLANTED})
    assert row_.status == "refused" and row_.problem, (row_.status, row_.problem)
    assert scene.pair.am_trust.directories["kz-am-2024"].version == version
    good = _arrives(scene, "legal-information", SAMPLES["legal-information"].body)
    assert _inbox(scene, good).status == "filed"


def update_refusal_names_no_one(scene: Scene, kind: str) -> None:
    """G8: the refusal (inbox, security log) quotes no value of the body, only places."""
    row_ = _update_filed(scene, {"stage": PLANTED, "agreement_id": PLANTED_DOCUMENT,
                                 "version": 2, "directory": {"x": PLANTED},
                                 PLANTED: PLANTED_DOCUMENT})  # fmt: skip
    assert row_.status == "refused"
    with scene.node.unit_of_work() as uow:
        texts = [row_.problem or "", *uow.session.scalars(select(SecurityEvent.detail))]
    for text in texts:
        assert PLANTED not in text and PLANTED_DOCUMENT not in text, text


# ---------------------------------------------------------------- the table

_ = NotApplicable
BY_KIND = {
    Guarantee.G9: _("delivery does not depend on the kind: the relay and filing jobs (G9)"),
    Guarantee.G11: _("the sender's identity is checked at the door for every kind (routes "
                     "matrix, POST /v1/envelopes G11)"),
    Guarantee.G12: _("carries no statistics release"),
}  # fmt: skip
PERSONAL: Row = {
    Guarantee.G1: Check(outside_the_agreement_is_refused),
    Guarantee.G2: Check(outside_the_profile_is_refused),
    Guarantee.G3: Check(no_onward_transfer),
    Guarantee.G4: Check(sent_is_ledgered),
    Guarantee.G5: Check(sent_is_audited),
    Guarantee.G6: _("a continuing message is counted with the request that opened its case"),
    Guarantee.G7: Check(stored_sealed),
    Guarantee.G8: Check(quarantine_names_no_one),
    Guarantee.G10: Check(malformed_is_quarantined),
    **BY_KIND,
}
VOLUME = Check(counts_against_the_limit)
NO_PERSON: Row = {
    **PERSONAL,
    Guarantee.G2: _("carries no person's fields: nothing to minimise"),
    Guarantee.G3: _("carries no person's data: nothing to transfer onward"),
    Guarantee.G4: _("carries no person's data: nothing to ledger"),
    Guarantee.G6: _("carries no person: volume limits count persons"),
}
INFORMATION: Row = {
    **NO_PERSON,
    Guarantee.G7: _("information of a category without personal data: kept in clear by design"),
}
ROWS: dict[str, Row] = {
    "statistical-information": row(
        INFORMATION,
        G12=_("the release it may carry is checked on `migrex stats send` (commands matrix)"),
    ),
    "legal-information": row(INFORMATION),
    "methodological-information": row(INFORMATION),
    "person-inquiry": row(PERSONAL, G6=VOLUME),
    "person-inquiry-reply": row(PERSONAL),
    "violation-notice": row(PERSONAL, G6=VOLUME),
    "legal-status-consultation": row(PERSONAL, G6=VOLUME),
    "consultation-finding": row(PERSONAL),
    "consultation-outcome": row(
        PERSONAL, G2=_("carries no field values: the outcome text and signatures only")
    ),
    "assistance-request": row(PERSONAL, G6=VOLUME),
    "assistance-reply": row(PERSONAL),
    "citizenship-verification-request": row(PERSONAL, G6=VOLUME),
    "citizenship-verification-reply": row(
        PERSONAL, G2=_("carries one finding per person (citizenship_status), no other field")
    ),
    "clarification-request": row(NO_PERSON),
    "clarification-answer": row(NO_PERSON),
    "refusal": row(NO_PERSON),
    "withdrawal": row(NO_PERSON),
    "message-problem": row(NO_PERSON, G7=_("a code and the places at fault, never content")),
    "linkage-run-proposal": row(
        NO_PERSON,
        # Not a person's fields: the fields a run may link on are the agreement's.
        G2=Check(outside_the_profile_is_refused),
        G7=_("names fields, a period, parameters and key ids, never a person: kept in clear"),
    ),
    "linkage-run-acceptance": row(
        NO_PERSON, G7=_("a run id and a remark on the run, never a person: kept in clear")
    ),
    "directory-update": row(
        NO_PERSON,
        G1=Check(update_outside_the_agreement_is_refused),
        G5=Check(update_is_audited),
        G7=_(
            "a signed directory is public material (keys, endpoints, trust anchors) and "
            "the record of the keys in force: nothing of a person to erase"
        ),
        G8=Check(update_refusal_names_no_one),
        G10=Check(malformed_update_is_refused),
    ),
}


def test_every_kind_has_a_row() -> None:
    assert kinds() == sorted(ROWS) == sorted(SAMPLES)


@pytest.mark.parametrize(("path", "guarantee"), cells(ROWS))
def test_message_kind(scene: Scene, path: str, guarantee: Guarantee) -> None:
    run_cell(scene, ROWS, path, guarantee)
