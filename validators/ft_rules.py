"""Record and set rules of censuses (FT): the census day, ages against birth dates, the
names linkage needs, and the households (``validators.households``).

Census layouts differ by year and by who keyed them (KIIP's 1921-1965 layout, the DDD
downloads of older censuses); by the time these rules run, the alias table and the
field checkers have brought them to one set of clean columns.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from validators import households
from validators.fields import age_in_years
from validators.record_rules import _dates, _year, completed_years
from validators.sources import Source

MAX_AGE = 110
UNNAMED = r"udøbt|unavngiv|dødfødt|barn\b|uden navn"
# A patronymic written in two words ("Peders Datter") is one surname.
_PATRONYMIC_END = {"datter", "dater", "søn", "søen", "sen"}
_MAIDEN_NAME = re.compile(r"\s+(?:f\.|f|født|fød\.)\s+.*$", re.I)


DATA_ENV = "MGR_CENSUS_DATA"  # a folder whose census_*.csv files add to the project's own


def _table_rows(name: str) -> list[dict[str, str]]:
    """The rows of ``data/<name>`` and then of ``$MGR_CENSUS_DATA/<name>`` (later rows win)."""
    texts = [resources.files("validators").joinpath(f"data/{name}").read_text(encoding="utf-8")]
    own = os.environ.get(DATA_ENV)
    if own and (Path(own) / name).is_file():
        texts.append((Path(own) / name).read_text(encoding="utf-8"))
    rows = []
    for text in texts:
        lines = (line for line in text.splitlines() if line.strip() and not line.startswith("#"))
        rows.extend(csv.DictReader(lines, delimiter=";"))
    return rows


@cache
def census_dates() -> dict[int, str]:
    """Census year -> reference day (YYYYMMDD) from ``data/census_dates.csv``."""
    return {int(r["year"]): r["date"].strip() for r in _table_rows("census_dates.csv")}


@dataclass(frozen=True)
class CensusSchema:
    version: str
    first_year: int
    last_year: int
    fields: tuple[str, ...]
    households: str  # position | order | kiip


@cache
def census_schemas() -> tuple[CensusSchema, ...]:
    """The versions of ``data/census_schemas.csv``; a later row for the same version replaces it."""
    by_version: dict[str, CensusSchema] = {}
    for r in _table_rows("census_schemas.csv"):
        by_version[r["version"].strip()] = CensusSchema(r["version"].strip(), int(r["first_year"]),
                                                        int(r["last_year"]), tuple(r["fields"].split()),
                                                        r["households"].strip())
    return tuple(by_version.values())


def schema_for(year: int | None) -> CensusSchema | None:
    """The schema that reads a census year: the narrowest version covering it."""
    if year is None:
        return None
    fits = [s for s in census_schemas() if s.first_year <= year <= s.last_year]
    return min(fits, key=lambda s: s.last_year - s.first_year) if fits else None


def clear_caches() -> None:
    """Forget the census tables read so far (after ``$MGR_CENSUS_DATA`` changed)."""
    census_dates.cache_clear()
    census_schemas.cache_clear()


def surname_of(full_name: str) -> str:
    """The surname in a name keyed in one field: the last word, before a maiden name
    ('Karen Marie Pedersen F. Jensen' -> 'Pedersen'); a two-word patronymic is joined
    ('Maren Peders Datter' -> 'Pedersdatter')."""
    words = _MAIDEN_NAME.sub("", full_name or "").split()
    if not words:
        return ""
    if len(words) > 2 and words[-1].casefold() in _PATRONYMIC_END:
        return words[-2] + words[-1].lower()
    return words[-1]


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[col].astype("string")


def _arrow(frame: pd.DataFrame, col: str) -> pa.Array:
    if col not in frame:
        return pa.nulls(len(frame), pa.string())
    return pa.array(frame[col].array, type=pa.string(), from_pandas=True)


def _blank_is_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def names(frame: pd.DataFrame) -> None:
    """``NAVN_SAMLET`` (the whole name), ``EFTERNAVN_UDLEDT`` (the surname, from its own
    field or from the whole name) and ``_SURNAME`` (lower case, for comparisons)."""
    parts = [pc.fill_null(_arrow(frame, c), "") for c in ("FORNAVN_REN", "MELLEMNAVNE_REN", "EFTERNAVN_REN")]
    joined = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.binary_join_element_wise(*parts, " "), r"\s+", " "))
    joined = _blank_is_null(joined)
    full = _arrow(frame, "FULDT_NAVN_REN")
    frame["NAVN_SAMLET"] = pd.arrays.ArrowStringArray(pc.coalesce(full, joined))
    own = pc.coalesce(_arrow(frame, "EFTERNAVN_UDEN_KLAMMER"), _arrow(frame, "EFTERNAVN_REN"))
    if full.null_count < len(full):
        codes, uniques = pd.factorize(pd.Series(full.to_pandas()), sort=False)
        derived = np.array([surname_of(u) for u in uniques] + [""], dtype=object)[codes]
        own = pc.coalesce(own, _blank_is_null(pa.array(derived, type=pa.string())))
    frame["EFTERNAVN_UDLEDT"] = pd.arrays.ArrowStringArray(own)
    frame["_SURNAME"] = pd.arrays.ArrowStringArray(pc.utf8_lower(own))


def census_day(frame: pd.DataFrame) -> pd.Series:
    """``TAELLINGSDATO`` per row: the census year from the rows, else the delivery's FRA_AAR."""
    year = frame["TAELLINGSAAR_REN"] if "TAELLINGSAAR_REN" in frame else pd.Series(
        pd.NA, index=frame.index, dtype="Int64")
    if "_FRA_AAR" in frame:
        year = year.fillna(frame["_FRA_AAR"])
    year = year.astype("Int64")
    frame["_CENSUS_YEAR"] = year
    codes, years = pd.factorize(year, use_na_sentinel=True)
    days = census_dates()
    iso = [f"{d[:4]}-{d[4:6]}-{d[6:]}" if (d := days.get(int(y))) else None for y in years] + [None]
    frame["TAELLINGSDATO"] = pd.array(np.array(iso, dtype=object)[codes], dtype="string")
    versions = [(schema.version if (schema := schema_for(int(y))) else None) for y in years] + [None]
    frame["SKEMA_VERSION"] = pd.array(np.array(versions, dtype=object)[codes], dtype="string")
    stamps = pd.to_datetime(pd.Series(iso, dtype=object), format="%Y-%m-%d", errors="coerce").to_numpy()
    return pd.Series(stamps[codes], index=frame.index).astype("datetime64[s]")


