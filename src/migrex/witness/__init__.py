"""Witnessing through the exchange: each node's log is cosigned by its partners, which hold
its checkpoints and the heads its receipts state, and hand them back when it verifies itself.

This feature stands above both the audit log and the exchange. `migrex.features` wires it:
the `migrex witness` commands (`cli.app`), the partner-facing route (`api.router`), the
background clerks (`jobs.start_witnessing`) and what `migrex audit verify` asks of the
partners (`cli.PartnerSources`). Nothing is imported here, so that importing the tables
does not import the web stack.
"""
