"""Aggregate statistics fit to leave the secure environment (``mgr-ingest stats``).

What is counted, per source, parish (the book's parish, ``SOGN`` of the delivery) and year
(the book's registration year, for censuses the census year): records, records with at
least one error finding, records with at least one warning, records ready for linkage
(``TIL_LINKAGE``), and the linkage-ready share. Totals per parish, per year and per source
stand beside the cells.

The release follows Statistics Denmark's rules for output from micro data:

* no person-level data and no keys: the rows are parishes and years, never entry numbers,
  running numbers or file names;
* primary suppression: a count of 1 or 2 is suppressed, and so is a subset count whose
  complement within its cell is 1 or 2 (``records - linkage_ready`` would give it away);
  every count of a cell whose record count is suppressed is suppressed too, unless the
  shown totals already say it is 0 ('nobody in this parish has a warning');
* secondary suppression: no suppressed value can be worked out from the totals. Each table
  with its totals is a bipartite graph (rows and columns are nodes, cells are edges); a
  suppressed cell can be worked out exactly when it lies on no cycle of suppressed cells,
  so more cells are suppressed until every suppressed cell lies on one. A reader who also
  uses that counts are whole numbers, that 0 <= subset <= records and that a suppressed
  record count is at least 1 could still corner a small value; so every suppressed value
  of 1 or 2 (or leaving 1 or 2) must have a certificate: a rectangle of suppressed cells
  along which it and its neighbours can shift by one with every sum and bound intact, so
  that the release fits the true value and another one equally well. Rectangles are added
  until each has one;
* no maximum, minimum or median of anything: the outermost year labels are widened until
  each holds at least three records, so no year label is one person's year;
* empty cells (0) describe nobody and are shown.

``tests/hostile/test_stats_disclosure.py`` attacks releases with linear algebra and linear
programming, independently of this module.

Suppressed values are written as ``..`` (CSV) or ``null`` (JSON).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

MIN_COUNT = 3
MEASURES = ("records", "records_with_errors", "records_with_warnings", "linkage_ready")
SUPPRESSED_TEXT = ".."
UNKNOWN_PARISH = "(unknown parish)"
UNKNOWN_YEAR = "unknown"
ALL = "all"
KINDS = ("cell", "parish_total", "year_total", "source_total")

RULES = [
    "Aggregate statistics for release outside the secure environment, made by mgr-ingest stats.",
    "No person-level data and no keys: rows are source, parish and year; no entry numbers, running numbers or "
    "file names.",
    "Primary suppression: counts of 1 or 2 are suppressed, and so is a subset count (errors, warnings, "
    "linkage-ready) whose complement in its cell (records minus the count) is 1 or 2; all counts of a cell whose "
    "record count is suppressed are suppressed.",
    "Secondary suppression: further cells are suppressed until no suppressed value can be recomputed from row, "
    "column or grand totals or by differencing the tables of a source (checked by linear programming over "
    "everything published).",
    "No maximum, minimum or median is given; the first and last year labels are widened until each covers at "
    "least 3 records.",
    "Empty cells (0) describe no one and are shown. Shares are given only where both of their counts are shown.",
    "Suppressed values are written '..' in CSV and null in JSON.",
]


# --------------------------------------------------------------------------- per-record flags

@dataclass
class Records:
    """One row per record, with nothing but what the statistics need (no keys leave here)."""

    source: str
    frame: pd.DataFrame  # parish (str), year (Int64), error, warning, ready (bool)


def _year_of(clean: pd.DataFrame) -> pd.Series:
    for name in ("KALENDERAAR_REN", "TAELLINGSAAR_REN"):
        if name in clean:
            year = pd.to_numeric(clean[name], errors="coerce").astype("Int64")
            break
    else:
        year = pd.Series(pd.NA, index=clean.index, dtype="Int64")
    for name in ("FOEDSELSDATO_ISO", "DOEDSDATO_ISO"):
        if name in clean and year.isna().any():
            fallback = pd.to_numeric(clean[name].astype("string").str.slice(0, 4), errors="coerce").astype("Int64")
            year = year.fillna(fallback)
    return year.where((year >= 1000) & (year <= 2200))


def _flags(clean: pd.DataFrame, findings: pd.DataFrame, parish_of: dict[str, str | None]) -> pd.DataFrame:
    """The statistics' view of a clean table: parish, year and three flags per record."""
    key = pd.MultiIndex.from_arrays([clean["INDTASTNINGSNUMMER"].astype("string").fillna(""),
                                     clean["KILDEFIL"].astype("string").fillna(""),
                                     pd.to_numeric(clean["LINJE"], errors="coerce").fillna(-1).astype("int64")])
    out = pd.DataFrame(index=clean.index)
    entry = clean["INDTASTNINGSNUMMER"].astype("string")
    out["parish"] = entry.map(lambda e: (parish_of.get(e) or "").strip() or UNKNOWN_PARISH).astype("string")
    out["year"] = _year_of(clean).to_numpy()
    if len(findings):
        f = findings[pd.to_numeric(findings["line"], errors="coerce").notna()]
        for severity, name in (("error", "error"), ("warning", "warning")):
            hits = f[f["severity"] == severity]
            hit_keys = pd.MultiIndex.from_arrays([hits["entry_number"].astype("string").fillna(""),
                                                  hits["file"].astype("string").fillna(""),
                                                  pd.to_numeric(hits["line"]).astype("int64")])
            out[name] = key.isin(hit_keys)
    else:
        out["error"] = out["warning"] = False
    out["ready"] = clean["TIL_LINKAGE"].fillna(False).astype(bool).to_numpy()
    return out


