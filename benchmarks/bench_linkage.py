"""Linkage readiness: do the clean tables find more children in a CPR-like register than the
raw values, without wrong links?

    python benchmarks/bench_linkage.py                          # 10 parishes x 20 years, ~20,000 children
    python benchmarks/bench_linkage.py --parishes 4 --years 8   # a quicker look
    python benchmarks/bench_linkage.py --seed 7 --keep /tmp/linkage   # keep the deliveries

A synthetic truth population is drawn (names from ``fixtures.names``, parishes from the
project's parish register); from it come (a) a CPR-like register holding the people
alive in 1968 with their names as CPR would spell them, and people born in parishes that
were not transcribed (the decoys every real register holds), and (b) KIIP deliveries of
the transcribed parishes' birth registers, with the keying noise the pilot describes
(white paper p.15-16, 35-37, 79-86): spelling variants of one name (Carl/Karl, Aage/Åge),
struck-out surnames in brackets (8.2% of records), typing slips, birth-date errors of
which 95% sit in the day or the month, parents' birth dates missing before 1926 and now
and then after, children who died unnamed, twins, and birthplaces written as "her i
sognet", with "Sogn"/"By" after them, as a village, in ae/oe/aa spelling or left empty.

The deliveries go through the project's own clean step (``ingest.pipeline.run_pipeline``)
and ``validators.match_keys.add_match_keys``; then the pilot's rule links them to the
register twice -- on the raw values as keyed and on the clean tables' match keys:

1. an exact join on full name + birth date (a child with several candidates keeps the one
   born in its birth parish; if that does not decide, no link), then
2. for the children still unlinked, Jaro-Winkler on "birth date + full name" (the date as
   YYYYMMDD digits) against the people born in the same birth parish; the best score is
   accepted when it is at least 0.95 and names one person.  The pilot also required the
   two birth dates to differ in at most one part, by one digit or by one (p.85); the
   benchmark reports the rule with and without that condition.

Clean linkage tries the name variants the pilot tried (p.37): the full name with the
struck-out part, without it, with only the struck-out surname, and the same with every
single name replaced by its grundnavn.

Jaro-Winkler is compared with 0.95 minus 1e-9, not 0.95: a pair whose exact score is
0.95 can come out of floating point as 0.9499999999999998 -- ``KARLPEDERSEN`` against
``KURLPEDERSEN`` is Jaro 17/18 plus one common first letter, exactly 0.95, and rapidfuzz
returns 0.9499999999999998 -- and the pilot's threshold was meant to include it.  The
benchmark prints how many accepted links fell in that sliver.  Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.linkage_truth import (  # noqa: E402
    KeyingNoise,
    NamePool,
    abbreviate,
    keyed_date,
    real_name_pool,
    respell,
    slip,
)
from fixtures.generator import KBF_COLUMNS, METADATA_COLUMNS, csv_line  # noqa: E402
from fixtures.names import BOY_NAMES, GIRL_NAMES, SURNAMES  # noqa: E402
from ingest.pipeline import run_pipeline  # noqa: E402
from validators.match_keys import add_match_keys  # noqa: E402
from validators.places import load_parish_register, parish_of_deliveries  # noqa: E402

THRESHOLD = 0.95
EPSILON = 1e-9  # see the module docstring: 0.95 can be computed as 0.9499999999999998

TRANSCRIBED = ("Vejby", "Tibirke", "Helsinge", "Tikøb", "Hørning", "Stege", "Ølstykke", "Brønderslev",
               "Sønder Omme", "Skørping", "Kalundborg", "Hvidbjerg")

DEAD_UNNAMED = ("DØDFØDT", "Dødfødt Dreng", "Dødfødt Pige", "Udøbt Dreng", "Udøbt Pige", "Unavngiven Pige")
HER = ("her", "Her", "her i Sognet", "Her i Sognet", "heri Sognet", "her i Sogn")


@dataclass
class Rates:
    name_variant: float = 0.08  # CPR holds another spelling of a name
    struck: float = 0.082  # a struck-out surname (pilot: 8.2% of records)
    hyphen: float = 0.03  # Hans-Peter in one source, Hans Peter in the other
    upper: float = 0.10  # a book keyed in capitals
    date_error: float = 0.04
    dead_unnamed: float = 0.0146  # pilot: 385 children, 1.46%
    died_before_cpr: float = 0.09
    twins: float = 0.015
    cpr_extra_name: float = 0.02
    cpr_new_surname: float = 0.015
    parents_birthday_missing: float = 0.10  # after the 1926 circular


# --------------------------------------------------------------------------- the truth

def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def fixture_name_pool() -> NamePool:
    """The generators' name lists, for when the real census files are not there."""
    return NamePool(list(BOY_NAMES), _zipf(len(BOY_NAMES), 0.9), list(GIRL_NAMES), _zipf(len(GIRL_NAMES), 0.9),
                    list(SURNAMES), _zipf(len(SURNAMES), 0.8), source="fixtures.names (the real census files are absent)")


def draw_population(rng: np.random.Generator, parishes: list, first_year: int, last_year: int,
                    births_per_year: int, pool: NamePool) -> pd.DataFrame:
    """One row per child born: true names, sex, birth date and parish, family id."""
    boys, girls = np.array(pool.boys), np.array(pool.girls)
    surnames = np.array(pool.surnames)
    p_boys, p_girls, p_sur = pool.boys_p, pool.girls_p, pool.surnames_p
    middles = surnames
    rows = []
    pid = 0
    for parish in parishes:
        families: list[dict] = []
        for year in range(first_year, last_year + 1):
            n = int(rng.poisson(births_per_year))
            days = np.sort(rng.integers(0, 365 if year % 4 else 366, n))
            twins_at = set(np.flatnonzero(rng.random(n) < Rates.twins).tolist())
            for i, d in enumerate(days):
                if families and rng.random() < 0.45:
                    fam = families[int(rng.integers(len(families)))]
                else:
                    fam = {"id": len(families), "surname": str(rng.choice(surnames, p=p_sur)),
                           "father": str(rng.choice(boys, p=p_boys)), "mother": str(rng.choice(girls, p=p_girls)),
                           "maiden": str(rng.choice(surnames, p=p_sur)),
                           "father_born": date(year - int(rng.integers(22, 45)), 1, 1) + timedelta(int(rng.integers(365))),
                           "mother_born": date(year - int(rng.integers(19, 40)), 1, 1) + timedelta(int(rng.integers(365)))}
                    families.append(fam)
                for twin in range(2 if i in twins_at else 1):
                    sex = "M" if rng.random() < 0.513 else "K"
                    pool, p = (boys, p_boys) if sex == "M" else (girls, p_girls)
                    first = str(rng.choice(pool, p=p))
                    if twin:
                        while first == rows[-1]["first"]:
                            first = str(rng.choice(pool, p=p))
                    second = str(rng.choice(pool, p=p)) if rng.random() < 0.35 else ""
                    if second == first:
                        second = ""
                    middle = str(rng.choice(middles)) if rng.random() < 0.08 else ""
                    rows.append({"pid": pid, "sex": sex, "first": first, "second": second, "middle": middle,
                                 "surname": fam["surname"], "born": date(year, 1, 1) + timedelta(int(d)),
                                 "parish": parish.code, "family": f"{parish.code}-{fam['id']}",
                                 "father": fam["father"], "mother": fam["mother"], "maiden": fam["maiden"],
                                 "father_born": fam["father_born"], "mother_born": fam["mother_born"]})
                    pid += 1
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- keying noise

