"""Information one party sends the other unasked: statistical, legal and methodological.
It carries no personal data (the registry says so: `casework.kinds`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from migrex.casework.messages.parts import (
    MAX_LIST,
    AgreementId,
    Body,
    ShortText,
    Text,
    WithAttachments,
)


class _Information(WithAttachments):
    """Information one party sends the other unasked; it carries no personal data."""

    subject: ShortText
    summary: Text | None = None
    purpose: AgreementId | None = None


# The media type of an SDMX-CSV 2.0 data message (parameters are not carried here).
SDMX_CSV = "application/vnd.sdmx.data+csv"


class ReleaseHeader(Body):
    """Which release of which agreement dataset the SDMX-CSV attachment holds."""

    dataset: AgreementId
    period: int = Field(ge=1900, le=2200)
    version: int = Field(ge=1)
    prepared_at: datetime
    rounding_base: int | None = Field(default=None, ge=2)


class StatisticalInformation(_Information):
    type: Literal["statistical-information"] = "statistical-information"
    reference_period: ShortText | None = None
    figures: dict[ShortText, int | float] = Field(default_factory=dict, max_length=10_000)
    change_percent: float | None = None
    release: ReleaseHeader | None = None

    @model_validator(mode="after")
    def _one_data_file(self) -> Self:
        data = [a for a in self.attachments if a.media_type == SDMX_CSV]
        if self.release is not None and len(data) != 1:
            raise ValueError("a release carries exactly one SDMX-CSV attachment")
        return self


class LegalInformation(_Information):
    type: Literal["legal-information"] = "legal-information"
    references: list[ShortText] = Field(default_factory=list, max_length=MAX_LIST)


class MethodologicalInformation(_Information):
    type: Literal["methodological-information"] = "methodological-information"
