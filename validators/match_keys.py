"""Match keys in the clean tables: the columns a linker joins and compares on.

``add_match_keys(clean, source, parish)`` lays, beside the raw and clean columns, for the
person a record is about (and for the parents or spouse named beside them):

=====================================  =====================================================
``NAVN_NOEGLE``                        full name, minimal cleaning (upper case, AA->Å, É->E,
                                       Ö->Ø; blanks, hyphens, brackets removed), struck-out
                                       part kept -- the pilot's match 1 (p.37, 85)
``NAVN_UDEN_KLAMMER_NOEGLE``           the same without the struck-out part (match 4)
``NAVN_KUN_KLAMMER_NOEGLE``            first names + only the struck-out part of the surname,
                                       where there is one (match 2: the surname at birth)
``NAVN_STANDARD``                      every single name replaced by its grundnavn from the
                                       name database, as a key (no blanks)
``NAVN_UDEN_KLAMMER_STANDARD``         the same without the struck-out part
``<field>_GRUNDNAVN``                  the grundnavne of one name field, blank-separated
``FOEDSELSDATO_NOEGLE``                birth date, ISO ``YYYY-MM-DD`` (null when not a full date)
``FOEDESTED_SOGNEKODE`` (+ ``_METODE``)  birth parish code from the parish register, and how
                                       it was found (``validators.places``)
``DOEDSDATO_NOEGLE``, ``DOEDSSTED_SOGNEKODE``  KBD: death date and death parish
``FORNAVN_FOERSTE_NOEGLE``             versions of the identifiers for the linkage stages
``NAVN_UDEN_MELLEMNAVNE_NOEGLE``       (``add_versions``): the first given name alone; the
``EFTERNAVN_STAMME``                   given names and surname without the middle names; the
``FOEDSELSDATO_BYTTET``                surname's patronymic stem (JENSEN -> JENS); the birth
``FOEDSELSDATO_AFSNITSAAR``            date with day and month swapped, and with the year of
                                       the book's section -- each an alternative, null when it
                                       is the same as the keyed value or not a date
``FORNAVNE_NOEGLE``, ``EFTERNAVN_NOEGLE``  every given and middle name, one minimal key per
                                       word (``HANS PETER HOLM``), and the surname alone;
                                       in KBF also for the father and the mother
                                       (``FADERS_FORNAVN_FOERSTE_NOEGLE``, ``MODERS_FORNAVNE_NOEGLE`` ...)
=====================================  =====================================================

Parents' columns carry their prefix (``FADERS_NAVN_NOEGLE``, ``MODERS_FOEDSELSDATO_NOEGLE``,
``MODERS_NAVN_PIGENAVN_NOEGLE``: the mother's name with her maiden name as surname).

Everything runs once per distinct value of a column and is spread back with Arrow, so a
million rows cost their few thousand distinct spellings plus some array concatenations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from validators.arrays import with_validity
from validators.names.database import NameDatabase, load_name_database
from validators.names.transforms import (
    ARROW_STR,
    WITH_STRUCK,
    WITHOUT_STRUCK,
    map_distinct,
    map_distinct_pairs,
    to_arrow_strings,
)
from validators.person_fields import OTHER_DATES, OTHER_PLACES, PERSONS, RULES_OF, PersonFields
from validators.places import ParishRegister, load_parish_register

__all__ = ["PersonFields", "PERSONS", "add_match_keys", "name_key_columns"]


# --------------------------------------------------------------------------- per distinct value

@dataclass
class _FieldKeys:
    """The keys of one name field as row-aligned Arrow arrays.

    The key arrays hold "" (not null) for an empty field, so that the row-wise joins
    need neither null handling nor a clean-up pass; nulls come back at the very end.
    A key that is empty on every row is None (it adds nothing to a join), and two keys
    that are equal on every row are the same array (names without a struck-out part).
    """

    key_with: pa.Array | None
    key_without: pa.Array | None
    std_key_with: pa.Array | None  # grundnavne as a key (no blanks)
    std_key_without: pa.Array | None
    struck: pa.Array | None  # key of the struck-out part alone
    std_with: pa.Array | None  # grundnavne, blank-separated, null when empty (the _GRUNDNAVN column)


_NULL = pa.scalar(None, ARROW_STR)
_EMPTY_KEYS = ("", "", "", "", "", None)  # what an empty field gives


def _usable(clean: pd.DataFrame, column: str) -> pa.Array | None:
    """The keyed value, masked to null where the clean layer read a placeholder (``-``, ``UOP``)."""
    if column not in clean:
        return None
    raw = to_arrow_strings(clean[column])
    ren = f"{column}_REN"
    if ren in clean:
        raw = with_validity(raw, pc.is_valid(to_arrow_strings(clean[ren])))
    return raw


def _distinct_keys(raw: str, kind: str, sex: str | None, source: str, db: NameDatabase) -> tuple:
    rules = db.rules
    with_ = rules.normalise(raw, source, WITH_STRUCK)
    without = rules.normalise(raw, source, WITHOUT_STRUCK)
    std_with = [db.grundnavn(s, kind, sex) or s for s in rules.single_names(with_, source)]
    std_without = [db.grundnavn(s, kind, sex) or s for s in rules.single_names(without, source)]
    struck = ""
    if "[" in raw:
        inside = " ".join(part.split("]")[0] for part in raw.split("[")[1:])
        struck = rules.key(rules.normalise(inside, source), source) or ""
    return (rules.key(with_, source) or "", rules.key(without, source) or "",
            "".join(std_with).replace(" ", ""), "".join(std_without).replace(" ", ""), struck,
            " ".join(std_with) or None)


_SEX_GROUPS = ("M", "K", None)  # grundnavne by sex: men, women, and the rest


def _field_keys(values: pa.Array, kind: str, sex, source: str, db: NameDatabase) -> _FieldKeys:
    """The keys of a name field, computed once per distinct value -- per distinct (value,
    sex) when the database has sex-specific grundnavne and ``sex`` is a column -- and
    spread over the rows with one take per key."""
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    idx = pc.fill_null(encoded.indices, len(distinct)).to_numpy().astype(np.int64)
    distinct.append(None)  # the empty field
    if isinstance(sex, str) or sex is None or not db.sex_specific:
        fixed = sex if isinstance(sex, str) else None
        combos = [(raw, fixed) for raw in distinct]
    else:
        sexes = pc.fill_null(pc.utf8_upper(to_arrow_strings(sex)), "")
        group = np.full(len(idx), 2, dtype=np.int64)
        group[pc.equal(sexes, "M").to_numpy(zero_copy_only=False)] = 0
        group[pc.equal(sexes, "K").to_numpy(zero_copy_only=False)] = 1
        pairs, idx = np.unique(idx * len(_SEX_GROUPS) + group, return_inverse=True)
        combos = [(distinct[p // len(_SEX_GROUPS)], _SEX_GROUPS[p % len(_SEX_GROUPS)]) for p in pairs]
    rows = [_EMPTY_KEYS if raw is None else _distinct_keys(raw, kind, s, source, db) for raw, s in combos]
    take = pa.array(idx.reshape(-1))
    made: dict[tuple, pa.Array | None] = {}
    keys = []
    for column in zip(*rows) if rows else [()] * len(_EMPTY_KEYS):
        if column not in made:
            empty = all(v == "" for v in column) or all(v is None for v in column)
            made[column] = None if empty else pa.array(column, type=ARROW_STR).take(take)
        keys.append(made[column])
    return _FieldKeys(*keys)


def _join(arrays: list[pa.Array | None], nulls: pa.Array) -> pa.Array:
    """Row-wise concatenation of key arrays ("" for empty, None for all empty); null where
    the result is empty."""
    arrays = [a for a in arrays if a is not None]
    if not arrays:
        return nulls
    joined = arrays[0] if len(arrays) == 1 else pc.binary_join_element_wise(*arrays, pa.scalar("", ARROW_STR))
    return with_validity(joined, pc.not_equal(joined, ""))


def name_key_columns(clean: pd.DataFrame, person: PersonFields, source: str,
                     db: NameDatabase | None = None) -> dict[str, pa.Array]:
    """The name keys of one person of a table (Arrow arrays by column name)."""
    db = load_name_database() if db is None else db
    nulls = pa.nulls(len(clean), ARROW_STR)  # one all-null column for every key that is empty throughout
    p = person.prefix
    sex = person.sex
    if sex and sex not in ("M", "K"):
        sex_col = f"{sex}_REN" if f"{sex}_REN" in clean else sex
        sex = clean[sex_col] if sex_col in clean else None
    fields: list[tuple[str, _FieldKeys]] = []
    for column, kind in ((person.first, "fornavn"), (person.middle, "fornavn"), (person.last, "efternavn")):
        values = _usable(clean, column) if column else None
        if values is not None:
            fields.append((column, _field_keys(values, kind, sex, source, db)))
    out: dict[str, pa.Array] = {}
    full = _usable(clean, person.full) if person.full else None
    full_keys = _full_name_keys(full, source, db, sex) if full is not None else None
    firsts = [k for c, k in fields if c != person.last]

    def joined(attr: str, like: str | None = None, like_column: str | None = None) -> pa.Array:
        if like and all(getattr(k, attr) is getattr(k, like) for _, k in fields):
            return out[like_column]  # the same keys on every field (nothing struck out): the same column
        return _join([getattr(k, attr) for _, k in fields], nulls)

    if fields:
        out[f"{p}NAVN_NOEGLE"] = joined("key_with")
        out[f"{p}NAVN_UDEN_KLAMMER_NOEGLE"] = joined("key_without", "key_with", f"{p}NAVN_NOEGLE")
        out[f"{p}NAVN_STANDARD"] = joined("std_key_with")
        out[f"{p}NAVN_UDEN_KLAMMER_STANDARD"] = joined("std_key_without", "std_key_with", f"{p}NAVN_STANDARD")
        last = next((k for c, k in fields if c == person.last), None)
        if last is not None:
            if last.struck is None:
                out[f"{p}NAVN_KUN_KLAMMER_NOEGLE"] = nulls
            else:
                only_struck = _join([*(k.key_without for k in firsts), last.struck], nulls)
                out[f"{p}NAVN_KUN_KLAMMER_NOEGLE"] = with_validity(only_struck, pc.not_equal(last.struck, ""))
        for column, k in fields:
            out[f"{column}_GRUNDNAVN"] = nulls if k.std_with is None else k.std_with
        if full_keys is not None:
            # Where the parts are empty but the whole name was keyed (FT's FULDT_NAVN).
            for name in ("NAVN_NOEGLE", "NAVN_UDEN_KLAMMER_NOEGLE", "NAVN_STANDARD", "NAVN_UDEN_KLAMMER_STANDARD"):
                out[f"{p}{name}"] = pc.coalesce(out[f"{p}{name}"], full_keys[name])
    elif full_keys is not None:
        for name in ("NAVN_NOEGLE", "NAVN_UDEN_KLAMMER_NOEGLE", "NAVN_STANDARD", "NAVN_UDEN_KLAMMER_STANDARD"):
            out[f"{p}{name}"] = full_keys[name]
        out[f"{person.full}_GRUNDNAVN"] = full_keys["readable"]
    if person.maiden:
        maiden = _usable(clean, person.maiden)
        if maiden is not None:
            mk = _field_keys(maiden, "efternavn", None, source, db)
            if mk.key_without is None:
                out[f"{p}NAVN_PIGENAVN_NOEGLE"] = nulls
            else:
                joined = _join([*(k.key_without for k in firsts), mk.key_without], nulls)
                out[f"{p}NAVN_PIGENAVN_NOEGLE"] = with_validity(joined, pc.not_equal(mk.key_without, ""))
            out[f"{person.maiden}_GRUNDNAVN"] = nulls if mk.std_with is None else mk.std_with
    return out


def _full_name_keys(values: pa.Array, source: str, db: NameDatabase, sex) -> dict[str, pa.Array]:
    """Keys of a one-column full name: the last single name is read as the surname."""
    rules = db.rules
    fixed_sex = sex if isinstance(sex, str) else None
    encoded = pc.dictionary_encode(values)
    rows = []
    for raw in encoded.dictionary.to_pylist():
        row = {}
        for variant, suffix in ((WITH_STRUCK, ""), (WITHOUT_STRUCK, "_UDEN_KLAMMER")):
            norm = rules.normalise(raw, source, variant)
            singles = rules.single_names(norm, source)
            std = [db.grundnavn(s, "efternavn" if i == len(singles) - 1 else "fornavn", fixed_sex) or s
                   for i, s in enumerate(singles)]
            row[f"NAVN{suffix}_NOEGLE"] = rules.key(norm, source)
            row[f"NAVN{suffix}_STANDARD"] = "".join(std).replace(" ", "") or None
            if not suffix:
                row["readable"] = " ".join(std) or None
        rows.append(row)
    names = ("NAVN_NOEGLE", "NAVN_STANDARD", "NAVN_UDEN_KLAMMER_NOEGLE", "NAVN_UDEN_KLAMMER_STANDARD", "readable")
    return {n: pa.array([r[n] for r in rows], type=ARROW_STR).take(encoded.indices) for n in names}


# --------------------------------------------------------------------------- dates and places

def _date_key(clean: pd.DataFrame, column: str) -> pa.Array | None:
    """ISO date from the clean layer's ``_ISO`` column, else from a plain ``YYYYMMDD``."""
    iso = f"{column}_ISO"
    if iso in clean:
        return to_arrow_strings(clean[iso])
    if column not in clean:
        return None
    raw = pc.utf8_trim_whitespace(to_arrow_strings(clean[column]))
    ok = pc.match_substring_regex(raw, r"^(1[5-9]|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
    as_iso = pc.binary_join_element_wise(pc.utf8_slice_codeunits(raw, 0, 4), pc.utf8_slice_codeunits(raw, 4, 6),
                                         pc.utf8_slice_codeunits(raw, 6, 8), pa.scalar("-", ARROW_STR))
    # Arrow's strptime carries a day past the month's end into the next month (19210230 reads
    # as 2 March), so a date is a day of the calendar only when it prints back as keyed.
    parsed = pc.strptime(pc.if_else(ok, raw, pa.scalar(None, ARROW_STR)), format="%Y%m%d", unit="s")
    same = pc.equal(pc.strftime(parsed, format="%Y%m%d"), raw)
    return pc.if_else(pc.fill_null(same, False), as_iso, pa.scalar(None, ARROW_STR))


def _own_parish(parish, n: int, index) -> pd.Series | str | None:
    if parish is None or isinstance(parish, str):
        return parish
    if isinstance(parish, pd.Series):
        return parish.set_axis(index) if len(parish) == n else parish.reindex(index)
    return pd.Series(list(parish), index=index)


# --------------------------------------------------------------------------- entry point

def add_match_keys(clean: pd.DataFrame, source: str, parish: pd.Series | str | None = None, *,
                   db: NameDatabase | None = None, register: ParishRegister | None = None) -> pd.DataFrame:
    """``clean`` with the match-key columns added (see the module docstring).

    ``source``: KBF, KBD, FT, FT_CHILDREN (the census's per-child table), or CPR for a
    register extract with the FORNAVN/MELLEMNAVNE/EFTERNAVN/FOEDSELSDATO/KOEN columns.
    ``parish``: the record's own parish for "her i sognet" -- one value for the whole
    table, or a Series aligned with ``clean`` (e.g. the delivery metadata's SOGN per row,
    see ``validators.places.parish_of_deliveries``); a parish code or its name.
    Columns the table lacks are skipped, so a partial table still gets what it can.
    """
    source = source.upper()
    if source not in PERSONS:
        raise ValueError(f"no match keys are defined for source {source!r} (known: {sorted(PERSONS)})")
    db = load_name_database() if db is None else db
    register = load_parish_register() if register is None else register
    own = _own_parish(parish, len(clean), clean.index)
    added: dict[str, pa.Array | pd.Series] = {}
    rules_source = RULES_OF.get(source, source)
    for person in PERSONS[source]:
        added.update(name_key_columns(clean, person, rules_source, db))
        if person.birth:
            key = _date_key(clean, person.birth)
            if key is not None:
                added[f"{person.prefix}FOEDSELSDATO_NOEGLE"] = key
        if person.place and person.place in clean:
            texts = clean[f"{person.place}_REN"] if f"{person.place}_REN" in clean else clean[person.place]
            resolved = register.resolve_series(texts, own)
            added[f"{person.prefix}FOEDESTED_SOGNEKODE"] = resolved["SOGNEKODE"]
            added[f"{person.prefix}FOEDESTED_SOGNEKODE_METODE"] = resolved["METODE"]
    for column in OTHER_DATES.get(source, ()):
        key = _date_key(clean, column)
        if key is not None:
            added[f"{column}_NOEGLE"] = key
    for column in OTHER_PLACES.get(source, ()):
        if column in clean:
            texts = clean[f"{column}_REN"] if f"{column}_REN" in clean else clean[column]
            resolved = register.resolve_series(texts, own)
            added[f"{column}_SOGNEKODE"] = resolved["SOGNEKODE"]
            added[f"{column}_SOGNEKODE_METODE"] = resolved["METODE"]
    columns = {}
    for name, values in added.items():
        if isinstance(values, pd.Series):
            columns[name] = values.set_axis(clean.index)
        else:
            columns[name] = pd.Series(pd.arrays.ArrowStringArray(values), index=clean.index)
    if source in ("KBF", "KBD", "FT", "CPR"):
        columns.update(add_versions(clean, rules_source, db))
    keep = clean.drop(columns=[c for c in columns if c in clean])
    return pd.concat([keep, pd.DataFrame(columns, index=clean.index)], axis=1)


_PATRONYMIC = ("SSØN", "SSEN", "SDATTER", "DATTER", "SØN", "SEN")


def patronymic_stem(key: str | None) -> str | None:
    """The stem of a patronymic surname key, as the father's name in the genitive:
    JENSEN, JENSDATTER -> JENS; HANSSØN -> HANS; PEDERSEN, PEDERSSEN, PEDERSDATTER ->
    PEDERS.  A surname that is no patronymic is its own stem."""
    if not key:
        return None
    for ending in _PATRONYMIC:
        if key.endswith(ending) and len(key) > len(ending) + 1:
            stem = key[: -len(ending)]
            return stem if stem.endswith("S") else stem + "S"
    return key


def swapped_iso(iso) -> str | None:
    """An ISO date with day and month swapped, when that is another real date."""
    if not isinstance(iso, str) or len(iso) != 10:
        return None
    y, m, d = iso[:4], iso[5:7], iso[8:]
    if m == d:
        return None
    try:
        pd.Timestamp(int(y), int(d), int(m))
    except ValueError:
        return None
    return f"{y}-{d}-{m}"


_ABBREVIATION = re.compile(r"(?<![^\s.\-])([A-Za-zÆØÅæøå]{1,5})\.")


def expand_abbreviations(given: pd.Series, books: pd.Series, sex: pd.Series | None,
                         db: NameDatabase) -> tuple[pd.Series, pd.Series]:
    """``FORNAVN_FORKORTET`` ('J' where a given name is written short: ``Chr.``, ``Joh.``,
    ``Mar.``) and ``FORNAVN_UDVIDET`` (the names with each short form written out: the
    name of the database that starts so, of the record's sex, most frequent in the same
    book, else in the whole table).  The keyed value is never changed."""
    rules = db.rules
    text = given.astype("string")
    codes, uniq = pd.factorize(text, use_na_sentinel=True)
    short_u = np.array([bool(_ABBREVIATION.search(str(u))) for u in uniq] + [False], dtype=bool)
    short = pd.Series(short_u[codes], index=given.index)
    flags = pd.Series(pd.NA, index=given.index, dtype="string").mask(text.notna(), "N").mask(short, "J")
    expanded = pd.Series(pd.NA, index=given.index, dtype="string")
    if not short.any():
        return flags, expanded
    # How often each single first name occurs per book and over the table, for the records of
    # each sex and for all records (sex None), counted per distinct book, sex and text, then
    # split into single names: a girl's 'Chr.' is read among the girls' names of her book.
    sexes = sex.astype("string") if sex is not None else pd.Series(pd.NA, index=given.index, dtype="string")
    sexes = sexes.where(sexes.isin(["M", "K"]))
    counts = pd.DataFrame({"book": books.astype(str).to_numpy(), "sex": sexes.fillna("").to_numpy(),
                           "text": text.fillna("").to_numpy()}).value_counts()
    per_book: dict[tuple[str, str | None, str], int] = {}
    overall: dict[tuple[str | None, str], int] = {}
    singles_of = {t: rules.single_names(rules.normalise(t) or "") if t else []
                  for t in counts.index.get_level_values("text").unique()}
    for (book, sx, t), n_rows in counts.items():
        for n in singles_of[t]:
            for s_ in {sx or None, None}:
                per_book[(book, s_, n)] = per_book.get((book, s_, n), 0) + n_rows
                overall[(s_, n)] = overall.get((s_, n), 0) + n_rows
    known = {(sx, v) for (kind, sx, v) in db.lookup if kind == "fornavn"}
    # The short forms themselves (CHR, JOH) are no candidates for what they stand for.
    shorts = {(rules.normalise(m) or "").replace(" ", "") for t in text[short].dropna().unique()
              for m in _ABBREVIATION.findall(str(t))}
    overall = {k: c for k, c in overall.items() if k[1] not in shorts}

    def best(prefix: str, book: str, sx) -> str | None:
        prefix = (rules.normalise(prefix) or "").replace(" ", "")
        names = {v for s_, v in known if v.startswith(prefix) and len(v) > len(prefix)
                 and (s_ in ("", sx) or sx is None)}
        names |= {n for s_, n in overall if s_ == sx and n.startswith(prefix) and len(n) > len(prefix)}
        if not names:
            return None
        db_names = {v for _, v in known}
        return max(sorted(names), key=lambda n: (per_book.get((book, sx, n), 0), overall.get((sx, n), 0),
                                                 n in db_names))

    for i in given.index[short.to_numpy()]:
        book, sx = str(books.at[i]), sexes.at[i]
        sx = None if pd.isna(sx) else sx

        def one(m: re.Match, book: str = book, sx=sx) -> str:
            return (best(m.group(1), book, sx) or m.group(0)).title() + " "

        expanded.at[i] = " ".join(_ABBREVIATION.sub(one, str(text.at[i])).split())
    return flags, expanded


def _distinct_pairs(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, list[tuple]]:
    """Codes of each row's (a, b) pair and the distinct pairs, through integer codes (a
    MultiIndex would build a tuple per row)."""
    ca, ua = pd.factorize(a, use_na_sentinel=True)
    cb, ub = pd.factorize(b, use_na_sentinel=True)
    ua, ub = list(ua) + [None], list(ub) + [None]
    ca = np.where(ca < 0, len(ua) - 1, ca).astype(np.int64)
    cb = np.where(cb < 0, len(ub) - 1, cb).astype(np.int64)
    uniq, inverse = np.unique(ca * len(ub) + cb, return_inverse=True)
    return inverse, [(ua[k // len(ub)], ub[k % len(ub)]) for k in uniq]


def _section_year_date(iso, section) -> str | None:
    """The birth date read with the book section's year (see ``add_versions``)."""
    if not isinstance(iso, str) or len(iso) != 10 or section is None or pd.isna(section):
        return None
    keyed, month = int(iso[:4]), int(iso[5:7])
    section = int(section)
    if keyed != section:
        year = section
    elif month >= 11:
        year = section - 1
    else:
        return None
    try:
        pd.Timestamp(year, month, int(iso[8:]))
    except ValueError:
        return None
    return f"{year:04d}{iso[4:]}"


def add_versions(clean: pd.DataFrame, source: str, db: NameDatabase) -> dict[str, pd.Series]:
    """Versions of the person's identifiers, for the linkage's stages (the white paper's
    'forskellige versioner af identifikationsvariablerne'): never in place of the keyed or
    cleaned value, each its own column."""
    rules = db.rules
    out: dict[str, pd.Series] = {}

    def first_name(text) -> str | None:
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        singles = rules.single_names(rules.normalise(str(text), source, WITHOUT_STRUCK), source)
        return singles[0] if singles else None

    def words(text) -> str | None:
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        singles = rules.single_names(rules.normalise(str(text), source, WITHOUT_STRUCK), source)
        return " ".join(singles) or None

    def all_given(first, middle) -> pd.Series:
        """Every given and middle name, one word each: a linker checks that the book's names
        are all among the register's (a name left out, or written short, still fits)."""
        if middle is None:
            return map_distinct(first, words)
        return map_distinct_pairs(first, middle, lambda a, b: words(" ".join(x for x in (a, b) if x)),
                                  index=clean.index)

    def key_unstruck(text) -> str | None:
        """A name's key with minimal cleaning, the struck-out part left out (a version never holds
        what the priest struck out)."""
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        return rules.key(rules.normalise(str(text), source, WITHOUT_STRUCK), source) or None

    def col(name: str | None) -> pd.Series | None:
        """A name field without its struck-out part (``_UDEN_KLAMMER``), else cleaned, else as keyed."""
        return next((clean[c] for c in (f"{name}_UDEN_KLAMMER", f"{name}_REN", name) if name and c in clean), None)

    # The versions leave out what the priest struck out: it is not the person's name.
    given, surname, middle = col("FORNAVN"), col("EFTERNAVN"), col("MELLEMNAVNE")
    if given is not None:
        out["FORNAVN_FOERSTE_NOEGLE"] = map_distinct(given, first_name)
        out["FORNAVNE_NOEGLE"] = all_given(given, middle)
        raw_given = clean["FORNAVN"] if "FORNAVN" in clean else given
        books = clean["INDTASTNINGSNUMMER"] if "INDTASTNINGSNUMMER" in clean else pd.Series("", index=clean.index)
        sex = clean["KOEN_REN"] if "KOEN_REN" in clean else None
        out["FORNAVN_FORKORTET"], out["FORNAVN_UDVIDET"] = expand_abbreviations(raw_given, books, sex, db)
    if given is not None and surname is not None:
        codes, uniq = _distinct_pairs(given, surname)
        keys = np.array([key_unstruck(f"{a or ''} {b or ''}".strip()) for a, b in uniq], dtype=object)
        out["NAVN_UDEN_MELLEMNAVNE_NOEGLE"] = pd.Series(keys[codes], index=clean.index).astype("string")
    if surname is not None:
        out["EFTERNAVN_STAMME"] = map_distinct(surname, lambda t: patronymic_stem(key_unstruck(t)))
        out["EFTERNAVN_NOEGLE"] = map_distinct(surname, key_unstruck)
    # The parents (KBF), where the book has their names in fields of their own: the same
    # name versions, with the parent's prefix (FADERS_FORNAVN_FOERSTE_NOEGLE ...)
    for person in PERSONS.get(source, ()):
        if person.prefix not in ("FADERS_", "MODERS_") or not person.first or person.first not in clean:
            continue
        p_given, p_middle, p_last = col(person.first), col(person.middle), col(person.last)
        out[f"{person.prefix}FORNAVN_FOERSTE_NOEGLE"] = map_distinct(p_given, first_name)
        out[f"{person.prefix}FORNAVNE_NOEGLE"] = all_given(p_given, p_middle)
        if p_last is not None:
            out[f"{person.prefix}EFTERNAVN_NOEGLE"] = map_distinct(p_last, key_unstruck)
    date = _date_key(clean, "FOEDSELSDATO")
    if date is not None:
        iso = pd.Series(pd.arrays.ArrowStringArray(date) if not isinstance(date, pd.Series) else date,
                        index=clean.index)
        out["FOEDSELSDATO_BYTTET"] = map_distinct(iso, swapped_iso)
        if "KALENDERAAR_REN" in clean:
            # The keyed year differs from the section's: the date with the section's year; the
            # same year and a November/December date: the year before (born late in the year,
            # registered in the next, the year keyed as the section's).  Per distinct pair.
            codes, uniq = _distinct_pairs(iso, clean["KALENDERAAR_REN"])
            alts = np.array([_section_year_date(d, y) for d, y in uniq], dtype=object)
            out["FOEDSELSDATO_AFSNITSAAR"] = pd.Series(alts[codes], index=clean.index).astype("string")
    return out