def _date_error(rng, born: date) -> str:
    """A keyed date with one error; 95% of them in the day or the month."""
    s = born.strftime("%Y%m%d")
    r = rng.random()
    if r < 0.05:  # the year
        return s[:3] + str((int(s[3]) + int(rng.integers(1, 10))) % 10) + s[4:]
    kind = rng.integers(5)
    if kind == 0:  # a day digit typed wrong
        pos = 6 + int(rng.integers(2))
        return s[:pos] + str(int(rng.integers(10))) + s[pos + 1:]
    if kind == 1:  # a month digit typed wrong
        return s[:5] + str(int(rng.integers(10))) + s[6:]
    if kind == 2:  # one day off
        return (born + timedelta(days=int(rng.choice([-1, 1])))).strftime("%Y%m%d")
    if kind == 3 and born.day <= 12:  # day and month swapped
        return s[:4] + s[6:8] + s[4:6]
    return s[:6] + s[7] + s[6]  # day digits swapped


def _birthplace(rng, parish) -> str:
    r = rng.random()
    name = parish.name
    if r < 0.50:
        return name
    if r < 0.64:
        return str(rng.choice(HER))
    if r < 0.74:
        return f"{name} {rng.choice(['Sogn', 'By', 'Sogn', 'S.'])}"
    if r < 0.82 and parish.variants:
        return str(rng.choice(parish.variants))
    if r < 0.87:
        return name.replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("Ø", "Oe")
    if r < 0.93:
        return ""
    return slip(rng, name)


