"""Answering a partner that verifies its log: the heads of its log this node holds.

We hold two kinds, both signed by the partner itself: the checkpoints of its log we cosigned
as its witness, and the receipts it gave us for our messages, each stating its log's size and
root just after it logged our envelope. We hand back the latest checkpoint and the heads no
cosigned checkpoint was proven to extend yet, as they are: the partner checks them with its
own keys, so it needs to trust nothing we say.

The request is a small JWS signed with one of the partner's authority keys from the signed
directory, naming its log; only the node whose log it is gets the answer. It travels on the
mutual-TLS door partners already use, as a plain request rather than a message: it changes
nothing, and the partner's operator waits for the answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from joserfc import jws
from joserfc.jwk import OKPKey
from sqlalchemy import select

from migrex.audit.origins import log_origin
from migrex.audit.tables import AuditPartnerHead, AuditWitnessed
from migrex.envelope.model import canonical_json, strict_json_object
from migrex.envelope.seal import JWS_REGISTRY, sign_compact
from migrex.errors import MigrexError
from migrex.exchange.tables import Receipt, SecurityEvent
from migrex.exchange.trust import Trust
from migrex.uow import UnitOfWork

HEADS_PATH: Final = "/v1/audit/heads"
REQUEST_TYP: Final = "migrex-audit-heads+jws"
# A request is answered only this close to when it was signed: a copied one soon expires.
_FRESH: Final = timedelta(minutes=5)
# Sizes answered per request; the asker pages on with `after_size`.
PAGE_SIZES: Final = 500


class HeadsRequestRefused(MigrexError):
    type_slug = "audit-heads-refused"
    title = "The request for heads of a log was refused"
    status = 403


def sign_heads_request(
    origin: str, authority: str, after_size: int, key: OKPKey, now: datetime
) -> str:
    """The request for the heads of log `origin` beyond `after_size`, signed by `authority`."""
    payload = {"origin": origin, "authority": authority, "after_size": after_size,
               "iat": int(now.timestamp())}  # fmt: skip
    return sign_compact(canonical_json(payload), key, REQUEST_TYP)


def _verified_request(token: str, trust: Trust, now: datetime) -> tuple[str, int]:
    """(origin, after_size) of a request signed by an authority of the node whose log it is."""
    try:
        signed = jws.extract_compact(token.encode("ascii"), registry=JWS_REGISTRY)
        payload = strict_json_object(signed.payload)
        kid = str(signed.protected["kid"])
        authority, origin = str(payload["authority"]), str(payload["origin"])
        after_size, iat = int(payload["after_size"]), int(payload["iat"])
    except Exception:  # hostile bytes in a third-party parser: refuse, whatever failed
        raise HeadsRequestRefused("the request is not a signed heads request") from None
    if signed.protected.get("typ") != REQUEST_TYP or after_size < 0:
        raise HeadsRequestRefused("the request is not a signed heads request")
    signed_at = datetime.fromtimestamp(iat, now.tzinfo)
    if abs(now - signed_at) > _FRESH:
        raise HeadsRequestRefused("the request was not signed just now")
    key = trust.resolve_signing_key(authority, kid, now)
    try:
        valid = key is not None and jws.validate_compact(signed, key, registry=JWS_REGISTRY)
    except Exception:
        valid = False
    if not valid:
        raise HeadsRequestRefused(f"the request does not verify with a key of {authority}")
    if origin not in _origins_of(trust, authority):
        raise HeadsRequestRefused(f"{authority} asks for the heads of another node's log")
    return origin, after_size


def _origins_of(trust: Trust, authority: str) -> set[str]:
    return {
        log_origin(entry.state, entry.node_id)
        for directory in trust.directories.values()
        for entry in directory.entries
        if entry.authority_id == authority
    }


def answer_heads_request(
    uow: UnitOfWork, trust: Trust, token: str, now: datetime, *, peer: str | None = None
) -> dict[str, Any]:
    """What we hold of the asker's log: the latest checkpoint of it we cosigned (on the first
    page), and the receipts stating heads not yet proven to lie under a cosigned checkpoint,
    for the smallest `PAGE_SIZES` sizes beyond the asked one; `more` when there are more.

    Earlier cosigned checkpoints, and heads proven consistent with one, are implied by the
    latest: we cosigned each checkpoint only once it was shown to extend all of those. A
    refused request is noted in the security log (what it was, never its content) and raises
    `HeadsRequestRefused`.
    """
    session = uow.session
    try:
        origin, after = _verified_request(token, trust, now)
    except HeadsRequestRefused as refused:
        session.add(SecurityEvent(at=now, reason="heads-refused", detail=refused.detail,
                                  peer=peer, size=len(token), envelope_sha256=None))  # fmt: skip
        uow.commit()
        raise
    witnessed, held = AuditWitnessed, AuditPartnerHead
    latest = session.scalars(
        select(witnessed.note)
        .where(witnessed.origin == origin)
        .order_by(witnessed.size.desc())
        .limit(1)
    ).first()
    open_heads = (held.origin == origin, held.reconciled_at.is_(None), held.size > after)
    sizes = list(
        session.scalars(
            select(held.size).where(*open_heads).distinct().order_by(held.size)
            .limit(PAGE_SIZES + 1)
        )
    )  # fmt: skip
    more, sizes = len(sizes) > PAGE_SIZES, sizes[:PAGE_SIZES]
    last = sizes[-1] if sizes else after
    receipts = session.scalars(
        select(Receipt.token)
        .join(held, held.message_id == Receipt.message_id)
        .where(*open_heads, held.size <= last)
        .order_by(held.size)
    )
    checkpoints = [latest] if latest is not None and after == 0 else []
    return {"origin": origin, "checkpoints": checkpoints, "receipts": list(receipts),
            "more": more, "last_size": last}  # fmt: skip
