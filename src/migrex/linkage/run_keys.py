"""The run's encoding key as one node derives it: its own key from the key store, the partner's
from the agreement's signed directory.

Which keys: the proposer names, in its proposal, the kid of its own current X25519 key and of
the partner's current one as its directory lists them when it proposes (`RunKeyIds`). Both
parties derive from exactly those two keys for the whole run, so a rotation on either side
during the run changes nothing, as long as the rotated-out private key is kept in the key
store (it is: `migrex pki rotate` shortens old keys, it never deletes them) and the partner's
old public key is in a directory version the node installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from migrex.errors import NotFound
from migrex.exchange.trust import Trust
from migrex.linkage.keys import run_key


@dataclass(frozen=True)
class RunKeyIds:
    """The kids of the two X25519 keys a run's key is derived from, by authority id."""

    kids: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, **by_authority: str) -> RunKeyIds:
        return cls(tuple(sorted(by_authority.items())))

    def kid_of(self, authority: str) -> str:
        for owner, kid in self.kids:
            if owner == authority:
                return kid
        raise NotFound(f"the run names no key of {authority}")


def current_key_ids(
    trust: Trust, agreement_id: str, our_authority: str, partner_authority: str, at: datetime
) -> RunKeyIds:
    """The kids a proposal made at `at` records: ours and the partner's current keys."""
    ours = trust.current_encryption_key(our_authority, at).kid
    theirs = trust.recipient_key_id(agreement_id, partner_authority, at)
    return RunKeyIds(tuple(sorted(((our_authority, ours), (partner_authority, theirs)))))


def derive_run_key(
    trust: Trust,
    agreement_id: str,
    our_authority: str,
    partner_authority: str,
    run_id: str,
    *,
    key_ids: RunKeyIds,
) -> bytes:
    """The run's encoding key from the recorded keys; NotFound when this node lacks our
    private key or the directory never listed the partner's public key."""
    own = trust.own_encryption_key(our_authority, key_ids.kid_of(our_authority))
    if own is None:
        raise NotFound(f"the key store no longer holds {our_authority}'s key for this run")
    listed = trust.listed_encryption_key(
        agreement_id, partner_authority, key_ids.kid_of(partner_authority)
    )
    if listed is None:
        raise NotFound(
            f"no directory of {agreement_id} lists {partner_authority}'s key for this run"
        )
    private, public = own.key.private_key, listed.public_key
    if not isinstance(private, X25519PrivateKey) or not isinstance(public, X25519PublicKey):
        raise NotFound("the run's keys are not X25519 keys")
    return run_key(
        private,
        public,
        agreement_id=agreement_id,
        run_id=run_id,
        our_authority=our_authority,
        their_authority=partner_authority,
    )
