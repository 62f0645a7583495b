"""Entity resolution: one key however a register spelt the address or the firm."""

from __future__ import annotations

from unittest.mock import patch

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrex.channels import resolution
from migrex.channels.resolution import address_key, address_keys, fold, organisation_key


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("г. Алматы, ул. Абая, д. 12, кв. 5", "Almaty, Abaya st. 12 apt 5"),
        ("г. Алматы, ул. Абая, д. 12а, кв. 5", "ALMATY ABAYA 12 A, FLAT 5"),
        ("Алматы, ул.Абая 12А кв5", "almaty, abaya street, house 12a, apt. 5"),
        ("Երևան, Աբովյան փ. 3, բն. 7", "Yerevan Abovyan 3 7".replace("Yerevan", "Erevan")),
    ],
)
def test_spellings_of_one_address_have_one_key(one: str, other: str) -> None:
    assert address_key(one) == address_key(other)


def test_two_flats_of_one_house_stay_two() -> None:
    assert address_key("г. Алматы, ул. Абая, д. 12, кв. 5") != address_key(
        "г. Алматы, ул. Абая, д. 12, кв. 6"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [("ТОО «Нур Строй»", "Nur Stroy LLP"), ("«Արարատ Շին» ՍՊԸ", "Ararat Shin LLC")],
)
def test_legal_forms_and_scripts_fold_away(one: str, other: str) -> None:
    assert organisation_key(one) == organisation_key(other)


def test_folding_keeps_latin_letters_and_digits_only() -> None:
    assert fold("Café «Ñandú» №7") == "cafe nandu 7"
    assert fold("") == ""


def test_many_at_once_match_one_by_one() -> None:
    texts = ["г. Алматы, ул. Абая, д. 12, кв. 5", "", "Tole bi 3", "Տիգրան Մեծի պող. 9"]
    assert address_keys(pa.array(texts)).to_pylist() == [address_key(t) for t in texts]


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="аб Ա.,-12 Xx", max_size=12), max_size=30),
    size=st.integers(1, 7),
)
def test_keys_do_not_depend_on_how_a_register_is_sliced(texts: list[str], size: int) -> None:
    """A register of millions is keyed a slice at a time; each text's key is its own."""
    whole = address_keys(pa.array(texts, pa.string())).to_pylist()
    with patch.object(resolution, "SLICE", size):
        sliced = address_keys(pa.chunked_array([pa.array(texts, pa.string())])).to_pylist()
    assert sliced == whole == [address_key(t) for t in texts]
