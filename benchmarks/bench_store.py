"""How long an inbox pass takes into SQLite and into PostgreSQL, and what the store costs.

    python benchmarks/bench_store.py                              # 2,000 deliveries x 1,500 rows
    python benchmarks/bench_store.py --deliveries 200             # a quicker look
    python benchmarks/bench_store.py --pg-url postgresql://user@host:5432/db

Generates a national set (``fixtures.generator.write_national_set``), drops it in a fresh
inbox and runs ``mgr-ingest run`` on it in a fresh process, once per database; then a
second pass with the same files dropped again (every delivery a duplicate), and two
rebuilds of the clean KBF table from the store: as one frame in memory (``rebuild_clean``)
and streamed batch by batch to ``kbf.parquet`` (``write_rebuilt``). PostgreSQL is measured
when ``--pg-url``, ``MGR_BENCH_PG_URL`` or ``MGR_TEST_PG_URL`` names a server; each
measurement gets a schema of its own. Each step runs in a fresh process; "peak MB" is its
peak resident memory (``resource.getrusage``). Seconds include starting Python and
importing pandas. Figures are printed, never asserted.

    python benchmarks/bench_store.py --scratch /tmp/b --only sqlite   # keeps the store in /tmp/b/work-SQLite
    python benchmarks/bench_store.py --rebuild-work /tmp/b/work-SQLite # only the two rebuilds, on that store
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent

MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
what, inbox, work, db = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), (sys.argv[4] or None)
if what == "pass":
    from ingest.inbox import PassSettings, run_pass
    r = run_pass(PassSettings(inbox=inbox, work=work, db=db, settle_s=0.0))
    out = {"rows": r.rows, "imported": r.imported, "duplicates": r.duplicates, "report": str(r.report)}
elif what == "rebuild":
    from ingest.store import open_store, rebuild_clean
    with open_store(work, db) as store:
        table = rebuild_clean(store, "KBF")
    out = {"rows": len(table)}
else:
    import shutil, tempfile
    from ingest.store import open_store, write_rebuilt
    target = Path(tempfile.mkdtemp(prefix="mgr-bench-rebuilt-"))
    try:
        with open_store(work, db) as store:
            files = write_rebuilt(store, target, ["KBF"])
        out = {"rows": files.rows["KBF"], "mb": files.paths["kbf"].stat().st_size / 1e6}
    finally:
        shutil.rmtree(target, ignore_errors=True)
out["seconds"] = time.perf_counter() - t0
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(what: str, inbox: Path, work: Path, db: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("MGR_DB_URL", None)
    proc = subprocess.run([sys.executable, "-c", MEASURE, what, str(inbox), str(work), db or ""],
                          capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"{what} into {db or 'SQLite'} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fill(inbox: Path, data: Path) -> None:
    shutil.rmtree(inbox, ignore_errors=True)
    shutil.copytree(data, inbox)


def database_mb(work: Path, db: str | None) -> float:
    if db is None:
        return sum(p.stat().st_size for p in work.glob("mgr.sqlite*")) / 1e6
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.connect() as conn:
        size = conn.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND c.relkind = 'r'")).scalar()
    engine.dispose()
    return float(size) / 1e6


def pg_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    from ingest.store.database import resolve_url

    url = resolve_url(base, Path(".")).render_as_string(hide_password=False)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}", schema


def drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    from ingest.store.database import resolve_url

    engine = create_engine(resolve_url(base, Path(".")))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))  # benchmark data only
    engine.dispose()


def rebuild_lines(label: str, work: Path, db: str | None) -> list[str]:
    """The clean KBF table rebuilt from the store in ``work``: as one frame, then streamed."""
    lines = []
    for what, step in (("rebuild", "rebuild the clean KBF table as one frame (rebuild_clean)"),
                       ("rebuild-files", "rebuild the clean KBF table streamed to kbf.parquet (write_rebuilt)")):
        m = measure(what, work, work, db)
        lines.append(f"| {label} | {step} | {m['rows']:,} | {m['seconds']:.1f} | "
                     f"{m['rows'] / max(m['seconds'], 1e-9):,.0f} | {m['peak_mb']:,.0f} |")
        print(lines[-1], flush=True)
    return lines


def run_one(label: str, data: Path, scratch: Path, db: str | None) -> list[str]:
    inbox, work = scratch / f"inbox-{label}", scratch / f"work-{label}"
    fill(inbox, data)
    first = measure("pass", inbox, work, db)
    size = database_mb(work, db)
    fill(inbox, data)
    second = measure("pass", inbox, work, db)
    lines = [
        f"| {label} | first pass (validate + store) | {first['rows']:,} | {first['seconds']:.1f} | "
        f"{first['rows'] / first['seconds']:,.0f} | {first['peak_mb']:,.0f} |",
        f"| {label} | same files again (all duplicates) | {first['rows']:,} | {second['seconds']:.1f} | "
        f"{first['rows'] / second['seconds']:,.0f} | {second['peak_mb']:,.0f} |",
    ]
    for line in lines:
        print(line, flush=True)
    lines += rebuild_lines(label, work, db)
    print(f"  ({label}: {first['imported']:,} deliveries imported, {second['duplicates']:,} duplicates on the second "
          f"pass, database {size:,.0f} MB)", flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deliveries", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=1500, help="rows per delivery")
    ap.add_argument("--pg-url", default=os.environ.get("MGR_BENCH_PG_URL") or os.environ.get("MGR_TEST_PG_URL"))
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--scratch", type=Path, help="folder for the generated data (default: a temporary folder)")
    ap.add_argument("--rebuild-work", type=Path, metavar="WORK",
                    help="only rebuild the clean KBF table from the SQLite store of this work folder (one made "
                         "with --scratch DIR --only sqlite is in DIR/work-SQLite)")
    args = ap.parse_args(argv)
    if args.rebuild_work:
        sys.path.insert(0, str(REPO))
        print(f"{os.cpu_count()} cores; Python {sys.version.split()[0]}")
        print("| database | what | rows | seconds | rows/s | peak MB |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        rebuild_lines("SQLite", args.rebuild_work, None)
        return 0

    sys.path.insert(0, str(REPO))
    from fixtures.generator import write_national_set

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="mgr-bench-store-"))
    scratch.mkdir(parents=True, exist_ok=True)
    data = scratch / "national"
    if not data.is_dir():
        t0 = time.perf_counter()
        write_national_set(data, deliveries=args.deliveries, rows_per_delivery=args.rows)
        print(f"generated {args.deliveries:,} deliveries x {args.rows:,} rows in {time.perf_counter() - t0:.0f} s "
              f"({sum(p.stat().st_size for p in data.iterdir()) / 1e6:,.0f} MB)", flush=True)
    print(f"{os.cpu_count()} cores; Python {sys.version.split()[0]}")
    print("| database | what | rows | seconds | rows/s | peak MB |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    if args.only in (None, "sqlite"):
        run_one("SQLite", data, scratch, None)
    if args.only in (None, "postgresql"):
        if not args.pg_url:
            print("PostgreSQL: skipped (no --pg-url, MGR_BENCH_PG_URL or MGR_TEST_PG_URL)")
        else:
            url, schema = pg_schema_url(args.pg_url)
            try:
                run_one("PostgreSQL", data, scratch, url)
            finally:
                drop_schema(args.pg_url, schema)
    if not args.scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
