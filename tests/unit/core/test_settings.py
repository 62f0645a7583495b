"""The node's settings: file, environment, and the unsafe values it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrex.errors import ConfigurationError
from migrex.settings import load_settings


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    config = write(
        tmp_path / "node.toml",
        '[node]\nnode_id = "am-node"\nstate = "AM"\nauthorities = ["am-mcs"]\n'
        'agreements = ["a.toml"]\ndata_dir = "var"\n',
    )
    settings = load_settings(config)
    assert settings.state == "AM"
    assert settings.authorities == ("am-mcs",)
    assert settings.agreements == (tmp_path / "a.toml",)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'var' / 'node.db'}"
    assert settings.resolved_key_dir == tmp_path / "var" / "keys"


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "node.toml", '[node]\nnode_id = "kz-node"\nlisten_port = 8443\n')
    monkeypatch.setenv("MIGREX_LISTEN_PORT", "9443")
    assert load_settings(config).listen_port == 9443


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('state = "XX"', "state"),
        ('node_id = "Bad Id"', "node_id"),
        ("authorities = []", "authorities"),
        ("listen_port = 70000", "listen_port"),
        ('colour = "blue"', "colour"),
        ('environment = "production"', ""),  # production without a database_url
    ],
)
def test_invalid_values_are_named(tmp_path: Path, body: str, key: str) -> None:
    config = write(tmp_path / "node.toml", f"[node]\n{body}\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert key in [problem.where for problem in caught.value.problems]


def test_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings(write(tmp_path / "node.toml", "[node\n"))
