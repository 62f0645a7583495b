"""Names reduced to comparable forms: across scripts, the forms of one name share their
letter pairs; the published hard cases (OGANESIAN/HOVHANNISYAN ...) included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrex.spelling.names import bigrams, father_name, forms, place_forms, skeleton
from migrex.spelling.scripts import script_of, to_latin
from migrex.synth.names import forms as synth_forms
from migrex.synth.translit import am_passport_latin, cyrillic_to_armenian, kz_passport_latin


def dice(a: list[str], b: list[str]) -> float:
    x, y = bigrams(a), bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y))


@pytest.mark.parametrize(
    ("one", "other", "plain", "with_variants"),
    [
        # The anchors: plain transliteration scores 0.19, 0.47 and 0.53.
        ("OGANESIAN", "HOVHANNISYAN", 0.7, 1.0),
        ("AKOPIAN", "HAKOBYAN", 1.0, 1.0),
        ("SARKISIAN", "SARGSYAN", 0.75, 0.75),
        ("Оганесян", "Հովհաննիսյան", 0.7, 1.0),
        ("Арутюнян", "Հարությունյան", 1.0, 1.0),
        ("Саакян", "Սահակյան", 1.0, 1.0),
        ("Шагинян", "Շահինյան", 0.75, 0.8),
        ("Гайк", "Հայկ", 0.6, 0.7),
        ("Багдасаров", "Բաղդասարյան", 0.7, 0.75),
        ("Хачатурян", "Խաչատրյան", 0.8, 0.8),
        ("Оганесянц", "Hovhannisyan", 0.7, 1.0),
        ("Кунаев", "Қонаев", 1.0, 1.0),
        ("Попова", "Պոպովա", 1.0, 1.0),
    ],
)
def test_forms_of_one_name_agree_across_scripts(
    one: str, other: str, plain: float, with_variants: float
) -> None:
    assert dice(forms([one], variants=False), forms([other], variants=False)) >= plain
    assert dice(forms([one]), forms([other])) >= with_variants


@pytest.mark.parametrize(
    ("one", "other"),
    [("Арам", "Армен"), ("Нарек", "Карен"), ("Анна", "Ани"), ("Григорян", "Геворкян")],
)
def test_different_names_stay_apart(one: str, other: str) -> None:
    assert dice(forms([one]), forms([other])) < 0.7


def test_every_armenian_surname_of_the_pools_meets_its_cyrillic_spellings() -> None:
    """The Armenian registry's spelling against each Cyrillic one a Kazakh register uses."""
    pool = synth_forms("arm.hy")
    cyrillic = synth_forms("arm.ru.kz")
    weak = []
    for i in range(pool.n_surnames):
        armenian = pool.surname[i].as_py()
        for variant in range(cyrillic.surname_variants):
            russian = cyrillic.surname[(variant * 2) * cyrillic.n_surnames + i].as_py()
            if dice(forms([armenian]), forms([russian])) < 0.6:
                weak.append((i, variant))
    # Only the Russified -ов forms fall short of 0.6 alone; the given name and date carry them.
    assert len(weak) <= 2, weak


@given(st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі -", max_size=20))
def test_cyrillic_forms_are_plain_lower_latin(name: str) -> None:
    for form in forms([name]):
        assert form and set(form) <= set("abcdefghijklmnopqrstuvwxyz ")


ARMENIAN = (
    "".join(chr(c) for c in range(0x0531, 0x0557)) + "աբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆև"
)


@given(st.text(alphabet=ARMENIAN + " -", max_size=20))
def test_armenian_forms_are_plain_lower_latin_and_stable(name: str) -> None:
    first = forms([name])
    assert first == forms([name])
    for form in first:
        assert set(form) <= set("abcdefghijklmnopqrstuvwxyz ")
        assert skeleton(form)  # a form is never blank


@given(st.sampled_from(range(40)), st.sampled_from((0, 1)))
def test_a_passport_latin_meets_its_local_spelling(index: int, female: int) -> None:
    pool = synth_forms("arm.hy")
    armenian = pool.surname[female * pool.n_surnames + index].as_py()
    assert dice(forms([armenian]), forms([am_passport_latin(armenian)])) == 1.0
    russian = synth_forms("arm.ru.kz").surname[female * pool.n_surnames + index].as_py()
    assert dice(forms([russian]), forms([kz_passport_latin(russian)])) >= 0.75


def test_armenian_letters_of_a_russian_name_meet_it() -> None:
    for name in ("Сергей", "Александр", "Наталья", "Ольга", "Дмитрий", "Нурлан"):
        assert dice(forms([name]), forms([cyrillic_to_armenian(name)])) >= 0.75, name


def test_patronymics_give_the_fathers_name() -> None:
    assert father_name("Давидовна") == "Давид"
    assert father_name("Нұрланұлы") == "Нұрлан"
    assert father_name("Айгерімқызы") == "Айгерім"
    assert father_name("Դավթի") == "Դավթ"
    assert father_name("ARAMOVICH") == "ARAM"
    assert dice(forms([father_name("Давидович")]), forms([father_name("Դավթի")])) >= 0.7


def test_birthplaces_compare_by_their_town() -> None:
    assert place_forms("Армянская ССР, г. Ереван") == place_forms("Երևան")
    assert place_forms("г. Алматы") == place_forms("Ղազախստան, Ալմաթի")
    assert place_forms("Армения, г. Гюмри") == place_forms("Գյումրի")
    assert place_forms(None) == []


def test_scripts_are_told_apart() -> None:
    assert script_of("Оганесян") == "cyrillic"
    assert script_of("Հովհաննիսյան") == "armenian"
    assert script_of("HOVHANNISYAN") == "latin"
    assert to_latin("Ոսկանյան") == "voskanyan"
    assert to_latin("Жұмабаев") == "zhumabaev"


@pytest.mark.parametrize(
    ("russian", "armenian"),
    [("Мгер", "Մհեր"), ("Грант", "Հրանտ"), ("Гамлет", "Համլետ"), ("Саркис", "Սարգիս")],
)
def test_a_russian_g_for_an_armenian_h_is_a_variant(russian: str, armenian: str) -> None:
    assert set(forms([russian])) & set(forms([armenian]))


def test_a_town_of_two_names_compares_as_one() -> None:
    assert place_forms("Армения, г. Эчмиадзин") == place_forms("Վաղարշապատ")
    assert place_forms("Армянская ССР, г. Ленинакан") == place_forms("Գյումրի")
    assert place_forms("г. Семипалатинск") == place_forms("Ղազախստան, Սեմեյ")
    assert place_forms("г. Алма-Ата") == place_forms("г. Алматы")
    assert place_forms("г. Ереван") != place_forms("Գյումրի")


def test_a_short_name_without_its_g_gets_no_hovh_variants() -> None:
    # Гоар read without its Г is "oar": Ов-/Ог- variants of it would be letter pairs that
    # no other spelling of Գոհար has.
    assert dice(forms(["Гоар", "GOAR"]), forms(["Գոհար", "GOHAR"])) >= 0.85
    assert {"ovanisan", "okanisan"} <= set(forms(["Оганесян"]))
