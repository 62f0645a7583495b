"""The log entries the node's use cases make, built in one place so every feature records
the same facts the same way: references and hashes, never personal data."""

from __future__ import annotations

import re
from datetime import datetime

from migrex.audit.leaves import AuditLeaf, LeafKind

_UNSAFE = re.compile(r"[^A-Za-z0-9._:/+=#-]")


def token(text: str) -> str:
    """`text` as a leaf token: spaces and other characters a token cannot hold become "-"
    (actors are account names such as "cli:root" or "officer:anna"; this only guards)."""
    cleaned = _UNSAFE.sub("-", text.strip())[:200]
    return cleaned if cleaned and cleaned[0].isalnum() else f"x{cleaned}"[:200]


def message_sent(
    *, at: datetime, sender: str, message_id: str, envelope_sha256: str, actor: str = "relay"
) -> AuditLeaf:
    return AuditLeaf(LeafKind.MESSAGE_SENT, at, token(actor), sender, message_id=message_id,
                     envelope_sha256=envelope_sha256)  # fmt: skip


def receipt(
    *, at: datetime, sender: str, receiver: str, message_id: str, envelope_sha256: str
) -> AuditLeaf:
    """The partner's signed receipt for one of our messages was stored."""
    return AuditLeaf(
        LeafKind.RECEIPT, at, "relay", sender, message_id=message_id,
        envelope_sha256=envelope_sha256, reference=f"receipt-from:{receiver}",
    )  # fmt: skip


def message_received(
    *, at: datetime, recipient: str, sender: str, message_id: str, envelope_sha256: str
) -> AuditLeaf:
    return AuditLeaf(LeafKind.MESSAGE_RECEIVED, at, f"partner:{sender}", recipient,
                     message_id=message_id, envelope_sha256=envelope_sha256)  # fmt: skip


def decision(
    *, at: datetime, actor: str, authority: str, case_id: str, event: str,
    purpose: str | None, message_id: str | None = None,
) -> AuditLeaf:  # fmt: skip
    return AuditLeaf(LeafKind.DECISION, at, token(actor), authority, message_id=message_id,
                     purpose=purpose, reference=f"case:{case_id}:{event}")  # fmt: skip


def personal_data_read(
    *, at: datetime, actor: str, authority: str, message_id: str, purpose: str | None,
    subject_hash: str,
) -> AuditLeaf:  # fmt: skip
    return AuditLeaf(LeafKind.PERSONAL_DATA_READ, at, token(actor), authority,
                     message_id=message_id, purpose=purpose, subject_hash=subject_hash)  # fmt: skip


def erasure(*, at: datetime, authority: str, message_id: str) -> AuditLeaf:
    return AuditLeaf(LeafKind.ERASURE, at, "retention", authority, message_id=message_id,
                     reference="crypto-shredded")  # fmt: skip


def checkpoint_cosigned(*, at: datetime, authority: str, origin: str, size: int) -> AuditLeaf:
    """We witnessed a partner's log: its origin and the size we cosigned."""
    return AuditLeaf(LeafKind.CHECKPOINT_COSIGNED, at, "witness", authority,
                     reference=f"checkpoint:{token(origin)}:{size}")  # fmt: skip


def personal_data_shown(
    *, at: datetime, actor: str, authority: str, subject_hash: str, reference: str,
    purpose: str | None = None,
) -> AuditLeaf:  # fmt: skip
    """Someone was shown personal data that is not a stored message: a drafted answer, a
    data-subject report. `reference` says what (`draft:12`, `subject-report`)."""
    return AuditLeaf(LeafKind.PERSONAL_DATA_READ, at, token(actor), authority, purpose=purpose,
                     subject_hash=subject_hash, reference=token(reference))  # fmt: skip


def analysis(*, at: datetime, actor: str, authority: str, reference: str) -> AuditLeaf:
    """An analyst's step on leads that sends nothing: a channels run stored
    (`channels-run:3:12-leads`), a lead opened as a case or dismissed (`lead:R3-L0001:dismiss`)."""
    return AuditLeaf(LeafKind.DECISION, at, token(actor), authority,
                     reference=token(reference))  # fmt: skip


def linkage_step(*, at: datetime, actor: str, authority: str, reference: str) -> AuditLeaf:
    """A step of a linkage run outside its case: encodings sent or received, a run compared,
    a result collected (`linkage:RUN:received:kz-mia:records=...`); counts, never a record."""
    return AuditLeaf(LeafKind.DECISION, at, token(actor), authority,
                     reference=token(reference))  # fmt: skip


def linkage_erased(*, at: datetime, actor: str, authority: str, reference: str) -> AuditLeaf:
    """A linkage unit deleted a run's encodings or results (`linkage:RUN:encodings-deleted:...`)."""
    return AuditLeaf(LeafKind.ERASURE, at, token(actor), authority,
                     reference=token(reference))  # fmt: skip


# Administration acts for the node as a whole, not for one of its authorities.
NODE = "node"


def forgotten(*, at: datetime, actor: str, reference: str) -> AuditLeaf:
    """Kept copies of the node's own register records were erased because the records left
    the register: `reference` gives what and how many (`channels-forgotten:members=3:...`),
    never a record."""
    return AuditLeaf(LeafKind.ERASURE, at, token(actor), NODE,
                     reference=token(reference))  # fmt: skip


def administration(*, at: datetime, actor: str, action: str, target: str) -> AuditLeaf:
    """An administrator's change to the node: `action` ("officer-added", "token-issued",
    "registry-imported", ...) on `target` (an officer's account name, a token id, a register)."""
    return AuditLeaf(LeafKind.ADMINISTRATION, at, token(actor), NODE,
                     reference=token(f"{action}:{target}"))  # fmt: skip


def recovery(
    *, at: datetime, authority: str, restored_size: int, restored_root: str,
    witness: str, witnessed_size: int | None,
) -> AuditLeaf:  # fmt: skip
    """Our log restored at `restored_size` leaves (root as hex) was declared to `witness`,
    which had last held `witnessed_size` leaves (None: it could not be asked)."""
    held = "unknown" if witnessed_size is None else str(witnessed_size)
    return AuditLeaf(LeafKind.RECOVERY, at, "administrator", authority,
                     reference=token(f"restored:{restored_size}:{restored_root}:"
                                     f"witness:{witness}:held:{held}"))  # fmt: skip


def recovery_witnessed(
    *, at: datetime, authority: str, origin: str, restored_size: int, abandoned_size: int | None
) -> AuditLeaf:
    """As a witness we accepted a partner's declared recovery of its log `origin`."""
    lost = "none" if abandoned_size is None else str(abandoned_size)
    return AuditLeaf(LeafKind.RECOVERY, at, "witness", authority,
                     reference=token(f"witnessed-recovery:{origin}:restored:{restored_size}:"
                                     f"abandoned:{lost}"))  # fmt: skip
