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
import dataclasses
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler

from validators.match_keys import swapped_iso

CPR_START = date(1968, 4, 2)
CROSS_COLUMNS = ("DOED_FOER_CPR", "DOED_FOER_CPR_KILDE", "KOPI_AF")
BOOK_TWICE_SHARE = 0.8  # of the smaller delivery's births found in the other: the same book


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


@dataclass(frozen=True)
class Context:
    """What a check over part of the store needs to know about the whole of it, so that it
    decides exactly as the check over everything would (``ingest.store.crosscheck``'s
    incremental check reads only the birth days a new delivery touches):

    ``spans``       every KBF book's birth years and parish (``book_spans`` over its records);
    ``death_parishes`` every KBD book's parish of death (where most of its records died);
    ``sizes``       (source, entry number) -> the book's records with a birth date and a sex
                    (the share that makes two books one book delivered twice);
    ``twice``       (source, copy, original) of books already known as delivered twice whose
                    finding is not being checked again: their pairs are no new findings and
                    the copy's records stay out of the matching."""
    spans: pd.DataFrame
    death_parishes: dict[str, str]
    sizes: dict[tuple[str, str], int]
    twice: frozenset = frozenset()


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


def _distinct(values, func) -> np.ndarray:
    """``func`` of each value, computed once per distinct value (names repeat)."""
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniq] + [func(None)], dtype=object)
    return mapped[codes]


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=object) if name in frame else np.full(len(frame), None, dtype=object)


def _date_int(value) -> int:
    """'1921-03-12' -> 19210312; -1 for no date."""
    if isinstance(value, str) and len(value) == 10 and value[:4].isdigit() and value[5:7].isdigit() \
            and value[8:].isdigit():
        return int(value[:4] + value[5:7] + value[8:])
    return -1


def _swapped_int(value: int) -> int:
    """The date with day and month swapped, as an int; -1 when that is no date."""
    if value is None or value < 0:
        return -1
    y, m, d = value // 10000, value // 100 % 100, value % 100
    if m == d:
        return -1
    try:
        date(y, d, m)
    except ValueError:
        return -1
    return y * 10000 + d * 100 + m


def _initial_code(value) -> int:
    return ord(value[0]) if isinstance(value, str) and value else 0


def _side(frame: pd.DataFrame, row_name: str, father: str, mother: str) -> pd.DataFrame:
    """The compared parts of each record, compactly: dates, sex and initials as integers
    (the join keys), names as one shared string per distinct value, keys as categories."""
    first = _distinct(_column(frame, "FORNAVN_GRUNDNAVN"), _first_word)
    surname = _distinct(_column(frame, "EFTERNAVN_GRUNDNAVN"), _last_word)
    return pd.DataFrame({
        row_name: frame.index.to_numpy(),
        "entry": pd.Categorical(frame["INDTASTNINGSNUMMER"].astype(str).to_numpy()),
        "loebe": frame["LOEBE_NR"].to_numpy(), "file": pd.Categorical(_column(frame, "KILDEFIL")),
        "line": frame["LINJE"].to_numpy() if "LINJE" in frame else np.zeros(len(frame), dtype=np.int64),
        "date": np.asarray(_distinct(_column(frame, "FOEDSELSDATO_NOEGLE"), _date_int), dtype=np.int64),
        "sex": np.asarray(_distinct(_column(frame, "KOEN_REN"), lambda v: {"M": 1, "K": 2}.get(v, 0)),
                          dtype=np.int8),
        "first": first, "surname": surname,
        "fi": np.asarray(_distinct(first, _initial_code), dtype=np.int32),
        "si": np.asarray(_distinct(surname, _initial_code), dtype=np.int32),
        "father": _distinct(_column(frame, father), _first_word),
        "mother": _distinct(_column(frame, mother), _first_word),
        "parish": pd.Categorical(_column(frame, "FOEDESTED_SOGNEKODE")),
    })


def _births(kbf: pd.DataFrame) -> pd.DataFrame:
    return _side(kbf, "b_row", "FADERS_FORNAVN_GRUNDNAVN", "MODERS_FORNAVN_GRUNDNAVN")


def _deaths(kbd: pd.DataFrame) -> pd.DataFrame:
    out = _side(kbd, "d_row", "FADERS_NAVN_GRUNDNAVN", "MODERS_NAVN_GRUNDNAVN")
    out["died"] = _column(kbd, "DOEDSDATO_ISO")
    out["age"] = pd.to_numeric(pd.Series(_column(kbd, "ALDER_VED_DOED")), errors="coerce").to_numpy()
    return out


