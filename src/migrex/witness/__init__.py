"""Witnessing through the exchange: each node's log is cosigned by its partners, which hold
its checkpoints and the heads its receipts state, and hand them back when it verifies itself.

This feature stands above both the audit log and the exchange. What the application wires:
`router` (the partner-facing route), `start_witnessing` (the background clerks), `app` (the
`migrex witness` command group) and `PartnerSources` (what `migrex audit verify` asks of
the partners).
"""

from __future__ import annotations

from migrex.witness.api import router
from migrex.witness.cli import PartnerSources, app
from migrex.witness.jobs import start_witnessing

__all__ = ["PartnerSources", "app", "router", "start_witnessing"]
