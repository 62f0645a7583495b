"""A demo PKI for the nodes' TLS certificates, and PEM files in and out.

Production nodes use certificates from their state's real CA: everything else in migrex takes
PEM paths and never assumes this demo CA. Keys are ECDSA P-256 because OpenSSL, and so
Python's `ssl`, still handles Ed25519 certificates unevenly in TLS handshakes.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from migrex.errors import ConfigurationError

# Certificates start a few minutes in the past so a partner whose clock runs slightly behind
# does not reject a certificate issued a moment ago.
_BACKDATE = timedelta(minutes=5)

CAKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class CertifiedKey:
    """A certificate and its private key."""

    certificate: x509.Certificate
    private_key: CAKey


def create_state_ca(state: str, now: datetime, days: int = 3650) -> CertifiedKey:
    """A self-signed root CA for one state's demo nodes (may sign end-entity certs only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, state),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "migrex demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"migrex {state} state CA (demo)"),
        ]
    )
    builder = (
        _validity(x509.CertificateBuilder(), now, days)
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return CertifiedKey(_sign(builder, key), key)


def issue_node_certificate(
    ca_cert: x509.Certificate,
    ca_key: CAKey,
    node_id: str,
    *,
    now: datetime,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    days: int = 365,
) -> CertifiedKey:
    """A node certificate good for both ends of mutual TLS (serverAuth and clientAuth).

    The subject's common name is the node id and its country the CA's, so a receiver can tell
    which node connected (see `certificate_node_id`).
    """
    if not dns_names and not ip_addresses:
        raise ValueError("a node certificate needs at least one DNS name or IP address")
    key = ec.generate_private_key(ec.SECP256R1())
    country = ca_cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    subject = x509.Name(
        [
            *(x509.NameAttribute(NameOID.COUNTRY_NAME, str(c.value)) for c in country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "migrex demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, node_id),
        ]
    )
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alternative_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        _validity(x509.CertificateBuilder(), now, days)
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
    )
    return CertifiedKey(_sign(builder, ca_key), key)


def certificate_node_id(certificate: x509.Certificate) -> str | None:
    """The node id a node certificate names (its subject's common name), if any."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificates_from_pem(text: str | bytes, where: str) -> list[x509.Certificate]:
    """Every certificate in a PEM text; raises ConfigurationError when there is none."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise ConfigurationError(f"{where} holds no readable PEM certificate: {error}") from error
    return found


# ---------------------------------------------------------------- files


def write_certificates_pem(path: Path, certificates: Iterable[x509.Certificate]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(certificate_pem(c) for c in certificates), encoding="ascii")


def write_private_key_pem(path: Path, key: PrivateKeyTypes) -> None:
    """PKCS#8 without a passphrase, created 0600: the node reads it unattended at start-up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def read_certificates_pem(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(f"cannot read certificate file {path}: {error}") from error
    return certificates_from_pem(data, str(path))


def read_private_key_pem(path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ConfigurationError(f"cannot read private key file {path}: {error}") from error


# ---------------------------------------------------------------- building blocks


def _validity(
    builder: x509.CertificateBuilder, now: datetime, days: int
) -> x509.CertificateBuilder:
    if now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    start = now - _BACKDATE
    return builder.not_valid_before(start).not_valid_after(now + timedelta(days=days))


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _sign(builder: x509.CertificateBuilder, key: CAKey) -> x509.Certificate:
    # Ed25519 signs without a separate hash; ECDSA needs one named.
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)
