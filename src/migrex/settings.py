"""The node's configuration: one typed object, built once at start-up and passed along.

Values come from a TOML file (`migrex --config node.toml ...`) and from `MIGREX_*`
environment variables, which win over the file so an operator can override one value
without editing it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Final, Literal, get_args, get_origin

import pycountry
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from migrex.errors import ConfigurationError, Problem

_NODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIGREX_", extra="forbid", frozen=True)

    node_id: str = Field(
        "node", description="the node's name: 2-63 lowercase letters, digits, hyphens"
    )
    state: str = Field("KZ", description="ISO 3166-1 alpha-2 code of the state this node serves")
    authorities: tuple[str, ...] = Field(
        ("kz-mia", "kz-mlsp"), description="ids of the competent authorities this node hosts"
    )
    agreements: tuple[Path, ...] = Field((), description="agreement files this node takes part in")
    data_dir: Path = Field(
        Path("var"),
        description="the node's folder: SQLite database and keys by default;"
        " must exist (`migrex db create` makes it)",
    )
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in data_dir")
    key_dir: Path | None = Field(None, description="the node's key store; unset: data_dir/keys")
    tls_cert: Path | None = Field(None, description="the node's certificate (PEM)")
    tls_key: Path | None = Field(None, description="the node certificate's private key (PEM)")
    tls_trust_anchors: tuple[Path, ...] = Field(
        (), description="CA certificates (PEM) whose node certificates this node accepts"
    )
    trusted_parties: Path | None = Field(
        None, description="public keys of the parties that sign agreement directories"
    )
    directory_dir: Path | None = Field(
        None, description="folder of signed directories, one <agreement_id>.json per agreement"
    )
    relay_enabled: bool = Field(True, description="run the outbox relay inside the node")
    # Two relays of 150: while one seals, the other waits for the partner or stores receipts.
    # More only take turns at the interpreter and at SQLite's one write lock: with four, both
    # nodes spent a tenth more CPU a message and carried 735-775 msg/s against 875-897 with
    # two (SQLite); on PostgreSQL two carry as much as four.
    relay_threads: int = Field(
        2, ge=1, le=16, description="relays inside the node; one seals while another waits"
    )
    relay_batch_size: int = Field(150, ge=1, le=1000, description="messages a relay posts at once")
    relay_poll_seconds: float = Field(
        0.02, gt=0, le=60, description="how often an idle relay looks at the outbox (SQLite)"
    )
    relay_notified_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="the same where the database wakes relays at each new message (PostgreSQL):"
        " only retries falling due wait for it",
    )
    # Leaves after the last cosigned checkpoint are anchored only by receipts; a few seconds
    # keeps that tail short. A log that only grew by the witnessing's own messages waits the
    # idle interval instead, so two quiet nodes do not cosign each other for ever.
    witness_interval_seconds: float = Field(
        5, gt=0, description="how often the log's checkpoint is sent to partners to cosign"
    )
    witness_idle_interval_seconds: float = Field(
        300, gt=0, description="the same when nothing but witnessing itself was logged since"
    )
    retention_interval_seconds: float = Field(
        3600,
        gt=0,
        description="how often received personal data past retention is erased, and kept "
        "channel leads forget the records gone from the registers",
    )
    relay_max_attempts: int = Field(
        12, ge=1, description="delivery attempts of one message before it is parked"
    )
    relay_backoff_cap_seconds: float = Field(
        600, gt=0, description="longest wait between two delivery attempts of one message"
    )
    relay_lease_seconds: float = Field(
        60, gt=0, description="how long a claimed message is a relay's before others may retry it"
    )
    officer_listen_host: str = Field(
        "127.0.0.1", description="interface of the officers' API (the ministry's own network)"
    )
    officer_listen_port: int | None = Field(
        None, ge=1, le=65535, description="port of the officers' API; none: not served"
    )
    session_idle_minutes: int = Field(
        15, ge=5, le=480, description="a web session unused this long ends (the console warns)"
    )
    officer_tls_cert: Path | None = Field(
        None, description="certificate (PEM) of the officers' listener; unset: plain HTTP"
    )
    officer_tls_key: Path | None = Field(
        None, description="private key (PEM) of the officers' listener certificate"
    )
    officer_tls_client_ca: Path | None = Field(
        None,
        description="CA certificates (PEM) officers' client certificates must chain to;"
        " unset: no client certificate asked",
    )
    operator_listen_host: str = Field(
        "127.0.0.1", description="interface of the operator listener (/health, /ready, /metrics)"
    )
    operator_listen_port: int | None = Field(
        None, ge=1, le=65535, description="port of the operator listener; none: not served"
    )
    listen_host: str = Field("127.0.0.1", description="interface of the partners' mutual-TLS door")
    listen_port: int = Field(8443, ge=1, le=65535, description="port of the partners' door")
    shutdown_grace_seconds: float = Field(
        3.0,
        gt=0,
        le=60,
        description="how long a stopping node lets requests and relay"
        " batches in flight finish before it exits",
    )
    environment: Literal["development", "production"] = Field(
        "development", description='"production" refuses implicit databases and open listeners'
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="the least severe log lines written"
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="JSON lines for collectors, or readable text for a terminal"
    )
    log_file: Path | None = Field(
        None, description="also write the log here (reopened when rotated away); none: stderr only"
    )
    # A login costs one Argon2 hash of 64 MiB on four lanes, which already fill two cores;
    # the bound keeps a burst of logins from taking the process's memory and cores from the
    # partners' door and the relays.
    login_hash_concurrency: int = Field(
        1, ge=1, le=16, description="password hashes computed at once; further logins wait"
    )
    http_header_timeout_seconds: float = Field(
        10, gt=0, le=300, description="a client must send a request's head within this"
    )
    http_body_timeout_seconds: float = Field(
        60, gt=0, le=3600, description="a client must send a request's body within this"
    )
    http_keep_alive_seconds: float = Field(
        5, gt=0, le=300, description="an idle kept-alive connection is closed after this"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment over file: the file is passed as init arguments by `load_settings`.
        return (env_settings, init_settings)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value:
            return value
        # Here, not at the top: commands that read no database_url load no SQLAlchemy.
        from sqlalchemy.engine import make_url  # noqa: PLC0415
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as error:
            raise ValueError(f"not a database URL ({error})") from None
        if backend == "postgres":
            raise ValueError("write postgresql://, not postgres://")
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(f"{backend} is not supported: use postgresql:// or sqlite:///")
        return value

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if not _NODE_ID.fullmatch(value):
            raise ValueError("use 2-63 lowercase letters, digits and hyphens")
        return value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        if len(value) != 2 or pycountry.countries.get(alpha_2=value) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code")
        return value

    @field_validator("authorities")
    @classmethod
    def _authorities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("a node hosts at least one competent authority")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        # A production node must not silently fall back to a database file in the
        # working directory, nor listen on every interface by accident.
        if self.environment == "production":
            if not self.database_url:
                raise ValueError("production needs an explicit database_url")
            if self.listen_host in ("0.0.0.0", "::"):  # noqa: S104 - this is the check
                raise ValueError("production must name the interface to listen on")
            if self.tls_key is not None and (self.tls_key.parent / "ca-key.pem").exists():
                raise ValueError("a CA private key lies beside the node key; keep it offline")
            if (
                self.officer_listen_port is not None
                and self.officer_tls_cert is None
                and self.officer_listen_host not in _LOOPBACK
            ):
                raise ValueError(
                    "production serves the officers' API beyond loopback only over TLS"
                    " (officer_tls_cert, officer_tls_key)"
                )
            if self.operator_listen_port is not None and self.operator_listen_host not in _LOOPBACK:
                raise ValueError(
                    "production keeps the operator listener on loopback: it has no TLS and asks"
                    " for no login; let a local agent or a TLS reverse proxy reach it"
                )
        if (self.officer_tls_cert is None) != (self.officer_tls_key is None):
            raise ValueError("officer_tls_cert and officer_tls_key go together")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'node.db').as_posix()}"

    @property
    def resolved_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Reads the node file (relative paths in it are taken from the file's folder)."""
    values: dict[str, Any] = {}
    if config is not None:
        try:
            values = tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigurationError(f"cannot read node configuration {config}: {error}") from error
        values = _resolve_paths(values.get("node", values), config.parent)
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Settings(**values)
    except ValidationError as error:
        problems = [
            Problem(_from_environment(".".join(str(part) for part in item["loc"])), item["msg"])
            for item in error.errors()
        ]
        where = f"{config} or the environment" if config else "the environment"
        raise ConfigurationError(f"invalid node configuration in {where}", problems) from error


