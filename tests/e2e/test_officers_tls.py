"""The officers' listener over TLS, as `pki demo` sets it up: its own certificate, HSTS, and a
`__Host-` session cookie that is Secure, for path / and no domain."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import migrated
from migrex.demo.workspace import Workspace
from migrex.exchange.processes import NodeProcess, free_port
from migrex.identity.tls import officer_ssl_context
from migrex.node import Node
from migrex.officers.model import Role
from migrex.officers.service import add_officer
from migrex.settings import load_settings

AGREEMENT_FILE = Path(__file__).parents[2] / "agreements" / "kz-am-2024.toml"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def kz(tmp_path: Path) -> Iterator[tuple[Workspace, Node, NodeProcess]]:
    workspace = Workspace(tmp_path / "ws")
    ports = {"KZ": free_port(), "AM": free_port()}
    workspace.create({"KZ": [AGREEMENT_FILE], "AM": [AGREEMENT_FILE]},
                     {"kz-am-2024": ("KZ", "AM")}, ports,
                     officer_ports={"KZ": free_port()})  # fmt: skip
    node = Node(load_settings(workspace.node_config("KZ")))
    migrated.upgrade(node.engine)
    with node.unit_of_work() as uow:
        add_officer(uow, username="anna", display_name="Anna", roles=[(Role.OFFICER, "kz-mia")],
                    password=PASSWORD, actor="test", hosted_authorities=("kz-mia",))  # fmt: skip
    process = NodeProcess(workspace.node_config("KZ"), ports["KZ"],
                          workspace.node_dir("KZ") / "serve.log").start()  # fmt: skip
    try:
        yield workspace, node, process
    finally:
        process.stop()
        node.close()


def test_officers_log_in_over_tls_with_a_host_only_secure_cookie(
    kz: tuple[Workspace, Node, NodeProcess],
) -> None:
    workspace, node, _ = kz
    port = node.settings.officer_listen_port
    ca = workspace.node_dir("KZ") / "pki" / "ca.pem"
    log = (workspace.node_dir("KZ") / "serve.log").read_text(encoding="utf-8")
    assert f"listening on https://127.0.0.1:{port} (officers)" in log
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=10) as client:
        login = client.post(f"https://127.0.0.1:{port}/v1/session",
                            json={"username": "anna", "password": PASSWORD})  # fmt: skip
        assert login.status_code == 200, login.text
        assert login.headers["strict-transport-security"].startswith("max-age=")
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("__Host-migrex_session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
        csrf = login.json()["csrf_token"]
        logout = client.delete(f"https://127.0.0.1:{port}/v1/session",
                               headers={"X-CSRF-Token": csrf})  # fmt: skip
        assert logout.status_code == 204
        assert "secure" in logout.headers["set-cookie"].lower()  # a __Host- cookie's deletion
    # The listener speaks TLS only: a password sent in clear gets no answer.
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"http://127.0.0.1:{port}/v1/session",
                   json={"username": "anna", "password": PASSWORD}, timeout=5)  # fmt: skip


def test_a_client_certificate_ca_makes_the_officers_listener_ask_for_one(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    ports = {"KZ": free_port(), "AM": free_port()}
    workspace.create({"KZ": [AGREEMENT_FILE], "AM": [AGREEMENT_FILE]},
                     {"kz-am-2024": ("KZ", "AM")}, ports)  # fmt: skip
    pki = workspace.node_dir("KZ") / "pki"
    without = officer_ssl_context(pki / "officers.pem", pki / "officers-key.pem")
    assert without.verify_mode == ssl.CERT_NONE
    with_ca = officer_ssl_context(pki / "officers.pem", pki / "officers-key.pem", pki / "ca.pem")
    assert with_ca.verify_mode == ssl.CERT_REQUIRED
