"""The shape of an agreement TOML file, and its conversion into the model.

Strict and closed: an unknown key is an error rather than ignored, because a misspelt
`retention` that silently fell back to a default would change what the node discloses.
Dates must be TOML dates and numbers TOML numbers, never strings that happen to look right.
References between sections are checked afterwards (see `crossrefs`), where every problem can
be reported at once with its key path.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import MappingProxyType
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from migrex.agreements import model

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Weeks, days, hours, minutes, seconds only: months and years have no fixed length.
_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise PydanticCustomError(
            "agreement_id", "must be lower-case letters and digits joined by single hyphens"
        )
    return value


def parse_duration(value: object) -> timedelta:
    """An ISO 8601 duration such as "P30D" or "PT48H", which must be longer than zero."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or value == "P":
        raise PydanticCustomError(
            "agreement_duration", "expected an ISO 8601 duration such as P30D or PT48H"
        )
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if span <= timedelta(0):
        raise PydanticCustomError("agreement_duration", "must be longer than zero")
    return span


Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str, Field(min_length=1)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Positive = Annotated[int, Field(gt=0)]
_V = TypeVar("_V")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SignedSchema(_Section):
    on: date
    at: Text


class ValiditySchema(_Section):
    from_: date = Field(alias="from")
    until: date | None = None


class PartySchema(_Section):
    state: str
    name: Text


class RatificationSchema(_Section):
    state: str
    body: Text
    on: date


class AuthoritySchema(_Section):
    id: Id
    state: str
    role: Text
    original_language: str
    names: dict[str, Text]


class CategorySchema(_Section):
    title: Text
    description: Text
    personal_data: bool
    senders: list[Id] = Field(min_length=1)
    receivers: list[Id] = Field(min_length=1)


class PurposeSchema(_Section):
    description: Text
    categories: list[Id] = Field(min_length=1)
    article: Text
    profile: Id | None = None
    hit_no_hit_first: bool = False


class ProfileSchema(_Section):
    description: Text
    fields: list[str] = Field(min_length=1)


class RefusalGroundSchema(_Section):
    description: Text
    article: Text


class VolumeSchema(_Section):
    max_persons_per_request: Positive
    max_persons_per_period: Positive
    period: Duration


class ResponsibleSchema(_Section):
    state: str
    name: Text
    authorities: list[Id] = Field(min_length=1)


class DataProtectionSchema(_Section):
    article: Text
    protected_channel_required: bool
    requested_party_may_verify: bool
    onward_transfer_allowed: bool
    retention: Duration
    volume: VolumeSchema
    responsible: list[ResponsibleSchema] = Field(min_length=1)
    # Which decisions a second officer, not the one who drafted them, must approve before
    # they leave: "disclosure" (an answer carrying personal data) and "refusal".
    second_officer: list[Literal["disclosure", "refusal"]] = Field(default_factory=list)


class DeadlineSchema(_Section):
    normal: Duration
    urgent: Duration


class DatasetSchema(_Section):
    title: Text
    population: str
    producer: Id
    host_state: str
    citizenship: str | None = None
    # Breakdown id -> codelist id, in publication order.
    dimensions: dict[str, str] = Field(min_length=1)
    tables: list[list[str]] = Field(min_length=1)


class StatisticsSchema(_Section):
    disclosure_threshold: Positive
    # How far every blank's feasible range must reach on each side of its true count, for an
    # attacker who knows everything published (default: the disclosure threshold).
    protection_interval: Positive | None = None
    rounding_base: Annotated[int, Field(ge=2)] | None = None
    datasets: dict[Id, DatasetSchema] = {}


class ExchangeSchema(_Section):
    max_envelope_bytes: Positive
    message_lifetime: Duration


class ReferenceFigureSchema(_Section):
    id: Id
    description: Text
    citizenship: str
    host_state: str
    year: Annotated[int, Field(ge=1900, le=2200)]
    value: Annotated[int, Field(ge=0)]
    reported_on: date


class LinkageSchema(_Section):
    purpose: Id
    fields: list[str] = Field(min_length=1)
    threshold: Annotated[float, Field(gt=0, le=1)]
    candidates_to: list[Id] = Field(min_length=1)
    unit: Id | None = None
    hardening: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ProvenanceSchema(_Section):
    source: Text
    configuration: list[str] = []


