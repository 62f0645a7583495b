"""`migrex witness round`, and what `migrex audit verify` needs from the partners: their
cosigning keys from every signed directory, and the heads of our log they hold."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from migrex.audit.cosigners import CosignerKeys
from migrex.audit.heads_held import HeldHead
from migrex.audit.log_keys import log_keys
from migrex.console import out
from migrex.context import node_from
from migrex.errors import MigrexError
from migrex.exchange.trust import load_trust
from migrex.node import Node
from migrex.witness.jobs import checkpoint_round
from migrex.witness.keys import cosigner_keys, keep_directories
from migrex.witness.node import witnessing_node
from migrex.witness.rounds import file_audit_messages
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
