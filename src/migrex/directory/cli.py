"""`migrex pki demo|show-directory|rotate`: demo trust and node configurations, signed
directories, key rotation."""

from __future__ import annotations

import socket
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import hashes
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from migrex.audit import events
from migrex.audit.pending import record
from migrex.audit.tables import AuditLeafRow
from migrex.console import out
from migrex.context import node_from
from migrex.directory import Directory, PublishedKey, load_directory, load_trusted_party_keys
from migrex.directory.demo import (
    DEFAULT_DEMO_AGREEMENTS,
    DEFAULT_DEMO_NODES,
    bootstrap_demo,
    node_config,
)
from migrex.errors import ConfigurationError
from migrex.identity.keystore import FileKeyStore
from migrex.identity.pki import certificates_from_pem
from migrex.officers.cli_identity import administrator

app = typer.Typer(help="Keys, the demo PKI and signed agreement directories.", no_args_is_help=True)


DEMO_AGREEMENT_FILE = Path("agreements") / "kz-am-2024.toml"


@app.command()
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
            f"agreement file {agreement} not found: run from the migrex folder, or give --agreement"
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
    out.print(
        "Next, for each node: migrex --config DIR/node.toml db create, then "
        "migrex --config DIR/node.toml serve"
    )


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


@app.command("show-directory")
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


@app.command()
def rotate(
    ctx: typer.Context,
    key_dir: Annotated[Path, typer.Option(help="the node's key folder (data_dir/keys)")],
    authority: Annotated[str, typer.Option(help="the authority whose keys to rotate")],
    overlap_days: Annotated[
        float, typer.Option(help="days the previous keys stay valid", min=0)
    ] = 7.0,
    activate_in_hours: Annotated[
        float, typer.Option(help="hours until the new keys take over", min=0)
    ] = 0.0,
) -> None:
    """New signing and encryption keys; the old ones keep working through the overlap.

    With the node's configuration (`--config` or MIGREX_CONFIG) each new key is an
    administration entry ("key-rotated", the authority and the key id) in the node's audit
    log, written in the transaction that is committed once the keys are on disk; a key folder
    rotated without a node (before its database exists) is only reported."""
    now = datetime.now(UTC)
    configured = (ctx.find_root().obj or {}).get("config") is not None
    node = node_from(ctx) if configured else None
    with node.unit_of_work() if node is not None else nullcontext() as uow:
        if uow is not None:
            # Files are not transactional: reach the log first, so that a node whose database
            # is down refuses the rotation rather than rotating keys it cannot record.
            try:
                uow.session.execute(select(AuditLeafRow.position).limit(1))
            except SQLAlchemyError as error:
                raise ConfigurationError(
                    "the node's audit log cannot be reached (is the database up, and at "
                    "`migrex db upgrade`?): no key was rotated"
                ) from error
        pair = FileKeyStore(key_dir).rotate(
            authority,
            now,
            timedelta(days=overlap_days),
            activate_at=now + timedelta(hours=activate_in_hours),
        )
        if uow is not None:
            for key in pair:
                record(uow.session, events.administration(
                    at=now, actor=administrator(), action="key-rotated",
                    target=f"{authority}:{key.kid}",
                ))  # fmt: skip
            uow.commit()
    for key in pair:
        out.print(f"{authority} {key.use.name.lower()} key {key.kid} from {key.not_before}")
    if uow is None:
        out.print("[yellow]no node configuration: the rotation is not in an audit log[/]")
    out.print("Re-issue the agreement directories so partners learn the new keys.")


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