def _from_environment(field: str) -> str:
    """The field, naming the environment variable that set it when one did (it wins over the
    file, so an operator looking only at the file would not find the fault)."""
    variable = f"MIGREX_{field.split('.', maxsplit=1)[0].upper()}"
    return f"{field} (set by {variable})" if variable in os.environ else field


# The settings that are paths, which the node file gives relative to its own folder.
PATH_SETTINGS: Final = (
    "data_dir", "key_dir", "tls_cert", "tls_key", "trusted_parties", "directory_dir",
    "officer_tls_cert", "officer_tls_key", "officer_tls_client_ca", "log_file",
)  # fmt: skip
PATH_LIST_SETTINGS: Final = ("agreements", "tls_trust_anchors")


def _resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = dict(values)
    for key in PATH_SETTINGS:
        if isinstance(resolved.get(key), str):
            resolved[key] = base / resolved[key]
    for key in PATH_LIST_SETTINGS:
        if isinstance(resolved.get(key), list):
            resolved[key] = [
                base / item if isinstance(item, str) else item for item in resolved[key]
            ]
    return resolved


def settings_reference() -> str:
    """Every setting, its environment variable, type, default and meaning, as the Markdown of
    `docs/settings.md` (kept in step by `tests/unit/core/test_settings_reference.py`)."""
    lines = [
        "# Settings",
        "",
        "Generated from `migrex.settings.Settings` by",
        "`tests/unit/core/test_settings_reference.py`; after changing a setting, rewrite it with",
        "`MIGREX_WRITE_DOCS=1 pytest tests/unit/core/test_settings_reference.py`.",
        "",
        "A node reads its settings from the `[node]` table of its TOML file (`migrex --config",
        "FILE`, or `MIGREX_CONFIG`); an environment variable `MIGREX_<NAME>` overrides the file.",
        "Relative paths in the file are taken from the file's folder.",
        "",
        "| Setting | Environment | Type | Default | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        kind = _type_name(field.annotation)
        default = "required" if field.is_required() else _toml_value(field.default)
        meaning = (field.description or "").replace("|", "\\|").replace("<", "&lt;")
        lines.append(f"| `{name}` | `MIGREX_{name.upper()}` | {kind} | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " or ".join(f'`"{value}"`' for value in get_args(annotation))
    text = (
        getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    )
    text = text or str(annotation).replace("typing.", "").replace("pathlib.", "")
    return text.replace("|", "or")


def _toml_value(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f'`"{value.as_posix()}"`'
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple):
        return "`[" + ", ".join(_toml_value(v).strip("`") for v in value) + "]`"
    return f"`{value}`"
