"""Births and deaths checked against each other: who died before CPR, and which births
were never keyed.

A child's death in a book of deaths (KBD) and its birth in a book of births (KBF) are the
same person when they agree on the birth date (or on it with day and month swapped), on
sex, and closely enough on the child's and the parents' names.  From the pairs:

* ``DOED_FOER_CPR`` - a KBF child matched to a death before 2 April 1968 gets the death
  date in the clean table (and the KBD key in ``DOED_FOER_CPR_KILDE``), so the linkage
  does not look for it in CPR;
* ``BIRTH_NOT_KEYED_KBD`` - a child who died under 15, born in a parish during the years
  a KBF book of that parish covers (the birth years of its records), with no birth in
  that book: a missing child no entry-number gap shows.  The finding is on the KBF book,
  with the death as ``other``;
* ``CROSSCHECK_REVIEW`` - a score in the band around the threshold, or two births that
  fit one death almost equally: a person decides, the check does not.

Thresholds and weights are data (``data/crosscheck_rules.csv``) with a version that every
finding carries (``rule_version``).  Names are compared on the name database's standard
names (``*_GRUNDNAVN``), so Christian and Kristian are one name and twins or cousins of
one name are told apart by their first names and their parents.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler

CPR_START = date(1968, 4, 2)
CROSS_COLUMNS = ("DOED_FOER_CPR", "DOED_FOER_CPR_KILDE")


@dataclass(frozen=True)
class Rules:
    version: str
    threshold: float
    band: float
    margin: float
    child_age: int
    weights: dict[str, float]


@cache
def rules() -> Rules:
    text = resources.files("validators").joinpath("data/crosscheck_rules.csv").read_text(encoding="utf-8")
    rows = {r["parameter"]: r["value"] for r in
            csv.DictReader((line for line in text.splitlines() if line.strip() and not line.startswith("#")),
                           delimiter=";")}
    return Rules(rows["version"], float(rows["threshold"]), float(rows["review_band"]), float(rows["margin"]),
                 int(rows["child_age_under"]),
                 {k.removeprefix("weight_"): float(v) for k, v in rows.items() if k.startswith("weight_")})


def _first_word(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    words = str(value).split()
    return words[0] if words else ""


def _last_word(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    words = str(value).split()
    return words[-1] if words else ""


def _swapped(iso: str | None) -> str | None:
    if not isinstance(iso, str) or len(iso) != 10:
        return None
    y, m, d = iso[:4], iso[5:7], iso[8:]
    if m == d:
        return None
    try:
        date(int(y), int(d), int(m))
    except ValueError:
        return None
    return f"{y}-{d}-{m}"


def _births(kbf: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "b_row": np.arange(len(kbf)), "entry": kbf["INDTASTNINGSNUMMER"].astype(str).to_numpy(),
        "loebe": kbf["LOEBE_NR"].to_numpy(), "file": kbf["KILDEFIL"].to_numpy(), "line": kbf["LINJE"].to_numpy(),
        "date": kbf["FOEDSELSDATO_NOEGLE"].to_numpy(dtype=object), "sex": kbf["KOEN_REN"].to_numpy(dtype=object),
        "first": kbf["FORNAVN_GRUNDNAVN"].map(_first_word).to_numpy(),
        "surname": kbf["EFTERNAVN_GRUNDNAVN"].map(_last_word).to_numpy(),
        "father": kbf.get("FADERS_FORNAVN_GRUNDNAVN", pd.Series(None, index=kbf.index)).map(_first_word).to_numpy(),
        "mother": kbf.get("MODERS_FORNAVN_GRUNDNAVN", pd.Series(None, index=kbf.index)).map(_first_word).to_numpy(),
        "parish": kbf["FOEDESTED_SOGNEKODE"].to_numpy(dtype=object) if "FOEDESTED_SOGNEKODE" in kbf else None,
    })


def _deaths(kbd: pd.DataFrame) -> pd.DataFrame:
    age = kbd["ALDER_VED_DOED"] if "ALDER_VED_DOED" in kbd else pd.Series(pd.NA, index=kbd.index)
    return pd.DataFrame({
        "d_row": np.arange(len(kbd)), "entry": kbd["INDTASTNINGSNUMMER"].astype(str).to_numpy(),
        "loebe": kbd["LOEBE_NR"].to_numpy(), "file": kbd["KILDEFIL"].to_numpy(), "line": kbd["LINJE"].to_numpy(),
        "date": kbd["FOEDSELSDATO_NOEGLE"].to_numpy(dtype=object), "sex": kbd["KOEN_REN"].to_numpy(dtype=object),
        "died": kbd["DOEDSDATO_ISO"].to_numpy(dtype=object) if "DOEDSDATO_ISO" in kbd else None,
        "age": pd.to_numeric(age, errors="coerce").to_numpy(),
        "first": kbd["FORNAVN_GRUNDNAVN"].map(_first_word).to_numpy(),
        "surname": kbd["EFTERNAVN_GRUNDNAVN"].map(_last_word).to_numpy(),
        "father": kbd.get("FADERS_NAVN_GRUNDNAVN", pd.Series(None, index=kbd.index)).map(_first_word).to_numpy(),
        "mother": kbd.get("MODERS_NAVN_GRUNDNAVN", pd.Series(None, index=kbd.index)).map(_first_word).to_numpy(),
        "parish": kbd["FOEDESTED_SOGNEKODE"].to_numpy(dtype=object) if "FOEDESTED_SOGNEKODE" in kbd else None,
    })


def score_pairs(pairs: pd.DataFrame, r: Rules) -> np.ndarray:
    """The weighted Jaro-Winkler similarity of each pair's names; a part missing on either
    side (no parents in one book) leaves the weight of the others."""
    total = np.zeros(len(pairs))
    weight = np.zeros(len(pairs))
    for part, w in r.weights.items():
        a, b = pairs[f"{part}_b"].to_numpy(), pairs[f"{part}_d"].to_numpy()
        present = np.array([bool(x) and bool(y) for x, y in zip(a, b)])
        sim = np.array([JaroWinkler.similarity(x, y) if p else 0.0 for x, y, p in zip(a, b, present)])
        total += w * sim
        weight += w * present
    return np.where(weight > 0, total / np.maximum(weight, 1e-9), 0.0)


@dataclass
class CrossResult:
    findings: list[dict]
    died_before_cpr: pd.DataFrame  # b_row -> DOED_FOER_CPR, DOED_FOER_CPR_KILDE
    pairs: pd.DataFrame  # every scored pair (for inspection)


def _where(side: pd.Series) -> dict:
    return {"entry_number": side["entry"], "loebe_nr": int(side["loebe"]), "file": side["file"],
            "line": int(side["line"])}


def crosscheck(kbf: pd.DataFrame, kbd: pd.DataFrame, books: dict[str, dict] | None = None) -> CrossResult:
    """Check clean KBF and KBD tables (with their match keys) against each other.

    ``books``: KBF entry number -> {"parish": parish code} for the books whose missing
    births are looked for (default: every KBF book, its parish the most common birth-parish
    code of its records)."""
    from validators.catalogue import CATALOGUE

    r = rules()
    b, d = _births(kbf), _deaths(kbd)
    d = d[d["date"].notna() & d["sex"].notna()]
    swapped = d.assign(date=d["date"].map(_swapped), how="dag_maaned_byttet").dropna(subset=["date"])
    blocks = pd.concat([d.assign(how="samme_dato"), swapped], ignore_index=True)
    pairs = blocks.merge(b, on=["date", "sex"], suffixes=("_d", "_b"))
    pairs["score"] = score_pairs(pairs, r) if len(pairs) else np.zeros(0)
    pairs.loc[pairs["how"] == "dag_maaned_byttet", "score"] -= 0.02  # a swapped date counts a little against
    lo, hi = r.threshold - r.band, r.threshold + r.band
    findings: list[dict] = []

    def finding(code: str, message: str, on: dict, other: dict, score: float | None) -> dict:
        return {"code": code, "severity": CATALOGUE[code].severity.value, "source": "KBF", "field": None, "page": None,
                "message": message, "suggestion": None, "auto_fix": False, **on,
                "other": {"source": "KBD", **other}, "score": None if score is None else round(float(score), 4),
                "rule_version": r.version}

    decided: dict[int, pd.Series] = {}  # d_row -> the matching pair
    reviewed: set[int] = set()
    for d_row, group in pairs.groupby("d_row", sort=True):
        group = group.sort_values("score", ascending=False)
        best = group.iloc[0]
        second = group.iloc[1]["score"] if len(group) > 1 else 0.0
        on = _where(best.rename(lambda k: k.removesuffix("_b")).loc[["entry", "loebe", "file", "line"]])
        other = _where(best.rename(lambda k: k.removesuffix("_d")).loc[["entry", "loebe", "file", "line"]])
        if best["score"] >= hi and best["score"] - second >= r.margin:
            decided[d_row] = best
        elif best["score"] >= lo:
            reviewed.add(d_row)
            why = ("two births fit this death almost equally" if best["score"] >= hi
                   else "the score is in the review band around the threshold")
            findings.append(finding("CROSSCHECK_REVIEW", f"KBD {other['entry_number']} running number "
                                    f"{other['loebe_nr']} may be this child ({why}; score {best['score']:.3f}, "
                                    f"threshold {r.threshold:.2f} ± {r.band:.2f})", on, other, best["score"]))
    rows = []
    for d_row, best in decided.items():
        died = best["died"]
        if isinstance(died, str) and len(died) == 10 and date.fromisoformat(died) < CPR_START:
            rows.append({"b_row": int(best["b_row"]), "DOED_FOER_CPR": died,
                         "DOED_FOER_CPR_KILDE": f"{best['entry_d']}:{int(best['loebe_d'])}", "score": best["score"]})
    died_before = pd.DataFrame(rows, columns=["b_row", *CROSS_COLUMNS, "score"])
    if len(died_before):
        died_before = died_before.sort_values("score", ascending=False).drop_duplicates("b_row")

    # Missing births: children's deaths no birth matched, born where and when a book covers.
    if books is None:
        books = {}
        births_by_book = b.groupby("entry")
        for entry, group in births_by_book:
            codes = pd.Series(group["parish"]).dropna()
            if len(codes):
                books[entry] = {"parish": codes.mode().iloc[0]}
    years = b.assign(year=pd.to_numeric(pd.Series(b["date"]).str.slice(0, 4), errors="coerce")).groupby("entry")["year"]
    span = {e: (int(lo_), int(hi_)) for e, lo_, hi_ in zip(years.min().index, years.min(), years.max())
            if pd.notna(lo_)}
    by_parish: dict[str, list[str]] = {}
    for entry, info in books.items():
        if info.get("parish") and entry in span:
            by_parish.setdefault(info["parish"], []).append(entry)
    for _, death in d.iterrows():
        if death["d_row"] in decided or death["d_row"] in reviewed:
            continue
        if not (pd.notna(death["age"]) and death["age"] < r.child_age):
            continue
        year = int(death["date"][:4]) if isinstance(death["date"], str) and death["date"][:4].isdigit() else None
        for entry in by_parish.get(death["parish"], []):
            first, last = span[entry]
            if year is not None and first <= year <= last:
                near = pairs.loc[pairs["d_row"] == death["d_row"], "score"]
                other = _where(death.loc[["entry", "loebe", "file", "line"]])
                findings.append(finding(
                    "BIRTH_NOT_KEYED_KBD", f"a child born {death['date']} in the parish and buried "
                    f"({other['entry_number']} running number {other['loebe_nr']}) has no birth in {entry} "
                    f"(births {first}-{last})", {"entry_number": entry, "loebe_nr": None, "file": None, "line": None},
                    other, near.max() if len(near) else None))
    return CrossResult(findings, died_before, pairs)


def add_died_before_cpr(kbf: pd.DataFrame, result: CrossResult) -> pd.DataFrame:
    """The KBF table with ``DOED_FOER_CPR`` (YYYY-MM-DD or null) and ``DOED_FOER_CPR_KILDE``
    (the KBD entry number and running number)."""
    out = kbf.copy()
    for column in CROSS_COLUMNS:
        values = np.full(len(out), None, dtype=object)
        if len(result.died_before_cpr):
            values[result.died_before_cpr["b_row"].to_numpy(dtype=np.int64)] = result.died_before_cpr[column].to_numpy()
        out[column] = pd.array(values, dtype="string")
    return out
