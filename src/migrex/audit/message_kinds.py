"""The message types the audit log travels in between partner nodes, and the inbox status
they are filed under.

They live here, below both casework and witnessing: casework's filing clerk must recognise
these messages to hand them over, and must not depend on the package that witnesses them.
"""

from __future__ import annotations

from typing import Final

CHECKPOINT: Final = "audit-checkpoint"
"""A log's signed checkpoint, sent to a partner to witness."""
COSIGNATURE: Final = "audit-cosignature"
"""The witness's answer: the same checkpoint with its cosignature."""
AUDIT_TYPES: Final = frozenset({CHECKPOINT, COSIGNATURE})
FOR_AUDIT: Final = "for-audit"
"""Inbox status the casework clerk gives these messages, so the witness clerk takes them."""
