"""Try to break the disclosure control of ``mgr-ingest stats``.

The attacker here reads only the written release (CSV or JSON) and is written apart from
``ingest.stats``: it rebuilds every table of a source with its totals and tries to recover
each suppressed value by a lone gap in a row or column, by linear algebra over all the sums
of all the measures of the source (exact recovery of any suppressed value fails the test),
and by linear programming with what a reader knows besides (counts are whole numbers,
0 <= subset <= records, and suppressed record counts are not 0 when no empty cell is
suppressed) - both for the value and for its complement (records minus the subset); a
value or complement pinned to 1 or 2 fails the test. Any shown count of 1 or 2 (or a shown
pair whose difference is 1 or 2), any key in the output and any outermost year label held
by fewer than three records fails it too.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hostile_support import REPO, run_cli

from ingest import stats
from ingest.stats import MEASURES, Records

ATTACKED = {"suppressed": 0, "releases": 0}
SUBSETS = MEASURES[1:]


def _figure() -> None:
    from conftest import SUMMARY_LINES

    line = (f"disclosure control: {ATTACKED['suppressed']} suppressed values attacked in {ATTACKED['releases']} "
            "releases, none recovered")
    SUMMARY_LINES[:] = [x for x in SUMMARY_LINES if not x.startswith("disclosure control:")] + [line]


# --------------------------------------------------------------------------- the attacker

def tables_of(rows: list[dict]) -> dict[str, dict]:
    """Per source: parishes, year labels and each measure as a matrix with totals last."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_source[r["source"]].append(r)
    out = {}
    for source, rs in by_source.items():
        parishes = [p for p in dict.fromkeys(r["parish"] for r in rs) if p != "all"] + ["all"]
        years = [y for y in dict.fromkeys(r["years"] for r in rs) if y != "all"] + ["all"]
        pi, yi = {p: i for i, p in enumerate(parishes)}, {y: j for j, y in enumerate(years)}
        tabs = {m: np.full((len(parishes), len(years)), np.nan) for m in MEASURES}
        for r in rs:
            for m in MEASURES:
                if r[m] is not None:
                    tabs[m][pi[r["parish"]], yi[r["years"]]] = r[m]
        out[source] = {"parishes": parishes, "years": years, "tables": tabs}
    return out


def lone_gaps(table: np.ndarray) -> list[tuple[int, int]]:
    """Suppressed cells alone in their row or column (totals included): given away at once."""
    found = []
    n_rows, n_cols = table.shape
    for i in range(n_rows):
        gaps = np.flatnonzero(np.isnan(table[i]))
        if len(gaps) == 1:
            found.append((i, int(gaps[0])))
    for j in range(n_cols):
        gaps = np.flatnonzero(np.isnan(table[:, j]))
        if len(gaps) == 1:
            found.append((int(gaps[0]), j))
    return found


def system(tabs: dict[str, np.ndarray]):
    """All row and column sums of all measures as A x = b over the suppressed values."""
    unknown = {}
    for m, t in tabs.items():
        for i, j in zip(*np.nonzero(np.isnan(t))):
            unknown[(m, int(i), int(j))] = len(unknown)
    rows_a, rows_b = [], []
    for m, t in tabs.items():
        n_rows, n_cols = t.shape
        lines = [[(i, j) for j in range(n_cols)] for i in range(n_rows)] + \
                [[(i, j) for i in range(n_rows)] for j in range(n_cols)]
        for line in lines:
            a = np.zeros(len(unknown))
            b = 0.0
            for pos, (i, j) in enumerate(line):
                w = -1.0 if pos == len(line) - 1 else 1.0
                if np.isnan(t[i, j]):
                    a[unknown[(m, i, j)]] += w
                else:
                    b -= w * t[i, j]
            if a.any():
                rows_a.append(a)
                rows_b.append(b)
    a = np.array(rows_a) if rows_a else np.zeros((0, len(unknown)))
    return unknown, a, np.array(rows_b)