def ages(frame: pd.DataFrame, fb, census: pd.Series) -> None:
    """``ALDER_BEREGNET``: the stated age, else the age the birth date gives on the census
    day; the stated age, birth date, birth year and census day checked against each other."""
    born = _dates(frame, "FOEDSELSDAG_ISO")
    birth_year = _year(frame, "FOEDSELSDAG_REN")
    year_field = frame["FOEDEAAR_REN"] if "FOEDEAAR_REN" in frame else pd.Series(pd.NA, index=frame.index,
                                                                                  dtype="Int64")
    exact = completed_years(born, census)
    apart = frame["_CENSUS_YEAR"] - birth_year.fillna(year_field)
    hi, lo = exact.fillna(apart), exact.fillna(apart - 1)
    stated = frame["ALDER_REN"] if "ALDER_REN" in frame else pd.Series(pd.NA, index=frame.index, dtype="Int64")

    after = (born > census) | (birth_year > frame["_CENSUS_YEAR"]).fillna(False)  # NaT > a day is False
    idx = frame.index[after.to_numpy(dtype=bool)]
    if len(idx):
        fb.at(idx, "DATE_OUT_OF_RANGE", "born " + frame.loc[idx, "FOEDSELSDAG_REN"].astype(str)
              + ", after the census of " + frame.loc[idx, "_CENSUS_YEAR"].astype(str), "FOEDSELSDAG")
    mismatch = (~after & stated.notna() & hi.notna() & ((stated < lo - 1) | (stated > hi + 1))).fillna(False)
    idx = frame.index[mismatch.to_numpy(dtype=bool)]
    if len(idx):
        given = lo[idx].astype(str).where(lo[idx] == hi[idx], lo[idx].astype(str) + "-" + hi[idx].astype(str))
        fb.at(idx, "AGE_DATE_MISMATCH", "age stated " + stated[idx].astype(str) + ", the birth date gives "
              + given + " on the census day", "ALDER")
    both = (year_field.notna() & birth_year.notna() & (year_field != birth_year)).fillna(False)
    idx = frame.index[both.to_numpy(dtype=bool)]
    if len(idx):
        fb.at(idx, "AGE_DATE_MISMATCH", "birth year " + year_field[idx].astype(str) + " but birth date "
              + frame.loc[idx, "FOEDSELSDAG_REN"].astype(str), "FOEDEAAR", birth_year[idx].astype(str))
    # With the year only, the age is the year apart or one less: take the lower on an
    # early census day (most birthdays still to come), else the higher.
    early = (census.dt.month < 7).fillna(True)
    estimate = (apart - early.astype("Int64")).where(exact.isna(), exact)
    frame["ALDER_BEREGNET"] = stated.fillna(estimate.where(~after)).astype("Int64")
    frame["ALDER_I_AAR"] = years_stated(frame)
    old = (frame["ALDER_BEREGNET"] > MAX_AGE).fillna(False) & ~mismatch
    idx = frame.index[old.to_numpy(dtype=bool)]
    if len(idx):
        fb.at(idx, "AGE_IMPLAUSIBLE", "aged " + frame.loc[idx, "ALDER_BEREGNET"].astype(str)
              + f" at the census (more than {MAX_AGE})", "ALDER" if "ALDER_REN" in frame else "FOEDSELSDAG")


