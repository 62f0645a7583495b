"""The demo bootstrap and `migrex pki`: every node gets a PKI, keys and a verified directory."""

from __future__ import annotations

import json
import socket
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from migrex.cli import app as migrex_app
from migrex.directory import DirectoryInvalid, load_directory, load_trusted_party_keys
from migrex.directory.demo import (
    DEFAULT_DEMO_AGREEMENTS,
    DEFAULT_DEMO_NODES,
    DemoTrust,
    bootstrap_demo,
)
from migrex.errors import ConfigurationError
from migrex.identity import FileKeyStore, read_certificates_pem
from migrex.identity.tls import client_ssl_context, server_ssl_context
from migrex.rotation.cli import pki_app as app
from migrex.settings import load_settings

NOW = datetime.now(UTC)
root = typer.Typer()
root.add_typer(app, name="pki")
runner = CliRunner(env={"COLUMNS": "300"})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoTrust:
    return bootstrap_demo(
        tmp_path_factory.mktemp("ws"), list(DEFAULT_DEMO_NODES), DEFAULT_DEMO_AGREEMENTS, NOW
    )


def test_the_layout_is_one_folder_per_state(demo: DemoTrust) -> None:
    kz = demo.nodes["KZ"]
    assert kz.node_dir == demo.root / "kz"
    assert kz.key_dir == demo.root / "kz" / "var" / "keys"
    assert kz.directories == {"kz-am-2024": demo.root / "kz" / "directory" / "kz-am-2024.json"}
    for node in demo.nodes.values():
        for path in (node.ca_certificate, node.node_certificate, node.trusted_parties):
            assert path.is_file()
        for secret in (node.ca_key, node.node_key):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # Each node trusts its partner's CA for TLS, not its own.
    assert read_certificates_pem(kz.trust_anchors) == read_certificates_pem(
        demo.nodes["AM"].ca_certificate
    )
    assert set(json.loads(kz.trusted_parties.read_text(encoding="utf-8"))) == {"KZ", "AM"}


def test_every_node_verifies_the_same_directory_of_its_own_keys(demo: DemoTrust) -> None:
    loaded = [
        load_directory(
            node.directories["kz-am-2024"],
            load_trusted_party_keys(node.trusted_parties),
            ("KZ", "AM"),
            known_agreements={"kz-am-2024"},
        )
        for node in demo.nodes.values()
    ]
    assert loaded[0] == loaded[1]
    directory = loaded[0]
    assert directory.endpoint_of("kz-mia") == "https://127.0.0.1:8443"
    assert directory.endpoint_of("am-mcs") == "https://127.0.0.1:8444"
    for spec in DEFAULT_DEMO_NODES:
        store = FileKeyStore(demo.nodes[spec.state].key_dir)
        for authority in spec.authorities:
            kid = store.current_signing(authority, NOW).kid
            assert directory.signing_key(authority, kid, NOW) is not None
            encryption = directory.encryption_key(authority, NOW)
            assert encryption is not None
            assert encryption[0] == store.current_encryption(authority, NOW).kid


