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


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://postgres@127.0.0.1/kz", "write postgresql://, not postgres://"),
        ("mysql://root@127.0.0.1/kz", "mysql is not supported"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_database_url_of_the_wrong_kind_is_a_configuration_error(
    tmp_path: Path, url: str, says: str
) -> None:
    config = write(tmp_path / "node.toml", f'[node]\ndatabase_url = "{url}"\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    [problem] = caught.value.problems
    assert problem.where == "database_url" and says in problem.reason


def test_a_value_the_environment_set_is_named_with_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "node.toml", "[node]\nlisten_port = 18443\n")
    monkeypatch.setenv("MIGREX_LISTEN_PORT", "abc")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert caught.value.detail == f"invalid node configuration in {config} or the environment"
    assert [p.where for p in caught.value.problems] == ["listen_port (set by MIGREX_LISTEN_PORT)"]


def test_production_keeps_the_operator_listener_on_loopback(tmp_path: Path) -> None:
    base = '[node]\nenvironment = "production"\ndatabase_url = "postgresql://db/kz"\n'
    beyond = write(
        tmp_path / "a.toml",
        base + 'operator_listen_port = 9100\noperator_listen_host = "0.0.0.0"\n',
    )
    with pytest.raises(ConfigurationError) as caught:
        load_settings(beyond)
    assert any("operator listener on loopback" in p.reason for p in caught.value.problems)
    local = write(tmp_path / "b.toml", base + "operator_listen_port = 9100\n")
    assert load_settings(local).operator_listen_host == "127.0.0.1"
