"""Time and memory of the cross-source check (births against deaths) at national scale,
and its recall and precision on the cases planted in the data.

    python benchmarks/bench_crosscheck.py                      # 3M births, 2.5M deaths
    python benchmarks/bench_crosscheck.py --births 300000 --deaths 250000   # a quicker look

The data are the clean tables' match-key columns, drawn with numpy (the pipeline that
makes them is measured by bench_pipeline.py): 3,000,000 births 1920-1960 in 2,000 books
(parishes), and 2,500,000 deaths, of which a tenth are children of those books (some of
them never keyed in KBF: planted missing births), the rest adults born 1850-1919 or
children born in parishes without a book.  Each measurement runs in a fresh process, and its
peak resident memory is read from /proc (VmHWM, the peak of the process's own memory since it
started; the peak getrusage gives would count the pages of the parent it was forked from).
Figures are printed, never asserted.
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

MEASURE = r"""
import json, sys, time
from pathlib import Path
import pandas as pd
sys.path.insert(0, sys.argv[4])
from validators.crosscheck import crosscheck, read_check_columns
kbf = read_check_columns(sys.argv[1]); kbd = read_check_columns(sys.argv[2])
t0 = time.perf_counter()
result = crosscheck(kbf, kbd, duplicates=sys.argv[5] == "full")
seconds = time.perf_counter() - t0
truth = json.loads(Path(sys.argv[3]).read_text())
got = {(int(b), k) for b, k in zip(result.died_before_cpr["b_row"], result.died_before_cpr["DOED_FOER_CPR_KILDE"])}
want = {(int(b), k) for b, k in truth["died"]}
missing = {(f["entry_number"], f["other"]["loebe_nr"]) for f in result.findings if f["code"] == "BIRTH_NOT_KEYED_KBD"}
want_missing = {(e, int(n)) for e, n in truth["missing"]}
review = sum(f["code"] == "CROSSCHECK_REVIEW" for f in result.findings)
twice = sum(f["code"] in ("DUPLICATE_ACROSS_DELIVERIES", "BOOK_DELIVERED_TWICE") for f in result.findings)
peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "pairs": len(result.pairs), "review": review,
                  "died_recall": len(got & want) / max(len(want), 1), "died_precision": len(got & want) / max(len(got), 1),
                  "missing_recall": len(missing & want_missing) / max(len(want_missing), 1),
                  "missing_precision": len(missing & want_missing) / max(len(missing), 1),
                  "kbf": len(kbf), "kbd": len(kbd), "twice": twice}))
