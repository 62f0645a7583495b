"""A new directory version one party proposes and the others countersign: what the proposer
writes after a key rotation, and what a partner checks before it signs.

Pure. A proposal is the installed directory with the proposer's own half changed (its
authorities' keys, its nodes, its trust anchors) and the version one higher; every other
party's half must be exactly what that party installed, or a proposer could slip a key or an
endpoint into the partner's name and have the partner sign it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from migrex.directory.model import (
    Directory,
    DirectoryEntry,
    DirectoryInvalid,
    PublishedKey,
    check_directory,
)
from migrex.errors import NotFound, Problem
from migrex.identity.keys import AuthorityKey, KeyUse, utc


class DirectoryUpdateRefused(DirectoryInvalid):
    type_slug = "directory-update-refused"
    title = "The proposed directory version may not be countersigned or installed"
    status = 409


def published(keys: Iterable[AuthorityKey], use: KeyUse, at: datetime) -> tuple[PublishedKey, ...]:
    """The public halves of the keys of `use` not yet expired at `at`, oldest first; pending
    keys included, so partners learn a key before it is used."""
    return tuple(
        PublishedKey(k.kid, k.public_jwk(), k.not_before, k.not_after)
        for k in sorted(keys, key=lambda k: (k.not_before, k.kid))
        if k.use is use and k.not_after > utc(at)
    )


def proposed_version(
    current: Directory,
    state: str,
    keys: Mapping[str, Iterable[AuthorityKey]],
    issued_at: datetime,
) -> Directory:
    """The next version of `current` listing `keys` (by authority id) for `state`'s
    authorities; everything else is carried over unchanged.

    Raises DirectoryUpdateRefused when an authority is not `state`'s in `current`.
    """
    entries: list[DirectoryEntry] = []
    for entry in current.entries:
        if entry.authority_id not in keys:
            entries.append(entry)
            continue
        if entry.state != state:
            raise DirectoryUpdateRefused(f"{entry.authority_id} is not an authority of {state}")
        own = tuple(keys[entry.authority_id])
        entries.append(
            replace(
                entry,
                signing_keys=published(own, KeyUse.SIGNING, issued_at),
                encryption_keys=published(own, KeyUse.ENCRYPTION, issued_at),
            )
        )
    unknown = sorted(set(keys) - {e.authority_id for e in current.entries})
    if unknown:
        raise DirectoryUpdateRefused(
            f"the directory of {current.agreement_id} lists no {', '.join(unknown)}"
        )
    return check_directory(
        replace(
            current, version=current.version + 1, issued_at=utc(issued_at), entries=tuple(entries)
        )
    )


def update_problems(current: Directory, candidate: Directory, proposer: str) -> list[Problem]:
    """Why `candidate`, proposed by `proposer`, may not follow `current`; empty when it may."""
    problems: list[Problem] = []
    if candidate.agreement_id != current.agreement_id:
        problems.append(Problem("agreement_id", f"is not {current.agreement_id}"))
    if candidate.version != current.version + 1:
        problems.append(Problem("version", f"is {candidate.version}, not {current.version + 1}"))
    for state in sorted((current.states | candidate.states) - {proposer}):
        if _half(current, state) != _half(candidate, state):
            problems.append(Problem(state, f"the proposal changes {state}'s own entries"))
    return problems


def check_proposal(current: Directory, candidate: Directory, proposer: str) -> Directory:
    """The candidate when `proposer` may propose it after `current`; DirectoryUpdateRefused
    listing why otherwise."""
    problems = update_problems(current, candidate, proposer)
    if problems:
        raise DirectoryUpdateRefused(
            f"{proposer}'s proposed directory of {current.agreement_id} is refused", problems
        )
    return candidate


def new_keys_listed(directory: Directory, authority_id: str, kids: Iterable[str]) -> bool:
    """Whether the directory lists each of `kids` among the authority's keys."""
    try:
        entry = directory.entry(authority_id)
    except NotFound:
        return False
    listed = {k.kid for k in (*entry.signing_keys, *entry.encryption_keys)}
    return set(kids) <= listed


def _half(directory: Directory, state: str) -> tuple[object, ...]:
    return (
        tuple(e for e in directory.entries if e.state == state),
        tuple(sorted((i, n) for i, n in directory.nodes.items() if n.state == state)),
        tuple(directory.trust_anchors.get(state, ())),
    )
