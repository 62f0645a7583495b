"""Building replies from registry records: only what the purpose allows, and Prüm's two steps.

Pure: the service reads the registries and the node's reference key and passes them in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import JsonValue

from migrex.agreements import Agreement
from migrex.casework.messages import (
    NOT_HELD,
    OUTSIDE_PROFILE,
    CitizenshipFinding,
    InquiryResult,
    PersonInquiry,
    Step,
    Withheld,
)
from migrex.registry.model import Citizen, EmploymentSpell, PersonPresent, Violation


def minimise(
    record_fields: Mapping[str, Any], allowed: frozenset[str], requested: frozenset[str]
) -> tuple[dict[str, Any], list[Withheld]]:
    """The fields both requested and allowed by the purpose's profile, and every other
    requested field as withheld with its reason. A field the record lacks (or holds as None)
    is withheld as not held; fields nobody requested are never disclosed, allowed or not."""
    disclosed: dict[str, Any] = {}
    withheld: list[Withheld] = []
    for name in sorted(requested):
        if name not in allowed:
            withheld.append(Withheld(field=name, reason=OUTSIDE_PROFILE))
        elif record_fields.get(name) is None:
            withheld.append(Withheld(field=name, reason=NOT_HELD))
        else:
            disclosed[name] = record_fields[name]
    return disclosed, withheld


# ---------------------------------------------------------------- the two-step (Prüm) flow
#
# Step one answers "hit" or "no hit" and, for a hit, a reference; step two, a confirmed
# follow-up naming that reference, gets the profile's fields. The reference must reveal
# nothing about the person and must not let the requesting party link answers, so it is
#   nonce (8 random bytes) || HMAC-SHA256(node key, nonce, agreement, requester, record)[:16].
# The random nonce makes every reference fresh: two hits on the same person (say under two
# spellings of the name) get unrelated references, so the partner cannot learn that they are
# one person. The HMAC lets the node check a follow-up without keeping a table of issued
# references, ties the reference to the authority it was given to, and cannot be forged or
# aimed at another record without the key. Rotating the key ends all open references.

_REFERENCE_CONTEXT = b"migrex-hit-reference-v1"
_NONCE_BYTES = 8
_TAG_BYTES = 16
_MIN_KEY_BYTES = 32


def _tag(key: bytes, nonce: bytes, agreement_id: str, requester: str, record_id: str) -> bytes:
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the reference key needs at least {_MIN_KEY_BYTES} bytes")
    message = b"\x00".join(
        (_REFERENCE_CONTEXT, nonce, agreement_id.encode(), requester.encode(), record_id.encode())
    )
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def hit_reference(
    key: bytes, *, agreement_id: str, requester: str, record_id: str, nonce: bytes | None = None
) -> str:
    """A fresh opaque reference (32 base64url characters) for a hit on `record_id`, given to
    the `requester` authority. `nonce` is for tests only; by default it is random."""
    nonce = secrets.token_bytes(_NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != _NONCE_BYTES:
        raise ValueError(f"the nonce has {_NONCE_BYTES} bytes")
    raw = nonce + _tag(key, nonce, agreement_id, requester, record_id)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def verify_hit_reference(
    key: bytes, reference: str, *, agreement_id: str, requester: str, record_id: str
) -> bool:
    """Whether `reference` was issued by this key to `requester` for `record_id`."""
    try:
        raw = base64.b64decode(reference.encode("ascii"), altchars=b"-_", validate=True)
    except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
        return False
    if len(raw) != _NONCE_BYTES + _TAG_BYTES:
        return False
    nonce, tag = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return hmac.compare_digest(tag, _tag(key, nonce, agreement_id, requester, record_id))


def reply_step(agreement: Agreement, inquiry: PersonInquiry) -> Step:
    """Which step the reply is: hit/no-hit when the inquiry asks for it, or when its purpose
    answers in two steps and this is not a follow-up on a hit. An unknown purpose gets the
    step that discloses least (screening proposes refusing it anyway)."""
    purpose = agreement.purposes.get(inquiry.purpose or "")
    if inquiry.step == "hit-check" or purpose is None:
        return "hit-check"
    return "hit-check" if purpose.hit_no_hit_first and inquiry.hit_reference is None else "full"


def hit_result(person: int, reference: str | None) -> InquiryResult:
    """Step one about the inquiry's `person`: a hit with its reference, or no hit."""
    return InquiryResult(person=person, hit=reference is not None, reference=reference)