def exactly_determined(unknown: dict, a: np.ndarray) -> list[tuple]:
    """Unknowns fixed by the equations alone: every solution has the same value there."""
    if not unknown or not len(a):
        return []
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-9 * max(s.max(), 1)).sum())
    null = vt[rank:]  # rows spanning the null space
    keys = list(unknown)
    if len(null) == 0:
        return keys
    return [keys[v] for v in range(len(keys)) if np.abs(null[:, v]).max() < 1e-9]


def interval_attack(tabs: dict[str, np.ndarray], *, records_at_least_one: bool) -> dict[tuple, tuple]:
    """Least and greatest value of every suppressed value and complement, by LP."""
    from scipy.optimize import linprog

    unknown, a, b = system(tabs)
    n = len(unknown)
    if not n:
        return {}
    a_ub, b_ub = [], []
    r = tabs["records"]
    for m in SUBSETS:
        t = tabs[m]
        for i, j in zip(*np.nonzero(np.isnan(t) | np.isnan(r))):
            row = np.zeros(n)
            rhs = 0.0
            if np.isnan(t[i, j]):
                row[unknown[(m, i, j)]] += 1
            else:
                rhs -= t[i, j]
            if np.isnan(r[i, j]):
                row[unknown[("records", i, j)]] -= 1
            else:
                rhs += r[i, j]
            a_ub.append(row)
            b_ub.append(rhs)
    bounds = [(1 if (key[0] == "records" and records_at_least_one) else 0, None) for key in unknown]
    objectives = []
    for key, v in unknown.items():
        c = np.zeros(n)
        c[v] = 1
        objectives.append((key, c, 0.0))
        if key[0] != "records":
            _, i, j = key
            c2 = np.zeros(n)
            c2[v] = -1
            const = 0.0
            if ("records", i, j) in unknown:
                c2[unknown[("records", i, j)]] += 1
            else:
                const = r[i, j]
            objectives.append((("rest",) + key, c2, const))
    out = {}
    for key, c, const in objectives:
        ends = {}
        for sign in (-1, 1):  # the greatest first: 3 or more cannot be a small count pinned
            res = linprog(sign * c, A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None,
                          A_eq=a if len(a) else None, b_eq=b if len(a) else None, bounds=bounds, method="highs")
            assert res.status in (0, 3), (key, res.message)  # the true values are always a solution
            ends[sign] = (-math.inf if sign > 0 else math.inf) if res.status == 3 else sign * res.fun + const
            if sign < 0 and ends[sign] >= 3:
                ends[1] = math.nan  # not needed
                break
        out[key] = (ends[1], ends[-1])
    return out


def attack(rows: list[dict], truth: dict[str, np.ndarray] | None = None) -> list[str]:
    """Everything the attacker finds, as messages (empty: the release held)."""
    found = []
    for source, t in tables_of(rows).items():
        tabs = t["tables"]
        def name(m, i, j, source=source, t=t):
            return f"{source} {m} {t['parishes'][i]}/{t['years'][j]}"

        for m, tab in tabs.items():
            shown = tab[~np.isnan(tab)]
            found += [f"{source} {m}: a shown count of {int(v)}" for v in shown if 0 < v < 3]
            found += [f"lone gap: {name(m, i, j)}" for i, j in lone_gaps(tab)]
        r = tabs["records"]
        for m in SUBSETS:
            both = ~np.isnan(r) & ~np.isnan(tabs[m])
            rest = (r - tabs[m])[both]
            found += [f"{source} {m}: shown complement of {int(v)}" for v in rest if 0 < v < 3]
        unknown, a, _ = system(tabs)
        ATTACKED["suppressed"] += len(unknown)
        found += [f"determined by the sums: {name(*k)}" for k in exactly_determined(unknown, a)]
        models = [False]
        if truth is None or not ((np.isnan(r)) & (truth[source] == 0)).any():
            models.append(True)  # zeros are never suppressed: a reader may use that
        for at_least_one in models:
            for key, (lo, hi) in interval_attack(tabs, records_at_least_one=at_least_one).items():
                # Pinned to 1 or 2: a small count recovered. (Pinned to 0 is what a shown 0 says,
                # and empty cells are shown by design; pinned to 3 or more is a count that
                # could have been shown.)
                if 0.5 < lo < 2.5 and not math.isinf(hi) and math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < 1:
                    found.append(f"pinned to {lo:g}..{hi:g} ({'records >= 1' if at_least_one else 'records >= 0'}): "
                                 f"{key[0] + ' ' if key[0] == 'rest' else ''}{name(*key[-3:])}")
    ATTACKED["releases"] += 1
    _figure()
    return found


