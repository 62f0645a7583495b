"""A directory signed by both parties verifies; every kind of tampering is refused."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from migrex.directory import (
    Directory,
    DirectoryInvalid,
    assemble_directory,
    directory_payload,
    load_directory,
    load_trusted_party_keys,
    node_contribution,
    sign_directory,
    verify_directory,
    write_signed_directory,
    write_trusted_party_keys,
)
from migrex.directory.signing import ALGORITHM, MEDIA_TYPE
from migrex.errors import ConfigurationError
from migrex.identity import FileKeyStore, certificate_pem, create_state_ca, public_key

T0 = datetime(2025, 9, 3, 9, 0, tzinfo=UTC)
NODES = {
    "KZ": ("kz-node", ("kz-mia", "kz-mlsp"), 8443),
    "AM": ("am-node", ("am-police", "am-mcs"), 8444),
}
REGISTRY = JWSRegistry(
    header_registry={"state": HeaderParameter("state", "str", True)}, algorithms=[ALGORITHM]
)
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class World:
    directory: Directory
    party_keys: Mapping[str, OKPKey]  # private
    trusted: Mapping[str, OKPKey]  # public

    def signed(self, *states: str, document: Directory | None = None) -> dict[str, Any]:
        signed: Any = document or self.directory
        for state in states:
            signed = sign_directory(signed, state, self.party_keys[state])
        assert isinstance(signed, dict)
        return signed

    def verify(self, signed: object, **overrides: Any) -> Directory:
        arguments: dict[str, Any] = {
            "trusted_party_keys": self.trusted,
            "required_states": ("KZ", "AM"),
            "known_agreements": {"kz-am-2024"},
        } | overrides
        return verify_directory(signed, **arguments)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("keys")
    halves, party_keys = [], {}
    for state, (node_id, authorities, port) in NODES.items():
        store = FileKeyStore(root / state)
        for authority in authorities:
            store.generate(authority, T0)
        party_keys[state] = store.generate_party_key(state, T0).key
        halves.append(
            node_contribution(
                state=state,
                node_id=node_id,
                authorities=authorities,
                keystore=store,
                endpoint=f"https://127.0.0.1:{port}",
                trust_anchor_pems=[certificate_pem(create_state_ca(state, T0).certificate)],
                at=T0,
            )
        )
    directory = assemble_directory("kz-am-2024", 1, T0, halves)
    trusted = {s: public_key(k.as_dict()) for s, k in party_keys.items()}
    return World(directory, party_keys, trusted)


def _resign(world: World, payload: bytes, *states: str) -> dict[str, Any]:
    """Both parties' signatures over an arbitrary payload, bypassing sign_directory."""
    signatures = []
    for state in states:
        key = world.party_keys[state]
        header = {"alg": ALGORITHM, "kid": key.thumbprint(), "state": state, "typ": MEDIA_TYPE}
        one = jws.serialize_json({"protected": header}, payload, key, registry=REGISTRY)
        signatures.append({"protected": one["protected"], "signature": one["signature"]})
    return {"payload": one["payload"], "signatures": signatures}


def test_a_directory_signed_by_both_parties_verifies(world: World) -> None:
    signed = world.signed("KZ", "AM")
    assert [json.loads(jws_header(s))["state"] for s in signed["signatures"]] == ["KZ", "AM"]
    assert world.verify(signed) == world.directory
    assert world.verify(json.dumps(signed)) == world.directory
    assert world.verify(world.signed("AM", "KZ")) == world.directory


def jws_header(signature: Mapping[str, str]) -> bytes:
    return urlsafe_b64decode(signature["protected"].encode())