def years_stated(frame: pd.DataFrame) -> pd.Series:
    """``ALDER_I_AAR``: the stated age in years with its fraction ('3 Mdr' 0.25, ',500'
    0.5), for the infants whose whole-year age is 0; the raw text stays in ``ALDER``."""
    if "ALDER" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="Float64")
    codes, uniques = pd.factorize(frame["ALDER"], use_na_sentinel=True)
    values = np.array([age_in_years(u) for u in uniques] + [None], dtype=object)
    return pd.Series(pd.array(values[codes].tolist(), dtype="Float64"), index=frame.index)


def record_rules(frame: pd.DataFrame, source: Source, fb) -> None:
    names(frame)
    census = census_day(frame)
    ages(frame, fb, census)
    frame["BOR_ANDETSTEDS"] = (_text(frame, "BOPAEL_ANDETSTEDS").fillna("").str.strip() != "").astype(bool)
    frame["LAYOUT"] = _text(frame, "_LAYOUT").fillna("kiip_ft")
    frame["STANDARDISERET"] = (frame["_STANDARDISERET"].fillna(False).astype(bool) if "_STANDARDISERET" in frame
                               else pd.Series(False, index=frame.index))


def duplicates(frame: pd.DataFrame, fb) -> pd.DataFrame:
    """A person keyed twice in one household: same name, sex and birth date (or age)."""
    columns = [c for c in ("HUSSTAND_ID", "NAVN_SAMLET", "KOEN_REN", "FOEDSELSDAG_REN", "ALDER_BEREGNET") if c in frame]
    codes = {c: pd.factorize(frame[c], use_na_sentinel=True) for c in columns}
    name_codes, names_seen = codes["NAVN_SAMLET"]
    # Unnamed infants ('Udøbt Pigebarn') are often twins: the same placeholder is no duplicate.
    unnamed = np.array([bool(re.search(UNNAMED, str(v).lower())) for v in names_seen] + [True])
    usable = ~unnamed[name_codes]
    dated = np.zeros(len(frame), dtype=bool)
    for c in ("FOEDSELSDAG_REN", "ALDER_BEREGNET"):
        if c in codes:
            dated |= codes[c][0] >= 0
    rows = np.flatnonzero(usable & dated)
    if not len(rows):
        return pd.DataFrame()
    key = pd.DataFrame({c: codes[c][0][rows] for c in columns}, index=frame.index[rows])
    again = key.duplicated(keep="first").to_numpy()
    if not again.any():
        return pd.DataFrame()
    first = pd.Series(key.index, index=key.index).groupby([key[c] for c in columns], sort=False).transform("first")
    b = key.index[again]
    a = first[b].to_numpy()
    msg = pd.Series([f"same person as line {la} (LOEBE_NR {na}), similarity 1.00"
                     for la, na in zip(frame.loc[a, "_line"], frame.loc[a, "LOEBE_NR"])], index=b)
    fb.at(b, "DUPLICATE_RECORD", msg, None)
    return pd.DataFrame({"entry_number": frame.loc[a, "_delivery"].to_numpy(), "file": frame.loc[a, "_file"].to_numpy(),
                         "row_a": a, "row_b": b.to_numpy(), "line_a": frame.loc[a, "_line"].to_numpy(),
                         "line_b": frame.loc[b, "_line"].to_numpy(), "similarity": 1.0})


def set_rules(frame: pd.DataFrame, source: Source, fb, options: dict) -> dict:
    from validators.set_rules import running_numbers

    running_numbers(frame, fb)
    household = households.assign_households(frame)
    children = households.form_families(frame, fb, household)
    return {"duplicates": duplicates(frame, fb), "ft_children": children}
