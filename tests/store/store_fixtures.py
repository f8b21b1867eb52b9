"""The store tests' fixtures: a store on each database, and its work folder.

Registered by the test modules with ``pytest_plugins = ["store_fixtures"]``. Every store
test runs on SQLite, and on PostgreSQL when ``MGR_TEST_PG_URL`` names a server
(``source .ci/postgres.sh`` starts one). Without a server the PostgreSQL cases are skipped
with the reason, except in CI (``CI=true``), where they fail instead: CI must test both
databases.
"""

from __future__ import annotations

import os
import uuid
from functools import cache
from pathlib import Path
from urllib.parse import quote

import pytest

PG_ENV = "MGR_TEST_PG_URL"
DATABASES = ["sqlite", "postgresql"]


def in_ci() -> bool:
    from conftest import in_ci as ci  # one spelling of the check for the whole suite

    return ci()


@cache
def _pg_problem() -> str | None:
    """None when the PostgreSQL test server answers, else why not."""
    url = os.environ.get(PG_ENV)
    if not url:
        return f"{PG_ENV} is not set (source .ci/postgres.sh to start a throwaway server)"
    from sqlalchemy import create_engine, text

    from ingest.store.database import resolve_url

    try:
        engine = create_engine(resolve_url(url, Path(".")), connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        return f"no PostgreSQL server reachable at {PG_ENV}: {first[0] if first else type(exc).__name__}"
    return None


def need_postgres() -> str:
    problem = _pg_problem()
    if problem:
        if in_ci():
            pytest.fail(f"CI=true, so the PostgreSQL store tests must run, but {problem}", pytrace=False)
        pytest.skip(problem)
    return os.environ[PG_ENV]


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=DATABASES)
def db_url(request):
    """None for SQLite (the default file in the work folder), else a PostgreSQL URL whose
    search path is a new schema of its own."""
    if request.param == "sqlite":
        yield None
        return
    base = need_postgres()
    from sqlalchemy import create_engine, text

    from ingest.store.database import resolve_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(resolve_url(base, Path(".")))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _with_schema(base, schema)
    finally:
        with admin.begin() as conn:  # throwaway test data only
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def work(tmp_path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def store(work, db_url):
    from ingest.store import open_store

    s = open_store(work, db_url)
    yield s
    s.close()
