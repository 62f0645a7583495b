"""The partners' cosigning keys, every one their signed directories ever listed.

`verify` checks each cosignature with the key it was made with, which after a rotation is no
longer the partner's current key, and after the old key's end is no longer in the current
directory at all: so every directory version this node took is kept (`WitnessDirectory`) and
read back here, each checked again against the parties' keys before it is believed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from migrex.audit.checkpoint import ed25519_public_key
from migrex.audit.cosigners import CosignerKey
from migrex.audit.store import insert_ignoring_conflict
from migrex.directory import Directory, DirectoryInvalid, verify_directory
from migrex.exchange.trust import Trust
from migrex.witness.tables import WitnessDirectory, directories_table


def keep_directories(session: Session, trust: Trust, now: datetime) -> None:
    """Keep each agreement's signed directory as its file holds it, once per version."""
    for agreement_id, path in trust.directory_files.items():
        current = trust.directories.get(agreement_id)
        kept = None if current is None else (agreement_id, current.version)
        if kept is not None and session.get(WitnessDirectory, kept) is not None:
            continue
        try:
            document = path.read_text(encoding="utf-8")
            directory = _verified(trust, agreement_id, document)
        except (OSError, DirectoryInvalid):
            continue  # the node runs on the directory it has; the operator sees the file
        insert_ignoring_conflict(
            session,
            directories_table,
            {"agreement_id": agreement_id, "version": directory.version, "document": document,
             "kept_at": now},
        )  # fmt: skip


def _verified(trust: Trust, agreement_id: str, document: str) -> Directory:
    return verify_directory(
        document,
        trust.trusted_parties,
        trust.required_states.get(agreement_id, frozenset()),
        known_agreements={agreement_id},
    )


def _kept(session: Session, trust: Trust) -> list[Directory]:
    """Every kept version whose signatures still verify, oldest first."""
    rows = session.execute(
        select(WitnessDirectory.agreement_id, WitnessDirectory.document).order_by(
            WitnessDirectory.version
        )
    )
    found = []
    for agreement_id, document in rows:
        try:
            found.append(_verified(trust, agreement_id, document))
        except DirectoryInvalid:
            continue  # altered in the database: its keys are not believed
    return found


def cosigner_keys(session: Session, trust: Trust) -> dict[str, list[CosignerKey]]:
    """Each partner authority's signing keys, by authority id (the name it cosigns under),
    with the validity the newest directory listing each key gives it."""
    listed: dict[tuple[str, str], CosignerKey] = {}
    directories = [*_kept(session, trust), *trust.all_versions()]
    for directory in sorted(directories, key=lambda d: d.version):
        for entry in directory.entries:
            if entry.authority_id in trust.hosted:
                continue
            for published in entry.signing_keys:
                public = ed25519_public_key(published.key)
                listed[entry.authority_id, published.kid] = CosignerKey(
                    public, published.not_before, published.not_after
                )
    keys: dict[str, list[CosignerKey]] = {}
    for (authority, _), key in listed.items():
        keys.setdefault(authority, []).append(key)
    return keys
