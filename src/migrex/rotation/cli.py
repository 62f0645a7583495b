"""`migrex pki demo|show-directory|rotate` and `migrex directory show|propose|sign|install`.

A rotation by default leaves traffic untouched: `pki rotate` adds pending keys and proposes the
next directory version to the partners through the exchange; the node activates the keys
when a partner's countersignature comes back. `directory sign` and `directory install` do the
same steps by hand, for a directory exchanged out of band.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from migrex.console import out
from migrex.context import node_from
from migrex.directory import DirectoryFiles, DirectoryInvalid, write_signed_directory
from migrex.directory.cli import demo, render_directory, show_directory
from migrex.exchange.trust import load_trust
from migrex.identity.keystore import FileKeyStore
from migrex.node import Node
from migrex.officers.cli_identity import administrator
from migrex.rotation import service
from migrex.rotation.queries import audit_log_reachable, directory_status

pki_app = typer.Typer(
    help="Keys, the demo PKI and signed agreement directories.", no_args_is_help=True
)
pki_app.command("demo")(demo)
pki_app.command("show-directory")(show_directory)

directory_app = typer.Typer(
    help="Agreement directories: show, propose, countersign, install.", no_args_is_help=True
)

AgreementOption = Annotated[str, typer.Option("--agreement", help="the agreement's id")]


def _configured(ctx: typer.Context) -> Node | None:
    return node_from(ctx) if (ctx.find_root().obj or {}).get("config") is not None else None


@pki_app.command()
def rotate(
    ctx: typer.Context,
    authority: Annotated[str, typer.Option(help="the authority whose keys to rotate")],
    key_dir: Annotated[
        Path | None,
        typer.Option(help="the node's key folder (default: the configured node's)"),
    ] = None,
    overlap_days: Annotated[
        float, typer.Option(help="days the previous keys stay valid after the new take over", min=0)
    ] = 7.0,
    activate_now: Annotated[
        bool,
        typer.Option(
            "--activate-now",
            help="EMERGENCY ONLY (a leaked key): use the new keys at once. The partners refuse "
            "everything this node sends, and it cannot read what they seal, until they install "
            "a directory listing the new keys (exchange it by hand: `directory propose --out`, "
            "`directory sign`, `directory install`).",
        ),
    ] = False,
) -> None:
    """New signing and encryption keys for an authority, without stopping traffic.

    By default the new keys are pending: the current keys go on signing and sealing, the next
    version of every agreement directory listing the authority is proposed to the partners
    through the exchange, and the node activates the new keys once a partner has countersigned
    and installed it (`migrex directory show` follows it). Each new key is an administration
    entry in the audit log when the node's configuration is given."""
    now = datetime.now(UTC)
    node = _configured(ctx)
    if key_dir is None:
        if node is None:
            raise typer.BadParameter(
                "give --key-dir, or the node's --config", param_hint="--key-dir"
            )
        key_dir = node.settings.resolved_key_dir
    store = FileKeyStore(key_dir)
    overlap = timedelta(days=overlap_days)
    with node.unit_of_work() if node is not None else nullcontext() as uow:
        if uow is not None:
            audit_log_reachable(uow)
        pair = service.rotate_keys(
            store, authority, now, activate_now=activate_now, overlap=overlap,
            session=None if uow is None else uow.session, actor=administrator(),
        )  # fmt: skip
        if uow is not None:
            uow.commit()
    state = "current now" if activate_now else "pending"
    for key in pair:
        out.print(f"{authority} {key.use.name.lower()} key {key.kid} ({state})")
    if activate_now:
        out.print("[bold red]The new keys are in use: partners refuse this node's messages "
                  "until they install a directory listing them.[/]")  # fmt: skip
    if node is None:
        out.print(
            "[yellow]no node configuration: the rotation is not in an audit log and no "
            "directory was proposed (`migrex --config NODE directory propose`)[/]"
        )
    elif key_dir.resolve() != node.settings.resolved_key_dir.resolve():
        out.print("[yellow]another folder than the node's: no directory was proposed[/]")
    else:
        _propose_listing(node, authority, now, send=not activate_now)


def _propose_listing(node: Node, authority: str, now: datetime, *, send: bool) -> None:
    trust = load_trust(node.settings, node.agreements)
    agreements = [
        agreement_id
        for agreement_id, directory in sorted(trust.directories.items())
        if any(e.authority_id == authority for e in directory.entries)
    ]
    for agreement_id in agreements:
        with node.unit_of_work() as uow:
            proposal = service.propose(
                uow, node, trust, agreement_id, now, send=send, actor=administrator()
            )
        _print_proposal(trust.files, proposal)
    if not agreements:
        out.print(f"[yellow]no installed directory lists {authority}[/]")


