"""The embedded SQL registries fit the protocol a national system would implement."""

from __future__ import annotations

from sqlalchemy import Engine

from migrex.db import make_session_factory
from migrex.registry.ports import Registries
from migrex.registry.sql import SqlRegistries


def test_sql_registries_fit_the_protocol(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        registries: Registries = SqlRegistries(session)  # mypy checks the fit statically
        assert isinstance(registries, Registries)
        assert registries.find_citizen("900101300125") is None
        assert registries.workers_in_year("ARM", 2024) == 0
