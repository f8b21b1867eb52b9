"""A pass killed at any moment: no half-imported delivery, and the next pass finishes the job.

Each case starts ``mgr-ingest run`` in its own process, lets it pause at a checkpoint inside
the import of the second delivery (``MGR_INGEST_TEST_PAUSE``), kills it there with SIGKILL
(no clean-up code runs), then runs a normal pass and checks the store and the inbox.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from conftest import write_delivery
from store_support import REPO, count, db_args, rows_for

from ingest.store import open_store

ENTRIES = {"K2697": 30, "K2698": 25, "K2699": 20}
KILL_POINTS = [
    "archived",  # the files are in the archive, nothing is in the database
    "in-transaction",  # rows, findings and all are written but not committed
    "committed",  # committed, the files are still in the inbox
    "moving",  # committed, one file of the pair taken out of the inbox, the other not
]

pytest_plugins = ["store_fixtures"]  # the db_url, store and work fixtures


def fill_inbox(inbox):
    for entry, n in ENTRIES.items():
        rows = rows_for(n)
        for row in rows:
            row["INDTASTNINGSNUMMER"] = entry
        write_delivery(inbox, rows, entry=entry)


def run_and_kill_at(point: str, entry: str, inbox, work, db_url) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO), MGR_INGEST_TEST_PAUSE=f"{point}@{entry}=60")
    env.pop("MGR_DB_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli", "run", "--inbox", str(inbox), "--work", str(work),
                             "--settle", "0", *db_args(db_url)], stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    timer = threading.Timer(90, proc.kill)  # never hang the suite
    timer.start()
    try:
        for line in proc.stderr:
            seen.append(line)
            if line.startswith(f"checkpoint {point} {entry}"):
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        timer.cancel()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


def csv_files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".csv")


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_killed_pass_is_finished_by_the_next(tmp_path, db_url, point):
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    fill_inbox(inbox)
    run_and_kill_at(point, "K2698", inbox, work, db_url)

    with open_store(work, db_url) as store:
        # Whatever was stored is whole: every delivery's rows are all there, or it is not there.
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT d.entry_number, d.rows_stored, (SELECT count(*) FROM raw_rows r WHERE r.delivery_id = d.id) "
                "FROM deliveries d ORDER BY d.entry_number").all()
        assert all(rows == found for _, rows, found in stored)
        # Deliveries are validated together and then stored one by one, in order.
        expected = {"archived": set(), "in-transaction": {"K2697"}}.get(point, {"K2697", "K2698"})
        assert {e for e, _, _ in stored} == expected

    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "run", "--inbox", str(inbox), "--work", str(work),
                           "--settle", "0", *db_args(db_url)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert csv_files(inbox) == []

    with open_store(work, db_url) as store:
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT d.entry_number, d.version, d.status, d.rows_stored, "
                "(SELECT count(*) FROM raw_rows r WHERE r.delivery_id = d.id) FROM deliveries d "
                "ORDER BY d.entry_number").all()
            runs = [tuple(r) for r in conn.exec_driver_sql("SELECT id, status FROM runs ORDER BY id")]
        assert [(e, v, s, n, m) for e, v, s, n, m in stored] == [
            (e, 1, "current", n, n) for e, n in ENTRIES.items()]
        assert count(store, "SELECT count(*) FROM findings WHERE code = 'DUPLICATE_DELIVERY'") == 0
        assert count(store, "SELECT count(*) FROM deliveries WHERE inbox_done = :no", no=False) == 0
        assert runs == [(1, "interrupted"), (2, "finished")]
        archived = sum(1 for _ in (work / "archive").rglob("*.csv"))
        assert archived == 2 * len(ENTRIES)
        assert not list((work / "archive").glob(".incoming-*"))
