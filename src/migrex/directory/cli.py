"""`migrex pki demo|show-directory`: demo trust and node configurations, signed directories
shown.

The functions are commands of the `migrex pki` group, which `migrex.rotation.cli` assembles
with `pki rotate` (a rotation goes through the exchange, a layer above this package)."""

from __future__ import annotations

import socket
from dataclasses import replace
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
from migrex.directory.demo import (
    DEFAULT_DEMO_AGREEMENTS,
    DEFAULT_DEMO_NODES,
    bootstrap_demo,
    node_config,
)
from migrex.errors import ConfigurationError
from migrex.identity.pki import certificates_from_pem

DEMO_AGREEMENT_FILE = Path("agreements") / "kz-am-2024.toml"


def demo(
    workspace: Annotated[Path, typer.Option(help="folder holding the node folders (kz/, am/)")],
    port: Annotated[
        list[str] | None,
        typer.Option(help="STATE=PORT of a node's partners' door (default: a free port)"),
    ] = None,
    operator_port: Annotated[
        list[str] | None,
        typer.Option(help="STATE=PORT of a node's operator listener (default: a free port)"),
    ] = None,
    officer_port: Annotated[
        list[str] | None,
        typer.Option(help="STATE=PORT of a node's officers' API, over TLS (default: a free port)"),
    ] = None,
    agreement: Annotated[
        Path, typer.Option(help="the kz-am-2024 agreement file the nodes take part in")
    ] = DEMO_AGREEMENT_FILE,
) -> None:
    """Create CAs, node and officers' certificates, keys, signed directories and a node.toml
    for a KZ and an AM node on loopback; then `migrex --config DIR/kz/node.toml db create`."""
    if not agreement.is_file():
        raise ConfigurationError(
            f"agreement file {agreement} not found in {Path.cwd()}: run from the migrex folder "
            "(which holds agreements/), or give --agreement PATH"
        )
    states = [spec.state for spec in DEFAULT_DEMO_NODES]
    doors, operators, officers = (
        _ports(given, states, option)
        for given, option in ((port, "--port"), (operator_port, "--operator-port"),
                              (officer_port, "--officer-port"))
    )  # fmt: skip
    specs = [
        replace(spec, port=doors[spec.state], operator_port=operators[spec.state],
                officer_port=officers[spec.state])
        for spec in DEFAULT_DEMO_NODES
    ]  # fmt: skip
    trust = bootstrap_demo(workspace, specs, DEFAULT_DEMO_AGREEMENTS, datetime.now(UTC))
    table = _table("Demo trust written", "State", "What", "Path")
    for spec in specs:
        node = trust.nodes[spec.state]
        config = node.node_dir / "node.toml"
        config.write_text(node_config(spec, [agreement]), encoding="utf-8")
        rows = [
            ("node configuration", str(config)),
            ("partners' door", f"https://{spec.host}:{spec.port}"),
            ("operator listener", f"http://127.0.0.1:{spec.operator_port}"),
            ("officers' API", f"https://{spec.host}:{spec.officer_port}"),
            ("node certificate / key", f"{node.node_certificate} / {node.node_key.name}"),
            ("officers' certificate / key",
             f"{node.officer_certificate} / {node.officer_key.name}"),
            ("TLS trust anchors", str(node.trust_anchors)),
            ("trusted party keys", str(node.trusted_parties)),
            ("key store", str(node.key_dir)),
            *((f"directory {a}", str(p)) for a, p in node.directories.items()),
        ]  # fmt: skip
        for what, path in rows:
            _row(table, spec.state, what, path)
    out.print(table)
    out.print("Next, for each node, its database, then the node:")
    for spec in specs:
        config = trust.nodes[spec.state].node_dir / "node.toml"
        for command in ("db create", "serve"):
            out.print(f"  migrex --config {config} {command}", highlight=False, soft_wrap=True)


def _ports(given: list[str] | None, states: list[str], option: str) -> dict[str, int]:
    """STATE=PORT pairs, a free port for each state not given."""
    ports: dict[str, int] = {}
    for item in given or []:
        state, _, number = item.partition("=")
        if state.upper() not in states or not number.isdigit() or not 0 < int(number) < 65536:
            raise typer.BadParameter(
                f"{item!r}: give STATE=PORT with STATE one of {', '.join(states)}",
                param_hint=option,
            )
        ports[state.upper()] = int(number)
    return {state: ports.get(state) or _free_port() for state in states}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