def test_files_round_trip(world: World, tmp_path: Path) -> None:
    write_signed_directory(tmp_path / "d.json", world.signed("KZ", "AM"))
    write_trusted_party_keys(tmp_path / "trusted.json", world.trusted)
    trusted = load_trusted_party_keys(tmp_path / "trusted.json")
    loaded = load_directory(
        tmp_path / "d.json", trusted, ("KZ", "AM"), known_agreements={"kz-am-2024"}
    )
    assert loaded == world.directory
    with pytest.raises(DirectoryInvalid, match=r"cannot read directory .*missing\.json"):
        load_directory(tmp_path / "missing.json", trusted, (), known_agreements=None)
    (tmp_path / "bad.json").write_text(json.dumps({"KZ": {"kty": "oct"}}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="KZ is unusable"):
        load_trusted_party_keys(tmp_path / "bad.json")


def test_a_missing_party_signature_is_refused(world: World) -> None:
    with pytest.raises(DirectoryInvalid, match="not signed by AM"):
        world.verify(world.signed("KZ"))
    # Even when the caller forgot to require AM, a directory listing AM needs AM's signature.
    with pytest.raises(DirectoryInvalid, match="speaks for AM without their signature"):
        world.verify(world.signed("KZ"), required_states=("KZ",))


def test_a_signature_by_an_untrusted_key_is_refused(world: World) -> None:
    rogue = OKPKey.generate_key("Ed25519", {"use": "sig"}, auto_kid=True)
    forged = sign_directory(world.signed("KZ"), "AM", rogue)
    with pytest.raises(DirectoryInvalid, match="not by its trusted party key"):
        world.verify(forged)
    third_state = sign_directory(world.signed("KZ", "AM"), "KG", rogue)
    with pytest.raises(DirectoryInvalid, match="KG, whose party key is not trusted"):
        world.verify(third_state)


def test_a_bad_signature_is_refused(world: World) -> None:
    signed = world.signed("KZ", "AM")
    other = world.signed("AM", "KZ")
    # KZ's header over AM's signature value: well-formed, but it does not verify.
    signed["signatures"][0]["signature"] = other["signatures"][0]["signature"]
    with pytest.raises(DirectoryInvalid, match="signature of KZ does not verify"):
        world.verify(signed)


def test_content_changed_after_signing_is_refused(world: World) -> None:
    signed = world.signed("KZ", "AM")
    moved = replace(world.directory.nodes["am-node"], endpoint="https://evil.example")
    changed = replace(
        world.directory,
        nodes={**world.directory.nodes, "am-node": moved},
        entries=tuple(
            replace(e, endpoint=moved.endpoint) if e.node_id == "am-node" else e
            for e in world.directory.entries
        ),
    )
    signed["payload"] = world.signed("KZ", document=changed)["payload"]
    with pytest.raises(DirectoryInvalid, match="changed after signing"):
        world.verify(signed)


def test_an_unknown_agreement_is_refused(world: World) -> None:
    signed = world.signed("KZ", "AM")
    with pytest.raises(DirectoryInvalid, match="'kz-am-2024', which this node does not take"):
        world.verify(signed, known_agreements={"kz-kg-example"})
    assert world.verify(signed, known_agreements=None) == world.directory


def test_malformed_documents_are_refused(world: World) -> None:
    good = world.signed("KZ", "AM")
    header = json.loads(jws_header(good["signatures"][0]))
    cases: list[object] = [
        b"not json",
        "[]",
        {"payload": good["payload"]},
        {**good, "extra": 1},
        {**good, "signatures": []},
        {**good, "signatures": [{**good["signatures"][0], "header": {}}]},
        {**good, "signatures": [good["signatures"][0], good["signatures"][0]]},
        {**good, "signatures": [{"protected": 1, "signature": "x"}]},
        {**good, "payload": good["payload"] + "="},
        {**good, "signatures": [{"protected": "e30", "signature": "AA"}]},
    ]
    for alg in ("EdDSA", "none"):
        tampered = copy.deepcopy(good)
        protected = json.dumps(header | {"alg": alg}).encode()
        tampered["signatures"][0]["protected"] = urlsafe_b64encode(protected).decode()
        cases.append(tampered)
    for case in cases:
        with pytest.raises(DirectoryInvalid):
            world.verify(case)


def test_well_signed_but_malformed_or_non_canonical_content_is_refused(world: World) -> None:
    canonical = directory_payload(world.directory)
    spaced = json.dumps(json.loads(canonical), indent=1).encode()
    with pytest.raises(DirectoryInvalid, match="not in canonical form"):
        world.verify(_resign(world, spaced, "KZ", "AM"))
    bad_version = canonical.replace(b'"version":1', b'"version":0')
    with pytest.raises(DirectoryInvalid, match="malformed") as caught:
        world.verify(_resign(world, bad_version, "KZ", "AM"))
    assert [p.where for p in caught.value.problems] == ["version"]
    with pytest.raises(DirectoryInvalid, match="malformed"):
        world.verify(_resign(world, b"[1, 2]", "KZ", "AM"))


def test_signing_rules(world: World) -> None:
    with pytest.raises(DirectoryInvalid, match="already signed by KZ"):
        sign_directory(world.signed("KZ"), "KZ", world.party_keys["KZ"])
    with pytest.raises(ValueError, match="private Ed25519"):
        sign_directory(world.directory, "KZ", world.trusted["KZ"])


FIELDS = st.sampled_from(["payload", "protected-0", "signature-0", "protected-1", "signature-1"])


@settings(max_examples=150, deadline=None)
@given(
    field=FIELDS, position=st.integers(min_value=0), replacement=st.sampled_from(B64URL + "=.+/ é")
)
def test_mutating_any_character_of_a_signed_directory_is_refused(
    world: World, field: str, position: int, replacement: str
) -> None:
    signed = world.signed("KZ", "AM")
    name, _, index = field.partition("-")
    holder = signed if not index else signed["signatures"][int(index)]
    value: str = holder[name]
    position %= len(value)
    if value[position] == replacement:
        replacement = "A" if replacement != "A" else "B"
    holder[name] = value[:position] + replacement + value[position + 1 :]
    with pytest.raises(DirectoryInvalid):
        world.verify(signed)


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_mutating_any_byte_of_the_file_is_refused_or_harmless(
    world: World, position: int, byte: int
) -> None:
    data = bytearray(json.dumps(world.signed("KZ", "AM"), indent=2).encode())
    position %= len(data)
    if data[position] == byte:
        byte ^= 0x01
    data[position] = byte
    try:
        found = world.verify(bytes(data))
    except DirectoryInvalid:
        return
    # Only whitespace between JSON tokens can change without changing what was signed.
    assert found == world.directory
