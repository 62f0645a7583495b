"""Moved to `migrex.identity.node_secrets` (this name shadows the standard library's `secrets`).

Kept only until `casework/service.py` imports `node_secret` from `migrex.identity`; delete then.
"""

from __future__ import annotations

from migrex.identity.node_secrets import SECRET_BYTES, node_secret

__all__ = ["SECRET_BYTES", "node_secret"]
