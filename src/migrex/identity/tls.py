"""TLS contexts for the exchange between nodes: mutual authentication, nothing optional.

Both sides present a certificate and accept only peers whose certificate chains to one of
the partner states' trust anchors; the system's public CAs are never trusted here. The
contexts suit uvicorn (`ssl_context_factory`) and httpx (`verify=`) alike.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509

from migrex.errors import ConfigurationError
from migrex.identity.pki import certificates_from_pem

# TLS 1.3 only by default: both ends are migrex nodes (Python ssl, OpenSSL 3), so nothing
# older needs to connect, and 1.3 drops the renegotiation and cipher choices 1.2 still has.
DEFAULT_MINIMUM_VERSION = ssl.TLSVersion.TLSv1_3


def server_ssl_context(
    cert_pem_path: Path,
    key_pem_path: Path,
    trust_anchor_pem_paths: Iterable[Path],
    *,
    trust_anchor_pems: Iterable[str] = (),
    minimum_version: ssl.TLSVersion = DEFAULT_MINIMUM_VERSION,
) -> ssl.SSLContext:
    """A server context that demands a client certificate from a trusted partner CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context, minimum_version)
    context.verify_mode = ssl.CERT_REQUIRED
    _load_identity(context, cert_pem_path, key_pem_path)
    _load_trust(context, trust_anchor_pem_paths, trust_anchor_pems)
    return context


def client_ssl_context(
    cert_pem_path: Path,
    key_pem_path: Path,
    trust_anchor_pem_paths: Iterable[Path],
    *,
    trust_anchor_pems: Iterable[str] = (),
    minimum_version: ssl.TLSVersion = DEFAULT_MINIMUM_VERSION,
) -> ssl.SSLContext:
    """A client context that presents the node certificate and checks the server's name."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _harden(context, minimum_version)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    _load_identity(context, cert_pem_path, key_pem_path)
    _load_trust(context, trust_anchor_pem_paths, trust_anchor_pems)
    return context


def officer_ssl_context(
    cert_pem_path: Path,
    key_pem_path: Path,
    client_ca_pem_path: Path | None = None,
    *,
    minimum_version: ssl.TLSVersion = DEFAULT_MINIMUM_VERSION,
) -> ssl.SSLContext:
    """The officers' listener: its own certificate; with `client_ca_pem_path`, officers'
    clients must also present a certificate from that CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context, minimum_version)
    _load_identity(context, cert_pem_path, key_pem_path)
    if client_ca_pem_path is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        _load_trust(context, [client_ca_pem_path], ())
    return context


def peer_certificate(connection: ssl.SSLSocket | ssl.SSLObject) -> x509.Certificate | None:
    """The certificate the peer presented, or None before the handshake completed."""
    der = connection.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


def _harden(context: ssl.SSLContext, minimum_version: ssl.TLSVersion) -> None:
    if minimum_version < ssl.TLSVersion.TLSv1_2:
        raise ConfigurationError("TLS older than 1.2 is not a protected channel")
    context.minimum_version = minimum_version
    # Strict RFC 5280 checks, as Python 3.13 does by default: a malformed certificate from a
    # partner is refused here rather than trusted on a lenient reading.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.options |= ssl.OP_NO_COMPRESSION


def _load_identity(context: ssl.SSLContext, cert_pem_path: Path, key_pem_path: Path) -> None:
    try:
        context.load_cert_chain(certfile=cert_pem_path, keyfile=key_pem_path)
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(
            f"cannot use certificate {cert_pem_path} with key {key_pem_path}: {error}"
        ) from error


def _load_trust(context: ssl.SSLContext, paths: Iterable[Path], pems: Iterable[str]) -> None:
    count = 0
    for path in paths:
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"cannot read trust anchors {path}: {error}") from error
        count += _add_anchors(context, text, str(path))
    for index, pem in enumerate(pems):
        count += _add_anchors(context, pem, f"trust anchor #{index + 1}")
    if count == 0:
        # With CERT_REQUIRED and no anchor every peer is refused: surely a configuration slip.
        raise ConfigurationError("no TLS trust anchors configured; no partner could connect")


def _add_anchors(context: ssl.SSLContext, pem: str, where: str) -> int:
    found = certificates_from_pem(pem, where)  # a clear error before OpenSSL's terse one
    try:
        context.load_verify_locations(cadata=pem)
    except ssl.SSLError as error:
        raise ConfigurationError(f"cannot use trust anchors from {where}: {error}") from error
    return len(found)
