"""A name as the set of forms it is written in: one skeleton per spelling, and its variants.

One Latin form is not enough across scripts: Հովհաննիսյան is HOVHANNISYAN in an Armenian
passport and Оганесян (OGANESYAN) in a Kazakh register, and their letter pairs share one in
five. So a name becomes a small set of skeletons. A skeleton folds what the scripts and
clerks disagree on (`skeleton`): one letter per sound, the glides of -ян/-ian/-yan, the Armenian
Հ that Russian drops (Акопян/Hakobyan), voiced and voiceless pairs (Акоп/Hakob, Саркис/Sargis),
vowels that the Russian forms shift (Оганесян/Hovhannisyan), doubled letters. The variants
(`VARIANTS`) add what a fold cannot: Ов-/Ог-/Hovh- at the start, the Russified -ов/-ова of an
Armenian surname (Багдасаров), the masculine of a feminine surname, the consonants alone (the
vowels Armenian leaves unwritten: Սարգսյան against Саркисян); and a Cyrillic spelling is also
read without its Г, which often stands for an Armenian Հ (Мгер/Մհեր, Гамлет/Համլետ). Every
form of every spelling a record holds (its local script and its passport Latin) is encoded,
so two records agree when any of their forms do.

Patronymics come as the father's name: the endings -ович/-овна, -ұлы/-қызы and the Armenian
genitive -ի are removed first (Давидовна, Դավթի → DAVID, DAVT).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final

from migrex.spelling.scripts import script_of, to_latin

# Sounds written with two letters, each as one symbol (upper case until the letters other
# alphabets use are mapped): W = ш/щ, Q = ч, C = ц, J = ж/ջ; х/խ/հ become h, dropped below.
_DIGRAPHS: Final = (
    ("shch", "W"), ("sch", "W"), ("sh", "W"), ("dzh", "J"), ("zh", "J"), ("dz", "z"),
    ("kh", "h"), ("gh", "g"), ("ch", "Q"), ("ts", "C"), ("tz", "C"), ("ph", "f"),
)  # fmt: skip
_FOREIGN: Final = (("w", "v"), ("q", "k"), ("x", "ks"), ("c", "k"))
_GLIDE = re.compile(r"i(?=[aeiou])")  # the i/y of я, ю, ia, ya: Оганесян, OGANESIAN
_FOLD = str.maketrans({"y": "i", "e": "i", "u": "o", "g": "k", "b": "p", "d": "t", "h": None})
_DOUBLE = re.compile(r"(.)\1+")
_NOT_LETTER = re.compile(r"[^a-z]+")


def skeleton(latin: str) -> str:
    """The comparison form of a lower-case Latin name: words kept apart by one space."""
    words = []
    for letters in _NOT_LETTER.split(latin.lower()):
        if not letters:
            continue
        word = letters
        for old, new in _DIGRAPHS:
            word = word.replace(old, new)
        for old, new in _FOREIGN:
            word = word.replace(old, new)
        word = word.lower().replace("y", "i")
        word = _GLIDE.sub("", word)
        word = _DOUBLE.sub(r"\1", word.translate(_FOLD))
        # -янц/-iants: the older Armenian surname ending is -յան's variant.
        if word.endswith("anc") and len(word) > 5:
            word = word[:-1]
        if word:
            words.append(word)
    return " ".join(words)


def _start(
    pattern: str, replacements: tuple[str, ...], shortest: int
) -> Callable[[str], list[str]]:
    regex = re.compile(pattern)

    def variants(form: str) -> list[str]:
        match = regex.match(form)
        if not match or len(form) < shortest:
            return []
        rest = form[match.end() :]
        return [new + rest for new in replacements]

    return variants


def _end(suffixes: tuple[str, ...], replacement: str) -> Callable[[str], list[str]]:
    def variants(form: str) -> list[str]:
        for suffix in suffixes:
            if form.endswith(suffix) and len(form) > len(suffix) + 2:
                return [form[: -len(suffix)] + replacement]
        return []

    return variants


_INTERVOCALIC_K: Final = re.compile(r"(?<=[aio])k(?=[aio])")
_NO_GE: Final = re.compile("[гГ]")
_VOWELS: Final = re.compile("[aio]")

# Each rule maps a skeleton to more skeletons of the same name (already folded, so written in
# skeleton letters: Г and Գ are k, е/и/ы are i, у/о are o). Kept short: every variant is
# encoded, and each adds letter pairs a stranger's name may share.
VARIANTS: Final[tuple[tuple[str, Callable[[str], list[str]]], ...]] = (
    # Հովհ-/Օհ- → Ов-/Ог-/Оа-: Hovhannisyan, Ованнисян, Оганесян; Ohanyan, Оганян.
    # Not for short forms: Гоар read without its Г is "oar", whose "ovar" and "okar" would
    # only add letter pairs that no other spelling of the name has (Գոհար is "koar").
    ("Ов-/Ог-/Hovh-", _start(r"o[vk]?(?=[aio])", ("ov", "ok", "o"), shortest=5)),
    # The consonants alone: vowels an Armenian spelling leaves unwritten (Սարգսյան, Sargsyan
    # against Саркисян) or a genitive drops (Դավիթ → Դավթի against Давидович).
    ("consonants", lambda form: [_VOWELS.sub("", form)]),
    # The Russified surname of an Armenian: Багдасаров/Բաղդասարյան, Амбарцумов.
    ("-ов/-ян", _end(("ova", "ov"), "an")),
    # A feminine surname's masculine: Попова/Попов, Сатпаева/Сатпаев, Пушкина/Пушкин.
    ("-ова/-ов", lambda form: [form[:-1]] if form.endswith(("ova", "iva", "ina")) else []),
)

# Endings of a patronymic, by script, removed to leave the father's name.
_PATRONYMIC_ENDINGS: Final = {
    "cyrillic": ("овна", "евна", "ична", "ович", "евич", "ич", "ұлы", "улы", "қызы", "кызы"),
    "armenian": ("ի",),
    "latin": ("ovna", "evna", "ichna", "ovich", "evich", "uly", "kyzy"),
}


def father_name(patronymic: str) -> str:
    """The father's name in a patronymic of any script (Нұрланұлы → Нұрлан, Արամի → Արամ)."""
    text = patronymic.strip()
    lowered = text.lower()
    for ending in _PATRONYMIC_ENDINGS[script_of(text)]:
        if lowered.endswith(ending) and len(lowered) > len(ending) + 1:
            return text[: -len(ending)]
    return text


