"""Signing a directory by each party, and verifying that every party did.

The signed form is a JWS in General JSON Serialization (RFC 7515 §7.2.1): one canonical
payload and one signature per state, each by that state's party key, its protected header
naming the state and the key's thumbprint. A node accepts a directory only when every
required state, and every state the directory speaks for, signed it with the key the node
was given for that state out of band.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import FlattenedJSONSerialization, JWSRegistry
from joserfc.registry import HeaderParameter
from joserfc.util import urlsafe_b64decode

from migrex.directory.model import Directory, DirectoryInvalid, check_directory
from migrex.directory.schemas import directory_from_payload, directory_payload

ALGORITHM: Final = "Ed25519"  # RFC 9864's fully specified name for EdDSA over Ed25519
MEDIA_TYPE: Final = "migrex-directory+jws"
MAX_DOCUMENT_BYTES: Final = 4 * 1024 * 1024
_HEADER_NAMES: Final = frozenset({"alg", "kid", "state", "typ"})

SignedDirectory = dict[str, Any]


def _registry() -> JWSRegistry:
    registry = JWSRegistry(
        header_registry={"state": HeaderParameter("Signing party's state", "str", True)},
        algorithms=[ALGORITHM],
    )
    # A directory of a large agreement outgrows joserfc's 128 kB default for a token.
    registry.max_payload_length = MAX_DOCUMENT_BYTES
    return registry


_REGISTRY: Final = _registry()


@dataclass(frozen=True)
class _Signature:
    state: str
    kid: str
    protected: str
    signature: str


def sign_directory(
    document: Directory | Mapping[str, Any], state: str, party_key: OKPKey
) -> SignedDirectory:
    """The document with `state`'s signature added.

    `document` is a Directory to sign first, or a signed directory to countersign; a party
    countersigns only a payload it can read, and only once.
    """
    if not party_key.is_private or party_key.curve_name != "Ed25519":
        raise ValueError("a directory is signed with a private Ed25519 party key")
    if isinstance(document, Directory):
        payload_segment = None
        payload = directory_payload(check_directory(document))
        signatures: list[_Signature] = []
    else:
        payload_segment, signatures = _parse(document)
        payload = _decode(payload_segment, "payload")
        directory_from_payload(payload)
        if any(s.state == state for s in signatures):
            raise DirectoryInvalid(f"the directory is already signed by {state}")
    header = {"alg": ALGORITHM, "kid": party_key.thumbprint(), "state": state, "typ": MEDIA_TYPE}
    signed = jws.serialize_json({"protected": header}, payload, party_key, registry=_REGISTRY)
    if payload_segment is not None and signed["payload"] != payload_segment:
        raise DirectoryInvalid("the payload is not in canonical base64url")
    return {
        "payload": signed["payload"],
        "signatures": [
            *({"protected": s.protected, "signature": s.signature} for s in signatures),
            {"protected": signed["protected"], "signature": signed["signature"]},
        ],
    }


def verify_directory(
    signed: Mapping[str, Any] | str | bytes,
    trusted_party_keys: Mapping[str, OKPKey],
    required_states: Collection[str],
    *,
    known_agreements: Collection[str] | None,
) -> Directory:
    """The directory, once every needed party signature verifies.

    Raises DirectoryInvalid naming why: a malformed document, a signature by a state or key
    not trusted, a signature that does not verify (content changed after signing), a missing
    party, an agreement not in `known_agreements` (None accepts any, for display only), or
    a listed state that did not sign.
    """
    payload_segment, signatures = _parse(_as_object(signed))
    for signature in signatures:
        _verify(payload_segment, signature, trusted_party_keys)
    signers = {s.state for s in signatures}
    missing = sorted(set(required_states) - signers)
    if missing:
        raise DirectoryInvalid(f"the directory is not signed by {', '.join(missing)}")
    try:
        directory = directory_from_payload(_decode(payload_segment, "payload"))
    except ValueError as error:  # text the signers signed but no JSON parser should meet
        raise DirectoryInvalid(f"the directory payload is unreadable: {error}") from None
    if known_agreements is not None and directory.agreement_id not in known_agreements:
        raise DirectoryInvalid(
            f"the directory is for agreement {directory.agreement_id!r}, "
            "which this node does not take part in"
        )
    unsigned = sorted(directory.states - signers)
    if unsigned:
        raise DirectoryInvalid(
            f"the directory speaks for {', '.join(unsigned)} without their signature"
        )
    return directory


def verify_proposal(
    signed: Mapping[str, Any] | str | bytes,
    trusted_party_keys: Mapping[str, OKPKey],
    proposer: str,
    *,
    known_agreements: Collection[str],
) -> Directory:
    """A directory not yet signed by every party, once `proposer` and every other signer
    present verify with the party keys trusted here; DirectoryInvalid naming why otherwise.

    Used before countersigning: what the other parties still have to sign is for the caller
    to check (`directory.updates.check_proposal`)."""
    payload_segment, signatures = _parse(_as_object(signed))
    for signature in signatures:
        _verify(payload_segment, signature, trusted_party_keys)
    if proposer not in {s.state for s in signatures}:
        raise DirectoryInvalid(f"the proposed directory is not signed by {proposer}")
    try:
        directory = directory_from_payload(_decode(payload_segment, "payload"))
    except ValueError as error:
        raise DirectoryInvalid(f"the directory payload is unreadable: {error}") from None
    if directory.agreement_id not in known_agreements:
        raise DirectoryInvalid(
            f"the directory is for agreement {directory.agreement_id!r}, "
            "which this node does not take part in"
        )
    return directory


def payload_version(signed: Mapping[str, Any]) -> int:
    """The version a signed form names, read without verifying it (to file it by version)."""
    payload_segment, _ = _parse(signed)
    try:
        return directory_from_payload(_decode(payload_segment, "payload")).version
    except ValueError as error:
        raise DirectoryInvalid(f"the directory payload is unreadable: {error}") from None


def signers(signed: Mapping[str, Any]) -> frozenset[str]:
    """The states whose signatures the document carries (not checked: verify first)."""
    return frozenset(s.state for s in _parse(signed)[1])


def same_document(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Whether two signed forms carry the same payload, byte for byte."""
    return bool(_parse(first)[0] == _parse(second)[0])


