"""A party's HTTPS client of the linkage unit: mutual TLS, the unit's door as the agreement's
directory lists it, and a resumable upload of a transfer written on disk.

The client trusts, for the unit, only the CA of the state the directory says hosts it (the
node's own state, possibly, which its partners' client context does not trust), and presents
the node's own certificate.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from migrex.errors import MigrexError
from migrex.exchange.trust import Trust
from migrex.identity.tls import client_ssl_context
from migrex.linkage.transfer import MANIFEST, OPENING, chunk_name

TIMEOUT_SECONDS: Final = 120.0


class UnitUnreachable(MigrexError):
    type_slug = "linkage-unit-unreachable"
    title = "The linkage unit could not be reached; run the command again to carry on"
    status = 502


class ResultNotReady(MigrexError):
    type_slug = "linkage-result-not-ready"
    title = "The linkage unit has not compared the run yet; collect again later"
    status = 409


class UnitRefused(MigrexError):
    type_slug = "linkage-unit-refused"
    title = "The linkage unit refused the request"
    status = 422


@dataclass(frozen=True)
class UnitAddress:
    """Where one agreement's unit is, and how to reach it."""

    agreement_id: str
    unit: str
    endpoint: str
    context: ssl.SSLContext


def unit_address(trust: Trust, agreement_id: str, unit: str) -> UnitAddress:
    directory = trust.directories[agreement_id]
    entry = directory.entry(unit)
    settings = trust.settings
    if settings.tls_cert is None or settings.tls_key is None:
        raise UnitUnreachable("the node needs tls_cert and tls_key to reach the linkage unit")
    context = client_ssl_context(
        settings.tls_cert, settings.tls_key, [],
        trust_anchor_pems=directory.trust_anchors_of(entry.state),
    )  # fmt: skip
    return UnitAddress(agreement_id, unit, entry.endpoint, context)


class UnitClient:
    def __init__(self, address: UnitAddress, timeout: float = TIMEOUT_SECONDS) -> None:
        self.address = address
        self._client = httpx.Client(verify=address.context, timeout=timeout)

    def __enter__(self) -> UnitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _url(self, run_id: str, tail: str) -> str:
        base = self.address.endpoint.rstrip("/")
        return f"{base}/v1/linkage/{self.address.agreement_id}/runs/{run_id}/{tail}"

    def _send(self, method: str, url: str, content: bytes | None = None) -> httpx.Response:
        try:
            response = self._client.request(method, url, content=content)
        except httpx.HTTPError as error:
            raise UnitUnreachable(f"{type(error).__name__} talking to the unit") from None
        if response.status_code >= 500:
            raise UnitUnreachable(f"the unit answered HTTP {response.status_code}")
        return response

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise UnitRefused(_problem(response))
        try:
            found = response.json()
        except ValueError:
            raise UnitRefused("the unit's answer is not JSON") from None
        if not isinstance(found, dict):
            raise UnitRefused("the unit's answer is not an object")
        return found

    def _log_url(self, tail: str = "") -> str:
        base = self.address.endpoint.rstrip("/")
        return f"{base}/v1/linkage/{self.address.agreement_id}/log{tail}"

    def checkpoint(self, since: int) -> dict[str, Any]:
        """The unit's checkpoint of its log, with the consistency proof from size `since`."""
        return self._json(self._send("GET", self._log_url(f"?since={since}")))

    def cosign(self, cosignature: dict[str, Any]) -> None:
        content = json.dumps(cosignature).encode("utf-8")
        response = self._send("POST", self._log_url("/cosignatures"), content)
        if response.status_code != 204:
            raise UnitRefused(_problem(response))

    def step(self, run_id: str, sender: str) -> dict[str, Any] | None:
        """Where our transfer stands at the unit; None before its opening."""
        response = self._send("GET", self._url(run_id, f"transfers/{sender}"))
        return None if response.status_code == 404 else self._json(response)

    def put(self, run_id: str, sender: str, what: str, data: bytes) -> dict[str, Any]:
        url = self._url(run_id, f"transfers/{sender}/{what}")
        return self._json(self._send("PUT", url, data))

    def result(self, run_id: str, party: str) -> bytes | None:
        """Our sealed result; None while the unit compares."""
        response = self._send("GET", self._url(run_id, f"results/{party}"))
        if response.status_code == 202:
            return None
        if response.status_code != 200:
            raise UnitRefused(_problem(response))
        return response.content

    def receipt(self, run_id: str, party: str, receipt: bytes) -> None:
        response = self._send("POST", self._url(run_id, f"results/{party}/receipt"), receipt)
        if response.status_code != 204:
            raise UnitRefused(_problem(response))


def upload(client: UnitClient, directory: Path, run_id: str, sender: str) -> dict[str, Any]:
    """Sends the transfer in `directory` from where the unit stands: the opening if the unit
    has none, the chunks it has not verified, then the manifest. Run again after a failure,
    it carries on; the answer is the unit's last word on the transfer."""
    step = client.step(run_id, sender)
    if step is None:
        step = client.put(run_id, sender, "opening", (directory / OPENING).read_bytes())
    index = int(step["next_chunk"])
    while not step.get("complete") and (directory / chunk_name(index)).is_file():
        step = client.put(run_id, sender, f"chunks/{index}",
                          (directory / chunk_name(index)).read_bytes())  # fmt: skip
        index = int(step["next_chunk"])
    if not step.get("complete"):
        step = client.put(run_id, sender, "manifest", (directory / MANIFEST).read_bytes())
    return step


def _problem(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(document, dict):
        return f"HTTP {response.status_code}"
    # The unit's problem details name files, chunks and authorities, never a record.
    return f"HTTP {response.status_code}: {document.get('detail') or document.get('title')}"
