"""Is the node ready to exchange: its files, its own keys, and each partner's door.

`checked_runtime` is what `migrex serve` and `migrex relay` start from: a node whose
certificate, keys or directories are missing stops there with one line, before it listens.
The operator listener's `/ready` asks the same questions of the running node.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from migrex.checks import NodeFilesMissing, missing_files
from migrex.exchange.runtime import ExchangeRuntime
from migrex.exchange.trust import Trust
from migrex.identity.keys import KeyUse, current_key
from migrex.node import Node
from migrex.settings import Settings

PARTNER_TIMEOUT_SECONDS = 2.0


def file_problems(settings: Settings) -> list[str]:
    """What of the node's trust material is not on disk."""
    problems = missing_files([
        ("tls_cert", settings.tls_cert),
        ("tls_key", settings.tls_key),
        ("trusted_parties", settings.trusted_parties),
        *(("tls_trust_anchors", path) for path in settings.tls_trust_anchors),
    ])  # fmt: skip
    if not settings.tls_trust_anchors:
        problems.append("tls_trust_anchors (not set)")
    if settings.directory_dir is None or not settings.directory_dir.is_dir():
        problems.append(f"directory_dir {settings.directory_dir or '(not set)'}")
    if not settings.resolved_key_dir.is_dir():
        problems.append(f"key_dir {settings.resolved_key_dir}")
    return problems


def key_problems(trust: Trust, at: datetime) -> list[str]:
    """Each hosted authority needs a signing and an encryption key valid at `at`."""
    problems = []
    for authority in trust.hosted:
        keys = trust.keystore.all_keys(authority)
        for use in (KeyUse.SIGNING, KeyUse.ENCRYPTION):
            if current_key(keys, use, at) is None:
                problems.append(f"no valid {use.name.lower()} key for {authority}")
    return problems


def checked_runtime(node: Node, at: datetime) -> ExchangeRuntime:
    """The node's exchange runtime, once its files, directories, keys and TLS identity are
    found usable; otherwise one line naming what is missing."""
    missing = file_problems(node.settings)
    if missing:
        raise NodeFilesMissing(
            f"the node lacks {'; '.join(missing)}: set them in its configuration, or create "
            "them (`migrex pki demo` for a demo node)"
        )
    runtime = ExchangeRuntime.start_up(node)
    keys = key_problems(runtime.trust, at)
    if keys:
        raise NodeFilesMissing(
            f"{'; '.join(keys)} in {node.settings.resolved_key_dir}: restore the node's keys, "
            "or rotate them (`migrex pki rotate`)"
        )
    runtime.trust.server_context()  # a certificate that does not fit its key fails here
    return runtime


@dataclass(frozen=True)
class PartnerDoor:
    node_id: str
    state: str
    endpoint: str
    reachable: bool
    reason: str | None = None


def partner_doors(trust: Trust, own_state: str) -> dict[str, tuple[str, str]]:
    """Every partner node of every agreement: node id → (state, endpoint)."""
    return {
        node.node_id: (node.state, node.endpoint)
        for directory in trust.directories.values()
        for node in directory.nodes.values()
        if node.state != own_state
    }


def reach_partners(
    trust: Trust, own_state: str, timeout: float = PARTNER_TIMEOUT_SECONDS
) -> list[PartnerDoor]:
    """A mutual-TLS handshake with each partner's door, as the relay would make it."""
    context = trust.client_context()
    return [
        _reach(node_id, state, endpoint, context, timeout)
        for node_id, (state, endpoint) in sorted(partner_doors(trust, own_state).items())
    ]


def _reach(
    node_id: str, state: str, endpoint: str, context: ssl.SSLContext, timeout: float
) -> PartnerDoor:
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "", parts.port or 443
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            pass
    except (OSError, ssl.SSLError) as error:
        # The class and errno only: enough to tell a refused connection from a refused
        # certificate, and nothing a partner could make us log.
        reason = type(error).__name__ + (f" {error.errno}" if error.errno else "")
        return PartnerDoor(node_id, state, endpoint, reachable=False, reason=reason)
    return PartnerDoor(node_id, state, endpoint, reachable=True)
