"""Verifying our log against what the partners saw of it (`migrex audit verify --with-partner`).

Each partner node is asked, over the mutual-TLS door, for the heads of our log it holds
(`partner_heads`). What comes back is ours: checkpoints our log key signed, receipts our
authorities signed. Each is checked with our own keys, every one we ever had, and only then
taken as a head the log must still agree with; anything else a partner sends is counted as
unverifiable and otherwise ignored, so a partner cannot make our log look broken.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from migrex.audit.checkpoint import NoteRejected, open_note, parse_checkpoint
from migrex.audit.heads_held import HeldHead
from migrex.audit.log import verify
from migrex.audit.log_keys import LogKeys
from migrex.audit.merkle import AuditError
from migrex.audit.receipt_proof import CLAIM, verify_proof_claims
from migrex.audit.verification import VerifyReport, read_one_snapshot
from migrex.envelope import ReceiptInvalid, verify_receipt
from migrex.errors import MigrexError
from migrex.exchange.trust import Trust
from migrex.identity import KeyUse
from migrex.identity.keys import public_key
from migrex.identity.keystore import KeyStore
from migrex.witness.keys import cosigner_keys
from migrex.witness.node import WitnessingNode, witnesses_of
from migrex.witness.partner_heads import HEADS_PATH, sign_heads_request


class PartnerUnreachable(MigrexError):
    type_slug = "partner-unreachable"
    title = "The partner node could not be asked for the heads of our log"
    status = 502


class HeadsClient(Protocol):
    def ask(self, endpoint: str, request: str) -> Mapping[str, Any]:
        """The partner's answer to a signed heads request; raises PartnerUnreachable."""
        ...


class HttpsHeadsClient:
    """Asks over HTTPS with the node's own TLS context (client certificate, partners' CAs)."""

    def __init__(self, trust: Trust, timeout: float = 60.0) -> None:
        self._client = httpx.Client(verify=trust.client_context(), timeout=timeout)

    def ask(self, endpoint: str, request: str) -> Mapping[str, Any]:
        try:
            response = self._client.post(endpoint.rstrip("/") + HEADS_PATH,
                                         json={"request": request})  # fmt: skip
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise PartnerUnreachable(f"{endpoint}: {error}") from error
        if not isinstance(answer, dict):
            raise PartnerUnreachable(f"{endpoint}: the answer is not a JSON object")
        return answer

    def close(self) -> None:
        self._client.close()


@dataclass
class PartnerHeads:
    """The heads of our log the partners hold, as checked with our keys."""

    heads: list[HeldHead] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    unverifiable: int = 0
    """Items a partner returned that no key of ours signed, or that name another log."""
    largest: dict[str, int] = field(default_factory=dict)
    """The largest verified head each partner asked holds, by its authority."""


OwnKeyResolver = Callable[[str, str, datetime], OKPKey | None]


def own_signing_keys(keystore: KeyStore, hosted: Sequence[str]) -> OwnKeyResolver:
    """Our authorities' public signing keys by kid, valid at a time: the ones our receipts
    were signed with, rotated out or not."""
    keys = {
        (authority, key.kid): key
        for authority in hosted
        for key in keystore.all_keys(authority)
        if key.use is KeyUse.SIGNING
    }

    def resolve(authority: str, kid: str, at: datetime) -> OKPKey | None:
        key = keys.get((authority, kid))
        return public_key(key.public_jwk()) if key is not None and key.valid_at(at) else None

    return resolve


def _checkpoint_head(note: str, log: LogKeys, partner: str) -> HeldHead | None:
    for name, key in log.verifiers:
        try:
            checkpoint = parse_checkpoint(open_note(note, {name: key}).text)
        except NoteRejected:
            continue
        if checkpoint.origin != log.origin:
            return None
        source = f"the checkpoint {partner} cosigned"
        return HeldHead(checkpoint.size, checkpoint.root_hash, source)
    return None


def _receipt_head(
    token: str, resolve: OwnKeyResolver, hosted: Sequence[str], partner: str
) -> HeldHead | None:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        receipt = verify_receipt(token, resolve_signing_key=resolve,
                                 expected_envelope_sha256=str(payload["envelope_sha256"]),
                                 expected_receiver=str(payload["receiver"]))  # fmt: skip
        logged = verify_proof_claims(receipt.extra.get(CLAIM) or {},
                                     message_id=receipt.message_id,
                                     envelope_sha256=receipt.envelope_sha256)  # fmt: skip
    except (ReceiptInvalid, AuditError, ValueError, KeyError, TypeError, IndexError):
        return None
    if receipt.receiver not in hosted:
        return None
    source = f"our receipt for {receipt.message_id} (held by {partner})"
    return HeldHead(logged.size, logged.root_hash, source)


def heads_held_by_partners(
    trust: Trust, witnessing: WitnessingNode, log: LogKeys, client: HeadsClient, now: datetime
) -> PartnerHeads:
    """Ask one node of each partner state for the heads of our log it holds, page by page."""
    found = PartnerHeads()
    resolve = own_signing_keys(trust.keystore, trust.hosted)
    authority = witnessing.signer.authority
    for agreement_id, partner in witnesses_of(witnessing.agreements, witnessing.own_state):
        endpoint = trust.endpoint_of(agreement_id, partner)
        found.asked.append(partner)
        after = 0
        while True:
            request = sign_heads_request(log.origin, authority, after,
                                         trust.signing_key(authority, now), now)  # fmt: skip
            answer = client.ask(endpoint, request)
            for note in answer.get("checkpoints", []):
                head = _checkpoint_head(str(note), log, partner)
                found.heads += [head] if head else []
                found.unverifiable += head is None
            for token in answer.get("receipts", []):
                head = _receipt_head(str(token), resolve, trust.hosted, partner)
                found.heads += [head] if head else []
                found.unverifiable += head is None
            sizes = [h.size for h in found.heads if partner in h.source]
            if sizes:
                found.largest[partner] = max([found.largest.get(partner, 0), *sizes])
            last = int(answer.get("last_size", after))
            if not answer.get("more") or last <= after:
                break
            after = last
    return found


def verify_with_partners(
    session: Session,
    trust: Trust,
    witnessing: WitnessingNode,
    log: LogKeys,
    client: HeadsClient,
    *,
    now: datetime,
    workers: int | None = 0,
) -> tuple[VerifyReport, PartnerHeads]:
    """The log verified against itself, the partners' cosigning keys (every one they ever
    published) and the heads of it the partners hold; and what the partners returned."""
    held = heads_held_by_partners(trust, witnessing, log, client, now)
    read_one_snapshot(session)  # the keys and the log as of one moment
    keys = cosigner_keys(session, trust)
    report = verify(session, log.verifiers, keys, held_heads=held.heads, workers=workers)
    return report, held