def _print_proposal(files: DirectoryFiles | None, proposal: service.Proposal) -> None:
    where = "" if files is None else f" (kept in {files.proposal(proposal.agreement_id)})"
    out.print(f"directory {proposal.agreement_id} version {proposal.version} proposed{where}")
    if proposal.sent_to:
        out.print(f"  sent to {', '.join(proposal.sent_to)}; the new keys take over when the "
                  "countersignature comes back")  # fmt: skip
    else:
        out.print("  not sent: give the file to the partner, who runs `migrex directory sign` "
                  "and `migrex directory install`; then install what they return here")  # fmt: skip


@directory_app.command("show")
def show(
    ctx: typer.Context,
    agreement: Annotated[
        str | None, typer.Option("--agreement", help="only this agreement's directory")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON: the directories, keys and updates")
    ] = False,
) -> None:
    """The installed directories, any version this node proposed, its keys and their state
    (active, pending, verification only), and the latest directory updates exchanged."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    now = datetime.now(UTC)
    with node.unit_of_work() as uow:
        status = directory_status(uow.session, node, trust, now, agreement)
    if as_json:
        print(json.dumps(status, default=str))
        return
    for item in status["agreements"]:
        out.print(render_directory(trust.directories[item["agreement_id"]], now))
        proposed = item["proposed_version"]
        out.print(f"proposed by this node: version {proposed}" if proposed
                  else "proposed by this node: nothing awaiting")  # fmt: skip
    for key in status["keys"]:
        out.print(f"{key['authority']} {key['use']} key {key['kid']}: {key['state']}")
    for update in status["updates"]:
        reason = f" ({update['reason']})" if update.get("reason") else ""
        out.print(f"{update['direction']} {update['message_id']} {update['peer']}: "
                  f"{update['status']}{reason}", markup=False, highlight=False)  # fmt: skip


@directory_app.command("propose")
def propose(
    ctx: typer.Context,
    agreement: AgreementOption,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="also write the signed proposal to this file")
    ] = None,
    send: Annotated[
        bool, typer.Option("--send/--no-send", help="send it to the partners through the exchange")
    ] = True,
) -> None:
    """Propose the next version of an agreement's directory with this node's keys as its key
    store holds them (pending keys included), signed by this node's state."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    with node.unit_of_work() as uow:
        audit_log_reachable(uow)
        proposal = service.propose(
            uow, node, trust, agreement, datetime.now(UTC), send=send, actor=administrator()
        )
    if out_file is not None:
        write_signed_directory(out_file, proposal.signed)
        out.print(f"written to {out_file}")
    _print_proposal(trust.files, proposal)


@directory_app.command("sign")
def sign(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a partner's proposed directory (JSON)")],
    out_file: Annotated[Path, typer.Option("--out", help="where to write it countersigned")],
) -> None:
    """Countersign a partner's proposal received out of band, after the checks the exchange
    makes: signed by the partner's trusted party key, the next version of the installed
    directory, and nothing of this node's state changed. Install the result with `install`."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    document = _read(file)
    directory = service.countersign(node, trust, document)
    signed = service.party_signature(node, trust, document, datetime.now(UTC))
    write_signed_directory(out_file, signed)
    out.print(f"directory {directory.agreement_id} version {directory.version} countersigned "
              f"by {node.settings.state}: {out_file}")  # fmt: skip


@directory_app.command("install")
def install(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a directory signed by every party (JSON)")],
    overlap_days: Annotated[
        float, typer.Option(help="days replaced keys stay valid after new ones take over", min=0)
    ] = 7.0,
) -> None:
    """Install a directory version every party signed, in place of the installed one (the
    running node takes it up at once), and activate this node's pending keys it lists."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    with node.unit_of_work() as uow:
        audit_log_reachable(uow)
        directory, activated, fresh = service.install(
            uow, node, trust, _read(file), datetime.now(UTC), actor=administrator(),
            overlap=timedelta(days=overlap_days),
        )  # fmt: skip
    done = "installed" if fresh else "was installed already: nothing changed"
    out.print(f"directory {directory.agreement_id} version {directory.version} {done}")
    for key in activated:
        out.print(f"{key.owner} {key.use.name.lower()} key {key.kid} activated")


def _read(path: Path) -> dict[str, Any]:
    found = DirectoryFiles(path.parent).read(path)
    if found is None:
        raise DirectoryInvalid(f"no such file: {path}")
    return found
