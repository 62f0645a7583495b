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
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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

# Punctuation becomes a space; anything else that is no letter or digit is dropped inside
# the word (`_fold_word`). A Unicode class (\pL) made the split ten times slower.
_PUNCTUATION: Final = r"[[:punct:]«»“”„№–—]+"
# Digits and letters written together ("12а") or apart ("12 а") are one house number.
_DIGITS_LETTERS: Final = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


def _fold_word(word: str) -> str:
    if word.isascii():
        bare = word
    else:
        latin = unicodedata.normalize("NFC", word).translate(_LETTERS)
        bare = "".join(c for c in unicodedata.normalize("NFKD", latin) if c.isascii())
    if not bare.isalnum():
        bare = "".join(c for c in bare if c.isalnum())
    if bare.isdigit() or bare.isalpha():
        return bare
    return _DIGITS_LETTERS.sub(" ", bare)


# Texts are keyed a slice at a time: the kernels' intermediate copies (lower case, split
# words, their indices) then stay a few tens of megabytes on a register of ten million.
SLICE: Final = 1 << 19


def _keys(texts: pa.Array, drop: frozenset[str], separator: str) -> pa.Array:
    """Each text folded word by word, leaving out `drop`. Registers repeat few words (the
    towns, the streets, the numbers) a million times, so each distinct word is folded once
    in Python and the rest is Arrow's kernels: a loop over a million addresses took 16 s."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    folded: dict[str, str] = {}
    keyed = [
        _slice_keys(texts.slice(start, SLICE), drop, separator, folded)
        for start in range(0, len(texts), SLICE)
    ]
    return pa.concat_arrays(keyed) if keyed else pa.array([], pa.string())


def _slice_keys(
    texts: pa.Array, drop: frozenset[str], separator: str, folded: dict[str, str]
) -> pa.Array:
    spaced = pc.replace_substring_regex(pc.utf8_lower(texts), _PUNCTUATION, " ")
    lists = pc.utf8_split_whitespace(spaced)
    del spaced
    words = pc.dictionary_encode(lists.values)
    table = []
    for word in words.dictionary.to_pylist():
        if word not in folded:
            folded[word] = " ".join(p for p in _fold_word(word).split() if p not in drop)
        table.append(folded[word])
    index = np.asarray(words.indices, dtype=np.int32)
    keep = np.array([w != "" for w in table], dtype=bool)[index]
    kept = np.concatenate([[0], np.cumsum(keep)])
    offsets = kept[np.asarray(lists.offsets, dtype=np.int64) - lists.offsets[0].as_py()]
    values = pa.array(table, pa.string()).take(pa.array(index[keep]))
    rebuilt = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)
    return pc.binary_join(rebuilt, separator)


def fold_all(texts: pa.Array) -> pa.Array:
    """`fold` of every text."""
    return _keys(texts, frozenset(), " ")


def address_keys(addresses: pa.Array) -> pa.Array:
    """The key of each registration address: its words and numbers without the words that
    name the kind of place."""
    return _keys(addresses, ADDRESS_WORDS, " ")


def organisation_keys(names: pa.Array) -> pa.Array:
    """The key of each organisation's name without its legal form, word order kept."""
    return _keys(names, LEGAL_FORMS, " ")


def identifier_keys(ids: pa.Array) -> pa.Array:
    """A BIN or taxpayer number without the spaces, dashes or dots an export put in it."""
    return _keys(ids, frozenset(), "")


def fold(text: str) -> str:
    """Lower-case Latin letters, digits and single spaces: scripts, accents and punctuation
    folded away."""
    return str(fold_all(pa.array([text], pa.string()))[0])


def address_key(address: str) -> str:
    return str(address_keys(pa.array([address], pa.string()))[0])


def organisation_key(name: str) -> str:
    return str(organisation_keys(pa.array([name], pa.string()))[0])
