"""What casework needs to know of the node it runs in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from migrex import features
from migrex.agreements import Agreement
from migrex.identity import FileKeyStore, KeyUse
from migrex.identity.node_secrets import node_secret
from migrex.ledger.service import SUBJECT_KEY
from migrex.node import Node
from migrex.retention.service import RETENTION_KEY

HIT_REFERENCE_KEY = "hit-reference.key"


__all__ = ["HIT_REFERENCE_KEY", "SUBJECT_KEY", "NodeContext", "hit_reference_key", "node_context"]


@dataclass(frozen=True)
class NodeContext:
    """The node's agreements, hosted authorities, and the key of the subject hashes its
    disclosure ledger and audit log record."""

    agreements: Mapping[str, Agreement]
    hosted: Sequence[str]
    subject_key: bytes = field(repr=False)
    retention_key: bytes = field(repr=False)
    # Our authorities' signing keys (private JWKs, every one still valid or not): a received
    # outcome that claims our co-signature is checked against them before it closes a case.
    own_signing_keys: Callable[[str], Sequence[OKPKey]] = field(
        default=lambda _authority: (), repr=False
    )
    # Message type → what a feature above casework does when such a message is filed
    # (`migrex.features.Feature.filing_hooks`).
    filing_hooks: Mapping[str, FilingHook] = field(default_factory=dict, repr=False)
    # Message type → inbox status: kinds of no case that a feature files itself
    # (`migrex.features.Feature.own_kinds`), left to it as they arrive.
    set_aside: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Message type → what a feature above casework does when the node sends such a message
    # on a case (`migrex.features.Feature.sending_hooks`).
    sending_hooks: Mapping[str, SendingHook] = field(default_factory=dict, repr=False)


class FilingHook(Protocol):
    """Called inside the message's savepoint; raises a MigrexError to quarantine it."""

    def __call__(
        self, session: Session, agreement: Agreement, sender: str, body: Any, *,
        message_id: str, case_id: str, now: datetime,
    ) -> None: ...  # fmt: skip


class SendingHook(Protocol):
    """Called by the outgoing gate once a message passed its checks, in the sender's
    transaction, with the case it goes out on; raising stops the send."""

    def __call__(
        self, session: Session, case_id: str, our_authority: str, body: Any, *, now: datetime
    ) -> None: ...


def node_context(node: Node) -> NodeContext:
    keys = node.settings.resolved_key_dir
    store = FileKeyStore(keys)

    def signing(authority: str) -> list[OKPKey]:
        return [k.key for k in store.all_keys(authority) if k.use is KeyUse.SIGNING]

    return NodeContext(
        node.agreements, node.settings.authorities,
        node_secret(keys, SUBJECT_KEY), node_secret(keys, RETENTION_KEY), signing,
        features.filing_hooks(), features.set_aside(), features.sending_hooks(),
    )  # fmt: skip


def hit_reference_key(key_dir: Path) -> bytes:
    """The node's secret for hit references (see `casework.disclosure.hit_reference`)."""
    return node_secret(key_dir, HIT_REFERENCE_KEY)
