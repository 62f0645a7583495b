"""Volume limits count from a per-day tally: whatever the ledger holds and whenever the period
starts, the count is what counting every disclosure of the period gives (SQLite and
PostgreSQL); the tally of a ledger written before it existed is built by the migration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from backup_steps import fresh_database
from migrex import migrate
from migrex.db import make_engine, make_session_factory
from migrex.ledger.service import insert_many, insert_rows
from migrex.ledger.tables import DisclosureRow, VolumeDayRow
from migrex.ledger.volume import OPENING_TYPES, _count, persons_per_day
from migrex.uow import SqlUnitOfWork

START = datetime(2026, 10, 1, tzinfo=UTC)
BEFORE_TALLY = "c4e1a7d2b9f0"  # the revision before the tally
PARTNERS = ("am-mcs", "am-police", "kg-mia")
TYPES = ("person-inquiry", "violation-notice", "person-inquiry-answer")

# A message: when (minutes after START, over about three weeks), which way, to whom, of what
# kind, and its persons, each named under one or two identifiers.
messages_drawn = st.lists(
    st.tuples(
        st.integers(0, 30_000) | st.sampled_from((1_440, 2_880)),  # some at midnight
        st.sampled_from(("sent", "received", "read")),
        st.sampled_from(PARTNERS),
        st.sampled_from(TYPES),
        st.lists(st.integers(1, 2), min_size=1, max_size=3),
    ),
    max_size=25,
)


def ledger_rows(drawn: Sequence[tuple[int, str, str, str, list[int]]]) -> list[dict[str, Any]]:
    return [
        {"at": START + timedelta(minutes=minute), "direction": direction,
         "subject_hash": f"{n:02d}{place}{identifier}".ljust(64, "0"), "agreement_id": "kz-am-2024",
         "our_authority": "kz-mia", "partner_authority": partner, "message_id": f"m{n}",
         "message_type": kind, "case_id": None, "purpose": None, "legal_basis": None,
         "fields": "", "actor": "test", "person": place}
        for n, (minute, direction, partner, kind, persons) in enumerate(drawn)
        for place, identifiers in enumerate(persons)
        for identifier in range(identifiers)
    ]  # fmt: skip


def counted_by_hand(rows: Sequence[dict[str, Any]], direction: str, partners: Sequence[str],
                    since: datetime) -> int:  # fmt: skip
    return len({
        (r["message_id"], r["person"]) for r in rows
        if r["direction"] == direction and r["partner_authority"] in partners
        and r["message_type"] in OPENING_TYPES and r["at"] > since
    })  # fmt: skip


FIXTURE = [HealthCheck.function_scoped_fixture]  # one database; each example empties it first
STARTS = st.lists(st.integers(-1_500, 32_000) | st.sampled_from((0, 1_440, 2_880)), min_size=1,
                  max_size=6)  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURE)
@given(drawn=messages_drawn, cut=st.integers(1, 5), starts=STARTS)
def test_the_count_over_any_period_is_the_ledgers(
    engine: Engine, drawn: list[Any], cut: int, starts: list[int]
) -> None:
    factory = make_session_factory(engine)
    with SqlUnitOfWork(factory) as uow:
        uow.session.execute(delete(DisclosureRow))
        uow.session.execute(delete(VolumeDayRow))
        uow.commit()
    rows = ledger_rows(drawn)
    # Written as the node writes them: a message's rows at once, by either path, in rounds.
    for number in range(cut):
        with SqlUnitOfWork(factory) as uow:
            write = insert_many if number % 2 else insert_rows
            write(uow.session, [r for r in rows if int(r["message_id"][1:]) % cut == number])
            uow.commit()
    with SqlUnitOfWork(factory) as uow:
        # Starts on a message's minute and on midnight (both excluded), and just after.
        for since in [START + timedelta(minutes=m, seconds=s) for m in starts for s in (0, 0.5)]:
            for direction in ("sent", "received"):
                for partners in (PARTNERS[:2], PARTNERS[2:]):
                    counted = _count(uow.session, "kz-am-2024", direction, partners, since)
                    assert counted == counted_by_hand(rows, direction, partners, since)


def test_a_person_under_two_identifiers_counts_once_and_reads_not_at_all() -> None:
    rows = ledger_rows([(0, "received", "am-mcs", "person-inquiry", [2, 1]),
                        (1, "read", "am-mcs", "person-inquiry", [1]),
                        (2, "received", "am-mcs", "person-inquiry-answer", [1])])  # fmt: skip
    assert persons_per_day(rows) == {("kz-am-2024", "received", "am-mcs", "2026-10-01"): 2}


def test_the_migration_tallies_what_the_ledger_held(database_url: str, tmp_path: Path) -> None:
    with fresh_database(database_url, tmp_path) as url:
        engine = make_engine(url)
        try:
            # A ledger written before the tally existed.
            migrate.upgrade(engine, BEFORE_TALLY)
            rows = ledger_rows([(10, "received", "am-mcs", "person-inquiry", [2, 1]),
                                (1_500, "received", "am-mcs", "violation-notice", [1]),
                                (1_501, "sent", "am-police", "person-inquiry", [1, 1, 2]),
                                (1_502, "read", "am-police", "person-inquiry", [1])])  # fmt: skip
            with engine.begin() as connection:
                assert not sa.inspect(connection).has_table("ledger_volume_day")
                connection.execute(insert(DisclosureRow), rows)
            migrate.upgrade(engine)
            with engine.connect() as connection:
                columns = (VolumeDayRow.agreement_id, VolumeDayRow.direction,
                           VolumeDayRow.partner_authority, VolumeDayRow.day)  # fmt: skip
                found = connection.execute(select(*columns, VolumeDayRow.persons))
                tally = {tuple(r[:4]): r[4] for r in found}
        finally:
            engine.dispose()
    assert (
        tally
        == persons_per_day(rows)
        == {
            ("kz-am-2024", "received", "am-mcs", "2026-10-01"): 2,
            ("kz-am-2024", "received", "am-mcs", "2026-10-02"): 1,
            ("kz-am-2024", "sent", "am-police", "2026-10-02"): 3,
        }
    )
