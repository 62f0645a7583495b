"""`migrex audit verify|prove|checkpoint|show`: the node's audit log from the command line.

What `verify` needs from outside this node's database, the partners' cosigning keys and the
heads of our log the partners hold, comes through `VerifySources`, which the feature list
names (`migrex.features.VERIFY_SOURCES`: witnessing implements it): this package talks to no
partner itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol, cast

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.table import Table

from migrex import features
from migrex.audit import log as audit_log
from migrex.audit.cosigners import CosignerKeys, always_valid, merged
from migrex.audit.heads_held import HeldHead
from migrex.audit.inspection import log_status, prove_message, verify_log
from migrex.audit.log_keys import LogKeys, log_keys
from migrex.audit.merkle import AuditError
from migrex.audit.verification import VerifyReport
from migrex.console import out, progress_bar
from migrex.context import node_from
from migrex.node import Node

__all__ = ["VERIFY_SOURCES", "LogKeys", "VerifySources", "app", "log_keys"]

VERIFY_SOURCES = "audit.verify_sources"
"""Key under which a caller may put its own `VerifySources` in the context object."""


class VerifySources(Protocol):
    """Where `verify` finds what it checks the log against beyond the log itself."""

    def cosigner_keys(self, node: Node) -> CosignerKeys:
        """Every key each witness ever cosigned with, by witness name (empty: none known)."""
        ...

    def held_heads(self, node: Node) -> list[HeldHead]:
        """The heads of our log the partners hold, each signed by us; raises when a partner
        cannot be asked."""
        ...


app = typer.Typer(no_args_is_help=True)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _witness_keys(values: list[str]) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for value in values:
        name, _, material = value.partition("=")
        try:
            keys[name] = Ed25519PublicKey.from_public_bytes(base64.b64decode(material))
        except (binascii.Error, ValueError) as error:
            raise typer.BadParameter(
                f"{value!r} is not NAME=BASE64 of a raw Ed25519 key"
            ) from error
    return keys


def _sources(ctx: typer.Context) -> VerifySources:
    """The sources the caller put in the context (tests do), else the feature list's."""
    root = ctx.find_root().obj
    given = root.get(VERIFY_SOURCES) if isinstance(root, dict) else None
    if given is not None:
        return cast(VerifySources, given)
    return cast(VerifySources, features.resolve(features.VERIFY_SOURCES)())


def _report_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "size": report.size,
        "root_hash": _b64(report.root_hash),
        "checkpoints": report.checkpoints,
        "cosignatures": report.cosignatures,
        "partner_heads": report.partner_heads,
        "problems": [
            {"kind": str(p.kind), "position": p.position, "message": p.message}
            for p in report.problems
        ],
        "omitted": report.omitted,
    }


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    witness_key: Annotated[
        list[str] | None,
        typer.Option(help="a witness's cosigning key as NAME=BASE64 (raw Ed25519), repeatable"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="processes decoding leaf rows (default: one per CPU for large logs)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    with_partner: Annotated[
        bool,
        typer.Option(
            "--with-partner",
            help="also ask each partner node for the heads of this log it holds (the "
            "checkpoints it cosigned, our receipts' heads) and report a rollback or fork",
        ),
    ] = False,
) -> None:
    """Rebuild the tree from the leaf rows and check nodes, head, checkpoints, cosignatures,
    and with --with-partner what the partners saw of the log.

    Exits with the audit code (10) when anything is wrong.
    """
    node = node_from(ctx)
    keys = log_keys(node)
    sources = _sources(ctx)
    # The partners' keys from the signed directories, and any given by hand.
    witnesses = merged(sources.cosigner_keys(node), always_valid(_witness_keys(witness_key or [])))
    held = sources.held_heads(node) if with_partner else []
    with node.unit_of_work() as uow, progress_bar() as bar:
        task = bar.add_task("verifying", total=None)
        verified = verify_log(
            uow.session, keys, witnesses, held_heads=held,
            on_chunk=lambda done, total: bar.update(task, completed=done, total=total),
            workers=workers,
        )  # fmt: skip
    report = verified.report
    recoveries = [
        {"position": r.position, "at": r.at.isoformat(), "actor": r.actor,
         "reference": r.reference}
        for r in verified.recoveries
    ]  # fmt: skip
    if as_json:
        print(json.dumps({**_report_json(report), "recoveries": recoveries}))
    else:
        for problem in report.problems:
            where = "" if problem.position is None else f"[yellow]{problem.position}[/]: "
            out.print(f"[red]{problem.kind}[/] {where}{problem.message}", highlight=False)
        if report.omitted:
            out.print(f"… and {report.omitted} more problems")
        for recovery in recoveries:
            out.print(f"[yellow]declared recovery[/] at leaf {recovery['position']} "
                      f"({recovery['at']}): {recovery['reference']}", highlight=False)  # fmt: skip
        verdict = "[green]intact[/]" if report.ok else "[bold red]NOT intact[/]"
        seen = f", {report.partner_heads} heads held by partners" if with_partner else ""
        out.print(
            f"{report.size} leaves, {report.checkpoints} checkpoints, "
            f"{report.cosignatures} cosignatures{seen}: {verdict}"
        )
    if not report.ok:
        raise typer.Exit(AuditError.exit_code)


@app.command("prove")
def prove_command(
    ctx: typer.Context, message_id: Annotated[str, typer.Argument(help="the message's id")]
) -> None:
    """Print, as JSON, the inclusion proof of every entry about a message against a signed
    checkpoint (signing a new one when the latest does not cover them yet)."""
    node = node_from(ctx)
    with node.unit_of_work() as uow:
        proof = prove_message(uow.session, log_keys(node), message_id, datetime.now(UTC))
        uow.commit()
    print(json.dumps(proof, indent=2))


@app.command("checkpoint")
def checkpoint_command(ctx: typer.Context) -> None:
    """Sign the log's current size and root and print the checkpoint note."""
    node = node_from(ctx)
    keys = log_keys(node)
    with node.unit_of_work() as uow:
        signed = audit_log.make_checkpoint(
            uow.session, keys.origin, keys.origin, keys.private_key, datetime.now(UTC)
        )
        uow.commit()
    out.print(signed.note, end="", highlight=False, markup=False)


@app.command("show")
def show_command(ctx: typer.Context) -> None:
    """The log's size and root, its latest checkpoint and the witnesses that cosigned it."""
    node = node_from(ctx)
    keys = log_keys(node)
    with node.unit_of_work() as uow:
        status = log_status(uow.session)
    out.print(f"origin        {keys.origin}", highlight=False)
    out.print(f"verifier key  {keys.verifier_key}", highlight=False)
    out.print(f"leaves        {status.size}", highlight=False)
    out.print(f"root          {status.root}", highlight=False)
    if status.checkpoint_signed_at is None:
        out.print("no checkpoint signed yet (migrex audit checkpoint)")
        return
    out.print(
        f"checkpoint    {status.checkpoint_size} leaves, "
        f"signed {status.checkpoint_signed_at.isoformat()}",
        highlight=False,
    )
    table = Table("witness", "cosigned at size", "received")
    for row in status.cosignatures:
        table.add_row(row.witness, str(row.size), row.received_at.isoformat(timespec="seconds"))
    out.print(table if status.cosignatures else "no cosignatures yet")
