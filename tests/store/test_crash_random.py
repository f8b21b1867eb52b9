"""Passes killed at random moments, many times over: nothing lost, nothing doubled.

Where ``test_crash.py`` stops a pass at four chosen points, this test drops new deliveries
(and now and then a new export of an earlier one, or the same bytes again) into an inbox,
starts a pass in a child process, kills it with SIGKILL after a random delay somewhere in
the time a whole pass takes, checks the store, and runs a recovery pass; twenty times on
SQLite (eight on PostgreSQL when a server is at hand). After every kill each stored
delivery is whole; after every recovery every delivery dropped so far is stored exactly
once per distinct export, with all its rows, one current version per entry number, an
empty inbox and no half-written file in the archive.

The child is forked from the test process (libraries already loaded), so a kill can land
anywhere in the work of a pass rather than mostly in Python's start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest
from conftest import SUMMARY_LINES, write_delivery
from store_support import count, rows_for

from ingest.inbox import PassSettings, run_pass
from ingest.store import open_store

pytest_plugins = ["store_fixtures"]  # db_url: SQLite, and PostgreSQL when MGR_TEST_PG_URL is set

KILLS = {"sqlite": 20, "postgresql": 8}
ROWS = 300


def _child(inbox: str, work: str, db_url: str | None, log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.dup2(fd, 1)
    from ingest.cli import main

    args = ["run", "--inbox", inbox, "--work", work, "--settle", "0"] + (["--db", db_url] if db_url else [])
    os._exit(main(args))


def _start(inbox: Path, work: Path, db_url: str | None, log: Path) -> multiprocessing.Process:
    proc = multiprocessing.get_context("fork").Process(target=_child, args=(str(inbox), str(work), db_url, str(log)))
    proc.start()
    return proc


class Drops:
    """What has been put in the inbox: entry number -> the distinct exports (row counts)."""

    def __init__(self, inbox: Path, seed: int):
        self.inbox = inbox
        self.rnd = random.Random(seed)
        self.exports: dict[str, list[int]] = {}
        self.next = 3000

    def add_round(self, i: int) -> None:
        earlier = sorted(self.exports)  # stored by now (each round ends with a recovery pass)
        for _ in range(3):
            entry = f"K{self.next}"
            self.next += 1
            self._drop(entry, ROWS + self.rnd.randrange(100), new=True)
        if i % 3 == 2 and earlier:  # a new export of an earlier delivery: its next version
            entry = self.rnd.choice(earlier)
            self._drop(entry, self.exports[entry][-1] + 1 + self.rnd.randrange(5), new=True)
            earlier.remove(entry)
        if i % 4 == 3 and earlier:  # the same bytes again, in a folder of their own
            entry = self.rnd.choice(earlier)
            self._drop(entry, self.exports[entry][-1], new=False, folder=f"again-{i}")

    def _drop(self, entry: str, n: int, *, new: bool, folder: str = "") -> None:
        rows = rows_for(n)
        for row in rows:
            row["INDTASTNINGSNUMMER"] = entry
        write_delivery(self.inbox / folder if folder else self.inbox, rows, entry=entry,
                       meta={"INDTASTNINGSNUMMER": entry})
        if new:
            self.exports.setdefault(entry, []).append(n)


def whole_after_kill(work: Path, db_url: str | None) -> int:
    """Every stored delivery has all its rows; returns how many are stored."""
    with open_store(work, db_url) as store, store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT d.id, d.rows_stored, (SELECT count(*) FROM raw_rows r WHERE r.delivery_id = d.id) "
            "FROM deliveries d").all()
        current = conn.exec_driver_sql(
            "SELECT entry_number, count(*) FROM deliveries WHERE status = 'current' GROUP BY entry_number").all()
    assert all(rows == found for _, rows, found in stored), stored
    assert all(n == 1 for _, n in current), current
    return len(stored)


def all_there(work: Path, db_url: str | None, drops: Drops) -> None:
    with open_store(work, db_url) as store, store.engine.connect() as conn:
        versions = conn.exec_driver_sql(
            "SELECT d.entry_number, d.version, d.status, d.rows_stored, "
            "(SELECT count(*) FROM raw_rows r WHERE r.delivery_id = d.id) FROM deliveries d "
            "WHERE d.status <> 'rejected' ORDER BY d.entry_number, d.version").all()
    with open_store(work, db_url) as store:  # (one connection at a time: SQLite's writes wait for each other)
        running = count(store, "SELECT count(*) FROM runs WHERE status = 'running'")
        undone = count(store, "SELECT count(*) FROM deliveries WHERE inbox_done = :no", no=False)
    got: dict[str, list[int]] = {}
    for entry, version, status, rows, found in versions:
        assert rows == found
        got.setdefault(entry, []).append(rows)
        assert version == len(got[entry])
        assert status == ("current" if version == len(drops.exports[entry]) else "superseded")
    assert got == drops.exports
    assert running == 0 and undone == 0
    assert sorted(p.name for p in drops.inbox.rglob("*.csv")) == []
    assert not list((work / "archive").glob(".incoming-*"))


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_random_kills_and_recoveries(tmp_path, db_url):
    kind = "sqlite" if db_url is None else "postgresql"
    seed = int(os.environ.get("MGR_TEST_KILL_SEED") or time.time_ns() % 1_000_000)
    # shown with any failure (pytest prints a failed test's output): replay with the same seed
    print(f"random kills ({kind}): seed {seed}; replay with MGR_TEST_KILL_SEED={seed}", flush=True)
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    inbox.mkdir()
    drops = Drops(inbox, seed)
    rnd = random.Random(seed + 1)

    # How long a whole pass takes here: the kills are spread over that time.
    drops.add_round(0)
    t0 = time.monotonic()
    proc = _start(inbox, work, db_url, tmp_path / "calibrate.log")
    proc.join(120)
    span = time.monotonic() - t0
    assert proc.exitcode == 0, (tmp_path / "calibrate.log").read_text()
    all_there(work, db_url, drops)

    landed = {"before any commit": 0, "between commits": 0, "after the pass ended": 0}
    killed = 0
    kills = KILLS[kind]
    i = 0
    while killed < kills and i < 2 * kills:  # a pass that ends before its kill does not count
        i += 1
        drops.add_round(i)
        with open_store(work, db_url) as store:
            before = count(store, "SELECT count(*) FROM deliveries")
        delay = rnd.uniform(0.0, 0.95 * span)
        started = time.monotonic()
        proc = _start(inbox, work, db_url, tmp_path / f"pass-{i}.log")
        proc.join(delay)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        else:  # it was quicker than the first pass: aim the next kills within its time
            span = min(span, time.monotonic() - started)
        proc.join(60)
        assert proc.exitcode in (-signal.SIGKILL, 0), (tmp_path / f"pass-{i}.log").read_text()
        killed += proc.exitcode == -signal.SIGKILL
        after = whole_after_kill(work, db_url)
        new = after - before
        landed["after the pass ended" if proc.exitcode == 0 else "before any commit" if new == 0
               else "between commits"] += 1
        # The recovery pass: finishes what the killed one left, imports the rest.
        run_pass(PassSettings(inbox=inbox, work=work, db=db_url, settle_s=0, report=False))
        all_there(work, db_url, drops)

    assert killed == kills, (landed, f"seed {seed}")
    # the point of the test: some kills fell in the middle of an import, between its commits
    assert landed["between commits"] > 0, (landed, f"seed {seed}")
    line = (f"random kills ({kind}): {killed} passes killed with SIGKILL (of {i} started, delays 0-{span:.1f} s) "
            "and recovered "
            f"(seed {seed}; {', '.join(f'{n} {where}' for where, n in landed.items())}); "
            f"{sum(len(v) for v in drops.exports.values())} exports of {len(drops.exports)} entry numbers stored once")
    SUMMARY_LINES.append(line)
