"""The report's content: each section reduced with pandas to the plain rows the template prints.

Values leave as text (missing -> ""), so the template only loops and escapes.  The one
exception is the table of all findings, whose rows are put together here column-wise
(escaped the way Jinja would), because a big run has tens of thousands of them.  Long
lists are cut to a fixed number of rows and say how many they left out: findings.json
always holds everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from markupsafe import Markup

from validators.catalogue import CATALOGUE

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
SEVERITY_WORD = {"error": "error", "warning": "warning", "info": "note"}

MAX_FINDINGS_PER_DELIVERY = 2_000
MAX_FINDINGS_TOTAL = 20_000  # keeps the page small enough to open and to mail
MAX_GAP_ROWS = 2_000
MAX_DUPLICATE_PAIRS = 200
MAX_PAGE_ROWS = 2_000

PAGE_CODES = ("PAGE_OVERFULL", "PAGE_SEQUENCE")

SEX_WORDS = {"M": "boys (M)", "K": "girls (K)", "U": "unknown (U)"}

# Fields of a duplicate pair, in the order a person compares them, with their labels.
DUPLICATE_FIELDS = {
    "LOEBE_NR": "Running number (LOEBE_NR)",
    "KILDE_SIDE": "Page (KILDE_SIDE)",
    "KILDE_LOEBE_NR": "Entry no. in the book (KILDE_LOEBE_NR)",
    "FOEDSELSDATO": "Birth date (FOEDSELSDATO)",
    "FORNAVN": "First name (FORNAVN)",
    "EFTERNAVN": "Surname (EFTERNAVN)",
    "MODERS_FORNAVN": "Mother's first name (MODERS_FORNAVN)",
    "MODERS_EFTERNAVN": "Mother's surname (MODERS_EFTERNAVN)",
    "FADERS_FORNAVN": "Father's first name (FADERS_FORNAVN)",
    "FADERS_EFTERNAVN": "Father's surname (FADERS_EFTERNAVN)",
}


@dataclass
class Capped:
    """Rows to print, out of ``total``."""

    rows: list
    total: int = 0

    @property
    def omitted(self) -> int:
        return self.total - len(self.rows)


@dataclass
class FindingGroup:
    entry: str
    total: int
    counts: dict[str, int]
    shown: int = 0
    rows_html: Markup = field(default_factory=Markup)

    @property
    def omitted(self) -> int:
        return self.total - self.shown


# --------------------------------------------------------------------------- helpers

def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def as_text(values: pd.Series) -> pd.Series:
    """Any column as display text; missing values become ""."""
    return values.astype("string").fillna("").str.strip()


def as_whole_numbers(values: pd.Series) -> pd.Series:
    """Line numbers and the like: 12, not 12.0; missing or non-numeric -> ""."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.where(numbers == numbers.round())
    return whole.astype("Int64").astype("string").fillna("")


def year_span(years: list) -> str:
    first, last = (str(y).strip() if y else "" for y in (list(years) + [None, None])[:2])
    if first and last:
        return first if first == last else f"{first}\u2013{last}"
    return first or last


def when_text(started: str) -> str:
    try:
        moment = datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return str(started)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


def code_title(code: str) -> str:
    entry = CATALOGUE.get(code)
    return entry.title if entry else code


# --------------------------------------------------------------------------- 1. header

