"""Demo trust in one go: per state a CA, a node certificate, authority and party keys, and
for each agreement a directory signed by every party, copied to every node that takes part.

In a real deployment each ministry runs these steps on its own side and the parties exchange
only public material (CA certificates, party keys, directory halves and signatures); here one
process plays every party, which is what makes it a demo.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from migrex.directory.build import NodeContribution, assemble_directory, node_contribution
from migrex.directory.signing import SignedDirectory, sign_directory
from migrex.directory.store import write_signed_directory, write_trusted_party_keys
from migrex.errors import ConfigurationError
from migrex.identity.keys import public_key
from migrex.identity.keystore import FileKeyStore
from migrex.identity.pki import (
    CertifiedKey,
    create_state_ca,
    issue_node_certificate,
    write_certificates_pem,
    write_private_key_pem,
)


@dataclass(frozen=True)
class DemoNodeSpec:
    """One demo node: its partners' door on `port`; its operator listener and officers' API
    (over TLS, with a certificate of its own) on theirs when given."""

    state: str
    node_id: str
    authorities: tuple[str, ...]
    port: int
    host: str = "127.0.0.1"
    operator_port: int | None = None
    officer_port: int | None = None

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}:{self.port}"


DEFAULT_DEMO_NODES: Final = (
    DemoNodeSpec("KZ", "kz-node", ("kz-mia", "kz-mlsp"), 8443),
    DemoNodeSpec("AM", "am-node", ("am-police", "am-mcs"), 8444),
)
DEFAULT_DEMO_AGREEMENTS: Final[Mapping[str, tuple[str, ...]]] = {"kz-am-2024": ("KZ", "AM")}


@dataclass(frozen=True)
class DemoUnitSpec:
    """A linkage unit's node for one agreement: hosted in `state` (its TLS certificate is from
    that state's CA), in its own folder `root/<folder>/`, its only "authority" the unit."""

    agreement_id: str
    unit_id: str
    state: str
    node_id: str
    port: int
    folder: str = "lu"
    host: str = "127.0.0.1"
    operator_port: int | None = None

    @property
    def node(self) -> DemoNodeSpec:
        return DemoNodeSpec(self.state, self.node_id, (self.unit_id,), self.port, self.host,
                            self.operator_port)  # fmt: skip


@dataclass(frozen=True)
class NodeTrust:
    """Where one node's trust material was written (all under `root/<state lowercase>/`)."""

    state: str
    node_id: str
    node_dir: Path
    ca_certificate: Path
    ca_key: Path
    node_certificate: Path
    node_key: Path
    officer_certificate: Path
    officer_key: Path
    trust_anchors: Path
    trusted_parties: Path
    key_dir: Path
    directories: Mapping[str, Path]


@dataclass(frozen=True)
class DemoTrust:
    root: Path
    nodes: Mapping[str, NodeTrust]  # by state
    units: Mapping[str, NodeTrust] = field(default_factory=dict)  # by unit id


def node_trust_paths(
    root: Path, spec: DemoNodeSpec, agreements: Sequence[str], folder: str | None = None
) -> NodeTrust:
    """The layout a node folder gets; the node's `data_dir` is `var`, so keys go to var/keys."""
    node_dir = root / (folder or spec.state.lower())
    pki = node_dir / "pki"
    return NodeTrust(
        state=spec.state,
        node_id=spec.node_id,
        node_dir=node_dir,
        ca_certificate=pki / "ca.pem",
        ca_key=pki / "ca-key.pem",
        node_certificate=pki / "node.pem",
        node_key=pki / "node-key.pem",
        officer_certificate=pki / "officers.pem",
        officer_key=pki / "officers-key.pem",
        trust_anchors=pki / "trust-anchors.pem",
        trusted_parties=pki / "trusted-parties.json",
        key_dir=node_dir / "var" / "keys",
        directories={a: node_dir / "directory" / f"{a}.json" for a in agreements},
    )


