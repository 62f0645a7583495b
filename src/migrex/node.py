"""A running node's parts, built once from its settings and handed to every use case."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from migrex.db import make_engine, make_session_factory
from migrex.settings import Settings
from migrex.uow import UnitOfWork


@dataclass
class Node:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Any]:
        return make_session_factory(self.engine)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
