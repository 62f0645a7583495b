"""The rules of a linkage candidate at one party, once the unit returned it: what an officer
may decide, what the partner's formal answer makes of it, and how long it is kept. Pure: no
database, no network.

A candidate is a lead for an officer, never a finding: the machine decides nothing. An
officer either asks the partner, through the ordinary citizenship-verification request
quoting the pair, or dismisses it with a reason; the partner's formal reply closes it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

from migrex.errors import MigrexError

PAIR_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")
BANDS: Final = ("strong", "probable", "possible")  # strongest first; scores: compare.BANDS
MAX_REASON: Final = 2_000


class CandidateState(StrEnum):
    OPEN = "open"
    REQUESTED = "requested"  # a citizenship-verification request quoting the pair is open
    CLOSED = "closed"  # the partner's formal reply arrived (or left, at the partner)
    DISMISSED = "dismissed"


class CandidateEvent(StrEnum):
    REQUEST = "request"
    DISMISS = "dismiss"
    CLOSE = "close"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"  # the partner's register says the person holds its citizenship
    CLEARED = "cleared"  # it says the person does not
    UNKNOWN = "unknown"  # it cannot tell (no single match)


TRANSITIONS: Final[dict[CandidateState, dict[CandidateEvent, CandidateState]]] = {
    CandidateState.OPEN: {
        CandidateEvent.REQUEST: CandidateState.REQUESTED,
        CandidateEvent.DISMISS: CandidateState.DISMISSED,
    },
    CandidateState.REQUESTED: {CandidateEvent.CLOSE: CandidateState.CLOSED},
    CandidateState.CLOSED: {},
    CandidateState.DISMISSED: {},
}
# Decided for good: an officer's dismissal or the partner's answer. What they keep after the
# retention period is the decision, never who it was about.
FINAL: Final = frozenset({CandidateState.CLOSED, CandidateState.DISMISSED})
OUTCOMES: Final[dict[str, Outcome]] = {
    "yes": Outcome.CONFIRMED,
    "no": Outcome.CLEARED,
    "unknown": Outcome.UNKNOWN,
}


class CandidateAlreadyDecided(MigrexError):
    type_slug = "linkage-candidate-decided"
    title = "The linkage candidate does not allow that step in its state"
    status = 409


class CandidateNotFound(MigrexError):
    type_slug = "linkage-candidate-not-found"
    title = "No such linkage candidate"
    status = 404


class CandidateInvalid(MigrexError):
    type_slug = "linkage-candidate-invalid"
    title = "A linkage candidate or a decision on it is malformed"
    status = 422


def allowed(state: CandidateState, event: CandidateEvent) -> bool:
    return event in TRANSITIONS[state]


def decide(state: CandidateState, event: CandidateEvent) -> CandidateState:
    """The state after `event`; CandidateAlreadyDecided when `state` does not allow it."""
    after = TRANSITIONS[state].get(event)
    if after is None:
        raise CandidateAlreadyDecided(f"the candidate is {state}: it cannot take '{event}'")
    return after


def outcome_of(holds: str) -> Outcome:
    """What the partner's finding (`holds` of a citizenship finding) makes of the pair."""
    return OUTCOMES[holds]


def dismissal_reason(reason: str) -> str:
    """The reason as kept; CandidateInvalid for a blank one or one too long."""
    cleaned = reason.strip()
    if not cleaned:
        raise CandidateInvalid("say why the candidate is dismissed")
    if len(cleaned) > MAX_REASON:
        raise CandidateInvalid(f"the reason is longer than {MAX_REASON} characters")
    return cleaned


def checked(pair_id: str, band: str) -> tuple[str, str]:
    """A candidate's pair id and band as the unit gave them; CandidateInvalid otherwise (the
    message names neither value: a malformed id may be anything)."""
    if not PAIR_ID.match(pair_id):
        raise CandidateInvalid("a pair id is 1 to 80 letters, digits and ._:-")
    if band not in BANDS:
        raise CandidateInvalid(f"a band is one of {', '.join(BANDS)}")
    return pair_id, band


Keeping = Literal["keep", "delete", "strip"]


def keeping(
    state: CandidateState, *, run_opened_at: datetime, decided_at: datetime | None,
    retention: timedelta, now: datetime,
) -> Keeping:  # fmt: skip
    """What retention does with a candidate now (G7). An open one, which no officer took up,
    goes with its run once the run's retention ends ("delete"); a decided one keeps its
    decision but, once the retention period has passed since the decision, not whose record
    it was ("strip": the national id goes). A requested one counts from the request: an
    answer that never came (a refusal, a withdrawal, a lapsed case) keeps no id for ever, and
    a late answer still closes it by its case."""
    if state is CandidateState.OPEN:
        return "delete" if run_opened_at + retention <= now else "keep"
    if decided_at is not None and decided_at + retention <= now:
        return "strip"
    return "keep"
