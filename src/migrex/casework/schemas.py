"""What the officers' casework API reads and answers: Pydantic models at the edge.

Listings of the inbox and outbox name messages, never their bodies: a body may carry personal
data, and reading it is casework on the case, not watching the exchange.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from migrex.casework.tables import CaseRow
from migrex.exchange.tables import InboxMessage, OutboxMessage

# Message bodies strip blanks before checking lengths; stripping here too makes a blank text a
# 422 at the door rather than a body that fails to build inside the use case.
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]

PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class RequestIn(BaseModel):
    agreement_id: str = Field(max_length=64)
    recipient: str = Field(max_length=64, description="the requested authority")
    type: str = Field(max_length=64, description="message type, e.g. person-inquiry")
    body: dict[str, Any]


class OpenedOut(BaseModel):
    case_id: str
    message_id: str
    flags: list[str]


class CaseOut(BaseModel):
    id: str
    agreement_id: str
    direction: str
    category: str
    purpose: str | None
    our_authority: str
    partner_authority: str
    state: str
    urgency: str
    opened_at: datetime
    due_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, row: CaseRow) -> CaseOut:
        return cls.model_validate(row, from_attributes=True)


class ReminderOut(CaseOut):
    time_left: timedelta = Field(description="until the case is due (ISO 8601 duration)")

    @classmethod
    def at(cls, row: CaseRow, now: datetime) -> ReminderOut:
        due = row.due_at or now  # a reminder is only ever due for a case with a due time
        return cls(**CaseOut.of(row).model_dump(), time_left=due - now)


class PersonSearchIn(BaseModel):
    """A name in any script the agreements' registers use: Cyrillic, Armenian or Latin."""

    surname: PersonName
    given_name: PersonName | None = None


class PersonFoundOut(BaseModel):
    case: CaseOut
    message_id: str
    at: datetime
    person: dict[str, Any] = Field(description="the person's names and birth date as held")


class RefusalIn(BaseModel):
    grounds: list[str] = Field(min_length=1, max_length=8)
    explanation: NonBlank


class WithdrawalIn(BaseModel):
    reason: NonBlank


class ClarificationIn(BaseModel):
    question: NonBlank


class ClarificationAnswerIn(BaseModel):
    answer: dict[str, Any] = Field(
        description="a clarification-answer body: `answers` (a list of texts) and, to amend "
        "the request, `legal_basis`, `purpose`, `requested_fields` or `urgency_reason`"
    )


class FindingIn(BaseModel):
    finding: NonBlank
    fields: dict[str, Any] | None = Field(default=None, description="data the finding shares")


class OutcomeIn(BaseModel):
    outcome: NonBlank


class SentOut(BaseModel):
    message_id: str | None = None
    state: str


class InboxEntryOut(BaseModel):
    message_id: str
    type: str
    sender: str
    case_id: str | None
    received_at: datetime
    status: str = Field(description="filing: new, filed, filed-late, unfiled or invalid")

    @classmethod
    def of(cls, row: InboxMessage) -> InboxEntryOut:
        return cls.model_validate(row, from_attributes=True)


class OutboxEntryOut(BaseModel):
    message_id: str
    type: str
    recipient: str
    case_id: str | None
    status: str = Field(description="delivery: pending, in_flight, delivered or parked")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None

    @classmethod
    def of(cls, row: OutboxMessage) -> OutboxEntryOut:
        return cls.model_validate(row, from_attributes=True)


class NarrowIn(BaseModel):
    """Person fields to withhold from the drafted answer, of the given persons or of all."""

    fields: list[str] = Field(min_length=1, max_length=64)
    persons: list[int] | None = Field(default=None, max_length=1000)


class ApproveIn(BaseModel):
    """The approving officer signs in again: a decision under four eyes needs a fresh proof."""

    password: str = Field(min_length=1, max_length=1024)


class PersonPreviewOut(BaseModel):
    person: int
    named_as: dict[str, Any]
    leaving: dict[str, Any]
    withheld: dict[str, str]
    outcome: str


class PreviewOut(BaseModel):
    """A drafted decision exactly as it would leave, and whether a second officer must approve."""

    case_id: str
    draft_id: int
    decision: str
    type: str
    status: str
    needs_second_officer: bool
    drafted_by: str
    persons: list[PersonPreviewOut]
    body: dict[str, Any]
    message_id: str | None = None
