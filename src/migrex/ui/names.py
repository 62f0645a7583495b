"""How the console names what the agreements define: an authority in the officer's language
where the agreement file gives that name, else in the authority's own language (marked, so a
screen reader reads it in that language)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migrex.agreements import Agreement


@dataclass(frozen=True)
class Name:
    text: str
    lang: str


def authority_name(agreements: Mapping[str, Agreement], authority: str, locale: str) -> Name:
    for agreement in agreements.values():
        if (found := agreement.authorities.get(authority)) is not None:
            if locale in found.names:
                return Name(found.names[locale], locale)
            return Name(found.name_original, found.original_language)
    return Name(authority, "en")


def partners(agreements: Mapping[str, Agreement], hosted: Sequence[str]) -> list[str]:
    """Every authority of the node's agreements that the node does not host."""
    return sorted({a for ag in agreements.values() for a in ag.authorities if a not in hosted})


def categories(agreements: Mapping[str, Agreement]) -> dict[str, str]:
    """Category id → its title as the agreement file gives it (in English)."""
    return {c.id: c.title for ag in agreements.values() for c in ag.categories.values()}
