"""Where people live and work: regions, towns, streets, sectors, occupations, employers.

Region codes are ISO 3166-2 (checked against pycountry by the tests). Weights are shares of
foreign residents: they follow population, pulled towards the cities and the oil regions
(Atyrau, Mangystau) where foreign labour concentrates.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from migrex.synth.arrays import Bools, Ints, choose, join, labels, number_text

# ISO 3166-2 code: (town the address is written in, share of foreign residents).
KZ_REGIONS: dict[str, tuple[str, float]] = {
    "KZ-75": ("г. Алматы", 24.0), "KZ-71": ("г. Астана", 17.0), "KZ-79": ("г. Шымкент", 7.0),
    "KZ-19": ("г. Конаев", 6.0), "KZ-23": ("г. Атырау", 7.0), "KZ-35": ("г. Караганда", 5.0),
    "KZ-47": ("г. Актау", 5.0), "KZ-15": ("г. Актобе", 4.0), "KZ-61": ("г. Туркестан", 4.0),
    "KZ-31": ("г. Тараз", 3.0), "KZ-55": ("г. Павлодар", 3.0),
    "KZ-63": ("г. Усть-Каменогорск", 3.0),
    "KZ-10": ("г. Семей", 2.0), "KZ-39": ("г. Костанай", 2.0), "KZ-27": ("г. Уральск", 2.0),
    "KZ-43": ("г. Кызылорда", 2.0), "KZ-11": ("г. Кокшетау", 2.0), "KZ-33": ("г. Талдыкорган", 1.5),
    "KZ-59": ("г. Петропавловск", 1.5), "KZ-62": ("г. Жезказган", 1.0),
}  # fmt: skip
# Citizens are born where the population is (2024 census estimates, millions).
KZ_POPULATION = {
    "KZ-75": 2.3, "KZ-71": 1.5, "KZ-79": 1.25, "KZ-61": 2.1, "KZ-19": 1.5, "KZ-31": 1.2,
    "KZ-35": 1.13, "KZ-15": 0.93, "KZ-39": 0.83, "KZ-43": 0.83, "KZ-63": 0.73, "KZ-11": 0.78,
    "KZ-47": 0.78, "KZ-55": 0.75, "KZ-23": 0.7, "KZ-33": 0.7, "KZ-27": 0.69, "KZ-10": 0.61,
    "KZ-59": 0.53, "KZ-62": 0.22,
}  # fmt: skip
AM_REGIONS: dict[str, tuple[str, float]] = {
    "AM-ER": ("Երևան", 72.0), "AM-KT": ("Աբովյան", 5.0), "AM-AV": ("Վաղարշապատ", 4.0),
    "AM-SH": ("Գյումրի", 4.0), "AM-LO": ("Վանաձոր", 3.5), "AM-AR": ("Արտաշատ", 3.0),
    "AM-GR": ("Գավառ", 2.0), "AM-SU": ("Կապան", 2.5), "AM-TV": ("Իջևան", 1.5),
    "AM-AG": ("Աշտարակ", 1.5), "AM-VD": ("Եղեգնաձոր", 1.0),
}  # fmt: skip
AM_POPULATION = {
    "AM-ER": 1.09, "AM-KT": 0.25, "AM-AV": 0.26, "AM-SH": 0.23, "AM-LO": 0.21, "AM-AR": 0.26,
    "AM-GR": 0.23, "AM-SU": 0.14, "AM-TV": 0.12, "AM-AG": 0.13, "AM-VD": 0.05,
}  # fmt: skip

KZ_STREETS = (
    "ул. Абая", "пр. Абая", "ул. Толе би", "ул. Жибек жолы", "пр. Достык", "ул. Сатпаева",
    "ул. Кабанбай батыра", "ул. Богенбай батыра", "ул. Ауэзова", "ул. Сейфуллина", "ул. Гагарина",
    "ул. Пушкина", "пр. Абылай хана", "ул. Кенесары", "ул. Байтурсынова", "ул. Момышулы",
    "мкр. Самал", "мкр. Аксай-4", "мкр. Орбита-2", "ул. Жандосова", "ул. Райымбека",
    "ул. Шевченко", "ул. Валиханова", "пр. Республики", "ул. Мира", "ул. Желтоксан",
    "ул. Кунаева", "ул. Букейханова", "ул. Туркестан", "ул. Сарыарка", "ул. Казыбек би",
)  # fmt: skip
AM_STREETS = (
    "Աբովյան փ.", "Մաշտոցի պող.", "Տիգրան Մեծի պող.", "Կոմիտասի պող.", "Բաղրամյան պող.",
    "Թումանյան փ.", "Սայաթ-Նովայի պող.", "Արշակունյաց պող.", "Խանջյան փ.", "Պուշկինի փ.",
    "Նալբանդյան փ.", "Չարենցի փ.", "Իսահակյան փ.", "Ազատության պող.", "Գարեգին Նժդեհի փ.",
    "Վարդանանց փ.", "Շիրակացու փ.", "Րաֆֆու փ.", "Անդրանիկի փ.", "Զաքյան փ.", "Կիևյան փ.",
)  # fmt: skip

# Where the citizens of each state cross into the node's state.
ENTRY_POINTS: dict[str, dict[str, float]] = {
    "UZB": {"ZHIBEK-ZHOLY-ROAD": 55, "ALA-AIRPORT": 15, "NQZ-AIRPORT": 10,
            "SHYMKENT-AIRPORT": 10, "KAIRAK-ROAD": 10},
    "KGZ": {"KORDAI-ROAD": 65, "ALA-AIRPORT": 20, "KAIRAK-ROAD": 10, "NQZ-AIRPORT": 5},
    "RUS": {"NQZ-AIRPORT": 35, "ALA-AIRPORT": 35, "SYRYM-ROAD": 25, "AKTAU-PORT": 5},
    "BLR": {"NQZ-AIRPORT": 50, "ALA-AIRPORT": 30, "SYRYM-ROAD": 20},
    "CHN": {"ALA-AIRPORT": 70, "NQZ-AIRPORT": 30},
    "TUR": {"ALA-AIRPORT": 55, "NQZ-AIRPORT": 40, "AKTAU-PORT": 5},
    "ARM": {"ALA-AIRPORT": 55, "NQZ-AIRPORT": 40, "SYRYM-ROAD": 5},
    "AM:RUS": {"EVN-AIRPORT": 80, "BAGRATASHEN-ROAD": 15, "LRS-AIRPORT": 5},
    "AM:BLR": {"EVN-AIRPORT": 90, "BAGRATASHEN-ROAD": 10},
    "AM:KAZ": {"EVN-AIRPORT": 95, "BAGRATASHEN-ROAD": 5},
    "AM:IRN": {"MEGHRI-ROAD": 60, "EVN-AIRPORT": 40},
    "AM:GEO": {"BAGRATASHEN-ROAD": 60, "BAVRA-ROAD": 30, "EVN-AIRPORT": 10},
    "AM:IND": {"EVN-AIRPORT": 100},
}  # fmt: skip

# Sector: (ISCO-08 unit groups employed there, share of foreign employment KZ, share AM).
SECTORS: dict[str, tuple[tuple[str, ...], float, float]] = {
    "construction": (("7112", "7115", "9313", "7126", "8342", "7411", "3112", "2142", "7212",
                      "7131", "7122", "7121"), 30, 20),
    "trade": (("5223", "5221", "5230", "3322", "9333"), 15, 15),
    "hospitality": (("5120", "5131", "9412", "1412", "7512", "5246"), 10, 15),
    "transport": (("8322", "8332", "9333", "7231"), 8, 5),
    "industry": (("7212", "7233", "3115", "8111", "8113", "2146", "3117", "2149"), 12, 4),
    "agriculture": (("9211", "6111", "6121"), 7, 3),
    "services": (("9112", "5141", "7531", "5153", "5142"), 7, 8),
    "ict": (("2512", "2514", "2522", "3512", "2166"), 5, 25),
    "health": (("2211", "2212", "2221", "3213"), 2, 3),
    "education": (("2310", "2330"), 2, 2),
    "finance": (("2411", "3313", "1120", "2431"), 2, 2),
}  # fmt: skip
SECTOR_NAMES = tuple(SECTORS)

_KZ_FIRM_WORDS = (
    "Алатау", "Астана", "Сарыарка", "Жетысу", "Тянь-Шань", "Евразия", "Нур", "Береке",
    "Атамекен", "Шанырак", "Байтерек", "Иртыш", "Каспий", "Номад", "Казына", "Арман",
    "Самрук", "Достар", "Шелковый путь", "Алтын", "Тенгри", "Бастау", "Кайнар", "Ордабасы",
)  # fmt: skip
_KZ_SECTOR_WORDS = {
    "construction": ("Строй", "СтройИнвест", "Құрылыс", "Монтаж", "Девелопмент"),
    "trade": ("Трейд", "Маркет", "Сауда", "Коммерц"),
    "hospitality": ("Ресторан Групп", "Кейтеринг", "Отель", "Фуд"),
    "transport": ("Транс", "Логистик", "Авто"),
    "industry": ("Металл", "Ойл Сервис", "Майнинг", "Энерго"),
    "agriculture": ("Агро", "Агрофирма", "Жер"),
    "services": ("Сервис", "Клининг", "Тревел"),
    "ict": ("Софт", "Диджитал", "ИТ Солюшнс"),
    "health": ("Мед", "Клиника", "Фарм"),
    "education": ("Колледж", "Академия", "Университет"),
    "finance": ("Финанс", "Консалт", "Аудит"),
}  # fmt: skip
_AM_FIRM_WORDS = (
    "Արարատ", "Մասիս", "Արագած", "Սևան", "Երևան", "Հայք", "Նաիրի", "Վան", "Դիլիջան",
    "Զվարթնոց", "Ախթամար", "Գառնի", "Էրեբունի", "Տաթև", "Արմավիր", "Շիրակ",
)  # fmt: skip
_AM_SECTOR_WORDS = {
    "construction": ("Շին", "Շինարարություն", "Կառուցող"), "trade": ("Առևտուր", "Մարկետ"),
    "hospitality": ("Ռեստորան", "Հյուրանոց", "Սնունդ"), "transport": ("Տրանս", "Լոգիստիկ"),
    "industry": ("Մետալ", "Էներգո"), "agriculture": ("Ագրո",), "services": ("Սերվիս", "Տուր"),
    "ict": ("Սոֆթ", "Տեխ", "Դիջիթալ"), "health": ("Մեդ", "Կլինիկա"),
    "education": ("Ակադեմիա", "Համալսարան"), "finance": ("Ֆինանս", "Կոնսալտ"),
}  # fmt: skip


def regions(node: str) -> dict[str, tuple[str, float]]:
    return KZ_REGIONS if node == "KZ" else AM_REGIONS


def draw_regions(rng: np.random.Generator, node: str, n: int, population: bool = False) -> Ints:
    """Indices into `list(regions(node))`: weighted by foreign residents or by population."""
    table = regions(node)
    if population:
        weights = KZ_POPULATION if node == "KZ" else AM_POPULATION
        return choose(rng, {code: weights[code] for code in table}, n)
    return choose(rng, {code: share for code, (_, share) in table.items()}, n)


def region_codes(node: str, which: Ints) -> pa.Array:
    return labels(list(regions(node)), which)


def addresses(rng: np.random.Generator, node: str, region: Ints) -> pa.Array:
    """Street addresses in the registry's language; a quarter are houses without a flat."""
    n = len(region)
    towns = labels([town for town, _ in regions(node).values()], region)
    streets = KZ_STREETS if node == "KZ" else AM_STREETS
    street = labels(streets, rng.integers(0, len(streets), n))
    house = number_text(rng.integers(1, 180, n))
    flat = number_text(rng.integers(1, 240, n))
    has_flat = pa.array(rng.random(n) < 0.75)
    if node == "KZ":
        with_flat = join(towns, ", ", street, ", д. ", house, ", кв. ", flat)
        without = join(towns, ", ", street, ", д. ", house)
    else:
        with_flat = join(towns, ", ", street, " ", house, ", բն. ", flat)
        without = join(towns, ", ", street, " ", house)
    return pa.compute.if_else(has_flat, with_flat, without)


