"""The bulk engine: checks a frame of raw records against a source's schema and rules.

Field rules come from the pydantic schema and run once per distinct value of a column;
record rules are vectorised over the frame; set rules (sections, pages, duplicates)
work on whole deliveries with group-bys.  The result is a table of findings, the clean
columns laid beside the raw ones, and the corrections that automatic rules made.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute

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

    def __init__(self, frame: pd.DataFrame, source: Source):
        self.frame = frame
        self.source = source
        self.parts: list[pd.DataFrame] = []
        self.patches: list[tuple[str, pd.Series]] = []

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
        return out


# --------------------------------------------------------------------------- field phase

def _spread(values: list, codes: np.ndarray, good: np.ndarray | None, raw: pa.Array | None,
            kind: str = "str") -> pd.api.extensions.ExtensionArray:
    """Per-distinct-value results spread back over the rows, in Arrow (no Python objects).

    ``codes`` index ``values`` for the rows that were checked; rows flagged ``good`` (the
    fast pattern matched) take ``raw`` instead (or null when ``raw`` is None).
    """
    typ = pa.int64() if kind == "int" else pa.string()
    table = pa.array(values, type=typ)
    if good is None:
        out = table.take(pa.array(codes))
    elif good.all():
        # Every row passed the fast pattern: share the raw buffers, copy nothing.
        out = raw if raw is not None else pa.nulls(len(good), typ)
    else:
        safe = np.where(good, 0, codes) if len(values) else None
        taken = table.take(pa.array(safe)) if len(values) else pa.nulls(len(good), typ)
        fill = raw if raw is not None else pa.nulls(len(good), typ)
        out = pa.compute.if_else(pa.array(good), fill, taken)
    if kind == "int":
        return pd.array(out.to_pandas(), dtype="Int64") if out.null_count else pd.arrays.IntegerArray(
            out.to_numpy(zero_copy_only=False), np.zeros(len(out), dtype=bool))
    return pd.arrays.ArrowStringArray(out)


def _clean_columns(name: str, kind: str, results: list, codes: np.ndarray, good: np.ndarray | None,
                   raw: pa.Array | None) -> dict[str, object]:
    """The clean columns of one field (see the README's column table for their meaning)."""
    values = [r.value for r in results]
    as_int = None
    if good is not None and kind in ("int", "entry"):
        as_int = pa.compute.cast(pa.compute.if_else(pa.array(good), raw, pa.scalar("0")), pa.int64())
    out: dict[str, object] = {}
    if kind == "int":
        out[f"{name}_REN"] = _spread(values, codes, good, as_int, "int")
    elif kind == "date":
        iso = [r.extra.get("iso") for r in results]
        out[f"{name}_REN"] = _spread(values, codes, good, raw)
        out[f"{name}_ISO"] = _spread(iso, codes, good, None)
        out[f"_{name}_YEAR"] = _spread([r.extra.get("year") for r in results], codes, good, None, "int")
        days = np.array([np.datetime64(v, "D") if v else np.datetime64("NaT") for v in iso], dtype="datetime64[D]")
        out[f"_{name}_DT"] = days[codes].astype("datetime64[s]") if len(days) else np.full(
            len(codes), np.datetime64("NaT"), dtype="datetime64[s]")
    elif kind == "name":
        out[f"{name}_REN"] = _spread(values, codes, good, raw)
        if any(r.extra.get("struck") for r in results):
            out[f"{name}_UDEN_KLAMMER"] = _spread([r.extra.get("without_struck", r.value) for r in results], codes,
                                                  good, raw)
            out[f"{name}_KLAMMER"] = _spread([r.extra.get("struck") for r in results], codes, good, None)
        else:
            # Nothing struck out in this batch: the same values, so the same (shared) array.
            out[f"{name}_UDEN_KLAMMER"] = out[f"{name}_REN"]
            out[f"{name}_KLAMMER"] = pd.arrays.ArrowStringArray(pa.nulls(len(codes), pa.string()))
    elif kind == "entry":
        out[f"{name}_REN"] = _spread(values, codes, good, raw)
        out[f"{name}_TAL"] = _spread([r.extra.get("number") for r in results], codes, good, as_int, "int")
        out[f"{name}_BOGSTAV"] = _spread([r.extra.get("letter") or "" for r in results], codes, good,
                                         None if good is None else pa.array([""] * len(good)))
    else:
        out[f"{name}_REN"] = _spread([None if v is None else str(v) for v in values], codes, good, raw)
    return out


def _check_column(source: Source, name: str, rule, column: pd.Series):
    """Check a column once per distinct value.

    Rows matching the rule's fast pattern are known-good without calling the checker
    (the pattern only admits values the checker passes unchanged; a test holds them
    together), so a column of a million running numbers costs one regex pass.
    Returns (results per distinct value, codes per row, good-row mask or None, raw Arrow).
    """
    values = column.fillna("")
    good = None
    raw = None
    if rule.fast is not None and len(values) >= FAST_PATH_MIN_ROWS:
        raw = pa.array(values.astype("string").array)
        good = pa.compute.match_substring_regex(raw, f"^(?:{rule.fast})$").to_numpy(zero_copy_only=False)
        rest = values[~good]
        codes_rest, uniques = pd.factorize(rest, sort=False)
        codes = np.zeros(len(values), dtype=np.int64)
        codes[~good] = codes_rest
    else:
        codes, uniques = pd.factorize(values, sort=False)
        codes = codes.astype(np.int64)
    results = [check_value(source.model, name, u) for u in uniques]
    return results, codes, good, raw


def run_field_rules(frame: pd.DataFrame, source: Source, fb: FindingBuilder,
                    corrections: list[pd.DataFrame], when: str) -> dict[str, object]:
    clean: dict[str, object] = {}
    rules = field_rules(source.model)
    # LOEBE_NR first: every later finding names the running number of its row.
    order = [n for n in sorted(rules, key=lambda n: n != "LOEBE_NR") if n in frame]

    def check(name: str):
        rule = rules[name]
        results, codes, good, raw = _check_column(source, name, rule, frame[name])
        return results, codes, good, _clean_columns(name, rule.kind, results, codes, good, raw)

    # Columns are independent; Arrow's kernels release the GIL, so two threads use both cores.
    with ThreadPoolExecutor(max_workers=FIELD_THREADS) as pool:
        checked = list(pool.map(check, order))
    for name, (results, codes, good, cols) in zip(order, checked):
        clean.update(cols)
        if name == "LOEBE_NR":
            frame["LOEBE_NR_REN"] = cols["LOEBE_NR_REN"]
        with_issues = [(u, issue) for u, r in enumerate(results) for issue in r.issues]
        if not with_issues:
            continue
        issue_frame = pd.DataFrame({
            "u": [u for u, _ in with_issues],
            "code": [i.code for _, i in with_issues],
            "message": [i.message for _, i in with_issues],
            "suggestion": [i.suggestion for _, i in with_issues],
            "auto_fix": [i.auto_fix for _, i in with_issues],
        })
        hit = np.isin(codes, issue_frame["u"].unique())
        if good is not None:
            hit &= ~good
        hit &= frame[name].notna().to_numpy(dtype=bool)  # a column absent from the header
        rows = pd.DataFrame({"_row": frame.index[hit], "u": codes[hit]})
        joined = rows.merge(issue_frame, on="u", how="inner")
        for (code, auto_fix), grp in joined.groupby(["code", "auto_fix"], sort=False):
            idx = pd.Index(grp["_row"].to_numpy())
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
    return clean


# --------------------------------------------------------------------------- entry point

def validate_frame(frame: pd.DataFrame, source: Source, options: dict | None = None) -> Result:
    """Check ``frame`` (raw strings + ``_delivery``, ``_file``, ``_line`` and the delivery's
    ``_FRA_AAR``/``_TIL_AAR``) against ``source``; the frame's index must be unique."""
    from validators import record_rules, set_rules

    options = options or {}
    when = options.get("when") or datetime.now(UTC).isoformat(timespec="seconds")
    frame = frame.reset_index(drop=True)
    fb = FindingBuilder(frame, source)
    corrections: list[pd.DataFrame] = []
    clean_cols = run_field_rules(frame, source, fb, corrections, when)
    clean = pd.DataFrame(clean_cols, index=frame.index)
    work = pd.concat([frame, clean.drop(columns=[c for c in clean if c in frame])], axis=1)
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
    corr = pd.concat(corrections, ignore_index=True) if corrections else pd.DataFrame(columns=CORRECTION_COLUMNS)
    tables = {k: v for k, v in extra.items() if k not in ("duplicates", "gaps")}
    return Result(clean=work, findings=findings, corrections=corr,
                  duplicates=extra.get("duplicates", pd.DataFrame()), gaps=extra.get("gaps", pd.DataFrame()),
                  tables=tables)
