"""Verification across directory versions: a key a later version dropped still verifies what
it signed before it was dropped, and nothing dated after."""

from __future__ import annotations

from datetime import timedelta

from casework_steps import now
from migrex.directory import sign_directory
from migrex.directory.updates import proposed_version
from migrex.identity.keys import KeyUse
from nodes import Pair

AGREEMENT = "kz-am-2024"


def test_a_dropped_key_verifies_only_what_it_signed_before(pair: Pair) -> None:
    am = pair.am_trust.keystore
    old = am.current_signing("am-mcs")
    pending = am.add_pending("am-mcs", now())
    keep = [k for k in am.all_keys("am-mcs") if k.kid != old.kid]  # the old key dropped
    current = pair.kz_trust.directories[AGREEMENT]
    dropped_at = now() + timedelta(hours=1)
    keys = {"am-mcs": keep, "am-police": am.all_keys("am-police")}
    version = proposed_version(current, "AM", keys, dropped_at)
    signed = sign_directory(version, "AM", am.party_key("AM").key)
    signed = sign_directory(signed, "KZ", pair.kz_trust.keystore.party_key("KZ").key)
    assert pair.kz_trust.files is not None
    pair.kz_trust.files.install(AGREEMENT, signed)
    pair.kz_trust.refresh()
    assert pair.kz_trust.directories[AGREEMENT].version == 2
    assert [d.version for d in pair.kz_trust.history[AGREEMENT]] == [1, 2]

    resolve = pair.kz_trust.resolve_signing_key
    before = dropped_at - timedelta(minutes=1)
    assert resolve("am-mcs", old.kid, before) is not None  # an old receipt still verifies
    assert resolve("am-mcs", old.kid, dropped_at) is None  # a signature dated after: never
    assert resolve("am-mcs", pending.signing.kid, dropped_at) is not None
    assert old.use is KeyUse.SIGNING


def test_a_key_written_by_another_process_a_moment_ago_decrypts_at_once(pair: Pair) -> None:
    """A partner seals to our new key as soon as it has installed the directory listing it;
    the running node must open that envelope even if it read its key files a moment before
    `pki rotate` (another process) wrote the key, not refuse it for good."""
    trust = pair.am_trust
    at = now()
    before = trust.decryption_keys(at)  # the files read now: the next look is a while away
    pending = trust.keystore.add_pending("am-mcs", at)
    assert pending.encryption.kid not in list(before)
    keys = trust.decryption_keys(at)
    assert keys.get(pending.encryption.kid) is not None
    assert keys[pending.encryption.kid].authority_id == "am-mcs"
    assert keys.get("no-such-kid") is None
