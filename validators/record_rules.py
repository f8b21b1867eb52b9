"""Record rules: checks that compare fields of one record, vectorised over a frame.

They read the clean columns the field phase made (``*_REN``, ``*_ISO``) and never the
raw text, so a value is interpreted in exactly one place; the one exception reads a raw
date the field check could not decide, with the book's years that decide it
(``dates_from_book_years``).
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from validators.sources import Source

REMARK_FIELDS = ("ANMAERKNINGER", "KILDEBEMAERKNINGER", "INDTASTERS_BEMAERKNINGER")
PARENT_AGE_LIMITS = {"MODERS": (14, 50), "FADERS": (15, 80)}


def _year(frame: pd.DataFrame, col: str) -> pd.Series:
    """Year of a cleaned date column, when its four year digits are known."""
    hidden = f"_{col.removesuffix('_REN')}_YEAR"
    if hidden in frame:
        return frame[hidden]
    if col not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="Int64")
    s = frame[col].astype("string")
    year = s.str.slice(0, 4)
    return pd.to_numeric(year.where(year.str.fullmatch(r"\d{4}").fillna(False)), errors="coerce").astype("Int64")


def _dates(frame: pd.DataFrame, col: str) -> pd.Series:
    hidden = f"_{col.removesuffix('_ISO')}_DT"
    if hidden in frame:
        return frame[hidden]
    if col not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
    return pd.to_datetime(frame[col], format="%Y-%m-%d", errors="coerce")


def completed_years(born: pd.Series, at: pd.Series) -> pd.Series:
    """Age in whole years at a date (NA where either date is unknown)."""
    years = at.dt.year - born.dt.year
    before_birthday = (at.dt.month < born.dt.month) | ((at.dt.month == born.dt.month) & (at.dt.day < born.dt.day))
    return (years - before_birthday.astype("Int64")).astype("Int64")


def registration_year(frame: pd.DataFrame, fb, event_col: str, verb: str = "born") -> None:
    reg = frame["KALENDERAAR_REN"]
    born = _year(frame, f"{event_col}_REN")
    diff = reg - born
    bad = diff.notna() & ~diff.isin([0, 1])
    idx = frame.index[bad.fillna(False).to_numpy(dtype=bool)]
    if len(idx):
        msg = ("registration year " + reg[idx].astype(str) + f" but {verb} " + born[idx].astype(str))
        fb.at(idx, "KALENDERAAR_INCONSISTENT", msg, "KALENDERAAR")
    # A one-digit year (keyed '1' for 1921): suggest the birth year's decade.
    raw = frame["KALENDERAAR"].astype("string").str.strip()
    short = raw.str.fullmatch(r"\d{1,2}").fillna(False) & born.notna()
    if short.any():
        idx = frame.index[short.to_numpy(dtype=bool)]
        digits = pd.to_numeric(raw[idx]).astype("Int64")
        guess = born[idx] // 10 * 10 + digits % 10
        # The year the digit stands for, if it is the birth year or the next.
        fits = ((guess - born[idx]).isin([0, 1])).to_numpy(dtype=bool)
        fb.suggest("KALENDERAAR_INCONSISTENT", guess[fits].astype(str))


def date_range(frame: pd.DataFrame, fb, event_col: str, verb: str = "born") -> None:
    if "_FRA_AAR" not in frame:
        return
    year = _year(frame, f"{event_col}_REN")
    lo = frame["_FRA_AAR"] - 1
    hi = frame["_TIL_AAR"]
    bad = year.notna() & ((lo.notna() & (year < lo)) | (hi.notna() & (year > hi)))
    idx = frame.index[bad.fillna(False).to_numpy(dtype=bool)]
    if len(idx):
        # A missing bound shows as '?' (with Arrow strings a missing value would blank the message).
        msg = (f"{verb} " + year[idx].astype(str) + ", outside the book's years "
               + frame.loc[idx, "_FRA_AAR"].astype("string").fillna("?") + "-"
               + frame.loc[idx, "_TIL_AAR"].astype("string").fillna("?"))
        fb.at(idx, "DATE_OUT_OF_RANGE", msg, event_col)


def baptism_after_birth(frame: pd.DataFrame, fb) -> None:
    born = _dates(frame, "FOEDSELSDATO_ISO")
    for col in ("HJEMMEDAABSDATO", "KIRKEDAABSDATO"):
        if f"{col}_ISO" not in frame:
            continue
        bap = _dates(frame, f"{col}_ISO")
        bad = (bap < born).fillna(False)
        idx = frame.index[bad.to_numpy(dtype=bool)]
        fb.at(idx, "DATE_OUT_OF_RANGE", f"{col} is before the birth date", col)


def parents_ages(frame: pd.DataFrame, fb, event_col: str) -> None:
    child_born = _dates(frame, f"{event_col}_ISO")
    child_year = _year(frame, f"{event_col}_REN")
    for parent, (low, high) in PARENT_AGE_LIMITS.items():
        date_col = f"{parent}_FOEDSELSDAG"
        if f"{date_col}_REN" not in frame:
            continue
        exact = completed_years(_dates(frame, f"{date_col}_ISO"), child_born)
        years_apart = child_year - _year(frame, f"{date_col}_REN")
        # Only the years known: the age is years_apart or one less.
        age_hi = exact.fillna(years_apart)
        age_lo = exact.fillna(years_apart - 1)
        stated = frame[f"{parent}_ALDER_REN"] if f"{parent}_ALDER_REN" in frame else pd.Series(
            pd.NA, index=frame.index, dtype="Int64")
        mismatch = (stated.notna() & age_hi.notna() & ((stated < age_lo - 1) | (stated > age_hi + 1))).fillna(False)
        idx = frame.index[mismatch.to_numpy(dtype=bool)]
        whose = {"MODERS": "mother's", "FADERS": "father's"}[parent]
        if len(idx):
            # one age where the dates give it, the two it may be where only the years are known
            given = age_lo[idx].astype(str).where(age_lo[idx] == age_hi[idx],
                                                   age_lo[idx].astype(str) + "-" + age_hi[idx].astype(str))
            msg = f"{whose} age stated " + stated[idx].astype(str) + ", birth date gives " + given
            fb.at(idx, "AGE_DATE_MISMATCH", msg, f"{parent}_ALDER" if parent == "MODERS" else "ANMAERKNINGER")
        from_date = (age_hi.notna() & ((age_hi < low) | (age_lo > high))).fillna(False)
        from_stated = (stated.notna() & ((stated < low) | (stated > high))).fillna(False)
        idx = frame.index[(from_stated & ~mismatch).to_numpy(dtype=bool)]
        if len(idx):
            # The father's stated age comes from a remark: report it on that field.
            stated_field = f"{parent}_ALDER" if parent == "MODERS" else "ANMAERKNINGER"
            fb.at(idx, "AGE_IMPLAUSIBLE", f"{whose} age " + stated[idx].astype(str)
                  + f" at the birth (expected {low}-{high})", stated_field)
        idx = frame.index[(from_date & ~from_stated & ~mismatch).to_numpy(dtype=bool)]
        if len(idx):
            fb.at(idx, "AGE_IMPLAUSIBLE", f"{whose} birth date gives age " + age_lo[idx].astype(str)
                  + f" at the birth (expected {low}-{high})", date_col)


_FATHER_AGE = r"(?i)\bfa(?:de)?r(?:en|ens|s)?\s*(?:alder|er)?\s*[:.]?\s*(\d{2})\s*(?:aar|år)?\b"


def father_age_from_remarks(frame: pd.DataFrame) -> None:
    """FADERS_ALDER has no column in KIIP; transcribers wrote it in a remark ('Faders alder 34').

    The age found is put in ``FADERS_ALDER_REN`` so that the parents' age rules can use it.
    """
    found = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    for col in ("ANMAERKNINGER", "INDTASTERS_BEMAERKNINGER", "KILDEBEMAERKNINGER"):
        if col not in frame:
            continue
        text = frame[col].astype("string")
        has = text.str.contains("fa", case=False, regex=False).fillna(False).to_numpy(dtype=bool)
        if not has.any():
            continue
        ages = text[has].str.extract(_FATHER_AGE, expand=False)
        found = found.fillna(pd.to_numeric(ages, errors="coerce").astype("Int64").reindex(frame.index))
    frame["FADERS_ALDER_REN"] = found


def dead_unnamed(frame: pd.DataFrame, fb) -> None:
    """DOED_UDEN_NAVN: the child died before it was named (left out of linkage)."""
    first = frame["FORNAVN"].fillna("").astype("string").str.upper()
    last = frame["EFTERNAVN"].fillna("").astype("string").str.upper()
    named_dead = first.str.contains("DØD", regex=False) | last.str.contains("DØD", regex=False)
    unbaptised = first.str.contains("UDØBT", regex=False) | first.str.contains("UNAVNGIV", regex=False)
    no_first = frame["FORNAVN_REN"].isna() if "FORNAVN_REN" in frame else first.str.strip() == ""
    remark_dead = pd.Series(False, index=frame.index)
    for col in REMARK_FIELDS:
        if col in frame:
            remark_dead |= frame[col].fillna("").astype("string").str.upper().str.contains("DØD", regex=False)
    dead = (named_dead | unbaptised | (no_first & remark_dead)).fillna(False).to_numpy(dtype=bool)
    frame["DOED_UDEN_NAVN"] = np.where(dead, "J", "N")
    fb.at(frame.index[dead], "DEAD_UNNAMED", "the child died unnamed; not used for linkage", "FORNAVN")


_SIX = re.compile(r"(\d{2})(\d{2})(\d{2})")
_EIGHT_DIGITS = re.compile(r"(\d{2})(\d{2})(\d{4})")
_DMY_TWO = re.compile(r"(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{2})")


def _readings(raw: str) -> list[tuple[int, int, int, str]]:
    """The dates a keyed text can be, each with the form that reads it: ``DDMMYYYY``
    (12031921), ``YYMMDD`` and ``DDMMYY`` (210312), ``D-M-YY`` (12-3-21), a two-digit year
    in any century from 1700.  The book's years pick among them."""
    s = raw.strip()
    out: list[tuple[int, int, int, str]] = []

    def add(y: int, m: int, d: int, form: str) -> None:
        try:
            date(y, m, d)
        except ValueError:
            return
        out.append((y, m, d, form))

    if m := _EIGHT_DIGITS.fullmatch(s):
        add(int(m.group(3)), int(m.group(2)), int(m.group(1)), "DDMMYYYY")
    elif m := _SIX.fullmatch(s):
        for century in (1700, 1800, 1900):
            add(century + int(m.group(1)), int(m.group(2)), int(m.group(3)), "YYMMDD")
            add(century + int(m.group(3)), int(m.group(2)), int(m.group(1)), "DDMMYY")
    elif m := _DMY_TWO.fullmatch(s):
        for century in (1700, 1800, 1900):
            add(century + int(m.group(3)), int(m.group(2)), int(m.group(1)), "D-M-YY")
    return out