# --------------------------------------------------------------------------- data to release

def fake_records(seed: int, parishes: int = 6, years: int = 6, n: int = 90, sources=("KBF",)) -> list[Records]:
    """Small, lumpy data: many cells of 0, 1 and 2 records, for suppression to work hard."""
    rng = np.random.default_rng(seed)
    out = []
    for source in sources:
        weights = rng.pareto(1.2, size=parishes * years) + 0.02
        cells = rng.choice(parishes * years, size=n, p=weights / weights.sum())
        frame = pd.DataFrame({
            "parish": pd.array([f"Sogn {c // years}" for c in cells], dtype="string"),
            "year": pd.array([1900 + c % years for c in cells], dtype="Int64"),
            "error": rng.random(n) < rng.uniform(0.05, 0.6),
            "warning": rng.random(n) < rng.uniform(0.05, 0.6),
            "ready": rng.random(n) < rng.uniform(0.3, 0.97)})
        out.append(Records(source, frame))
    return out


def truth_of(records: list[Records], release) -> dict[str, np.ndarray]:
    return {c.source: c.values[0] for c in release.cubes}


@pytest.fixture(scope="module")
def fixture_release(tmp_path_factory):
    from ingest.pipeline import run_pipeline

    result = run_pipeline([REPO / "fixtures" / "kbf", REPO / "fixtures" / "kbd", REPO / "fixtures" / "ft"],
                          progress=False)
    release = stats.make_release(stats.records_from_result(result))
    return result, release


def test_the_fixture_release_cannot_be_broken(fixture_release, tmp_path):
    result, release = fixture_release
    for fmt in ("csv", "json"):
        out = stats.write_release(release, tmp_path / f"stats.{fmt}")
        rows = stats.read_release(out)
        assert attack(rows, truth_of([], release)) == []
    assert release.summary()["suppressed"] > 0


def test_no_keys_and_no_person_values_in_the_release(fixture_release, tmp_path):
    result, release = fixture_release
    text = stats.write_release(release, tmp_path / "stats.csv").read_text(encoding="utf-8")
    text += stats.write_release(release, tmp_path / "stats.json").read_text(encoding="utf-8")
    assert not re.search(r"\b[A-Z]\d{4}[a-z]?\b", text), "an entry number in the release"
    for d in result.deliveries:
        for f in d.files:
            assert f["name"] not in text
    assert "LOEBE_NR" not in text and "KILDEFIL" not in text and "LINJE" not in text
    # Counts only: no column of maxima, minima, medians or means.
    for row in stats.read_release(tmp_path / "stats.json") + stats.read_release(tmp_path / "stats.csv"):
        assert set(row) == {"source", "parish", "years", "kind", *MEASURES, "linkage_ready_pct"}


def test_no_year_label_is_one_persons_year(fixture_release):
    _, release = fixture_release
    for cube in release.cubes:
        P = len(cube.parishes)
        known = [j for j, y in enumerate(cube.years) if y != stats.UNKNOWN_YEAR]
        if len(known) > 1:
            assert cube.values[0, P, known[0]] >= 3 and cube.values[0, P, known[-1]] >= 3, cube.years


