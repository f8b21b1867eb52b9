"""The cross-source check in the store at national scale: the check after an import of one
delivery (incremental: the birth days it touches) and a check of everything.

    python benchmarks/bench_crosscheck_store.py                  # 3M births, 2.5M deaths
    python benchmarks/bench_crosscheck_store.py --births 300000 --deaths 250000   # a quicker look

The store (SQLite, in a temporary folder or --keep DIR) is filled with the match keys of
the national tables ``bench_crosscheck.make`` draws: 2,000 books of births and the deaths
in books of a few thousand records, their keys written as the store keeps them
(``check_keys``, ``check_key_sets``), not imported row by row (``bench_pipeline.py``
measures imports). Then, each in a fresh process on a copy of that store, so the peak
resident memory is its own:

* a real KIIP delivery of 1,500 deaths (``fixtures.generator_kbd``) is imported without
  the check, and the check after it is timed (its keys made from the stored rows, the
  days it touches read, the findings in its scope replaced);
* a check of every current delivery (``mgr-ingest crosscheck`` without ``--since``).

Peak memory is the process's own (VmHWM from /proc: getrusage would count the pages of the
builder it was forked from). Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

ADULT_BOOKS = 500

MEASURE = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ingest.store import import_paths, open_store
from ingest.store.crosscheck import crosscheck_store
work, mode, delivery = Path(sys.argv[2]), sys.argv[3], sys.argv[4]
store = open_store(work, f"sqlite:///{work / 'mgr.sqlite'}")
out = {}
if mode == "incremental":
    t0 = time.perf_counter()
    run = import_paths(store, [Path(delivery)], options={"crosscheck": False})
    out["import_seconds"] = time.perf_counter() - t0
    ids = [o.delivery_id for o in run.outcomes if o.delivery_id]
    t0 = time.perf_counter()
    cross = crosscheck_store(store, touched=ids)
else:
    t0 = time.perf_counter()
    cross = crosscheck_store(store)
out.update(seconds=time.perf_counter() - t0, mode=cross.mode, days=cross.days, findings=sum(cross.counts.values()),
           added=cross.added, removed=cross.removed,
           peak_mb=next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024)
print(json.dumps(out))
"""


def build_store(folder: Path, births: int, deaths: int) -> Path:
    """A store whose current deliveries are the national tables' books, keys only."""
    import hashlib
    from datetime import UTC, datetime

    import pandas as pd
    from bench_crosscheck import make
    from sqlalchemy import insert, select

    from ingest.store import checkkeys, open_store
    from ingest.store.models import check_key_sets, check_keys, deliveries, runs

    tables = folder / "tables"
    if not (tables / "kbf.parquet").exists():
        make(tables, births, deaths)
    kbf = pd.read_parquet(tables / "kbf.parquet")
    kbd = pd.read_parquet(tables / "kbd.parquet")
    adults = (kbd["INDTASTNINGSNUMMER"] == "D99999").to_numpy()
    kbd.loc[adults, "INDTASTNINGSNUMMER"] = [f"D9{i % ADULT_BOOKS:04d}" for i in range(int(adults.sum()))]
    work = folder / "store"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    store = open_store(work, f"sqlite:///{work / 'mgr.sqlite'}")
    now = datetime.now(UTC)
    with store.transaction() as conn:
        run_id = conn.execute(insert(runs).values(kind="import", started_at=now, finished_at=now, status="finished",
                                                  host="bench", pid=0, paths=[], summary={})).inserted_primary_key[0]
    made = 0
    for source, frame in (("KBF", kbf), ("KBD", kbd)):
        for entry, part in frame.groupby("INDTASTNINGSNUMMER", sort=True):
            part = part.reset_index(drop=True)
            part["LOEBE_NR"] = range(1, len(part) + 1)
            with store.transaction() as conn:
                delivery_id = conn.execute(insert(deliveries).values(
                    entry_number=entry, version=1, source=source, status="current",
                    content_sha256=hashlib.sha256(f"{source}{entry}".encode()).hexdigest(), imported_at=now,
                    run_id=run_id, rows_stored=len(part), physical_rows=len(part) + 1, meta={}, columns=[],
                    extra_columns=[], inbox_done=True)).inserted_primary_key[0]
                rows = checkkeys._key_rows(source, delivery_id, part)
                for i in range(0, len(rows), 50_000):
                    conn.execute(insert(check_keys), rows[i:i + 50_000])
                conn.execute(insert(check_key_sets).values(
                    delivery_id=delivery_id, source=source, entry_number=entry, fingerprint="", made_at=now,
                    records=len(rows), **checkkeys._book_figures(source, part)))
            made += 1
            if made % 250 == 0:
                print(f"  {made} books stored", flush=True)
    with store.transaction() as conn:
        versions = list(conn.execute(select(deliveries.c.id, deliveries.c.entry_number)))
    _seal(store, versions)
    store.close()
    return work