def records_from_result(result) -> list[Records]:
    """From a pipeline run (``ingest.pipeline.run_pipeline`` with ``keep_clean``)."""
    parish_of = {d.entry_number: d.meta.get("SOGN") for d in result.deliveries}
    out = []
    for source, parts in result.clean.items():
        frames = []
        for part in parts:
            clean = pd.read_parquet(part) if isinstance(part, str | Path) else part
            frames.append(_flags(clean, result.findings, parish_of))
        if frames:
            out.append(Records(source, pd.concat(frames, ignore_index=True)))
    return out


def records_from_store(store) -> list[Records]:
    """From the store: the clean table of each source rebuilt from the current versions."""
    from sqlalchemy import select

    from ingest.store.clean import BATCH_ROWS, _batches
    from ingest.store.models import STATUS_CURRENT, deliveries
    from validators.sources import SOURCES

    with store.reading() as conn:
        rows = conn.execute(select(deliveries.c.entry_number, deliveries.c.source, deliveries.c.meta)
                            .where(deliveries.c.status == STATUS_CURRENT)).all()
    parish_of = {r.entry_number: (r.meta or {}).get("SOGN") for r in rows}
    out = []
    for code in sorted({r.source for r in rows if r.source in SOURCES and SOURCES[r.source].supported}):
        # One batch of deliveries at a time: only the few columns of the flags are kept.
        flags = [_flags(batch.clean, batch.findings, parish_of)
                 for batch in _batches(store, code, None, BATCH_ROWS, None) if len(batch.clean)]
        if flags:
            out.append(Records(code, pd.concat(flags, ignore_index=True)))
    return out


# --------------------------------------------------------------------------- counting

