"""Attacks on a run's encodings by someone who holds a similar list of the population.

The attacker has the filters a party sent (as the linkage unit has them), the encoder's code
(it is open: the layout, the letter pairs of each field, the saltings it offers), the run's
hardening (its proposal names the salting) and a plaintext list drawn from the same
population, which holds some of the encoded people. He knows the scheme, not the key: he
mirrors the salting in everything he computes from his list, and no function here takes a
key. Each attack returns, for every
encoding, the row of the attacker's list it names (or -1 where it names none); `rates`
scores those guesses against the truth (`Scene.rows`), which only the harness knows.

- Frequency: the most frequent filter segments of a field are aligned, rank by rank, with
  the most frequent names of the attacker's list.
- Pattern mining: from the segments the frequency step named, the bit positions each letter
  pair sets are inferred (set in nearly every named segment holding the pair, rarely in the
  others); every encoding is then read by those positions and named where one name of the
  attacker's list fits its bits best; what was read teaches the next round.
- Graph matching: a similarity graph of the encodings (Dice) and one of the attacker's list
  (Dice of his own encoding of it, under a key of his own: the Dice of filters estimates the
  Dice of the letter pairs) are matched by node features (the sorted similarities to the
  nearest neighbours), then refined by each node's similarities to the best-matched nodes.
- Graph matching by score: the same, on the similarity the linkage unit itself computes (each
  field's Dice floored, stretched and weighted, `compare.pair_scores`). The strongest of the
  four: it matches nearly every unhardened encoding.

Two scenes (`scene`, `one_salt_group`): a draw from the whole population, where salting keeps
next to no two encodings alike, and the people of one salt group of a large register, all of
whom the attacker holds; inside the group the salt is one and the same.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import linear_sum_assignment

from migrex.linkage.compare import pair_scores
from migrex.linkage.decoys import with_decoys
from migrex.linkage.encoder import SALTS, encode_filters, joined
from migrex.linkage.keys import KEY_BYTES
from migrex.linkage.layout import LAYOUT, Ints, Layout, Words
from migrex.linkage.records import Register
from migrex.spelling.names import bigrams, forms_of

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

NAME_FIELDS = ("surname", "given_name")
_SPELLINGS = {
    "surname": ("surname", "surname_latin"),
    "given_name": ("given_name", "given_name_latin"),
}


def segment_of(filters: Words, field: str, layout: Layout = LAYOUT) -> Words:
    """The words of one field's segment in every filter (the layout is public)."""
    at = [s.field for s in layout.segments].index(field)
    bounds = layout.bounds()
    return np.ascontiguousarray(filters[:, bounds[at] : bounds[at + 1]])


def name_texts(register: Register, field: str) -> list[str]:
    """Each row's name in `field` as the encoder sees it: its letter pairs, sorted and
    joined. Spellings the encoder folds together (Жумабаев, Жұмабаев, ZHUMABAEV) are one."""
    column = joined([register.columns[c] for c in _SPELLINGS[field]])
    distinct = pc.dictionary_encode(column, null_encoding="encode")
    texts = [
        "\x1f".join(sorted(bigrams(forms_of(v)))) if v else ""
        for v in distinct.dictionary.to_pylist()
    ]
    rows = distinct.indices.to_numpy(zero_copy_only=False)
    return [texts[i] for i in rows.tolist()]


def name_labels(attacker: Register, field: str, *, salt: str | None) -> Ints:
    """Each of the attacker's rows as an index among his distinct names of `field` (as the
    encoder sees them), with the salt in front when he mirrors the encoder's salting (a key
    of `encoder.SALTS`)."""
    texts = name_texts(attacker, field)
    if salt is not None:
        rows, names = SALTS[salt].of(attacker)
        texts = [f"{names[s]}\x1e{t}" for s, t in zip(rows.tolist(), texts, strict=True)]
    _, inverse = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return np.asarray(inverse, dtype=np.int64)


def _groups(values: Ints) -> tuple[Ints, Ints, Ints]:
    """Distinct values by falling count (ties by value): (values, counts, one row of each)."""
    distinct, first, counts = np.unique(values, return_index=True, return_counts=True)
    order = np.lexsort((distinct, -counts))
    return distinct[order], counts[order], first[order]


def _pattern_ids(segments: Words) -> Ints:
    """Each segment's index among the distinct segments."""
    _, inverse = np.unique(segments, axis=0, return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).ravel()


