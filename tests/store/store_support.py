"""Helpers for the store tests: the CLI in a fresh process, deliveries, counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).absolute().parents[2]
FIXTURES = REPO / "fixtures" / "kbf"


def cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``mgr-ingest ARGS`` in a fresh process."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.pop("MGR_DB_URL", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ingest.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=timeout)


def db_args(db_url: str | None) -> list[str]:
    return [] if db_url is None else ["--db", db_url]


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def rows_for(n: int, **overrides) -> list[dict]:
    from conftest import kbf_row

    rows = [kbf_row(i, i) for i in range(1, n + 1)]
    for loebe_nr, fields in overrides.items():
        rows[int(loebe_nr.lstrip("r")) - 1].update(fields)
    return rows


def count(store, sql: str, **params) -> int:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
