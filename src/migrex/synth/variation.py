"""How one person's two citizens' records come to differ: the variation of planted dual citizens.

A dual citizen was registered by two states' clerks, years apart, from different papers. What
they wrote differs in ways a linkage must survive (each is a kind in the ground truth's
`variations`):

- `russified_surname`: the Kazakh record keeps the Russian form of an Armenian surname
  (Оганесян/OGANESYAN against Հովհաննիսյան/HOVHANNISYAN, Акопян/HAKOBYAN, Саркисян/SARGSYAN);
- `surname_ov`: the fully Russified -ов/-ова (Акопов, Саркисова) of the Soviet registers;
- `surname_yants`: the older ending -янц/-յանց (Карапетянц, KARAPETYANTS) on one side;
- `patronymic_dropped` / `patronymic_added`: the Kazakh record has no patronymic where the
  Armenian has one, or has one where the Armenian has none;
- `day_month_swap`: the Armenian record's birth date with day and month swapped;
- `birth_date_typo`: the Armenian record's birth date a day off;
- `typo`: a letter dropped, doubled or two letters swapped in one name in one register's
  script (the passport's Latin, printed from the papers, keeps the right spelling);
- `maiden_name`: a woman registered under her maiden surname in one state and her married
  surname in the other;
- `passport_latin`: the passport Latin of one side in another transliteration than today's
  (OGANESIAN, XACHATRYAN, OVANNISYAN, EGHIAZARYAN).

Pure functions of strings and day numbers; the choice of who varies is the caller's.
"""

from __future__ import annotations

import re

import numpy as np

from migrex.synth.arrays import Days, ymd

KINDS = (
    "russified_surname", "surname_ov", "surname_yants", "patronymic_dropped", "patronymic_added",
    "day_month_swap", "birth_date_typo", "typo", "maiden_name", "passport_latin",
)  # fmt: skip


def swappable(days: Days) -> np.ndarray:
    """Dates whose day could be read as a month and differs from it (05.03, not 05.05, 25.03)."""
    _, month, dom = ymd(days)
    return np.asarray((dom <= 12) & (dom != month), dtype=bool)


def swap_day_month(days: Days) -> Days:
    """The dates with day and month swapped (callers pass `swappable` ones)."""
    year, month, dom = ymd(days)
    swapped = ((year - 1970) * 12 + (dom - 1)).astype("datetime64[M]").astype("datetime64[D]") + (
        month - 1
    )
    return np.asarray(swapped.astype(np.int64), dtype=np.int32)


def typo(word: str, kind: int, at: float) -> str:
    """`word` with one clerk's slip: `kind` 0 drops a letter, 1 doubles one, 2 swaps two
    neighbours; `at` in [0, 1) picks where, never the first letter."""
    if len(word) < 4:
        return word
    i = 1 + int(at * (len(word) - 2))  # 1 .. len - 2
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[: i + 1] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


_YAN_CYRILLIC = re.compile(r"(ян|ьян|янц)$")
_YAN_LATIN = re.compile(r"(YAN|IAN|YANTS)$")


def russified_ov(surname: str, latin: str, female: bool) -> tuple[str, str] | None:
    """The -ов form of an Armenian surname in Cyrillic and the Kazakh passport's Latin
    (Акопян → Акопов, AKOPOV; Акопова for a woman); None for a surname without -ян."""
    if not _YAN_CYRILLIC.search(surname) or not _YAN_LATIN.search(latin):
        return None
    ending = ("ова", "OVA") if female else ("ов", "OV")
    return _YAN_CYRILLIC.sub(ending[0], surname), _YAN_LATIN.sub(ending[1], latin)


def with_yants(surname: str, latin: str) -> tuple[str, str] | None:
    """The older -янц/-յանց of a surname in -ян/-յան (Cyrillic or Armenian) and -YANTS."""
    if not latin.endswith(("YAN", "IAN")):
        return None
    if surname.endswith("յան"):
        return surname + "ց", latin + "TS"
    if surname.endswith("ян"):
        return surname + "ц", latin + "TS"
    return None


# Earlier passports' transliterations, by the issuing state: each rule that changes the name
# is a variant; the caller picks one.
_LATIN_RULES = {
    # Armenian passports before today's table: -IAN, X for Խ, the Russian Ov- of Հովհ-, E
    # for an initial Ե.
    "AM": (
        (re.compile(r"YAN(?=(?:TS)?$)"), "IAN"),
        (re.compile(r"KH"), "X"),
        (re.compile(r"^HOVH"), "OV"),
        (re.compile(r"^YE"), "E"),
    ),
    # Kazakh passports of the 1990s and 2000s: IA for Я, H for Х.
    "KZ": (
        (re.compile(r"YA"), "IA"),
        (re.compile(r"KH"), "H"),
        (re.compile(r"YU"), "IU"),
    ),
}


def passport_variants(latin: str, state: str) -> list[str]:
    """The spellings an earlier passport of `state` would print for `latin` (maybe none)."""
    found = []
    for pattern, replacement in _LATIN_RULES[state]:
        varied = pattern.sub(replacement, latin)
        if varied != latin:
            found.append(varied)
    return found
