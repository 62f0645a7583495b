"""Entity resolution: one key for an employer or an address however a register wrote it.

Registers write the same flat as "г. Алматы, ул. Абая, д. 12, кв. 5" and "Almaty, Abaya
st. 12 apt 5", and the same firm as ТОО «Нур Строй» and "Nur Stroy LLP". The key is the
text folded to Latin letters and digits, with the words that only say what kind of thing
follows (street, house, flat; the legal form of a firm) left out. It is deliberately simple:
it merges spellings, never two different numbers, so two flats of one house stay two keys.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

# Cyrillic (Russian and Kazakh letters) and Armenian to Latin, one sound per letter; the
# Latin side is what an officer types, so variants fold together (Х and Һ both H).
_CYRILLIC: Final = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "й": "y", "к": "k", "қ": "k", "л": "l", "м": "m",
    "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ұ": "u", "ү": "u", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_ARMENIAN: Final = {
    "ա": "a", "բ": "b", "գ": "g", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "y", "թ": "t",
    "ժ": "zh", "ի": "i", "լ": "l", "խ": "kh", "ծ": "ts", "կ": "k", "հ": "h", "ձ": "dz",
    "ղ": "gh", "ճ": "ch", "մ": "m", "յ": "y", "ն": "n", "շ": "sh", "ո": "o", "չ": "ch",
    "պ": "p", "ջ": "j", "ռ": "r", "ս": "s", "վ": "v", "տ": "t", "ր": "r", "ց": "ts", "ւ": "v",
    "փ": "p", "ք": "k", "օ": "o", "ֆ": "f", "և": "ev",
}  # fmt: skip
_LETTERS: Final = str.maketrans({**_CYRILLIC, **_ARMENIAN})

# Words that name the kind of place, in the registers' languages and in English, after
# folding to Latin: "ul" (улица), "pr" (проспект), "d" (дом), "kv" (квартира), "mkr"
# (микрорайон), "g" (город), Armenian "p" (փողոց), "pogh" (պողոտա), "bn" (բնակարան).
ADDRESS_WORDS: Final = frozenset(
    {"g", "gorod", "ul", "ulitsa", "pr", "prospekt", "d", "dom", "kv", "kvartira", "mkr",
     "mikroraion", "korp", "k", "str", "st", "street", "ave", "avenue", "apt", "flat",
     "house", "city", "p", "pogh", "poghots", "poghota", "bn", "bnakaran", "sh", "shenq",
     "per", "pereulok", "bul", "bulvar", "rn", "raion", "obl", "oblast"}
)  # fmt: skip
# Legal forms of organisations, folded: ТОО, ИП, АО, ООО, ЖШС, ՍՊԸ, ԱՁ, ՓԲԸ, LLP, LLC ...
LEGAL_FORMS: Final = frozenset(
    {"too", "ip", "ao", "ooo", "zao", "oao", "pao", "zhshs", "kh", "spy", "adz", "pby",
     "llp", "llc", "ltd", "limited", "jsc", "cjsc", "inc", "corp", "co", "company", "ie",
     "tovarishchestvo", "ogranichennoi", "otvetstvennostyu"}
)  # fmt: skip
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_COMBINING = re.compile(r"[\u0300-\u036f]")
# "12а" and "12 a" are one house; keep a digit run and its letter together.
_NUMBER_LETTER = re.compile(r"(?<=\d) (?=[a-z]\b)")


def fold(text: str) -> str:
    """Lower-case Latin letters, digits and single spaces: scripts, accents and punctuation
    folded away."""
    latin = unicodedata.normalize("NFC", text.casefold()).translate(_LETTERS)
    bare = _COMBINING.sub("", unicodedata.normalize("NFKD", latin))
    return _NOT_WORD.sub(" ", bare).strip()


@lru_cache(maxsize=1 << 16)
def address_key(address: str) -> str:
    """The key of a registration address: its words and numbers without the kind words."""
    words = _NUMBER_LETTER.sub("", fold(address)).split()
    return " ".join(w for w in words if w not in ADDRESS_WORDS)


@lru_cache(maxsize=1 << 14)
def organisation_key(name: str) -> str:
    """The key of an organisation's name without its legal form, word order kept."""
    return " ".join(w for w in fold(name).split() if w not in LEGAL_FORMS)
