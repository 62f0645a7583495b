"""The console's static files, served by the node itself: no page loads anything from another
host. Each file is named in `FILES` (nothing else under the folder is reachable) and linked
with its content hash, so a browser may keep it for a year and still gets a changed file at
once."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from migrex.errors import NotFound

STATIC: Final = Path(__file__).parent / "static"
FILES: Final = {
    "htmx.min.js": "text/javascript; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "print.css": "text/css; charset=utf-8",
}
PREFIX: Final = "/ui/static"


@functools.cache
def _content(name: str) -> tuple[bytes, str]:
    data = (STATIC / name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


def asset_url(name: str) -> str:
    """The address of a static file, with its content hash as the version."""
    _data, version = _content(name)
    return f"{PREFIX}/{name}?v={version}"


router = APIRouter(tags=["console"])


@router.get(
    PREFIX + "/{name}",
    summary="A static file of the console (scripts, styles)",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}, "text/css": {}}}},
)
def static_file(name: str) -> Response:
    if name not in FILES:
        raise NotFound(f"no static file {name!r}")
    data, version = _content(name)
    return Response(
        data,
        media_type=FILES[name],
        headers={"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{version}"'},
    )
