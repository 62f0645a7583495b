"""The registry of message kinds: complete for every body, and what each kind says it carries."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_casework_messages import VALID

from migrex.agreements import PERSON_FIELDS
from migrex.casework.kinds import KINDS, Role, check_registry
from migrex.casework.messages import BODY_MODELS, Refusal, parse_body
from migrex.ledger.volume import OPENING_TYPES

# A request each kind can answer or continue, to read the persons an answer is about.
# The messages' examples, where a kind's persons are optional, with a person.
SAMPLES = {
    **VALID,
    "assistance-request": {**VALID["assistance-request"], "person": {"document_number": "N1"}},
    "assistance-reply": {**VALID["assistance-reply"], "fields": {"surname_latin": "A"}},
}
OPENINGS = {
    "person-inquiry-reply": "person-inquiry",
    "consultation-finding": "legal-status-consultation",
    "consultation-outcome": "legal-status-consultation",
    "assistance-reply": "assistance-request",
    "citizenship-verification-reply": "citizenship-verification-request",
}


def test_every_body_has_exactly_one_kind_and_the_registry_is_complete() -> None:
    assert set(KINDS) == set(BODY_MODELS)
    assert check_registry() == []


def test_the_completeness_check_can_fail() -> None:
    inquiry = KINDS["person-inquiry"]
    broken = {
        "person-inquiry": replace(inquiry, carried=KINDS["refusal"].carried),
        "refusal": replace(KINDS["refusal"], carried=inquiry.carried),
        "legal-information": replace(KINDS["legal-information"], category=None),
        "person-inquiry-reply": replace(
            KINDS["person-inquiry-reply"], strip=KINDS["refusal"].strip
        ),
        "message-problem": replace(KINDS["message-problem"], model=Refusal),
    }
    problems = check_registry({**KINDS, **broken})
    assert len(problems) == len(broken), problems


def test_the_volume_counts_the_kinds_that_open_a_case_about_persons() -> None:
    personal_openings = {t for t, k in KINDS.items() if k.personal and k.role is not Role.CONTINUES}
    assert personal_openings == OPENING_TYPES


@pytest.mark.parametrize("message_type", sorted(t for t, k in KINDS.items() if k.personal))
def test_each_personal_kind_names_its_persons_and_their_fields(message_type: str) -> None:
    body = parse_body(message_type, SAMPLES[message_type])
    opening_type = OPENINGS.get(message_type)
    opening = parse_body(opening_type, SAMPLES[opening_type]) if opening_type else None
    carried = KINDS[message_type].carried(body, opening)
    assert carried, "a kind that carries personal data reads at least one person from a sample"
    for item in carried:
        assert item.fields <= set(PERSON_FIELDS)
        assert item.ledger_fields  # the ledger always says what was disclosed


@pytest.mark.parametrize("message_type", sorted(t for t, k in KINDS.items() if not k.personal))
def test_other_kinds_carry_nobody(message_type: str) -> None:
    body = parse_body(message_type, VALID[message_type])
    assert KINDS[message_type].carried(body, None) == []


def test_stripping_drops_fields_outside_what_is_allowed_and_says_which() -> None:
    fields = {"surname_latin": "A", "national_id": "1"}
    reply = {"step": "full", "results": [{"person": 0, "hit": True, "fields": fields}]}
    kept, dropped = KINDS["person-inquiry-reply"].strip(reply, frozenset({"surname_latin"}))
    assert kept["results"][0]["fields"] == {"surname_latin": "A"}
    assert dropped == {"national_id"}
    parse_body("person-inquiry-reply", kept)  # still a valid body