def _year_bands(years: pd.Series, width: int) -> tuple[pd.Series, list[str]]:
    """Each record's year label, and the labels in order. Years are grouped ``width`` at a
    time; the first and last labels are widened until each covers ``MIN_COUNT`` records."""
    known = years.dropna().astype("int64")
    labels = pd.Series(UNKNOWN_YEAR, index=years.index, dtype="object")
    order: list[str] = []
    if len(known):
        start = (known // width) * width
        counts = start.value_counts().sort_index()
        starts = list(counts.index)
        lo, acc = 0, 0
        while lo < len(starts) and acc + counts.iloc[lo] < MIN_COUNT:
            acc += counts.iloc[lo]
            lo += 1
        hi, acc2 = len(starts) - 1, 0
        while hi >= 0 and acc2 + counts.iloc[hi] < MIN_COUNT:
            acc2 += counts.iloc[hi]
            hi -= 1
        if lo >= hi:  # too few records to tell years apart at all
            name = {s: ALL + " years" for s in starts}
        else:
            name = {}
            for k, s in enumerate(starts):
                if k <= lo:
                    name[s] = f"-{starts[lo] + width - 1}"
                elif k >= hi:
                    name[s] = f"{starts[hi]}-"
                else:
                    name[s] = str(s) if width == 1 else f"{s}-{s + width - 1}"
        labels.loc[known.index] = start.map(name)
        seen = []
        for s in starts:
            if name[s] not in seen:
                seen.append(name[s])
        order = seen
    if (labels == UNKNOWN_YEAR).any():
        order.append(UNKNOWN_YEAR)
    return labels, order


@dataclass
class Cube:
    """The counts of one source: measure x parish x year, with totals in the last row and column."""

    source: str
    parishes: list[str]
    years: list[str]
    values: np.ndarray  # int64, shape (4, P + 1, B + 1)
    primary: np.ndarray = None  # bool, same shape
    suppressed: np.ndarray = None  # bool, same shape
    audit: dict = field(default_factory=dict)


def build_cube(records: Records, width: int = 1) -> Cube:
    f = records.frame
    labels, order = _year_bands(f["year"], width)
    parishes = sorted(f["parish"].astype(str).unique().tolist())
    pi = {p: i for i, p in enumerate(parishes)}
    bi = {b: j for j, b in enumerate(order)}
    P, B = len(parishes), len(order)
    values = np.zeros((len(MEASURES), P + 1, B + 1), dtype=np.int64)
    rows = f["parish"].astype(str).map(pi).to_numpy()
    cols = labels.map(bi).to_numpy().astype(np.int64)
    flags = [np.ones(len(f), dtype=bool), f["error"].to_numpy(bool), f["warning"].to_numpy(bool),
             f["ready"].to_numpy(bool)]
    for k, flag in enumerate(flags):
        np.add.at(values[k], (rows[flag], cols[flag]), 1)
        values[k, P, :B] = values[k, :P, :B].sum(axis=0)
        values[k, :P, B] = values[k, :P, :B].sum(axis=1)
        values[k, P, B] = values[k, :P, :B].sum()
    return Cube(records.source, parishes, order, values)


# --------------------------------------------------------------------------- suppression

def primary_suppression(values: np.ndarray) -> np.ndarray:
    records = values[0]
    out = np.zeros(values.shape, dtype=bool)
    out[0] = (records > 0) & (records < MIN_COUNT)
    for k in range(1, len(values)):
        m = values[k]
        rest = records - m
        out[k] = out[0] | ((m > 0) & (m < MIN_COUNT)) | ((rest > 0) & (rest < MIN_COUNT))
    return out


def bridges(suppressed: np.ndarray) -> list[tuple[int, int]]:
    """Suppressed cells of a table (totals in the last row and column) that lie on no cycle
    of suppressed cells: exactly the ones the table's sums give away."""
    n_rows, n_cols = suppressed.shape
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_rows + n_cols)]
    edges = list(zip(*np.nonzero(suppressed)))
    for e, (i, j) in enumerate(edges):
        adj[i].append((n_rows + j, e))
        adj[n_rows + j].append((i, e))
    disc = [-1] * len(adj)
    low = [0] * len(adj)
    found: list[tuple[int, int]] = []
    clock = 0
    for root in range(len(adj)):
        if disc[root] != -1 or not adj[root]:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            node, via, it = stack[-1]
            advanced = False
            for nxt, e in it:
                if e == via:
                    continue
                if disc[nxt] == -1:
                    disc[nxt] = low[nxt] = clock
                    clock += 1
                    stack.append((nxt, e, iter(adj[nxt])))
                    advanced = True
                    break
                low[node] = min(low[node], disc[nxt])
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        found.append(tuple(int(x) for x in edges[via]))
    return found


