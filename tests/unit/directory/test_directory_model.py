"""Building a directory from the nodes' halves and the questions the exchange asks of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jws

from migrex.directory import (
    Directory,
    DirectoryInvalid,
    NodeContribution,
    assemble_directory,
    check_update,
    directory_payload,
    directory_problems,
    next_version,
    node_contribution,
)
from migrex.errors import NotFound
from migrex.identity import FileKeyStore, certificate_pem, create_state_ca

T0 = datetime(2025, 9, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NODES = {
    "KZ": ("kz-node", ("kz-mia", "kz-mlsp"), "https://127.0.0.1:8443"),
    "AM": ("am-node", ("am-police", "am-mcs"), "https://127.0.0.1:8444"),
}
CA_PEMS = {state: certificate_pem(create_state_ca(state, T0).certificate) for state in NODES}


def _stores(root: Path) -> dict[str, FileKeyStore]:
    stores = {state: FileKeyStore(root / state) for state in NODES}
    for state, (_, authorities, _) in NODES.items():
        for authority in authorities:
            stores[state].generate(authority, T0)
    return stores


def _half(stores: dict[str, FileKeyStore], state: str, at: datetime) -> NodeContribution:
    node_id, authorities, endpoint = NODES[state]
    return node_contribution(
        state=state,
        node_id=node_id,
        authorities=authorities,
        keystore=stores[state],
        endpoint=endpoint,
        trust_anchor_pems=[CA_PEMS[state]],
        at=at,
    )


def _directory(stores: dict[str, FileKeyStore], at: datetime, version: int = 1) -> Directory:
    halves = [_half(stores, state, at) for state in NODES]
    return assemble_directory("kz-am-2024", version, at, halves)


def test_the_directory_lists_every_authority_with_its_node_and_keys(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    directory = _directory(stores, T0)
    assert [e.authority_id for e in directory.entries] == [
        "am-mcs",
        "am-police",
        "kz-mia",
        "kz-mlsp",
    ]
    assert directory.endpoint_of("am-police") == "https://127.0.0.1:8444"
    assert directory.entry("kz-mia").node_id == "kz-node"
    assert directory.states == {"KZ", "AM"}
    assert directory.trust_anchors_of("AM") == (CA_PEMS["AM"],)
    assert directory.all_trust_anchors(except_state="KZ") == (CA_PEMS["AM"],)
    kid = stores["KZ"].current_signing("kz-mia", T0).kid
    found = directory.signing_key("kz-mia", kid, T0)
    assert found is not None
    assert not found.is_private
    assert found.thumbprint() == kid
    encryption = directory.encryption_key("am-mcs", T0)
    assert encryption is not None
    assert encryption[0] == stores["AM"].current_encryption("am-mcs", T0).kid
    with pytest.raises(NotFound, match="no authority 'kz-police'"):
        directory.endpoint_of("kz-police")
    assert directory.signing_key("kz-police", kid, T0) is None
    assert directory.signing_key("kz-mlsp", kid, T0) is None  # another authority's kid
    assert directory.encryption_key("kz-police", T0) is None


def test_halves_in_any_order_give_the_same_bytes(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    forward = [_half(stores, s, T0) for s in ("KZ", "AM")]
    assert directory_payload(assemble_directory("kz-am-2024", 1, T0, forward)) == directory_payload(
        assemble_directory("kz-am-2024", 1, T0, reversed(forward))
    )


def test_rotation_keeps_the_old_kid_verifying_until_its_end(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    old = stores["KZ"].current_signing("kz-mia", T0)
    old_encryption = stores["KZ"].current_encryption("kz-mia", T0)
    token = jws.serialize_compact(
        {"alg": "Ed25519", "kid": old.kid}, b"claims", old.key, algorithms=["Ed25519"]
    )
    rotated_at = T0 + 30 * DAY
    fresh = stores["KZ"].rotate("kz-mia", rotated_at, 7 * DAY)
    directory = _directory(stores, rotated_at, version=2)
    end = rotated_at + 7 * DAY

    for at in (rotated_at, end - timedelta(seconds=1)):
        key = directory.signing_key("kz-mia", old.kid, at)
        assert key is not None
        assert jws.deserialize_compact(token, key, algorithms=["Ed25519"]).payload == b"claims"
    assert directory.signing_key("kz-mia", old.kid, end) is None
    assert directory.signing_key("kz-mia", fresh.signing.kid, end) is not None
    # Senders encrypt to the new key at once; the old one only still decrypts.
    assert directory.encryption_key("kz-mia", rotated_at) is not None
    assert directory.encryption_key("kz-mia", rotated_at)[0] == fresh.encryption.kid  # type: ignore[index]
    assert old_encryption.kid in {k.kid for k in directory.entry("kz-mia").encryption_keys}


def test_expired_keys_are_not_published_and_pending_ones_are(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    old = stores["KZ"].current_signing("kz-mia", T0)
    activate = T0 + 2 * DAY
    fresh = stores["KZ"].rotate("kz-mia", T0, DAY, activate_at=activate)
    soon = _directory(stores, T0)
    kids = {k.kid for k in soon.entry("kz-mia").signing_keys}
    assert kids == {old.kid, fresh.signing.kid}
    assert soon.signing_key("kz-mia", fresh.signing.kid, T0) is None  # not active yet
    later = _directory(stores, activate + DAY)
    assert {k.kid for k in later.entry("kz-mia").signing_keys} == {fresh.signing.kid}


def test_inconsistencies_are_all_reported(tmp_path: Path) -> None:
    directory = _directory(_stores(tmp_path), T0)
    kz_mia = directory.entry("kz-mia")
    leaked = replace(
        kz_mia.signing_keys[0],
        jwk={**kz_mia.signing_keys[0].jwk, "d": "secret"},
    )
    wrong_kid = replace(kz_mia.encryption_keys[0], kid="not-the-thumbprint")
    broken = replace(
        directory,
        version=0,
        entries=(
            replace(kz_mia, signing_keys=(leaked,), encryption_keys=(wrong_kid,)),
            replace(kz_mia, node_id="kz-node-2"),
            replace(directory.entry("am-mcs"), encryption_keys=()),
            replace(directory.entry("am-police"), endpoint="https://elsewhere:1"),
            replace(directory.entry("kz-mlsp"), signing_keys=kz_mia.encryption_keys),
        ),
        nodes={
            **directory.nodes,
            "am-node": replace(directory.nodes["am-node"], endpoint="http://x"),
        },
        trust_anchors={"KZ": ("junk",)},
    )
    reasons = {(p.where, p.reason) for p in directory_problems(broken)}
    expected = {
        ("version", "must be 1 or more"),
        ("nodes.am-node.endpoint", "must be an https:// URL with a host"),
        ("nodes.am-node", "state AM has no TLS trust anchor"),
        ("entries[0].signing_keys[0]", "holds a private key"),
        ("entries[0].encryption_keys[0]", "kid is not the key's RFC 7638 thumbprint"),
        ("entries[1]", "lists kz-mia a second time"),
        ("entries[1]", "names unknown node 'kz-node-2'"),
        ("entries[2]", "publishes no encryption key"),
        ("entries[3]", "disagrees with node am-node on state/endpoint"),
        ("entries[4].signing_keys[0]", "is not an OKP Ed25519 key"),
    }
    assert expected <= reasons
    assert any(where == "trust_anchors.KZ[0]" for where, _ in reasons)


def test_clashing_halves_are_refused(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    kz = _half(stores, "KZ", T0)
    with pytest.raises(DirectoryInvalid, match="contributes twice"):
        assemble_directory("kz-am-2024", 1, T0, [kz, kz])
    impostor = replace(kz, node=replace(kz.node, node_id="kz-node-2"))
    with pytest.raises(DirectoryInvalid, match="listed by two nodes"):
        assemble_directory("kz-am-2024", 1, T0, [kz, impostor])


def test_only_a_newer_version_of_the_same_agreement_replaces_a_directory(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    first = _directory(stores, T0)
    second = _directory(stores, T0 + DAY, version=next_version(first))
    assert check_update(None, first) is first
    assert check_update(first, second) is second
    with pytest.raises(DirectoryInvalid, match="does not replace"):
        check_update(second, first)
    with pytest.raises(DirectoryInvalid, match="not kz-am-2024"):
        check_update(first, replace(second, agreement_id="kz-kg-example"))
