"""The directory of one agreement: who is who, where they are, and which keys are theirs.

Pure objects and the questions the exchange asks of them. A `Directory` is built by
`directory.build` (one node's half at a time) or read from a signed document by
`directory.signing`; both check it with `directory_problems` first, so the queries can trust it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from urllib.parse import urlsplit

from cryptography import x509
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from migrex.errors import MigrexError, NotFound, Problem
from migrex.identity.keys import CURVES, KeyUse, public_key


class DirectoryInvalid(MigrexError):
    type_slug = "directory-invalid"
    title = "The agreement directory was rejected"
    status = 422


@dataclass(frozen=True)
class PublishedKey:
    """A public key as the directory lists it; `not_after` is exclusive."""

    kid: str
    jwk: Mapping[str, str] = field(hash=False)
    not_before: datetime
    not_after: datetime

    @cached_property
    def key(self) -> OKPKey:
        return public_key(self.jwk)

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at < self.not_after


@dataclass(frozen=True)
class DirectoryNode:
    """A node and the HTTPS endpoint its partners deliver to."""

    node_id: str
    state: str
    endpoint: str


@dataclass(frozen=True)
class DirectoryEntry:
    """A competent authority: the node hosting it and its published keys, oldest first."""

    authority_id: str
    state: str
    node_id: str
    endpoint: str
    signing_keys: tuple[PublishedKey, ...]
    encryption_keys: tuple[PublishedKey, ...]


@dataclass(frozen=True)
class Directory:
    """The signed who-is-who of one agreement; a higher `version` replaces a lower one."""

    agreement_id: str
    version: int
    issued_at: datetime
    entries: tuple[DirectoryEntry, ...]
    trust_anchors: Mapping[str, tuple[str, ...]] = field(hash=False)
    nodes: Mapping[str, DirectoryNode] = field(hash=False)

    @cached_property
    def _by_authority(self) -> Mapping[str, DirectoryEntry]:
        return {entry.authority_id: entry for entry in self.entries}

    @property
    def states(self) -> frozenset[str]:
        """Every state the directory speaks for; each must have signed it."""
        return frozenset(
            {e.state for e in self.entries}
            | {n.state for n in self.nodes.values()}
            | set(self.trust_anchors)
        )

    def entry(self, authority_id: str) -> DirectoryEntry:
        """The authority's entry; raises NotFound when the directory does not list it."""
        try:
            return self._by_authority[authority_id]
        except KeyError:
            raise NotFound(
                f"directory of {self.agreement_id} lists no authority {authority_id!r}"
            ) from None

    def signing_key(self, authority_id: str, kid: str, at: datetime) -> OKPKey | None:
        """The authority's verification key `kid` if it is listed and valid at `at`.

        During a rotation both the old and the new kid answer until the old one's end.
        """
        entry = self._by_authority.get(authority_id)
        if entry is None:
            return None
        for published in entry.signing_keys:
            if published.kid == kid and published.valid_at(at):
                return published.key
        return None

    def listed_signing_key(self, authority_id: str, kid: str) -> PublishedKey | None:
        """The authority's signing key `kid` as listed, whatever its window."""
        entry = self._by_authority.get(authority_id)
        if entry is None:
            return None
        return next((k for k in entry.signing_keys if k.kid == kid), None)

    def encryption_key(self, authority_id: str, at: datetime) -> tuple[str, OKPKey] | None:
        """(kid, key) to encrypt to: the most recently activated key valid at `at`."""
        entry = self._by_authority.get(authority_id)
        if entry is None:
            return None
        valid = [k for k in entry.encryption_keys if k.valid_at(at)]
        newest = max(valid, key=lambda k: (k.not_before, k.not_after, k.kid), default=None)
        return None if newest is None else (newest.kid, newest.key)

    def endpoint_of(self, authority_id: str) -> str:
        """The HTTPS endpoint of the node hosting the authority; NotFound when unlisted."""
        return self.entry(authority_id).endpoint

    def trust_anchors_of(self, state: str) -> tuple[str, ...]:
        return tuple(self.trust_anchors.get(state, ()))

    def all_trust_anchors(self, *, except_state: str | None = None) -> tuple[str, ...]:
        """The PEM trust anchors of every state (a node passes its own state as `except_state`)."""
        return tuple(
            pem
            for state, pems in sorted(self.trust_anchors.items())
            if state != except_state
            for pem in pems
        )