def book_spans(kbf: pd.DataFrame) -> pd.DataFrame:
    """Per KBF book: the years its records were born in and its parish (the most common
    birth-parish code of its records).  A year counts when it holds at least two of the
    book's births and 1% of them: one misdated record does not stretch the book."""
    frame = pd.DataFrame({"book": kbf["INDTASTNINGSNUMMER"].astype(str).to_numpy(),
                          "year": pd.to_numeric(pd.Series(_column(kbf, "FOEDSELSDATO_NOEGLE"), dtype="string")
                                                .str.slice(0, 4), errors="coerce").to_numpy(),
                          "parish": _column(kbf, "FOEDESTED_SOGNEKODE")})
    per_year = frame.dropna(subset=["year"]).groupby(["book", "year"]).size().rename("n").reset_index()
    per_year["total"] = per_year.groupby("book")["n"].transform("sum")
    kept = per_year[(per_year["n"] >= 2) & (per_year["n"] >= 0.01 * per_year["total"])]
    span = kept.groupby("book")["year"].agg(from_year="min", to_year="max")
    counts = frame.dropna(subset=["parish"]).groupby(["book", "parish"]).size().rename("n").reset_index()
    # the most common parish; of two as common, the first by code (the same however the
    # records are read: a whole store, or one book)
    parish = (counts.sort_values(["book", "n", "parish"], ascending=[True, False, True], kind="stable")
              .drop_duplicates("book").set_index("book"))
    span = span.join(parish["parish"], how="inner").dropna()
    return span.astype({"from_year": "int64", "to_year": "int64"}).rename_axis("book").reset_index()


NAME_PARTS = ("first", "surname", "father", "mother")
BLOCK_KEYS = ("date", "sex", "fi", "si")


@dataclass
class Vocabulary:
    """The names of both sides as one list: pairs carry integer codes, not strings."""

    names: np.ndarray  # code -> name
    empty: np.ndarray  # code -> the name is empty


def encode_names(*sides: pd.DataFrame) -> Vocabulary:
    """Replace the name columns of ``sides`` (in place) by codes into one vocabulary."""
    values = [pd.unique(side[p].to_numpy(dtype=object)) for side in sides for p in NAME_PARTS if len(side)]
    index = pd.Index(pd.unique(np.concatenate(values + [np.array([""], dtype=object)])), dtype=object)
    for side in sides:
        for p in NAME_PARTS:
            side[p] = index.get_indexer(side[p].to_numpy(dtype=object)).astype(np.int32)
    names = np.asarray(index, dtype=object)
    return Vocabulary(names, np.array([not n for n in names], dtype=bool))