def dates_from_book_years(frame: pd.DataFrame, fb, col: str) -> None:
    """A date the field check could not read with certainty (``12031921``, ``210312``,
    ``12-3-21``) is read when exactly one of its readings falls within the book's years
    (one year before FRA_AAR to TIL_AAR): the clean columns get it, the finding becomes an
    applied fix and a correction row says so.  Several readings: the finding stays a
    question for a person."""
    if "_FRA_AAR" not in frame or f"{col}_REN" not in frame or col not in frame:
        return
    open_rows = frame[f"{col}_REN"].isna() & frame[col].notna() & frame["_FRA_AAR"].notna()
    if not open_rows.any():
        return
    rows = frame.index[open_rows.to_numpy(dtype=bool)]
    raw = frame.loc[rows, col].astype(str)
    lo = (frame.loc[rows, "_FRA_AAR"] - 1).astype("int64")
    hi = frame.loc[rows, "_TIL_AAR"].fillna(frame.loc[rows, "_FRA_AAR"]).astype("int64")
    readings = {text: _readings(text) for text in raw.unique()}
    fixed, why = {}, {}
    for row, text, a, b in zip(rows, raw, lo, hi):
        fits = {(y, m, d): form for y, m, d, form in readings[text] if a <= y <= b}
        if len(fits) == 1:
            (y, m, d), form = next(iter(fits.items()))
            fixed[row] = f"{y:04d}{m:02d}{d:02d}"
            years = f"year {b}" if a + 1 == b else f"years {a + 1}-{b}"
            why[row] = f"date '{text}' read as {form}: {fixed[row]}, the only reading within the book's {years}"
    if not fixed:
        return
    values = pd.Series(fixed)
    idx = values.index
    frame.loc[idx, f"{col}_REN"] = values.to_numpy()
    iso = values.str.slice(0, 4) + "-" + values.str.slice(4, 6) + "-" + values.str.slice(6, 8)
    if f"{col}_ISO" in frame:
        frame.loc[idx, f"{col}_ISO"] = iso.to_numpy()
    if f"_{col}_YEAR" in frame:
        frame.loc[idx, f"_{col}_YEAR"] = values.str.slice(0, 4).astype("int64").to_numpy()
    if f"_{col}_DT" in frame:
        frame.loc[idx, f"_{col}_DT"] = pd.to_datetime(iso, format="%Y-%m-%d").astype("datetime64[s]").to_numpy()
    fb.fix(col, ("DATE_MALFORMED", "DATE_INVALID"), values, pd.Series(why))


def kbf_rules(frame: pd.DataFrame, source: Source, fb) -> None:
    event = source.event_date
    dates_from_book_years(frame, fb, event)
    father_age_from_remarks(frame)
    registration_year(frame, fb, event)
    date_range(frame, fb, event)
    baptism_after_birth(frame, fb)
    parents_ages(frame, fb, event)
    dead_unnamed(frame, fb)


def run(frame: pd.DataFrame, source: Source, fb) -> None:
    """The record rules of ``source``; KBD and FT keep theirs in modules of their own."""
    from validators import ft_rules, kbd_rules

    rules = {"KBF": kbf_rules, "KBD": kbd_rules.record_rules, "FT": ft_rules.record_rules}
    if source.code in rules:
        rules[source.code](frame, source, fb)