def _close_cycle(values: np.ndarray, suppressed: np.ndarray, i: int, j: int, *, slack: bool = False,
                 useless: np.ndarray | None = None) -> bool:
    """Suppress the cheapest three cells that put (i, j) on a rectangle of suppressed cells:
    (i, j2), (i2, j2), (i2, j). Cells already suppressed cost nothing; empty cells are
    taken only when nothing else will do (they protect nothing). With ``slack`` the
    rectangle whose new cells are largest is taken instead (more room to hide in). Cells
    marked ``useless`` (a subset where the cell has no records: its value is known) are
    never taken."""
    new = ~suppressed
    big = float("inf")
    v = values.astype(float)
    zero_new = new & (values == 0)
    for allow_zero in ((False,) if slack else (False, True)):
        if slack:
            score = np.where(new, v, big)
            worst = np.minimum(np.minimum(score[i, :][None, :], score[:, j][:, None]), score)
            cost = -worst
            cost[worst == big] = big  # all three suppressed already: it would add nothing
        else:
            cost = (np.where(new[i, :], v[i, :], 0)[None, :] + np.where(new[:, j], v[:, j], 0)[:, None]
                    + np.where(new, v, 0))
        bad = zero_new if not allow_zero else np.zeros_like(zero_new)
        if useless is not None:
            bad = bad | (useless & new)
        cost = np.where(bad[i, :][None, :] | bad[:, j][:, None] | bad, big, cost)
        cost[i, :] = big
        cost[:, j] = big
        if np.isfinite(cost).any() and cost.min() < big:
            i2, j2 = np.unravel_index(int(np.argmin(cost)), cost.shape)
            before = suppressed.sum()
            suppressed[i, j2] = suppressed[i2, j2] = suppressed[i2, j] = True
            return suppressed.sum() > before
    return False


def secondary_suppression(values: np.ndarray, suppressed: np.ndarray, useless: np.ndarray | None = None
                          ) -> np.ndarray:
    """More suppressed cells until no suppressed cell of the table is a bridge."""
    suppressed = suppressed.copy()
    while True:
        open_cells = bridges(suppressed)
        if not open_cells:
            return suppressed
        changed = False
        for i, j in open_cells:
            if suppressed[i, j]:
                changed |= _close_cycle(values, suppressed, i, j, useless=useless)
        if not changed:  # a table of one row or column: only suppressing everything is safe
            suppressed[:] = suppressed.any()
            return suppressed


# --------------------------------------------------------------------------- the audit

def _lines(n_rows: int, n_cols: int) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Every row and column of a table with totals: (its cells, its total)."""
    rows = [([(i, j) for j in range(n_cols - 1)], (i, n_cols - 1)) for i in range(n_rows)]
    cols = [([(i, j) for i in range(n_rows - 1)], (n_rows - 1, j)) for j in range(n_cols)]
    return rows + cols


def implied_zeros(values: np.ndarray, suppressed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Where subset ``k`` is known to be 0, and where its complement (records - subset) is,
    from what is shown alone: a shown 0, a cell with no records, and then, line by line,
    a line whose total is 0 has only 0s and a line of 0s totals 0. Such a 0 is public:
    'nobody (or everybody) in this parish' says it of every record in the parish."""
    r, m = values[0], values[k]
    shown_r, shown_m = ~suppressed[0], ~suppressed[k]
    zero = (shown_m & (m == 0)) | (shown_r & (r == 0))
    rest = (shown_r & shown_m & (r == m)) | (shown_r & (r == 0))
    lines = _lines(*r.shape)
    changed = True
    while changed:
        changed = False
        for known in (zero, rest):
            for cells, total in lines:
                if known[total] and not all(known[c] for c in cells):
                    for c in cells:
                        known[c] = True
                    changed = True
                elif not known[total] and all(known[c] for c in cells):
                    known[total] = True
                    changed = True
    return zero, rest


def _show_public_zeros(values: np.ndarray, suppressed: np.ndarray, k: int) -> None:
    """Show a subset's 0 that what is shown implies anyway (hiding it would only pin the
    cells around it to what they must be)."""
    zero, _ = implied_zeros(values, suppressed, k)
    suppressed[k] &= ~zero


def at_risk(values: np.ndarray, suppressed: np.ndarray) -> list[tuple[int, int, int]]:
    """The suppressed values a reader must not pin down: a record count of 1 or 2, or a
    subset count that is 1 or 2 or leaves 1 or 2 in its cell. (A value of 0 is what a shown 0
    would say, and one of 3 or more could have been shown; neither is a disclosure.)"""
    r = values[0]
    out = [(0, int(i), int(j)) for i, j in zip(*np.nonzero(suppressed[0] & (r > 0) & (r < MIN_COUNT)))]
    for k in range(1, len(values)):
        m, rest = values[k], r - values[k]
        small = ((m > 0) & (m < MIN_COUNT)) | ((rest > 0) & (rest < MIN_COUNT))
        out += [(k, int(i), int(j)) for i, j in zip(*np.nonzero(suppressed[k] & small))]
    return out


