"""Which engine should run the cross-source check's joins? pandas, DuckDB and Polars, each on
the same national tables, measured doing the two joins that cost the most:

* deaths against births: the same sex and birth date (or the death's with day and month
  swapped) and the same initial of the first name or of the surname (two blocks);
* births against births (a child registered twice): the same date, sex and both initials.

    pip install duckdb polars        # only for this comparison; the product uses pandas
    python benchmarks/bench_join_engines.py                     # 3M births, 2.5M deaths
    python benchmarks/bench_join_engines.py --births 300000 --deaths 250000

The tables are ``bench_crosscheck.make``'s (kept in --keep DIR and reused). Each engine runs
in a fresh process from the same integer columns (``validators.crosscheck._births`` /
``_deaths``: dates, sex and initials as integers), so the figures are the joins' alone:
seconds, the process's own peak memory (VmHWM) and the pairs found, which must be the same
for every engine. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

MEASURE = r"""
import json, sys, time
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[1])
from validators.crosscheck import _births, _deaths, _distinct, _swapped_int, candidate_pairs
engine, kbf_path, kbd_path = sys.argv[2], sys.argv[3], sys.argv[4]
keys = ["b_row", "date", "sex", "fi", "si"]
b = _births(pd.read_parquet(kbf_path))[keys]
d = _deaths(pd.read_parquet(kbd_path)).rename(columns={"b_row": "d_row"})[["d_row", "date", "sex", "fi", "si"]]
b = b[(b["date"] >= 0) & (b["sex"] > 0)].reset_index(drop=True)
d = d[(d["date"] >= 0) & (d["sex"] > 0)].reset_index(drop=True)
swapped = d.assign(date=np.asarray(_distinct(d["date"].to_numpy(), _swapped_int), dtype=np.int64), how=1)
deaths = pd.concat([d.assign(how=0), swapped[swapped["date"] >= 0]], ignore_index=True)
t0 = time.perf_counter()
if engine == "pandas":
    pairs = candidate_pairs(b.assign(first="", surname="", father="", mother=""),
                            d.assign(first="", surname="", father="", mother=""))
    n_bd = len(pairs)
    twice = b.merge(b, on=["date", "sex", "fi", "si"], suffixes=("_1", "_2"))
    n_bb = int((twice["b_row_1"] < twice["b_row_2"]).sum())
elif engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.register("b", b)
    con.register("deaths", deaths)
    n_bd = con.execute(
        "SELECT count(*) FROM (SELECT d.d_row, b.b_row, d.how FROM deaths d JOIN b USING (date, sex, fi) "
        "UNION SELECT d.d_row, b.b_row, d.how FROM deaths d JOIN b USING (date, sex, si))").fetchone()[0]
    n_bb = con.execute("SELECT count(*) FROM b b1 JOIN b b2 USING (date, sex, fi, si) "
                       "WHERE b1.b_row < b2.b_row").fetchone()[0]
else:
    import polars as pl
    pb, pd_ = pl.from_pandas(b), pl.from_pandas(deaths)
    one = pd_.join(pb.drop("si"), on=["date", "sex", "fi"]).select(["d_row", "b_row", "how"])
    two = pd_.join(pb.drop("fi"), on=["date", "sex", "si"]).select(["d_row", "b_row", "how"])
    n_bd = pl.concat([one, two]).unique().height
    self_join = pb.join(pb, on=["date", "sex", "fi", "si"], suffix="_2")
    n_bb = self_join.filter(pl.col("b_row") < pl.col("b_row_2")).height
seconds = time.perf_counter() - t0
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "death_pairs": int(n_bd), "birth_pairs": int(n_bb),
                  "births": len(b), "deaths": len(d)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--births", type=int, default=3_000_000)
    parser.add_argument("--deaths", type=int, default=2_500_000)
    parser.add_argument("--keep", type=Path, help="folder of the tables (made there once, then reused)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mgr-bench-join-"))
    kbf, kbd = folder / "kbf.parquet", folder / "kbd.parquet"
    if not kbf.exists():
        from bench_crosscheck import make

        make(folder, args.births, args.deaths)
    print(f"{os.cpu_count()} cores")
    print("| engine | seconds | peak MB | death-birth pairs | birth-birth pairs |")
    print("|---|---:|---:|---:|---:|")
    for engine in ("pandas", "duckdb", "polars"):
        proc = subprocess.run([sys.executable, "-c", MEASURE, str(REPO), engine, str(kbf), str(kbd)],
                              capture_output=True, text=True)
        if proc.returncode:
            print(f"| {engine} | not run: {proc.stderr.strip().splitlines()[-1][:120]} | | | |", flush=True)
            continue
        m = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"| {engine} | {m['seconds']:.1f} | {m['peak_mb']:,.0f} | {m['death_pairs']:,} | {m['birth_pairs']:,} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