def _similarity(a: np.ndarray, b: np.ndarray, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Jaro-Winkler of each pair of name codes and whether both names are present,
    computed once per distinct pair (a few thousand pairs stand for millions)."""
    n = len(vocab.names)
    key = a.astype(np.int64) * n + b.astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    sims = np.array([JaroWinkler.similarity(vocab.names[k // n], vocab.names[k % n]) for k in uniq], dtype=np.float64)
    present = ~vocab.empty[a] & ~vocab.empty[b]
    return (sims[inverse] if len(key) else np.zeros(0)), present


def score_pairs(pairs: pd.DataFrame, r: Rules, vocab: Vocabulary) -> np.ndarray:
    """The weighted Jaro-Winkler similarity of each pair's names; a part missing on either
    side (no parents in one book) leaves the weight of the others."""
    total = np.zeros(len(pairs))
    weight = np.zeros(len(pairs))
    for part, w in r.weights.items():
        sim, present = _similarity(pairs[f"{part}_b"].to_numpy(), pairs[f"{part}_d"].to_numpy(), vocab)
        total += w * sim * present
        weight += w * present
    return np.where(weight > 0, total / np.maximum(weight, 1e-9), 0.0)


def _enrich(frame: pd.DataFrame, side: pd.DataFrame, key: str, suffix: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` (a few scored pairs) with ``columns`` of the records ``key`` points to."""
    info = side.set_index(key)
    frame = frame.copy()
    for column in columns:
        frame[f"{column}{suffix}"] = info[column].reindex(frame[key].to_numpy()).to_numpy()
    return frame


WHERE = ("entry", "loebe", "file", "line")


@dataclass
class CrossResult:
    findings: list[dict]
    died_before_cpr: pd.DataFrame  # b_row -> DOED_FOER_CPR, DOED_FOER_CPR_KILDE
    pairs: pd.DataFrame  # every scored pair (for inspection)
    copies: pd.DataFrame | None = None  # b_row -> KOPI_AF (the registration used for linkage)
    death_copies: pd.DataFrame | None = None  # KBD row -> KOPI_AF


def duplicate_births(kbf: pd.DataFrame, r: Rules, finding, births: pd.DataFrame | None = None,
                     spans: pd.DataFrame | None = None, context: Context | None = None
                     ) -> tuple[list[dict], pd.DataFrame]:
    """The same child in two KBF deliveries: a hospital birth registered in the birth parish
    and at home (the birth parish's entry is the one for linkage), or a whole book
    delivered twice.  Returns the findings and the copies (b_row -> KOPI_AF).  ``births``
    and ``spans``: ``_births(kbf)`` and ``book_spans(kbf)`` when the caller has them."""
    b = _births(kbf) if births is None else births.copy()
    spans = (book_spans(kbf) if spans is None else spans).set_index("book")
    b["book_parish"] = (b["entry"].astype(str).map(spans["parish"]).to_numpy(dtype=object) if len(spans)
                        else None)
    return _duplicates(b, r, finding, "KBF", context=context)


def duplicate_deaths(kbd: pd.DataFrame, r: Rules, finding, context: Context | None = None
                     ) -> tuple[list[dict], pd.DataFrame]:
    """The same death in two KBD deliveries: registered where the person died and where
    they were buried (the place of death's entry is the one for linkage), or a book of
    deaths delivered twice.  Returns the findings and the copies (d_row -> KOPI_AF)."""
    d = _side(kbd.reset_index(drop=True), "b_row", "FADERS_NAVN_GRUNDNAVN", "MODERS_NAVN_GRUNDNAVN")
    d["died"] = np.asarray(_distinct(_column(kbd, "DOEDSDATO_ISO"), _date_int), dtype=np.int64)
    # The record's own parish is where it says the person died; a book's, where most died.
    d["parish"] = pd.Categorical(_column(kbd, "DOEDSSTED_SOGNEKODE"))
    if context is not None:
        d["book_parish"] = d["entry"].astype(str).map(context.death_parishes).to_numpy(dtype=object)
    else:
        d["book_parish"] = d["entry"].astype(str).map(death_parishes(d)).to_numpy(dtype=object)
    return _duplicates(d, r, finding, "KBD", extra_keys=("died",), context=context)


def death_parishes(d: pd.DataFrame) -> dict[str, str]:
    """Per KBD book: the parish where most of its records died (``entry`` and ``parish`` as
    ``_side`` gives them, the parish of death)."""
    frame = pd.DataFrame({"book": d["entry"].astype(str), "parish": d["parish"].astype(object)}).dropna()
    counts = frame.groupby(["book", "parish"]).size().rename("n").reset_index()
    parish = counts.sort_values(["book", "n", "parish"], ascending=[True, False, True], kind="stable").drop_duplicates(
        "book")
    return dict(zip(parish["book"], parish["parish"]))


def _duplicates(b: pd.DataFrame, r: Rules, finding, source: str,
                extra_keys: tuple[str, ...] = (), context: Context | None = None) -> tuple[list[dict], pd.DataFrame]:
    """Records of one source registered in two deliveries (see ``duplicate_births``)."""
    noun, nouns, code, home = {
        "KBF": ("child", "children", "DUPLICATE_ACROSS_DELIVERIES", "the birth parish"),
        "KBD": ("death", "deaths", "DUPLICATE_DEATH_ACROSS_DELIVERIES", "the parish of death")}[source]
    b = b[(b["date"] >= 0) & (b["sex"] > 0)].copy()
    known = {(c, o) for s, c, o in (context.twice if context is not None else ()) if s == source}
    copies: dict[int, str] = {}
    for copy, original in sorted(known):  # known copies: out of the matching, no new findings
        for row in b.loc[(b["entry"].astype(str) == copy).to_numpy(), "b_row"]:
            copies[int(row)] = original
    vocab = encode_names(b)
    b = b.assign(entry_code=b["entry"].cat.codes.to_numpy())
    thin = b[["b_row", *BLOCK_KEYS, *extra_keys, *NAME_PARTS, "entry_code"]]
    # One block (both initials): the same child registered twice is keyed alike; a national
    # book of births compared with itself stays a few pairs per birth.
    pairs = thin.rename(columns={"b_row": "d_row"}).merge(thin, on=[*BLOCK_KEYS, *extra_keys], suffixes=("_d", "_b"))
    pairs = pairs[(pairs["entry_code_d"] != pairs["entry_code_b"]).to_numpy()
                  & (pairs["d_row"] < pairs["b_row"]).to_numpy()]
    if pairs.empty:
        return [], pd.DataFrame({"b_row": np.array(list(copies), dtype=np.int64), "KOPI_AF": list(copies.values())})
    pairs = pairs[["d_row", "b_row"]].assign(score=score_pairs(pairs, r, vocab))
    details = ("entry", "loebe", "file", "line", "parish", "book_parish")
    lo, hi = r.threshold - r.band, r.threshold + r.band
    same = pairs[pairs["score"] >= hi].sort_values("score", ascending=False)
    same = same.drop_duplicates("d_row").drop_duplicates("b_row")
    by_row = b.rename(columns={"b_row": "d_row"})
    same = _enrich(_enrich(same, by_row, "d_row", "_d", details), b, "b_row", "_b", details)
    findings: list[dict] = []
    counted = b["entry"].astype(str).value_counts()
    if context is not None:  # the whole books' sizes, not the part read
        sizes = pd.Series({e: context.sizes.get((source, e), int(n)) for e, n in counted.items()}, dtype="int64")
    else:
        sizes = counted
    shared = same.assign(entry_d=same["entry_d"].astype(str), entry_b=same["entry_b"].astype(str)).groupby(
        ["entry_d", "entry_b"]).size()
    twice = {(e1, e2) for (e1, e2), n in shared.items() if n >= BOOK_TWICE_SHARE * min(sizes[e1], sizes[e2])}
    twice -= {(e1, e2) for e1, e2 in twice if (e1, e2) in known or (e2, e1) in known}
    twice |= known
    for e1, e2 in sorted(twice - known):
        original, copy = sorted((e1, e2))
        n = int(shared[(e1, e2)])
        findings.append(finding("BOOK_DELIVERED_TWICE", f"{copy} holds the same {nouns} as {original} ({n} of "
                                f"{int(sizes[copy])} records): the same book delivered twice; {original} is used",
                                {"entry_number": copy, "loebe_nr": None, "file": None, "line": None, "source": source},
                                {"source": source, "entry_number": original, "loebe_nr": None, "file": None,
                                 "line": None}, n / min(sizes[e1], sizes[e2])))
        for row in b.loc[(b["entry"].astype(str) == copy).to_numpy(), "b_row"]:
            copies[int(row)] = original
    for row in same.itertuples():
        if (str(row.entry_d), str(row.entry_b)) in twice or (str(row.entry_b), str(row.entry_d)) in twice:
            continue
        # The registration in the book of the child's birth parish is the one for linkage.
        d_home = isinstance(row.book_parish_d, str) and row.book_parish_d == row.parish_d
        b_home = isinstance(row.book_parish_b, str) and row.book_parish_b == row.parish_b
        keep_d = d_home or not b_home
        o, c = ("_d", "_b") if keep_d else ("_b", "_d")
        keep = {"entry_number": str(getattr(row, f"entry{o}")), "loebe_nr": int(getattr(row, f"loebe{o}")),
                "file": str(getattr(row, f"file{o}")), "line": int(getattr(row, f"line{o}"))}
        drop = {"entry_number": str(getattr(row, f"entry{c}")), "loebe_nr": int(getattr(row, f"loebe{c}")),
                "file": str(getattr(row, f"file{c}")), "line": int(getattr(row, f"line{c}"))}
        copies[int(getattr(row, "b_row" if c == "_b" else "d_row"))] = f"{keep['entry_number']}:{keep['loebe_nr']}"
        findings.append(finding(code, f"the same {noun} as {keep['entry_number']} running number {keep['loebe_nr']} "
                                f"(score {row.score:.3f}); that registration, in {home}, is the one for linkage",
                                {**drop, "source": source}, {"source": source, **keep}, row.score))
    near = pairs[(pairs["score"] >= lo) & (pairs["score"] < hi)]
    near = _enrich(_enrich(near, by_row, "d_row", "_d", WHERE), b, "b_row", "_b", WHERE)
    for row in near.itertuples():
        on = {"entry_number": str(row.entry_b), "loebe_nr": int(row.loebe_b), "file": str(row.file_b),
              "line": int(row.line_b), "source": source}
        other = {"source": source, "entry_number": str(row.entry_d), "loebe_nr": int(row.loebe_d),
                 "file": str(row.file_d), "line": int(row.line_d)}
        findings.append(finding("CROSSCHECK_REVIEW", f"{source} {row.entry_d} running number {int(row.loebe_d)} may "
                                f"be the same {noun} (score {row.score:.3f}, in the review band)", on, other,
                                row.score))
    return findings, pd.DataFrame({"b_row": list(copies), "KOPI_AF": list(copies.values())})


def candidate_pairs(b: pd.DataFrame, d: pd.DataFrame) -> pd.DataFrame:
    """Deaths and births that may be one child: the same sex and birth date (or the death's
    with day and month swapped), and the same initial of the first name or of the surname
    (two blocks, so a name spelled two ways in one part is still met through the other).
    Only row numbers, keys and name codes travel through the join."""
    d = d[["d_row", *BLOCK_KEYS, *NAME_PARTS]]
    b = b[["b_row", *BLOCK_KEYS, *NAME_PARTS]]
    swapped = d.assign(date=np.asarray(_distinct(d["date"].to_numpy(), _swapped_int), dtype=np.int64), how=1)
    swapped = swapped[swapped["date"] >= 0]
    deaths = pd.concat([d.assign(how=0), swapped], ignore_index=True)
    parts = []
    for block, other in (("fi", "si"), ("si", "fi")):
        part = deaths.drop(columns=[other]).merge(b.drop(columns=[other]), on=["date", "sex", block],
                                                  suffixes=("_d", "_b"))
        parts.append(part.drop(columns=[block]))
    pairs = pd.concat(parts, ignore_index=True)
    return pairs.drop_duplicates(["d_row", "b_row", "how"], ignore_index=True)


def _where_of(frame: pd.DataFrame, suffix: str) -> list[dict]:
    return [{"entry_number": str(e), "loebe_nr": int(n), "file": str(f), "line": int(ln)}
            for e, n, f, ln in zip(frame[f"entry{suffix}"], frame[f"loebe{suffix}"], frame[f"file{suffix}"],
                                   frame[f"line{suffix}"])]


def census_children(ft_children: pd.DataFrame) -> pd.DataFrame:
    """The census children (``ft_children``) in the columns the check compares: the child's
    names, birth date, sex, birthplace and age, the parents' first names."""
    c = ft_children
    return pd.DataFrame({
        "INDTASTNINGSNUMMER": c["INDTASTNINGSNUMMER"].to_numpy(), "LOEBE_NR": c["BARN_LOEBE_NR"].to_numpy(),
        "KILDEFIL": _column(c, "KILDEFIL"), "LINJE": c["LINJE"].to_numpy() if "LINJE" in c else 0,
        "FOEDSELSDATO_NOEGLE": _column(c, "BARN_FOEDSELSDATO_NOEGLE"), "KOEN_REN": _column(c, "BARN_KOEN"),
        "FORNAVN_GRUNDNAVN": _column(c, "BARN_FORNAVN_GRUNDNAVN"),
        "EFTERNAVN_GRUNDNAVN": _column(c, "BARN_EFTERNAVN_UDLEDT_GRUNDNAVN"),
        "FADERS_NAVN_GRUNDNAVN": _column(c, "FAR_FORNAVN_GRUNDNAVN"),
        "MODERS_NAVN_GRUNDNAVN": _column(c, "MOR_FORNAVN_GRUNDNAVN"),
        "FOEDESTED_SOGNEKODE": _column(c, "BARN_FOEDESTED_SOGNEKODE"),
        "ALDER_VED_DOED": pd.to_numeric(pd.Series(_column(c, "BARN_ALDER_BEREGNET")), errors="coerce").to_numpy(),
    })


def crosscheck(kbf: pd.DataFrame, kbd: pd.DataFrame | None,
               duplicates: bool = True, ft_children: pd.DataFrame | None = None,
               context: Context | None = None) -> CrossResult:
    """Check clean KBF and KBD tables (with their match keys) against each other, and the
    census children (``ft_children``) against the births when given.

    Missing births are looked for in every KBF book, its parish the most common birth-parish
    code of its records.  ``duplicates`` False leaves out the births compared with each
    other (an incremental check of a delivery of deaths).  ``context``: the whole store's
    books when the tables given are only the birth days a check has to read (``Context``)."""
    from validators.catalogue import CATALOGUE

    r = rules()
    kbf = kbf.reset_index(drop=True)
    findings: list[dict] = []

    def finding(code: str, message: str, on: dict, other: dict, score: float | None) -> dict:
        # on the birth unless ``on`` names another source; ``other`` always names its source
        return {"code": code, "severity": CATALOGUE[code].severity.value, "source": "KBF", "field": None, "page": None,
                "message": message, "suggestion": None, "auto_fix": False, **on,
                "other": other, "score": None if score is None or pd.isna(score) else round(float(score), 4),
                "rule_version": r.version}

    spans = book_spans(kbf) if context is None else context.spans
    all_births = _births(kbf) if duplicates else None
    dup_findings, copies = (duplicate_births(kbf, r, finding, all_births, spans, context) if duplicates
                            else ([], pd.DataFrame(columns=["b_row", "KOPI_AF"])))
    findings.extend(dup_findings)
    twice = {f["entry_number"] for f in dup_findings if f["code"] == "BOOK_DELIVERED_TWICE"}
    twice |= {copy for source, copy, _ in (context.twice if context is not None else ()) if source == "KBF"}
    covered = spans[~spans["book"].isin(twice)]
    birth_days = set(pd.unique(_column(kbf, "FOEDSELSDATO_NOEGLE")))
    keep_out = kbf.index.isin(copies["b_row"].to_numpy())  # a copy is not a second child
    died_before = pd.DataFrame(columns=["b_row", "DOED_FOER_CPR", "DOED_FOER_CPR_KILDE", "score"])
    death_copies = None
    deaths = None
    if kbd is not None and len(kbd):
        kbd = kbd.reset_index(drop=True)
        deaths = kbd
        if duplicates:
            dead_findings, death_copies = duplicate_deaths(kbd, r, finding, context)
            findings.extend(dead_findings)
            # A death registered twice is one death: its copy is not matched again.
            deaths = kbd[~kbd.index.isin(death_copies["b_row"].to_numpy())]
    all_pairs = []
    for source, frame in (("KBD", deaths), ("FT", census_children(ft_children) if ft_children is not None else None)):
        if frame is None or not len(frame):
            continue
        found, decided, pairs = _against(kbf, all_births, keep_out, birth_days, covered, frame, source, r, finding)
        findings.extend(found)
        all_pairs.append(pairs.assign(source=source))
        if source == "KBD":
            died = pd.Series(decided["died_d"], dtype="string").fillna("")
            before = decided[(died.str.len() == 10).to_numpy()
                             & (died < CPR_START.isoformat()).fillna(False).to_numpy()]
            died_before = pd.DataFrame({
                "b_row": before["b_row"].to_numpy(dtype=np.int64),
                "DOED_FOER_CPR": before["died_d"].to_numpy(dtype=object),
                "DOED_FOER_CPR_KILDE": before["entry_d"].astype(str).str.cat(
                    before["loebe_d"].astype("int64").astype(str), sep=":").to_numpy(dtype=object),
                "score": before["score"].to_numpy()})
            died_before = died_before.sort_values("score", ascending=False).drop_duplicates("b_row")
    pairs = pd.concat(all_pairs, ignore_index=True) if all_pairs else pd.DataFrame()
    return CrossResult(findings, died_before, pairs, copies, death_copies)


def _against(kbf: pd.DataFrame, all_births: pd.DataFrame | None, keep_out: np.ndarray, birth_days: set,
             covered: pd.DataFrame, other: pd.DataFrame, source: str, r: Rules, finding):
    """The births against the records of another source (KBD deaths, census children):
    the best birth for each record, the review band, and the children of that source whose
    birth no book holds though a book of their birth parish covers their birth year."""
    other = other.reset_index(drop=True)
    # Only records born on a day some birth was (the adults of a book of deaths are never
    # in a book of births), and only the births of the days they touch (an incremental
    # check of one delivery reads a handful of days of the national table) ...
    days = pd.Series(_column(other, "FOEDSELSDATO_NOEGLE"))
    swap_days = pd.Series(_distinct(days.to_numpy(), swapped_iso))
    reach = (days.isin(birth_days) | swap_days.isin(birth_days)).to_numpy()
    # ... and the children, whose birth may be missing from every book.
    child = (pd.to_numeric(pd.Series(_column(other, "ALDER_VED_DOED")), errors="coerce") < r.child_age).to_numpy()
    d = _deaths(other[reach | child])
    d = d[(d["date"] >= 0) & (d["sex"] > 0)].copy()
    touched_days = set(days[reach]) | set(swap_days[reach].dropna())
    touched = pd.Series(_column(kbf, "FOEDSELSDATO_NOEGLE")).isin(touched_days).to_numpy() & ~keep_out
    b = (all_births[touched] if all_births is not None else _births(kbf[touched]))
    b = b[(b["date"] >= 0) & (b["sex"] > 0)].copy()
    vocab = encode_names(b, d)
    pairs = candidate_pairs(b, d)
    pairs = pairs[["d_row", "b_row", "how"]].assign(score=score_pairs(pairs, r, vocab) if len(pairs) else np.zeros(0))
    pairs.loc[pairs["how"] == 1, "score"] -= 0.02  # a swapped date counts a little against
    lo, hi = r.threshold - r.band, r.threshold + r.band
    found: list[dict] = []

    ranked = pairs.sort_values(["d_row", "score"], ascending=[True, False], kind="stable")
    ranked["rank"] = ranked.groupby("d_row").cumcount()
    second = ranked[ranked["rank"] == 1].set_index("d_row")["score"]
    best = ranked[ranked["rank"] == 0].copy()
    best["second"] = best["d_row"].map(second).fillna(0.0).to_numpy()
    best = best[best["score"] >= lo]
    best = _enrich(_enrich(best, d, "d_row", "_d", (*WHERE, "died")), b, "b_row", "_b", WHERE)
    decided = best[(best["score"] >= hi) & (best["score"] - best["second"] >= r.margin)]
    review = best[~best["d_row"].isin(decided["d_row"])]
    what = {"KBD": "KBD", "FT": "census"}[source]
    for (row, on), where in zip(zip(review.itertuples(), _where_of(review, "_b")), _where_of(review, "_d")):
        why = ("two births fit it almost equally" if row.score >= hi
               else "the score is in the review band around the threshold")
        found.append(finding("CROSSCHECK_REVIEW", f"{what} {where['entry_number']} running number "
                             f"{where['loebe_nr']} may be this child ({why}; score {row.score:.3f}, "
                             f"threshold {r.threshold:.2f} ± {r.band:.2f})", on, {"source": source, **where},
                             row.score))

    open_rows = d[~d["d_row"].isin(best["d_row"])]
    open_rows = open_rows[(pd.to_numeric(open_rows["age"], errors="coerce") < r.child_age).fillna(False)]
    open_rows = open_rows.assign(year=open_rows["date"].to_numpy() // 10000,
                                 parish=open_rows["parish"].astype(object))
    missing = open_rows.merge(covered, on="parish")
    missing = missing[(missing["year"] >= missing["from_year"]) & (missing["year"] <= missing["to_year"])]
    code = {"KBD": "BIRTH_NOT_KEYED_KBD", "FT": "BIRTH_NOT_KEYED_FT"}[source]
    how = {"KBD": "buried", "FT": "counted in the census"}[source]
    for row, where in zip(missing.itertuples(), _where_of(missing, "")):
        found.append(finding(
            code, f"a child born {row.date // 10000}-{row.date // 100 % 100:02d}-{row.date % 100:02d} in the parish "
            f"and {how} ({where['entry_number']} running number {where['loebe_nr']}) has no birth in {row.book} "
            f"(births {row.from_year}-{row.to_year})",
            {"entry_number": row.book, "loebe_nr": None, "file": None, "line": None}, {"source": source, **where},
            None))
    return found, decided, pairs


def cross_key(f: dict) -> str:
    """The same two records in the same question give the same key, whatever the run: the
    code, the record the finding is on and the record on the other side."""
    o = f.get("other") or {}

    def part(v):
        return "" if v is None else str(v)

    return "|".join([f["code"], part(f.get("entry_number")), part(f.get("loebe_nr")), part(o.get("source")),
                     part(o.get("entry_number")), part(o.get("loebe_nr"))])


SAME_PERSON, TWO_PERSONS = "same_person", "two_persons"


def apply_decisions(result: CrossResult, kbf: pd.DataFrame, kbd: pd.DataFrame | None,
                    decisions: dict[str, str]) -> CrossResult:
    """A reviewer's word over the thresholds' (``decisions``: cross key -> ``same_person`` or
    ``two_persons``): two registrations decided to be two persons are no copy of each other;
    a pair in the review band decided to be one person makes the registration the finding is
    on a copy of the other. The findings themselves stay (decided, they are out of the queue)."""
    if not decisions:
        return result
    frames = {"KBF": kbf, "KBD": kbd}
    copies = {"KBF": dict(zip(result.copies["b_row"], result.copies["KOPI_AF"])) if result.copies is not None else {},
              "KBD": dict(zip(result.death_copies["b_row"], result.death_copies["KOPI_AF"]))
              if result.death_copies is not None else {}}
    rows: dict[str, dict] = {}

    def row_of(source: str, entry, loebe) -> int | None:
        frame = frames.get(source)
        if frame is None or entry is None or loebe is None:
            return None
        if source not in rows:
            rows[source] = {(str(e), int(n)): i for i, (e, n) in
                            enumerate(zip(frame["INDTASTNINGSNUMMER"], frame["LOEBE_NR"]))}
        return rows[source].get((str(entry), int(loebe)))

    for f in result.findings:
        said = decisions.get(cross_key(f))
        other = f.get("other") or {}
        source = f.get("source")
        if said is None or source not in copies or other.get("source") != source:
            continue
        row = row_of(source, f.get("entry_number"), f.get("loebe_nr"))
        if row is None:
            continue
        if said == TWO_PERSONS and f["code"] in ("DUPLICATE_ACROSS_DELIVERIES", "DUPLICATE_DEATH_ACROSS_DELIVERIES"):
            copies[source].pop(row, None)
        elif said == SAME_PERSON and f["code"] == "CROSSCHECK_REVIEW" and other.get("loebe_nr") is not None:
            copies[source][row] = f"{other['entry_number']}:{other['loebe_nr']}"

    def frame_of(d: dict) -> pd.DataFrame:
        return pd.DataFrame({"b_row": np.array(list(d), dtype=np.int64), "KOPI_AF": list(d.values())})

    return dataclasses.replace(result, copies=frame_of(copies["KBF"]), death_copies=frame_of(copies["KBD"]))


def _kept_copies(frame: pd.DataFrame) -> np.ndarray:
    """``KOPI_AF`` as the table already has it (a record a reviewer confirmed as keyed twice
    inside its delivery), for the copies found across deliveries to be added to."""
    if "KOPI_AF" not in frame:
        return np.full(len(frame), None, dtype=object)
    kept = frame["KOPI_AF"].astype("object")
    # a copy: pandas may hand out a read-only view, and the cross copies are written into it
    return np.array(kept.where(kept.notna() & (kept != ""), None), dtype=object)


def add_death_copies(kbd: pd.DataFrame, result: CrossResult) -> pd.DataFrame:
    """The KBD table with ``KOPI_AF`` (for the second registration of one death: the
    registration used for linkage) and ``TIL_LINKAGE`` false on that copy."""
    out = kbd.copy()
    values = _kept_copies(out)
    copies = result.death_copies
    if copies is not None and len(copies):
        values[copies["b_row"].to_numpy(dtype=np.int64)] = copies["KOPI_AF"].to_numpy()
        if "TIL_LINKAGE" in out:
            linkable = out["TIL_LINKAGE"].to_numpy(dtype=bool).copy()
            linkable[copies["b_row"].to_numpy(dtype=np.int64)] = False
            out["TIL_LINKAGE"] = linkable
    out["KOPI_AF"] = pd.array(values, dtype="string")
    return out


def add_died_before_cpr(kbf: pd.DataFrame, result: CrossResult) -> pd.DataFrame:
    """The KBF table with ``DOED_FOER_CPR`` (YYYY-MM-DD or null), ``DOED_FOER_CPR_KILDE``
    (the KBD entry number and running number) and ``KOPI_AF`` (for the copy of a child
    registered twice: the registration used for linkage; ``TIL_LINKAGE`` false)."""
    out = kbf.copy()
    for column in CROSS_COLUMNS:
        values = _kept_copies(out) if column == "KOPI_AF" else np.full(len(out), None, dtype=object)
        source = result.copies if column == "KOPI_AF" else result.died_before_cpr
        if source is not None and len(source):
            values[source["b_row"].to_numpy(dtype=np.int64)] = source[column].to_numpy()
        out[column] = pd.array(values, dtype="string")
    if "TIL_LINKAGE" in out and result.copies is not None and len(result.copies):
        # The copy of a child registered twice stays out of the linkage; its original is used.
        linkable = out["TIL_LINKAGE"].to_numpy(dtype=bool).copy()
        linkable[result.copies["b_row"].to_numpy(dtype=np.int64)] = False
        out["TIL_LINKAGE"] = linkable
    return out


CHECK_COLUMNS = ("INDTASTNINGSNUMMER", "LOEBE_NR", "KILDEFIL", "LINJE", "FOEDSELSDATO_NOEGLE", "KOEN_REN",
                 "FORNAVN_GRUNDNAVN", "EFTERNAVN_GRUNDNAVN", "FADERS_FORNAVN_GRUNDNAVN", "MODERS_FORNAVN_GRUNDNAVN",
                 "FADERS_NAVN_GRUNDNAVN", "MODERS_NAVN_GRUNDNAVN", "FOEDESTED_SOGNEKODE", "DOEDSDATO_ISO",
                 "DOEDSSTED_SOGNEKODE", "ALDER_VED_DOED", "TIL_LINKAGE", "KOPI_AF")


ROWS_PER_PIECE = 200_000  # rows of a written table rewritten at a time (a national table has millions)


def _add_columns(path, extra: pd.DataFrame, parquet: bool) -> None:
    """Set or add ``extra``'s columns (one value per row, in order) in a written table,
    row group by row group (Parquet) or in chunks (CSV), replacing the file at the end."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".part")
    if parquet:
        source = pq.ParquetFile(path)
        at = 0
        writer = None
        try:
            for batch in source.iter_batches(batch_size=ROWS_PER_PIECE):
                table = pa.Table.from_batches([batch])
                piece = extra.iloc[at:at + table.num_rows]
                at += table.num_rows
                for column in piece.columns:
                    if column == "TIL_LINKAGE":
                        array = pa.array(piece[column].to_numpy(dtype=bool), type=pa.bool_())
                    else:
                        values = piece[column].astype(object)
                        array = pa.array(values.where(values.notna(), None).tolist(), type=pa.string())
                    if column in table.column_names:
                        table = table.set_column(table.column_names.index(column), column, array)
                    else:
                        table = table.append_column(column, array)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    else:
        first = True
        at = 0
        for chunk in pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, chunksize=ROWS_PER_PIECE):
            piece = extra.iloc[at:at + len(chunk)].set_index(chunk.index)
            at += len(chunk)
            for column in piece.columns:
                chunk[column] = piece[column].astype("string").fillna("") if column != "TIL_LINKAGE" \
                    else piece[column].map({True: "True", False: "False"})
            chunk.to_csv(tmp, sep=";", index=False, mode="w" if first else "a", header=first)
            first = False
    os.replace(tmp, path)


def read_check_columns(path) -> pd.DataFrame:
    """The columns the check compares from a written Parquet table, texts as categories (a
    national table's names repeat: one object per distinct value, not per row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    table = pq.read_table(path, columns=[c for c in CHECK_COLUMNS if c in names])
    return table.to_pandas(strings_to_categorical=True, types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def crosscheck_files(kbf_path, kbd_path, findings_path=None, children_path=None,
                     decisions: dict[str, str] | None = None) -> CrossResult | None:
    """The check over written tables (``mgr-ingest tables``): reads only the columns it
    compares, then adds ``DOED_FOER_CPR``, ``DOED_FOER_CPR_KILDE`` and ``KOPI_AF`` to the
    KBF table (a Parquet file rewritten row group by row group; a CSV file in chunks) and
    the findings to the findings table.  Without deaths (``kbd_path`` None or no file) the
    births are checked against the census children alone.  Returns None when there are no
    births, or nothing to check them against."""
    import os
    from pathlib import Path


    kbf_path = Path(kbf_path)
    kbd_path = Path(kbd_path) if kbd_path is not None and Path(kbd_path).is_file() else None
    if not kbf_path.is_file():
        return None
    parquet = kbf_path.suffix == ".parquet"

    def read(path: Path) -> pd.DataFrame:
        if parquet:
            return read_check_columns(path)
        head = pd.read_csv(path, sep=";", nrows=0).columns
        frame = pd.read_csv(path, sep=";", usecols=[c for c in CHECK_COLUMNS if c in head], dtype=str,
                            keep_default_na=False, na_values=[""]).astype(
            {c: "int64" for c in ("LOEBE_NR", "LINJE") if c in head})
        if "TIL_LINKAGE" in frame:
            frame["TIL_LINKAGE"] = frame["TIL_LINKAGE"].isin(["True", "true"])
        return frame
    kbf = read(kbf_path)
    kbd = read(kbd_path) if kbd_path is not None else None
    children = None
    if children_path is not None and Path(children_path).is_file():
        children = (pd.read_parquet(children_path) if parquet else
                    pd.read_csv(children_path, sep=";", dtype=str, keep_default_na=False, na_values=[""]))
    if kbd is not None and kbd.empty:
        kbd = None
    if kbf.empty or (kbd is None and (children is None or children.empty)):
        return None
    result = apply_decisions(crosscheck(kbf, kbd, ft_children=children), kbf, kbd, decisions or {})
    keep = ["TIL_LINKAGE"] if "TIL_LINKAGE" in kbf else []
    _add_columns(kbf_path, add_died_before_cpr(kbf, result)[[*CROSS_COLUMNS, *keep]], parquet)
    if kbd is not None:
        keep = ["TIL_LINKAGE"] if "TIL_LINKAGE" in kbd else []
        _add_columns(kbd_path, add_death_copies(kbd, result)[["KOPI_AF", *keep]], parquet)
    if findings_path is not None and Path(findings_path).is_file() and result.findings:
        findings_path = Path(findings_path)
        from validators.findings import FINDING_COLUMNS

        rows = pd.DataFrame([{c: f.get(c) for c in FINDING_COLUMNS} for f in result.findings])  # not empty
        for f, i in zip(result.findings, rows.index):
            o = f["other"]
            rows.at[i, "message"] = (f"{f['message']} [other: {o['source']} {o['entry_number']}"
                                     f"{'' if o.get('loebe_nr') is None else ' ' + str(o['loebe_nr'])}; "
                                     f"score {f['score']}; rules {f['rule_version']}]")
        if parquet:
            old = pd.read_parquet(findings_path)
            both = pd.concat([old, rows.astype({c: old[c].dtype for c in rows.columns if c in old})])  # index not written
            both.to_parquet(findings_path.with_name(findings_path.name + ".part"), index=False)
            os.replace(findings_path.with_name(findings_path.name + ".part"), findings_path)
        else:
            rows.to_csv(findings_path, sep=";", index=False, mode="a", header=False)
    return result
