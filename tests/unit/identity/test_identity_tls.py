"""Real mutual-TLS handshakes on loopback with the demo PKI and the node's TLS contexts."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from migrex.errors import ConfigurationError
from migrex.identity.pki import (
    CertifiedKey,
    certificate_node_id,
    create_state_ca,
    issue_node_certificate,
    write_certificates_pem,
    write_private_key_pem,
)
from migrex.identity.tls import client_ssl_context, peer_certificate, server_ssl_context

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class NodeFiles:
    cert: Path
    key: Path
    ca: Path


def _write_node(folder: Path, ca: CertifiedKey, node_id: str) -> NodeFiles:
    node = issue_node_certificate(ca.certificate, ca.private_key, node_id, now=NOW)
    files = NodeFiles(folder / "node.pem", folder / "node-key.pem", folder / "ca.pem")
    write_certificates_pem(files.cert, [node.certificate])
    write_private_key_pem(files.key, node.private_key)
    write_certificates_pem(files.ca, [ca.certificate])
    return files


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NodeFiles]:
    root = tmp_path_factory.mktemp("pki")
    kz_ca, am_ca, rogue_ca = (create_state_ca(s, NOW) for s in ("KZ", "AM", "KG"))
    return {
        "kz": _write_node(root / "kz", kz_ca, "kz-node"),
        "am": _write_node(root / "am", am_ca, "am-node"),
        "rogue": _write_node(root / "rogue", rogue_ca, "am-node"),
    }


@dataclass
class Outcome:
    server_error: BaseException | None = None
    client_error: BaseException | None = None
    client_certificate: x509.Certificate | None = None


def _handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, hostname: str = "localhost"
) -> Outcome:
    """What each end saw of one exchange over loopback."""
    outcome = Outcome()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server.wrap_socket(connection, server_side=True) as tls:
                outcome.client_certificate = peer_certificate(tls)
                tls.sendall(tls.recv(4) + b"-ok")
        except (ssl.SSLError, OSError) as error:
            outcome.server_error = error
            connection.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            tls.sendall(b"ping")
            # In TLS 1.3 the client learns that the server refused its certificate only
            # when it reads; an empty read means the server hung up.
            if tls.recv(16) != b"ping-ok":
                raise ConnectionError("server closed the connection")
    except (ssl.SSLError, OSError) as error:
        outcome.client_error = error
    finally:
        thread.join(5)
        listener.close()
    return outcome


def _server(files: NodeFiles, *trusted: NodeFiles) -> ssl.SSLContext:
    return server_ssl_context(files.cert, files.key, [t.ca for t in trusted])


def _client(files: NodeFiles, *trusted: NodeFiles) -> ssl.SSLContext:
    return client_ssl_context(files.cert, files.key, [t.ca for t in trusted])


def test_mutual_authentication_succeeds_between_partner_nodes(pki: dict[str, NodeFiles]) -> None:
    outcome = _handshake(_server(pki["kz"], pki["am"]), _client(pki["am"], pki["kz"]))
    assert outcome.server_error is None
    assert outcome.client_error is None
    assert outcome.client_certificate is not None
    assert certificate_node_id(outcome.client_certificate) == "am-node"


def test_the_ip_address_in_the_certificate_satisfies_hostname_checking(
    pki: dict[str, NodeFiles],
) -> None:
    outcome = _handshake(
        _server(pki["kz"], pki["am"]), _client(pki["am"], pki["kz"]), hostname="127.0.0.1"
    )
    assert outcome.client_error is None


def test_contexts_demand_tls_1_3_and_certificates(pki: dict[str, NodeFiles]) -> None:
    for context in (_server(pki["kz"], pki["am"]), _client(pki["am"], pki["kz"])):
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.minimum_version is ssl.TLSVersion.TLSv1_3
    assert _client(pki["am"], pki["kz"]).check_hostname


def test_a_client_without_a_certificate_is_refused(pki: dict[str, NodeFiles]) -> None:
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.load_verify_locations(pki["kz"].ca)
    outcome = _handshake(_server(pki["kz"], pki["am"]), anonymous)
    assert isinstance(outcome.server_error, ssl.SSLError)
    assert "certificate" in str(outcome.server_error).lower()
    assert outcome.client_error is not None


def test_a_client_certified_by_another_ca_is_refused(pki: dict[str, NodeFiles]) -> None:
    # The rogue node even claims the partner's node id: only the issuing CA tells them apart.
    outcome = _handshake(_server(pki["kz"], pki["am"]), _client(pki["rogue"], pki["kz"]))
    assert isinstance(outcome.server_error, ssl.SSLError)
    assert outcome.client_error is not None


def test_a_server_certified_by_another_ca_is_refused(pki: dict[str, NodeFiles]) -> None:
    outcome = _handshake(_server(pki["rogue"], pki["am"]), _client(pki["am"], pki["kz"]))
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)


def test_a_server_under_another_name_is_refused(pki: dict[str, NodeFiles]) -> None:
    outcome = _handshake(
        _server(pki["kz"], pki["am"]), _client(pki["am"], pki["kz"]), hostname="kz.example"
    )
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)


def test_a_context_without_trust_anchors_is_a_configuration_error(
    pki: dict[str, NodeFiles], tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="no TLS trust anchors"):
        server_ssl_context(pki["kz"].cert, pki["kz"].key, [])
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate", encoding="ascii")
    with pytest.raises(ConfigurationError, match=r"bad\.pem"):
        client_ssl_context(pki["kz"].cert, pki["kz"].key, [bad])
    with pytest.raises(ConfigurationError, match="cannot use certificate"):
        client_ssl_context(pki["kz"].cert, pki["am"].key, [pki["am"].ca])


def test_httpx_speaks_mutual_tls_with_the_contexts(pki: dict[str, NodeFiles]) -> None:
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            tls = self.connection
            assert isinstance(tls, ssl.SSLSocket)
            peer = peer_certificate(tls)
            body = str(certificate_node_id(peer) if peer else "nobody").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    server.socket = _server(pki["kz"], pki["am"]).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        url = f"https://localhost:{server.server_address[1]}/"
        with httpx.Client(verify=_client(pki["am"], pki["kz"]), timeout=5) as client:
            response = client.get(url)
        assert response.status_code == 200
        assert response.text == "am-node"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
