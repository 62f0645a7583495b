"""UUIDv7 message ids (RFC 9562 §5.7): bit layout, time, order, canonical form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.envelope import ids
from migrex.envelope.ids import is_message_id, message_id_time, new_message_id

MOMENT = datetime(2024, 4, 15, 9, 30, 12, 345_678, tzinfo=UTC)


def test_version_and_variant_bits_are_set() -> None:
    value = uuid.UUID(new_message_id())
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert (value.int >> 76) & 0xF == 0b0111
    assert (value.int >> 62) & 0b11 == 0b10


def test_explicit_inputs_give_the_rfc_layout() -> None:
    rand = bytes(range(1, 11))
    value = uuid.UUID(new_message_id(MOMENT, rand))
    assert value.int >> 80 == 1_713_173_412_345  # the Unix time in ms, truncated
    rand74 = int.from_bytes(rand, "big") >> 6
    assert (value.int >> 64) & 0xFFF == rand74 >> 62  # rand_a: the top 12 random bits
    assert value.int & ((1 << 62) - 1) == rand74 & ((1 << 62) - 1)  # rand_b: the other 62
    assert new_message_id(MOMENT, rand) == str(value)  # pure when inputs are given


def test_the_time_is_read_back_to_the_millisecond() -> None:
    assert message_id_time(new_message_id(MOMENT)) == MOMENT.replace(microsecond=345_000)


def test_ids_made_in_a_row_strictly_increase() -> None:
    made = [new_message_id() for _ in range(5_000)]  # many share a millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_keep_increasing_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_message_id()
    monkeypatch.setattr(ids.time, "time_ns", lambda: 0)  # 1970: far behind the last id
    later = [new_message_id() for _ in range(100)]
    assert [first, *later] == sorted({first, *later})


def test_a_full_millisecond_borrows_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    new_message_id()
    monkeypatch.setattr(ids, "_last_rand", ids._RAND_LIMIT - 1)
    before = ids._last_ms
    monkeypatch.setattr(ids.time, "time_ns", lambda: before * 1_000_000)
    value = new_message_id()
    assert uuid.UUID(value).int >> 80 == before + 1
    assert is_message_id(value)


IN_RANGE = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(9999, 12, 31),
    timezones=st.just(UTC),
)


@given(moment=IN_RANGE, rand=st.binary(min_size=10, max_size=16))
def test_any_time_and_randomness_give_a_valid_id(moment: datetime, rand: bytes) -> None:
    value = new_message_id(moment, rand)
    assert is_message_id(value)
    assert message_id_time(value) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@given(IN_RANGE, IN_RANGE)
def test_ids_sort_by_their_time(a: datetime, b: datetime) -> None:
    first, second = sorted([a, b])
    if second - first >= timedelta(milliseconds=1):
        assert new_message_id(first, bytes(10)) < new_message_id(second, b"\xff" * 10)


@pytest.mark.parametrize(
    "value",
    [
        str(uuid.uuid4()),
        str(uuid.uuid1()),
        new_message_id().upper(),
        "{" + new_message_id() + "}",
        "urn:uuid:" + new_message_id(),
        new_message_id().replace("-", ""),
        "01890a5d-ac96-774b-3cbf-4d2c9bb2b8d4",  # version 7, wrong variant
        "",
        None,
        7,
    ],
    # Named, not shown: the generated values differ at each collection, and every test
    # process of a parallel run must collect the same tests.
    ids=["version-4", "version-1", "upper-case", "braced", "urn", "no-hyphens",
         "wrong-variant", "empty", "none", "not-a-string"],
)  # fmt: skip
def test_only_canonical_uuidv7_passes(value: object) -> None:
    assert not is_message_id(value)


def _parsed_as_canonical_v7(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == value


@given(st.one_of(
    st.uuids().map(str),
    st.text(alphabet="0123456789abcdefABCDEF-{}:urn", min_size=30, max_size=46),
    st.builds(lambda u: u[:14] + "7" + u[15:], st.uuids().map(str)),  # version 7, any variant
))  # fmt: skip
def test_the_check_is_the_uuid_librarys_reading(value: str) -> None:
    """What passes is exactly what Python's uuid reads as version 7 and spells the same."""
    assert is_message_id(value) == _parsed_as_canonical_v7(value)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="10 random bytes"):
        new_message_id(MOMENT, b"short")
    with pytest.raises(ValueError, match="aware"):
        new_message_id(datetime(2024, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="time range"):
        new_message_id(datetime(1969, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError, match="UUIDv7"):
        message_id_time(str(uuid.uuid4()))
