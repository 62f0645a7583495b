"""The union of every message body, one Pydantic model per `type`, and its parser.

`parse_body(type, data)` is the only way a body from outside (a partner's envelope, the API)
becomes a model; it reports every field problem at once as `MessageInvalid`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from migrex.agreements import Agreement
from migrex.casework.messages.information import (
    LegalInformation,
    MethodologicalInformation,
    StatisticalInformation,
)
from migrex.casework.messages.linkage import LinkageRunAcceptance, LinkageRunProposal
from migrex.casework.messages.parts import Body
from migrex.casework.messages.persons import (
    AssistanceReply,
    AssistanceRequest,
    CitizenshipVerificationReply,
    CitizenshipVerificationRequest,
    ConsultationFinding,
    ConsultationOutcome,
    LegalStatusConsultation,
    PersonInquiry,
    PersonInquiryReply,
    ViolationNotice,
)
from migrex.casework.messages.steps import (
    ClarificationAnswer,
    ClarificationRequest,
    GroundCited,
    MessageProblem,
    Refusal,
    Withdrawal,
)
from migrex.errors import MigrexError, Problem


class MessageInvalid(MigrexError):
    type_slug = "message-invalid"
    title = "The message body is invalid"
    status = 422


MessageBody = Annotated[
    StatisticalInformation
    | LegalInformation
    | MethodologicalInformation
    | PersonInquiry
    | PersonInquiryReply
    | ViolationNotice
    | LegalStatusConsultation
    | ConsultationFinding
    | ConsultationOutcome
    | AssistanceRequest
    | AssistanceReply
    | CitizenshipVerificationRequest
    | CitizenshipVerificationReply
    | ClarificationRequest
    | ClarificationAnswer
    | Refusal
    | Withdrawal
    | MessageProblem
    | LinkageRunProposal
    | LinkageRunAcceptance,
    Field(discriminator="type"),
]
MESSAGE_BODY: TypeAdapter[MessageBody] = TypeAdapter(MessageBody)

# The messages that open a case about persons, and all that open a case; everything else
# answers or continues one.
PersonalOpeningBody = (
    PersonInquiry
    | ViolationNotice
    | LegalStatusConsultation
    | AssistanceRequest
    | CitizenshipVerificationRequest
)
InformationBody = StatisticalInformation | LegalInformation | MethodologicalInformation
OpeningBody = InformationBody | PersonalOpeningBody | LinkageRunProposal

BODY_MODELS: Mapping[str, type[Body]] = {
    model.model_fields["type"].default: model
    for model in (
        StatisticalInformation,
        LegalInformation,
        MethodologicalInformation,
        PersonInquiry,
        PersonInquiryReply,
        ViolationNotice,
        LegalStatusConsultation,
        ConsultationFinding,
        ConsultationOutcome,
        AssistanceRequest,
        AssistanceReply,
        CitizenshipVerificationRequest,
        CitizenshipVerificationReply,
        ClarificationRequest,
        ClarificationAnswer,
        Refusal,
        Withdrawal,
        MessageProblem,
        LinkageRunProposal,
        LinkageRunAcceptance,
    )
}
MESSAGE_TYPES: frozenset[str] = frozenset(BODY_MODELS)


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


def _reason(message: str) -> str:
    # Pydantic prefixes the messages our own validators raise; the reason reads better bare.
    return message.removeprefix("Value error, ")


def parse_body(message_type: str, data: Any) -> MessageBody:
    """The body of a message of this type; raises MessageInvalid listing every problem."""
    if message_type not in BODY_MODELS:
        raise MessageInvalid(
            f"unknown message type {message_type!r}",
            [Problem("type", f"must be one of: {', '.join(sorted(MESSAGE_TYPES))}")],
        )
    if not isinstance(data, Mapping):
        raise MessageInvalid(
            f"the {message_type} body is not an object",
            [Problem("", f"expected an object, got {type(data).__name__}")],
        )
    stated = data.get("type", message_type)
    if stated != message_type:
        raise MessageInvalid(
            f"the body says it is {stated!r}, the message says {message_type!r}",
            [Problem("type", f"must be {message_type!r}")],
        )
    try:
        return MESSAGE_BODY.validate_python({**data, "type": message_type})
    except ValidationError as error:
        # The union puts the tag first in every location; the caller already knows the type.
        problems = [
            Problem(_where(e["loc"][1:]), _reason(e["msg"]))
            for e in error.errors(include_url=False)
        ]
        raise MessageInvalid(
            f"the {message_type} body has {len(problems)} problem(s)", problems
        ) from None


def refusal_for(agreement: Agreement, grounds: Iterable[str], explanation: str) -> Refusal:
    """A refusal citing these grounds with the articles the agreement gives them; raises
    NotFound for a ground the agreement does not have."""
    cited = [
        GroundCited(ground=g.id, article=g.article)
        for g in (agreement.refusal_ground(ground_id) for ground_id in dict.fromkeys(grounds))
    ]
    return Refusal(grounds=cited, explanation=explanation)


def check_refusal(agreement: Agreement, refusal: Refusal) -> None:
    """Raises MessageInvalid unless every cited ground is the agreement's, with its article."""
    problems = []
    for index, cited in enumerate(refusal.grounds):
        ground = agreement.refusal_grounds.get(cited.ground)
        if ground is None:
            problems.append(
                Problem(f"grounds.{index}.ground", f"{agreement.id} has no such ground")
            )
        elif ground.article != cited.article:
            problems.append(
                Problem(f"grounds.{index}.article", f"{agreement.id} gives it {ground.article}")
            )
    if problems:
        raise MessageInvalid(f"the refusal cites {len(problems)} ground(s) wrongly", problems)
