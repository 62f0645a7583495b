"""Start-up checks: before a command works on a node, the node must be the one configured.

A node that starts without its database would create an empty one and answer as a new node;
a `data_dir` with a typo would do the same. So every command that opens a node first checks
its folder, its database (present, reachable, at the current migration) and its agreements,
and a failure is one line saying what is wrong and what to run, with an exit code of its own.

The checks read only what they must: the migration heads come from the revision files'
`revision`/`down_revision` lines, not from Alembic, which alone costs a light command longer
than the command itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from migrex.errors import ConfigurationError
from migrex.settings import Settings

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*=\s*['\"]([0-9a-z_]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)
_IDS = re.compile(r"['\"]([0-9a-z_]+)['\"]")


class DatabaseMissing(ConfigurationError):
    type_slug = "database-missing"
    title = "The node's database does not exist"


class DatabaseNotCurrent(ConfigurationError):
    type_slug = "database-not-current"
    title = "The node's database is not at the current migration"


class DatabaseUnreachable(ConfigurationError):
    type_slug = "database-unreachable"
    title = "The node's database cannot be reached"


class NodeFilesMissing(ConfigurationError):
    type_slug = "node-files-missing"
    title = "The node's folder, keys, certificates or directories are missing or invalid"


DatabaseNeed = Literal["current", "exists", "new"]


def migration_heads(versions: Path = VERSIONS) -> frozenset[str]:
    """The revisions no other revision builds on: what `migrex db upgrade` brings a database to."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            built_on.update(_IDS.findall(down.group(1)))
    return frozenset(revisions - built_on)


def redacted(url: URL | str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check_data_dir(settings: Settings) -> None:
    """The node's folder must exist: a missing one is a typo or a node not yet created, and
    going on would start a new, empty node in its place."""
    if not settings.data_dir.is_dir():
        raise NodeFilesMissing(
            f"data_dir {settings.data_dir} does not exist: check the node's configuration, "
            "or run `migrex db create` for a new node"
        )


def check_database(settings: Settings, need: DatabaseNeed = "current") -> None:
    """Raises unless the node's database is there (`exists`) and, for `current`, at the
    current migration; `new` checks nothing (`migrex db create` makes it)."""
    if need == "new":
        return
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_exists(url)
    revisions = _applied_revisions(url)
    if need == "exists":
        return
    heads = migration_heads()
    if not revisions:
        raise DatabaseNotCurrent(
            f"the database {redacted(url)} has no schema yet: run `migrex db upgrade`"
        )
    if revisions != heads:
        unknown = sorted(revisions - heads - _all_revisions())
        if unknown:
            raise DatabaseNotCurrent(
                f"the database {redacted(url)} is at migration {', '.join(unknown)}, which this "
                "version of migrex does not know: run the migrex version that migrated it"
            )
        raise DatabaseNotCurrent(
            f"the database {redacted(url)} is not at the current migration: run `migrex db upgrade`"
        )


def _all_revisions(versions: Path = VERSIONS) -> set[str]:
    return {
        found.group(1)
        for path in versions.glob("*.py")
        if (found := _REVISION.search(path.read_text(encoding="utf-8"))) is not None
    }


def _sqlite_exists(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:"):
        return
    if not Path(database).is_file():
        raise DatabaseMissing(
            f"the database {database} does not exist: run `migrex db create` for a new node, "
            "or point database_url or data_dir at the node's database"
        )


def _applied_revisions(url: URL) -> frozenset[str]:
    """The revisions recorded in the database (empty: no schema), or why it cannot be read.

    A plain engine, not the node's: this one must not create what it looks for."""
    engine = create_engine(url.set(drivername=_driver(url)), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return frozenset()
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(str(row[0]) for row in rows)
    except SQLAlchemyError as error:
        raise _unreachable(url, error) from None
    finally:
        engine.dispose()


def _unreachable(url: URL, error: SQLAlchemyError) -> ConfigurationError:
    """The database is missing on a server that answers, or the server does not answer."""
    if url.get_backend_name() == "postgresql" and _postgres_lacks_database(url):
        return DatabaseMissing(
            f"the database {redacted(url)} does not exist: run `migrex db create`, "
            "or create it and run `migrex db upgrade`"
        )
    return DatabaseUnreachable(
        f"cannot reach the database {redacted(url)} ({first_line(error)}): "
        "is the server up, and database_url right?"
    )


def _postgres_lacks_database(url: URL) -> bool:
    """Asks the server's maintenance database whether the node's database exists; False
    when that cannot be asked either."""
    engine = create_engine(
        url.set(drivername=_driver(url), database="postgres"), poolclass=NullPool
    )
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            return found is None
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def _driver(url: URL) -> str:
    # Plain postgresql:// means psycopg 3 here, as in `migrex.db.make_engine`.
    return "postgresql+psycopg" if url.drivername == "postgresql" else url.drivername


def first_line(error: BaseException) -> str:
    """The first line of a driver's message, without SQLAlchemy's SQL and background link:
    enough to tell a refused connection from a wrong password."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(error).__name__


def missing_files(files: Iterable[tuple[str, Path | None]]) -> list[str]:
    """Which of the named files are not there (a None path counts as unset)."""
    return [
        f"{name} {path}" if path is not None else f"{name} (not set)"
        for name, path in files
        if path is None or not path.is_file()
    ]
