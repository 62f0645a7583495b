"""What one of our authorities may open with one partner under one agreement: the categories
the agreement lets it send there, the message type that opens each, the purposes that cover
it, and the fields each purpose's data profile lets it ask for.

Pure: read from the agreement and the message kinds, so a form built from it offers nothing
the outgoing gate would refuse for the category alone (screening still judges the rest).
"""

from __future__ import annotations

from dataclasses import dataclass

from migrex.agreements import Agreement, Category, Purpose
from migrex.casework.kinds import KINDS


@dataclass(frozen=True)
class Opening:
    """A category `sender` may send to `recipient`, and the message type that opens it."""

    category: Category
    type: str
    purposes: tuple[Purpose, ...]


def opening_type(category: str) -> str | None:
    """The message type that opens a case of `category` (None for a category with none)."""
    return next(
        (k.type for k in KINDS.values() if k.opens_case and k.offered and k.category == category),
        None,
    )


def openings(agreement: Agreement, sender: str, recipient: str) -> list[Opening]:
    """Every category `agreement` lets `sender` send to `recipient`, in the file's order, with
    the purposes that cover it (empty when `recipient` is no partner of `sender`)."""
    found = []
    for category in agreement.categories.values():
        type_ = opening_type(category.id)
        if type_ is None or not agreement.may_send(category.id, sender, recipient):
            continue
        purposes = tuple(p for p in agreement.purposes.values() if category.id in p.categories)
        found.append(Opening(category, type_, purposes))
    return found


def partners_of(agreement: Agreement, sender: str) -> list[str]:
    """The authorities `sender` may send anything to under `agreement`, in the file's order."""
    return [a for a in agreement.authorities
            if any(agreement.may_send(c, sender, a) for c in agreement.categories)]  # fmt: skip


def askable_fields(agreement: Agreement, purpose: str) -> list[str]:
    """The person fields a request for `purpose` may ask for: its profile's, sorted."""
    return sorted(agreement.fields_allowed(purpose))