def run_summary(result) -> dict:
    found = result.findings["severity"].value_counts() if len(result.findings) else pd.Series(dtype="int64")
    totals = {s: int(found.get(s, 0)) for s in SEVERITIES}
    deliveries = result.deliveries
    n = len(deliveries)
    records = sum(d.rows for d in deliveries)
    with_errors = sum(1 for d in deliveries if d.counts.get("error", 0))
    with_warnings = sum(1 for d in deliveries if d.counts.get("warning", 0))
    if n == 0:
        verdict, tone = "No delivery could be read.", "error"
    elif with_errors:
        verdict = (f"{with_errors:,} of {plural(n, 'delivery', 'deliveries')} "
                   f"{'has errors that need' if with_errors == 1 else 'have errors that need'} fixing before "
                   "the data can be used; start at the top of the delivery table.")
        tone = "error"
    elif totals["error"]:
        verdict, tone = "There are errors to fix before the data can be used; see the findings by code.", "error"
    elif with_warnings:
        verdict = (f"No errors; {with_warnings:,} of {plural(n, 'delivery', 'deliveries')} "
                   f"{'has' if with_warnings == 1 else 'have'} warnings worth checking against the scans.")
        tone = "warning"
    elif totals["info"]:
        verdict, tone = "No errors or warnings; the notes below are for information only.", "info"
    else:
        verdict, tone = "No findings: every delivery passed every check.", "ok"
    return {
        "started": when_text(result.started),
        "started_iso": result.started,
        "deliveries": n,
        "records": records,
        "totals": totals,
        "verdict": verdict,
        "tone": tone,
        "problems": list(result.problems),
        "crosschecked": bool(result.clean.get("KBF")) and bool(result.clean.get("KBD")),
    }


# --------------------------------------------------------------------------- 2. deliveries

def delivery_rows(deliveries) -> list[dict]:
    rows = []
    for d in deliveries:
        info = d.as_dict()
        counts = info["findings"]
        status = "error" if counts["error"] else "warning" if counts["warning"] else "ok"
        rows.append({
            "entry": info["entry_number"] or "",
            "source": info["source"] or "",
            "parish": info["parish"] or "",
            "years": year_span(info["years"]),
            "rows": info["rows"],
            "error": counts["error"],
            "warning": counts["warning"],
            "info": counts["info"],
            "status": status,
            "files": [(f.get("name") or "", f.get("encoding") or "") for f in info["files"]],
        })
    rows.sort(key=lambda r: (-r["error"], -r["warning"], -r["info"], r["entry"]))
    return rows


# --------------------------------------------------------------------------- 3. codes

def code_rows(findings: pd.DataFrame) -> list[dict]:
    if findings.empty:
        return []
    entry = findings["entry_number"].astype("string").fillna("")
    table = (findings.assign(_entry=entry)
             .groupby(["code", "severity"], sort=False)
             .agg(count=("code", "size"), deliveries=("_entry", "nunique"))
             .reset_index())
    table["_rank"] = table["severity"].map(SEVERITY_RANK).fillna(len(SEVERITIES))
    table = table.sort_values(["_rank", "count", "code"], ascending=[True, False, True], kind="stable")
    rows = []
    for code, severity, count, n_deliveries in table[["code", "severity", "count", "deliveries"]].itertuples(
            index=False, name=None):
        known = CATALOGUE.get(code)
        rows.append({
            "code": code,
            "severity": severity,
            "title": known.title if known else "",
            "action": known.action if known else "",
            "count": int(count),
            "deliveries": int(n_deliveries),
        })
    return rows


# --------------------------------------------------------------------------- 4. gaps

def gap_rows(parts: list[pd.DataFrame]) -> Capped:
    gaps = concat(parts)
    if gaps.empty:
        return Capped([], 0)
    gaps = gaps.assign(_before=pd.to_numeric(gaps["before"], errors="coerce"))
    gaps = gaps.sort_values(["entry_number", "book", "year", "sex", "_before"], kind="stable")
    total = len(gaps)
    shown = gaps.head(MAX_GAP_ROWS)
    after, before = as_whole_numbers(shown["after"]), as_whole_numbers(shown["before"])
    between = (after + " and " + before).where(after != "", "start of section and " + before)
    sex = as_text(shown["sex"])
    table = pd.DataFrame({
        "entry": as_text(shown["entry_number"]),
        "book": as_text(shown["book"]),
        "year": as_whole_numbers(shown["year"]),
        "sex": sex.map(SEX_WORDS).fillna(sex),
        "missing": as_text(shown["missing"]),
        "count": as_whole_numbers(shown["count"]),
        "between": between,
        "page": as_text(shown["page"]),
        "line": as_whole_numbers(shown["line"]),
    })
    return Capped(table.to_dict("records"), total)


