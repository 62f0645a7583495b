"""The rules of a linkage candidate, without a database: its moves, the outcomes of the
partner's answer, and what retention does with it when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.casework.messages import CitizenshipVerificationRequest, MessageInvalid, parse_body
from migrex.linkage.candidate_rules import (
    BANDS,
    FINAL,
    TRANSITIONS,
    CandidateAlreadyDecided,
    CandidateEvent,
    CandidateInvalid,
    CandidateState,
    Outcome,
    checked,
    decide,
    dismissal_reason,
    keeping,
    outcome_of,
)
from migrex.linkage.compare import BANDS as COMPARE_BANDS

S, E = CandidateState, CandidateEvent
RETENTION = timedelta(days=365)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_bands_are_the_comparisons() -> None:
    assert tuple(name for name, _ in COMPARE_BANDS) == BANDS


@given(st.lists(st.sampled_from(list(E)), max_size=8))
def test_any_sequence_of_events_follows_the_table_and_ends_final_once_decided(
    events: list[CandidateEvent],
) -> None:
    state = S.OPEN
    for event in events:
        expected = TRANSITIONS[state].get(event)
        if expected is None:
            with pytest.raises(CandidateAlreadyDecided):
                decide(state, event)
            continue
        state = decide(state, event)
        assert state == expected
    # A final state takes no event at all: a closed or dismissed candidate stays so.
    if state in FINAL:
        for event in E:
            with pytest.raises(CandidateAlreadyDecided):
                decide(state, event)


def test_only_a_requested_candidate_closes_and_only_an_open_one_is_asked_or_dismissed() -> None:
    assert decide(S.OPEN, E.REQUEST) == S.REQUESTED
    assert decide(S.OPEN, E.DISMISS) == S.DISMISSED
    assert decide(S.REQUESTED, E.CLOSE) == S.CLOSED
    for state, event in ((S.OPEN, E.CLOSE), (S.REQUESTED, E.DISMISS), (S.REQUESTED, E.REQUEST)):
        with pytest.raises(CandidateAlreadyDecided):
            decide(state, event)


def test_the_partners_finding_makes_the_outcome() -> None:
    assert outcome_of("yes") is Outcome.CONFIRMED
    assert outcome_of("no") is Outcome.CLEARED
    assert outcome_of("unknown") is Outcome.UNKNOWN


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2_001])
def test_a_dismissal_says_why_in_reasonable_length(reason: str) -> None:
    with pytest.raises(CandidateInvalid):
        dismissal_reason(reason)
    assert dismissal_reason("  same person, different birth year  ") == (
        "same person, different birth year"
    )


@given(st.text(max_size=90), st.text(max_size=12))
def test_a_malformed_pair_id_or_band_is_refused_without_quoting_it(pair: str, band: str) -> None:
    try:
        assert checked(pair, band) == (pair, band)
    except CandidateInvalid as refused:
        # One of two fixed texts: the refusal never gives back what it was given.
        assert str(refused) in {"a pair id is 1 to 80 letters, digits and ._:-",
                                f"a band is one of {', '.join(BANDS)}"}  # fmt: skip
        return
    assert band in BANDS and 0 < len(pair) <= 80


@given(
    st.sampled_from(list(S)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=900)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=900)),
)
def test_retention_deletes_untaken_candidates_with_their_run_and_strips_decided_ones(
    state: CandidateState, since_run: timedelta, since_decision: timedelta
) -> None:
    now = T0 + timedelta(days=1_000)
    decided_at = None if state is S.OPEN else now - since_decision
    fate = keeping(state, run_opened_at=now - since_run, decided_at=decided_at,
                   retention=RETENTION, now=now)  # fmt: skip
    if state is S.OPEN:
        assert fate == ("delete" if since_run >= RETENTION else "keep")
    else:  # decided by an officer (requested, dismissed) or by the partner's answer (closed)
        assert fate == ("strip" if since_decision >= RETENTION else "keep")


def test_a_request_quotes_a_pair_about_one_person_only() -> None:
    person = {"surname_latin": "ALIBEKOV", "given_name_latin": "ARMAN", "birth_date": "1990-01-02"}
    body = {"purpose": "combat-dual-citizenship", "persons": [person], "linkage_pair_id": "p-1"}
    parsed = parse_body("citizenship-verification-request", body)
    assert isinstance(parsed, CitizenshipVerificationRequest)
    assert parsed.linkage_pair_id == "p-1"
    with pytest.raises(MessageInvalid):
        parse_body("citizenship-verification-request", body | {"persons": [person, person]})
    with pytest.raises(MessageInvalid):
        parse_body("citizenship-verification-request", body | {"linkage_pair_id": "a b"})