def keyed_records(rng, truth: pd.DataFrame, register, rates: Rates, noise: KeyingNoise) -> pd.DataFrame:
    """What the transcribers keyed for each child, one KIIP row each (plus the truth id and
    the noise put into it, for the report)."""
    out = []
    for t in truth.itertuples():
        parish = register.parishes[t.parish]
        dead = rng.random() < rates.dead_unnamed
        what = []
        first, second, surname, middle = t.first, t.second, t.surname, t.middle
        if rng.random() < noise.respelt:
            which = int(rng.integers(3))
            if which == 0:
                first = respell(rng, first)
            elif which == 1 and second:
                second = respell(rng, second)
            else:
                surname = respell(rng, surname)
            what.append("respelt")
        if rng.random() < noise.slip:
            if rng.random() < 0.5:
                first = slip(rng, first)
            else:
                surname = slip(rng, surname)
            what.append("slip")
        if second and rng.random() < noise.second_name_dropped:
            second = ""
            what.append("second name not keyed")
        elif second and rng.random() < noise.placeholder:
            second = "UOP"
            what.append("UOP")
        if rng.random() < noise.abbreviated:
            first = abbreviate(first)
            what.append("abbreviated")
        if rng.random() < noise.truncated_surname and len(surname) > 6 and surname.endswith("sen"):
            surname = surname[:-3] + "."
            what.append("truncated surname")
        fornavn, mellem = first, " ".join(x for x in (second, middle) if x)
        if second and second != "UOP" and rng.random() < rates.hyphen:
            fornavn, mellem = f"{first}-{second}", middle
        efternavn = surname
        if t.struck_as:
            efternavn = t.struck_as
        if dead:
            fornavn, mellem = str(rng.choice(DEAD_UNNAMED)), ""
        born = t.born
        section = born.year
        if born.month == 12 and born.day >= 20 and rng.random() < noise.late_december_next_section:
            section = born.year + 1  # registered (baptised) in the new year
        if rng.random() < rates.date_error:
            date_text = _date_error(rng, born)
            what.append("date error")
        else:
            date_text, how = keyed_date(rng, born, noise)
            if how:
                what.append(how)
        if section != born.year and date_text == born.strftime("%Y%m%d") and rng.random() < noise.year_as_section:
            date_text = f"{section}{date_text[4:]}"
            what.append("year as the section's")
        sex = t.sex
        if rng.random() < noise.sex_as_word:
            sex = "dreng" if t.sex == "M" else "pige"
            what.append("sex as a word")
        upper = rng.random() < rates.upper
        with_birthdays = born.year >= 1926
        row = {
            "pid": t.pid, "parish": t.parish, "year": section, "KOEN": sex, "born": born,
            "FOEDSELSDATO": date_text, "FOEDESTED": _birthplace(rng, parish),
            "FORNAVN": fornavn.upper() if upper else fornavn, "MELLEMNAVNE": mellem.upper() if upper else mellem,
            "EFTERNAVN": efternavn.upper() if upper else efternavn,
            "FADERS_FORNAVN": t.father, "FADERS_EFTERNAVN": t.surname,
            "MODERS_FORNAVN": t.mother, "MODERS_EFTERNAVN": t.surname, "MODERS_PIGENAVN": t.maiden,
            "MODERS_ALDER": str((born - t.mother_born).days // 365),
            "FADERS_FOEDSELSDAG": t.father_born.strftime("%Y%m%d")
            if with_birthdays and rng.random() > rates.parents_birthday_missing else "",
            "MODERS_FOEDSELSDAG": t.mother_born.strftime("%Y%m%d")
            if with_birthdays and rng.random() > rates.parents_birthday_missing else "",
            "FADERS_STILLING": "Arbejdsmand", "AEGTE_UAEGTE": "Ægte",
            "KIRKEDAABSDATO": "" if dead else (born + timedelta(days=int(rng.integers(20, 90)))).strftime("%Y%m%d"),
            "dead_unnamed": dead, "noise": "|".join(what),
        }
        out.append(row)
    return pd.DataFrame(out)


def add_struck_and_cpr_names(rng, truth: pd.DataFrame, rates: Rates, pool: NamePool) -> pd.DataFrame:
    """The names CPR holds, and where the book has a struck-out surname.

    A struck-out surname: the book shows the surname at birth struck out and the later one
    written beside it (KIIP keys ``Holm [Jensen]`` or ``[JENSEN] HOLM``); CPR may hold the
    later name, the birth name, or both.
    """
    truth = truth.copy()
    struck_as, cpr_first, cpr_last = [], [], []
    for t in truth.itertuples():
        first = " ".join(x for x in (t.first, t.second) if x)
        last = t.surname
        if rng.random() < rates.name_variant * 0.5:  # the other source has another spelling
            first = " ".join(respell(rng, x) for x in first.split())
        if rng.random() < rates.hyphen and t.second:
            first = first.replace(" ", "-")
        keyed = ""
        if rng.random() < rates.struck:
            later = str(rng.choice(pool.surnames, p=pool.surnames_p))
            keyed = f"{later} [{t.surname}]" if rng.random() < 0.6 else f"[{t.surname.upper()}] {later.upper()}"
            r = rng.random()
            last = later if r < 0.5 else t.surname if r < 0.8 else f"{t.surname} {later}"
        elif rng.random() < rates.cpr_new_surname:
            last = str(rng.choice(pool.surnames, p=pool.surnames_p))
        if rng.random() < rates.cpr_extra_name:
            names, p = (pool.boys, pool.boys_p) if t.sex == "M" else (pool.girls, pool.girls_p)
            first = f"{first} {rng.choice(names, p=p)}"
        struck_as.append(keyed)
        cpr_first.append(first)
        cpr_last.append(last)
    truth["struck_as"] = struck_as
    truth["cpr_first"] = cpr_first
    truth["cpr_last"] = cpr_last
    return truth


def cpr_register(rng, truth: pd.DataFrame, register) -> pd.DataFrame:
    """CPR as it would hold the living: upper case, Aa written Å in about half of the names."""
    def cpr_spelling(name: str) -> str:
        up = name.upper()
        return up.replace("AA", "Å") if rng.random() < 0.5 else up

    rows = pd.DataFrame({
        "pid": truth["pid"].to_numpy(),
        "FORNAVN": [cpr_spelling(x) for x in truth["cpr_first"]],
        "MELLEMNAVNE": [x.upper() for x in truth["middle"]],
        "EFTERNAVN": [cpr_spelling(x) for x in truth["cpr_last"]],
        "KOEN": truth["sex"].to_numpy(),
        "FOEDSELSDATO": [d.strftime("%Y%m%d") for d in truth["born"]],
        "FOEDESOGN": truth["parish"].to_numpy(),
    })
    rows["FOEDESOGN_NAVN"] = [register.parishes[c].name.upper() for c in rows["FOEDESOGN"]]
    return rows.astype("string")


# --------------------------------------------------------------------------- deliveries

def write_deliveries(folder: Path, keyed: pd.DataFrame, register, first_year: int, last_year: int) -> dict:
    """One KIIP delivery per parish; returns (entry number, LOEBE_NR) -> truth id."""
    truth_of = {}
    for n, (code, rows) in enumerate(sorted(keyed.groupby("parish"), key=lambda kv: kv[0])):
        parish = register.parishes[code]
        entry = f"K{3001 + n}"
        rows = rows.sort_values(["year", "KOEN", "born"], ascending=[True, False, True], kind="stable")
        lines, page, loebe_nr = [], 0, 0
        for (year, _sex), section in rows.groupby(["year", "KOEN"], sort=False):
            for i, r in enumerate(section.itertuples()):
                if i % 5 == 0:
                    page += 1
                loebe_nr += 1
                values = {c: "" for c in KBF_COLUMNS}
                values.update({c: getattr(r, c) for c in (
                    "FOEDSELSDATO", "FOEDESTED", "FORNAVN", "MELLEMNAVNE", "EFTERNAVN", "KOEN", "FADERS_FORNAVN",
                    "FADERS_EFTERNAVN", "MODERS_FORNAVN", "MODERS_EFTERNAVN", "MODERS_PIGENAVN", "MODERS_ALDER",
                    "FADERS_FOEDSELSDAG", "MODERS_FOEDSELSDAG", "FADERS_STILLING", "AEGTE_UAEGTE", "KIRKEDAABSDATO")})
                values.update(INDTASTNINGSNUMMER=entry, KILDE="Fødte", LOEBE_NR=str(loebe_nr),
                              KILDEANGIVELSE=f"{parish.name} Sogn, Kirkebog {first_year}-{last_year}, Fødte",
                              KILDE_SIDE=str(page), KILDE_LOEBE_NR=str(i + 1), KALENDERAAR=str(year))
                lines.append(csv_line(values[c] for c in KBF_COLUMNS))
                truth_of[(entry, loebe_nr)] = r.pid
        meta = {"INDTASTNINGSNUMMER": entry, "KILDE": "Fødte", "SOGN": parish.name, "HERRED": f"{parish.herred} Herred",
                "AMT": f"{parish.amt} Amt", "FRA_AAR": str(first_year), "TIL_AAR": str(last_year),
                "INDTASTER": "bench", "INDTASTNINGSDATO": "20240105", "ANTAL_POSTER": str(len(lines)),
                "DEFINITIONSFIL": "KBF.def"}
        meta_lines = [csv_line(METADATA_COLUMNS), csv_line(meta[c] for c in METADATA_COLUMNS)]
        body = [csv_line(KBF_COLUMNS), *lines, "", *meta_lines]
        (folder / f"{entry}fd.csv").write_bytes(("\r\n".join(body) + "\r\n").encode("cp1252"))
        (folder / f"{entry}dok.csv").write_bytes(("\r\n".join(meta_lines) + "\r\n").encode("cp1252"))
    return truth_of


# --------------------------------------------------------------------------- the pilot's linkage rule

def dates_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The pilot's condition on the birth dates of a Jaro-Winkler match (p.85), pairwise.

    Two ``YYYYMMDD`` strings are close when equal, or when exactly one part differs and
    by one digit or by one: the day (year and month equal), the month (year and day
    equal), or the year within its decade (month and day equal).  Day and month digits
    swapped are not close; the pilot accepted losing those few.
    """
    def parts(x):
        s = pd.Series(x, dtype="string").str.replace("-", "", regex=False)
        ok = s.str.fullmatch(r"\d{8}").fillna(False).to_numpy()
        digits = np.zeros((len(s), 8), dtype=np.int16)
        if ok.any():
            digits[ok] = np.frombuffer("".join(s[ok].tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 8) - 48
        return ok, digits

    ok_a, da = parts(a)
    ok_b, db = parts(b)
    diff = da != db
    y = diff[:, :4].any(axis=1)
    m = diff[:, 4:6].any(axis=1)
    d = diff[:, 6:].any(axis=1)

    def num(x, lo, hi):
        return (x[:, lo:hi] * (10 ** np.arange(hi - lo - 1, -1, -1))).sum(axis=1)

    one_digit = diff.sum(axis=1) == 1
    day_close = ~y & ~m & d & (one_digit | (np.abs(num(da, 6, 8) - num(db, 6, 8)) == 1))
    month_close = ~y & m & ~d & (one_digit | (np.abs(num(da, 4, 6) - num(db, 4, 6)) == 1))
    year_close = ~m & ~d & ~diff[:, :3].any(axis=1) & y
    return ok_a & ok_b & (~diff.any(axis=1) | day_close | month_close | year_close)


def pilot_link(kbf: pd.DataFrame, cpr: pd.DataFrame, names: list[tuple[str, str]], date: tuple[str, str],
               parish: tuple[str, str], date_rule: bool = True, join_in_parish: bool = False,
               sex: tuple[str, str] = ("_SEX", "_SEX")) -> pd.DataFrame:
    """Link ``kbf`` rows (index = row id) to ``cpr`` rows (column ``pid``).

    ``names``: pairs (KBF column, CPR column) of full-name keys, tried in order; ``date``
    and ``parish``: the (KBF, CPR) columns of birth date and birth parish.  ``date_rule``:
    a Jaro-Winkler match must also satisfy ``dates_close`` (the pilot's p.85 condition).
    ``join_in_parish``: not the pilot's rule -- an exact-join candidate born in another
    parish than the child is dropped when both parishes are known.
    ``sex``: the (KBF, CPR) columns of the sex; a pair whose sexes are both known and
    differ is never linked (the values compared as they are: a sex keyed as a word never
    equals CPR's M or K).
    Returns one row per linked KBF row: ``pid``, ``stage`` (join|jw), ``jw``.
    """
    kd, cd = date
    kp, cp = parish
    ks, cs = sex
    base = kbf[[kd, kp, ks]].copy()
    base["row"] = kbf.index
    cands = []
    for kn, cn in names:
        left = base.assign(_name=kbf[kn]).dropna(subset=["_name", kd])
        right = cpr[["pid", cn, cd, cp, cs]].rename(columns={cn: "_name", cd: kd, cp: "_cpr_parish", cs: "_cpr_sex"})
        right = right.dropna(subset=["_name", kd])
        cands.append(left.merge(right, on=["_name", kd], how="inner")[["row", "pid", kp, "_cpr_parish", ks,
                                                                        "_cpr_sex"]])
    cand = pd.concat(cands, ignore_index=True).drop_duplicates(["row", "pid"])
    cand = cand[cand[ks].isna() | cand["_cpr_sex"].isna() | (cand[ks] == cand["_cpr_sex"])]
    if join_in_parish:
        cand = cand[cand[kp].isna() | cand["_cpr_parish"].isna() | (cand[kp] == cand["_cpr_parish"])]
    links = []
    if len(cand):
        n = cand.groupby("row")["pid"].transform("size")
        single = cand[n == 1]
        links.append(pd.DataFrame({"row": single["row"], "pid": single["pid"], "stage": "join", "jw": 1.0}))
        multi = cand[n > 1]
        same = multi[multi[kp].notna() & (multi[kp] == multi["_cpr_parish"])]
        same = same[same.groupby("row")["pid"].transform("size") == 1]
        links.append(pd.DataFrame({"row": same["row"], "pid": same["pid"], "stage": "join", "jw": 1.0}))
    joined = pd.concat(links, ignore_index=True) if links else pd.DataFrame(columns=["row", "pid", "stage", "jw"])
    rest = kbf.loc[~kbf.index.isin(joined["row"])]
    rest = rest[rest[kd].notna() & rest[kp].notna()]
    found = []
    for block, rows in rest.groupby(kp, sort=False):
        people = cpr[(cpr[cp] == block) & cpr[cd].notna()]
        if people.empty:
            continue
        q_dates = rows[kd].astype(str).str.replace("-", "", regex=False)
        c_dates = people[cd].astype(str).str.replace("-", "", regex=False)
        for kn, cn in names:
            q_ok, c_ok = rows[kn].notna().to_numpy(), people[cn].notna().to_numpy()
            if not q_ok.any() or not c_ok.any():
                continue
            queries = (q_dates + rows[kn].astype(str))[q_ok].tolist()
            choices = (c_dates + people[cn].astype(str))[c_ok].tolist()
            scores = process.cdist(queries, choices, scorer=JaroWinkler.similarity,
                                   score_cutoff=THRESHOLD - EPSILON, workers=2, dtype=np.float64)
            qi, ci = np.nonzero(scores)
            if not len(qi):
                continue
            keep = dates_close(q_dates.to_numpy()[q_ok][qi], c_dates.to_numpy()[c_ok][ci]) if date_rule \
                else np.ones(len(qi), dtype=bool)
            q_sex = rows[ks].to_numpy(dtype=object)[q_ok][qi]
            c_sex = people[cs].to_numpy(dtype=object)[c_ok][ci]
            keep &= np.array([a is None or b is None or pd.isna(a) or pd.isna(b) or a == b
                              for a, b in zip(q_sex, c_sex)], dtype=bool)
            found.append(pd.DataFrame({"row": rows.index[q_ok][qi[keep]], "pid": people["pid"].to_numpy()[c_ok][ci[keep]],
                                       "jw": scores[qi[keep], ci[keep]]}))
    jw_links = pd.DataFrame(columns=["row", "pid", "stage", "jw"])
    if found:
        pairs = pd.concat(found, ignore_index=True).sort_values("jw", ascending=False, kind="stable")
        pairs = pairs.drop_duplicates(["row", "pid"])  # a person's best score over the name variants
        best = pairs.groupby("row")["jw"].transform("max")
        top = pairs[pairs["jw"] >= best - 1e-12]
        unique = top[top.groupby("row")["pid"].transform("nunique") == 1].drop_duplicates("row")
        jw_links = unique.assign(stage="jw")[["row", "pid", "stage", "jw"]]
    parts = [p for p in (joined, jw_links) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else joined


def exact_stage(kbf: pd.DataFrame, cpr: pd.DataFrame, pairs: list[tuple[str, str]], dates: list[str],
                cpr_date: str, stage: str, only=None, need_parish: bool = False,
                first_jw: float | None = None) -> pd.DataFrame:
    """One exact stage of the staged linkage: a name version and a date version equal on
    both sides, the same sex, the same birth parish where both are known; a child linked
    only when it has one candidate person and that person one candidate child among all
    the records (``only``: the rows still to link)."""
    cands = []
    base = kbf[["FOEDESTED_SOGNEKODE", "_SEX"]].assign(row=kbf.index)
    for kn, cn in pairs:
        right = cpr[["pid", cn, cpr_date, "FOEDESOGN", "_SEX"]].rename(columns={cn: "_name", cpr_date: "_date"})
        right = right.dropna(subset=["_name", "_date"])
        for kd in dates:
            left = base.assign(_name=kbf[kn], _date=kbf[kd]).dropna(subset=["_name", "_date"])
            cands.append(left.merge(right, on=["_name", "_date"], how="inner", suffixes=("", "_c")))
    if not cands:
        return pd.DataFrame(columns=["row", "pid", "stage", "jw"])
    cand = pd.concat(cands, ignore_index=True)
    same_parish = (cand["FOEDESTED_SOGNEKODE"] == cand["FOEDESOGN"]).fillna(False)
    cand = cand[(cand["_SEX"].isna() | cand["_SEX_c"].isna() | (cand["_SEX"] == cand["_SEX_c"]))
                & (cand["FOEDESTED_SOGNEKODE"].isna() | same_parish)]
    # need_parish: the link needs the birth parish known and the same on both sides, but a
    # record whose birthplace was not resolved still counts as a rival candidate
    cand = cand.assign(_same=same_parish.reindex(cand.index).to_numpy())
    cand = cand.drop_duplicates(["row", "pid"])
    if first_jw is not None:
        # the surname and date agree; the call names need only be close (a slip, a respelling)
        first_b = kbf["FORNAVN_FOERSTE_NOEGLE"].reindex(cand["row"]).astype(str).to_numpy()
        first_c = cpr.set_index("pid")["FORNAVN_FOERSTE_NOEGLE"].reindex(cand["pid"]).astype(str).to_numpy()
        cand = cand[np.array([JaroWinkler.similarity(a, b) >= first_jw for a, b in zip(first_b, first_c)],
                             dtype=bool)]
    elif "_GIVEN" in kbf and "_GIVEN" in cpr:
        # every given name the book has must be among the person's (a short form as its start):
        # the register keeps all of a person's given names, the book may leave one out
        given_b = kbf["_GIVEN"].reindex(cand["row"]).to_numpy()
        given_c = cpr.set_index("pid")["_GIVEN"].reindex(cand["pid"]).to_numpy()
        cand = cand[np.array([_given_within(a, b) for a, b in zip(given_b, given_c)], dtype=bool)]
    one = cand[(cand.groupby("row")["pid"].transform("size") == 1) & (cand.groupby("pid")["row"].transform("size") == 1)]
    if need_parish:
        one = one[one["_same"]]
    if only is not None:
        one = one[one["row"].isin(only)]
    return pd.DataFrame({"row": one["row"], "pid": one["pid"], "stage": stage, "jw": 1.0})


def _given_within(book, register) -> bool:
    if not isinstance(book, str) or not isinstance(register, str):
        return True
    theirs = register.split()
    return all(any(t == w or (w.endswith(".") and t.startswith(w[:-1])) for t in theirs) for w in book.split())


def staged_link(usable: pd.DataFrame, cpr: pd.DataFrame, raw: pd.DataFrame, cpr_raw: pd.DataFrame,
                minimal: list, standard: list, dates: tuple, parishes: tuple,
                part_guard: float | None = None) -> pd.DataFrame:
    """The white paper's linkage in stages over the versions of the identifiers (p.10): the
    pilot's rule on the full names first, then, for the children still unlinked, each
    further version in turn -- the first given name and the surname; the surname with given
    names that are all among the person's (a second name not keyed, an abbreviation as the
    start of a name); the alternative birth dates (day and month swapped, the book section's
    year); the abbreviations written out -- and last the values as keyed. Every stage links a child only to a person no earlier
    stage took, and only when that person is its one candidate."""
    first = pilot_link(usable, cpr, minimal + standard, dates, parishes, join_in_parish=True)
    if part_guard and len(first):  # noqa: SIM102
        # a Jaro-Winkler link also needs the first given names and the surnames to be close
        # each on its own: a long shared surname must not carry a different call name
        jw = first["stage"] == "jw"
        by_pid = cpr.set_index("pid")
        pairs = first[jw]
        jwsim = JaroWinkler.similarity
        keep = np.array([
            jwsim(str(usable.at[r, "FORNAVN_FOERSTE_NOEGLE"]), str(by_pid.at[p_, "FORNAVN_FOERSTE_NOEGLE"])) >= part_guard
            and max(jwsim(str(usable.at[r, c]), str(by_pid.at[p_, "EFTERNAVN_NOEGLE"]))
                    for c in ("EFTERNAVN_NOEGLE", "_S_STRUCK")) >= part_guard
            for r, p_ in zip(pairs["row"], pairs["pid"])], dtype=bool)
        first = pd.concat([first[~jw], pairs[keep]], ignore_index=True)
    links = [first.assign(stage="full name")]
    taken = set(links[0]["pid"])
    done = set(links[0]["row"])

    def add(found: pd.DataFrame) -> None:
        found = found[~found["row"].isin(done) & ~found["pid"].isin(taken)]
        found = found[found.groupby("pid")["row"].transform("size") == 1]  # one child per person
        links.append(found)
        done.update(found["row"])
        taken.update(found["pid"])

    rest = usable.loc[~usable.index.isin(done)]
    add(exact_stage(usable, cpr, [("_FOERSTE_EFTERNAVN", "_FOERSTE_EFTERNAVN"),
                                ("_FOERSTE_EFTERNAVN_STD", "_FOERSTE_EFTERNAVN_STD")],
                    ["FOEDSELSDATO_NOEGLE"], "FOEDSELSDATO_NOEGLE", "first name + surname", only=rest.index))
    rest = usable.loc[~usable.index.isin(done)]
    add(exact_stage(usable, cpr, [("EFTERNAVN_NOEGLE", "EFTERNAVN_NOEGLE")], ["FOEDSELSDATO_NOEGLE"], "FOEDSELSDATO_NOEGLE",
                    "surname, given names within the person's", only=rest.index))
    rest = usable.loc[~usable.index.isin(done)]
    add(exact_stage(usable, cpr, [("FORNAVNE_NOEGLE", "FORNAVNE_NOEGLE")], ["FOEDSELSDATO_NOEGLE"], "FOEDSELSDATO_NOEGLE",
                    "given names, another surname", only=rest.index,
                    need_parish=True))
    rest = usable.loc[~usable.index.isin(done)]
    add(exact_stage(usable, cpr, [("EFTERNAVN_NOEGLE", "EFTERNAVN_NOEGLE")], ["FOEDSELSDATO_NOEGLE"],
                    "FOEDSELSDATO_NOEGLE", "surname, a close first name", only=rest.index, first_jw=0.88))
    rest = usable.loc[~usable.index.isin(done)]
    add(exact_stage(usable, cpr, [*minimal, *standard, ("_FOERSTE_EFTERNAVN", "_FOERSTE_EFTERNAVN")],
                    [c for c in ("FOEDSELSDATO_BYTTET", "FOEDSELSDATO_AFSNITSAAR") if c in rest],
                    "FOEDSELSDATO_NOEGLE", "other date", only=rest.index))
    rest = usable.loc[~usable.index.isin(done)]
    add(exact_stage(usable, cpr, [("_UDVIDET_EFTERNAVN", "_FOERSTE_EFTERNAVN"), ("_UDVIDET_EFTERNAVN", "NAVN_NOEGLE")],
                    ["FOEDSELSDATO_NOEGLE"], "FOEDSELSDATO_NOEGLE", "abbreviation written out",
                    only=rest.index))

    rest_raw = raw.loc[~raw.index.isin(done)]
    if len(rest_raw):
        add(pilot_link(rest_raw, cpr_raw, [("NAVN", "NAVN")], ("DATO", "DATO"), ("STED", "STED")).assign(
            stage="as keyed"))
    parts = [p for p in links if len(p)]
    return pd.concat(parts, ignore_index=True)


def first_and_surname(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The bench's own version keys: the first given name alone with the surname (struck-out
    part left out), minimal and standardised, and the abbreviations written out."""
    from validators.names.database import load_name_database
    from validators.names.transforms import WITHOUT_STRUCK, map_distinct

    db = load_name_database()
    rules = db.rules
    surname_col = "EFTERNAVN_REN" if "EFTERNAVN_REN" in frame else "EFTERNAVN"

    def key(text):
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        return rules.key(rules.normalise(str(text), source, WITHOUT_STRUCK), source) or None

    def std(text):
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        singles = rules.single_names(rules.normalise(str(text), source, WITHOUT_STRUCK), source)
        return "".join(db.grundnavn(x, "efternavn") or x for x in singles) or None

    surname = frame["EFTERNAVN_NOEGLE"].astype("string")
    surname_std = map_distinct(frame[surname_col], std)
    first = frame["FORNAVN_FOERSTE_NOEGLE"]
    first_std = map_distinct(first, lambda t: None if t is None or pd.isna(t) else (db.grundnavn(t, "fornavn") or t))
    out = frame.copy()
    out["_FOERSTE_EFTERNAVN"] = (first + surname).astype("string")
    raw_surname = frame["EFTERNAVN"].astype("string") if "EFTERNAVN" in frame else surname

    def struck_only(text):
        if text is None or (not isinstance(text, str) and pd.isna(text)) or "[" not in str(text):
            return None
        inner = " ".join(part.split("]")[0] for part in str(text).split("[")[1:])
        return key(inner)

    out["_S_STRUCK"] = map_distinct(raw_surname, struck_only).fillna("")
    out["_FOERSTE_EFTERNAVN_STD"] = (first_std.astype("string") + surname_std.astype("string")).astype("string")
    if "FORNAVN_UDVIDET" in frame:
        expanded = map_distinct(frame["FORNAVN_UDVIDET"], key)
        out["_UDVIDET_EFTERNAVN"] = (expanded.astype("string") + surname).astype("string")
    sex = frame["KOEN_REN"] if "KOEN_REN" in frame else frame["KOEN"]
    out["_SEX"] = sex.astype("string").str.upper().str[:1].where(lambda x: x.isin(["M", "K"]))
    given_raw = (frame["FORNAVN"].fillna("").astype(str) + " " + frame["MELLEMNAVNE"].fillna("").astype(str))
    out["_GIVEN"] = map_distinct(given_raw, lambda t: " ".join(
        w if w.endswith(".") else (rules.key(rules.normalise(w, source), source) or "")
        for w in str(t).upper().replace("-", " ").split() if w not in ("UOP",)) or None)
    return out


def score(links: pd.DataFrame, truth_pid: pd.Series, linkable: pd.Series) -> dict:
    truth = truth_pid.reindex(links["row"]).to_numpy()
    right = links["pid"].astype(str).to_numpy() == pd.Series(truth).astype(str).to_numpy()
    n_linkable = int(linkable.sum())
    found = int(right.sum())
    return {"links": len(links), "right": found, "wrong": int((~right).sum()),
            "by_join": int((links["stage"] == "join").sum()), "by_jw": int((links["stage"] == "jw").sum()),
            "sliver": int(((links["jw"] >= THRESHOLD - EPSILON) & (links["jw"] < THRESHOLD)).sum()),
            "recall": found / n_linkable if n_linkable else float("nan"),
            "precision": found / len(links) if len(links) else float("nan")}


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parishes", type=int, default=10, help="transcribed parishes (default 10)")
    ap.add_argument("--years", type=int, default=20, help="years of births per parish, from 1921 (default 20)")
    ap.add_argument("--births", type=int, default=100, help="births per parish and year (default 100)")
    ap.add_argument("--decoys", type=float, default=1.5, help="people born elsewhere per transcribed child")
    ap.add_argument("--later-years", type=int, default=5,
                    help="years after the deliveries' last whose births in the same parishes CPR also holds")
    ap.add_argument("--seed", type=int, default=1921)
    ap.add_argument("--show-wrong", action="store_true", help="print the staged linkage's wrong links")
    ap.add_argument("--part-guard", type=float, default=0.9,
                    help="staged linkage: a Jaro-Winkler link of the first stage also needs the first given names "
                         "and the surnames this close, each (default 0.9; 0 switches it off)")
    ap.add_argument("--names", choices=("real", "fixtures"), default="real",
                    help="truth names from the real Vejby censuses in ../shared (default) or the generators' lists")
    ap.add_argument("--keep", type=Path, help="write the deliveries here and keep them")
    ap.add_argument("--timing-rows", type=int, default=1_000_000,
                    help="also time add_match_keys on this many rows (the clean table repeated; 0 = skip)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rates = Rates()
    noise = KeyingNoise()
    pool = (real_name_pool() if args.names == "real" else None) or fixture_name_pool()
    register = load_parish_register()
    by_name = {p.name: p for p in register.parishes.values()}
    chosen = [by_name[n] for n in TRANSCRIBED[: args.parishes]]
    others = [p for p in register.parishes.values() if p not in chosen]
    first_year, last_year = 1921, 1921 + args.years - 1
    t0 = time.perf_counter()

    truth = draw_population(rng, chosen, first_year, last_year, args.births, pool)
    decoys = draw_population(rng, others, first_year, last_year,
                             max(1, int(args.births * args.decoys * len(chosen) / max(1, len(others)))), pool)
    # CPR also holds people born in the transcribed parishes in years the deliveries do not
    # cover: close to a child in date and name, they are where wrong JW links come from.
    later = draw_population(rng, chosen, last_year + 1, last_year + args.later_years, args.births, pool)
    decoys = pd.concat([decoys, later], ignore_index=True)
    decoys["pid"] = np.arange(len(truth), len(truth) + len(decoys))
    truth = add_struck_and_cpr_names(rng, truth, rates, pool)
    decoys = add_struck_and_cpr_names(rng, decoys, rates, pool)
    keyed = keyed_records(rng, truth, register, rates, noise)
    alive = ~keyed["dead_unnamed"].to_numpy() & (rng.random(len(truth)) >= rates.died_before_cpr)
    decoys_alive = rng.random(len(decoys)) >= rates.died_before_cpr
    cpr = pd.concat([cpr_register(rng, truth[alive], register), cpr_register(rng, decoys[decoys_alive], register)],
                    ignore_index=True)
    in_cpr = set(cpr["pid"].astype(int))

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-linkage-"))
    folder.mkdir(parents=True, exist_ok=True)
    truth_of = write_deliveries(folder, keyed, register, first_year, last_year)
    t1 = time.perf_counter()
    result = run_pipeline([folder], keep_clean=True, progress=False)
    clean = pd.concat(result.clean["KBF"], ignore_index=True)
    t2 = time.perf_counter()
    own = clean["INDTASTNINGSNUMMER"].map(parish_of_deliveries(result.deliveries))
    clean = add_match_keys(clean, "KBF", own)
    cpr = add_match_keys(cpr, "CPR")
    t3 = time.perf_counter()

    pid = pd.Series([truth_of[(e, int(n))] for e, n in zip(clean["INDTASTNINGSNUMMER"], clean["LOEBE_NR"])],
                    index=clean.index)
    linkable = pid.isin(in_cpr)

    # Raw: the values as keyed, upper-cased and put together with blanks; birthplace text as
    # the parish; CPR as it stands.
    def together(frame, cols):
        parts = [frame[c].fillna("").astype(str).str.strip() for c in cols]
        out = parts[0]
        for p in parts[1:]:
            out = out + " " + p
        out = out.str.upper().str.split().str.join(" ")
        return out.where(out != "")

    raw = pd.DataFrame({"NAVN": together(clean, ["FORNAVN", "MELLEMNAVNE", "EFTERNAVN"]),
                        "DATO": clean["FOEDSELSDATO"].astype(str).str.strip(),
                        "STED": clean["FOEDESTED"].fillna("").str.strip().str.upper().replace("", None),
                        "_SEX": clean["KOEN"].fillna("").str.strip().str.upper().replace("", None)},
                       index=clean.index)
    cpr_raw = pd.DataFrame({"pid": cpr["pid"].astype(int), "NAVN": together(cpr, ["FORNAVN", "MELLEMNAVNE", "EFTERNAVN"]),
                            "DATO": cpr["FOEDSELSDATO"], "STED": cpr["FOEDESOGN_NAVN"], "_SEX": cpr["KOEN"]})
    clean = first_and_surname(clean, "KBF")
    cpr = first_and_surname(cpr, "CPR")
    usable = clean[clean["TIL_LINKAGE"]]
    cpr_keys = cpr.assign(pid=cpr["pid"].astype(int))
    minimal = [("NAVN_NOEGLE", "NAVN_NOEGLE"), ("NAVN_UDEN_KLAMMER_NOEGLE", "NAVN_NOEGLE"),
               ("NAVN_KUN_KLAMMER_NOEGLE", "NAVN_NOEGLE")]
    standard = [("NAVN_STANDARD", "NAVN_STANDARD"), ("NAVN_UDEN_KLAMMER_STANDARD", "NAVN_STANDARD")]
    dates, parishes = ("FOEDSELSDATO_NOEGLE", "FOEDSELSDATO_NOEGLE"), ("FOEDESTED_SOGNEKODE", "FOEDESOGN")
    runs = {}
    for rule in (True, False):
        runs[rule] = {
            "raw values (as keyed)": pilot_link(raw, cpr_raw, [("NAVN", "NAVN")], ("DATO", "DATO"), ("STED", "STED"),
                                                rule),
            "clean: minimal keys + parish codes": pilot_link(usable, cpr_keys, minimal, dates, parishes, rule),
            "clean: + name database (grundnavn)": pilot_link(usable, cpr_keys, minimal + standard, dates, parishes,
                                                              rule),
            "clean, join within the birth parish": pilot_link(usable, cpr_keys, minimal + standard, dates, parishes,
                                                               rule, join_in_parish=True),
        }
    staged = staged_link(usable, cpr_keys, raw, cpr_raw, minimal, standard, dates, parishes,
                         part_guard=args.part_guard)
    t4 = time.perf_counter()

    n = len(clean)
    print(f"names: {pool.source}; keying noise and rates of benchmarks/linkage_truth.py (no name list or rate "
          f"shared with the cleaning code)")
    print(f"truth: {len(truth)} children born in {len(chosen)} transcribed parishes {first_year}-{last_year}; "
          f"CPR-like register: {len(cpr)} people ({int(alive.sum())} of them children of the deliveries, "
          f"{int(decoys_alive.sum())} born elsewhere or later)")
    print(f"deliveries: {len(result.deliveries)}, {n} records; clean step {t2 - t1:.1f} s, match keys {t3 - t2:.1f} s, "
          f"linking {t4 - t3:.1f} s")
    print(f"records whose child is in CPR (the recall denominator): {int(linkable.sum())}; "
          f"clean table: {int((clean['DOED_UDEN_NAVN'] == 'J').sum())} dead unnamed and "
          f"{int((clean['BLOKERENDE_FEJL'] & (clean['DOED_UDEN_NAVN'] != 'J')).sum())} with a blocking error "
          f"(an impossible birth date) left out of linkage")
    resolved = clean["FOEDESTED_SOGNEKODE"].notna().mean()
    print(f"birthplace resolved to a parish code: {resolved:.1%} of records "
          f"({(clean['FOEDESTED_SOGNEKODE_METODE'] == 'eget_sogn').mean():.1%} by 'her i sognet'); "
          f"raw birthplace text equal to the parish name: {(raw['STED'].isin(set(cpr_raw['STED']))).mean():.1%}")
    print()
    for rule, title in ((True, "JW stage with the pilot's date condition (p.85: one date part off by one digit "
                               "or by one)"),
                        (False, "JW stage on 'birth date + full name' alone")):
        print(title)
        print(f"  {'linkage on':38} {'links':>7} {'right':>7} {'wrong':>6} {'join':>7} {'JW':>6} {'recall':>8} "
              f"{'precision':>10}")
        for label, links in runs[rule].items():
            s = score(links, pid, linkable)
            print(f"  {label:38} {s['links']:7d} {s['right']:7d} {s['wrong']:6d} {s['by_join']:7d} {s['by_jw']:6d} "
                  f"{s['recall']:8.2%} {s['precision']:10.3%}")
        print()
    s_raw = score(runs[True]["raw values (as keyed)"], pid, linkable)
    s_clean = score(runs[True]["clean: + name database (grundnavn)"], pid, linkable)
    print(f"pilot's rule: recall raw {s_raw['recall']:.2%} -> clean {s_clean['recall']:.2%} "
          f"({(s_clean['recall'] - s_raw['recall']) * 100:+.2f} points); "
          f"precision raw {s_raw['precision']:.3%} -> clean {s_clean['precision']:.3%}")
    s_staged = score(staged, pid, linkable)
    print()
    print("Staged linkage over the versions of the identifiers (pilot's rule first, then each version for the "
          "children still unlinked):")
    print(f"  {'stage':38} {'links':>7} {'right':>7} {'wrong':>6}")
    for stage, part in staged.groupby("stage", sort=False):
        right = part["pid"].astype(str).to_numpy() == pid.reindex(part["row"]).astype(str).to_numpy()
        print(f"  {stage:38} {len(part):7d} {int(right.sum()):7d} {int((~right).sum()):6d}")
    print(f"  {'all stages':38} {s_staged['links']:7d} {s_staged['right']:7d} {s_staged['wrong']:6d}   recall "
          f"{s_staged['recall']:.2%}, precision {s_staged['precision']:.3%}")

    if args.show_wrong:
        wrong = staged[staged["pid"].astype(str).to_numpy() != pid.reindex(staged["row"]).astype(str).to_numpy()]
        by_pid = cpr_raw.set_index("pid")
        for r in wrong.itertuples():
            true = pid[r.row]
            print(f"  wrong [{r.stage}]: keyed {raw.at[r.row, 'NAVN']} {raw.at[r.row, 'DATO']} "
                  f"-> {by_pid.at[int(r.pid), 'NAVN']} {by_pid.at[int(r.pid), 'DATO']}; "
                  f"truth {by_pid.at[int(true), 'NAVN'] if int(true) in by_pid.index else '(not in CPR)'}")

    def right_links(links):
        ok = links["pid"].astype(str).to_numpy() == pid.reindex(links["row"]).astype(str).to_numpy()
        return set(links["row"][ok])

    raw_right = right_links(runs[True]["raw values (as keyed)"])
    lost_clean = raw_right - right_links(runs[True]["clean: + name database (grundnavn)"])
    lost_staged = raw_right - right_links(staged)
    print(f"links the raw values make right and the clean tables lose: {len(lost_clean)} with the pilot's rule on "
          f"the clean keys, {len(lost_staged)} with the staged linkage (must be 0)")
    print()
    print("What the keying did, and how many of those children each linkage finds (children in CPR):")
    keyed_noise = pd.Series(keyed.set_index("pid")["noise"]).reindex(pid.to_numpy()).fillna("").to_numpy()
    found = {"raw": raw_right, "pilot clean": right_links(runs[True]["clean: + name database (grundnavn)"]),
             "staged": right_links(staged)}
    print(f"  {'noise':28} {'children':>8} " + " ".join(f"{k:>12}" for k in found))
    kinds = sorted({k for v in keyed_noise for k in v.split("|") if k}) + ["(none)"]
    rows_all = pid.index.to_numpy()
    in_cpr_mask = linkable.to_numpy()
    for kind in kinds:
        mask = np.array([(kind in v.split("|")) if kind != "(none)" else v == "" for v in keyed_noise]) & in_cpr_mask
        n = int(mask.sum())
        if not n:
            continue
        rows = set(rows_all[mask])
        print(f"  {kind:28} {n:8d} " + " ".join(f"{len(rows & f) / n:12.1%}" for f in found.values()))
    print()
    sliver = {label: score(links, pid, linkable)["sliver"] for rule in runs for label, links in runs[rule].items()}
    example = JaroWinkler.similarity("KARLPEDERSEN", "KURLPEDERSEN")
    print(f"Jaro-Winkler accepted at >= {THRESHOLD} - {EPSILON:g}, not >= {THRESHOLD}: an exact 0.95 is computed as "
          f"{example!r} (KARLPEDERSEN/KURLPEDERSEN); accepted links in that sliver over all runs: "
          f"{sum(sliver.values())}")
    clean_links = runs[True]["clean: + name database (grundnavn)"]
    band = clean_links[(clean_links["stage"] == "jw") & (clean_links["jw"] < 0.955)]
    print(f"clean JW links in the pilot's manual-review band (0.945-0.955, accepted part): {len(band)}")
    print("(the last line of each table is not the pilot's rule: with parish codes on both sides the exact join "
          "can also require the same birth parish)")
    if args.timing_rows:
        wanted = [c for c in result.clean["KBF"][0].columns if c.startswith(("FORNAVN", "MELLEMNAVNE", "EFTERNAVN",
                  "KOEN", "FOEDSELSDATO", "FOEDESTED", "FADERS_", "MODERS_", "INDTASTNINGSNUMMER"))]
        base = pd.concat(result.clean["KBF"], ignore_index=True)[wanted]
        big = pd.concat([base] * (args.timing_rows // len(base) + 1), ignore_index=True).iloc[:args.timing_rows]
        big_own = big["INDTASTNINGSNUMMER"].map(parish_of_deliveries(result.deliveries))
        t5 = time.perf_counter()
        keyed_big = add_match_keys(big, "KBF", big_own)
        took = time.perf_counter() - t5
        print(f"add_match_keys on {len(big):,} rows (child, father and mother; "
              f"{keyed_big.shape[1] - big.shape[1]} columns added): {took:.1f} s")
    print(f"total {time.perf_counter() - t0:.1f} s")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
