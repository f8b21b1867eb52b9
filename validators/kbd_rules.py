"""Record rules of church-book deaths (KBD): the order of birth, death and burial, and the
stated age against the dates.

Like the KBF rules they read only the clean columns of the field phase, and they are
vectorised over the frame.  The book rules (sections, gaps, pages, duplicates) are the
shared ones in ``validators.set_rules``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from validators.record_rules import (
    _dates,
    _year,
    completed_years,
    date_range,
    dates_from_book_years,
    registration_year,
)
from validators.sources import Source

MAX_AGE = 110  # an age at death above this is reported as implausible


def _rows(frame: pd.DataFrame, mask: pd.Series) -> pd.Index:
    return frame.index[mask.fillna(False).to_numpy(dtype=bool)]


def death_before_birth(frame: pd.DataFrame, fb) -> pd.Series:
    """DEATH_BEFORE_BIRTH; returns the mask of such rows (their age is not compared)."""
    born, died = _dates(frame, "FOEDSELSDATO_ISO"), _dates(frame, "DOEDSDATO_ISO")
    born_year, died_year = _year(frame, "FOEDSELSDATO_REN"), _year(frame, "DOEDSDATO_REN")
    # Exact dates where both are known, else the years alone (a wildcard date still has one).
    bad = (died < born).fillna(False) | (died_year < born_year).fillna(False)
    idx = _rows(frame, bad)
    if len(idx):
        fb.at(idx, "DEATH_BEFORE_BIRTH", "died " + frame.loc[idx, "DOEDSDATO_REN"].astype(str) + ", born "
              + frame.loc[idx, "FOEDSELSDATO_REN"].astype(str), "DOEDSDATO")
    return bad


def burial_before_death(frame: pd.DataFrame, fb) -> None:
    if "BEGRAVELSESDAG_ISO" not in frame:
        return
    buried, died = _dates(frame, "BEGRAVELSESDAG_ISO"), _dates(frame, "DOEDSDATO_ISO")
    idx = _rows(frame, buried < died)
    if len(idx):
        fb.at(idx, "BURIAL_BEFORE_DEATH", "buried " + frame.loc[idx, "BEGRAVELSESDAG_REN"].astype(str)
              + ", died " + frame.loc[idx, "DOEDSDATO_REN"].astype(str), "BEGRAVELSESDAG")


def age_at_death(frame: pd.DataFrame, fb, impossible: pd.Series) -> None:
    """The stated age against the birth and death dates; ``ALDER_VED_DOED`` is the age the
    dates give (or the stated one when they cannot)."""
    exact = completed_years(_dates(frame, "FOEDSELSDATO_ISO"), _dates(frame, "DOEDSDATO_ISO"))
    apart = _year(frame, "DOEDSDATO_REN") - _year(frame, "FOEDSELSDATO_REN")
    # Only the years known: the age is the difference or one less.
    hi = exact.fillna(apart)
    lo = exact.fillna(apart - 1)
    stated = frame["ALDER_REN"] if "ALDER_REN" in frame else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    ok = ~impossible.fillna(False)
    mismatch = ok & stated.notna() & hi.notna() & ((stated < lo - 1) | (stated > hi + 1))
    idx = _rows(frame, mismatch)
    if len(idx):
        exact_age = (lo[idx] == hi[idx]).to_numpy(dtype=bool)
        given = lo[idx].astype(str).where(exact_age, lo[idx].astype(str) + "-" + hi[idx].astype(str))
        # The age the dates give is the suggestion when both dates are complete.
        suggestion = pd.Series(np.where(exact_age, hi[idx].astype(str), None), index=idx, dtype=object)
        fb.at(idx, "AGE_DATE_MISMATCH", "age stated " + stated[idx].astype(str) + ", birth and death dates give "
              + given, "ALDER", suggestion)
    frame["ALDER_VED_DOED"] = exact.where(ok).fillna(stated).astype("Int64")
    too_old = (frame["ALDER_VED_DOED"] > MAX_AGE) & ~mismatch
    idx = _rows(frame, too_old)
    if len(idx):
        fb.at(idx, "AGE_IMPLAUSIBLE", "aged " + frame.loc[idx, "ALDER_VED_DOED"].astype(str)
              + f" at death (more than {MAX_AGE})", "ALDER")


def record_rules(frame: pd.DataFrame, source: Source, fb) -> None:
    event = source.event_date
    dates_from_book_years(frame, fb, event)
    registration_year(frame, fb, event, verb="died")
    date_range(frame, fb, event, verb="died")
    impossible = death_before_birth(frame, fb)
    burial_before_death(frame, fb)
    age_at_death(frame, fb, impossible)
