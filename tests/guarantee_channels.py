"""The checks of the guarantee matrix on the paths of kept channel leads: the `migrex
channels` commands that act as an analyst, and the console's lead pages.

Armenia's node of the scene gets Armenia's synthetic registers (two planted channels) the
first time a check needs a lead; each check then stores a run of its own, so a lead it
dismisses or opens is one no other check has decided.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from casework_steps import deliver
from channel_scenes import import_am, synthetic_registers
from console_client import Browser
from factories import person_present, write_csv
from guarantee_matrix import APPROVER_PASSWORD, PLANTED, PLANTED_DOCUMENT, Scene
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.casework.service import OpenRequest, node_context, open_request
from migrex.casework.tables import CaseMessageRow
from migrex.channels.model import PURPOSE
from migrex.channels.runs import StoreRun, store_run
from migrex.channels.service import dismiss_lead, forget_departed
from migrex.channels.tables import LeadMemberRow
from migrex.db import Base
from migrex.ledger.tables import DisclosureRow
from migrex.node import Node
from migrex.officers.model import Grant, NotAuthenticated, NotAuthorised, Officer, Role
from migrex.officers.service import list_officers
from migrex.registry.columns import Kind
from migrex.registry.refresh import Mode
from migrex.registry.service import import_registries
from migrex.registry.tables import PersonPresentRow
from migrex.retention.service import erase
from migrex.retention.tables import RetentionKeyRow

TARGET = "kz-am-2024/kz-mia"
ARGS: dict[str, list[str]] = {
    "migrex channels run": [],
    "migrex channels list": [],
    "migrex channels show": ["{lead}"],
    "migrex channels dismiss": ["{lead}", "--reason", "a seasonal crew, checked"],
    "migrex channels open": ["{lead}", "--to", TARGET],
}
BAD: dict[str, list[str]] = {
    "migrex channels run": ["--authority", "nowhere"],
    "migrex channels list": ["--authority", "nowhere"],
    "migrex channels show": ["R999999-L0001"],
    "migrex channels dismiss": ["{lead}", "--reason", "  "],
    "migrex channels open": ["{lead}", "--to", "kz-am-2024/nowhere"],
}


def a_lead(scene: Scene) -> str:
    """The best lead of a new run over Armenia's registers (imported once)."""
    if "channel-registers" not in scene.extra:
        import_am(scene.node, synthetic_registers(scene.root))
        scene.extra["channel-registers"] = True
    with scene.node.unit_of_work() as uow:
        officer = next(o for o in list_officers(uow) if o.username == "every-role")
    with scene.node.unit_of_work() as uow:
        stored = store_run(uow, StoreRun(officer, "am-mcs", "AM"), datetime.now(UTC))
    assert stored.leads, "the synthetic registers hold planted channels"
    return stored.leads[0]


def _argv(scene: Scene, path: str, args: list[str]) -> list[str]:
    lead = a_lead(scene) if any("{lead}" in a for a in args) else ""
    return [*path.split()[1:], *(a.replace("{lead}", lead) for a in args)]


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


def _clean_error(result: Any, code: int | None = None) -> None:
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def acts_as_an_analyst(scene: Scene, path: str) -> None:
    """G11: without a token refused (NotAuthenticated); with an auditor's, refused
    (NotAuthorised); neither changes a row."""
    argv = _argv(scene, path, ARGS[path])
    before = scene.counts()
    _clean_error(scene.cli(*argv), NotAuthenticated.exit_code)
    _clean_error(scene.cli(*argv, token=scene.tokens["auditor"]), NotAuthorised.exit_code)
    assert _changed(before, scene.counts()) == {}


def bad_input_changes_nothing(scene: Scene, path: str) -> None:
    """G10: an unknown lead or authority, a blank reason, a partner out of reach: a short
    error without a traceback, and no row changed."""
    argv = _argv(scene, path, BAD[path])
    before = scene.counts()
    result = scene.cli(*argv, token=scene.tokens["all"])
    _clean_error(result)
    assert len(result.output.strip().splitlines()) <= 6, result.output
    assert _changed(before, scene.counts()) == {}


def _leaves(scene: Scene) -> list[AuditLeaf]:
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position))
        return [AuditLeaf.decode(bytes(d)) for d in data]


