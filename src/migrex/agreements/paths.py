"""Dotted key paths into an agreement file, such as `categories.persons-present.senders[1]`.

Error messages and the provenance list speak the same path language, so a reader can go
from either straight to the line in the file. In a pattern, `*` stands for any one key or
array position and `[*]` for any array position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SEGMENT = re.compile(r"(\*|[A-Za-z0-9_-]+)((?:\[(?:\d+|\*)\])*)")
_INDEX = re.compile(r"\[(\d+|\*)\]")


def split_path(path: str) -> tuple[str, ...]:
    """`a.b[2].c` -> ("a", "b", "[2]", "c"); raises ValueError for anything malformed."""
    segments: list[str] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise ValueError(f"malformed key path {path!r}")
        segments.append(match.group(1))
        segments.extend(f"[{i}]" for i in _INDEX.findall(match.group(2)))
    return tuple(segments)


def path_matches(pattern: Sequence[str], segments: Sequence[str]) -> bool:
    """Whether split `segments` are exactly what the split `pattern` describes."""
    if len(pattern) != len(segments):
        return False
    for want, have in zip(pattern, segments, strict=True):
        if want in ("*", have):
            continue
        if not (want == "[*]" and have.startswith("[")):
            return False
    return True


def join_path(loc: Sequence[str | int]) -> str:
    """("authorities", 2, "state") -> "authorities[2].state".

    A key that is not a bare TOML key is quoted, so the path stays unambiguous.
    """
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        key = part if _BARE_KEY.fullmatch(part) else '"' + part.replace('"', '\\"') + '"'
        text += f".{key}" if text else key
    return text


def document_paths(node: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every table, array and value in a parsed TOML document, as split key paths.

    Keys that are not bare TOML keys are left out: no provenance pattern can name them.
    """
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str) and _BARE_KEY.fullmatch(key):
                yield (*prefix, key)
                yield from document_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, f"[{index}]")
            yield from document_paths(value, (*prefix, f"[{index}]"))
