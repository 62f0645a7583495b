"""Volume limits: how many persons requests and notices named, per agreement, partner state,
direction and period (Article 11's data minimisation, the agreement's `[data_protection.volume]`).

The ledger keeps a running tally per day (`ledger_volume_day`), written in the same transaction
as the ledger rows it counts (`tally`). A count over a period adds up the days that lie wholly
inside it and reads the ledger's own rows only for the part of its first day that does: the
same figure as counting every disclosure of the period, at a cost that does not grow with how
many there were. Filing counts at every round, so a count that read the whole period would
make each round slower than the last.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Insert, Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from migrex.agreements import Agreement
from migrex.db import in_list
from migrex.ledger.tables import DisclosureRow, VolumeDayRow

# The messages that open a case about persons: their persons count against volume limits.
OPENING_TYPES = frozenset(
    {
        "person-inquiry",
        "violation-notice",
        "legal-status-consultation",
        "assistance-request",
        "citizenship-verification-request",
    }
)
COUNTED_DIRECTIONS = frozenset({"sent", "received"})

DayKey = tuple[str, str, str, str]  # agreement, direction, partner authority, day


def day_of(at: datetime) -> str:
    """The UTC day an instant falls on, as the tally names it."""
    return at.astimezone(UTC).date().isoformat()


def persons_per_day(rows: Iterable[Mapping[str, Any]]) -> dict[DayKey, int]:
    """What ledger rows add to the tally: per agreement, direction, partner authority and day,
    the persons that opening messages named, a person named under two identifiers (two rows
    with one place in one message) once. Reads and other kinds of message count for nothing."""
    persons: dict[DayKey, set[tuple[str | None, int]]] = defaultdict(set)
    for row in rows:
        if row["direction"] in COUNTED_DIRECTIONS and row["message_type"] in OPENING_TYPES:
            key = (row["agreement_id"], row["direction"], row["partner_authority"],
                   day_of(row["at"]))  # fmt: skip
            persons[key].add((row["message_id"], row["person"]))
    return {key: len(named) for key, named in persons.items()}


def tally(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Adds `rows`, just written to the ledger in this transaction, to the tally."""
    counts = persons_per_day(rows)
    if not counts:
        return
    # In one order whoever writes: on PostgreSQL each day's row stays locked until commit, and
    # two transactions taking two rows in opposite orders would wait for each other.
    values = [
        {"agreement_id": a, "direction": d, "partner_authority": p, "day": day, "persons": n}
        for (a, d, p, day), n in sorted(counts.items())
    ]
    session.execute(_add_statement(session.get_bind().dialect.name), values)


@functools.cache
def _add_statement(dialect: str) -> Insert:
    table: Table = VolumeDayRow.__table__  # type: ignore[assignment]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=["agreement_id", "direction", "partner_authority", "day"],
        set_={"persons": table.c.persons + insert.excluded.persons},
    )


def persons_in_period(
    session: Session, agreement: Agreement, *, direction: str, partner_state: str, now: datetime
) -> int:
    """Persons named in requests and notices that went `direction` ("sent" or "received")
    between this node and `partner_state` within the agreement's volume period up to `now`."""
    since = now - agreement.data_protection.volume.period
    partners = [a.id for a in agreement.authorities_of(partner_state)]
    return _count(session, agreement.id, direction, partners, since)


class VolumeCount:
    """Persons that went `direction` per agreement and partner state within the volume period
    up to `now`, counted once each (`persons_in_period`) and then kept running by the caller
    (`add`) as it records more in the same transaction: a filing round checks the limits of
    a hundred openings with one count per partner instead of one each."""

    def __init__(self, session: Session, *, direction: str, now: datetime) -> None:
        self._session, self._direction, self._now = session, direction, now
        self._persons: dict[tuple[str, str], int] = {}

    def persons(self, agreement: Agreement, partner_state: str) -> int:
        key = (agreement.id, partner_state)
        if key not in self._persons:
            self._persons[key] = persons_in_period(
                self._session, agreement, direction=self._direction,
                partner_state=partner_state, now=self._now,
            )  # fmt: skip
        return self._persons[key]

    def add(self, agreement_id: str, partner_state: str, persons: int) -> int:
        """Counts `persons` more (fewer, when negative: what a rolled-back step had added);
        returns how many it counted. A pair not counted yet is left alone (0): its first
        count will find them in the ledger."""
        key = (agreement_id, partner_state)
        if key not in self._persons:
            return 0
        self._persons[key] += persons
        return persons