def frequency_attack(
    segments: Words, labels: Ints, *, min_count: int = 3, ranks: int = 200
) -> Ints:
    """Names each encoding whose segment is among the `ranks` most frequent (held at least
    `min_count` times) with the attacker's row of the name of the same frequency rank."""
    guesses = np.full(len(segments), -1, dtype=np.int64)
    patterns = _pattern_ids(segments)
    ours, our_counts, _ = _groups(patterns)
    _, their_counts, their_rows = _groups(labels)
    # A share, not a count: the two lists need not be of one size.
    scale = len(segments) / max(len(labels), 1)
    for rank in range(min(ranks, len(ours), len(their_rows))):
        if our_counts[rank] < min_count or their_counts[rank] * scale < min_count:
            break
        guesses[patterns == ours[rank]] = their_rows[rank]
    return guesses


def _grams_matrix(attacker: Register, field: str) -> tuple[Bools, list[str]]:
    """Which letter pairs each of the attacker's rows puts in the field's segment."""
    column = joined([attacker.columns[c] for c in _SPELLINGS[field]]).to_pylist()
    sets = [bigrams(forms_of(v)) if v else set() for v in column]
    vocabulary = sorted(set().union(*sets))
    index = {g: i for i, g in enumerate(vocabulary)}
    held = np.zeros((len(sets), len(vocabulary)), dtype=np.bool_)
    for row, grams in enumerate(sets):
        held[row, [index[g] for g in grams]] = True
    return held, vocabulary


def _bits(segments: Words) -> Bools:
    return np.unpackbits(segments.view(np.uint8), axis=1, bitorder="little").astype(np.bool_)


def _learn(seed_bits: Bools, seed_grams: Bools, hashes: int) -> tuple[Bools, Ints]:
    """The positions of the letter pairs held by at least two seeds (and not by all): the
    `hashes` positions set in (nearly) every seed holding the pair and most rarely in the
    others. Returns (pairs, bits) and the pairs' columns in `seed_grams`."""
    with_gram = seed_grams.sum(axis=0)
    usable = np.flatnonzero((with_gram >= 2) & (with_gram < len(seed_grams)))
    if not len(usable):
        return np.zeros((0, seed_bits.shape[1]), dtype=np.bool_), usable
    g = seed_grams[:, usable].astype(np.float64)
    b = seed_bits.astype(np.float64)
    set_with = (g.T @ b) / g.sum(axis=0)[:, None]  # P(bit | pair held)
    set_without = ((1 - g).T @ b) / (1 - g).sum(axis=0)[:, None]
    score = np.where(set_with >= 0.9, set_with - set_without, -1.0)
    best = np.argsort(-score, axis=1)[:, :hashes]
    strong = (np.take_along_axis(score, best, axis=1) >= 0.5).ravel()
    learnt = np.zeros((len(usable), seed_bits.shape[1]), dtype=np.bool_)
    learnt[np.repeat(np.arange(len(usable)), hashes)[strong], best.ravel()[strong]] = True
    keep = learnt.any(axis=1)
    return learnt[keep], usable[keep]


def _read(bits: Bools, names: Bools, learnt: Bools, least: float) -> tuple[Ints, Floats]:
    """For each segment, the name (row of `names`, pairs by learnt pair) whose expected bits
    best match its own among the learnt positions, or -1 where none reaches Dice `least` or
    two do equally well; and that Dice."""
    covered: Bools = np.asarray(learnt.any(axis=0), dtype=np.bool_)
    expected = (names.astype(np.float32) @ learnt.astype(np.float32)) > 0
    e = expected.astype(np.float32)
    e_counts = e.sum(axis=1)
    chosen = np.full(len(bits), -1, dtype=np.int64)
    value = np.zeros(len(bits), dtype=np.float64)
    if not len(names):
        return chosen, value
    for start in range(0, len(bits), 512):
        block = (bits[start : start + 512] & covered[None, :]).astype(np.float32)
        dice = 2 * (block @ e.T) / np.maximum(block.sum(axis=1)[:, None] + e_counts[None, :], 1)
        ordered = -np.sort(-dice, axis=1)[:, :2]
        second = ordered[:, 1] if dice.shape[1] > 1 else np.zeros(len(block))
        ok = (ordered[:, 0] >= least) & (second < ordered[:, 0])
        chosen[start : start + 512][ok] = dice.argmax(axis=1)[ok]
        value[start : start + 512] = ordered[:, 0]
    return chosen, value


