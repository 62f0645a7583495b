"""Transliteration tables: how each state's documents spell a name in another script.

The same person is spelt differently by each authority that writes him down: an Armenian
passport transliterates from Armenian (Հովհաննիսյան → HOVHANNISYAN), a Kazakh passport from the
Cyrillic of the Kazakh registry (Оганесян → OGANESYAN), a Russian passport follows ICAO 9303
(Юлия → IULIIA), and an Armenian registry writes a Russian or Kazakh name in Armenian letters
(Сергеевич → Սերգեևիչ). These rules run once per pool entry, never per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_VOWELS_CYR = set("аәеёиіоөуұүыэюяАӘЕЁИІОӨУҰҮЫЭЮЯ")
_WORD = re.compile(r"[^ '\-]+|[ '\-]")

# Kazakh passports (and Kazakh registries' Latin fields) for Kazakh and Russian Cyrillic.
# Kazakh-only letters fold into the nearest ICAO letter, as the passports print them.
_KZ = {
    "а": "A", "ә": "A", "б": "B", "в": "V", "г": "G", "ғ": "G", "д": "D", "е": "E", "ё": "YO",
    "ж": "ZH", "з": "Z", "и": "I", "і": "I", "й": "Y", "к": "K", "қ": "K", "л": "L", "м": "M",
    "н": "N", "ң": "N", "о": "O", "ө": "O", "п": "P", "р": "R", "с": "S", "т": "T", "у": "U",
    "ұ": "U", "ү": "U", "ф": "F", "х": "KH", "һ": "H", "ц": "TS", "ч": "CH", "ш": "SH",
    "щ": "SHCH", "ъ": "", "ы": "Y", "ь": "", "э": "E", "ю": "YU", "я": "YA",
}  # fmt: skip
# Russian passports since 2014 use ICAO 9303 exactly: no Y for Й, IU/IA for Ю/Я, IE for Ъ.
_RU_ICAO = {
    **_KZ, "ё": "E", "й": "I", "ъ": "IE", "ю": "IU", "я": "IA",
}  # fmt: skip
# Kyrgyz passports write Ж as J (JEENBEKOV, JAPAROV) and Ң as NG.
_KG = {**_KZ, "ж": "J", "ң": "NG"}
# Uzbek passports follow the Uzbek Latin alphabet: Ж → J, Қ → Q, Ғ → G, Ы → I.
_UZ = {**_KZ, "ж": "J", "қ": "Q", "ы": "I", "ў": "O", "ҳ": "H"}

_ARM_UPPER = {chr(c): chr(c + 0x30) for c in range(0x0531, 0x0557)}
# Armenian passports: the transliteration the Armenian passport service prints.
_HY = {
    "ա": "A", "բ": "B", "գ": "G", "դ": "D", "ե": "E", "զ": "Z", "է": "E", "ը": "Y", "թ": "T",
    "ժ": "ZH", "ի": "I", "լ": "L", "խ": "KH", "ծ": "TS", "կ": "K", "հ": "H", "ձ": "DZ",
    "ղ": "GH", "ճ": "CH", "մ": "M", "յ": "Y", "ն": "N", "շ": "SH", "ո": "O", "չ": "CH",
    "պ": "P", "ջ": "J", "ռ": "R", "ս": "S", "վ": "V", "տ": "T", "ր": "R", "ց": "TS", "ւ": "V",
    "փ": "P", "ք": "K", "օ": "O", "ֆ": "F", "և": "EV",
}  # fmt: skip
# Russian and Kazakh Cyrillic in Armenian letters, as Armenian registries write foreigners.
_CYR_HY = {
    "а": "ա", "ә": "ա", "б": "բ", "в": "վ", "г": "գ", "ғ": "ղ", "д": "դ", "е": "ե", "ё": "յո",
    "ж": "ժ", "з": "զ", "и": "ի", "і": "ի", "й": "յ", "к": "կ", "қ": "ք", "л": "լ", "м": "մ",
    "н": "ն", "ң": "ն", "о": "ո", "ө": "ո", "п": "պ", "р": "ր", "с": "ս", "т": "տ", "у": "ու",
    "ұ": "ու", "ү": "ու", "ф": "ֆ", "х": "խ", "һ": "հ", "ц": "ց", "ч": "չ", "ш": "շ",
    "щ": "շչ", "ъ": "", "ы": "ի", "ь": "", "э": "է", "ю": "յու", "я": "յա",
}  # fmt: skip
_CYR_HY_INITIAL = {"о": "օ", "р": "ռ", "ё": "յո", "ө": "օ"}


def _per_word(name: str, convert: Callable[[str], str]) -> str:
    return "".join(part if part in " '-" else convert(part) for part in _WORD.findall(name))


def _cyrillic_latin(word: str, table: dict[str, str], ye_initial: bool) -> str:
    out = []
    lower = word.lower()
    for i, char in enumerate(lower):
        previous = lower[i - 1] if i else ""
        # Е sounds "ye" at the start of a word and after a vowel or a soft/hard sign.
        if (
            char == "е"
            and ye_initial
            and (not previous or previous in _VOWELS_CYR or previous in "ьъ")
        ):
            out.append("YE")
        else:
            out.append(table[char])
    return "".join(out)


def kz_passport_latin(name: str) -> str:
    """The Latin of a Kazakh passport for a Kazakh- or Russian-Cyrillic name."""
    return _per_word(name, lambda w: _cyrillic_latin(w, _KZ, ye_initial=True))


def ru_passport_latin(name: str) -> str:
    """The Latin of a Russian (and Belarusian) passport: ICAO 9303 transliteration."""
    return _per_word(name, lambda w: _cyrillic_latin(w, _RU_ICAO, ye_initial=False))


def kg_passport_latin(name: str) -> str:
    return _per_word(name, lambda w: _cyrillic_latin(w, _KG, ye_initial=False))


def uz_passport_latin(name: str) -> str:
    return _per_word(name, lambda w: _cyrillic_latin(w, _UZ, ye_initial=True))


def _armenian_word_latin(word: str) -> str:
    lower = "".join(_ARM_UPPER.get(c, c) for c in word)
    out = []
    i = 0
    while i < len(lower):
        char = lower[i]
        if char == "ո" and lower[i + 1 : i + 2] == "ւ":
            out.append("U")  # ու is one vowel
            i += 2
            continue
        if i == 0 and char == "ո":
            out.append("VO")  # Ոսկանյան → VOSKANYAN
        elif i == 0 and char == "ե":
            out.append("YE")  # Եղիազարյան → YEGHIAZARYAN
        elif i == 0 and char == "և":
            out.append("YEV")
        else:
            out.append(_HY[char])
        i += 1
    return "".join(out)


def am_passport_latin(name: str) -> str:
    """The Latin of an Armenian passport for an Armenian-script name."""
    return _per_word(name, _armenian_word_latin)


def _cyrillic_word_armenian(word: str) -> str:
    lower = word.lower()
    out = []
    i = 0
    while i < len(lower):
        char, following = lower[i], lower[i + 1 : i + 2]
        if i > 0 and char == "е" and following == "в":
            out.append("և")  # Андреев → Անդրեև, Сергеевич → Սերգեևիչ
            i += 2
            continue
        if char == "и" and following == "я" and i > 0:
            out.append("իա")  # Мария → Մարիա
            i += 2
            continue
        if char == "к" and following == "с":
            out.append("քս")  # Александр → Ալեքսանդր
            i += 2
            continue
        if char == "ь" and following in ("е", "я", "ю", "ё"):
            i += 1  # Наталья → Նատալյա: the soft sign and Я share one յ
            continue
        if char == "и" and following == "й" and i + 2 == len(lower):
            out.append("ի")  # Дмитрий → Դմիտրի
            i += 2
            continue
        if i == 0 and char in _CYR_HY_INITIAL:
            out.append(_CYR_HY_INITIAL[char])
        else:
            out.append(_CYR_HY[char])
        i += 1
    text = "".join(out)
    first = text[0]
    upper = chr(ord(first) - 0x30) if "\u0561" <= first <= "\u0586" else first
    return upper + text[1:]


def cyrillic_to_armenian(name: str) -> str:
    """A Russian- or Kazakh-Cyrillic name written in Armenian letters."""
    return _per_word(name, _cyrillic_word_armenian)


def armenian_genitive(name: str) -> str:
    """The Armenian patronymic form of a father's name written in Armenian: Սերգեյ → Սերգեյի."""
    return name + "ի"


def russian_patronymic(father: str, female: bool) -> str:
    """The Russian patronymic of a father's name ending in a consonant or Й (Нурлан, Сергей)."""
    if father.endswith("й"):
        return father[:-1] + ("евна" if female else "евич")
    if father[-1] in "аеёиоуыэюяь":
        raise ValueError(f"{father}: give its patronymic by hand")
    return father + ("овна" if female else "ович")


def kazakh_patronymic(father: str, female: bool) -> str:
    """The Kazakh patronymic: Нұрлан → Нұрланұлы (son), Нұрланқызы (daughter)."""
    return father + ("қызы" if female else "ұлы")


def russian_female_surname(male: str) -> str:
    """The feminine of a Slavic-pattern surname (-ов → -ова, -ин → -ина); others keep theirs."""
    if male.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return male + "а"
    if male.endswith("ий"):
        return male[:-2] + "ая"
    return male
