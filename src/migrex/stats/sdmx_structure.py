"""The SDMX structures a release travels under: concepts, codelists, a DSD and a dataflow.

One dataflow per dataset of the agreement (agency MIGREX, `DF_<DATASET_ID>`), structured by
`DSD_<DATASET_ID>`. Its key is FREQ, REF_AREA (the host state), CITIZENSHIP when the dataset
counts citizens of one state only, the dataset's breakdowns in order, then TIME_PERIOD. The
measure OBS_VALUE is a count; CONF_STATUS says per observation why a value is missing.
UNIT_MEASURE belongs to the whole data set, but sdmx1 2.28 cannot read a dataflow-level
attribute relationship in SDMX-ML 3.0, so it is attached to every observation instead, which
every reader understands.

Everything here depends on the dataset, never on the period or version of a release, so every
release of a dataset has the same structures and a receiver validates them once. The
cross-domain lists (agency SDMX) are sent as partial codelists: they hold only the codes the
agreement uses, which is what the SDMX `isPartial` flag says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Protocol

from pysdmx.io import write_sdmx
from pysdmx.io.format import Format
from pysdmx.model import (
    Code,
    Codelist,
    Component,
    Components,
    Concept,
    ConceptScheme,
    Dataflow,
    DataStructureDefinition,
    DataType,
    ItemReference,
    Organisation,
    Role,
    Schema,
)
from pysdmx.model.message import Header

from migrex.agreements import codelists as lists
from migrex.stats.release import ReleaseDimension, ReleaseInvalid

AGENCY = lists.AGENCY
VERSION = "1.0"
CONCEPT_SCHEME = "CS_MIGREX"

FREQ = "FREQ"
REF_AREA = "REF_AREA"
CITIZENSHIP = "CITIZENSHIP"
TIME_PERIOD = "TIME_PERIOD"
OBS_VALUE = "OBS_VALUE"
CONF_STATUS = "CONF_STATUS"
UNIT_MEASURE = "UNIT_MEASURE"
ANNUAL = "A"

# Concepts outside the breakdowns of `codelists.DIMENSIONS`.
_FIXED_CONCEPTS = {
    FREQ: "Frequency",
    REF_AREA: "Reference area",
    CITIZENSHIP: "Citizenship",
    TIME_PERIOD: "Time period",
    OBS_VALUE: "Observation value",
    CONF_STATUS: "Confidentiality status",
    UNIT_MEASURE: "Unit of measure",
}


class ReleaseShape(Protocol):
    """What the structures depend on; both a `Release` and a `ReleaseTemplate` have it."""

    @property
    def dataset_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def host_state(self) -> str: ...
    @property
    def citizenship(self) -> str | None: ...
    @property
    def unit(self) -> str: ...
    @property
    def dimensions(self) -> tuple[ReleaseDimension, ...]: ...
    @property
    def producer(self) -> str: ...
    @property
    def prepared_at(self) -> datetime: ...


@dataclass(frozen=True)
class KeyPart:
    """One dimension of the SDMX key; `fixed` is its only code when the dataset is not broken
    down by it (FREQ, REF_AREA, a citizenship filter), None for a breakdown."""

    id: str
    codelist: str
    fixed: str | None


@dataclass(frozen=True)
class Structures:
    """The SDMX artefacts of one dataset, and how its key is laid out."""

    dataflow: Dataflow
    dsd: DataStructureDefinition
    concepts: ConceptScheme
    codelists: tuple[Codelist, ...]
    key: tuple[KeyPart, ...]

    @property
    def dataflow_ref(self) -> str:
        """The dataflow as SDMX-CSV names it in STRUCTURE_ID: `MIGREX:DF_X(1.0)`."""
        return f"{AGENCY}:{self.dataflow.id}({VERSION})"

    @property
    def breakdowns(self) -> tuple[KeyPart, ...]:
        return tuple(part for part in self.key if part.fixed is None)

    def schema(self) -> Schema:
        """The dataflow's components as pysdmx's writers need them."""
        return Schema(
            context="dataflow",
            agency=AGENCY,
            id=self.dataflow.id,
            version=VERSION,
            components=self.dsd.components,
            name=self.dataflow.name,
        )


def artefact_id(dataset_id: str) -> str:
    """`am-workers-in-kz` -> `AM_WORKERS_IN_KZ`: SDMX ids allow no lower-case convention."""
    return re.sub(r"[^A-Za-z0-9_]", "_", dataset_id).upper()


def dataflow_id(dataset_id: str) -> str:
    return f"DF_{artefact_id(dataset_id)}"


def key_layout(shape: ReleaseShape) -> tuple[KeyPart, ...]:
    """The key dimensions in order (TIME_PERIOD excluded: it is the release's period)."""
    parts = [KeyPart(FREQ, "CL_FREQ", ANNUAL), KeyPart(REF_AREA, "CL_AREA", shape.host_state)]
    breakdown_ids = {dimension.id for dimension in shape.dimensions}
    if shape.citizenship is not None and "citizenship" not in breakdown_ids:
        parts.append(KeyPart(CITIZENSHIP, "CL_AREA", shape.citizenship))
    for dimension in shape.dimensions:
        kind = lists.DIMENSIONS.get(dimension.id)
        if kind is None:
            raise ReleaseInvalid(f"dimension {dimension.id!r} has no SDMX concept")
        parts.append(KeyPart(kind.concept, dimension.codelist, None))
    return tuple(parts)


@cache
def sdmx_codelist(codelist_id: str) -> Codelist:
    """A codelist of `codelists.py` as a pysdmx artefact (built once: CL_AREA is large)."""
    source = lists.codelists()[codelist_id]
    return Codelist(
        id=source.id,
        agency=source.agency,
        name=source.name,
        version=VERSION,
        items=tuple(Code(id=code.id, name=code.name) for code in source.codes),
        is_partial=source.agency != AGENCY,
    )


@cache
def concept_scheme() -> ConceptScheme:
    """Every concept migrex uses, in one scheme shared by all dataflows."""
    names = dict(_FIXED_CONCEPTS)
    for kind in lists.DIMENSIONS.values():
        names.setdefault(kind.concept, kind.name)
    return ConceptScheme(
        id=CONCEPT_SCHEME,
        agency=AGENCY,
        name="Concepts of migration statistics exchanged under migrex agreements",
        version=VERSION,
        items=tuple(
            Concept(id=concept, name=name, urn=_concept_urn(concept))
            for concept, name in names.items()
        ),
    )


def _concept_urn(concept: str) -> str:
    return (
        "urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept="
        f"{AGENCY}:{CONCEPT_SCHEME}({VERSION}).{concept}"
    )


def _concept(concept: str) -> ItemReference:
    return ItemReference(
        sdmx_type="Concept", agency=AGENCY, id=CONCEPT_SCHEME, version=VERSION, item_id=concept
    )


def build_structures(shape: ReleaseShape) -> Structures:
    """The dataflow, DSD, concepts and codelists of the dataset `shape` belongs to."""
    key = key_layout(shape)
    components: list[Component] = [
        Component(
            id=part.id,
            required=True,
            role=Role.DIMENSION,
            concept=_concept(part.id),
            local_codes=sdmx_codelist(part.codelist),
        )
        for part in key
    ]
    components += [
        Component(
            id=TIME_PERIOD,
            required=True,
            role=Role.DIMENSION,
            concept=_concept(TIME_PERIOD),
            local_dtype=DataType.PERIOD,
        ),
        # Optional: a suppressed observation has no value, only its CONF_STATUS. Long (64 bits)
        # rather than Integer (32), so that no count a release can hold fails to be written.
        Component(
            id=OBS_VALUE,
            required=False,
            role=Role.MEASURE,
            concept=_concept(OBS_VALUE),
            local_dtype=DataType.LONG,
        ),
        Component(
            id=CONF_STATUS,
            required=True,
            role=Role.ATTRIBUTE,
            concept=_concept(CONF_STATUS),
            local_codes=sdmx_codelist("CL_CONF_STATUS"),
            attachment_level="O",
        ),
        Component(
            id=UNIT_MEASURE,
            required=True,
            role=Role.ATTRIBUTE,
            concept=_concept(UNIT_MEASURE),
            local_codes=sdmx_codelist("CL_UNIT_MEASURE"),
            attachment_level="O",
        ),
    ]
    ident = artefact_id(shape.dataset_id)
    dsd = DataStructureDefinition(
        id=f"DSD_{ident}",
        agency=AGENCY,
        name=shape.title,
        version=VERSION,
        components=Components(components),
    )
    dataflow = Dataflow(
        id=f"DF_{ident}", agency=AGENCY, name=shape.title, version=VERSION, structure=dsd
    )
    used = dict.fromkeys([part.codelist for part in key] + ["CL_CONF_STATUS", "CL_UNIT_MEASURE"])
    return Structures(
        dataflow=dataflow,
        dsd=dsd,
        concepts=concept_scheme(),
        codelists=tuple(sdmx_codelist(codelist_id) for codelist_id in used),
        key=key,
    )


def message_header(message_id: str, sender: str, prepared: datetime) -> Header:
    """A fixed header, so that the same release always gives the same bytes."""
    return Header(id=message_id, prepared=prepared, sender=Organisation(id=sender))


# pysdmx always writes a MeasureRelationship for an observation-level attribute; the element is
# optional and, with one measure, says what its absence says ("applies to all measures"), while
# sdmx1 (2.28) cannot read it. Dropping it lets both implementations read the message.
_MEASURE_RELATIONSHIP = re.compile(
    r"\s*<str:MeasureRelationship>\s*(?:<str:Measure>[^<]*</str:Measure>\s*)*"
    r"</str:MeasureRelationship>"
)


def structures_to_sdmx_ml(shape: ReleaseShape) -> str:
    """An SDMX-ML 3.0 structure message with the dataflow, DSD, concepts and codelists, sent
    by the release's producer."""
    structures = build_structures(shape)
    written = write_sdmx(
        [structures.dataflow, structures.dsd, structures.concepts, *structures.codelists],
        Format.STRUCTURE_SDMX_ML_3_0,
        header=message_header(
            f"{structures.dataflow.id}_STRUCTURES", shape.producer, shape.prepared_at
        ),
    )
    return _MEASURE_RELATIONSHIP.sub("", written_text(written))


def written_text(text: str | None) -> str:
    """pysdmx's writers return the message unless given a path, which migrex never gives."""
    if text is None:
        raise RuntimeError("pysdmx wrote the message to a file instead of returning it")
    return text
