"""The node's configuration in a backup, and the configuration a restore writes from it.

A backup holds the node's TOML file and every file its settings name: the partners' door's
certificate, key and trust anchors, the trusted parties, the agreements, the officers'
listener's certificate, key and client CA, and the whole directory folder (the directories
in force, their history, a pending proposal). Each is kept at its place relative to the
TOML file's folder, so the file's relative paths still hold; one outside that folder goes
under `outside/`.

A restore writes them to `data_dir/restored-config/` and rewrites the TOML file there so
that the node runs from it as it is (`migrex --config .../restored-config/node.toml
serve`): every file setting names its restored copy, and where the node keeps its data and
its log (`data_dir`, `key_dir`, `database_url`, `log_file`) are what the configuration the
restore ran with says, since that is where the backup was restored to. The file as backed
up is kept beside it, comments and all.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from migrex.settings import PATH_LIST_SETTINGS, PATH_SETTINGS, Settings

CONFIG: Final = "config"
OUTSIDE: Final = "outside"
NODE_FILE: Final = "config"
"""The key of the TOML file itself among a backup's configuration places."""
# Where the restored node keeps its data and writes its log: the restoring configuration's.
LOCATIONS: Final = ("data_dir", "key_dir", "database_url", "log_file")
_CARRIED: Final = (
    "tls_cert", "tls_key", "trusted_parties", "officer_tls_cert", "officer_tls_key",
    "officer_tls_client_ca", "directory_dir", *PATH_LIST_SETTINGS,
)  # fmt: skip


@dataclass(frozen=True)
class StagedConfiguration:
    files: dict[str, str]
    """Archive path → the path the node's configuration named it by."""
    places: dict[str, list[str]]
    """Setting (`NODE_FILE` for the TOML file) → its files' or folder's places under
    `config/`, one per path the setting gives."""


def _named(settings: Settings, config: Path | None) -> Iterator[tuple[str, Path]]:
    if config is not None:
        yield NODE_FILE, config
    for name in _CARRIED:
        value = getattr(settings, name)
        for path in value if isinstance(value, tuple) else (value,):
            if path is not None:
                yield name, path


def stage_configuration(
    settings: Settings, config: Path | None, folder: Path
) -> StagedConfiguration:
    """Copy the node's configuration files under `folder/config/`."""
    base = config.parent.resolve() if config is not None else None
    # The node's data is backed up on its own terms, never as configuration (a directory
    # folder given as "." would otherwise carry the database and the keys).
    data = (settings.data_dir.resolve(), settings.resolved_key_dir.resolve())
    outside = itertools.count()
    files: dict[str, str] = {}
    places: dict[str, list[str]] = {}

    def place(path: Path) -> str:
        resolved = path.resolve()
        if base is not None and resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
        return f"{OUTSIDE}/{next(outside):02d}-{path.name}"

    def copy(source: Path, where: str) -> None:
        target = folder / CONFIG / where
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(source, target)
        files[f"{CONFIG}/{where}"] = str(source)

    for name, path in _named(settings, config):
        if path.is_file():
            where = place(path)
            copy(path, where)
        elif path.is_dir():
            where = place(path)
            for item in sorted(path.rglob("*")):
                if item.is_file() and not _is_relative_to_any(item.resolve(), data):
                    copy(item, f"{where}/{item.relative_to(path).as_posix()}")
        else:
            continue  # a file the node lacks: the restored configuration names it as before
        places.setdefault(name, []).append(where)
    return StagedConfiguration(files, places)


def _is_relative_to_any(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(folder) for folder in folders)


def restore_configuration(
    staged: Path, places: Mapping[str, list[str]], files: Mapping[str, str], settings: Settings,
    target: Path,
) -> Path | None:  # fmt: skip
    """Put the backup's configuration files (`staged`, its `config/` folder) at `target` and
    rewrite its TOML file to run the restored node; returns that file (None: the backup has
    none, or predates the places, and its files are only there to read)."""
    shutil.copytree(staged, target)
    [node_file] = places.get(NODE_FILE, [None])
    if node_file is None:
        return None
    path = target / node_file
    original = path.read_text(encoding="utf-8")
    path.with_name(f"{path.stem}.backed-up{path.suffix}").write_text(original, encoding="utf-8")
    document = tomllib.loads(original)
    values: dict[str, Any] = dict(document.get("node", document))
    backed_up_from = Path(files[f"{CONFIG}/{node_file}"]).parent
    for name in PATH_SETTINGS:
        # A path the backup does not carry (a log file, a file the node lacked) keeps
        # meaning what it meant: relative to the folder the node file was in.
        if isinstance(values.get(name), str) and not Path(values[name]).is_absolute():
            values[name] = (backed_up_from / values[name]).as_posix()
    for name, where in places.items():
        if name in PATH_LIST_SETTINGS:
            values[name] = where
        elif name != NODE_FILE:
            [values[name]] = where
    for name in LOCATIONS:
        values.pop(name, None)
    values |= {"data_dir": settings.data_dir.resolve().as_posix(),
               "key_dir": settings.resolved_key_dir.resolve().as_posix(),
               "database_url": settings.database_url}  # fmt: skip
    if settings.log_file is not None:
        values["log_file"] = settings.log_file.resolve().as_posix()
    path.write_text(_node_toml(values), encoding="utf-8")
    path.chmod(0o600)
    return path


def _node_toml(values: Mapping[str, Any]) -> str:
    lines = ["# Written by `migrex restore`: the node as backed up, at the restored files.",
             "[node]"]  # fmt: skip
    lines += [f"{name} = {_toml_value(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    # A JSON string (non-ASCII kept as is) is a TOML basic string; the node table holds
    # only strings, numbers, booleans and lists of them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
