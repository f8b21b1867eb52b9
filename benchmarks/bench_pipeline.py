"""Throughput and peak memory of `validate` and `clean` on generated KBF deliveries and
on a generated census (FT).

    python benchmarks/bench_pipeline.py                 # 1M-row delivery + national set + 1M-person census
    python benchmarks/bench_pipeline.py --rows 200000 --deliveries 200 --census-rows 200000   # a quicker look
    python benchmarks/bench_pipeline.py --only-layouts    # 1M-person censuses in the DDD download and research layouts

Each measurement runs in a fresh Python process so that its peak resident memory is its
own; next to it, the time pyarrow alone needs to read the same CSV bytes as strings (the
floor any CSV-based pipeline stands on).  Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
kind, data, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if kind == "arrow":
    import pyarrow as pa, pyarrow.csv as pacsv
    rows = 0
    for f in sorted(data.rglob("*")):
        if f.suffix.lower() != ".csv" or "dok" in f.name.lower():
            continue
        header = f.open("rb").readline().rstrip(b"\r\n").split(b";")
        names = [str(i) for i in range(len(header))]
        table = pacsv.read_csv(f, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                                                  encoding="cp1252" if b"\xf8" in f.read_bytes()[:65536] else "utf8"),
                               parse_options=pacsv.ParseOptions(delimiter=";", invalid_row_handler=lambda r: "skip"),
                               convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
        rows += table.num_rows
else:
    # The real command, as a user runs it (clean also writes the QA report).
    from ingest.cli import main
    out.mkdir(parents=True, exist_ok=True)
    if kind == "clean":
        code = main(["clean", str(data), "--out", str(out), "--no-progress"])
    else:
        code = main(["validate", str(data), "--json", str(out / "findings.json"), "--no-progress"])
    if code == 2:
        raise SystemExit(f"mgr-ingest {kind} could not run")
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    rows = report["run"]["rows"]
elapsed = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": elapsed, "peak_mb": peak_mb}))
"""


def measure(kind: str, data: Path, work: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", MEASURE, kind, str(data), str(work / kind)],
                          capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} on {data} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def report(label: str, data: Path, work: Path) -> list[str]:
    lines = []
    for kind in ("arrow", "validate", "clean"):
        m = measure(kind, data, work)
        what = {"arrow": "pyarrow read only", "validate": "mgr-ingest validate", "clean": "mgr-ingest clean"}[kind]
        lines.append(f"| {label} | {what} | {m['rows']:,} | {m['seconds']:.1f} | {m['rows'] / m['seconds']:,.0f} "
                     f"| {m['peak_mb']:,.0f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the single large delivery")
    parser.add_argument("--deliveries", type=int, default=2000, help="deliveries in the national set")
    parser.add_argument("--rows-per-delivery", type=int, default=1500)
    parser.add_argument("--census-rows", type=int, default=1_000_000, help="persons in the census delivery (0: none)")
    parser.add_argument("--layout-rows", type=int, default=1_000_000,
                        help="persons in each census in the DDD download and research layouts (0: none)")
    parser.add_argument("--only-layouts", action="store_true", help="measure the census layouts only")
    parser.add_argument("--keep", type=Path, help="keep generated data here (and reuse it next time)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.only_layouts:
        return layouts_only(args)
    from fixtures.generator import write_large_delivery, write_national_set
    from fixtures.generator_ft import write_large_ft_delivery

    base = args.keep or Path(tempfile.mkdtemp(prefix="mgr-bench-"))
    large = base / f"large-{args.rows}"
    national = base / f"national-{args.deliveries}x{args.rows_per_delivery}"
    t = time.perf_counter()
    if not large.is_dir():
        write_large_delivery(large, rows=args.rows)
    if not national.is_dir():
        write_national_set(national, deliveries=args.deliveries, rows_per_delivery=args.rows_per_delivery)
    census = base / f"census-{args.census_rows}"
    if args.census_rows and not census.is_dir():
        write_large_ft_delivery(census, rows=args.census_rows)
    print(f"data generated in {time.perf_counter() - t:.0f} s: one delivery of {args.rows:,} rows "
          f"({size_mb(large):,.0f} MB), {args.deliveries} deliveries of {args.rows_per_delivery:,} rows "
          f"({size_mb(national):,.0f} MB); {os.cpu_count()} cores", flush=True)
    print("| data | step | rows | seconds | rows/s | peak MB |")
    print("|---|---|---:|---:|---:|---:|")
    work = Path(tempfile.mkdtemp(prefix="mgr-bench-out-"))
    report(f"1 delivery x {args.rows:,}", large, work)
    report(f"{args.deliveries} deliveries x {args.rows_per_delivery:,}", national, work)
    if args.census_rows:
        report(f"census (FT) x {args.census_rows:,}", census, work)
    return 0


def layouts_only(args) -> int:
    """The same census size in the Vejby files' layout (';', 47 columns) and in the DDD
    research layout ('|', ages written '31,000', each one a NUMBER_AS_DECIMAL note)."""
    from fixtures.generator_layouts import write_large_census

    base = args.keep or Path(tempfile.mkdtemp(prefix="mgr-bench-"))
    folders = {}
    for layout in ("ddd_download", "ddd_research"):
        folder = base / f"{layout}-{args.layout_rows}"
        if not folder.is_dir():
            write_large_census(folder / f"{layout}.csv", args.layout_rows, layout)
        folders[layout] = folder
    print(f"{os.cpu_count()} cores")
    print("| data | step | rows | seconds | rows/s | peak MB |")
    print("|---|---|---:|---:|---:|---:|")
    work = Path(tempfile.mkdtemp(prefix="mgr-bench-out-"))
    for layout, folder in folders.items():
        for kind in ("validate", "clean"):
            m = measure(kind, folder, work)
            print(f"| census, {layout} layout x {args.layout_rows:,} | mgr-ingest {kind} | {m['rows']:,} | "
                  f"{m['seconds']:.1f} | {m['rows'] / m['seconds']:,.0f} | {m['peak_mb']:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