def _verify(payload_segment: str, signature: _Signature, trusted: Mapping[str, OKPKey]) -> None:
    key = trusted.get(signature.state)
    if key is None:
        raise DirectoryInvalid(
            f"the directory is signed by {signature.state}, whose party key is not trusted here"
        )
    if signature.kid != key.thumbprint():
        raise DirectoryInvalid(
            f"the signature of {signature.state} is by key {signature.kid}, "
            f"not by its trusted party key {key.thumbprint()}"
        )
    flattened: FlattenedJSONSerialization = {
        "payload": payload_segment,
        "protected": signature.protected,
        "signature": signature.signature,
    }
    try:
        jws.deserialize_json(flattened, key, registry=_REGISTRY)
    except BadSignatureError:
        raise DirectoryInvalid(
            f"the signature of {signature.state} does not verify: "
            "the directory was changed after signing, or the signature is forged"
        ) from None
    except (JoseError, ValueError, TypeError) as error:
        raise DirectoryInvalid(
            f"the signature of {signature.state} is malformed: {error}"
        ) from None


def _as_object(signed: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(signed, Mapping):
        return signed
    if len(signed) > 2 * MAX_DOCUMENT_BYTES:
        raise DirectoryInvalid("the signed directory is too large")
    try:
        value = json.loads(signed)
    except (ValueError, RecursionError) as error:
        raise DirectoryInvalid(f"the signed directory is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise DirectoryInvalid("the signed directory is not a JSON object")
    return value


def _parse(document: Mapping[str, Any]) -> tuple[str, list[_Signature]]:
    """The payload segment and the signatures, each header checked for shape only."""
    if set(document) != {"payload", "signatures"}:
        raise DirectoryInvalid("a signed directory has exactly 'payload' and 'signatures'")
    payload, items = document["payload"], document["signatures"]
    if not isinstance(payload, str) or not isinstance(items, list) or not items:
        raise DirectoryInvalid("a signed directory needs a payload and at least one signature")
    signatures: list[_Signature] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or set(item) != {"protected", "signature"}:
            raise DirectoryInvalid(f"signature #{number} must hold only 'protected', 'signature'")
        protected, value = item["protected"], item["signature"]
        if not isinstance(protected, str) or not isinstance(value, str):
            raise DirectoryInvalid(f"signature #{number} is not made of strings")
        try:
            header = json.loads(_decode(protected, f"signature #{number}"))
        except ValueError:
            header = None
        if not isinstance(header, dict) or set(header) != _HEADER_NAMES:
            raise DirectoryInvalid(f"signature #{number} has a malformed protected header")
        if header["alg"] != ALGORITHM or header["typ"] != MEDIA_TYPE:
            raise DirectoryInvalid(f"signature #{number} is not an {ALGORITHM} directory signature")
        state, kid = header["state"], header["kid"]
        if not isinstance(state, str) or not isinstance(kid, str):
            raise DirectoryInvalid(f"signature #{number} names no state or key")
        if any(s.state == state for s in signatures):
            raise DirectoryInvalid(f"the directory carries two signatures by {state}")
        signatures.append(_Signature(state, kid, protected, value))
    return payload, signatures


def _decode(segment: str, what: str) -> bytes:
    # joserfc's decoder is strict (no padding, canonical last character), so no two
    # different strings decode to the same bytes.
    try:
        return urlsafe_b64decode(segment.encode("ascii"))
    except (ValueError, binascii.Error):
        raise DirectoryInvalid(f"the {what} is not base64url") from None
