"""The drawing of a lead's subgraph: every member and entity placed inside the drawing,
one line per edge between the right points, members ordered so that lines run level."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from migrex.ui.lead_graph import ENTITY_X, MEMBER_X, layout


def test_members_follow_the_entities_they_share() -> None:
    drawing = layout(
        [("M1", False), ("M2", True), ("M3", False)],
        [(0, "party", "Nur LLP"), (1, "address", "Abaya 12")],
        [("M1", 1), ("M2", 0), ("M3", 1), ("M3", 0), ("GONE", 0), ("M1", 7)],
    )
    assert [p.id for p in drawing.members] == ["M2", "M3", "M1"]
    assert [p.kind for p in drawing.members] == ["violator", "member", "member"]
    assert len(drawing.lines) == 4  # the edges naming no member or no entity are left out
    at = {p.id: p.y for p in drawing.members}
    entity_y = {int(p.id): p.y for p in drawing.entities}
    assert {(line.y1, line.y2, line.kind) for line in drawing.lines} == {
        (at["M2"], entity_y[0], "party"), (at["M3"], entity_y[0], "party"),
        (at["M1"], entity_y[1], "address"), (at["M3"], entity_y[1], "address"),
    }  # fmt: skip


@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=12),
    st.data(),
)
def test_everything_is_inside_the_drawing(members: int, entities: int, data: st.DataObject) -> None:
    ids = [f"M{i}" for i in range(members)]
    edges = data.draw(st.lists(st.tuples(st.sampled_from(ids), st.integers(0, entities - 1))))
    drawing = layout(
        [(i, n % 2 == 0) for n, i in enumerate(ids)],
        [(p, "party", f"E{p}") for p in range(entities)],
        edges,
    )
    assert len(drawing.members) == members and len(drawing.entities) == entities
    ys = [p.y for p in (*drawing.members, *drawing.entities)]
    assert all(0 < y < drawing.height for y in ys)
    assert len({p.y for p in drawing.members}) == members  # no two members on one spot
    assert all(p.x == MEMBER_X for p in drawing.members)
    assert all(p.x == ENTITY_X for p in drawing.entities)
    assert len(drawing.lines) == len(edges)
