"""The bulk engine: checks a frame of raw records against a source's schema and rules.

Field rules come from the pydantic schema and run once per distinct value of a column;
record rules are vectorised over the frame; set rules (sections, pages, duplicates)
work on whole deliveries with group-bys.  The result is a table of findings, the clean
columns laid beside the raw ones, and the corrections that automatic rules made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from validators.catalogue import CATALOGUE
from validators.findings import FINDING_COLUMNS, empty_frame
from validators.schemas import check_value, field_rules
from validators.sources import Source

CORRECTION_COLUMNS = ["INDTASTNINGSNUMMER", "LOEBE_NR", "file", "line", "field", "old_value", "new_value",
                      "rule", "who", "when", "why"]


@dataclass
class Result:
    clean: pd.DataFrame
    findings: pd.DataFrame
    corrections: pd.DataFrame
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)


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
        rows = self.frame.loc[index]
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

def _clean_columns(name: str, kind: str, results: list, codes: np.ndarray) -> dict[str, pd.Series | np.ndarray]:
    values = np.empty(len(results), dtype=object)
    values[:] = [r.value for r in results]
    out: dict[str, object] = {}
    if kind == "int":
        out[f"{name}_REN"] = pd.array(values[codes], dtype="Int64")
    elif kind == "date":
        iso = np.array([r.extra.get("iso") for r in results], dtype=object)
        out[f"{name}_REN"] = values[codes]
        out[f"{name}_ISO"] = iso[codes]
    elif kind == "name":
        without = np.array([r.extra.get("without_struck", r.value) for r in results], dtype=object)
        struck = np.array([r.extra.get("struck") for r in results], dtype=object)
        out[f"{name}_REN"] = values[codes]
        out[f"{name}_UDEN_KLAMMER"] = without[codes]
        out[f"{name}_KLAMMER"] = struck[codes]
    elif kind == "entry":
        number = np.array([r.extra.get("number") for r in results], dtype=object)
        letter = np.array([r.extra.get("letter") or "" for r in results], dtype=object)
        out[f"{name}_REN"] = values[codes]
        out[f"{name}_TAL"] = pd.array(number[codes], dtype="Int64")
        out[f"{name}_BOGSTAV"] = letter[codes]
    else:
        out[f"{name}_REN"] = values[codes]
    return out


def run_field_rules(frame: pd.DataFrame, source: Source, fb: FindingBuilder,
                    corrections: list[pd.DataFrame], when: str) -> dict[str, object]:
    clean: dict[str, object] = {}
    rules = field_rules(source.model)
    # LOEBE_NR first: every later finding names the running number of its row.
    order = sorted(rules, key=lambda n: n != "LOEBE_NR")
    for name in order:
        rule = rules[name]
        if name not in frame:
            continue
        codes, uniques = pd.factorize(frame[name].fillna(""), sort=False)
        results = [check_value(source.model, name, u) for u in uniques]
        cols = _clean_columns(name, rule.kind, results, codes)
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
        rows = pd.DataFrame({"_row": frame.index[hit], "u": codes[hit]})
        joined = rows.merge(issue_frame, on="u", how="inner")
        for (code, auto_fix), grp in joined.groupby(["code", "auto_fix"], sort=False):
            idx = pd.Index(grp["_row"].to_numpy())
            fb.at(idx, code, pd.Series(grp["message"].to_numpy()), name,
                  pd.Series(grp["suggestion"].to_numpy()), bool(auto_fix))
            if auto_fix:
                rows_fixed = frame.loc[idx]
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
    when = options.get("when") or datetime.now(timezone.utc).isoformat(timespec="seconds")
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
    entry_ok = (work.get("KILDE_LOEBE_NR_TAL", pd.Series(pd.NA, index=work.index)).fillna(0) > 0) & (
        work.get("KILDE_LOEBE_NR_BOGSTAV", pd.Series("", index=work.index)).fillna("") == "")
    dead = work.get("DOED_UDEN_NAVN", pd.Series("N", index=work.index)) == "J"
    work["TIL_LINKAGE"] = (entry_ok & ~dead & ~work["BLOKERENDE_FEJL"]).astype(bool)
    corr = pd.concat(corrections, ignore_index=True) if corrections else pd.DataFrame(columns=CORRECTION_COLUMNS)
    return Result(clean=work, findings=findings, corrections=corr,
                  duplicates=extra.get("duplicates", pd.DataFrame()), gaps=extra.get("gaps", pd.DataFrame()))