def pattern_mining_attack(
    segments: Words, attacker: Register, field: str, seeds: Ints,
    *, hashes: int, seed_ranks: int = 20, least: float = 0.8, rounds: int = 2,
) -> Ints:  # fmt: skip
    """Names encodings by the letter pairs their bits show. `seeds` are the frequency
    attack's guesses (a row of the attacker's list or -1 per encoding): the most frequent
    segments it named teach the positions of the pairs (`hashes` per pair: the layout is
    public); seeds their own reading contradicts are dropped; every encoding is then read,
    and the segments read teach the next round."""
    guesses = np.full(len(segments), -1, dtype=np.int64)
    bits = _bits(segments)
    held, _ = _grams_matrix(attacker, field)
    named = np.flatnonzero(seeds >= 0)
    if not len(named):
        return guesses
    # One taught pattern per frequent segment the frequency step named.
    patterns = _pattern_ids(segments[named])
    _, first, counts = np.unique(patterns, return_index=True, return_counts=True)
    top = named[first[np.argsort(-counts, kind="stable")[:seed_ranks]]]
    seed_bits, seed_rows = bits[top], seeds[top]
    # The attacker's distinct names, by the pairs they hold.
    _, name_rows = np.unique(held, axis=0, return_index=True)
    for _ in range(rounds):
        learnt, usable = _learn(seed_bits, held[seed_rows], hashes)
        if not len(usable):
            return guesses
        names = held[name_rows][:, usable]
        # Seeds whose own bits do not read as their name were named wrong: taught again
        # without them.
        mine = held[seed_rows][:, usable]
        read, _ = _read(seed_bits, mine, learnt, 0.0)
        agree = read == np.arange(len(seed_rows))
        seed_bits, seed_rows = seed_bits[agree], seed_rows[agree]
        learnt, usable = _learn(seed_bits, held[seed_rows], hashes)
        if not len(usable):
            return guesses
        names = held[name_rows][:, usable]
        chosen, _ = _read(bits, names, learnt, least)
        guesses = np.where(chosen >= 0, name_rows[np.maximum(chosen, 0)], -1)
        # Everything read is taught in the next round, once per distinct segment.
        read_rows = np.flatnonzero(guesses >= 0)
        if not len(read_rows):
            break
        _, once = np.unique(_pattern_ids(segments[read_rows]), return_index=True)
        seed_bits, seed_rows = bits[read_rows[once]], guesses[read_rows[once]]
    return guesses


def dice_matrix(left: Words, right: Words, rows: int = 128) -> npt.NDArray[np.float32]:
    """Whole-filter Dice of every left filter with every right one."""
    left_counts = np.bitwise_count(left).sum(axis=1, dtype=np.int64)
    right_counts = np.bitwise_count(right).sum(axis=1, dtype=np.int64)
    result = np.zeros((len(left), len(right)), dtype=np.float32)
    for start in range(0, len(left), rows):
        block = left[start : start + rows]
        common = np.bitwise_count(block[:, None, :] & right[None, :, :]).sum(axis=2)
        total = left_counts[start : start + rows, None] + right_counts[None, :]
        result[start : start + rows] = 2 * common / np.maximum(total, 1)
    return result


def _features(similarity: npt.NDArray[np.float32], neighbours: int) -> Floats:
    """Each node's similarities to its nearest neighbours, highest first (itself left out)."""
    s = similarity.copy()
    np.fill_diagonal(s, -1.0)
    top = -np.sort(-np.partition(s, -neighbours, axis=1)[:, -neighbours:], axis=1)
    return top.astype(np.float64)


def _distance(left: npt.NDArray[np.floating], right: npt.NDArray[np.floating]) -> Floats:
    """Squared Euclidean distance of every left row to every right row."""
    a, b = left.astype(np.float64), right.astype(np.float64)
    d = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2 * a @ b.T
    result: Floats = np.maximum(d, 0.0)
    return result


def _assign(cost: Floats) -> tuple[Ints, Ints, Floats]:
    """One-to-one assignment of least total cost, with how far each chosen cost stands below
    the row's next best (the confidence)."""
    rows, cols = linear_sum_assignment(cost)
    chosen = cost[rows, cols]
    ordered = np.sort(cost[rows], axis=1)
    second = np.where(ordered[:, 0] < chosen, ordered[:, 0], ordered[:, min(1, cost.shape[1] - 1)])
    return rows.astype(np.int64), cols.astype(np.int64), second - chosen


