"""The manifest: what a backup holds and the state of the node when it was taken.

It names the node, the schema revision, the audit log's size and root in the database
snapshot, how many rows each table held, and the SHA-256 of every file in the archive. It
carries no personal data: identifiers, counts and hashes only, so it may be printed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from migrex.backup.encryption import BackupRefused

FORMAT: Final = "migrex-backup/1"
NAME: Final = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    node_id: str
    state: str
    created_at: datetime
    migration_head: str
    database_dialect: str
    database_format: str
    audit_size: int
    audit_root: str
    rows: dict[str, int]
    files: dict[str, str]
    """Archive path → SHA-256 (hex) of the file."""
    config_files: dict[str, str] = field(default_factory=dict)
    """Archive path → the path the node's configuration named it by."""
    config_places: dict[str, list[str]] = field(default_factory=dict)
    """Setting → where its files are under `config/` (see `migrex.backup.configuration`);
    empty in a backup made before the restore rewrote the node file."""
    operator_key: str = ""
    """Fingerprint of the operator key the backup was encrypted to."""

    def encode(self) -> bytes:
        record: dict[str, Any] = asdict(self)
        record["created_at"] = self.created_at.isoformat()
        record["format"] = FORMAT
        return json.dumps(record, indent=2, sort_keys=True).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        try:
            record = json.loads(data.decode("utf-8"))
            if record.pop("format", None) != FORMAT:
                raise ValueError("not a version 1 manifest")
            record["created_at"] = datetime.fromisoformat(record["created_at"])
            return cls(**record)
        except (UnicodeDecodeError, ValueError, TypeError, KeyError) as error:
            raise BackupRefused(f"the backup's manifest is unreadable: {error}") from None

    def summary(self) -> str:
        """One line for the operator: identifiers and counts, never a row's content."""
        rows = sum(self.rows.values())
        return (f"node {self.node_id} ({self.state}) at {self.created_at:%Y-%m-%d %H:%M:%S}Z: "
                f"{rows} rows in {len(self.rows)} tables, audit log {self.audit_size} leaves, "
                f"schema {self.migration_head}")  # fmt: skip
