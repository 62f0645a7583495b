"""`migrex pki demo|show-directory`: demo trust and signed directories shown.

The functions are commands of the `migrex pki` group, which `migrex.rotation.cli` assembles
with `pki rotate` (a rotation goes through the exchange, a layer above this package)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import hashes
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from migrex.console import out
from migrex.directory import Directory, PublishedKey, load_directory, load_trusted_party_keys
from migrex.directory.demo import DEFAULT_DEMO_AGREEMENTS, DEFAULT_DEMO_NODES, bootstrap_demo
from migrex.identity.pki import certificates_from_pem


def demo(
    workspace: Annotated[Path, typer.Option(help="folder holding the node folders (kz/, am/)")],
) -> None:
    """Create CAs, node certificates, keys and signed directories for a KZ and an AM node."""
    trust = bootstrap_demo(
        workspace, list(DEFAULT_DEMO_NODES), DEFAULT_DEMO_AGREEMENTS, datetime.now(UTC)
    )
    table = _table("Demo trust written", "State", "What", "Path")
    for state, node in trust.nodes.items():
        rows = [
            ("node certificate / key", f"{node.node_certificate} / {node.node_key.name}"),
            ("TLS trust anchors", str(node.trust_anchors)),
            ("trusted party keys", str(node.trusted_parties)),
            ("key store", str(node.key_dir)),
            *((f"directory {a}", str(p)) for a, p in node.directories.items()),
        ]
        for what, path in rows:
            _row(table, state, what, path)
    out.print(table)


def show_directory(
    file: Annotated[Path, typer.Argument(help="a signed directory (JSON)")],
    trusted: Annotated[Path, typer.Option(help="the node's trusted-parties.json")],
    require: Annotated[
        list[str] | None, typer.Option(help="a state whose signature must be present")
    ] = None,
) -> None:
    """Verify a directory against trusted party keys and show what it lists."""
    keys = load_trusted_party_keys(trusted)
    directory = load_directory(file, keys, require or (), known_agreements=None)
    out.print(render_directory(directory, datetime.now(UTC)))


def render_directory(directory: Directory, at: datetime) -> RenderableType:
    """The directory as tables; each key marked active, pending or expired at `at`."""
    head = _table(f"Directory of {directory.agreement_id}", "Key", "Value")
    _row(head, "version", str(directory.version))
    _row(head, "issued at", directory.issued_at.isoformat())
    _row(head, "signed by", ", ".join(sorted(directory.states)))
    nodes = _table("Nodes", "Node", "State", "Endpoint")
    for node in directory.nodes.values():
        _row(nodes, node.node_id, node.state, node.endpoint)
    keys = _table("Authorities and keys", "Authority", "Node", "Use", "Key id", "Valid", "Now")
    for entry in directory.entries:
        for use, published in (
            *(("signing", k) for k in entry.signing_keys),
            *(("encryption", k) for k in entry.encryption_keys),
        ):
            _row(
                keys,
                entry.authority_id,
                entry.node_id,
                use,
                published.kid,
                f"{published.not_before:%Y-%m-%d %H:%M} to {published.not_after:%Y-%m-%d %H:%M}",
                _status(published, at),
            )
    anchors = _table("TLS trust anchors", "State", "Subject", "SHA-256 fingerprint")
    for state, pems in directory.trust_anchors.items():
        for pem in pems:
            certificate = certificates_from_pem(pem, f"trust anchor of {state}")[0]
            fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":")
            _row(anchors, state, certificate.subject.rfc4514_string(), fingerprint)
    return Group(head, nodes, keys, anchors)


def _status(published: PublishedKey, at: datetime) -> str:
    if published.valid_at(at):
        return "active"
    return "pending" if at < published.not_before else "expired"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _row(table: Table, *cells: str) -> None:
    # Text, not markup: certificate subjects come from partners, and a fingerprint such as
    # `27:cd:f8` would otherwise turn into an emoji.
    table.add_row(*(Text(cell) for cell in cells))
