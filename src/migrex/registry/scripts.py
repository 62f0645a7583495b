"""The writing systems names are recorded in.

Kazakhstan's registries write names in Cyrillic: the Russian alphabet plus the nine Kazakh
letters. Armenia's write them in the Armenian alphabet. Passports carry a Latin rendering
(ICAO 9303 letters A-Z; the visual zone may keep hyphens, spaces and apostrophes).
"""

from __future__ import annotations

import re

RUSSIAN_LETTERS = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя"
KAZAKH_EXTRA_LETTERS = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"
ARMENIAN_LETTERS = "".join(chr(c) for c in range(0x0531, 0x0557)) + "".join(
    chr(c) for c in range(0x0561, 0x0588)
)

_CYRILLIC = RUSSIAN_LETTERS + KAZAKH_EXTRA_LETTERS

# A name starts with a letter and may join parts with one space, hyphen or apostrophe.
LOCAL_NAME_PATTERNS: dict[str, str] = {
    "KZ": rf"[{_CYRILLIC}]+(?:[ '\-][{_CYRILLIC}]+)*",
    "KG": rf"[{_CYRILLIC}]+(?:[ '\-][{_CYRILLIC}]+)*",
    "AM": rf"[{ARMENIAN_LETTERS}]+(?:[ \-][{ARMENIAN_LETTERS}]+)*",
}
LATIN_NAME_PATTERN = r"[A-Z]+(?:[ '\-][A-Z]+)*"

SCRIPT_NAMES = {"KZ": "Cyrillic", "KG": "Cyrillic", "AM": "Armenian"}


def local_name_pattern(state: str) -> re.Pattern[str]:
    """The pattern a name written in `state`'s registries must match in full."""
    return re.compile(LOCAL_NAME_PATTERNS[state])


def check_local_name(value: str, state: str) -> str | None:
    if local_name_pattern(state).fullmatch(value):
        return None
    return f"not a name in {SCRIPT_NAMES[state]} script"


def check_latin_name(value: str) -> str | None:
    if re.fullmatch(LATIN_NAME_PATTERN, value):
        return None
    return "not a Latin passport name (capital letters A-Z, space, hyphen, apostrophe)"
