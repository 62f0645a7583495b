"""One scene per test module of the guarantee matrix: the checks share a node pair."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guarantee_matrix import Scene, build_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    yield from build_scene(tmp_path_factory.mktemp("matrix"))
