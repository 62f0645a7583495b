"""`migrex witness round`, and what `migrex audit verify` needs from the partners: their
cosigning keys from every signed directory, and the heads of our log they hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from migrex.audit.cosigners import CosignerKeys
from migrex.audit.heads_held import HeldHead
from migrex.audit.log_keys import log_keys
from migrex.console import json_array_option, out, print_json_array
from migrex.context import node_from
from migrex.errors import MigrexError
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.witness.jobs import checkpoint_round
from migrex.witness.keys import cosigner_keys, keep_directories
from migrex.witness.node import witnessing_node
from migrex.witness.recovery import (
    declare_for,
    held_by_witnesses,
    mark_recovered,
    pending_witnesses,
)
from migrex.witness.rounds import file_audit_messages
from migrex.witness.status import OurWitness, WitnessedLog, our_witnesses, witnessed_logs
from migrex.witness.with_partner import HttpsHeadsClient, heads_held_by_partners

app = typer.Typer(no_args_is_help=True)


@app.command("round")
def round_command(ctx: typer.Context) -> None:
    """One witnessing round now: answer partners' checkpoints, keep their cosignatures, and
    send our latest checkpoint to every partner whose answer to the previous one has come."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    witnessing = witnessing_node(node, trust)
    now = datetime.now(UTC)
    with node.unit_of_work() as uow:
        answered = file_audit_messages(uow, witnessing, now)
    sent = checkpoint_round(node, trust, witnessing, now)
    out.print(f"{answered} checkpoints and cosignatures handled; checkpoint sent to {sent} "
              "witness(es) (none: nothing new, or answers still awaited)")  # fmt: skip


@app.command("status")
def status_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, json_array_option("witness of our log (log: ours) and partner log we witness "
                                "(log: theirs)")
    ] = False,
) -> None:  # fmt: skip
    """How far each partner cosigned our log and we cosigned theirs, every recovery of a log
    declared between us, and a witness that refuses our log (sizes, times and authority ids
    only)."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    witnessing = witnessing_node(node, trust)
    with node.unit_of_work() as uow:
        ours, theirs = our_witnesses(uow.session, witnessing), witnessed_logs(uow.session)
    if as_json:
        print_json_array([*map(_our_witness_json, ours), *map(_witnessed_log_json, theirs)])
        return
    for w in ours:
        out.print(f"our log: {w.witness} cosigned up to {w.cosigned_size} leaves", highlight=False)
        for declared, restored in w.recoveries:
            restored_size = "?" if restored is None else restored.restored_size
            held = "unknown" if declared.held_size is None else declared.held_size
            out.print(f"  recovery declared {declared.declared_at:%Y-%m-%d %H:%M:%S}Z: restored "
                      f"at {restored_size} leaves, the witness had held {held}, recovery entry "
                      f"#{declared.leaf_position}", highlight=False)  # fmt: skip
        if w.awaiting:
            out.print("  [yellow]the latest recovery awaits the witness's cosignature[/]")
        if w.undeclared:
            out.print(f"  [yellow]{w.undeclared} restore(s) not yet declared: run `migrex "
                      "witness declare-recovery` or start the node[/]")  # fmt: skip
        if w.refused is not None:
            out.print(f"  [red]REFUSED {w.refused.at:%Y-%m-%d %H:%M:%S}Z: {w.refused.detail}[/]",
                      highlight=False)  # fmt: skip
    for log in theirs:
        out.print(f"{log.origin}: we cosigned up to {log.size} leaves", highlight=False)
        for r in log.recoveries:
            lost = "nothing" if r.abandoned_size is None else f"{r.abandoned_size} leaves"
            out.print(f"  [yellow]recovery declared by {r.authority}, recorded "
                      f"{r.recorded_at:%Y-%m-%d %H:%M:%S}Z: restored at {r.restored_size} "
                      f"leaves; we had witnessed {lost}; {r.heads_set_aside} receipt head(s) "
                      "set aside[/]", highlight=False)  # fmt: skip


def _our_witness_json(w: OurWitness) -> dict[str, Any]:
    return {
        "log": "ours", "witness": w.witness, "cosigned_size": w.cosigned_size,
        "recoveries": [
            {"declared_at": declared.declared_at, "leaf_position": declared.leaf_position,
             "restored_size": None if restored is None else restored.restored_size,
             "held_size": declared.held_size}
            for declared, restored in w.recoveries
        ],
        "awaiting_cosignature": w.awaiting, "undeclared": w.undeclared,
        "refused": None if w.refused is None else {
            "at": w.refused.at, "size": w.refused.size, "detail": w.refused.detail},
    }  # fmt: skip


def _witnessed_log_json(log: WitnessedLog) -> dict[str, Any]:
    return {
        "log": "theirs", "origin": log.origin, "cosigned_size": log.size,
        "recoveries": [
            {"authority": r.authority, "recorded_at": r.recorded_at,
             "restored_size": r.restored_size, "abandoned_size": r.abandoned_size,
             "heads_set_aside": r.heads_set_aside}
            for r in log.recoveries
        ],
    }  # fmt: skip


@app.command("declare-recovery")
def declare_recovery_command(ctx: typer.Context) -> None:
    """Declare to the partners' witnesses that our log was restored (after `migrex restore`,
    or at its current head when the node was moved to a fresh database by other means)."""
    node = node_from(ctx)
    trust = load_trust(node.settings, node.agreements)
    witnessing = witnessing_node(node, trust)
    now = datetime.now(UTC)
    with node.unit_of_work() as uow:
        if not pending_witnesses(uow.session, witnessing):
            mark_recovered(uow.session, now)
            uow.commit()
    made = declare_for(node, trust, witnessing, held_by_witnesses(node, trust, witnessing, now),
                       now)  # fmt: skip
    sent = checkpoint_round(node, trust, witnessing, now)
    for row in made:
        held = "unknown (unreachable)" if row.held_size is None else f"{row.held_size} leaves"
        out.print(f"recovery declared to {row.witness} (it held {held}); recovery entry "
                  f"#{row.leaf_position}; sent with our checkpoint to {sent} witness(es)",
                  highlight=False)  # fmt: skip


class PartnerSources:
    """`audit.cli.VerifySources` through the signed directories and the partners' door."""

    def cosigner_keys(self, node: Node) -> CosignerKeys:
        try:
            trust = load_trust(node.settings, node.agreements)
        except MigrexError:
            return {}  # no directories configured: only keys given by hand are checked
        with node.unit_of_work() as uow:
            keep_directories(uow.session, trust, datetime.now(UTC))
            uow.commit()
            return cosigner_keys(uow.session, trust)

    def held_heads(self, node: Node) -> list[HeldHead]:
        trust = load_trust(node.settings, node.agreements)
        client = HttpsHeadsClient(trust)
        try:
            held = heads_held_by_partners(trust, witnessing_node(node, trust), log_keys(node),
                                          client, datetime.now(UTC))  # fmt: skip
        finally:
            client.close()
        if held.unverifiable:
            out.print(f"[yellow]{held.unverifiable} item(s) from {', '.join(held.asked)} are not "
                      "signed by this node and were ignored[/]")  # fmt: skip
        return held.heads