def _reads(scene: Scene) -> int:
    with scene.node.unit_of_work() as uow:
        return uow.session.scalar(
            select(func.count()).select_from(DisclosureRow).where(
                DisclosureRow.direction == "read", DisclosureRow.message_id.like("lead:%"))
        ) or 0  # fmt: skip


def decision_is_audited(scene: Scene, path: str) -> None:
    """G5: the run, the read of a card, a dismissal, an opening: a leaf naming the analyst
    and what was done, in the same commit."""
    argv = _argv(scene, path, ARGS[path])
    before = len(_leaves(scene))
    result = scene.cli(*argv, token=scene.tokens["all"])
    assert result.exit_code == 0, result.output
    new = _leaves(scene)[before:]
    assert any(leaf.actor == "officer:every-role" and leaf.kind in {
        LeafKind.DECISION, LeafKind.PERSONAL_DATA_READ} for leaf in new), new  # fmt: skip
    if path.endswith(("dismiss", "open")):
        assert any((leaf.reference or "").startswith(f"lead:{argv[2]}:") for leaf in new), new


def card_is_ledgered(scene: Scene, path: str) -> None:
    """G4: showing a card writes a ledger "read" row per member under the analyst's name."""
    argv = _argv(scene, path, ARGS[path])
    before = _reads(scene)
    result = scene.cli(*argv, token=scene.tokens["all"])
    assert result.exit_code == 0, result.output
    assert _reads(scene) > before


def card_names_no_one(scene: Scene, path: str) -> None:
    """G8: a card prints record ids, entities and figures; no member's name or document."""
    argv = _argv(scene, path, ARGS[path])
    result = scene.cli(*argv, token=scene.tokens["all"])
    assert result.exit_code == 0, result.output
    with scene.node.unit_of_work() as uow:
        persons = uow.session.scalars(select(PersonPresentRow).join(
            LeadMemberRow, LeadMemberRow.record_id == PersonPresentRow.record_id).where(
            LeadMemberRow.lead_id == argv[2])).all()  # fmt: skip
    assert persons
    for person in persons:
        for secret in (person.surname, person.surname_latin, person.document_number):
            assert secret not in result.output, "a member's name or document was printed"


# ---------------------------------------------------------------- the console's lead pages


def _browser(scene: Scene) -> Browser:
    browser = Browser(scene.app)
    signed = browser.sign_in("every-role", APPROVER_PASSWORD)
    assert signed.status_code == 303, signed.text
    return browser


def _url(scene: Scene, path: str) -> tuple[str, str, str]:
    method, _, template = path.partition(" ")
    lead = a_lead(scene)
    return method, template.format(lead_id=lead), lead


def console_card_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: the card names members: showing it writes a ledger "read" row per
    member, and an audit leaf per member, under the analyst's name."""
    _, url, lead = _url(scene, path)
    browser = _browser(scene)
    reads, before = _reads(scene), len(_leaves(scene))
    response = browser.get(url)
    assert response.status_code == 200, response.text
    if ledger:
        assert _reads(scene) > reads, "no ledger row for the card"
    else:
        ours = ("lead:" + lead, "officer:every-role")
        shown = [leaf for leaf in _leaves(scene)[before:] if (leaf.reference, leaf.actor) == ours]
        assert shown, "no audit leaf for the card"


FORMS = {"dismiss": {"reason": "a work crew, checked"}, "open": {"to": TARGET}}


def console_decision_is_audited(scene: Scene, path: str) -> None:
    """G5: dismissing or opening a lead from its card leaves a leaf naming the lead and the
    analyst, in the decision's commit."""
    method, url, lead = _url(scene, path)
    browser = _browser(scene)
    assert browser.get(f"/ui/leads/{lead}").status_code == 200
    before = len(_leaves(scene))
    response = browser.request(method, url, form=FORMS[url.rsplit("/", 1)[1]], htmx=True)
    assert response.status_code == 204, response.text
    new = _leaves(scene)[before:]
    assert any((leaf.reference or "").startswith(f"lead:{lead}:")
               and leaf.actor == "officer:every-role" for leaf in new), new  # fmt: skip


# ---------------------------------------------------------------- the officers' API for leads


