"""The diff of a refreshed register, without a database."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from factories import citizen, person_present
from migrex.registry.columns import Kind, column_names
from migrex.registry.refresh import KEYS_WITHHELD, Mode, compare, key_column, report


def table(kind: Kind, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as the importer reads them: text cells, empty cells missing."""
    return pa.table(
        {n: pa.array([r[n] or None for r in rows], pa.string()) for n in column_names(kind)}
    )


def keys(t: pa.Table, kind: Kind) -> pa.Array:
    return t.column(key_column(kind)).combine_chunks()


def test_added_changed_removed_and_the_columns_that_changed() -> None:
    stored = table(Kind.PERSONS_PRESENT, [person_present(n) for n in (1, 2, 3)])
    incoming = table(Kind.PERSONS_PRESENT, [
        person_present(3, patronymic=""), person_present(1), person_present(4),
    ])  # fmt: skip
    diff = compare(Kind.PERSONS_PRESENT, stored, incoming, Mode.SNAPSHOT)
    assert diff.counts() == {"added": 1, "changed": 1, "removed": 1, "unchanged": 1}
    assert (list(diff.added), list(diff.changed), list(diff.changed_stored)) == ([2], [0], [2])
    summary = report(diff, keys(incoming, Kind.PERSONS_PRESENT), keys(stored, Kind.PERSONS_PRESENT))
    assert summary["changed_keys"] == {"KZ-PP-0000003": ["patronymic"]}
    assert summary["changed_columns"] == {"patronymic": 1}
    assert (summary["added_keys"], summary["removed_keys"]) == (
        ["KZ-PP-0000004"],
        ["KZ-PP-0000002"],
    )
    # Upsert never removes what the file does not mention.
    assert compare(Kind.PERSONS_PRESENT, stored, incoming, Mode.UPSERT).counts()["removed"] == 0


def test_a_missing_cell_differs_from_a_present_one_and_two_missing_do_not() -> None:
    stored = table(Kind.PERSONS_PRESENT, [person_present(1, patronymic=""), person_present(2)])
    incoming = table(Kind.PERSONS_PRESENT, [person_present(1, patronymic=""),
                                            person_present(2, patronymic="")])  # fmt: skip
    diff = compare(Kind.PERSONS_PRESENT, stored, incoming, Mode.SNAPSHOT)
    assert (diff.unchanged, list(diff.changed)) == (1, [1])


def test_a_citizens_report_holds_counts_and_column_names_only() -> None:
    stored = table(Kind.CITIZENS, [citizen(1), citizen(2)])
    incoming = table(Kind.CITIZENS, [citizen(1, birth_place="Taraz"), citizen(3)])
    diff = compare(Kind.CITIZENS, stored, incoming, Mode.SNAPSHOT)
    summary = report(diff, keys(incoming, Kind.CITIZENS), keys(stored, Kind.CITIZENS))
    assert summary == {"registry": "citizens", "added": 1, "changed": 1, "removed": 1,
                       "unchanged": 0, "changed_columns": {"birth_place": 1},
                       "keys": KEYS_WITHHELD}  # fmt: skip


versions = st.dictionaries(
    st.integers(1, 12), st.sampled_from(["", "Ашотович", "Арамович"]), max_size=12
)


@given(before=versions, after=versions)
def test_applying_the_diff_to_the_stored_register_gives_the_file(
    before: dict[int, str], after: dict[int, str]
) -> None:
    stored_rows = [person_present(n, patronymic=p) for n, p in sorted(before.items())]
    incoming_rows = [person_present(n, patronymic=p) for n, p in sorted(after.items())]
    stored = table(Kind.PERSONS_PRESENT, stored_rows)
    incoming = table(Kind.PERSONS_PRESENT, incoming_rows)
    diff = compare(Kind.PERSONS_PRESENT, stored, incoming, Mode.SNAPSHOT)
    result = {r["record_id"]: r for r in stored.to_pylist()}
    for row in diff.removed:
        del result[stored_rows[row]["record_id"]]
    for row in (*diff.changed, *diff.added):
        record = incoming.slice(int(row), 1).to_pylist()[0]
        result[record["record_id"]] = record
    assert sorted(result.values(), key=lambda r: r["record_id"]) == incoming.to_pylist()
    assert diff.unchanged + len(diff.changed) + len(diff.added) == incoming.num_rows
