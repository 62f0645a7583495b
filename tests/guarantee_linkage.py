"""The checks of the guarantee matrix on the paths of linkage candidates and runs: the `migrex
linkage candidates|verify|dismiss` commands, the console's queue, candidate and runs pages,
and the linkage job's retention of candidates.

The scene's pair runs one accepted linkage run (Armenia proposes, Kazakhstan accepts) the
first time a check needs it, and Armenia's citizens' register holds the man of
`linkage_scenes.AM_PERSON`; each check files candidates of its own under fresh pair ids, so
a candidate it asks about or dismisses is one no other check has decided.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from casework_steps import now
from console_client import Browser
from guarantee_matrix import APPROVER_PASSWORD, PLANTED, Scene
from linkage_scenes import AGREEMENT, AM_PERSON, accepted_run, citizens, file, proposed_run
from migrex.audit.leaves import AuditLeaf, LeafKind
from migrex.audit.tables import AuditLeafRow
from migrex.casework.service import open_review
from migrex.ledger.tables import DisclosureRow
from migrex.linkage.candidate_retention import forget_candidates
from migrex.linkage.tables import CandidateRow
from migrex.registry.refresh import Mode

# A record no register of the scene holds (not even of an Armenian number's format): its
# candidate is one of an erased person.
ERASED = "ZZ-ERASED-0001"
_PAIRS = itertools.count(1)


def a_candidate(scene: Scene, national_id: str = AM_PERSON["national_id"]) -> tuple[int, str]:
    """A new open candidate at am-mcs of the scene's run: its id and pair id."""
    if "linkage-run" not in scene.extra:
        scene.extra["linkage-run"] = accepted_run(scene.pair)
    # The man stays in Armenia's register whatever another check imported since.
    citizens(scene.node, "AM", [AM_PERSON], scene.root, Mode.UPSERT)
    pair_id = f"M-{next(_PAIRS):04d}"
    assert file(scene.node, scene.extra["linkage-run"], "am-mcs", (pair_id, national_id, "strong"))
    with scene.node.unit_of_work() as uow:
        found = uow.session.scalar(select(CandidateRow.id).where(CandidateRow.pair_id == pair_id))
    assert found is not None
    return found, pair_id


def _leaves(scene: Scene) -> list[AuditLeaf]:
    with scene.node.unit_of_work() as uow:
        data = uow.session.scalars(select(AuditLeafRow.data).order_by(AuditLeafRow.position))
        return [AuditLeaf.decode(bytes(d)) for d in data]


def _reads(scene: Scene) -> int:
    with scene.node.unit_of_work() as uow:
        return uow.session.scalar(
            select(func.count()).select_from(DisclosureRow).where(
                DisclosureRow.direction == "read",
                DisclosureRow.message_id.like("linkage-candidate:%"))
        ) or 0  # fmt: skip


def _decided(scene: Scene, before: int, candidate_id: int) -> None:
    new = _leaves(scene)[before:]
    assert any((leaf.reference or "").startswith(f"linkage-candidate:{candidate_id}:")
               and leaf.actor == "officer:every-role" and leaf.kind is LeafKind.DECISION
               for leaf in new), new  # fmt: skip


# ---------------------------------------------------------------- commands


def command_decision_is_audited(scene: Scene, path: str) -> None:
    """G5: asking the partner about a candidate, or dismissing it, leaves a leaf naming the
    candidate and the officer, in the decision's commit."""
    candidate_id, pair_id = a_candidate(scene)
    extra = ["--reason", "another birth place"] if path.endswith("dismiss") else []
    before = len(_leaves(scene))
    result = scene.cli("linkage", path.rsplit(" ", 1)[1], pair_id, *extra,
                       token=scene.tokens["all"])  # fmt: skip
    assert result.exit_code == 0, result.output
    _decided(scene, before, candidate_id)


def kept_candidates_forget_erased(scene: Scene, path: str) -> None:
    """G7: a candidate naming a record no longer in the citizens' register is deleted by the
    linkage job's pass (the use case here; the job's row runs the job itself), and no
    command lists it after."""
    _, pair_id = a_candidate(scene, ERASED)
    with scene.node.unit_of_work() as uow:
        forgotten = forget_candidates(uow, scene.node.agreements, datetime.now(UTC))
    assert forgotten.erased_persons >= 1
    with scene.node.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CandidateRow)
                                  .where(CandidateRow.national_id == ERASED)) == 0  # fmt: skip
    if path == "migrex linkage candidates":
        listed = scene.cli("linkage", "candidates", "--json", token=scene.tokens["all"])
        assert listed.exit_code == 0, listed.output
        assert pair_id not in listed.output