def _own_encoding(attacker: Register, salt: str | None, seed: int | None) -> Words:
    """The attacker's list encoded as the scheme does, under a key of his own: random, or
    drawn from `seed` for a repeatable run; it has nothing to do with the run's."""
    own_key = (
        secrets.token_bytes(KEY_BYTES)
        if seed is None
        else hashlib.sha256(f"attacker\x1f{seed}".encode()).digest()
    )
    return encode_filters(attacker, own_key, salt=salt)


def _matched(
    ours: npt.NDArray[np.float32], theirs: npt.NDArray[np.float32], *, neighbours: int,
    anchors: float, rounds: int,
) -> Ints:  # fmt: skip
    """For each node of our graph, the node of theirs it is matched with: first by node
    features, then by each node's similarities to the best-matched nodes (the anchors)."""
    ours_f, theirs_f = _features(ours, neighbours), _features(theirs, neighbours)
    rows, cols, margin = _assign(_distance(ours_f, theirs_f))
    for _ in range(rounds):
        keep = np.argsort(-margin)[: max(int(anchors * len(rows)), 1)]
        a, b = rows[keep], cols[keep]
        rows, cols, margin = _assign(_distance(ours[:, a], theirs[:, b]))
    guesses = np.full(len(ours), -1, dtype=np.int64)
    guesses[rows] = cols
    return guesses


def graph_attack(
    filters: Words, attacker: Register, *, salt: str | None, neighbours: int = 10,
    anchors: float = 0.2, rounds: int = 4, seed: int | None = None,
) -> Ints:  # fmt: skip
    """Matches the encodings' similarity graph (whole-filter Dice) with the attacker's.
    `salt`: the salting (a key of `encoder.SALTS`, or None) he mirrors in his own encoding,
    made under a key of his own (`seed`: repeatable)."""
    own = _own_encoding(attacker, salt, seed)
    return _matched(dice_matrix(filters, filters), dice_matrix(own, own),
                    neighbours=neighbours, anchors=anchors, rounds=rounds)  # fmt: skip


def score_matrix(filters: Words, layout: Layout = LAYOUT) -> npt.NDArray[np.float32]:
    """The linkage unit's own score (`compare.pair_scores`) of every pair of filters."""
    n = len(filters)
    rows = np.arange(n, dtype=np.int64)
    scores = pair_scores(filters, filters, np.repeat(rows, n), np.tile(rows, n), layout=layout)
    return scores.reshape(n, n)


def score_graph_attack(
    filters: Words, attacker: Register, *, salt: str | None, layout: Layout = LAYOUT,
    neighbours: int = 10, anchors: float = 0.2, rounds: int = 4, seed: int | None = None,
) -> Ints:  # fmt: skip
    """The graph attack on the similarity the linkage unit computes: each field's Dice,
    floored, stretched and weighted as `compare` does (the layout and the scoring are
    public). Whole-filter Dice lets fields the salt keeps alike for everyone (the date and
    sex present, one birthplace) drown the names; the unit's score weighs each field as
    what it is, and matches far more: nearly all of an unhardened register."""
    own = _own_encoding(attacker, salt, seed)
    return _matched(score_matrix(filters, layout), score_matrix(own, layout),
                    neighbours=neighbours, anchors=anchors, rounds=rounds)  # fmt: skip


ATTACKS = ("frequency", "pattern_mining", "graph_matching", "graph_matching_by_score")


@dataclass(frozen=True)
class Scene:
    """An attack's setting: the encoded register, the attacker's list, and what only the
    harness knows: for every encoding, its person's row in the attacker's list (-1 where he
    does not hold it)."""

    encoded: Register
    attacker: Register
    rows: Ints
    people: Bools | None = None
    """Which encodings are people, when decoys are among them (all, when None): only
    people count as re-identified, and only among people."""
    source: Register | None = None
    """The register the encoded people are drawn from, as the party holds it: its decoys
    are recombined from it (from the encoded register itself when None)."""

    def with_decoys(self, per_record: float, rng: np.random.Generator) -> Scene:
        """The scene with `per_record` decoys per record mixed into the encoded register
        (`linkage.decoys`), drawn from `source`; the attacker's list holds none of them."""
        mixed, origin = with_decoys(self.encoded, per_record, rng, source=self.source)
        rows = np.where(origin >= 0, self.rows[np.maximum(origin, 0)], -1).astype(np.int64)
        return Scene(mixed, self.attacker, rows, origin >= 0, self.source)