def api_card_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: GET /v1/leads/{id} names members: a ledger "read" row and an
    audit leaf per member, under the analyst's name, as the console and the CLI do."""
    _, url, lead = _url(scene, path)
    reads, before = _reads(scene), len(_leaves(scene))
    response = scene.call("GET", url, scene.tokens["all"])
    assert response.status_code == 200, response.text
    assert response.json()["lead"] == lead and response.json()["members"]
    if ledger:
        assert _reads(scene) > reads, "no ledger row for the card"
    else:
        ours = ("lead:" + lead, "officer:every-role")
        shown = [leaf for leaf in _leaves(scene)[before:] if (leaf.reference, leaf.actor) == ours]
        assert shown, "no audit leaf for the card"


def api_card_names_no_one(scene: Scene, path: str) -> None:
    """G8: the card the API returns holds record ids, entities and figures; no member's
    name or document."""
    _, url, lead = _url(scene, path)
    response = scene.call("GET", url, scene.tokens["all"])
    assert response.status_code == 200, response.text
    with scene.node.unit_of_work() as uow:
        persons = uow.session.scalars(select(PersonPresentRow).join(
            LeadMemberRow, LeadMemberRow.record_id == PersonPresentRow.record_id).where(
            LeadMemberRow.lead_id == lead)).all()  # fmt: skip
    assert persons
    for person in persons:
        for secret in (person.surname, person.surname_latin, person.document_number):
            assert secret not in response.text, "a member's name or document was returned"


def api_decision_is_audited(scene: Scene, path: str) -> None:
    """G5: dismissing or opening a lead through the API leaves a leaf naming the lead and
    the analyst, in the decision's commit."""
    method, url, lead = _url(scene, path)
    before = len(_leaves(scene))
    response = scene.call(method, url, scene.tokens["all"], FORMS[url.rsplit("/", 1)[1]])
    assert response.status_code == 200, response.text
    new = _leaves(scene)[before:]
    assert any((leaf.reference or "").startswith(f"lead:{lead}:")
               and leaf.actor == "officer:every-role" for leaf in new), new  # fmt: skip


# ---------------------------------------------------------------- kept leads and retention

# Kazakhstan's node of the scene (its registers are the factories'): twelve persons invited
# by one party to one flat within a fortnight, the first under the planted name (and a
# document of its own: the register takes only a document of the issuing state's format),
# among three hundred others. The record ids are the scene's alone.
PLANTED_RECORD = "KZ-PP-0070000"
PLANTED_PERSON_DOCUMENT = person_present(70_000)["document_number"]
_CHANNEL = range(70_000, 70_012)
_OTHERS = range(70_100, 70_400)


def _kz_persons(root: Path, *, planted: bool) -> Path:
    people = [
        person_present(
            i,
            inviting_party="940540000012",
            registration_address="Almaty, Abay 3, flat 9",
            entry_date=f"2024-03-{i - _CHANNEL.start + 1:02d}",
            **({"surname_latin": PLANTED} if i == _CHANNEL.start else {}),
        )
        for i in _CHANNEL
        if planted or i != _CHANNEL.start
    ] + [person_present(i, registration_address=f"Astana, Mira {i}") for i in _OTHERS]
    name = "persons-with-planted" if planted else "persons-without-planted"
    return write_csv(root / name / "persons_present.csv", Kind.PERSONS_PRESENT, people)


def _refresh(node: Node, path: Path) -> None:
    """The register of persons present becomes the file (a monthly snapshot)."""
    with node.unit_of_work() as uow:
        import_registries(uow, [(Kind.PERSONS_PRESENT, path)], state="KZ", actor="test",
                          mode=Mode.SNAPSHOT, max_removed=100)  # fmt: skip


def channels_rows(node: Node) -> list[tuple[str, tuple[Any, ...]]]:
    """Every row of every channels table of the node, with its table's name."""
    tables = [t for t in Base.metadata.sorted_tables if t.name.startswith("channels_")]
    with node.unit_of_work() as uow:
        return [(t.name, tuple(r)) for t in tables for r in uow.session.execute(t.select())]