def forms(spellings: Iterable[str | None], *, variants: bool = True) -> list[str]:
    """The skeletons of a name written in each of `spellings` (missing ones skipped), with
    their variants; sorted, without repeats."""
    found: set[str] = set()
    for spelling in spellings:
        if spelling:
            form = skeleton(to_latin(spelling))
            if form:
                found.add(form)
            # A Russian Г often stands for an Armenian Հ, which the skeleton drops: Мгер/Մհեր,
            # Грант/Հրանտ, Гамлет/Համլետ, Оганесян/Օհան-. The spelling without Г is a variant.
            if variants and script_of(spelling) == "cyrillic" and "г" in spelling.lower():
                bare = skeleton(to_latin(_NO_GE.sub("", spelling)))
                if len(bare) > 1:
                    found.add(bare)
    if variants:
        # Each rule applies to the forms the rules before it made too (Оганесян → Ованесян →
        # its consonants), so the rules' order matters: the consonants come after the starts.
        for _, rule in VARIANTS:
            for form in list(found):
                found.update(v for v in rule(form) if len(v) > 1)
    return sorted(found)


@lru_cache(maxsize=1 << 18)
def forms_of(spellings: str) -> tuple[str, ...]:
    """`forms` of spellings joined by U+001F (one register cell each), remembered: a party's
    encoder and its blocking both ask, and a register repeats its names."""
    return tuple(forms(spellings.split("\x1f")))


# Towns known by two names, the first of each group the one compared: renamed since Soviet
# times (Ленинакан, Кировакан, Целиноград) or called otherwise in the other language
# (Эчмиадзин is Վաղարշապատ in an Armenian record; Өскемен is Усть-Каменогорск).
_TOWN_NAMES: Final = (
    "Вагаршапат/Эчмиадзин", "Гюмри/Ленинакан/Александрополь", "Ванадзор/Кировакан",
    "Алматы/Алма-Ата", "Астана/Нур-Султан/Акмола/Целиноград", "Конаев/Капчагай",
    "Семей/Семипалатинск", "Кокшетау/Кокчетав", "Уральск/Орал", "Актау/Шевченко",
    "Актобе/Актюбинск", "Жезказган/Джезказган", "Шымкент/Чимкент", "Усть-Каменогорск/Өскемен",
    "Кызылорда/Кзыл-Орда", "Тараз/Джамбул/Аулие-Ата", "Петропавловск/Петропавл/Қызылжар",
    "Талдыкорган/Талды-Курган",
)  # fmt: skip
_TOWNS: Final = {
    skeleton(to_latin(name)): skeleton(to_latin(group.split("/")[0]))
    for group in _TOWN_NAMES
    for name in group.split("/")
}


def place_forms(place: str | None) -> list[str]:
    """The skeleton of a birthplace's town: the last part after a comma, without "г." or
    "город" (Армянская ССР, г. Ереван and Երևան are both YEREVAN); a town of two names by
    the first (`_TOWN_NAMES`)."""
    if not place:
        return []
    town = place.rsplit(",", 1)[-1].strip().lower()
    for prefix in ("г. ", "город ", "с. ", "пос. ", "п. ", "аул "):
        town = town.removeprefix(prefix)
    form = skeleton(to_latin(town))
    return [_TOWNS.get(form, form)] if form else []


def bigrams(forms_: Iterable[str]) -> set[str]:
    """The letter pairs of every form, each word padded with a space at both ends."""
    grams: set[str] = set()
    for form in forms_:
        for word in form.split(" "):
            padded = f" {word} "
            grams.update(padded[i : i + 2] for i in range(len(padded) - 1))
    return grams