def _seal(store, versions=None) -> None:
    """Give the key sets today's fingerprints (the bench's books have no raw rows to make
    keys from, so they must not look stale to the code measured)."""
    from sqlalchemy import select, update

    from ingest.store import checkkeys
    from ingest.store.models import check_key_sets, deliveries

    reference = checkkeys.reference_fingerprint()
    with store.transaction() as conn:
        if versions is None:
            versions = list(conn.execute(select(deliveries.c.id, deliveries.c.entry_number)))
        wanted = checkkeys.fingerprints(conn, versions, reference)
        for delivery_id, fp in wanted.items():
            conn.execute(update(check_key_sets).where(check_key_sets.c.delivery_id == delivery_id)
                         .values(fingerprint=fp))


def delivery_files(folder: Path, rows: int) -> Path:
    from fixtures.generator_kbd import KbdSpec, render

    rendered, _ = render(KbdSpec("K8001", "Vejby", 1921, 1960, rows=rows), 1921)
    out = folder / "delivery"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name, data in rendered.files.items():
        (out / name).write_bytes(data)
    return out


def measure(work: Path, mode: str, delivery: Path) -> dict:
    from bench_crosscheck import run_fresh

    scratch = work.parent / f"scratch-{mode}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(work, scratch)
    try:
        return run_fresh(MEASURE, str(REPO), str(scratch), mode, str(delivery))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    from bench_crosscheck import national_options

    args = national_options(__doc__.split("\n")[0], "keep the store here (and reuse it)")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mgr-bench-cross-store-"))
    work = folder / "store"
    if not (work / "mgr.sqlite").exists():
        t0 = time.perf_counter()
        build_store(folder, args.births, args.deaths)
        print(f"store built in {time.perf_counter() - t0:.0f} s", flush=True)
    else:
        from ingest.store import open_store

        with open_store(work, f"sqlite:///{work / 'mgr.sqlite'}") as store:
            _seal(store)
    size = (work / "mgr.sqlite").stat().st_size / 2**20
    delivery = delivery_files(folder, args.delivery)
    print(f"{os.cpu_count()} cores; store {size:,.0f} MB (SQLite)")
    print("| check | seconds | peak MB | birth days read | findings open after |")
    print("|---|---:|---:|---:|---:|")
    inc = measure(work, "incremental", delivery)
    print(f"| after importing one delivery of {args.delivery:,} deaths ({inc['mode']}; the import itself "
          f"{inc['import_seconds']:.1f} s) | {inc['seconds']:.1f} | {inc['peak_mb']:,.0f} | {inc['days']:,} "
          f"| {inc['findings']:,} |", flush=True)
    full = measure(work, "full", delivery)
    print(f"| every current delivery ({full['mode']}) | {full['seconds']:.1f} | {full['peak_mb']:,.0f} | — "
          f"| {full['findings']:,} |", flush=True)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
