"""Opening the database for the web application: the store first, then the web tables.

``open_web_store(work, db)`` opens (and migrates) the store exactly as the importer does,
then brings the web tables to their newest revision. ORM sessions are made per request
on the store's engine, so the web application and the importer share one database,
one engine configuration (SQLite WAL and busy timeout, PostgreSQL pre-ping) and one
audit log.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ingest.store.database import Store, open_store

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WEB_MIGRATION_LOCK_KEY = 0x6D67725F776562  # "mgr_web": serialises web migrations on PostgreSQL


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_web(store: Store, revision: str = "head") -> None:
    """Bring the web tables to ``revision`` in one transaction."""
    from alembic import command

    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WEB_MIGRATION_LOCK_KEY})
        command.upgrade(_alembic_config(conn), revision)


def web_revision(store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": "webentry_alembic_version"})
        return ctx.get_current_revision()


def open_web_store(work: Path | str, db: str | None = None) -> Store:
    """The store of ``work`` (or ``db``) with the web tables in place."""
    store = open_store(work, db)
    try:
        upgrade_web(store)
    except Exception:
        store.close()
        raise
    return store


def session_factory(store: Store) -> sessionmaker[Session]:
    return sessionmaker(bind=store.engine, expire_on_commit=False)


def reading_factory(store: Store) -> sessionmaker[Session]:
    """Sessions for requests that only read.

    The store's SQLite engine starts every transaction with ``BEGIN IMMEDIATE`` (the
    importer wants writers to queue, not fail), which would make every page view take the
    write lock for its whole request. Reading requests get an engine of their own on the
    same file instead, whose statements read a WAL snapshot without locking anyone out.
    On PostgreSQL the store's engine serves both.
    """
    if store.dialect != "sqlite":
        return session_factory(store)
    from sqlalchemy import create_engine, event

    from ingest.store.database import SQLITE_BUSY_TIMEOUT_MS

    engine = create_engine(store.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")  # a reading session that tries to write fails loudly
        cursor.close()

    return sessionmaker(bind=engine, expire_on_commit=False)


# Endpoints that only read although they are called with POST (the checks while typing).
READING_ENDPOINTS = {"entry.check_field", "entry.check_record_api"}


def db() -> Session:
    """The database session of the current request (opened on first use, closed at its end):
    a reading session for GET requests and the checks, a writing one otherwise."""
    from flask import current_app, g, request

    s = g.get("_db_session")
    if s is None:
        reading = request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in READING_ENDPOINTS
        factory = current_app.extensions["mgr_reading" if reading else "mgr_sessions"]
        s = g._db_session = factory()
    return s


def write_session() -> Session:
    """A writing session for the few writes a GET request makes (the export's audit entry)."""
    from flask import current_app

    return current_app.extensions["mgr_sessions"]()


def close_request_session(_exc=None) -> None:
    from flask import g

    s = g.pop("_db_session", None)
    if s is not None:
        s.close()
