"""Checkpoints (c2sp.org/tlog-checkpoint) in signed notes (c2sp.org/signed-note)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import OKPKey

from migrex.audit import (
    AuditError,
    Checkpoint,
    NoteRejected,
    add_cosignature,
    ed25519_private_key,
    ed25519_public_key,
    format_checkpoint,
    key_id,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

DASH = "\u2014"

# golang.org/x/mod/sumdb/note documentation and tests: keys, text and signatures.
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_LINE = (
    f"{DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_LINE = (
    f"{DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
)
# c2sp.org/signed-note, "Verifier keys" example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    f"{DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3"
    "mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# c2sp.org/tlog-checkpoint example text, and the tlog-cosignature example's witness line.
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_COSIGNATURE = (
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBk"
    "BIfZ+qnA=="
)

LOG_NAME = "kz.migrex.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS_NAME = "am.migrex.example/witness"
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
AT = datetime(2025, 9, 3, 10, 0, 0, tzinfo=UTC)


def checkpoint_note(size: int = 5, root_hash: bytes = b"\x07" * 32) -> str:
    return sign_note(format_checkpoint(Checkpoint(LOG_NAME, size, root_hash)), LOG_NAME, LOG_KEY)


def test_signing_reproduces_the_go_reference_note_byte_for_byte() -> None:
    key = Ed25519PrivateKey.from_private_bytes(GO_SEED)
    assert sign_note(GO_TEXT, "PeterNeumann", key) == f"{GO_TEXT}\n{PETER_LINE}"
    assert verifier_key("PeterNeumann", key.public_key()) == GO_VKEY
    assert key_id("PeterNeumann", key.public_key()).hex() == "c74f20a3"


def test_published_notes_open_with_their_published_keys() -> None:
    spec_name, spec_key = parse_verifier_key(SPEC_VKEY)
    assert open_note(SPEC_NOTE, {spec_name: spec_key}).text == "This is an example message.\n"
    peter, enoch = parse_verifier_key(GO_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = f"{GO_TEXT}\n{PETER_LINE}{ENOCH_LINE}"
    assert open_note(note, dict([peter])).verified == {"PeterNeumann"}  # Enoch: unknown, ignored
    assert open_note(note.encode(), dict([peter, enoch])).verified == {"PeterNeumann", "EnochRoot"}


def test_verifier_keys_with_a_wrong_id_or_type_are_refused() -> None:
    for vkey in [
        "PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]:
        with pytest.raises(NoteRejected):
            parse_verifier_key(vkey)


def test_the_spec_checkpoint_parses_and_formats_back() -> None:
    checkpoint = parse_checkpoint(SPEC_CHECKPOINT)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert format_checkpoint(checkpoint) == SPEC_CHECKPOINT


@settings(max_examples=60)
@given(
    origin=st.from_regex(r"[a-z0-9./-]{1,40}", fullmatch=True),
    size=st.integers(min_value=0, max_value=2**64),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(st.from_regex(r"[ -~]{1,20}", fullmatch=True), max_size=3),
)
def test_checkpoints_round_trip(
    origin: str, size: int, root_hash: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root_hash, tuple(extensions))
    text = format_checkpoint(checkpoint)
    assert parse_checkpoint(text) == checkpoint
    assert text.count("\n") == 3 + len(extensions) and text.endswith("\n")


@pytest.mark.parametrize(
    "text",
    [
        "log\n5\n" + base64.b64encode(b"\x01" * 32).decode(),  # no final newline
        "log\n05\n" + base64.b64encode(b"\x01" * 32).decode() + "\n",  # leading zero
        "log\n-5\n" + base64.b64encode(b"\x01" * 32).decode() + "\n",
        "log\n+5\n" + base64.b64encode(b"\x01" * 32).decode() + "\n",
        "log\n5\n" + base64.b64encode(b"\x01" * 31).decode() + "\n",  # short hash
        "log\n5\n" + base64.b64encode(b"\x01" * 32).decode().rstrip("=") + "\n",  # no padding
        "log\n5\nnot base64!\n",
        "log\n5\n",
        "\n5\n" + base64.b64encode(b"\x01" * 32).decode() + "\n",  # empty origin
        "log\n5\n" + base64.b64encode(b"\x01" * 32).decode() + "\n\n",  # empty extension
        "log\n5\n" + base64.b64encode(b"\x01" * 32).decode() + "\nx\ty\n",  # control character
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(NoteRejected):
        parse_checkpoint(text)


def test_a_note_signed_only_by_unknown_keys_is_rejected() -> None:
    other = Ed25519PrivateKey.generate()
    note = checkpoint_note()
    with pytest.raises(NoteRejected, match="no known key"):
        open_note(note, {})
    with pytest.raises(NoteRejected, match="no known key"):
        open_note(note, {"someone.else/log": other.public_key()})
    with pytest.raises(NoteRejected, match="no known key"):
        open_note(note, {LOG_NAME: other.public_key()})  # same name, another key: ignored


def test_a_bad_signature_from_a_known_key_rejects_the_whole_note() -> None:
    note = checkpoint_note()
    tampered = note.replace("\n5\n", "\n6\n")
    with pytest.raises(NoteRejected, match="does not verify"):
        open_note(tampered, {LOG_NAME: LOG_KEY.public_key()})
    # A valid signature next to a forged one by another known key does not save it.
    forged_line = (
        f"{DASH} {WITNESS_NAME} "
        + base64.b64encode(key_id(WITNESS_NAME, WITNESS_KEY.public_key()) + b"\x00" * 64).decode()
    )
    keys = {LOG_NAME: LOG_KEY.public_key(), WITNESS_NAME: WITNESS_KEY.public_key()}
    with pytest.raises(NoteRejected, match="does not verify"):
        open_note(f"{note}{forged_line}\n", keys)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda note: note.replace("\n\n", "\n"),  # no blank line before the signatures
        lambda note: note.replace(DASH, "-"),
        lambda note: note[:-1],  # no final newline
        lambda note: note + "trailing\n",
        lambda note: note.replace(f" {LOG_NAME} ", f" {LOG_NAME}+x "),
        lambda note: note.replace(f" {LOG_NAME} ", f"  {LOG_NAME} "),
        lambda note: note.replace("=\n", "=x\n"),  # not base64
        lambda note: note.replace("kz.migrex", "kz\x01migrex"),  # control character
        lambda note: note.rsplit(" ", 1)[0] + " AAAAAA==\n",  # shorter than a key ID + 1 byte
        lambda note: note + f"{DASH} other AAAAAAA=\n" * 100,  # too many signatures
    ],
)
def test_malformed_notes_are_rejected(mangle: Callable[[str], str]) -> None:
    note = checkpoint_note()
    with pytest.raises(NoteRejected):
        open_note(mangle(note), {LOG_NAME: LOG_KEY.public_key()})


def test_invalid_utf8_is_rejected() -> None:
    note = checkpoint_note().encode().replace(b"kz.", b"kz\xff")
    with pytest.raises(NoteRejected, match="UTF-8"):
        open_note(note, {LOG_NAME: LOG_KEY.public_key()})


def test_a_cosignature_follows_tlog_cosignature_v1() -> None:
    cosigned = add_cosignature(checkpoint_note(), WITNESS_NAME, WITNESS_KEY, at=AT)
    text, _, block = cosigned.rpartition("\n\n")
    line = block.splitlines()[-1]
    assert line.startswith(f"{DASH} {WITNESS_NAME} ")
    blob = base64.b64decode(line.rsplit(" ", 1)[1])
    assert len(blob) == 4 + 8 + 64
    assert blob[:4] == key_id(WITNESS_NAME, WITNESS_KEY.public_key(), 0x04)
    assert int.from_bytes(blob[4:12], "big") == int(AT.timestamp())
    message = b"cosignature/v1\ntime %d\n" % int(AT.timestamp()) + (text + "\n").encode()
    WITNESS_KEY.public_key().verify(blob[12:], message)  # raises if the format differs
    # The published examples (tlog-cosignature, transparency-dev/formats) share the layout.
    for published, timestamp in [
        (SPEC_COSIGNATURE, 1679315147),
        (
            "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJX"
            "ORmnFBOBA==",
            1727964367,
        ),
    ]:
        raw = base64.b64decode(published)
        assert len(raw) == len(blob) and int.from_bytes(raw[4:12], "big") == timestamp


def test_cosignatures_open_with_cosigner_keys_only() -> None:
    cosigned = add_cosignature(checkpoint_note(), WITNESS_NAME, WITNESS_KEY, at=AT)
    opened = open_note(
        cosigned, {LOG_NAME: LOG_KEY.public_key()}, {WITNESS_NAME: WITNESS_KEY.public_key()}
    )
    assert opened.verified == {LOG_NAME, WITNESS_NAME}
    assert opened.cosigned_at == {WITNESS_NAME: AT}
    # As a plain note key the witness's key ID differs, so its line is just unknown.
    as_note_key = open_note(
        cosigned, {LOG_NAME: LOG_KEY.public_key(), WITNESS_NAME: WITNESS_KEY.public_key()}
    )
    assert as_note_key.verified == {LOG_NAME}
    with pytest.raises(NoteRejected):
        open_note(cosigned, {}, {WITNESS_NAME: Ed25519PrivateKey.generate().public_key()})


def test_a_new_cosignature_replaces_the_witness_s_older_one() -> None:
    first = add_cosignature(checkpoint_note(), WITNESS_NAME, WITNESS_KEY, at=AT)
    later = AT + timedelta(hours=1)
    second = add_cosignature(first, WITNESS_NAME, WITNESS_KEY, at=later)
    assert second.count(WITNESS_NAME) == 1
    opened = open_note(second, {}, {WITNESS_NAME: WITNESS_KEY.public_key()})
    assert opened.cosigned_at[WITNESS_NAME] == later


def test_only_checkpoints_are_cosigned_and_only_at_an_aware_time() -> None:
    with pytest.raises(NoteRejected):
        add_cosignature(sign_note("hello\n", LOG_NAME, LOG_KEY), WITNESS_NAME, WITNESS_KEY, at=AT)
    with pytest.raises(NoteRejected):
        add_cosignature(checkpoint_note(), WITNESS_NAME, WITNESS_KEY, at=datetime(2025, 9, 3))
    with pytest.raises(NoteRejected):
        sign_note("no final newline", LOG_NAME, LOG_KEY)
    with pytest.raises(NoteRejected):
        sign_note("text\n", "has space", LOG_KEY)


def test_jwks_convert_to_ed25519_keys() -> None:
    jwk = OKPKey.generate_key("Ed25519")
    private = ed25519_private_key(jwk)
    public = ed25519_public_key(jwk.as_dict(private=False))
    note = sign_note("signed with a JWK\n", LOG_NAME, private)
    assert open_note(note, {LOG_NAME: public}).verified == {LOG_NAME}
    assert ed25519_public_key(jwk).public_bytes_raw() == public.public_bytes_raw()
    with pytest.raises(AuditError):
        ed25519_private_key(jwk.as_dict(private=False))
    with pytest.raises(AuditError):
        ed25519_public_key(OKPKey.generate_key("X25519"))
    with pytest.raises(AuditError):
        ed25519_public_key({"kty": "OKP", "crv": "Ed25519"})