class AgreementSchema(_Section):
    id: Id
    version: Text
    title: Text
    hypothetical: bool = False
    signed: SignedSchema
    validity: ValiditySchema
    parties: list[PartySchema] = Field(min_length=2)
    ratifications: list[RatificationSchema] = []
    authorities: list[AuthoritySchema] = Field(min_length=2)
    categories: dict[Id, CategorySchema] = Field(min_length=1)
    purposes: dict[Id, PurposeSchema] = Field(min_length=1)
    profiles: dict[Id, ProfileSchema] = {}
    refusal_grounds: dict[Id, RefusalGroundSchema] = Field(min_length=1)
    screening: dict[str, Id]
    data_protection: DataProtectionSchema
    deadlines: dict[Id, DeadlineSchema]
    statistics: StatisticsSchema
    exchange: ExchangeSchema
    reference_figures: list[ReferenceFigureSchema] = []
    linkage: LinkageSchema | None = None
    provenance: ProvenanceSchema

    def to_agreement(self) -> model.Agreement:
        """The model object; call only once `crossrefs.check` found nothing wrong."""
        dp = self.data_protection
        return model.Agreement(
            id=self.id,
            version=self.version,
            title=self.title,
            hypothetical=self.hypothetical,
            parties=tuple(model.Party(p.state, p.name) for p in self.parties),
            signed_on=self.signed.on,
            signed_at=self.signed.at,
            ratifications=tuple(
                model.Ratification(r.state, r.body, r.on) for r in self.ratifications
            ),
            valid_from=self.validity.from_,
            valid_until=self.validity.until,
            authorities=_frozen(
                {
                    a.id: model.Authority(
                        a.id, a.state, a.role, a.original_language, MappingProxyType(dict(a.names))
                    )
                    for a in self.authorities
                }
            ),
            categories=_frozen(
                {
                    key: model.Category(
                        key,
                        c.title,
                        c.description,
                        c.personal_data,
                        frozenset(c.senders),
                        frozenset(c.receivers),
                    )
                    for key, c in self.categories.items()
                }
            ),
            purposes=_frozen(
                {
                    key: model.Purpose(
                        key,
                        p.description,
                        frozenset(p.categories),
                        p.article,
                        p.profile,
                        p.hit_no_hit_first,
                    )
                    for key, p in self.purposes.items()
                }
            ),
            profiles=_frozen(
                {
                    key: model.DataProfile(key, p.description, frozenset(p.fields))
                    for key, p in self.profiles.items()
                }
            ),
            refusal_grounds=_frozen(
                {
                    key: model.RefusalGround(key, g.description, g.article)
                    for key, g in self.refusal_grounds.items()
                }
            ),
            screening=_frozen(dict(self.screening)),
            data_protection=model.DataProtection(
                article=dp.article,
                protected_channel_required=dp.protected_channel_required,
                requested_party_may_verify=dp.requested_party_may_verify,
                onward_transfer_allowed=dp.onward_transfer_allowed,
                retention=dp.retention,
                volume=model.VolumeLimits(
                    dp.volume.max_persons_per_request,
                    dp.volume.max_persons_per_period,
                    dp.volume.period,
                ),
                responsible=tuple(
                    model.ResponsibleBody(r.state, r.name, frozenset(r.authorities))
                    for r in dp.responsible
                ),
                second_officer=frozenset(dp.second_officer),
            ),
            deadlines=_frozen(
                {
                    key: MappingProxyType(
                        {model.Urgency.NORMAL: d.normal, model.Urgency.URGENT: d.urgent}
                    )
                    for key, d in self.deadlines.items()
                }
            ),
            disclosure_threshold=self.statistics.disclosure_threshold,
            protection_interval=(
                self.statistics.protection_interval or self.statistics.disclosure_threshold
            ),
            rounding_base=self.statistics.rounding_base,
            datasets=_frozen(
                {
                    key: model.Dataset(
                        key,
                        d.title,
                        d.population,
                        d.producer,
                        d.host_state,
                        d.citizenship,
                        tuple(model.DatasetDimension(k, v) for k, v in d.dimensions.items()),
                        tuple(tuple(table) for table in d.tables),
                    )
                    for key, d in self.statistics.datasets.items()
                }
            ),
            max_envelope_bytes=self.exchange.max_envelope_bytes,
            message_lifetime=self.exchange.message_lifetime,
            reference_figures=tuple(
                model.ReferenceFigure(
                    f.id, f.description, f.citizenship, f.host_state, f.year, f.value, f.reported_on
                )
                for f in self.reference_figures
            ),
            provenance=model.Provenance(
                self.provenance.source, tuple(self.provenance.configuration)
            ),
            linkage=None if self.linkage is None else model.Linkage(
                self.linkage.purpose,
                frozenset(self.linkage.fields),
                self.linkage.threshold,
                frozenset(self.linkage.candidates_to),
                self.linkage.unit,
                self.linkage.hardening,
            ),
        )  # fmt: skip


def _frozen(mapping: dict[str, _V]) -> MappingProxyType[str, _V]:
    return MappingProxyType(mapping)
