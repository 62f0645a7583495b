"""Agreement as code: each agreement is a versioned TOML file the node checks every send and
receive against. Other features use only what is exported here."""

from __future__ import annotations

from migrex.agreements.loader import (
    check_agreement_set,
    load_agreement,
    load_agreements,
    loads_agreement,
    parse_agreement,
)
from migrex.agreements.model import (
    KNOWN_CATEGORIES,
    LINKAGE_FIELDS,
    PERSON_FIELDS,
    SCREENING_BREACHES,
    Agreement,
    Authority,
    Category,
    DataProfile,
    DataProtection,
    Linkage,
    Party,
    Purpose,
    ReferenceFigure,
    RefusalGround,
    Urgency,
    VolumeLimits,
    agreements_of,
)

__all__ = [
    "KNOWN_CATEGORIES",
    "LINKAGE_FIELDS",
    "PERSON_FIELDS",
    "SCREENING_BREACHES",
    "Agreement",
    "Authority",
    "Category",
    "DataProfile",
    "DataProtection",
    "Linkage",
    "Party",
    "Purpose",
    "ReferenceFigure",
    "RefusalGround",
    "Urgency",
    "VolumeLimits",
    "agreements_of",
    "check_agreement_set",
    "load_agreement",
    "load_agreements",
    "loads_agreement",
    "parse_agreement",
]