def missing_total(parts: list[pd.DataFrame]) -> int:
    counts = [pd.to_numeric(p["count"], errors="coerce").sum() for p in parts if len(p) and "count" in p]
    return int(sum(counts))


CROSS_TITLES = {"BIRTH_NOT_KEYED_KBD": "buried, no birth", "BIRTH_NOT_KEYED_FT": "in the census, no birth",
                "DUPLICATE_ACROSS_DELIVERIES": "registered twice",
                "DUPLICATE_DEATH_ACROSS_DELIVERIES": "death registered twice", "BOOK_DELIVERED_TWICE": "book delivered twice",
                "CROSSCHECK_REVIEW": "to decide"}
MAX_CROSS_ROWS = 500


def cross_rows(cross_findings: list[dict]) -> Capped:
    """The cross-source findings: the record (or book) they are on, the record on the
    other side, the score and the rules' version."""
    rows = []
    for f in cross_findings[:MAX_CROSS_ROWS]:
        o = f.get("other") or {}
        rows.append({
            "kind": CROSS_TITLES.get(f["code"], f["code"]), "code": f["code"], "entry": f.get("entry_number") or "",
            "loebe": "" if f.get("loebe_nr") is None else f"{f['loebe_nr']:,}",
            "other": " ".join(str(x) for x in (o.get("source"), o.get("entry_number"),
                                                 "" if o.get("loebe_nr") is None else f"running number {o['loebe_nr']}")
                              if x),
            "score": "" if f.get("score") is None else f"{f['score']:.3f}", "message": f.get("message") or "",
            "version": f.get("rule_version") or ""})
    return Capped(rows, len(cross_findings))


# --------------------------------------------------------------------------- 5. duplicates

def _duplicate_fields(frame: pd.DataFrame) -> list[str]:
    known = [name for name in DUPLICATE_FIELDS if f"{name}_a" in frame and f"{name}_b" in frame]
    others = [c[:-2] for c in frame.columns
              if c.endswith("_a") and c[:-2].isupper() and f"{c[:-2]}_b" in frame and c[:-2] not in known]
    return known + others


def duplicate_pairs(parts: list[pd.DataFrame]) -> Capped:
    dups = concat(parts)
    if dups.empty:
        return Capped([], 0)
    dups = dups.assign(_line=pd.to_numeric(dups["line_a"], errors="coerce"))
    dups = dups.sort_values(["entry_number", "file", "_line"], kind="stable")
    total = len(dups)
    shown = dups.head(MAX_DUPLICATE_PAIRS).reset_index(drop=True)
    names = _duplicate_fields(shown)
    sides = {(name, side): as_text(shown[f"{name}_{side}"]).tolist() for name in names for side in "ab"}
    entry, file = as_text(shown["entry_number"]).tolist(), as_text(shown["file"]).tolist()
    line_a, line_b = as_whole_numbers(shown["line_a"]).tolist(), as_whole_numbers(shown["line_b"]).tolist()
    similarity = pd.to_numeric(shown["similarity"], errors="coerce")
    pairs = []
    for i in range(len(shown)):
        cells = []
        for name in names:
            a, b = sides[(name, "a")][i], sides[(name, "b")][i]
            cells.append({"label": DUPLICATE_FIELDS.get(name, name), "a": a, "b": b, "differs": a != b})
        sim = similarity.iloc[i]
        pairs.append({
            "entry": entry[i], "file": file[i], "line_a": line_a[i], "line_b": line_b[i],
            "similarity": "" if pd.isna(sim) else f"{sim:.2f}",
            "fields": cells,
            "differences": sum(c["differs"] for c in cells),
        })
    return Capped(pairs, total)


# --------------------------------------------------------------------------- 6. pages

def page_rows(findings: pd.DataFrame) -> Capped:
    if findings.empty:
        return Capped([], 0)
    pages = findings[findings["code"].isin(PAGE_CODES).to_numpy(dtype=bool)]
    if pages.empty:
        return Capped([], 0)
    shown = pages.head(MAX_PAGE_ROWS)
    table = pd.DataFrame({
        "entry": as_text(shown["entry_number"]),
        "file": as_text(shown["file"]),
        "page": as_text(shown["page"]),
        "line": as_whole_numbers(shown["line"]),
        "loebe_nr": as_whole_numbers(shown["loebe_nr"]),
        "code": as_text(shown["code"]),
        "message": as_text(shown["message"]),
    })
    return Capped(table.to_dict("records"), len(pages))


