"""A node's log origin: the first line of every checkpoint it signs.

Both sides derive it the same way: the node from its settings, a partner from the directory
entry of any authority the node hosts, so a head read from a receipt and a checkpoint sent to
witness are filed under the same log.
"""

from __future__ import annotations


def log_origin(state: str, node_id: str) -> str:
    """The origin line of the log of node `node_id` in `state`: unique per node, stable for
    the log's whole life."""
    return f"migrex.{state.lower()}/{node_id}/audit"
