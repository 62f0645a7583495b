"""Name pools and transliteration: each registry's script, each passport's Latin."""

from __future__ import annotations

import numpy as np
import pycountry
import pytest

from migrex.registry.scripts import check_latin_name, check_local_name
from migrex.synth.names import RENDERINGS, draw_names, forms, render
from migrex.synth.places import AM_REGIONS, KZ_REGIONS, SECTORS
from migrex.synth.translit import (
    am_passport_latin,
    cyrillic_to_armenian,
    kz_passport_latin,
    ru_passport_latin,
    russian_patronymic,
)


@pytest.mark.parametrize(
    ("armenian", "latin"),
    [
        ("Հովհաննիսյան", "HOVHANNISYAN"),
        ("Մկրտչյան", "MKRTCHYAN"),
        ("Հարությունյան", "HARUTYUNYAN"),
        ("Ոսկանյան", "VOSKANYAN"),
        ("Եղիազարյան", "YEGHIAZARYAN"),
        ("Գևորգյան", "GEVORGYAN"),
        ("Աստղիկ", "ASTGHIK"),
        ("Համբարձումյան", "HAMBARDZUMYAN"),
    ],
)
def test_armenian_passport_latin(armenian: str, latin: str) -> None:
    assert am_passport_latin(armenian) == latin


def test_kazakh_and_russian_passports_spell_the_same_name_differently() -> None:
    assert kz_passport_latin("Оганесян") == "OGANESYAN"
    assert kz_passport_latin("Юлия") == "YULIYA"
    assert ru_passport_latin("Юлия") == "IULIIA"
    assert kz_passport_latin("Нұрланұлы") == "NURLANULY"


@pytest.mark.parametrize(
    ("cyrillic", "armenian"),
    [("Андреев", "Անդրեև"), ("Сергеевич", "Սերգեևիչ"), ("Мария", "Մարիա"),
     ("Наталья", "Նատալյա"), ("Александр", "Ալեքսանդր"), ("Ольга", "Օլգա"),
     ("Жумабаев", "Ժումաբաև"), ("Дмитрий", "Դմիտրի")],
)  # fmt: skip
def test_cyrillic_names_in_armenian_letters(cyrillic: str, armenian: str) -> None:
    assert cyrillic_to_armenian(cyrillic) == armenian


def test_patronymics() -> None:
    assert russian_patronymic("Нурлан", female=False) == "Нурланович"
    assert russian_patronymic("Сергей", female=True) == "Сергеевна"
    with pytest.raises(ValueError, match="by hand"):
        russian_patronymic("Илья", female=False)


@pytest.mark.parametrize("key", RENDERINGS)
def test_every_rendering_is_in_its_registrys_script(key: str) -> None:
    f = forms(key)
    state = "AM" if ".hy" in key else "KZ"
    local = f.surname.to_pylist() + f.given.to_pylist()
    if f.patronymic is not None:
        local += f.patronymic.to_pylist()
    assert [name for name in local if check_local_name(name, state)] == []
    latin = f.surname_latin.to_pylist() + f.given_latin.to_pylist()
    assert [name for name in latin if check_latin_name(name)] == []


def test_one_person_rendered_by_both_states() -> None:
    rng = np.random.default_rng(3)
    draw = draw_names(rng, "arm", np.zeros(2000, dtype=bool))
    kz, am = render(forms("arm.ru.kz"), draw), render(forms("arm.hy"), draw)
    pairs = set(zip(am.surname.to_pylist(), kz.surname.to_pylist(), strict=True))
    # The Kazakh registry mixes the Russian spellings of one Armenian surname.
    assert {("Հովհաննիսյան", "Оганесян"), ("Հովհաննիսյան", "Ованнисян")} <= pairs
    latin = set(zip(am.surname_latin.to_pylist(), kz.surname_latin.to_pylist(), strict=True))
    assert ("HOVHANNISYAN", "OGANESYAN") in latin
    assert kz.patronymic is not None and am.patronymic is not None
    assert all(p.endswith("вич") for p in kz.patronymic.to_pylist())
    assert all(p.endswith("ի") for p in am.patronymic.to_pylist())


def test_feminine_surnames_follow_slavic_rules_only() -> None:
    rng = np.random.default_rng(1)
    women = np.ones(500, dtype=bool)
    kazakh = render(forms("kaz.ru"), draw_names(rng, "kaz", women)).surname.to_pylist()
    assert all(s.endswith(("ова", "ева", "ина")) for s in kazakh)
    chinese = render(forms("chn.ru"), draw_names(rng, "chn", women)).surname.to_pylist()
    assert not any(s.endswith("ова") for s in chinese)


def test_regions_are_iso_3166_2_and_occupations_isco_08() -> None:
    for state, table in (("KZ", KZ_REGIONS), ("AM", AM_REGIONS)):
        codes = {s.code for s in pycountry.subdivisions.get(country_code=state)}
        assert set(table) == codes
    units = [code for groups, _, _ in SECTORS.values() for code in groups]
    assert all(len(code) == 4 and code.isdigit() for code in units)
