"""The linkage unit's routes on its partners' mutual-TLS door.

Parties upload their transfer file by file and collect their sealed result; a node that is not
the unit of the agreement answers 404 to all of it. Nothing here is trusted for being on the
door: every file is checked against its sender's signature as the agreement's directory lists
it before it is kept (`linkage.unit`), and a result is sealed to its party, so the door's
client certificate only decides who may talk at all.

    PUT  /v1/linkage/{agreement}/runs/{run}/transfers/{sender}/opening
    PUT  /v1/linkage/{agreement}/runs/{run}/transfers/{sender}/chunks/{index}
    PUT  /v1/linkage/{agreement}/runs/{run}/transfers/{sender}/manifest
    GET  /v1/linkage/{agreement}/runs/{run}/transfers/{sender}     where it stands
    GET  /v1/linkage/{agreement}/runs/{run}/results/{party}        202 until compared
    POST /v1/linkage/{agreement}/runs/{run}/results/{party}/receipt  the result is deleted
    GET  /v1/linkage/{agreement}/log?since=N          the unit's checkpoint, proof from N
    POST /v1/linkage/{agreement}/log/cosignatures     a party's cosignature of it
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from migrex.errors import MigrexError
from migrex.exchange.runtime import ExchangeRuntime
from migrex.linkage.chunks import MAX_CHUNK_BYTES
from migrex.linkage.transfer import MAX_DOCUMENT
from migrex.linkage.unit import LinkageUnit, Step
from migrex.linkage.unit_log import CosignatureRefused, UnitLog

router = APIRouter(prefix="/v1/linkage/{agreement_id}/runs/{run_id}", tags=["linkage unit"])
log_router = APIRouter(prefix="/v1/linkage/{agreement_id}/log", tags=["linkage unit"])

# A chunk holds CHUNK_RECORDS records (some 6 MB); a sender may choose larger ones, up to this.
MAX_CHUNK_UPLOAD: Final = min(MAX_CHUNK_BYTES, 128 * 1024 * 1024)
_RESULT_TYPE: Final = "application/jose"


class UploadTooLarge(MigrexError):
    type_slug = "linkage-upload-too-large"
    title = "The file is larger than the linkage unit takes"
    status = 413


class UploadCut(MigrexError):
    type_slug = "linkage-upload-cut"
    title = "The sender disconnected before the file was whole"
    status = 400


def _unit(request: Request, agreement_id: str) -> LinkageUnit:
    """The node's unit, once it is known to serve `agreement_id` (404 otherwise, before any
    body is read)."""
    runtime: ExchangeRuntime = request.app.state.exchange
    unit = getattr(request.app.state, "linkage_unit", None)
    if unit is None:
        unit = request.app.state.linkage_unit = LinkageUnit.of(runtime.node, runtime.trust)
    unit.unit_of(agreement_id)
    return unit


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(f"the file exceeds {limit} bytes")
    body = bytearray()
    try:
        async for part in request.stream():
            body += part
            if len(body) > limit:
                raise UploadTooLarge(f"the file exceeds {limit} bytes")
    except ClientDisconnect:
        raise UploadCut("the file was not received whole") from None
    return bytes(body)


def _answer(step: Step) -> dict[str, Any]:
    return step.as_json()


AgreementId = Annotated[str, Path(max_length=64)]
RunId = Annotated[str, Path(max_length=64)]
Authority = Annotated[str, Path(max_length=64)]


@router.put("/transfers/{sender}/opening", summary="A party's signed opening of its transfer")
async def put_opening(
    request: Request, agreement_id: AgreementId, run_id: RunId, sender: Authority
) -> dict[str, Any]:
    unit = _unit(request, agreement_id)
    raw = await _body(request, MAX_DOCUMENT)
    step = await run_in_threadpool(unit.put_opening, agreement_id, run_id, sender, raw)
    return _answer(step)


@router.put("/transfers/{sender}/chunks/{index}", summary="The next chunk of a party's transfer")
async def put_chunk(
    request: Request, index: Annotated[int, Path(ge=0, lt=1 << 32)], agreement_id: AgreementId,
    run_id: RunId, sender: Authority,
) -> dict[str, Any]:  # fmt: skip
    unit = _unit(request, agreement_id)
    raw = await _body(request, MAX_CHUNK_UPLOAD)
    step = await run_in_threadpool(unit.put_chunk, agreement_id, run_id, sender, index, raw)
    return _answer(step)


@router.put("/transfers/{sender}/manifest", summary="A party's signed manifest: the last file")
async def put_manifest(
    request: Request, agreement_id: AgreementId, run_id: RunId, sender: Authority
) -> dict[str, Any]:
    unit = _unit(request, agreement_id)
    raw = await _body(request, MAX_DOCUMENT)
    step = await run_in_threadpool(unit.put_manifest, agreement_id, run_id, sender, raw)
    return _answer(step)


@router.get("/transfers/{sender}", summary="Where a party's transfer stands at the unit")
async def get_step(
    request: Request, agreement_id: AgreementId, run_id: RunId, sender: Authority
) -> dict[str, Any]:
    unit = _unit(request, agreement_id)
    return _answer(await run_in_threadpool(unit.step, agreement_id, run_id, sender))


@router.get("/results/{party}", summary="A party's sealed candidates, once the run is compared")
async def get_result(
    request: Request, agreement_id: AgreementId, run_id: RunId, party: Authority
) -> Response:
    unit = _unit(request, agreement_id)
    sealed = await run_in_threadpool(unit.result, agreement_id, run_id, party)
    if sealed is None:
        return JSONResponse({"status": "comparing"}, status_code=202,
                            headers={"Retry-After": "5"})  # fmt: skip
    return Response(sealed, media_type=_RESULT_TYPE)


@router.post("/results/{party}/receipt", status_code=204,
             summary="A party's signed receipt: its result is deleted")  # fmt: skip
async def post_receipt(
    request: Request, agreement_id: AgreementId, run_id: RunId, party: Authority
) -> Response:
    unit = _unit(request, agreement_id)
    raw = await _body(request, MAX_DOCUMENT)
    await run_in_threadpool(unit.collected, agreement_id, run_id, party, raw)
    return Response(status_code=204)


# A cosignature is a checkpoint note (origin, size, root) with a few signature lines.
_MAX_COSIGNATURE = 16 * 1024


@log_router.get("", summary="The unit's checkpoint, with the consistency proof from `since`")
async def get_log(
    request: Request, agreement_id: AgreementId,
    since: Annotated[int, Query(ge=0, lt=1 << 62)] = 0,
) -> dict[str, Any]:  # fmt: skip
    log = UnitLog(_unit(request, agreement_id))
    return await run_in_threadpool(log.checkpoint, agreement_id, since, datetime.now(UTC))


@log_router.post("/cosignatures", status_code=204,
                 summary="A party's cosignature of the unit's checkpoint")  # fmt: skip
async def post_cosignature(request: Request, agreement_id: AgreementId) -> Response:
    log = UnitLog(_unit(request, agreement_id))
    raw = await _body(request, _MAX_COSIGNATURE)
    try:
        body = json.loads(raw)
    except ValueError:
        raise CosignatureRefused("the cosignature is not JSON") from None
    if not isinstance(body, dict):
        raise CosignatureRefused("the cosignature is not a JSON object")
    await run_in_threadpool(log.keep_cosignature, agreement_id, body, datetime.now(UTC))
    return Response(status_code=204)
