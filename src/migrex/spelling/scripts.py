"""Letters of every script a register writes names in, to one Latin for comparing.

These tables are not a passport's transliteration (that is `synth.translit`, which follows
each state's rules for printing a name): they serve comparison, so one sound gets one letter
whichever script wrote it. Kazakh-only letters fold into their Russian neighbours (Қонаев and
Кунаев are one surname); Armenian letters that a Russian clerk renders several ways keep the
Armenian passport's spelling, and `names.skeleton` folds the rest.
"""

from __future__ import annotations

import unicodedata
from typing import Final

# Russian and Kazakh Cyrillic, lower case (text is lowered before it is looked up).
CYRILLIC: Final[dict[str, str]] = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "gh", "д": "d", "е": "e", "ё": "yo",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "й": "y", "к": "k", "қ": "k", "л": "l", "м": "m",
    "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip

# Armenian, lower case. ու is one vowel and initial ո, ե, և take a glide; see `armenian_latin`.
ARMENIAN: Final[dict[str, str]] = {
    "ա": "a", "բ": "b", "գ": "g", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "", "թ": "t",
    "ժ": "zh", "ի": "i", "լ": "l", "խ": "kh", "ծ": "ts", "կ": "k", "հ": "h", "ձ": "dz",
    "ղ": "gh", "ճ": "ch", "մ": "m", "յ": "y", "ն": "n", "շ": "sh", "ո": "o", "չ": "ch",
    "պ": "p", "ջ": "j", "ռ": "r", "ս": "s", "վ": "v", "տ": "t", "ր": "r", "ց": "ts", "ւ": "v",
    "փ": "p", "ք": "k", "օ": "o", "ֆ": "f", "և": "ev",
}  # fmt: skip

_ARMENIAN_UPPER: Final = {chr(c): chr(c + 0x30) for c in range(0x0531, 0x0557)}
_CYRILLIC_TABLE: Final = str.maketrans(CYRILLIC)


def script_of(text: str) -> str:
    """ "armenian", "cyrillic" or "latin": the script of the name's first letter that has one."""
    for char in text:
        if "\u0531" <= char <= "\u0587":
            return "armenian"
        if "\u0400" <= char <= "\u04ff":
            return "cyrillic"
        if char.isalpha():
            return "latin"
    return "latin"


def cyrillic_latin(text: str) -> str:
    return text.lower().translate(_CYRILLIC_TABLE)


def _armenian_word(word: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(word):
        char = word[i]
        if char == "ո" and word[i + 1 : i + 2] == "ւ":
            out.append("u")
            i += 2
            continue
        if i == 0 and char in "ոեև":
            out.append({"ո": "vo", "ե": "ye", "և": "yev"}[char])
        else:
            out.append(ARMENIAN.get(char, char))
        i += 1
    return "".join(out)


def armenian_latin(text: str) -> str:
    lowered = "".join(_ARMENIAN_UPPER.get(c, c) for c in text)
    return " ".join(_armenian_word(word) for word in lowered.split(" "))


def to_latin(text: str) -> str:
    """The name in lower-case Latin letters, whatever script it came in."""
    script = script_of(text)
    if script == "armenian":
        return armenian_latin(text)
    if script == "cyrillic":
        return cyrillic_latin(text)
    # Latin with diacritics (Müller, Şahin) keeps its base letters.
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
