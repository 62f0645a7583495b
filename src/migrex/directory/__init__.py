"""The per-agreement directory: authorities, node endpoints, keys and TLS trust anchors,
signed by every party. Other features use only what is exported here; the demo bootstrap
(`migrex.directory.demo`), the `migrex pki demo|show-directory` commands (`migrex.directory.cli`)
and the rules of a proposed version (`migrex.directory.updates`) are imported by module."""

from __future__ import annotations

from migrex.directory.build import (
    NodeContribution,
    assemble_directory,
    next_version,
    node_contribution,
)
from migrex.directory.model import (
    Directory,
    DirectoryEntry,
    DirectoryInvalid,
    DirectoryNode,
    PublishedKey,
    check_directory,
    check_update,
    directory_problems,
)
from migrex.directory.schemas import directory_from_payload, directory_payload
from migrex.directory.signing import (
    SignedDirectory,
    same_document,
    sign_directory,
    signers,
    verify_directory,
    verify_proposal,
)
from migrex.directory.store import (
    DirectoryFiles,
    load_directory,
    load_trusted_party_keys,
    write_signed_directory,
    write_trusted_party_keys,
)

__all__ = [
    "Directory",
    "DirectoryEntry",
    "DirectoryFiles",
    "DirectoryInvalid",
    "DirectoryNode",
    "NodeContribution",
    "PublishedKey",
    "SignedDirectory",
    "assemble_directory",
    "check_directory",
    "check_update",
    "directory_from_payload",
    "directory_payload",
    "directory_problems",
    "load_directory",
    "load_trusted_party_keys",
    "next_version",
    "node_contribution",
    "same_document",
    "sign_directory",
    "signers",
    "verify_directory",
    "verify_proposal",
    "write_signed_directory",
    "write_trusted_party_keys",
]
