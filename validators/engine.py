"""The bulk engine: checks a frame of raw records against a source's schema and rules.

Field rules come from the pydantic schema and run once per distinct value of a column;
record rules are vectorised over the frame; set rules (sections, pages, duplicates)
work on whole deliveries with group-bys.  The result is a table of findings, the clean
columns laid beside the raw ones, and the corrections that automatic rules made.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from validators.arrays import with_validity
from validators.catalogue import CATALOGUE
from validators.findings import FINDING_COLUMNS, empty_frame
from validators.schemas import check_value, field_rules
from validators.sources import Source

FIELD_THREADS = 2
FAST_PATH_MIN_ROWS = 1000  # below this the fast pattern saves nothing

CORRECTION_COLUMNS = ["INDTASTNINGSNUMMER", "LOEBE_NR", "file", "line", "field", "old_value", "new_value",
                      "rule", "who", "when", "why"]


@dataclass
class Result:
    clean: pd.DataFrame
    findings: pd.DataFrame
    corrections: pd.DataFrame
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # further clean tables (ft_children)


class FindingBuilder:
    """Collects findings as frames, each row tied to the frame row (``_row``) it concerns."""

    def __init__(self, frame: pd.DataFrame, source: Source, when: str):
        self.frame = frame
        self.source = source
        self.when = when  # the run's time, on every correction it makes
        self.parts: list[pd.DataFrame] = []
        self.patches: list[tuple[str, pd.Series]] = []
        self.fixes: list[tuple[str, tuple[str, ...], pd.Series, pd.Series]] = []
        self.corrections: list[pd.DataFrame] = []

    def fix(self, field_name: str, codes: tuple[str, ...], values: pd.Series, why: pd.Series) -> None:
        """A record rule read values the field check could only flag (a two-digit year the
        book's years decide): the field's findings of ``codes`` on those rows become
        applied fixes with that value, and each gets a correction row."""
        self.fixes.append((field_name, codes, values, why))
        rows = self.frame.loc[values.index, ["_delivery", "LOEBE_NR_REN", "_file", "_line", field_name]]
        self.corrections.append(pd.DataFrame({
            "INDTASTNINGSNUMMER": rows["_delivery"].to_numpy(dtype=object),
            "LOEBE_NR": rows["LOEBE_NR_REN"].to_numpy(dtype=object),
            "file": rows["_file"].to_numpy(dtype=object), "line": rows["_line"].to_numpy(),
            "field": field_name, "old_value": rows[field_name].to_numpy(dtype=object),
            "new_value": values.to_numpy(dtype=object), "rule": codes[0], "who": "rule",
            "when": self.when, "why": why.to_numpy(dtype=object)}))

    def suggest(self, code: str, suggestions: pd.Series) -> None:
        """Fill in suggestions that need more than the value itself (e.g. the neighbours)
        on findings of ``code`` already made for those rows."""
        self.patches.append((code, suggestions))

    def at(self, index, code: str, message, field_name: str | None = None, suggestion=None,
           auto_fix: bool = False, line=True) -> None:
        """Findings for the rows ``index`` (labels of ``frame``)."""
        index = pd.Index(index)
        if len(index) == 0:
            return
        wanted = [c for c in ("_delivery", "_file", "_line", "LOEBE_NR_REN", "KILDE_SIDE") if c in self.frame]
        rows = self.frame.loc[index, wanted]
        part = pd.DataFrame({
            "code": code,
            "severity": CATALOGUE[code].severity.value,
            "source": self.source.code,
            "entry_number": rows["_delivery"].to_numpy(dtype=object),
            "file": rows["_file"].to_numpy(dtype=object),
            "line": rows["_line"].to_numpy() if line is True else None,
            "loebe_nr": rows["LOEBE_NR_REN"].to_numpy(dtype=object) if line is True and "LOEBE_NR_REN" in rows
            else None,
            "field": field_name,
            "page": rows["KILDE_SIDE"].to_numpy(dtype=object) if "KILDE_SIDE" in rows else None,
            "message": message.to_numpy(dtype=object) if isinstance(message, pd.Series) else message,
            "suggestion": suggestion.to_numpy(dtype=object) if isinstance(suggestion, pd.Series) else suggestion,
            "auto_fix": auto_fix,
            "_row": index.to_numpy() if line is True else -1,
        })
        self.parts.append(part)

    def add_frame(self, part: pd.DataFrame) -> None:
        self.parts.append(part)

    def result(self) -> pd.DataFrame:
        parts = [p for p in self.parts if len(p)]
        if not parts:
            out = empty_frame()
            out["_row"] = pd.Series(dtype="int64")
            return out
        out = pd.concat(parts, ignore_index=True)
        for col in FINDING_COLUMNS:
            if col not in out:
                out[col] = None
        for code, sugg in self.patches:
            mask = (out["code"] == code) & out["_row"].isin(sugg.index) & out["suggestion"].isna()
            out.loc[mask, "suggestion"] = out.loc[mask, "_row"].map(sugg).to_numpy()
        for field_name, codes, values, why in self.fixes:
            mask = out["code"].isin(codes) & (out["field"] == field_name) & out["_row"].isin(values.index)
            rows = out.loc[mask, "_row"]
            out.loc[mask, "suggestion"] = rows.map(values).to_numpy()
            out.loc[mask, "message"] = rows.map(why).to_numpy()
            out.loc[mask, "auto_fix"] = True
            # The rule's own code where the field check flagged it under another.
            out.loc[mask, "code"] = codes[0]
            out.loc[mask, "severity"] = CATALOGUE[codes[0]].severity.value
        return out


# --------------------------------------------------------------------------- field phase

_LARGE_STR = pa.large_string()  # what pandas keeps its Arrow strings as: no cast on the way in


def _spread_ints(values: list, codes: np.ndarray, good: np.ndarray | None,
                 as_int: np.ndarray | None) -> pd.arrays.IntegerArray:
    """Per-distinct-value integers (None = null) spread over the rows; rows flagged
    ``good`` take ``as_int`` (their raw value read as an integer)."""
    known = np.array([v is not None for v in values], dtype=bool)
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.int64)
    if len(values):
        data, mask = numbers[codes], ~known[codes]
    else:
        data, mask = np.zeros(len(codes), dtype=np.int64), np.ones(len(codes), dtype=bool)
    if good is not None:
        if as_int is None:
            mask[good] = True
        else:
            data[good] = as_int[good]
            mask[good] = False
    return pd.arrays.IntegerArray(data, mask)


def _spread_strings(values: list, codes: np.ndarray, good: np.ndarray | None, raw,
                    uniques: list | None = None) -> pd.arrays.ArrowStringArray:
    """Per-distinct-value strings (None = null) spread over the rows, in Arrow (no Python
    objects per row).

    ``codes`` index ``values`` for the rows that were checked; rows flagged ``good`` (the
    fast pattern matched) take ``raw`` (or null when ``raw`` is None).  When every value
    is its distinct raw value (``uniques``) or null, the column shares raw's buffers.
    """
    n = len(codes)
    if raw is not None and uniques is not None and all(v is None or v == u for v, u in zip(values, uniques)):
        valid = np.array([v is not None for v in values], dtype=bool)[codes] if len(values) else np.zeros(n, bool)
        if good is not None:
            valid[good] = True
        return pd.arrays.ArrowStringArray(with_validity(raw, valid))
    table = pa.array(values, type=_LARGE_STR)
    if good is None:
        out = table.take(pa.array(codes))
    elif good.all():
        # Every row passed the fast pattern: share the raw buffers, copy nothing.
        out = raw if raw is not None else pa.nulls(n, _LARGE_STR)
    else:
        safe = np.where(good, 0, codes) if len(values) else None
        taken = table.take(pa.array(safe)) if len(values) else pa.nulls(n, _LARGE_STR)
        fill = raw if raw is not None else pa.nulls(n, _LARGE_STR)
        out = pc.if_else(pa.array(good), fill, taken)
    return pd.arrays.ArrowStringArray(out)


def _clean_columns(name: str, kind: str, results: list, codes: np.ndarray, good: np.ndarray | None,
                   raw, uniques: list, nulls: pd.arrays.ArrowStringArray) -> dict[str, object]:
    """The clean columns of one field (see the README's column table for their meaning).

    ``raw`` is the column as Arrow strings (empty for null), ``uniques`` the distinct
    values ``codes`` index, ``nulls`` an all-null string column that fields share."""
    values = [r.value for r in results]
    as_int = None
    if good is not None and kind in ("int", "entry"):
        # The raw text of the good rows read as integers (0 elsewhere), without a copy of
        # the text: the other rows are masked, not replaced.
        as_int = pc.fill_null(pc.cast(with_validity(raw, good), pa.int64()), 0).to_numpy()
    out: dict[str, object] = {}
    if kind == "int":
        out[f"{name}_REN"] = _spread_ints(values, codes, good, as_int)
    elif kind == "date":
        iso = [r.extra.get("iso") for r in results]
        out[f"{name}_REN"] = _spread_strings(values, codes, good, raw, uniques)
        out[f"{name}_ISO"] = _spread_strings(iso, codes, good, None)
        out[f"_{name}_YEAR"] = _spread_ints([r.extra.get("year") for r in results], codes, good, None)
        days = np.array([np.datetime64(v, "D") if v else np.datetime64("NaT") for v in iso], dtype="datetime64[D]")
        out[f"_{name}_DT"] = days[codes].astype("datetime64[s]") if len(days) else np.full(
            len(codes), np.datetime64("NaT"), dtype="datetime64[s]")
    elif kind == "name":
        out[f"{name}_REN"] = _spread_strings(values, codes, good, raw, uniques)
        if any(r.extra.get("struck") for r in results):
            out[f"{name}_UDEN_KLAMMER"] = _spread_strings([r.extra.get("without_struck", r.value) for r in results],
                                                          codes, good, raw, uniques)
            out[f"{name}_KLAMMER"] = _spread_strings([r.extra.get("struck") for r in results], codes, good, None)
        else:
            # Nothing struck out in this batch: the same values, so the same (shared) array.
            out[f"{name}_UDEN_KLAMMER"] = out[f"{name}_REN"]
            out[f"{name}_KLAMMER"] = nulls
    elif kind == "entry":
        out[f"{name}_REN"] = _spread_strings(values, codes, good, raw, uniques)
        out[f"{name}_TAL"] = _spread_ints([r.extra.get("number") for r in results], codes, good, as_int)
        letters = [r.extra.get("letter") or "" for r in results]
        if good is not None:
            # Good rows (plain numbers) have no letter: one more distinct value, "".
            codes = np.where(good, len(letters), codes)
            letters.append("")
        out[f"{name}_BOGSTAV"] = _spread_strings(letters, codes, None, None)
    else:
        out[f"{name}_REN"] = _spread_strings([None if v is None else str(v) for v in values], codes, good, raw,
                                             uniques)
    return out


def _check_column(source: Source, name: str, rule, column: pd.Series):
    """Check a column once per distinct value.

    Rows matching the rule's fast pattern are known-good without calling the checker
    (the pattern only admits values the checker passes unchanged; a test holds them
    together), so a column of a million running numbers costs one regex pass.
    Returns (results per distinct value, codes per row, good-row mask or None, the column
    as Arrow strings with empty for null, the distinct values).
    """
    values = column.fillna("") if column.hasnans else column  # no copy when nothing is missing
    raw = pa.array(values.astype("string").array)
    if raw.type != _LARGE_STR:
        raw = raw.cast(_LARGE_STR)
    good = None
    if rule.fast is not None and len(values) >= FAST_PATH_MIN_ROWS:
        good = pa.compute.match_substring_regex(raw, f"^(?:{rule.fast})$")
        if rule.never_fast:
            # Words the pattern lets through that the checker must see (a name 'UOP'), in
            # any case: one more regular-expression pass, no upper-cased copy of the column.
            words = "|".join(re.escape(w) for w in rule.never_fast)
            good = pa.compute.and_(good, pa.compute.invert(pa.compute.match_substring_regex(
                raw, f"^(?:{words})$", ignore_case=True)))
        good = good.to_numpy(zero_copy_only=False)
        rest = values[~good]
        codes_rest, uniques = pd.factorize(rest, sort=False)
        codes = np.zeros(len(values), dtype=np.int64)
        codes[~good] = codes_rest
    else:
        codes, uniques = pd.factorize(values, sort=False)
        codes = codes.astype(np.int64)
    uniques = list(uniques)
    results = [check_value(source.model, name, u) for u in uniques]
    return results, codes, good, raw, uniques


def run_field_rules(frame: pd.DataFrame, source: Source, fb: FindingBuilder,
                    corrections: list[pd.DataFrame], when: str) -> dict[str, object]:
    clean: dict[str, object] = {}
    rules = field_rules(source.model)
    # LOEBE_NR first: every later finding names the running number of its row.
    order = [n for n in sorted(rules, key=lambda n: n != "LOEBE_NR") if n in frame]

    # The workers get their columns up front: the loop below adds to ``frame`` meanwhile.
    columns = {name: frame[name] for name in order}
    nulls = pd.arrays.ArrowStringArray(pa.nulls(len(frame), _LARGE_STR))  # shared by every empty column

    def check(name: str):
        rule = rules[name]
        results, codes, good, raw, uniques = _check_column(source, name, rule, columns[name])
        return results, codes, good, _clean_columns(name, rule.kind, results, codes, good, raw, uniques, nulls)

    # Columns are independent; Arrow's kernels release the GIL, so two threads use both cores.
    # Each column's findings are taken as soon as it is checked (in ``order``), so the
    # per-row codes of one column at a time are held, not those of every column.
    with ThreadPoolExecutor(max_workers=FIELD_THREADS) as pool:
        for name, (results, codes, good, cols) in zip(order, pool.map(check, order)):
            clean.update(cols)
            if name == "LOEBE_NR":
                frame["LOEBE_NR_REN"] = cols["LOEBE_NR_REN"]
            _field_findings(frame, name, results, codes, good, fb, corrections, when)
    return clean


def _summarised(frame: pd.DataFrame, fb: FindingBuilder, idx: pd.Index, grp: pd.DataFrame, code: str, name: str,
                auto_fix: bool) -> None:
    """One finding per delivery and file for a summarised code: at the first row it
    applies to, saying how many rows it applies to."""
    sort = np.argsort(idx.to_numpy(), kind="stable")
    idx, grp = idx[sort], grp.iloc[sort]
    where = frame.loc[idx, ["_delivery", "_file"]]
    order = pd.Series(np.arange(len(idx))).groupby([where["_delivery"].to_numpy(dtype=object),
                                                    where["_file"].to_numpy(dtype=object)], sort=False)
    first = order.first().to_numpy()
    counts = order.size().to_numpy()
    messages = [f"{grp['message'].iloc[i]} ({n} value(s) of {name} in this delivery, each a correction row)"
                if n > 1 else grp["message"].iloc[i] for i, n in zip(first, counts)]
    fb.at(idx[first], code, pd.Series(messages, dtype=object), name,
          pd.Series(grp["suggestion"].to_numpy()[first]), auto_fix)


def _field_findings(frame: pd.DataFrame, name: str, results: list, codes: np.ndarray, good: np.ndarray | None,
                    fb: FindingBuilder, corrections: list[pd.DataFrame], when: str) -> None:
    """The findings (and automatic corrections) of one checked column."""
    with_issues = [(u, issue) for u, r in enumerate(results) for issue in r.issues]
    if with_issues:
        issue_frame = pd.DataFrame({
            "u": [u for u, _ in with_issues],
            "code": [i.code for _, i in with_issues],
            "message": [i.message for _, i in with_issues],
            "suggestion": [i.suggestion for _, i in with_issues],
            "auto_fix": [i.auto_fix for _, i in with_issues],
        })
        has_issue = np.zeros(len(results), dtype=bool)
        has_issue[issue_frame["u"].to_numpy()] = True
        hit = has_issue[codes]
        if good is not None:
            hit &= ~good
        hit &= frame[name].notna().to_numpy(dtype=bool)  # a column absent from the header
        rows = pd.DataFrame({"_row": frame.index[hit], "u": codes[hit]})
        joined = rows.merge(issue_frame, on="u", how="inner")
        for (code, auto_fix), grp in joined.groupby(["code", "auto_fix"], sort=False):
            idx = pd.Index(grp["_row"].to_numpy())
            if CATALOGUE[code].summarised:
                _summarised(frame, fb, idx, grp, code, name, bool(auto_fix))
            else:
                fb.at(idx, code, pd.Series(grp["message"].to_numpy()), name,
                      pd.Series(grp["suggestion"].to_numpy()), bool(auto_fix))
            if auto_fix:
                rows_fixed = frame.loc[idx, ["_delivery", "LOEBE_NR_REN", "_file", "_line", name]]
                corrections.append(pd.DataFrame({
                    "INDTASTNINGSNUMMER": rows_fixed["_delivery"].to_numpy(dtype=object),
                    "LOEBE_NR": rows_fixed["LOEBE_NR_REN"].to_numpy(dtype=object),
                    "file": rows_fixed["_file"].to_numpy(dtype=object),
                    "line": rows_fixed["_line"].to_numpy(),
                    "field": name,
                    "old_value": rows_fixed[name].to_numpy(dtype=object),
                    "new_value": grp["suggestion"].to_numpy(dtype=object),
                    "rule": code,
                    "who": "rule",
                    "when": when,
                    "why": grp["message"].to_numpy(dtype=object),
                }))


# --------------------------------------------------------------------------- entry point

def validate_frame(frame: pd.DataFrame, source: Source, options: dict | None = None) -> Result:
    """Check ``frame`` (raw strings + ``_delivery``, ``_file``, ``_line``, ``_pos`` and the
    delivery's ``_FRA_AAR``/``_TIL_AAR``) against ``source``; the frame's index must be unique."""
    from validators import record_rules, set_rules

    options = options or {}
    when = options.get("when") or datetime.now(UTC).isoformat(timespec="seconds")
    frame = frame.reset_index(drop=True)
    fb = FindingBuilder(frame, source, when)
    corrections: list[pd.DataFrame] = []
    clean_cols = run_field_rules(frame, source, fb, corrections, when)
    # The clean columns as they are (no copy), laid beside the raw ones.
    clean = pd.DataFrame({k: v for k, v in clean_cols.items() if k not in frame}, index=frame.index, copy=False)
    del clean_cols
    work = pd.concat([frame, clean], axis=1)
    del clean
    fb.frame = work
    record_rules.run(work, source, fb)
    extra = set_rules.run(work, source, fb, options)
    findings = fb.result()
    blocking = findings.loc[(findings["severity"] == "error") & ~findings["auto_fix"].astype(bool)
                            & (findings["_row"] >= 0), "_row"].unique()
    work["BLOKERENDE_FEJL"] = work.index.isin(blocking)
    if "KILDE_LOEBE_NR_TAL" in work:  # church books: only entries of the parish's own count
        entry_ok = (work["KILDE_LOEBE_NR_TAL"].fillna(0) > 0) & (work["KILDE_LOEBE_NR_BOGSTAV"].fillna("") == "")
    else:
        entry_ok = pd.Series(True, index=work.index)
    dead = work.get("DOED_UDEN_NAVN", pd.Series("N", index=work.index)) == "J"
    left_out = work.get("_UDELADT", pd.Series(False, index=work.index)).astype(bool)
    work["TIL_LINKAGE"] = (entry_ok & ~dead & ~left_out & ~work["BLOKERENDE_FEJL"]).astype(bool)
    corrections.extend(fb.corrections)
    corr = pd.concat(corrections, ignore_index=True) if corrections else pd.DataFrame(columns=CORRECTION_COLUMNS)
    tables = {k: v for k, v in extra.items() if k not in ("duplicates", "gaps")}
    return Result(clean=work, findings=findings, corrections=corr,
                  duplicates=extra.get("duplicates", pd.DataFrame()), gaps=extra.get("gaps", pd.DataFrame()),
                  tables=tables)