def scene(population: Register, *, size: int, overlap: float, seed: int) -> Scene:
    """`size` records drawn from a population, and the attacker's list of as many: a share
    `overlap` of the encoded people and the rest other people of the same population."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(population))
    size = min(size, len(population) // 2)
    held = order[:size]
    shared = round(overlap * size)
    theirs = rng.permutation(np.concatenate([held[:shared], order[size : 2 * size - shared]]))
    where = {int(p): i for i, p in enumerate(theirs.tolist())}
    rows = np.array([where.get(int(p), -1) for p in held.tolist()], dtype=np.int64)
    return Scene(_take(population, held), _take(population, theirs), rows, source=population)


def one_salt_group(population: Register, *, size: int, seed: int, sex: str = "M") -> Scene:
    """A scene inside one salt group of a large register: `size` people of one sex, every
    one given the same birth date in both lists, and the attacker holding them all. Salting
    splits a register into groups, but a group is as large as the register is: some 300
    people of one sex share a birth date in 20 M records, and the date blocking tokens tell
    the linkage unit which encodings those are. Inside the group, the salt is one and the
    same, so the encoding is as exposed as an unsalted one of that size."""
    same_sex = pc.equal(population.columns["sex"], sex)
    people = Register(
        {name: column.filter(same_sex) for name, column in population.columns.items()}
    )
    setting = scene(people, size=size, overlap=1.0, seed=seed)

    def dated(register: Register) -> Register:
        birth = pa.array([_GROUP_DATE] * len(register), pa.string())
        return Register(register.columns | {"birth_date": birth})

    # The party's decoys that land in the group: names of anyone of the sex, the group's date.
    return Scene(dated(setting.encoded), dated(setting.attacker), setting.rows,
                 source=dated(people))  # fmt: skip


_GROUP_DATE = "1980-06-15"


def _take(register: Register, rows: Ints) -> Register:
    return Register({name: column.take(rows) for name, column in register.columns.items()})


Progress = Callable[[str], None]
STEPS = len(NAME_FIELDS) + 2  # the steps `rates` reports


def rates(
    filters: Words, setting: Scene, *, salt: str | None, layout: Layout = LAYOUT,
    progress: Progress | None = None,
) -> dict[str, float]:  # fmt: skip
    """The share of encodings each attack re-identifies, and the highest. Frequency and
    pattern mining count a surname or given name recovered (as the encoder sees it: its
    letter pairs); graph matching counts a person matched to his row in the attacker's
    list. `salt` is the salting the encodings were made with (a key of `encoder.SALTS`, or
    None), which the attacker knows and mirrors. He does not try the others: he could not
    tell which did best, and a best-of-several counted against the truth would score his
    luck, not the encoding. With decoys among the encodings (`Scene.people`), he attacks
    them all, as he cannot tell them apart, and only people found count."""
    report = progress or (lambda step: None)
    people = np.ones(len(filters), np.bool_) if setting.people is None else setting.people
    n = max(int(people.sum()), 1)
    found = dict.fromkeys(ATTACKS, 0.0)
    hashes = {s.field: s.hashes for s in layout.segments}
    for field in NAME_FIELDS:
        segments = segment_of(filters, field, layout)
        true = np.array(name_texts(setting.encoded, field), dtype=object)
        theirs = np.array(name_texts(setting.attacker, field), dtype=object)

        def right(guesses: Ints, true: npt.NDArray[np.object_] = true,
                  theirs: npt.NDArray[np.object_] = theirs) -> float:  # fmt: skip
            hit = (guesses >= 0) & (theirs[np.maximum(guesses, 0)] == true) & people
            return float(hit.sum()) / n

        report(f"frequency and pattern mining: {field}")
        labels = name_labels(setting.attacker, field, salt=salt)
        first = frequency_attack(segments, labels)
        found["frequency"] = max(found["frequency"], right(first))
        mined = pattern_mining_attack(
            segments, setting.attacker, field, first, hashes=hashes[field]
        )
        found["pattern_mining"] = max(found["pattern_mining"], right(mined))
    for name, attack in (("graph_matching", graph_attack),
                         ("graph_matching_by_score", score_graph_attack)):  # fmt: skip
        report(name.replace("_", " "))
        guesses = attack(filters, setting.attacker, salt=salt)
        found[name] = float(((guesses >= 0) & (guesses == setting.rows) & people).sum()) / n
    result = {name: round(rate, 4) for name, rate in found.items()}
    return result | {"max": max(result.values())}
