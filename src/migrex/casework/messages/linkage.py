"""A record-linkage run between the two citizens' registers, proposed and accepted as casework.

A proposal names the run, the purpose, the fields to encode, the period, the encoding's
hardening and threshold, who receives the candidate pairs, and which two X25519 keys the run's
key is derived from (by kid: the key itself never travels, see `migrex.linkage.run_keys`). It
names no person and carries no register data: the registry marks both kinds not personal.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from migrex.casework.messages.parts import MAX_LIST, AgreementId, Body, ShortText

RunId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
# A JWK thumbprint (RFC 7638, base64url SHA-256) names each key.
KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
# Only a name: whether the agreement lets a run use the field is screening's question, so a
# proposal on a field the agreement leaves out is refused on the agreement's ground rather
# than dropped as malformed.
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Parameter = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


def _distinct(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError("a name is listed twice")
    return names


class LinkageRunProposal(Body):
    type: Literal["linkage-run-proposal"] = "linkage-run-proposal"
    run_id: RunId
    purpose: AgreementId
    legal_basis: ShortText | None = None
    fields: Annotated[list[FieldName], Field(min_length=1, max_length=20),
                      AfterValidator(_distinct)]  # fmt: skip
    # The records compared: the citizens' registers as they stood over these days.
    period_start: date
    period_end: date
    # The encoder and its hardening, by version label, with the parameters it takes.
    hardening_version: ShortText
    hardening: dict[Parameter, int | float | str] = Field(default_factory=dict, max_length=20)
    threshold: float = Field(gt=0, le=1)
    candidates_to: Annotated[list[AgreementId], Field(min_length=1, max_length=MAX_LIST),
                             AfterValidator(_distinct)]  # fmt: skip
    unit: AgreementId | None = None
    # Authority id -> kid of its X25519 key the run's key is derived from: the proposer's and
    # the partner's current keys when the run was proposed.
    key_ids: dict[AgreementId, KeyId] = Field(min_length=2, max_length=2)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("the period ends before it starts")
        return self


class LinkageRunAcceptance(Body):
    """The requested party accepts the run as proposed; it then derives the same key."""

    type: Literal["linkage-run-acceptance"] = "linkage-run-acceptance"
    run_id: RunId
    remarks: ShortText | None = None
