"""The checks of the guarantee matrix on the paths of kept channel leads: the `migrex
channels` commands that act as an analyst, and the console's lead pages.

Armenia's node of the scene gets Armenia's synthetic registers (two planted channels) the
first time a check needs a lead; each check then stores a run of its own, so a lead it
dismisses or opens is one no other check has decided.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from channel_scenes import import_am, synthetic_registers
from console_client import Browser
from guarantee_matrix import APPROVER_PASSWORD, Scene
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.channels.service import StoreRun, store_run
from migrex.channels.tables import LeadMemberRow
from migrex.ledger.tables import DisclosureRow
from migrex.officers.model import NotAuthenticated, NotAuthorised
from migrex.officers.service import list_officers
from migrex.registry.tables import PersonPresentRow

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
