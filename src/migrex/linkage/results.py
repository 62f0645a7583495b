"""What a linkage unit returns to a party, and the party's receipt for it.

A result holds, for one party, only its own candidates: its pseudonym of the record, the pair
id (one random id per pair, the same at both parties, so a verification request can quote it
and the partner can find its own record) and the band. Never the other party's pseudonyms,
never a score, never the pairs compared. It is signed by the unit (its key as the agreement's
directory lists it) and sealed to the party's X25519 key, as envelopes are.

The party answers with a receipt signed by its authority, quoting the result's hash: the unit
then deletes the result, so nothing of the run outlives its collection.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from joserfc import jwe
from joserfc.jwk import OKPKey
from joserfc.util import urlsafe_b64decode

from migrex.envelope import DecryptionKey, SigningKeyResolver, canonical_json, key_id
from migrex.envelope.model import CONTENT_ENCRYPTION, KEY_AGREEMENT_ALG, strict_json_object
from migrex.envelope.seal import JWE_REGISTRY, check_curve, sign_compact
from migrex.linkage.candidate_rules import BANDS as BAND_NAMES
from migrex.linkage.chunks import TransferRefused
from migrex.linkage.transfer import signed_document

if TYPE_CHECKING:  # comparing's types; a node that only receives results loads neither
    from migrex.linkage.compare import Matches
    from migrex.linkage.pseudonyms import Pseudonyms

RESULT_TYP: Final = "migrex-linkage-result+jws"
RECEIPT_TYP: Final = "migrex-linkage-receipt+jws"
MAX_RESULT_BYTES: Final = 256 * 1024 * 1024


@dataclass(frozen=True)
class Candidate:
    """One of a party's records the unit found paired: by the party's own pseudonym."""

    pseudonym: int
    pair_id: str
    band: str


def new_pair_id() -> str:
    return f"lp-{secrets.token_hex(12)}"


def candidates_of(
    matches: Matches, left: Pseudonyms, right: Pseudonyms
) -> tuple[list[Candidate], list[Candidate]]:
    """Each side's candidates from the unit's matches (left rows index `left`), one fresh
    pair id per pair; a match below the last band is no candidate."""
    ours: list[Candidate] = []
    theirs: list[Candidate] = []
    for li, ri, band in zip(matches.left, matches.right, matches.bands, strict=True):
        if band >= len(BAND_NAMES):
            continue
        pair = new_pair_id()
        ours.append(Candidate(int(left[li]), pair, BAND_NAMES[band]))
        theirs.append(Candidate(int(right[ri]), pair, BAND_NAMES[band]))
    return ours, theirs


def seal_result(
    *, run_id: str, unit: str, party: str, candidates: Sequence[Candidate],
    signing_key: OKPKey, party_key: OKPKey, now: datetime,
) -> bytes:  # fmt: skip
    """The result for `party`: signed by the unit, sealed to the party's X25519 key."""
    check_curve(party_key, "X25519")
    payload = {
        "run_id": run_id, "sender": unit, "recipient": party, "iat": int(now.timestamp()),
        "candidates": [[str(c.pseudonym), c.pair_id, c.band] for c in candidates],
    }  # fmt: skip
    signed = sign_compact(canonical_json(payload), signing_key, RESULT_TYP)
    header = {"alg": KEY_AGREEMENT_ALG, "enc": CONTENT_ENCRYPTION, "kid": key_id(party_key),
              "cty": RESULT_TYP}  # fmt: skip
    token = jwe.encrypt_compact(header, signed.encode("ascii"), party_key, registry=JWE_REGISTRY)
    return token.encode("ascii")


def open_result(
    raw: bytes, *, run_id: str, unit: str, party: str,
    decryption_keys: Mapping[str, DecryptionKey], resolve_signing_key: SigningKeyResolver,
    now: datetime,
) -> list[Candidate]:  # fmt: skip
    """The candidates of a result the unit sealed to `party`; TransferRefused when it is not
    the unit's, not ours, not this run's, or not well formed."""
    try:
        header = strict_json_object(urlsafe_b64decode(raw.split(b".", 1)[0]))
        entry = decryption_keys.get(str(header.get("kid")))
    except Exception:
        raise TransferRefused("malformed", "the result is not a JWE") from None
    if entry is None or entry.authority_id != party:
        raise TransferRefused("wrong-recipient", f"the result is not sealed to {party}")
    try:
        inner = jwe.decrypt_compact(raw, entry.key, registry=JWE_REGISTRY).plaintext
    except Exception:
        inner = None
    if not inner:
        raise TransferRefused("undecryptable", "the result does not decrypt")
    payload, _ = signed_document(inner, RESULT_TYP, resolve_signing_key, now)
    if payload.get("sender") != unit:
        raise TransferRefused("bad-signature", f"the result is not signed by the unit {unit}")
    if payload.get("recipient") != party or payload.get("run_id") != run_id:
        raise TransferRefused("foreign-run", "the result is for another run or party")
    return _candidates(payload.get("candidates"))


def _candidates(rows: object) -> list[Candidate]:
    if not isinstance(rows, list):
        raise TransferRefused("malformed", "the result holds no list of candidates")
    found = []
    for row in rows:
        if (
            not isinstance(row, list) or len(row) != 3
            or not all(isinstance(cell, str) for cell in row)
            or not row[0].isdigit() or int(row[0]) >= 1 << 64
            or row[2] not in BAND_NAMES or not row[1].startswith("lp-") or len(row[1]) > 64
        ):  # fmt: skip
            raise TransferRefused("malformed", "a candidate of the result is malformed")
        found.append(Candidate(int(row[0]), row[1], row[2]))
    return found


def result_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def sign_receipt(
    *, run_id: str, party: str, result_sha256: str, signing_key: OKPKey, now: datetime
) -> bytes:
    """The party's receipt for its result: the unit may delete it."""
    payload = {"run_id": run_id, "sender": party, "result_sha256": result_sha256,
               "iat": int(now.timestamp())}  # fmt: skip
    return sign_compact(canonical_json(payload), signing_key, RECEIPT_TYP).encode("ascii")


def check_receipt(
    raw: bytes, *, run_id: str, party: str, result_sha256: str,
    resolve_signing_key: SigningKeyResolver, now: datetime,
) -> None:  # fmt: skip
    """TransferRefused unless `party` signed a receipt for exactly this result."""
    payload, _ = signed_document(raw, RECEIPT_TYP, resolve_signing_key, now)
    if payload.get("sender") != party or payload.get("run_id") != run_id:
        raise TransferRefused("foreign-run", "the receipt is for another run or party")
    if payload.get("result_sha256") != result_sha256:
        raise TransferRefused("manifest-mismatch", "the receipt quotes another result")