def candidates_name_no_one(scene: Scene, path: str) -> None:
    """G8: the queue prints pair ids, bands and states: no national id, name or birth date."""
    a_candidate(scene)
    result = scene.cli("linkage", "candidates", token=scene.tokens["all"])
    assert result.exit_code == 0, result.output
    for secret in (AM_PERSON["national_id"], AM_PERSON["surname_latin"], AM_PERSON["surname"]):
        assert secret not in result.output


def reason_is_not_given_back(scene: Scene, path: str) -> None:
    """G8: a refused dismissal does not give back the reason typed, which may name someone."""
    result = scene.cli("linkage", "dismiss", "no-such-pair", "--reason", PLANTED,
                       token=scene.tokens["all"])  # fmt: skip
    assert result.exit_code != 0 and PLANTED not in result.output, result.output


# ---------------------------------------------------------------- the console's pages


def _browser(scene: Scene) -> Browser:
    browser = Browser(scene.app)
    signed = browser.sign_in("every-role", APPROVER_PASSWORD)
    assert signed.status_code == 303, signed.text
    return browser


def console_candidate_is_recorded(scene: Scene, path: str, ledger: bool) -> None:
    """G4 (`ledger`) or G5: the candidate's page shows our own record to an officer who may
    see it: a ledger "read" row and an audit leaf under the officer's name."""
    candidate_id, _ = a_candidate(scene)
    browser = _browser(scene)
    reads, before = _reads(scene), len(_leaves(scene))
    response = browser.get(f"/ui/linkage/{candidate_id}")
    assert response.status_code == 200, response.text
    assert AM_PERSON["surname_latin"] in response.text
    if ledger:
        assert _reads(scene) == reads + 1, "no ledger row for the record shown"
    else:
        shown = [leaf for leaf in _leaves(scene)[before:]
                 if leaf.reference == f"linkage-candidate:{candidate_id}"
                 and leaf.actor == "officer:every-role"
                 and leaf.kind is LeafKind.PERSONAL_DATA_READ]  # fmt: skip
        assert shown, "no audit leaf for the record shown"


def console_decision_is_audited(scene: Scene, path: str) -> None:
    """G5: asking or dismissing from the candidate's page leaves a leaf naming the candidate
    and the officer, in the decision's commit."""
    candidate_id, pair_id = a_candidate(scene)
    step = path.rsplit("/", 1)[1]
    form = {"pair": pair_id} if step == "verify" else {"reason": "another birth place"}
    browser = _browser(scene)
    before = len(_leaves(scene))
    response = browser.post(f"/ui/linkage/{candidate_id}/{step}", form=form, htmx=True)
    assert response.status_code == 204, response.text
    _decided(scene, before, candidate_id)


# ---------------------------------------------------------------- the console's runs page


def _a_proposal_in_review(scene: Scene) -> tuple[str, str]:
    """Kazakhstan proposes a run to am-mcs, which files it and takes it into review: its case
    id and run id, a case no other check acts on."""
    pair = scene.pair
    proposed = proposed_run(pair, "KZ")
    with pair.am.unit_of_work() as uow:
        open_review(uow, proposed.case_id, "officer:test", now())
    return proposed.case_id, proposed.run_id


def console_run_step_is_audited(scene: Scene, path: str) -> None:
    """G5: proposing a run, accepting a partner's or refusing it from the runs page leaves a
    leaf under the officer's name, in the step's commit."""
    browser = _browser(scene)
    step = path.rsplit("/", 1)[1]
    if step == "runs":
        url = "/ui/linkage/runs"
        form: dict[str, object] = {
            "agreement": AGREEMENT, "proposer": "am-mcs", "partner": "kz-mia",
            "period_start": "2025-01-01", "period_end": "2025-12-31",
        }  # fmt: skip
    else:
        case_id, run_id = _a_proposal_in_review(scene)
        url = f"/ui/linkage/runs/{case_id}/{step}"
        ground = next(iter(scene.node.agreements[AGREEMENT].refusal_grounds))
        form = {"run": run_id} | (
            {"ground": ground, "explanation": "not this year"} if step == "refuse" else {}
        )
    before = len(_leaves(scene))
    response = browser.post(url, form=form, htmx=True)
    assert response.status_code == 200, response.text
    if step == "runs":
        found = re.search(r'href="/ui/cases/([^"]+)"', response.text)
        assert found is not None, response.text
        case_id = found.group(1)
    new = _leaves(scene)[before:]
    assert any(leaf.actor == "officer:every-role" and leaf.kind is LeafKind.DECISION
               and (leaf.reference or "").startswith(f"case:{case_id}:send:")
               for leaf in new), new  # fmt: skip