def entry_points(rng: np.random.Generator, key: str, n: int) -> pa.Array:
    weights = ENTRY_POINTS[key]
    return labels(list(weights), choose(rng, weights, n))


def draw_sectors(rng: np.random.Generator, node: str, n: int) -> Ints:
    shares = {name: kz if node == "KZ" else am for name, (_, kz, am) in SECTORS.items()}
    return choose(rng, shares, n)


def occupations(rng: np.random.Generator, sector: Ints) -> pa.Array:
    """An ISCO-08 unit group of each row's sector, uniformly among the sector's groups."""
    flat = [code for spec in SECTORS.values() for code in spec[0]]
    start = np.cumsum([0] + [len(spec[0]) for spec in SECTORS.values()])
    size = np.diff(start)
    pick = start[sector] + np.floor(rng.random(len(sector)) * size[sector]).astype(np.int64)
    return labels(flat, pick)


def firm_names(rng: np.random.Generator, node: str, sector: Ints, sole_trader: Bools) -> pa.Array:
    """Company names: ТОО «Алатау Строй», ИП «Нур Сервис»; «Արարատ Շին» ՍՊԸ in Armenia."""
    n = len(sector)
    words = _KZ_FIRM_WORDS if node == "KZ" else _AM_FIRM_WORDS
    by_sector = _KZ_SECTOR_WORDS if node == "KZ" else _AM_SECTOR_WORDS
    flat = [w for name in SECTOR_NAMES for w in by_sector[name]]
    start = np.cumsum([0] + [len(by_sector[name]) for name in SECTOR_NAMES])
    size = np.diff(start)
    second = start[sector] + np.floor(rng.random(n) * size[sector]).astype(np.int64)
    stem = join(labels(words, rng.integers(0, len(words), n)), labels(flat, second), sep=" ")
    if node == "KZ":
        form = labels(("ТОО", "ИП", "АО"), np.where(sole_trader, 1, (rng.random(n) < 0.05) * 2))
        return join(form, " «", stem, "»")
    form = labels(("ՍՊԸ", "ԱՁ", "ՓԲԸ"), np.where(sole_trader, 1, (rng.random(n) < 0.05) * 2))
    return join("«", stem, "» ", form)
