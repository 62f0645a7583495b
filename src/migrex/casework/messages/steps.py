"""The steps of a case that carry no person: clarification asked and answered, refusal on
the agreement's grounds, withdrawal, and the report that a message could not be filed."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from migrex.casework.messages.parts import (
    MAX_LIST,
    AgreementId,
    Body,
    RequestedFields,
    ShortText,
    Text,
)


class ClarificationRequest(Body):
    type: Literal["clarification-request"] = "clarification-request"
    questions: list[Text] = Field(min_length=1, max_length=MAX_LIST)


class ClarificationAnswer(Body):
    """Answers the questions; the other fields, when given, amend the request being clarified
    (a narrower field list, a fuller legal basis) and it is screened again."""

    type: Literal["clarification-answer"] = "clarification-answer"
    answers: list[Text] = Field(min_length=1, max_length=MAX_LIST)
    purpose: AgreementId | None = None
    legal_basis: Annotated[str, StringConstraints(min_length=1, max_length=2_000)] | None = None
    urgency_reason: Annotated[str, StringConstraints(min_length=1, max_length=2_000)] | None = None
    requested_fields: RequestedFields | None = None


class GroundCited(Body):
    """A refusal ground by its id in the agreement, with the article the agreement gives it."""

    ground: AgreementId
    article: ShortText


class Refusal(Body):
    type: Literal["refusal"] = "refusal"
    grounds: list[GroundCited] = Field(min_length=1, max_length=MAX_LIST)
    explanation: Text

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        ids = [g.ground for g in self.grounds]
        if len(set(ids)) != len(ids):
            raise ValueError("a ground is cited twice")
        return self


class Withdrawal(Body):
    type: Literal["withdrawal"] = "withdrawal"
    reason: Text


class MessageProblem(Body):
    """Tells the sender that one of its messages, received and receipted, could not be filed:
    which one, and why as a code with the places at fault. Carries no content of it."""

    type: Literal["message-problem"] = "message-problem"
    message_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]
    problem: Annotated[str, StringConstraints(min_length=1, max_length=500)]