def test_the_demo_nodes_complete_a_mutual_tls_handshake(demo: DemoTrust) -> None:
    kz, am = demo.nodes["KZ"], demo.nodes["AM"]
    server = server_ssl_context(kz.node_certificate, kz.node_key, [kz.trust_anchors])
    client = client_ssl_context(am.node_certificate, am.node_key, [am.trust_anchors])
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[object] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with server.wrap_socket(connection, server_side=True) as tls:
            seen.append(tls.getpeercert()["subject"])  # type: ignore[index]
            tls.sendall(tls.recv(2))

    thread = threading.Thread(target=serve)
    thread.start()
    with (
        socket.create_connection(listener.getsockname(), timeout=5) as raw,
        client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.3"
        tls.sendall(b"hi")
        assert tls.recv(2) == b"hi"
    thread.join(5)
    listener.close()
    assert ((("commonName", "am-node"),)) in seen[0]  # type: ignore[operator]


def test_bootstrap_refuses_to_overwrite_and_checks_its_input(
    demo: DemoTrust, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="already has keys or a PKI"):
        bootstrap_demo(demo.root, list(DEFAULT_DEMO_NODES), DEFAULT_DEMO_AGREEMENTS, NOW)
    with pytest.raises(ValueError, match="two or more"):
        bootstrap_demo(tmp_path, list(DEFAULT_DEMO_NODES), {"kz-kg": ("KZ", "KG")}, NOW)
    with pytest.raises(ValueError, match="no agreement"):
        bootstrap_demo(tmp_path, list(DEFAULT_DEMO_NODES), {}, NOW)


def test_the_cli_bootstraps_shows_and_rotates(tmp_path: Path) -> None:
    result = runner.invoke(root, ["pki", "demo", "--workspace", str(tmp_path), "--port", "AM=8444"])
    assert result.exit_code == 0, result.output
    assert "directory kz-am-2024" in result.stdout
    # What to run next names each node's own configuration, ready to copy.
    for state in ("kz", "am"):
        for command in ("db create", "serve"):
            assert (
                f"  migrex --config {tmp_path / state / 'node.toml'} {command}\n" in result.stdout
            )
    directory = tmp_path / "kz" / "directory" / "kz-am-2024.json"
    trusted = tmp_path / "kz" / "pki" / "trusted-parties.json"

    shown = runner.invoke(
        root, ["pki", "show-directory", str(directory), "--trusted", str(trusted)]
    )
    assert shown.exit_code == 0, shown.output
    for expected in ("kz-am-2024", "am-police", "https://127.0.0.1:8444", "AM, KZ", "active"):
        assert expected in shown.stdout

    key_dir = tmp_path / "kz" / "var" / "keys"
    old = FileKeyStore(key_dir).current_signing("kz-mia")
    rotated = runner.invoke(
        root, ["pki", "rotate", "--key-dir", str(key_dir), "--authority", "kz-mia"]
    )
    assert rotated.exit_code == 0, rotated.output
    # The old default made the new key current at once, and partners refused everything
    # signed with it: now the new keys wait, pending, and the old one goes on signing.
    assert FileKeyStore(key_dir).current_signing("kz-mia").kid == old.kid
    pending = [k for k in FileKeyStore(key_dir).all_keys("kz-mia") if k.pending]
    assert len(pending) == 2 and all(k.kid in rotated.stdout for k in pending)
    assert "pending" in rotated.stdout and "directory propose" in rotated.stdout

    # A second rotation while one waits is refused, and changes nothing.
    again = runner.invoke(
        root, ["pki", "rotate", "--key-dir", str(key_dir), "--authority", "kz-mia"]
    )
    assert again.exit_code != 0 and type(again.exception).__name__ == "RotationPending"
    assert len(FileKeyStore(key_dir).all_keys("kz-mia")) == 4


def test_activate_now_is_the_old_immediate_rotation(tmp_path: Path) -> None:
    assert runner.invoke(root, ["pki", "demo", "--workspace", str(tmp_path)]).exit_code == 0
    key_dir = tmp_path / "am" / "var" / "keys"
    old = FileKeyStore(key_dir).current_signing("am-mcs")
    rotated = runner.invoke(root, ["pki", "rotate", "--key-dir", str(key_dir), "--authority",
                                   "am-mcs", "--activate-now"])  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    new = FileKeyStore(key_dir).current_signing("am-mcs")
    assert new.kid != old.kid and new.kid in rotated.stdout
    assert "partners refuse" in rotated.stdout


def test_show_directory_refuses_a_directory_the_trusted_keys_do_not_cover(
    demo: DemoTrust, tmp_path: Path
) -> None:
    only_am = tmp_path / "trusted.json"
    keys = json.loads(demo.nodes["AM"].trusted_parties.read_text(encoding="utf-8"))
    only_am.write_text(json.dumps({"AM": keys["AM"]}), encoding="utf-8")
    directory = demo.nodes["AM"].directories["kz-am-2024"]
    result = runner.invoke(
        root, ["pki", "show-directory", str(directory), "--trusted", str(only_am)]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, DirectoryInvalid)
    assert "KZ, whose party key is not trusted" in result.exception.detail


def test_the_cli_takes_ports_and_writes_each_nodes_configuration(tmp_path: Path) -> None:
    args = ["pki", "demo", "--workspace", str(tmp_path), "--port", "KZ=18443",
            "--operator-port", "kz=19100", "--officer-port", "AM=18080"]  # fmt: skip
    result = runner.invoke(root, args)
    assert result.exit_code == 0, result.output
    kz = load_settings(tmp_path / "kz" / "node.toml")
    am = load_settings(tmp_path / "am" / "node.toml")
    assert (kz.listen_port, kz.operator_listen_port) == (18443, 19100)
    assert am.officer_listen_port == 18080 and am.officer_tls_cert is not None
    assert am.officer_tls_cert.is_file() and am.officer_tls_key is not None
    # Ports not given are free ones, never the fixed 8443/8444 of old.
    assert am.listen_port not in (8443, 8444, 18443) and kz.officer_listen_port is not None
    assert kz.tls_cert is not None and kz.tls_cert.is_file()
    assert [a.name for a in kz.agreements] == ["kz-am-2024.toml"]
    config = str(tmp_path / "kz" / "node.toml")
    created = runner.invoke(migrex_app, ["--config", config, "db", "create"])
    assert created.exit_code == 0, created.output


def test_the_cli_refuses_a_port_of_no_demo_state(tmp_path: Path) -> None:
    result = runner.invoke(root, ["pki", "demo", "--workspace", str(tmp_path), "--port", "KG=1"])
    assert result.exit_code == 2
    assert not (tmp_path / "kz").exists()


def test_the_cli_outside_the_checkout_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(root, ["pki", "demo", "--workspace", str(tmp_path / "ws")])
    assert isinstance(result.exception, ConfigurationError)
    said = result.exception.detail
    assert f"agreements/kz-am-2024.toml not found in {tmp_path}" in said
    assert "or give --agreement PATH" in said
    assert not (tmp_path / "ws").exists()