def directory_problems(directory: Directory) -> list[Problem]:
    """Everything inconsistent in a directory; empty when the queries may rely on it."""
    problems: list[Problem] = []
    if not directory.agreement_id:
        problems.append(Problem("agreement_id", "is empty"))
    if directory.version < 1:
        problems.append(Problem("version", "must be 1 or more"))
    for node_id, node in directory.nodes.items():
        where = f"nodes.{node_id}"
        if node.node_id != node_id:
            problems.append(Problem(where, f"names itself {node.node_id!r}"))
        if not _is_https(node.endpoint):
            problems.append(Problem(f"{where}.endpoint", "must be an https:// URL with a host"))
        if not directory.trust_anchors.get(node.state):
            problems.append(Problem(where, f"state {node.state} has no TLS trust anchor"))
    for state, pems in directory.trust_anchors.items():
        for number, pem in enumerate(pems):
            reason = _anchor_problem(pem)
            if reason:
                problems.append(Problem(f"trust_anchors.{state}[{number}]", reason))
    seen: set[str] = set()
    for index, entry in enumerate(directory.entries):
        where = f"entries[{index}]"
        if entry.authority_id in seen:
            problems.append(Problem(where, f"lists {entry.authority_id} a second time"))
        seen.add(entry.authority_id)
        host = directory.nodes.get(entry.node_id)
        if host is None:
            problems.append(Problem(where, f"names unknown node {entry.node_id!r}"))
        elif (host.state, host.endpoint) != (entry.state, entry.endpoint):
            problems.append(Problem(where, f"disagrees with node {host.node_id} on state/endpoint"))
        for use, keys in (
            (KeyUse.SIGNING, entry.signing_keys),
            (KeyUse.ENCRYPTION, entry.encryption_keys),
        ):
            if not keys:
                problems.append(Problem(where, f"publishes no {use.name.lower()} key"))
            for number, published in enumerate(keys):
                label = f"{where}.{use.name.lower()}_keys[{number}]"
                problems.extend(Problem(label, reason) for reason in _key_problems(published, use))
    return problems


def _key_problems(published: PublishedKey, use: KeyUse) -> list[str]:
    jwk = published.jwk
    problems: list[str] = []
    if "d" in jwk:
        problems.append("holds a private key")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != CURVES[use]:
        problems.append(f"is not an OKP {CURVES[use]} key")
    if jwk.get("use", use.value) != use.value:
        problems.append(f"is marked for use {jwk.get('use')!r}")
    if published.not_before >= published.not_after:
        problems.append("ends before it begins")
    if not problems:
        try:
            thumbprint = published.key.thumbprint()
        except (JoseError, ValueError, TypeError) as error:
            return [f"is not a usable key: {error}"]
        if thumbprint != published.kid or jwk.get("kid", published.kid) != published.kid:
            problems.append("kid is not the key's RFC 7638 thumbprint")
    return problems


def _anchor_problem(pem: str) -> str | None:
    try:
        found = x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except ValueError as error:
        return f"is not a PEM certificate: {error}"
    # One certificate per string, so each list item is one anchor to show or to drop.
    return None if len(found) == 1 else "holds several certificates"


def _is_https(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)


def check_directory(directory: Directory) -> Directory:
    """The directory itself; raises DirectoryInvalid listing every inconsistency."""
    problems = directory_problems(directory)
    if problems:
        raise DirectoryInvalid(
            f"directory of {directory.agreement_id or '?'} is inconsistent", problems
        )
    return directory


def check_update(current: Directory | None, candidate: Directory) -> Directory:
    """The candidate if it may replace `current`: same agreement, strictly newer version.

    Refusing an older or equal version stops a replayed directory from bringing back keys
    that a rotation retired.
    """
    if current is None:
        return candidate
    if candidate.agreement_id != current.agreement_id:
        raise DirectoryInvalid(
            f"directory is for {candidate.agreement_id}, not {current.agreement_id}"
        )
    if candidate.version <= current.version:
        raise DirectoryInvalid(
            f"directory version {candidate.version} does not replace version {current.version}"
        )
    return candidate
