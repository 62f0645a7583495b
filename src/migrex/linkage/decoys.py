"""Decoys: records of no one, sent among a party's own so that the linkage unit cannot tell
which encodings are people. Pure, no I/O.

Salting splits a register into groups of one birth date and sex, and inside a group the
encoding is as exposed as an unsalted one: an attacker at the unit who holds the group's
people matches the similarity graph of their encodings to that of his list and names nearly
every one (`linkage.attack.one_salt_group`). Decoys enter that graph as nodes the attacker's
list does not hold. They must look like people, or the attacker sets them apart first: a
decoy is a recombination of the party's own register, each part drawn from another random
record (birth date and sex together, so decoys fill the salt groups as people do; each name
from a record of the decoy's sex, its Cyrillic and Latin forms together; the birth place
from another), with a fresh passport number of the register's form as often as the register
holds one. Names drawn row by row follow the register's frequencies, so a decoy's name is as
likely as a person's.

A decoy carries no national id but a random one of its own, so its pseudonym is as random as
a person's and resolves to no one: the owner drops every candidate that names one, and the
partner's candidate paired with a decoy is answered as no citizen of ours. Decoys are mixed
among the records in a random order before encoding: their place tells nothing either.
"""

from __future__ import annotations

import secrets
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from migrex.linkage.records import Register

Ints = npt.NDArray[np.int64]

# Columns drawn together from one record; any other column (an address, in FEBRL's files)
# is drawn on its own. Birth date and sex come from one record, so the salt groups decoys
# land in are as large, relative to each other, as the register's.
TOGETHER: Final = (
    ("birth_date", "sex"),
    ("surname", "surname_latin"),
    ("given_name", "given_name_latin"),
)
# Name columns: drawn from a record of the decoy's own sex (names are gendered).
GENDERED: Final = frozenset({"surname", "surname_latin", "given_name", "given_name_latin",
                             "patronymic"})  # fmt: skip
# Columns a decoy never copies: its id is its own, its passport number is made fresh (two
# records holding one number would give the copy away).
OWN: Final = frozenset({"national_id", "passport_number"})
# Where a register's columns are drawn as one address (FEBRL's files).
ADDRESS: Final = ("street_number", "address_1", "address_2", "suburb", "postcode", "state")
MAX_PER_RECORD: Final = 4.0
# Rounds of drawing a decoy's passport number before it goes without one: a free number comes
# at the first draw unless the register holds most numbers of its form.
_PASSPORT_DRAWS: Final = 20


def _parts(columns: list[str]) -> list[tuple[str, ...]]:
    """The register's columns as the groups drawn together."""
    groups = [g for g in (*TOGETHER, ADDRESS) if all(c in columns for c in g)]
    grouped = {c for g in groups for c in g} | OWN
    return groups + [(c,) for c in columns if c not in grouped]


def _rows_of_sex(sex: npt.NDArray[np.object_], wanted: npt.NDArray[np.object_],
                 rng: np.random.Generator) -> Ints:  # fmt: skip
    """For each wanted sex, a random row of the register holding it (any row where none does)."""
    rows = np.empty(len(wanted), dtype=np.int64)
    for value in np.unique(wanted.astype(str)):
        where = np.flatnonzero(wanted.astype(str) == value)
        pool = np.flatnonzero(sex.astype(str) == value)
        if len(pool) == 0:
            pool = np.arange(len(sex))
        rows[where] = pool[rng.integers(len(pool), size=len(where))]
    return rows


def _passports(register: Register, count: int, rng: np.random.Generator) -> pa.Array:
    """Fresh passport numbers shaped like the register's (a held number's letters kept,
    its digits drawn anew), present as often as the register's are. A number the register
    holds, or another decoy drew, is drawn again (two records holding one number would give
    the copy away); one still taken after a few draws is left absent, as many are."""
    column = register.columns["passport_number"]
    held = pc.drop_null(column).to_pylist()
    if not held:
        return pa.nulls(count, pa.string())
    share = len(held) / max(len(column), 1)
    models = [held[i] for i in rng.integers(len(held), size=count).tolist()]
    present = (rng.random(count) < share).tolist()
    width = max(len(m) for m in models)

    def drawn(rows: list[int]) -> list[str]:
        digits = rng.integers(10, size=(len(rows), width)).tolist()
        return ["".join(str(d) if ch.isdigit() else ch for ch, d in zip(models[row], row_digits,
                                                                        strict=False))
                for row, row_digits in zip(rows, digits, strict=True)]  # fmt: skip

    numbers: list[str | None] = [None] * count
    taken = set(held)
    pending = [row for row in range(count) if present[row]]
    for _ in range(_PASSPORT_DRAWS):
        if not pending:
            break
        again = []
        for row, number in zip(pending, drawn(pending), strict=True):
            if number in taken:
                again.append(row)
            else:
                numbers[row] = number
                taken.add(number)
        pending = again
    return pa.array(numbers, pa.string())


def decoys(register: Register, count: int, rng: np.random.Generator) -> Register:
    """`count` decoys recombined from `register` (see the module's note)."""
    n = len(register)
    if n == 0 or count <= 0:
        return Register({c: register.columns[c].slice(0, 0) for c in register.columns})
    names = list(register.columns)
    sex = np.asarray(register.columns["sex"].to_pylist(), dtype=object) \
        if "sex" in register.columns else np.full(n, "", dtype=object)  # fmt: skip
    base = rng.integers(n, size=count)
    decoy_sex = sex[base]
    drawn: dict[str, pa.Array] = {}
    for part in _parts(names):
        if "birth_date" in part:
            rows = base
        elif GENDERED & set(part):
            rows = _rows_of_sex(sex, decoy_sex, rng)
        else:
            rows = rng.integers(n, size=count)
        taken = pa.array(rows)
        for column in part:
            drawn[column] = register.columns[column].take(taken)
    # Drawn from `rng` like the rest, so a run's sender can make the same decoys again.
    drawn["national_id"] = pa.array(
        [f"decoy:{rng.bytes(12).hex()}" for _ in range(count)], pa.string()
    )
    if "passport_number" in register.columns:
        drawn["passport_number"] = _passports(register, count, rng)
    return Register({c: drawn[c].cast(register.columns[c].type) for c in names})


def with_decoys(
    register: Register, per_record: float, rng: np.random.Generator | None = None,
    source: Register | None = None,
) -> tuple[Register, Ints]:  # fmt: skip
    """The register with `per_record` decoys per record mixed in at random places, and for
    each row the register's row it is (-1 for a decoy). The register as it is for 0. The
    same `rng` state gives the same decoys in the same places. Decoys are recombined from
    `source` (default: the register itself; the attack harness draws them, as a party
    does, from the whole register a part of it is drawn from)."""
    if not 0 <= per_record <= MAX_PER_RECORD:
        raise ValueError(f"decoys per record must lie between 0 and {MAX_PER_RECORD}")
    count = round(per_record * len(register))
    if count == 0:
        return register, np.arange(len(register), dtype=np.int64)
    rng = rng or np.random.default_rng(secrets.randbits(128))
    made = decoys(register if source is None else source, count, rng)
    order = rng.permutation(len(register) + count)
    taken = pa.array(order)
    mixed = {
        c: pa.concat_arrays([_flat(register.columns[c]), _flat(made.columns[c])]).take(taken)
        for c in register.columns
    }
    origin: Ints = np.where(order < len(register), order, -1).astype(np.int64)
    return Register(mixed), origin


def _flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
