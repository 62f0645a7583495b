"""The demo PKI: what the certificates say, and PEM files in and out."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from migrex.errors import ConfigurationError
from migrex.identity.pki import (
    certificate_node_id,
    create_state_ca,
    issue_node_certificate,
    read_certificates_pem,
    read_private_key_pem,
    write_certificates_pem,
    write_private_key_pem,
)

NOW = datetime(2025, 9, 3, 9, 0, tzinfo=UTC)


def test_the_state_ca_is_a_p256_root_that_signs_only_certificates() -> None:
    ca = create_state_ca("KZ", NOW, days=30)
    cert = ca.certificate
    assert isinstance(ca.private_key, ec.EllipticCurvePrivateKey)
    assert ca.private_key.curve.name == "secp256r1"
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "KZ"
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and not usage.digital_signature
    assert cert.not_valid_after_utc == NOW + timedelta(days=30)
    assert cert.not_valid_before_utc < NOW  # backdated for partners' clock skew


def test_a_node_certificate_serves_both_ends_of_mutual_tls() -> None:
    ca = create_state_ca("AM", NOW)
    node = issue_node_certificate(
        ca.certificate,
        ca.private_key,
        "am-node",
        now=NOW,
        dns_names=["localhost", "am.example"],
        ip_addresses=["127.0.0.1"],
    )
    cert = node.certificate
    cert.verify_directly_issued_by(ca.certificate)
    assert certificate_node_id(cert) == "am-node"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "am.example"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "AM"
    with pytest.raises(ValueError, match="DNS name or IP"):
        issue_node_certificate(
            ca.certificate, ca.private_key, "x", now=NOW, dns_names=[], ip_addresses=[]
        )


def test_pem_files_round_trip_and_private_keys_are_0600(tmp_path: Path) -> None:
    ca = create_state_ca("KZ", NOW)
    node = issue_node_certificate(ca.certificate, ca.private_key, "kz-node", now=NOW)
    write_certificates_pem(tmp_path / "chain.pem", [node.certificate, ca.certificate])
    write_private_key_pem(tmp_path / "node-key.pem", node.private_key)
    assert read_certificates_pem(tmp_path / "chain.pem") == [node.certificate, ca.certificate]
    assert stat.S_IMODE((tmp_path / "node-key.pem").stat().st_mode) == 0o600
    key = read_private_key_pem(tmp_path / "node-key.pem")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key() == node.private_key.public_key()


def test_unreadable_pem_files_are_configuration_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("junk", encoding="ascii")
    with pytest.raises(ConfigurationError, match=r"junk\.pem"):
        read_certificates_pem(tmp_path / "junk.pem")
    with pytest.raises(ConfigurationError, match=r"junk\.pem"):
        read_private_key_pem(tmp_path / "junk.pem")
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_certificates_pem(tmp_path / "missing.pem")