def _count(
    session: Session, agreement_id: str, direction: str, partners: Sequence[str], since: datetime
) -> int:
    """Persons after `since`: the tally of the days after the one `since` falls on, and the
    ledger's rows of that day's rest."""
    first_whole: date = since.astimezone(UTC).date() + timedelta(days=1)
    values = {"agreement_id": agreement_id, "direction": direction, "partners": list(partners),
              "since": since, "until": datetime.combine(first_whole, time(), UTC),
              "day": first_whole.isoformat()}  # fmt: skip
    dialect = session.get_bind().dialect.name
    whole_days = session.scalar(_days_statement(dialect), values) or 0
    first_day = session.scalar(_rest_of_day_statement(dialect), values) or 0
    return int(whole_days) + int(first_day)


# Built once: building a statement costs more than running it, and filing counts at every round.
@functools.cache
def _days_statement(dialect: str) -> Select[Any]:
    return select(func.sum(VolumeDayRow.persons)).where(
        VolumeDayRow.agreement_id == bindparam("agreement_id"),
        VolumeDayRow.direction == bindparam("direction"),
        in_list(VolumeDayRow.partner_authority.expression, "partners", dialect),
        VolumeDayRow.day >= bindparam("day"),
    )


@functools.cache
def _rest_of_day_statement(dialect: str) -> Select[int]:
    # A person named under two identifiers in one message is one person.
    per_message = (
        select(DisclosureRow.message_id, DisclosureRow.person)
        .distinct()
        .where(
            DisclosureRow.agreement_id == bindparam("agreement_id"),
            DisclosureRow.direction == bindparam("direction"),
            in_list(DisclosureRow.partner_authority.expression, "partners", dialect),
            DisclosureRow.message_type.in_(OPENING_TYPES),
            DisclosureRow.at > bindparam("since", type_=DisclosureRow.at.type),
            DisclosureRow.at < bindparam("until", type_=DisclosureRow.at.type),
        )
        .subquery()
    )
    return select(func.count()).select_from(per_message)


@dataclass(frozen=True)
class LimitUse:
    agreement_id: str
    partner_state: str
    direction: str
    persons: int
    limit: int
    period: timedelta

    @property
    def share(self) -> float:
        return self.persons / self.limit


def authority_limits(
    session: Session, agreements: Mapping[str, Agreement], authority: str, now: datetime
) -> list[LimitUse]:
    """`limits_report` for the agreements `authority` takes part in, from its state's side."""
    mine = {k: a for k, a in agreements.items() if authority in a.authorities}
    state = next(iter(mine.values())).authority(authority).state if mine else ""
    return limits_report(session, mine, state, now)


def limits_report(
    session: Session, agreements: Mapping[str, Agreement], own_state: str, now: datetime
) -> list[LimitUse]:
    """For each agreement and partner state: persons requested each way in the current period."""
    uses = []
    for agreement in agreements.values():
        limits = agreement.data_protection.volume
        for partner in sorted(agreement.partner_states(own_state)):
            for direction in ("sent", "received"):
                persons = persons_in_period(
                    session, agreement, direction=direction, partner_state=partner, now=now
                )
                uses.append(
                    LimitUse(
                        agreement.id,
                        partner,
                        direction,
                        persons,
                        limits.max_persons_per_period,
                        limits.period,
                    )
                )
    return uses