def bootstrap_demo(
    root: Path,
    nodes: Sequence[DemoNodeSpec],
    agreements: Mapping[str, Sequence[str]],
    now: datetime,
    units: Sequence[DemoUnitSpec] = (),
) -> DemoTrust:
    """Creates every node's PKI, keys and signed directories; refuses to overwrite any.

    Each of `units` gets a node folder of its own, a certificate from its host state's CA,
    the keys of its unit, and its place in its agreement's directory."""
    specs = {spec.state: spec for spec in nodes}
    partners = _partners(specs, agreements)
    trust = {
        state: node_trust_paths(root, spec, [a for a, s in agreements.items() if state in s])
        for state, spec in specs.items()
    }
    unit_trust = {
        unit.unit_id: node_trust_paths(root, unit.node, [unit.agreement_id], unit.folder)
        for unit in units
    }
    for paths in [*trust.values(), *unit_trust.values()]:
        if paths.ca_certificate.parent.exists() or paths.key_dir.exists():
            raise ConfigurationError(f"{paths.node_dir} already has keys or a PKI; remove them")

    cas: dict[str, CertifiedKey] = {}
    for state, spec in specs.items():
        cas[state] = _write_pki(trust[state], spec, now)
    stores = {state: FileKeyStore(trust[state].key_dir) for state in specs}
    party_keys = {state: stores[state].generate_party_key(state, now).key for state in specs}
    for state, spec in specs.items():
        for authority_id in spec.authorities:
            stores[state].generate(authority_id, now)

    for state, paths in trust.items():
        write_certificates_pem(
            paths.trust_anchors, [cas[p].certificate for p in sorted(partners[state])]
        )
        trusted = {s: public_key(party_keys[s].as_dict()) for s in (state, *partners[state])}
        write_trusted_party_keys(paths.trusted_parties, trusted)

    unit_contributions = {}
    for unit in units:
        paths = unit_trust[unit.unit_id]
        parties = agreements[unit.agreement_id]
        _write_pki(paths, unit.node, now, ca=cas[unit.state])
        write_certificates_pem(paths.trust_anchors, [cas[p].certificate for p in sorted(parties)])
        write_trusted_party_keys(
            paths.trusted_parties, {s: public_key(party_keys[s].as_dict()) for s in parties}
        )
        store = FileKeyStore(paths.key_dir)
        store.generate(unit.unit_id, now)
        unit_contributions[unit.unit_id] = node_contribution(
            state=unit.state, node_id=unit.node_id, authorities=(unit.unit_id,), keystore=store,
            endpoint=unit.node.endpoint, at=now,
            trust_anchor_pems=[trust[unit.state].ca_certificate.read_text(encoding="ascii")],
        )  # fmt: skip

    for agreement_id, states in agreements.items():
        extra = [unit_contributions[u.unit_id] for u in units if u.agreement_id == agreement_id]
        signed = _signed_directory(
            agreement_id, states, specs=specs, trust=trust, stores=stores, now=now, extra=extra
        )
        for state in states:
            write_signed_directory(trust[state].directories[agreement_id], signed)
        for unit in units:
            if unit.agreement_id == agreement_id:
                write_signed_directory(unit_trust[unit.unit_id].directories[agreement_id], signed)
    return DemoTrust(root, trust, unit_trust)


def _partners(
    specs: Mapping[str, DemoNodeSpec], agreements: Mapping[str, Sequence[str]]
) -> dict[str, set[str]]:
    if len(specs) != len({spec.node_id for spec in specs.values()}):
        raise ValueError("every demo node needs its own state and node id")
    partners: dict[str, set[str]] = {state: set() for state in specs}
    for agreement_id, states in agreements.items():
        unknown = set(states) - set(specs)
        if unknown or len(set(states)) < 2:
            raise ValueError(f"{agreement_id} needs two or more of the demo nodes' states")
        for state in states:
            partners[state] |= set(states) - {state}
    lonely = sorted(state for state, found in partners.items() if not found)
    if lonely:
        raise ValueError(f"demo nodes of {', '.join(lonely)} take part in no agreement")
    return partners


