"""Every message body the agreements name, by what it carries: the parts bodies are built
from, information (no person), bodies about persons, the steps of a case, and the parser
that is the only way a body from outside becomes a model."""

from __future__ import annotations

from migrex.casework.messages.information import (
    SDMX_CSV,
    LegalInformation,
    MethodologicalInformation,
    ReleaseHeader,
    StatisticalInformation,
)
from migrex.casework.messages.linkage import LinkageRunAcceptance, LinkageRunProposal
from migrex.casework.messages.parsing import (
    BODY_MODELS,
    MESSAGE_TYPES,
    InformationBody,
    MessageBody,
    MessageInvalid,
    OpeningBody,
    PersonalOpeningBody,
    check_refusal,
    parse_body,
    refusal_for,
)
from migrex.casework.messages.parts import (
    MAX_ATTACHMENT_BYTES,
    MAX_LIST,
    MAX_PERSONS_PER_MESSAGE,
    NOT_HELD,
    OUTSIDE_PROFILE,
    AgreementId,
    Attachment,
    Body,
    PersonIdentifiers,
    PersonRecord,
    RequestBase,
    RequestedFields,
    ShortText,
    Step,
    Text,
    WithAttachments,
    Withheld,
)
from migrex.casework.messages.persons import (
    AssistanceReply,
    AssistanceRequest,
    CitizenshipFinding,
    CitizenshipVerificationReply,
    CitizenshipVerificationRequest,
    ConsultationFinding,
    ConsultationOutcome,
    CoSignature,
    InquiryResult,
    LegalStatusConsultation,
    PersonInquiry,
    PersonInquiryReply,
    ViolationDetail,
    ViolationNotice,
    outcome_signing_input,
)
from migrex.casework.messages.steps import (
    ClarificationAnswer,
    ClarificationRequest,
    GroundCited,
    MessageProblem,
    Refusal,
    Withdrawal,
)

__all__ = [
    "BODY_MODELS", "MAX_ATTACHMENT_BYTES", "MAX_LIST", "MAX_PERSONS_PER_MESSAGE",
    "MESSAGE_TYPES", "NOT_HELD", "OUTSIDE_PROFILE", "SDMX_CSV", "AgreementId",
    "AssistanceReply", "AssistanceRequest", "Attachment", "Body", "CitizenshipFinding",
    "CitizenshipVerificationReply", "CitizenshipVerificationRequest", "ClarificationAnswer",
    "ClarificationRequest", "CoSignature", "ConsultationFinding", "ConsultationOutcome",
    "GroundCited", "InformationBody", "InquiryResult", "LegalInformation",
    "LegalStatusConsultation", "LinkageRunAcceptance", "LinkageRunProposal", "MessageBody",
    "MessageInvalid", "MessageProblem",
    "MethodologicalInformation", "OpeningBody", "PersonIdentifiers", "PersonInquiry",
    "PersonInquiryReply", "PersonRecord", "PersonalOpeningBody", "Refusal", "ReleaseHeader",
    "RequestBase", "RequestedFields", "ShortText", "StatisticalInformation", "Step", "Text",
    "ViolationDetail", "ViolationNotice", "WithAttachments", "Withdrawal", "Withheld",
    "check_refusal", "outcome_signing_input", "parse_body", "refusal_for",
]  # fmt: skip
