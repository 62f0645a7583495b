"""The run's key from two authorities' X25519 keys: the same on both sides, different for
anything else, and out of reach of a third party."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from migrex.agreements import LINKAGE_FIELDS
from migrex.linkage.keys import KEY_BYTES, Keyed, run_key
from migrex.linkage.layout import LAYOUT

KZ, AM, KG = X25519PrivateKey.generate(), X25519PrivateKey.generate(), X25519PrivateKey.generate()


def derive(
    ours: X25519PrivateKey, theirs: X25519PrivateKey, *, agreement: str = "kz-am-2024",
    run: str = "run-1", us: str = "kz-mia", them: str = "am-mcs",
) -> bytes:  # fmt: skip
    return run_key(ours, theirs.public_key(), agreement_id=agreement, run_id=run,
                   our_authority=us, their_authority=them)  # fmt: skip


def test_both_parties_derive_the_same_key_of_the_right_length() -> None:
    kz_side = derive(KZ, AM, us="kz-mia", them="am-mcs")
    am_side = derive(AM, KZ, us="am-mcs", them="kz-mia")
    assert kz_side == am_side
    assert len(kz_side) == KEY_BYTES
    # The key encodes: both sides get the same bits for the same name.
    assert Keyed(kz_side, "surname").digest("ALIBEKOV") == Keyed(am_side, "surname").digest(
        "ALIBEKOV"
    )


@pytest.mark.parametrize(
    "change",
    [{"run": "run-2"}, {"agreement": "kz-kg-example"}, {"us": "kz-mlsp"}, {"them": "am-police"}],
)
def test_another_run_agreement_or_authority_gives_another_key(change: dict[str, str]) -> None:
    assert derive(KZ, AM, **change) != derive(KZ, AM)


def test_the_parties_order_is_canonical_but_swapping_roles_is_not_the_same_run() -> None:
    # Each side names itself first; the key does not depend on who is "ours".
    assert derive(KZ, AM, us="kz-mia", them="am-mcs") == derive(AM, KZ, us="am-mcs", them="kz-mia")
    # Naming the authorities the other way round against the same keys binds other ids.
    assert derive(KZ, AM, us="am-mcs", them="kz-mia") == derive(KZ, AM)
    assert derive(KZ, AM, us="kz-mia", them="am-police") != derive(KZ, AM)


def test_ids_cannot_be_shifted_between_fields() -> None:
    assert derive(KZ, AM, agreement="a", run="b-c") != derive(KZ, AM, agreement="a-b", run="c")


def test_a_third_party_with_both_public_keys_cannot_derive_it() -> None:
    wanted = derive(KZ, AM)
    assert derive(KG, AM, us="kz-mia", them="am-mcs") != wanted
    assert derive(KG, KZ, us="am-mcs", them="kz-mia") != wanted


def test_a_run_with_oneself_is_refused() -> None:
    with pytest.raises(ValueError, match="two different authorities"):
        derive(KZ, AM, us="kz-mia", them="kz-mia")


def test_a_low_order_partner_key_is_refused() -> None:
    zero = X25519PublicKey.from_public_bytes(bytes(32))
    with pytest.raises(ValueError):
        run_key(KZ, zero, agreement_id="kz-am-2024", run_id="r", our_authority="kz-mia",
                their_authority="am-mcs")  # fmt: skip


def test_the_agreements_linkage_fields_are_the_encoders_segments() -> None:
    # An agreement may name only fields a run can encode, and every field a run encodes.
    assert {segment.field for segment in LAYOUT.segments} == LINKAGE_FIELDS
