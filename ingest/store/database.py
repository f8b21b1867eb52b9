"""Opening the store: which database, engine settings per dialect, schema migrations.

The database is chosen in this order: an explicit URL (``--db``), the ``MGR_DB_URL``
environment variable, else a SQLite file ``mgr.sqlite`` in the work folder. PostgreSQL
URLs may be written ``postgresql://…``; the psycopg (v3) driver is filled in.

The schema is always brought to the newest Alembic revision when a store opens, with a
Config built here from the package's own migrations folder, so an installed package works
from any folder without an ``alembic.ini``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from ingest.store.archive import Archive

log = logging.getLogger("mgr_ingest.store")

DB_ENV = "MGR_DB_URL"
DEFAULT_DB_NAME = "mgr.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_MS = 60_000
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK_KEY = 0x6D67725F6D6967  # "mgr_mig"


class StoreError(Exception):
    """The store cannot be used; the message is one line for the user."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""


class StoreFull(StoreError):
    """The database (or the disk under it) has no room left."""


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return lines[0] if lines else type(inner).__name__


def is_full(exc: BaseException) -> bool:
    """True when a database error means that there is no room left."""
    inner = getattr(exc, "orig", None) or exc
    if getattr(inner, "sqlstate", None) in ("53100", "53200"):  # disk_full, out_of_memory
        return True
    words = str(inner).lower()
    return any(w in words for w in ("database or disk is full", "no space left on device",
                                    "could not extend file", "disk full"))


def explain(exc: BaseException, url: URL | None = None) -> StoreError:
    """A one-line StoreError for a database exception (full, unreachable, or other)."""
    where = f" at {safe_url(url)}" if url is not None else ""
    if is_full(exc):
        return StoreFull(f"the database{where} is full: {_first_line(exc)}")
    if isinstance(exc, OperationalError | DBAPIError) and getattr(exc, "connection_invalidated", False):
        return StoreUnavailable(f"lost the connection to the database{where}: {_first_line(exc)}")
    if isinstance(exc, OperationalError):
        return StoreUnavailable(f"cannot use the database{where}: {_first_line(exc)}")
    return StoreError(f"database error{where}: {_first_line(exc)}")


def safe_url(url: URL | str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def resolve_url(db: str | None, work: Path) -> URL:
    raw = db or os.environ.get(DB_ENV) or f"sqlite:///{(work / DEFAULT_DB_NAME).resolve()}"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise StoreUnavailable(f"not a database URL: {raw!r} (expected sqlite:///FILE or "
                               "postgresql://USER@HOST:PORT/DBNAME)") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreUnavailable(f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL")
    return url


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise StoreUnavailable(f"cannot open the database {url.database}: folder {folder} does not exist")
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transactions into our own hands (pysqlite's implicit BEGIN is deferred and
        # skips DDL); WAL lets readers work beside the importer; FULL makes each committed
        # delivery survive a power cut, not only a killed process.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE: take the write lock at the start, so that two writers wait for each other
        # (busy_timeout) instead of failing when a reader turns into a writer.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: URL) -> Engine:
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                                                                "application_name": "mgr-ingest"})


def make_engine(url: URL) -> Engine:
    return _sqlite_engine(url) if url.get_backend_name() == "sqlite" else _postgres_engine(url)


def alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest) in one transaction."""
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass
class Store:
    """An open store: the database engine and the work folder with its archive."""

    engine: Engine
    url: URL
    work: Path
    archive: Archive

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; database errors come out as one-line StoreErrors."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise explain(exc, self.url) from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise explain(exc, self.url) from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(work: Path | str = "mgr-work", db: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and by default migrate) the store of ``work``; raise StoreError with one line
    when the database cannot be reached, is full, or the work folder cannot be made."""
    # Resolved once, here: every later path (archive, scans, files the web app sends) is
    # absolute, whatever the current folder of the process or the library is.
    work = Path(work).expanduser().absolute()
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(f"cannot create the work folder {work}: {exc.strerror or exc}") from None
    url = resolve_url(db, work)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if migrate:
            upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise explain(exc, url) from exc
    log.debug("store open: %s", safe_url(url))
    return Store(engine=engine, url=url, work=work, archive=Archive(work / "archive"))
