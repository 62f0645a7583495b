"""Personal data received from a partner goes back to the partner's state and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.agreements import load_agreement
from migrex.casework import (
    OnwardTransferRefused,
    Originator,
    check_onward_transfer,
    originator_of,
)
from migrex.errors import NotFound

AGREEMENTS = Path(__file__).resolve().parents[3] / "agreements"
KZ_AM = load_agreement(AGREEMENTS / "kz-am-2024.toml")
FROM_AM = Originator("AM", "am-mcs")
FROM_KG = Originator("KG", "kg-mia")


def test_the_label_comes_from_the_sender_s_state() -> None:
    assert originator_of(KZ_AM, "am-mcs") == FROM_AM
    with pytest.raises(NotFound):
        originator_of(KZ_AM, "kg-mia")


def test_own_data_may_go_to_any_partner() -> None:
    check_onward_transfer([None, None], "AM")
    check_onward_transfer([Originator("KZ", "kz-mia")], "KG", own_state="KZ")


def test_received_data_may_go_back_to_its_state() -> None:
    check_onward_transfer([FROM_AM, None], "AM", own_state="KZ")
    check_onward_transfer([FROM_AM, Originator("AM", "am-police")], "AM")


def test_received_data_may_not_go_to_a_third_state() -> None:
    with pytest.raises(OnwardTransferRefused) as caught:
        check_onward_transfer([None, FROM_AM, FROM_KG, FROM_AM], "KG", own_state="KZ")
    error = caught.value
    assert (error.status, error.exit_code) == (403, 16)
    assert "received from AM" in error.detail
    assert "may not go to KG" in error.detail
    assert [str(p) for p in error.problems] == [
        "AM/am-mcs: received from am-mcs; may go back to AM only"
    ]


def test_use_inside_the_own_state_is_not_a_transfer() -> None:
    check_onward_transfer([FROM_AM, FROM_KG], "KZ", own_state="KZ")


def test_without_knowing_the_own_state_the_guard_stays_strict() -> None:
    with pytest.raises(OnwardTransferRefused):
        check_onward_transfer([Originator("KZ", "kz-mia")], "AM")


STATES = st.sampled_from(["KZ", "AM", "KG", "UZ"])


@given(
    labels=st.lists(st.one_of(st.none(), st.builds(Originator, STATES, st.just("x")))),
    recipient=STATES,
    own=st.one_of(st.none(), STATES),
)
def test_refused_exactly_when_some_data_would_reach_a_third_state(
    labels: list[Originator | None], recipient: str, own: str | None
) -> None:
    third = own != recipient and any(
        label is not None and label.state not in {own, recipient} for label in labels
    )
    if third:
        with pytest.raises(OnwardTransferRefused):
            check_onward_transfer(labels, recipient, own_state=own)
    else:
        check_onward_transfer(labels, recipient, own_state=own)