"""


def make(folder: Path, births: int, deaths: int, seed: int = 14) -> tuple[Path, Path, Path]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    boys = np.array("JENS HANS NIELS PEDER SØREN ANDERS KRISTIAN RASMUS LARS JØRGEN POUL KARL SVEND ERIK KNUD HENNING "
                    "ÅGE HOLGER VIGGO EJNER BENT FINN OLE PREBEN TORBEN FLEMMING JØRN LEIF ARNE BØRGE".split())
    girls = np.array("KAREN ANE MARIE KIRSTEN INGER ELSE EDITH ELLEN GERDA RUTH GRETHE INGA AGNES ASTRID DAGMAR ANNA "
                     "JOHANNE VALBORG ESTHER LILLY BIRTHE HANNE LIS KIRSTEN JYTTE BENTE TOVE LONE SUSANNE HELLE".split())
    surnames = np.array("JENSEN HANSEN NIELSEN PEDERSEN ANDERSEN KRISTENSEN LARSEN SØRENSEN RASMUSSEN PETERSEN MADSEN "
                        "OLSEN THOMSEN POULSEN JOHANSEN KNUDSEN MORTENSEN MØLLER JØRGENSEN FREDERIKSEN HENRIKSEN "
                        "LAURSEN NØRGÅRD HOLM SCHMIDT ERIKSEN KRISTIANSEN SIMONSEN CLAUSEN SVENDSEN".split())
    books = 2000
    book = rng.integers(0, books, births)
    start = np.datetime64("1920-01-01")
    born = start + rng.integers(0, 41 * 365, births).astype("timedelta64[D]")
    sex = rng.choice(np.array(["M", "K"]), births)
    first = np.where(sex == "M", boys[rng.integers(0, len(boys), births)], girls[rng.integers(0, len(girls), births)])
    surname = surnames[rng.integers(0, len(surnames), births)]
    father, mother = boys[rng.integers(0, len(boys), births)], girls[rng.integers(0, len(girls), births)]
    parish = np.char.add("P", book.astype(str))
    kbf = pd.DataFrame({"INDTASTNINGSNUMMER": np.char.add("K", (10000 + book).astype(str)), "LOEBE_NR": np.arange(births) + 1,
                        "KILDEFIL": "bulk.csv", "LINJE": np.arange(births) + 2,
                        "FOEDSELSDATO_NOEGLE": born.astype(str), "KOEN_REN": sex, "FORNAVN_GRUNDNAVN": first,
                        "EFTERNAVN_GRUNDNAVN": surname, "FADERS_FORNAVN_GRUNDNAVN": father,
                        "MODERS_FORNAVN_GRUNDNAVN": mother, "FOEDESTED_SOGNEKODE": parish})
    # Deaths: a tenth are children of the books (dying under 15, before 1968); of those,
    # one in fifty has no birth in KBF (the planted missing births).
    children = deaths // 10
    who = rng.choice(births, children, replace=False)
    age_days = rng.integers(1, 15 * 365, children)
    died = born[who] + age_days.astype("timedelta64[D]")
    ok = died < np.datetime64("1968-04-02")
    who, died, age_days = who[ok], died[ok], age_days[ok]
    dropped = rng.random(len(who)) < 0.02
    adults = deaths - len(who)
    a_born = np.datetime64("1850-01-01") + rng.integers(0, 70 * 365, adults).astype("timedelta64[D]")
    a_sex = rng.choice(np.array(["M", "K"]), adults)
    kbd = pd.DataFrame({
        "INDTASTNINGSNUMMER": np.concatenate([np.char.add("D", (10000 + book[who]).astype(str)),
                                              np.full(adults, "D99999")]),
        "LOEBE_NR": np.arange(deaths) + 1, "KILDEFIL": "bulk.csv", "LINJE": np.arange(deaths) + 2,
        "FOEDSELSDATO_NOEGLE": np.concatenate([born[who].astype(str), a_born.astype(str)]),
        "KOEN_REN": np.concatenate([sex[who], a_sex]),
        "FORNAVN_GRUNDNAVN": np.concatenate([first[who], np.where(a_sex == "M", boys[rng.integers(0, len(boys), adults)],
                                                                  girls[rng.integers(0, len(girls), adults)])]),
        "EFTERNAVN_GRUNDNAVN": np.concatenate([surname[who], surnames[rng.integers(0, len(surnames), adults)]]),
        "FADERS_NAVN_GRUNDNAVN": np.concatenate([np.char.add(np.char.add(father[who], " "), surname[who]),
                                                 np.full(adults, None)]),
        "MODERS_NAVN_GRUNDNAVN": np.concatenate([np.char.add(np.char.add(mother[who], " "), surname[who]),
                                                 np.full(adults, None)]),
        "FOEDESTED_SOGNEKODE": np.concatenate([parish[who], np.full(adults, None)]),
        "DOEDSDATO_ISO": np.concatenate([died.astype(str), (a_born + 30000).astype(str)]),
        "ALDER_VED_DOED": np.concatenate([age_days // 365, np.full(adults, 70)])})
    keep = np.ones(births, dtype=bool)
    keep[who[dropped]] = False
    position = np.cumsum(keep) - 1  # a kept birth's row in the KBF table written
    truth = {"died": [[int(position[w]), f"D{10000 + book[w]}:{i + 1}"] for i, w in enumerate(who) if keep[w]],
             "missing": [[f"K{10000 + book[w]}", i + 1] for i, w in enumerate(who) if not keep[w]]}
    folder.mkdir(parents=True, exist_ok=True)
    kbf[keep].reset_index(drop=True).to_parquet(folder / "kbf.parquet")
    kbd.to_parquet(folder / "kbd.parquet")
    (folder / "truth.json").write_text(json.dumps(truth))
    return folder / "kbf.parquet", folder / "kbd.parquet", folder / "truth.json"


def run_fresh(script: str, *args: str) -> dict:
    """Run a measuring script in a fresh process (the repository on its path); the JSON
    object it printed last."""
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(kbf: Path, kbd: Path, truth: Path, mode: str) -> dict:
    return run_fresh(MEASURE, str(kbf), str(kbd), str(truth), str(REPO), mode)


def national_options(description: str, keep: str) -> argparse.Namespace:
    """The national sizes (3M births, 2.5M deaths), the delivery's rows and the folder kept."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--births", type=int, default=3_000_000)
    parser.add_argument("--deaths", type=int, default=2_500_000)
    parser.add_argument("--delivery", type=int, default=1500, help="rows of the one delivery")
    parser.add_argument("--keep", type=Path, help=keep)
    return parser.parse_args()


def main() -> int:
    args = national_options(__doc__.split("\n")[0], "keep the generated tables here (and reuse them)")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mgr-bench-cross-"))
    kbf, kbd, truth = (folder / "kbf.parquet", folder / "kbd.parquet", folder / "truth.json")
    if not kbf.exists():
        make(folder, args.births, args.deaths)
    import pandas as pd

    deaths = pd.read_parquet(kbd)
    small = folder / "delivery.parquet"
    deaths[deaths["INDTASTNINGSNUMMER"] != "D99999"].head(args.delivery).to_parquet(small)
    print(f"{os.cpu_count()} cores")
    print("| run | births | deaths | seconds | peak MB | candidate pairs | DOED_FOER_CPR recall / precision "
          "| BIRTH_NOT_KEYED_KBD recall / precision | to review | registered twice (none planted) |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for label, deaths_file in (("full national run", kbd),
                               (f"incremental: one delivery of {args.delivery:,} deaths (births not compared "
                                "with each other)", small)):
        m = measure(kbf, deaths_file, truth, "full" if deaths_file == kbd else "incremental")
        if deaths_file == small:
            recall = "—"
            missing = "—"
        else:
            recall = f"{m['died_recall']:.1%} / {m['died_precision']:.1%}"
            missing = f"{m['missing_recall']:.1%} / {m['missing_precision']:.1%}"
        print(f"| {label} | {m['kbf']:,} | {m['kbd']:,} | {m['seconds']:.1f} | {m['peak_mb']:,.0f} | {m['pairs']:,} "
              f"| {recall} | {missing} | {m['review']:,} | {m['twice']:,} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