def _armenia_reports_a_member(scene: Scene) -> str:
    """Armenia's violation notice about a member of the planted channel (not the planted
    person), filed by Kazakhstan's node; its message id."""
    person = person_present(_CHANNEL.start + 1)
    with scene.pair.am.unit_of_work() as uow:
        opened = open_request(uow, node_context(scene.pair.am), OpenRequest(
            "kz-am-2024", "am-police", "kz-mia", "violation-notice", {
                "purpose": PURPOSE, "legal_basis": "Article 2 of the agreement",
                "person": {k: person[k] for k in ("citizenship", "document_type",
                                                  "document_number")},
                "violations": [{"violation_type": "overstay", "detected_on": "2024-04-02",
                                "region": "AM-ER", "legal_article": "Article 21",
                                "decision": "fine"}],
            }, "officer:matrix",
        ), datetime.now(UTC))  # fmt: skip
    deliver(scene.pair.am, scene.pair.am_trust, scene.pair.kz, scene.pair.kz_trust)
    with scene.pair.kz.unit_of_work() as uow:
        return uow.session.scalars(select(CaseMessageRow.message_id).where(
            CaseMessageRow.case_id == opened.case_id)).one()  # fmt: skip


def _erase(node: Node, message_id: str) -> None:
    """The notice's retention ends: its data key is destroyed, as retention's job does."""
    with node.unit_of_work() as uow:
        erase(uow.session, [uow.session.get_one(RetentionKeyRow, message_id)],
              datetime.now(UTC))  # fmt: skip
        uow.commit()


def planted_lead_forgotten(scene: Scene, forget: Callable[[Node], None]) -> None:
    """A lead of Kazakhstan's node holds the planted person, and a member Armenia reported
    a violation of (partner data), and is dismissed; the register is refreshed without the
    planted person, the notice's retention ends, and `forget` runs: afterwards no channels
    row names the planted record id, name or document, nor the notice, and the lead keeps
    its members whose records are still present."""
    node = scene.pair.kz
    (scene.root / "persons-with-planted").mkdir(exist_ok=True)
    (scene.root / "persons-without-planted").mkdir(exist_ok=True)
    _refresh(node, _kz_persons(scene.root, planted=True))
    notice = _armenia_reports_a_member(scene)
    analyst = Officer(0, "matrix-analyst", "Matrix analyst",
                      frozenset({Grant(Role.ANALYST, node.settings.authorities[0])}))  # fmt: skip
    with node.unit_of_work() as uow:
        stored = store_run(uow, StoreRun(analyst, node.settings.authorities[0], "KZ", 0.0),
                           datetime.now(UTC), node=node_context(node))  # fmt: skip
    assert notice in str(channels_rows(node)), "the lead holds no partner data"
    with node.unit_of_work() as uow:
        held = {lead: set(uow.session.scalars(select(LeadMemberRow.record_id).where(
            LeadMemberRow.lead_id == lead))) for lead in stored.leads}  # fmt: skip
    planted = [lead for lead, members in held.items() if PLANTED_RECORD in members]
    assert planted, "the planted person is in no lead"
    # Decided, so that it stays (an undecided lead on the notice would go whole with it).
    for lead in planted:
        with node.unit_of_work() as uow:
            dismiss_lead(uow, analyst, lead, reason="checked: a crew", now=datetime.now(UTC))
    _refresh(node, _kz_persons(scene.root, planted=False))
    _erase(node, notice)
    forget(node)
    for table, values in channels_rows(node):
        for value in values:
            text = str(value)
            assert PLANTED_RECORD not in text, f"{table} still names the departed record"
            assert notice not in text, f"{table} still holds what the erased notice said"
            for secret in (PLANTED, PLANTED_DOCUMENT, PLANTED_PERSON_DOCUMENT):
                assert secret not in text, f"{table} still holds the departed person's data"
    with node.unit_of_work() as uow:
        for lead in planted:
            kept = set(uow.session.scalars(select(LeadMemberRow.record_id).where(
                LeadMemberRow.lead_id == lead)))  # fmt: skip
            assert kept == held[lead] - {PLANTED_RECORD}, f"{lead} lost members still present"


def kept_leads_forget_departed(scene: Scene, path: str) -> None:
    """G7: once a record leaves the registers, the kept leads forget it: the use case the
    job and `migrex channels forget` run, or the command itself."""

    def forget(node: Node) -> None:
        if path == "migrex channels forget":
            result = scene.cli("channels", "forget", node=node)
            assert result.exit_code == 0, result.output
            assert PLANTED_RECORD not in result.output, result.output
            return
        with node.unit_of_work() as uow:
            forget_departed(uow, datetime.now(UTC))

    planted_lead_forgotten(scene, forget)