# --------------------------------------------------------------------------- 8. all findings

_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;"))


def escaped(values: pd.Series) -> pd.Series:
    """Column-wise HTML escaping, the same replacements Jinja's autoescape makes."""
    out = as_text(values)
    for char, entity in _ENTITIES:
        out = out.str.replace(char, entity, regex=False)
    return out


def _finding_rows_html(shown: pd.DataFrame) -> list[str]:
    """One ``<tr>`` per finding, built column-wise: a large run prints tens of thousands
    of these, which a template loop would take seconds over.  Every cell is escaped; codes
    may break at their underscores when printed."""
    severity = escaped(shown["severity"])
    code = escaped(shown["code"])
    titles = escaped(pd.Series({c: e.title for c, e in CATALOGUE.items()}, dtype="string"))
    title = code.map(titles.to_dict()).fillna("")
    word = severity.map(SEVERITY_WORD).fillna(severity)
    fixed = shown["auto_fix"].fillna(False).astype(bool).map({True: "yes", False: ""}).astype("string")
    rows = ('<tr class="row-' + severity + '"><td>' + escaped(shown["file"])
            + '</td><td class="num">' + as_whole_numbers(shown["line"])
            + '</td><td class="num">' + as_whole_numbers(shown["loebe_nr"])
            + "</td><td>" + escaped(shown["field"])
            + "</td><td>" + escaped(shown["page"])
            + '</td><td class="code" title="' + title + '">' + code.str.replace("_", "_<wbr>", regex=False)
            + '</td><td><span class="sev sev-' + severity + '">' + word
            + '</span></td><td class="msg">' + escaped(shown["message"])
            + "</td><td>" + escaped(shown["suggestion"])
            + "</td><td>" + fixed + "</td></tr>")
    return rows.tolist()


def finding_groups(findings: pd.DataFrame, delivery_order: list[str]) -> tuple[list[FindingGroup], int]:
    """Findings per delivery, in the delivery table's order, each group capped.

    When a group is cut, the most serious findings are the ones kept (then file order).
    Returns the groups and the number of findings left out in all.
    """
    if findings.empty:
        return [], 0
    f = findings.reset_index(drop=True)
    entry = f["entry_number"].astype("string").fillna("(no entry number)")
    position = {e: i for i, e in enumerate(dict.fromkeys(delivery_order))}
    for e in sorted(set(entry.unique()) - set(position)):
        position[e] = len(position)
    group = entry.map(position).to_numpy(dtype=np.int64)
    severity = f["severity"].astype("string").fillna("")
    rank = severity.map(SEVERITY_RANK).fillna(len(SEVERITIES)).to_numpy(dtype=np.int64)
    order = pd.DataFrame({"g": group, "s": rank, "p": np.arange(len(f))}).sort_values(["g", "s", "p"])
    within = order.groupby("g", sort=False).cumcount().to_numpy()
    kept = order[within < MAX_FINDINGS_PER_DELIVERY].head(MAX_FINDINGS_TOTAL).sort_values(["g", "p"])
    rows = _finding_rows_html(f.iloc[kept["p"].to_numpy()])

    totals = pd.Series(group).value_counts().sort_index()
    shown_per_group = pd.Series(kept["g"].to_numpy()).value_counts()
    by_severity = pd.crosstab(pd.Series(group, name="g"), severity.to_numpy())
    names = {i: e for e, i in position.items()}
    groups, start = [], 0
    for g, total in totals.items():
        n = int(shown_per_group.get(g, 0))
        counts = {s: int(by_severity.at[g, s]) if s in by_severity.columns else 0 for s in SEVERITIES}
        groups.append(FindingGroup(names[g], int(total), counts, n, Markup("\n".join(rows[start:start + n]))))
        start += n
    return groups, len(f) - len(rows)
