"""The rules of a lead once a run has stored it: what an analyst may decide, and the minimal
request to the partner that opening it as a case sends. Pure: no database, no network.

The machine ranks and explains; only an analyst decides, and each decision is final (a lead
dismissed by mistake is found again by the next run, and judged again).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from migrex.agreements import Agreement
from migrex.errors import MigrexError

# The purpose a request made from a lead states, and the only profile it may ask within.
PURPOSE: Final = "suppress-illegal-migration-channels"
REQUEST_TYPE: Final = "person-inquiry"
REQUEST_CATEGORY: Final = "persons-present"
# What a channel's follow-up needs of the partner about each member: the route and basis of
# the stay and the violations recorded. Asked only where the purpose's profile allows each.
FOLLOW_UP_FIELDS: Final = ("entry_date", "purpose_of_stay", "violations")
LEAD_ID: Final = re.compile(r"^R[0-9]{1,9}-L[0-9]{4}$")
MAX_REASON: Final = 2_000
# The fewest persons a lead has: a run keeps no smaller group, and a lead forgetting members
# is settled below it.
MIN_PERSONS: Final = 4
MAX_PERSONS: Final = 1_000  # a request's limit (casework.messages.parts.MAX_PERSONS_PER_MESSAGE)


class LeadState(StrEnum):
    NEW = "new"
    OPENED = "opened"  # opened as a request to the partner: a case now carries it
    DISMISSED = "dismissed"


class LeadEvent(StrEnum):
    OPEN = "open"
    DISMISS = "dismiss"


TRANSITIONS: Final[dict[LeadState, dict[LeadEvent, LeadState]]] = {
    LeadState.NEW: {LeadEvent.OPEN: LeadState.OPENED, LeadEvent.DISMISS: LeadState.DISMISSED},
    LeadState.OPENED: {},
    LeadState.DISMISSED: {},
}


class LeadAlreadyDecided(MigrexError):
    type_slug = "lead-already-decided"
    title = "The lead has been decided already"
    status = 409


class LeadNotFound(MigrexError):
    type_slug = "lead-not-found"
    title = "No such lead"
    status = 404


class NoMemberToAsk(MigrexError):
    type_slug = "lead-no-member-to-ask"
    title = "The lead names no one the partner can be asked about"
    status = 422


class NoPartner(MigrexError):
    type_slug = "lead-no-partner"
    title = "The authority may not ask that partner under the channels purpose"
    status = 422


class ReasonRequired(MigrexError):
    type_slug = "lead-reason-required"
    title = "A dismissal states its reason"
    status = 422


def lead_id(run_id: int, rank: int) -> str:
    return f"R{run_id}-L{rank:04d}"


def decide(state: LeadState, event: LeadEvent) -> LeadState:
    """The lead's state after `event`; LeadAlreadyDecided once it is opened or dismissed."""
    after = TRANSITIONS[state].get(event)
    if after is None:
        raise LeadAlreadyDecided(f"the lead is {state}: it cannot be {event}ed again")
    return after


def dismissal_reason(reason: str) -> str:
    """The reason as it is kept; ReasonRequired for a blank one or one too long."""
    cleaned = reason.strip()
    if not cleaned:
        raise ReasonRequired("say why the lead is dismissed")
    if len(cleaned) > MAX_REASON:
        raise ReasonRequired(f"the reason is longer than {MAX_REASON} characters")
    return cleaned


@dataclass(frozen=True)
class Member:
    """A member as the request names it to the partner: by document alone."""

    record_id: str
    violator: bool
    citizenship: str  # ISO 3166-1 alpha-3, the document's issuing state
    document_type: str
    document_number: str


def members_to_ask(members: Sequence[Member]) -> list[Member]:
    """The members the request names: those with a violation recorded, on whom the lead's
    suspicion rests. The others are not named to the partner at all; their shared links are
    what the analyst reads on the card, not what the partner is told."""
    return sorted((m for m in members if m.violator), key=lambda m: m.record_id)


def _identified(member: Member) -> dict[str, str]:
    return {
        "citizenship": member.citizenship,
        "document_type": member.document_type,
        "document_number": member.document_number,
    }


def asked_fields(agreement: Agreement) -> list[str]:
    """FOLLOW_UP_FIELDS within the purpose's profile, in that order."""
    allowed = agreement.fields_allowed(PURPOSE)
    return [f for f in FOLLOW_UP_FIELDS if f in allowed]


def minimal_request(
    agreement: Agreement, lead: str, members: Sequence[Member], *,
    partner_states: Sequence[str] = (),
) -> dict[str, Any]:  # fmt: skip
    """The person inquiry opening `lead` as a case: its purpose and legal basis, each member
    to ask about (`members_to_ask`) by document only, and the follow-up fields the purpose's
    profile allows. NoMemberToAsk when no member has a violation recorded. `partner_states`
    are the states whose data the lead rests on too, as the legal basis says."""
    asked = members_to_ask(members)[:MAX_PERSONS]
    if not asked:
        raise NoMemberToAsk(f"no member of lead {lead} has a violation recorded")
    article = agreement.purposes[PURPOSE].article
    found_in = "our registers"
    if partner_states:
        found_in += f" and data {', '.join(sorted(set(partner_states)))} sent under the agreement"
    return {
        "purpose": PURPOSE,
        "legal_basis": (
            f"{article} of agreement {agreement.id}: suppressing an illegal migration channel; "
            f"lead {lead}, found in {found_in} and reviewed by an analyst"
        ),
        "persons": [
            {
                "citizenship": m.citizenship,
                "document_type": m.document_type,
                "document_number": m.document_number,
            }
            for m in asked
        ],
        "requested_fields": asked_fields(agreement),
    }