def _sign(n_rows: int, n_cols: int, i: int, j: int) -> tuple[int, int]:
    """The cell's coefficient in its row's and its column's sum (a line's total counts -1)."""
    return (-1 if j == n_cols - 1 else 1), (-1 if i == n_rows - 1 else 1)


def _move_fits(values: np.ndarray, k: int, moves: list[tuple[int, int, int]]) -> bool:
    """Whether changing table ``k`` by ``moves`` (i, j, change) leaves every count possible:
    subsets within 0..records (records as they are), records >= every subset and >= 1
    where they are not 0."""
    for i, j, d in moves:
        new = values[k, i, j] + d
        if k == 0:
            floor = max(1 if values[0, i, j] >= 1 else 0, int(values[1:, i, j].max()) if len(values) > 1 else 0)
            if new < floor:
                return False
        elif new < 0 or new > values[0, i, j]:
            return False
    return True


def certified(values: np.ndarray, suppressed: np.ndarray, k: int, i: int, j: int, limit: int = 20_000) -> bool:
    """True when the value at (k, i, j) could just as well be one more or one less: a
    rectangle of suppressed cells of table ``k`` through it along which the counts can
    shift by 1 and every published sum and bound still holds. Then the true value and its
    neighbour both agree with the release, and nobody can pin the value (or its complement)
    down. Every other value is held where it is, so the check is safe, if cautious."""
    sup = suppressed[k]
    n_rows, n_cols = sup.shape
    row_i = np.flatnonzero(sup[i])
    col_j = np.flatnonzero(sup[:, j])
    tried = 0
    ra, ca = _sign(n_rows, n_cols, i, j)
    for j2 in row_i:
        if j2 == j:
            continue
        rb, cb = _sign(n_rows, n_cols, i, j2)
        for i2 in col_j:
            if i2 == i or not sup[i2, j2]:
                continue
            tried += 1
            if tried > limit:
                return False
            rc, cc = _sign(n_rows, n_cols, i2, j2)
            rd, cd = _sign(n_rows, n_cols, i2, j)
            for step in (1, -1):
                da = step
                db = -ra * rb * da  # row i keeps its sum
                dc = -cb * cc * db  # column j2 keeps its sum
                dd = -rc * rd * dc  # row i2 keeps its sum (column j then keeps its own)
                if cd * dd + ca * da != 0:
                    continue
                if _move_fits(values, k, [(i, j, da), (i, int(j2), db), (int(i2), int(j2), dc), (int(i2), j, dd)]):
                    return True
    return False


def uncertified(values: np.ndarray, suppressed: np.ndarray) -> list[tuple[int, int, int]]:
    return [key for key in at_risk(values, suppressed) if not certified(values, suppressed, *key)]


def protect(cube: Cube, max_rounds: int = 100) -> Cube:
    """Primary and secondary suppression of a source's tables, then more until every
    suppressed small value has a certificate (see ``certified``)."""
    values = cube.values
    primary = primary_suppression(values)
    suppressed = primary.copy()
    rounds = 0
    while True:
        suppressed[0] = secondary_suppression(values[0], suppressed[0])
        known_empty = ~suppressed[0] & (values[0] == 0)  # no records shown: every subset is 0 too
        for k in range(1, len(values)):
            suppressed[k] |= suppressed[0]
            _show_public_zeros(values, suppressed, k)
            suppressed[k] = secondary_suppression(values[k], suppressed[k], useless=known_empty)
        open_cells = uncertified(values, suppressed)
        rounds += 1
        if not open_cells:
            break
        if rounds >= max_rounds:  # fail safe: never release what could not be protected
            suppressed[:] = True
            break
        for k, i, j in open_cells:
            if certified(values, suppressed, k, i, j):
                continue  # a rectangle added for another cell serves this one too
            useless = known_empty if k > 0 else None
            if _close_cycle(values[k], suppressed[k], i, j, slack=True, useless=useless):
                continue
            # No rectangle adds room: hide the cell's whole row and column (and, when even
            # that adds nothing, the table; a release may lose detail, never leak).
            targets = [k] if k > 0 else list(range(len(values)))
            before = int(suppressed[targets].sum())
            for u in targets:
                suppressed[u, i, :] = True
                suppressed[u, :, j] = True
            if int(suppressed[targets].sum()) == before:
                suppressed[targets] = True
    cube.suppressed = suppressed
    cube.primary = primary & suppressed  # a subset's 0 that the shown totals imply is shown after all
    cube.audit = {"rounds": rounds, "suppressed": int(suppressed.sum()), "primary": int(cube.primary.sum()),
                  "secondary": int((suppressed & ~primary).sum()),
                  "certified": len(at_risk(values, suppressed))}
    return cube


