"""Directory files on disk: signed directories and the node's trusted party keys.

The only file I/O of the directory feature; everything it reads goes through the same checks
as a directory received any other way.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from migrex.directory.model import Directory, DirectoryInvalid
from migrex.directory.signing import MAX_DOCUMENT_BYTES, payload_version, verify_directory
from migrex.errors import ConfigurationError
from migrex.identity.keys import public_key


def load_directory(
    path: Path,
    trusted_party_keys: Mapping[str, OKPKey],
    required_states: Collection[str],
    *,
    known_agreements: Collection[str] | None,
) -> Directory:
    """The verified directory in `path`; raises DirectoryInvalid naming the file and why."""
    try:
        with path.open("rb") as handle:
            data = handle.read(2 * MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise DirectoryInvalid(f"cannot read directory {path}: {error}") from error
    try:
        return verify_directory(
            data, trusted_party_keys, required_states, known_agreements=known_agreements
        )
    except DirectoryInvalid as error:
        raise DirectoryInvalid(f"{path}: {error.detail}", error.problems) from None


def write_signed_directory(path: Path, signed: Mapping[str, Any]) -> None:
    """Writes the signed form; indentation is harmless because only the payload is signed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(signed, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


@dataclass(frozen=True)
class DirectoryFiles:
    """Where a node keeps its directories, under its `directory_dir`:

    - `<agreement>.json`, the version installed, which the node runs on;
    - `history/<agreement>/<version>.json`, every version it ever installed, as signed, so a
      key a later version dropped still verifies what it signed while that version was in force;
    - `proposed/<agreement>.json`, the version this node proposed and awaits the partners'
      countersignatures for.
    """

    root: Path

    def current(self, agreement_id: str) -> Path:
        return self.root / f"{agreement_id}.json"

    def proposal(self, agreement_id: str) -> Path:
        return self.root / "proposed" / f"{agreement_id}.json"

    def history(self, agreement_id: str) -> Iterator[Path]:
        """The kept versions' files, oldest first."""
        folder = self.root / "history" / agreement_id
        return iter(sorted(folder.glob("*.json")) if folder.is_dir() else ())

    def install(self, agreement_id: str, signed: Mapping[str, Any]) -> None:
        """Makes `signed` (verified by the caller) the installed version, keeping both it and
        the version it replaces in the history first: a crash leaves the old file in force."""
        current = self.current(agreement_id)
        if current.exists():
            previous = json.loads(current.read_text(encoding="utf-8"))
            self._keep(agreement_id, previous)
        self._keep(agreement_id, signed)
        write_signed_directory(current, signed)

    def _keep(self, agreement_id: str, signed: Mapping[str, Any]) -> None:
        version = payload_version(signed)
        path = self.root / "history" / agreement_id / f"{version:08d}.json"
        if not path.exists():
            write_signed_directory(path, signed)

    def read(self, path: Path) -> dict[str, Any] | None:
        """The JSON object in `path`, or None when there is no such file."""
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise DirectoryInvalid(f"cannot read {path}: {error}") from None
        if not isinstance(value, dict):
            raise DirectoryInvalid(f"{path} does not hold a signed directory")
        return value


def load_trusted_party_keys(path: Path) -> dict[str, OKPKey]:
    """The party keys this node trusts, by state; raises ConfigurationError when unusable.

    The file maps state codes to public Ed25519 JWKs, exchanged between the parties out of
    band (compare the thumbprints over a second channel before trusting them).
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read trusted party keys {path}: {error}") from error
    if not isinstance(value, dict) or not value:
        raise ConfigurationError(f"{path} must map state codes to public JWKs")
    keys: dict[str, OKPKey] = {}
    for state, jwk in value.items():
        try:
            if not isinstance(jwk, dict) or "d" in jwk:
                raise ValueError("not a public JWK")
            key = public_key(jwk)
        except (JoseError, ValueError, TypeError) as error:
            raise ConfigurationError(f"{path}: the key of {state} is unusable: {error}") from None
        if key.curve_name != "Ed25519" or len(state) != 2 or not state.isupper():
            raise ConfigurationError(f"{path}: {state} needs a state code and an Ed25519 key")
        keys[state] = key
    return keys


def write_trusted_party_keys(path: Path, keys: Mapping[str, OKPKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {state: keys[state].as_dict(private=False) for state in sorted(keys)}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