def full_result(
    person: int,
    record_fields: Mapping[str, JsonValue] | None,
    *,
    allowed: frozenset[str],
    requested: frozenset[str],
) -> InquiryResult:
    """A full answer about `person`: no hit when there is no record, else the minimised record."""
    if record_fields is None:
        return InquiryResult(person=person, hit=False)
    disclosed, withheld = minimise(record_fields, allowed, requested)
    return InquiryResult(person=person, hit=True, fields=disclosed, withheld=withheld)


# ---------------------------------------------------------------- registry → PERSON_FIELDS

_PERSON_ATTRIBUTES = (
    "surname", "given_name", "patronymic", "surname_latin", "given_name_latin", "sex",
    "birth_date", "citizenship", "document_type", "document_number", "national_id",
    "registration_region", "registration_address", "entry_date", "purpose_of_stay",
    "permit_type", "permit_valid_from", "permit_valid_to",
)  # fmt: skip
_CITIZEN_ATTRIBUTES = (
    "surname", "given_name", "patronymic", "surname_latin", "given_name_latin", "sex",
    "birth_date", "national_id",
)  # fmt: skip


def _json(value: date | str | None) -> JsonValue:
    # Dates travel as ISO 8601 text, the way the registries and the messages write them.
    return value.isoformat() if isinstance(value, date) else value


def _current(spells: Sequence[EmploymentSpell]) -> EmploymentSpell:
    # The ongoing spell that began last, else the one that ended last: the employment a
    # partner asks about is the present one, and older spells are not disclosed.
    ongoing = [s for s in spells if s.end_date is None]
    if ongoing:
        return max(ongoing, key=lambda s: (s.start_date, s.record_id))
    return max(spells, key=lambda s: (s.end_date or s.start_date, s.start_date, s.record_id))


def person_fields(
    person: PersonPresent | None = None,
    *,
    employment: Sequence[EmploymentSpell] | None = None,
    violations: Sequence[Violation] | None = None,
    citizen: Citizen | None = None,
    citizen_state: str | None = None,
) -> dict[str, JsonValue]:
    """The registry records of one person in the PERSON_FIELDS vocabulary, values as JSON.

    A register not consulted is passed as None and its fields are absent ("not held"); an
    empty violation list that was consulted is disclosed as `[]`. `citizen` is an entry of the
    node's own citizens register, whose state is `citizen_state`; the presence register wins
    where both name the same field. Record ids never leave the node.
    """
    fields: dict[str, JsonValue] = {}
    if person is not None:
        fields |= {name: _json(getattr(person, name)) for name in _PERSON_ATTRIBUTES}
    if citizen is not None:
        own = {name: _json(getattr(citizen, name)) for name in _CITIZEN_ATTRIBUTES}
        own["citizenship_status"] = citizen.status
        own["citizenship"] = citizen_state
        if citizen.passport_number is not None:
            own |= {"document_type": "P", "document_number": citizen.passport_number}
        fields = own | {k: v for k, v in fields.items() if v is not None}
    if employment:
        spell = _current(employment)
        fields |= {
            "employer_id": spell.employer_id,
            "employer_name": spell.employer_name,
            "occupation_isco08": spell.occupation_isco08,
            "employment_period": {"from": _json(spell.start_date), "to": _json(spell.end_date)},
        }
    if violations is not None:
        fields["violations"] = [
            {
                "violation_type": v.violation_type,
                "detected_on": _json(v.detected_on),
                "region": v.region,
                "legal_article": v.legal_article,
                "decision": v.decision,
                "decision_date": _json(v.decision_date),
            }
            for v in sorted(violations, key=lambda v: (v.detected_on, v.record_id))
        ]
    return {name: value for name, value in fields.items() if value is not None}


def citizenship_finding(person: int, matches: Sequence[Citizen]) -> CitizenshipFinding:
    """The answer about the request's `person` from the own-citizens register entries its
    identifiers matched. No entry: not a citizen by the register. More than one: the register
    cannot tell which, so "unknown" rather than a guess. The register keeps no date of
    acquisition, so `since` stays empty."""
    if not matches:
        return CitizenshipFinding(person=person, holds="no")
    if len(matches) > 1:
        return CitizenshipFinding(person=person, holds="unknown")
    status = matches[0].status
    # A deceased person held the citizenship until death; renounced and lost mean no longer.
    holds = "yes" if status in {"active", "deceased"} else "no"
    return CitizenshipFinding(person=person, holds=holds, status=status)