def _write_pki(
    paths: NodeTrust, spec: DemoNodeSpec, now: datetime, ca: CertifiedKey | None = None
) -> CertifiedKey:
    """The node's certificates, from `ca` when given (a second node of a state), otherwise
    from a new CA of the node's state, which is written beside them."""
    own_ca = ca is None
    ca = ca or create_state_ca(spec.state, now)
    dns_names, ip_addresses = ["localhost"], ["127.0.0.1"]
    try:
        address = str(ipaddress.ip_address(spec.host))
    except ValueError:
        dns_names.append(spec.host)
    else:
        ip_addresses.append(address)
    node = issue_node_certificate(
        ca.certificate,
        ca.private_key,
        spec.node_id,
        now=now,
        dns_names=sorted(set(dns_names)),
        ip_addresses=sorted(set(ip_addresses)),
    )
    write_certificates_pem(paths.ca_certificate, [ca.certificate])
    if own_ca:
        # Kept beside the node only because this is a demo; a real CA key never leaves its CA.
        write_private_key_pem(paths.ca_key, ca.private_key)
    write_certificates_pem(paths.node_certificate, [node.certificate])
    write_private_key_pem(paths.node_key, node.private_key)
    # The officers' listener has a certificate of its own: the node's is for partners.
    officers = issue_node_certificate(
        ca.certificate,
        ca.private_key,
        f"{spec.node_id}-officers",
        now=now,
        dns_names=sorted(set(dns_names)),
        ip_addresses=sorted(set(ip_addresses)),
    )
    write_certificates_pem(paths.officer_certificate, [officers.certificate])
    write_private_key_pem(paths.officer_key, officers.private_key)
    return ca


def node_config(spec: DemoNodeSpec, agreement_files: Sequence[Path], database_url: str = "") -> str:
    """The node.toml of a demo node, beside its `pki/` and `directory/` folders: loopback
    only, mutual TLS with the partners, TLS for the officers."""

    def toml_list(items: Sequence[str]) -> str:
        return ", ".join(f'"{item}"' for item in items)

    agreements = toml_list([path.resolve().as_posix() for path in agreement_files])
    lines = [
        f"# Demo node of {spec.state}: loopback only, mutual TLS with the partner.",
        "[node]",
        f'node_id = "{spec.node_id}"',
        f'state = "{spec.state}"',
        f"authorities = [{toml_list(spec.authorities)}]",
        f"agreements = [{agreements}]",
        'data_dir = "var"',
        f'database_url = "{database_url}"',
        f'listen_host = "{spec.host}"',
        f"listen_port = {spec.port}",
        'tls_cert = "pki/node.pem"',
        'tls_key = "pki/node-key.pem"',
        'tls_trust_anchors = ["pki/trust-anchors.pem"]',
        'trusted_parties = "pki/trusted-parties.json"',
        'directory_dir = "directory"',
    ]
    if spec.operator_port is not None:
        lines += [
            'operator_listen_host = "127.0.0.1"',
            f"operator_listen_port = {spec.operator_port}",
        ]
    if spec.officer_port is not None:
        lines += [
            f'officer_listen_host = "{spec.host}"',
            f"officer_listen_port = {spec.officer_port}",
            'officer_tls_cert = "pki/officers.pem"',
            'officer_tls_key = "pki/officers-key.pem"',
        ]
    return "\n".join(lines) + "\n"


def _signed_directory(
    agreement_id: str,
    states: Sequence[str],
    *,
    specs: Mapping[str, DemoNodeSpec],
    trust: Mapping[str, NodeTrust],
    stores: Mapping[str, FileKeyStore],
    now: datetime,
    version: int = 1,
    extra: Sequence[NodeContribution] = (),
) -> SignedDirectory:
    contributions = [
        node_contribution(
            state=state,
            node_id=specs[state].node_id,
            authorities=specs[state].authorities,
            keystore=stores[state],
            endpoint=specs[state].endpoint,
            trust_anchor_pems=[trust[state].ca_certificate.read_text(encoding="ascii")],
            at=now,
        )
        for state in states
    ]
    directory = assemble_directory(agreement_id, version, now, [*contributions, *extra])
    first, *others = states
    signed = sign_directory(directory, first, stores[first].party_key(first, now).key)
    for state in others:
        signed = sign_directory(signed, state, stores[state].party_key(state, now).key)
    return signed


def reissue_demo_directory(
    root: Path,
    nodes: Sequence[DemoNodeSpec],
    agreement_id: str,
    states: Sequence[str],
    *,
    version: int,
    now: datetime,
) -> SignedDirectory:
    """A new version of an agreement's directory after a key rotation, signed by every party
    and written to every node's folder. Running nodes pick it up without a restart."""
    specs = {spec.state: spec for spec in nodes if spec.state in states}
    trust = {state: node_trust_paths(root, spec, [agreement_id]) for state, spec in specs.items()}
    stores = {state: FileKeyStore(paths.key_dir) for state, paths in trust.items()}
    signed = _signed_directory(
        agreement_id, states, specs=specs, trust=trust, stores=stores, now=now, version=version
    )
    for state in states:
        write_signed_directory(trust[state].directories[agreement_id], signed)
    return signed