# --------------------------------------------------------------------------- the release

@dataclass
class Release:
    cubes: list[Cube]
    year_width: int
    made: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def rows(self) -> list[dict]:
        out = []
        for cube in self.cubes:
            P, B = len(cube.parishes), len(cube.years)
            for i in range(P + 1):
                for j in range(B + 1):
                    kind = ("source_total" if i == P and j == B else "parish_total" if j == B
                            else "year_total" if i == P else "cell")
                    row = {"source": cube.source, "parish": cube.parishes[i] if i < P else ALL,
                           "years": cube.years[j] if j < B else ALL, "kind": kind}
                    for k, name in enumerate(MEASURES):
                        row[name] = None if cube.suppressed[k, i, j] else int(cube.values[k, i, j])
                    r, ready = row["records"], row["linkage_ready"]
                    # A share only where both of its counts are shown (then it adds nothing to them).
                    row["linkage_ready_pct"] = round(100.0 * ready / r, 1) if r and ready is not None else None
                    out.append(row)
        return out

    def summary(self) -> dict:
        return {"sources": len(self.cubes), "cells": int(sum(c.values.size for c in self.cubes)),
                "suppressed": int(sum(c.suppressed.sum() for c in self.cubes)),
                "primary": int(sum(c.primary.sum() for c in self.cubes)),
                "secondary": int(sum((c.suppressed & ~c.primary).sum() for c in self.cubes))}

    def note(self) -> list[str]:
        s = self.summary()
        width = "single years" if self.year_width == 1 else f"bands of {self.year_width} years"
        return RULES + [f"Years: the book's registration year (censuses: the census year), in {width}.",
                        f"Made {self.made}: {s['cells']} values, {s['primary']} suppressed as primary and "
                        f"{s['secondary']} as secondary."]

    def to_csv(self) -> str:
        buf = io.StringIO()
        for line in self.note():
            buf.write(f"# {line}\n")
        columns = ["source", "parish", "years", "kind", *MEASURES, "linkage_ready_pct"]
        writer = csv.DictWriter(buf, fieldnames=columns, delimiter=";", lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: SUPPRESSED_TEXT if v is None and k in (*MEASURES, "linkage_ready_pct") else v
                             for k, v in row.items()})
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps({"note": self.note(), "rules": {"min_count": MIN_COUNT, "suppressed_as": None},
                           "summary": self.summary(), "rows": self.rows()}, ensure_ascii=False, indent=1)


def make_release(records: Iterable[Records], year_width: int = 1) -> Release:
    cubes = [protect(build_cube(r, year_width)) for r in sorted(records, key=lambda r: r.source) if len(r.frame)]
    return Release(cubes, year_width)


def write_release(release: Release, out: Path, fmt: str | None = None) -> Path:
    fmt = fmt or ("json" if out.suffix.lower() == ".json" else "csv")
    text = release.to_json() if fmt == "json" else release.to_csv()
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out


def read_release(path: Path) -> list[dict]:
    """The rows of a written release, suppressed values as None (for tests and checks)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)["rows"]
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    rows = []
    for row in csv.DictReader(lines, delimiter=";"):
        for name in (*MEASURES, "linkage_ready_pct"):
            value = row[name]
            row[name] = None if value in (SUPPRESSED_TEXT, "") else (float(value) if "." in value else int(value))
        rows.append(row)
    return rows


__all__ = ["MEASURES", "MIN_COUNT", "Release", "at_risk", "bridges", "build_cube", "certified", "make_release",
           "primary_suppression", "protect", "read_release", "records_from_result", "records_from_store",
           "secondary_suppression", "write_release"]
