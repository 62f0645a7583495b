"""A running node's parts, built once from its settings and handed to every use case."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from migrex.agreements import Agreement, load_agreements
from migrex.db import make_engine, make_session_factory
from migrex.errors import ConfigurationError, Problem
from migrex.settings import Settings
from migrex.uow import SqlUnitOfWork


@dataclass
class Node:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Any]:
        return make_session_factory(self.engine)

    @cached_property
    def agreements(self) -> dict[str, Agreement]:
        """The node's agreements by id, each checked to know the authorities the node hosts."""
        agreements = load_agreements(self.settings.agreements)
        problems = hosting_problems(self.settings, agreements)
        if problems:
            raise ConfigurationError(
                "the node hosts authorities its agreements do not know", problems
            )
        return agreements

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def hosting_problems(settings: Settings, agreements: dict[str, Agreement]) -> list[Problem]:
    """Each hosted authority must be one of the node's state in at least one agreement, or
    the linkage unit one of its agreements names (a node serving as that unit hosts it)."""
    problems = []
    for authority_id in settings.authorities:
        if any(a.linkage is not None and a.linkage.unit == authority_id
               for a in agreements.values()):  # fmt: skip
            continue
        known = [
            a.authorities[authority_id]
            for a in agreements.values()
            if authority_id in a.authorities
        ]
        if not known:
            problems.append(
                Problem(f"authorities: {authority_id}", "in none of the node's agreements")
            )
        elif any(authority.state != settings.state for authority in known):
            problems.append(
                Problem(f"authorities: {authority_id}", f"is not an authority of {settings.state}")
            )
    return problems