@pytest.mark.parametrize("seed", range(12))
def test_lumpy_tables_cannot_be_broken(seed, tmp_path):
    records = fake_records(seed, parishes=3 + seed % 5, years=2 + seed % 6, n=20 + 7 * seed,
                           sources=("KBF", "KBD") if seed % 3 == 0 else ("FT",))
    release = stats.make_release(records)
    rows = stats.read_release(stats.write_release(release, tmp_path / "s.csv"))
    assert attack(rows, truth_of(records, release)) == []
    # What is shown is true.
    for row in rows:
        if row["kind"] == "source_total" and row["records"] is not None:
            src = next(r for r in records if r.source == row["source"])
            assert row["records"] == len(src.frame)


@pytest.mark.parametrize("shape", ["one parish", "one year", "all ones", "a single record", "one big cell",
                                   "everyone ready", "nobody ready"])
def test_awkward_shapes(shape, tmp_path):
    years = {"one parish": [1900, 1901, 1902, 1903] * 3, "one year": [1900] * 9, "all ones": list(range(1900, 1909)),
             "a single record": [1900], "one big cell": [1900] * 40 + [1901], "everyone ready": [1900, 1901] * 6,
             "nobody ready": [1900, 1901] * 6}[shape]
    n = len(years)
    parish = ["A"] * n if shape == "one parish" else [f"S{i % 3}" for i in range(n)]
    ready = {"everyone ready": [True] * n, "nobody ready": [False] * n}.get(shape, [i % 4 != 0 for i in range(n)])
    frame = pd.DataFrame({"parish": pd.array(parish, dtype="string"), "year": pd.array(years, dtype="Int64"),
                          "error": [i % 5 == 0 for i in range(n)], "warning": [False] * n, "ready": ready})
    records = [Records("KBF", frame)]
    release = stats.make_release(records)
    rows = stats.read_release(stats.write_release(release, tmp_path / "s.json"))
    assert attack(rows, truth_of(records, release)) == []


def test_the_attacker_does_find_a_careless_release(fixture_release):
    """The attack is real: with primary suppression only, it recovers cells."""
    _, release = fixture_release
    cube = release.cubes[0]
    careless = stats.Cube(cube.source, cube.parishes, cube.years, cube.values)
    careless.primary = careless.suppressed = stats.primary_suppression(cube.values)
    rows = stats.Release([careless], 1).rows()
    found = attack(rows)
    assert any(f.startswith("lone gap") or f.startswith("determined") for f in found)


def test_the_store_gives_the_same_release_as_the_files(tmp_path):
    from ingest.pipeline import run_pipeline
    from ingest.store import import_paths, open_store

    paths = [REPO / "fixtures" / "kbf", REPO / "fixtures" / "kbd"]
    from_files = stats.make_release(stats.records_from_result(run_pipeline(paths, progress=False)))
    with open_store(tmp_path / "work") as store:
        import_paths(store, paths)
        from_store = stats.make_release(stats.records_from_store(store))
    assert from_files.rows() == from_store.rows()


def test_the_stats_command(tmp_path):
    from ingest.cli_safety import main

    out = tmp_path / "release.csv"
    code = main(["stats", str(REPO / "fixtures" / "kbf"), "--out", str(out)])
    assert code == 0
    assert out.read_text(encoding="utf-8").startswith("# Aggregate statistics")
    assert attack(stats.read_release(out)) == []
    code, _, err = run_cli("import", REPO / "fixtures" / "kbf", "--work", tmp_path / "w")
    assert code in (0, 1), err
    code = main(["stats", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "store.json"), "--years", "5"])
    assert code == 0
    assert attack(stats.read_release(tmp_path / "store.json")) == []
    assert main(["stats", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "x.csv")]) == 2


def test_the_commands_fit_beside_the_others():
    """What ingest.cli's hook does: register the safety commands beside the store's."""
    import argparse

    from ingest import cli_safety, cli_store

    parser = argparse.ArgumentParser(prog="mgr-ingest")
    sub = parser.add_subparsers(dest="command")
    names = set(cli_store.register(sub)) | set(cli_safety.register(sub))
    assert {"stats", "backup", "restore", "import", "run"} <= names
    args = parser.parse_args(["stats", "x", "--out", "y.csv", "--years", "10"])
    assert args.years == 10 and args.paths == [Path("x")]
