"""Identity and trust: authority and party keys, the key store, X.509 certificates, node
secrets and the TLS contexts of the exchange. Other features use only what is exported here.
The demo PKI bootstrap and `migrex pki` build on this and on the directories, so they live a
layer up, in `migrex.directory`."""

from __future__ import annotations

from migrex.identity.keys import (
    CURVES,
    DEFAULT_LIFETIME,
    AuthorityKey,
    KeyPair,
    KeyStoreError,
    KeyUse,
    current_key,
    key_set,
    public_key,
)
from migrex.identity.keystore import FileKeyStore, KeyStore
from migrex.identity.node_secrets import node_secret
from migrex.identity.pki import (
    CertifiedKey,
    certificate_node_id,
    certificate_pem,
    create_state_ca,
    issue_node_certificate,
    read_certificates_pem,
    read_private_key_pem,
    write_certificates_pem,
    write_private_key_pem,
)
from migrex.identity.tls import client_ssl_context, peer_certificate, server_ssl_context

__all__ = [
    "CURVES",
    "DEFAULT_LIFETIME",
    "AuthorityKey",
    "CertifiedKey",
    "FileKeyStore",
    "KeyPair",
    "KeyStore",
    "KeyStoreError",
    "KeyUse",
    "certificate_node_id",
    "certificate_pem",
    "client_ssl_context",
    "create_state_ca",
    "current_key",
    "issue_node_certificate",
    "key_set",
    "node_secret",
    "peer_certificate",
    "public_key",
    "read_certificates_pem",
    "read_private_key_pem",
    "server_ssl_context",
    "write_certificates_pem",
    "write_private_key_pem",
]
