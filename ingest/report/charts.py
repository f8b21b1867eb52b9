"""Entries per month of the event, per delivery, as an inline SVG chart.

A month without a single birth inside the months a delivery covers is worth a look at
the scans: a page may have been skipped.  With few deliveries each gets a small bar
chart; with many, one grid shows months across and deliveries down.

Charts are drawn on a bare ``matplotlib.figure.Figure`` (no pyplot), so the process's
backend and global figure state are left alone.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.report.sections import concat, plural

MAX_SMALL_CHARTS = 12
MAX_GRID_ROWS = 60
MAX_TABLE_ROWS = 500
MAX_RUNS_LISTED = 12

BAR = "#4a6fa5"
EMPTY = "#c62828"
GRID_LOW = np.array([0.84, 0.89, 0.96])
GRID_HIGH = np.array([0.13, 0.29, 0.53])
GRID_EMPTY = np.array([0.78, 0.16, 0.16])

_MONTH = re.compile(r"(\d{4})-(\d{2})")

_RC = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable, selectable
    "text.parse_math": False,  # a '$' in an entry number is not TeX
    "font.family": "sans-serif",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
}


@dataclass
class MonthView:
    svg: str | None = None
    kind: str | None = None  # "bars", "grid" (calendar months) or "grid-aligned" (from each first month)
    drawn: int = 0  # deliveries in the chart
    dated: int = 0  # deliveries with at least one dated entry
    rows: list[dict] = field(default_factory=list)  # deliveries with empty months or stray dates
    rows_total: int = 0

    @property
    def rows_omitted(self) -> int:
        return self.rows_total - len(self.rows)


def month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_index(text) -> int:
    """'1925-06' -> 1925 * 12 + 5; anything else -> -1."""
    match = _MONTH.fullmatch(str(text))
    if not match or not 1 <= int(match.group(2)) <= 12:
        return -1
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def _window(meta: dict) -> tuple[int, int] | None:
    """Months a delivery's births can fall in: the year before FRA_AAR (children born in
    December are registered the next year) through TIL_AAR."""
    try:
        first, last = int(str(meta.get("FRA_AAR", "")).strip()), int(str(meta.get("TIL_AAR", "")).strip())
    except ValueError:
        return None
    if not (1000 <= first <= last <= 2200) or last - first > 200:
        return None
    return (first - 1) * 12, last * 12 + 11


def month_cells(parts: list[pd.DataFrame], deliveries) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(cells, summary, runs): entries per delivery and month index (year * 12 + month - 1);
    one row per delivery with its span, empty months and entries left out of the chart;
    the runs of consecutive empty months (start, end) per delivery."""
    pm = concat(parts)
    if pm.empty:
        return pd.DataFrame(columns=["entry", "m", "entries"]), pd.DataFrame(), pd.DataFrame()
    entry = pm["entry_number"].astype("string").fillna("")
    # Few distinct months, many rows: read each distinct value once.
    codes, distinct = pd.factorize(pm["month"].astype("string"), use_na_sentinel=True)
    parsed = np.array([_month_index(v) for v in distinct] + [-1], dtype=np.int64)
    index = parsed[codes]  # the sentinel -1 picks the appended -1
    m = pd.array(np.where(index >= 0, index, 0), dtype="Int64")
    m[index < 0] = pd.NA
    m = pd.Series(m, index=pm.index)
    entries = pd.to_numeric(pm["entries"], errors="coerce").fillna(0).astype("int64")

    windows = {d.entry_number: _window(d.meta) for d in deliveries}
    lo = entry.map({e: w[0] for e, w in windows.items() if w}).astype("Int64")
    hi = entry.map({e: w[1] for e, w in windows.items() if w}).astype("Int64")
    dated = m.notna().to_numpy(dtype=bool)
    outside = (dated & ((m < lo) | (m > hi)).fillna(False).to_numpy(dtype=bool))
    inside = dated & ~outside

    frame = pd.DataFrame({"entry": entry, "m": m, "entries": entries})
    cells = (frame[inside].astype({"m": "int64"}).groupby(["entry", "m"], sort=True)["entries"].sum()
             .reset_index())
    undated = frame[~dated].groupby("entry")["entries"].sum()
    stray = frame[outside].groupby("entry")["entries"].sum()

    summary = cells.groupby("entry").agg(first=("m", "min"), last=("m", "max"), months=("m", "size"),
                                         entries=("entries", "sum"))
    summary = summary.reindex(summary.index.union(undated.index).union(stray.index))
    summary["undated"] = undated.reindex(summary.index).fillna(0).astype("int64")
    summary["outside"] = stray.reindex(summary.index).fillna(0).astype("int64")
    span = (summary["last"] - summary["first"] + 1)
    summary["empty"] = (span - summary["months"]).fillna(0).astype("int64")
    summary["per_month"] = summary["entries"] / span
    # A small parish has empty months anyway: with r births a month on average, about
    # span * exp(-r) months hold none by chance.  The surplus over that is what is odd.
    summary["expected"] = (span * np.exp(-summary["per_month"])).fillna(0)
    summary["surplus"] = summary["empty"] - summary["expected"]

    # Runs of empty months: where consecutive months with entries are more than one apart.
    prev = cells.groupby("entry", sort=False)["m"].shift()
    jump = (cells["m"] - prev) > 1
    runs = pd.DataFrame({"entry": cells["entry"][jump], "start": (prev[jump] + 1).astype("int64"),
                         "end": (cells["m"][jump] - 1).astype("int64")})
    return cells, summary, runs


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _run_text(start: int, end: int) -> str:
    if start == end:
        return month_name(start)
    return f"{month_name(start)}\u2013{month_name(end)} ({end - start + 1})"


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    # Let CSS size the picture: keep the viewBox, drop the fixed width and height.
    return re.sub(r'<svg([^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r'<svg\1', svg, count=1)


def _year_ticks(ax, first: int, last: int) -> None:
    """A year label at the first month of each year in view (thinned for long spans)."""
    years = range(first // 12, last // 12 + 1)
    step = max(1, -(-len(years) // 16))
    ticks = [max(first, y * 12) for y in years if y % step == 0]
    ax.set_xticks(ticks, [str(t // 12) for t in ticks])


def _month_ticks(ax, first: int, last: int) -> None:
    """Years, and for short spans the months' initials above them."""
    _year_ticks(ax, first, last)
    if last - first < 36:
        months = np.arange(first, last + 1)
        ax.set_xticks(months, ["JFMAMJJASOND"[m % 12] for m in months], minor=True, fontsize=6.5,
                      color="#555555")
        ax.tick_params(axis="x", which="major", pad=10, length=0)
        ax.tick_params(axis="x", which="minor", length=2)


def _bars(cells: pd.DataFrame, summary: pd.DataFrame, labels: dict[str, str]):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    shown = summary[summary["months"].notna()].sort_index()
    n = len(shown)
    fig = Figure(figsize=(9.0, 0.35 + 1.25 * n), layout="constrained")
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    by_entry = dict(tuple(cells.groupby("entry", sort=False)))
    for ax, (entry, row) in zip(axes, shown.iterrows()):
        first, last = int(row["first"]), int(row["last"])
        counts = np.zeros(last - first + 1, dtype=np.int64)
        mine = by_entry[entry]
        counts[mine["m"].to_numpy() - first] = mine["entries"].to_numpy()
        x = np.arange(first, last + 1)
        empty = x[counts == 0]
        for m in empty:
            ax.axvspan(m - 0.5, m + 0.5, color=EMPTY, alpha=0.16, linewidth=0)
        ax.bar(x, counts, width=0.8, color=BAR, linewidth=0)
        if len(empty):
            ax.plot(empty, np.zeros(len(empty)), linestyle="none", marker="^", markersize=4, color=EMPTY,
                    clip_on=False)
        ax.set_xlim(first - 0.7, last + 0.7)
        ax.set_ylim(0, max(1, int(counts.max())) * 1.12)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        _month_ticks(ax, first, last)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        empty_months = int(row["empty"])
        gap_note = f"{plural(empty_months, 'month')} without entries" if empty_months else "no empty month"
        ax.set_title(f"{labels.get(entry, entry)} \u00b7 {gap_note}", loc="left",
                     color=EMPTY if empty_months else "#222222")
    return fig, n


def _grid(cells: pd.DataFrame, summary: pd.DataFrame, labels: dict[str, str]):
    """One row per delivery.  Months run along the calendar when the deliveries cover about
    the same years; when they are spread over decades, each row starts at its own first
    month instead, so that every row gets room."""
    from matplotlib.figure import Figure

    dated = summary[summary["months"].notna()]
    chosen = dated.sort_values("surplus", ascending=False, kind="stable").head(MAX_GRID_ROWS).sort_index()
    entries = chosen.index.tolist()
    row_of = {e: i for i, e in enumerate(entries)}
    first = chosen["first"].to_numpy(dtype=np.int64)
    length = chosen["last"].to_numpy(dtype=np.int64) - first + 1
    x0, x1 = int(first.min()), int(chosen["last"].max())
    calendar = (x1 - x0 + 1) <= 2 * int(length.max())
    origin = np.full(len(entries), x0) if calendar else first
    width = (x1 - x0 + 1) if calendar else int(length.max())

    mine = cells[cells["entry"].isin(row_of)]
    rows = mine["entry"].map(row_of).to_numpy()
    counts = np.zeros((len(entries), width))
    np.add.at(counts, (rows, mine["m"].to_numpy() - origin[rows]), mine["entries"].to_numpy())
    cols = np.arange(width)[None, :]
    starts = (first - origin)[:, None]
    in_span = (cols >= starts) & (cols < starts + length[:, None])
    share = counts / np.maximum(counts.max(axis=1, keepdims=True), 1)
    image = np.ones((len(entries), width, 3))
    filled = in_span & (counts > 0)
    image[filled] = GRID_LOW + (GRID_HIGH - GRID_LOW) * share[filled][:, None]
    image[in_span & (counts == 0)] = GRID_EMPTY

    fig = Figure(figsize=(9.0, 0.75 + 0.15 * len(entries)), layout="constrained")
    ax = fig.subplots()
    left = x0 if calendar else 0
    # interpolation "none": the SVG carries the pixels as they are and the browser scales them.
    ax.imshow(image, aspect="auto", interpolation="none",
              extent=(left - 0.5, left + width - 0.5, len(entries) - 0.5, -0.5))
    names = [labels.get(e, e) if calendar else f"{labels.get(e, e)} from {month_name(int(m))}"
             for e, m in zip(entries, first)]
    ax.set_yticks(range(len(entries)), names, fontsize=7 if len(entries) <= 30 else 5.5)
    if calendar:
        _year_ticks(ax, x0, x1)
    else:
        step = 12 * max(1, -(-width // (12 * 16)))
        ticks = list(range(0, width, step))
        ax.set_xticks(ticks, [str(t // 12) for t in ticks])
        ax.set_xlabel("years from the delivery's first month", fontsize=7)
    ax.tick_params(length=2)
    for spine in ax.spines.values():
        spine.set_linewidth(0.4)
    return fig, len(entries), calendar


def month_view(parts: list[pd.DataFrame], deliveries) -> MonthView:
    """The chart and the table of deliveries whose months look odd, from ``RunResult.per_month``."""
    cells, summary, runs = month_cells(parts, deliveries)
    view = MonthView()
    if summary.empty:
        return view
    parish = {d.entry_number: (d.meta.get("SOGN") or "").strip() for d in deliveries}
    # A chart label is a few words; a parish name keyed as a paragraph would squeeze the
    # chart to nothing (the full name is in the tables beside it).
    labels = {e: _short(f"{e} {parish[e]}" if parish.get(e) else str(e)) for e in summary.index}

    dated = summary[summary["months"].notna()]
    view.dated = len(dated)
    if view.dated:
        from matplotlib import rc_context

        with rc_context(_RC):
            if view.dated <= MAX_SMALL_CHARTS:
                fig, view.drawn = _bars(cells, summary, labels)
                view.kind = "bars"
            else:
                fig, view.drawn, calendar = _grid(cells, summary, labels)
                view.kind = "grid" if calendar else "grid-aligned"
            view.svg = _svg(fig)

    notable = summary[(summary["empty"] > 0) | (summary["outside"] > 0)]
    notable = notable.sort_values(["surplus", "outside"], ascending=False, kind="stable")
    view.rows_total = len(notable)
    notable = notable.head(MAX_TABLE_ROWS)
    runs = runs[runs["entry"].isin(notable.index)]
    listed = {}
    for entry, group in runs.groupby("entry", sort=False):
        texts = [_run_text(s, e) for s, e in zip(group["start"].head(MAX_RUNS_LISTED), group["end"])]
        listed[entry] = (texts, len(group) - len(texts))
    for entry, row in notable.iterrows():
        has_span = pd.notna(row["first"])
        view.rows.append({
            "entry": entry,
            "parish": parish.get(entry, ""),
            "span": f"{month_name(int(row['first']))}\u2013{month_name(int(row['last']))}" if has_span
            else "",
            "entries": int(row["entries"]) if has_span else 0,
            "per_month": f"{row['per_month']:.1f}" if has_span else "",
            "empty": int(row["empty"]),
            "expected": f"{row['expected']:.1f}" if has_span else "",
            "odd": bool(row["empty"] >= 1 and row["empty"] > 2 * row["expected"] + 1),
            "runs": listed.get(entry, ([], 0))[0],
            "more_runs": listed.get(entry, ([], 0))[1],
            "undated": int(row["undated"]),
            "outside": int(row["outside"]),
        })
    return view
