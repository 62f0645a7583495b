"""Where a lead's subgraph is drawn: members in a column on the left, the entities they share
on the right, one line per edge. Pure: positions only; the template writes the SVG, with
classes from the console's style sheet (the policy allows no inline style).

Members are ordered by the mean place of the entities they link to, so lines mostly run
level and few cross; the drawing grows with the lead rather than squeezing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

ROW: Final = 22  # px between two members, or two entities when they are as many
TOP: Final = 24
WIDTH: Final = 760  # room for an entity's label (30 characters) right of its square
MEMBER_X: Final = 150
ENTITY_X: Final = 470
RADIUS: Final = 6


@dataclass(frozen=True)
class Point:
    id: str
    x: int
    y: int
    label: str
    kind: str  # member: "violator" or "member"; entity: "party", "address", "entry-window"


@dataclass(frozen=True)
class Line:
    x1: int
    y1: int
    x2: int
    y2: int
    kind: str  # the entity's kind, which the style sheet colours


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    members: list[Point]
    entities: list[Point]
    lines: list[Line]


def _spread(count: int, height: int) -> list[int]:
    """`count` positions spread evenly over the drawing's height, centred."""
    if count <= 0:
        return []
    step = (height - 2 * TOP) / max(count - 1, 1)
    if count == 1:
        return [height // 2]
    return [round(TOP + i * step) for i in range(count)]


def layout(
    members: Sequence[tuple[str, bool]],
    entities: Sequence[tuple[int, str, str]],
    edges: Sequence[tuple[str, int]],
) -> Drawing:
    """`members` as (record id, violator), `entities` as (position, kind, label) in card
    order, `edges` as (record id, entity position); an edge naming neither is left out."""
    linked: dict[str, list[int]] = {}
    order = {position: i for i, (position, _, _) in enumerate(entities)}
    known = {record for record, _ in members}
    kept = [(r, p) for r, p in edges if r in known and p in order]
    for record, position in kept:
        linked.setdefault(record, []).append(order[position])

    def centre(member: tuple[str, bool]) -> tuple[float, str]:
        places = linked.get(member[0], [])
        return (sum(places) / len(places) if places else float(len(entities)), member[0])

    ranked = sorted(members, key=centre)
    height = max(len(ranked), len(entities), 1) * ROW + 2 * TOP
    member_y = _spread(len(ranked), height)
    entity_y = _spread(len(entities), height)
    drawn_members = [
        Point(record, MEMBER_X, y, record, "violator" if violator else "member")
        for (record, violator), y in zip(ranked, member_y, strict=True)
    ]
    drawn_entities = [
        Point(str(position), ENTITY_X, y, label, kind)
        for (position, kind, label), y in zip(entities, entity_y, strict=True)
    ]
    at_member = {p.id: p for p in drawn_members}
    at_entity = {int(p.id): p for p in drawn_entities}
    lines = [
        Line(MEMBER_X + RADIUS, at_member[r].y, ENTITY_X - RADIUS, at_entity[p].y,
             at_entity[p].kind)
        for r, p in sorted(kept, key=lambda e: (order[e[1]], e[0]))
    ]  # fmt: skip
    return Drawing(WIDTH, height, drawn_members, drawn_entities, lines)
