"""Census households turned into families: household numbers, family roles, and each
child's father and mother.

The steps follow the pilot's rules (white paper p.83-84), in this order, and every
decision names the rule that made it (columns ``ROLLE_REGEL``, ``HUSSTAND_REGEL`` and
``FORAELDRE_REGEL`` of the clean table):

1. Household number: a new household starts where (census year, schedule number,
   cadastral number, family running number) changes from the row before.  Census lists
   restart their family numbers per village or page, so a combination met again later
   in the file is a new household, not the old one continued.
2. Role from the position text through the code table ``data/household_positions.csv``
   (``kodetabel``).  An empty position is read from the occupation instead
   (``stilling_fra_erhverv``).  A text holding several positions ("Husfader,
   Gaardejer") is split and the family position wins over the occupation.
3. Empty position, under 15, and exactly two married persons in the household, a man
   and a woman, the man carrying the person's surname: a child of both
   (``barn_under_15_samme_efternavn``).  The pilot asks for both spouses to carry it,
   which in the 1921-1965 censuses is the same thing; in older censuses wives keep their
   own surname, and the children take the husband's.
4. The parents of the household, the first rule that applies:
   ``gift_par`` - exactly one married man and one married woman (neither placed as a
   servant, lodger or relative); ``gift_husfader_og_husmoder`` - exactly one married
   head (HUSFADER) and one married HUSMODER; ``manuel`` - three or more married persons
   and neither of the two before: coded by hand (HOUSEHOLD_MANUAL);
   ``eneste_husmoder`` - one HUSMODER and no HUSFADER; ``eneste_husfader`` - one
   HUSFADER and no HUSMODER.
5. Each child points to the parents its role allows: BarnFælles and Adoptivbarn both,
   SF the father, SM the mother; a parent fewer than 14 years
   older than the child, or more than 55 years older, is not taken
   (``aldersforskel``): the same limits for both parents.
6. A child the household's parents are not of an age for, in a household with exactly one
   other married couple (a married daughter and her husband, a son and his wife) who are,
   is theirs (``yngre_gift_par``).

Persons with a residence elsewhere (``BOPAEL_ANDETSTEDS``) are left out of the family
unless they are a son or daughter.  All steps are group-bys and array lookups; the only
Python loop runs over the *distinct* position texts.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

HEADS = ("HUSFADER", "HUSMODER", "OVERHOVED")
CHILD_ROLES = ("BarnFælles", "SF", "SM", "Adoptivbarn")
FATHERS_CHILD = ("BarnFælles", "Adoptivbarn", "SF")
MOTHERS_CHILD = ("BarnFælles", "Adoptivbarn", "SM")
KEY_FIELDS = ("TAELLINGSAAR", "SKEMA_NR", "EJENDOMMENS_MATR_NR", "FAMILIE_LOEBE_NR")
# A parent is 14 to 55 years older than the child: the same limits for father and mother.
MIN_PARENT_GAP = {"FAR": 14, "MOR": 14}
MAX_PARENT_GAP = {"FAR": 55, "MOR": 55}
MAX_MOTHER_GAP = MAX_PARENT_GAP["MOR"]
CHILD_AGE_LIMIT = 15

# Where a keyed position holds several: commas, 'og', 'samt', '&'; and where a position
# is followed by where or for whom the work is done ('Tjenestekarl ved Landbruget').
_SPLIT = re.compile(r"\s*,\s*|\s+og\s+|\s+samt\s+|\s*&\s*|\s+ved\s+|\s+i\s+|\s+hos\s+|\s+paa\s+|\s+på\s+")
_BLANKS = re.compile(r"\s+")
_EDGES = "?.:;!- \t"
# Letters written two ways: the Danish (and German) letters as the ASCII-folded exports
# write them, so that 'deres boern', 'Huusfaderens Søn' and 'Tagelöhner' meet the table's
# 'deres børn' and 'tagelöhner' ('å' and 'aa' are one letter).
_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# Of several known parts, the head wins, then a family relation, then any other position
# (servant, lodger, poor relief), then an occupation.
_FAMILY = ("HUSFADER", "HUSMODER", "OVERHOVED", "BARN", "PLEJEBARN", "SLAEGTNING")
_PRECEDENCE = (lambda k: k in HEADS, lambda k: k in _FAMILY, lambda k: k != "ERHVERV", lambda k: True)
# Words after which a relation is someone else's, not the person's own ('af husmoderen',
# 'for sin fader', 'von der abnahme'): a position that ends a text is not read after them.
_NOT_BEFORE_A_POSITION = frozenset(
    "af for til hos med fra efter om under over uden sin sit sine min mit mine din dit dine vor vort"
    " von vom zu zum bei mit für der die den dem des".split())


def normalise_position(text: str) -> str:
    return _BLANKS.sub(" ", str(text).casefold()).strip(_EDGES)


def fold_position(text: str) -> str:
    """The lookup key: normalised, the Danish and German letters written in ASCII and
    any other accent dropped ('Sön' -> 'soen', 'Logé' -> 'loge')."""
    folded = unicodedata.normalize("NFKD", normalise_position(text).translate(_FOLD))
    return "".join(c for c in folded if not unicodedata.combining(c))


@cache
def position_table() -> dict[str, tuple[str, str | None]]:
    """normalised spelling -> (position code, family role or None)."""
    path = resources.files("validators").joinpath("data/household_positions.csv")
    table: dict[str, tuple[str, str | None]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader((line for line in fh if not line.startswith("#")), delimiter=";"):
            table[normalise_position(row["stilling"])] = (row["kode"].strip(), row["rolle"].strip() or None)
    return table


@cache
def folded_position_table() -> dict[str, tuple[str, str | None]]:
    """The table keyed by ``fold_position``: what ``classify_position`` looks up."""
    return {fold_position(spelling): value for spelling, value in position_table().items()}


@cache
def _longest_spelling() -> int:
    return max(len(key.split(" ")) for key in folded_position_table())


def _segments(key: str) -> list[tuple[str, str | None]]:
    """A part the table does not hold, read as table spellings written end to end.  The
    ASCII-folded exports drop the commas ('husfader gaardejer' for 'Husfader,
    Gaardejer'), keyers add a name or a remark after the position ('hans kone lars
    jensen', 'deres boern som tjener foraeldrene'), or an occupation the table lacks
    before it ('cigarmager husfader').  So: the spellings from the first word on, the
    rest left out; or else the spellings that end the part, unless the word before them
    is a genitive ('peder rasmussens soen', 'datterens barn': someone else's relative)
    or one of ``_NOT_BEFORE_A_POSITION`` ('af husmoderen').  Of several readings, the
    one with the fewest spellings.  Empty where neither holds."""
    table = folded_position_table()
    words = key.split(" ")
    longest = _longest_spelling()
    # Forward from the first word, backward from the last.
    head: list[list[tuple[str, str | None]] | None] = [[]] + [None] * len(words)
    tail: list[list[tuple[str, str | None]] | None] = [None] * len(words) + [[]]
    for end in range(1, len(words) + 1):
        for start in range(max(0, end - longest), end):
            spelling = " ".join(words[start:end])
            if head[start] is not None and spelling in table:
                candidate = head[start] + [table[spelling]]
                if head[end] is None or len(candidate) < len(head[end]):
                    head[end] = candidate
    for start in range(len(words) - 1, -1, -1):
        for end in range(start + 1, min(len(words), start + longest) + 1):
            spelling = " ".join(words[start:end])
            if tail[end] is not None and spelling in table:
                candidate = [table[spelling]] + tail[end]
                if tail[start] is None or len(candidate) < len(tail[start]):
                    tail[start] = candidate
    reach = next(end for end in range(len(words), -1, -1) if head[end] is not None)
    if reach:
        return head[reach]
    start = next((start for start in range(1, len(words)) if tail[start] is not None), None)
    if start is None or words[start - 1].endswith("s") or words[start - 1] in _NOT_BEFORE_A_POSITION:
        return []
    return tail[start]


@cache
def classify_position(text: str) -> tuple[str | None, str | None, bool]:
    """(position code, family role, known) for one keyed position text.

    ``known`` is False when neither the text nor any of its parts is in the table.  Of
    several known parts, a head position wins, then the first family relation, then the
    first other part that is not an occupation, then the first occupation.  A part not
    in the table is read as spellings written end to end (``_segments``).
    """
    key = fold_position(text)
    if not key:
        return None, None, True
    table = folded_position_table()
    if key in table:
        return (*table[key], True)
    found = []
    for part in _SPLIT.split(_BLANKS.sub(" ", str(text).casefold()).strip()):
        part_key = fold_position(part)
        if part_key in table:
            found.append(table[part_key])
        elif part_key:
            found.extend(_segments(part_key))
    if not found:
        return None, None, False
    for wanted in _PRECEDENCE:
        for code, role in found:
            if wanted(code):
                return code, role, True
    return None, None, False  # pragma: no cover - the last test accepts anything


def coded(frame: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """A text column as (codes, distinct values stripped of blanks); empty and missing
    values are the value "".  Rows compare by their codes, and the per-row text is
    ``values[codes]``: one pass over the rows, string work only on distinct values."""
    n = len(frame)
    if col not in frame:
        return np.zeros(n, dtype=np.int64), np.array([""], dtype=object)
    codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
    stripped = np.array([str(u).strip() for u in uniques] + [""], dtype=object)  # code -1 -> ""
    merged, values = pd.factorize(stripped)
    return merged[codes].astype(np.int64), np.asarray(values, dtype=object)


def assign_households(frame: pd.DataFrame) -> np.ndarray:
    """``HUSSTAND_NR`` (1.. per delivery) and ``HUSSTAND_ID`` (entry number-number);
    returns the household of each row as codes 0..H-1 over the whole frame."""
    n = len(frame)
    if n == 0:
        frame["HUSSTAND_NR"] = pd.array([], dtype="Int64")
        frame["HUSSTAND_ID"] = pd.array([], dtype="string")
        return np.zeros(0, dtype=np.int64)
    # The first row, a new delivery (its rows restart their position) or a new file starts a
    # household.
    pos = frame["_pos"].to_numpy()
    boundary = np.r_[True, pos[1:] <= pos[:-1]]
    files = frame["_file"].to_numpy(dtype=object)
    boundary[1:] |= files[1:] != files[:-1]
    change = boundary.copy()
    for col in KEY_FIELDS:
        if col in frame:
            codes, _ = coded(frame, col)
            change[1:] |= codes[1:] != codes[:-1]
    household = np.cumsum(change) - 1
    block = np.cumsum(boundary) - 1
    first_of_block = household[np.flatnonzero(boundary)]
    local = household - first_of_block[block] + 1
    frame["HUSSTAND_NR"] = pd.array(local, dtype="Int64")
    ids = pc.binary_join_element_wise(pa.array(frame["_delivery"], type=pa.string()),
                                      pc.cast(pa.array(local), pa.string()), "-")
    frame["HUSSTAND_ID"] = pd.arrays.ArrowStringArray(ids)
    return household


def _first_row(mask: np.ndarray, household: np.ndarray, households: int) -> np.ndarray:
    """Position of the first row where ``mask`` holds, per household (-1 if none)."""
    out = np.full(households, -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    if len(rows):
        uniq, first = np.unique(household[rows], return_index=True)
        out[uniq] = rows[first]
    return out


def _count(mask: np.ndarray, household: np.ndarray, households: int) -> np.ndarray:
    return np.bincount(household[mask], minlength=households)


def _none(values: np.ndarray) -> np.ndarray:
    return pd.isna(values)


def form_families(frame: pd.DataFrame, fb, household: np.ndarray) -> pd.DataFrame:
    """Roles, household rules and parent links on ``frame``; returns the per-child table."""
    n = len(frame)
    households = int(household.max()) + 1 if n else 0
    pos_codes, pos_values = coded(frame, "STILLING_I_HUSSTANDEN")
    occ_codes, occ_values = coded(frame, "ERHVERV")
    empty = (pos_values == "")[pos_codes]
    from_occupation = empty & (occ_values != "")[occ_codes]

    def classified(values: np.ndarray, codes: np.ndarray):
        found = [classify_position(v) for v in values]
        return (np.array([c[0] for c in found], dtype=object)[codes],
                np.array([c[1] for c in found], dtype=object)[codes],
                np.array([c[2] for c in found], dtype=bool)[codes])

    # The position, or where it is empty, the occupation (rule 2).
    kode, rolle, known = classified(pos_values, pos_codes)
    occ_kode, occ_rolle, occ_known = classified(occ_values, occ_codes)
    kode = np.where(empty, occ_kode, kode)
    rolle = np.where(empty, occ_rolle, rolle)
    known = np.where(empty, occ_known, known)
    used = np.where(empty, occ_values[occ_codes], pos_values[pos_codes])
    # An occupation the table does not know says nothing about the family: the person is
    # treated as having no position (rules 3-4 may still place them).
    unknown_keyed = ~known & ~from_occupation & ~empty
    kode[~known] = None
    rolle[~known] = None
    regel = np.where(_none(kode), None, np.where(from_occupation, "stilling_fra_erhverv", "kodetabel")).astype(object)

    sex_codes, sex_values = coded(frame, "KOEN_REN")
    male, female = (sex_values == "M")[sex_codes], (sex_values == "K")[sex_codes]
    # A head of either sex becomes HUSFADER or HUSMODER by sex.
    head = kode == "OVERHOVED"
    kode[head & male], rolle[head & male] = "HUSFADER", "Far"
    kode[head & female], rolle[head & female] = "HUSMODER", "Mor"

    civil_codes, civil_values = coded(frame, "AEGTESKABELIG_STILLING_REN")
    elsewhere = frame["BOR_ANDETSTEDS"].to_numpy(dtype=bool) if "BOR_ANDETSTEDS" in frame else np.zeros(n, bool)
    member = ~elsewhere | (kode == "BARN")
    married = (civil_values == "G")[civil_codes] & member
    age = frame["ALDER_BEREGNET"].to_numpy(dtype="float64", na_value=np.nan) if "ALDER_BEREGNET" in frame \
        else np.full(n, np.nan)
    surname, surname_values = coded(frame, "_SURNAME")  # equal surnames have equal codes
    no_surname = (surname_values == "")[surname]

    # Rule 3: an unplaced young person with the surname of the household's only married couple.
    n_married = _count(married, household, households)
    n_gm = _count(married & male, household, households)
    n_gk = _count(married & female, household, households)
    couple = ((n_married == 2) & (n_gm == 1) & (n_gk == 1))[household]
    husband = _first_row(married & male, household, households)[household]
    husbands_name = np.where(husband >= 0, surname[np.maximum(husband, 0)], -2)
    young = age < CHILD_AGE_LIMIT
    by_surname = (_none(kode) & ~unknown_keyed & member & young & couple & ~no_surname
                  & (surname == husbands_name))
    kode[by_surname], rolle[by_surname], regel[by_surname] = "BARN", "BarnFælles", "barn_under_15_samme_efternavn"

    # Rule 4: the household's father and mother.
    is_hf = member & (kode == "HUSFADER")
    is_hm = member & (kode == "HUSMODER")
    may_be_husband = _none(kode) | (kode == "HUSFADER")
    may_be_wife = _none(kode) | (kode == "HUSMODER")
    n_gm_ok = _count(married & male & may_be_husband, household, households)
    n_gk_ok = _count(married & female & may_be_wife, household, households)
    married_pair = (n_gm == 1) & (n_gk == 1) & (n_gm_ok == 1) & (n_gk_ok == 1)
    n_ghf = _count(married & is_hf, household, households)
    n_ghm = _count(married & is_hm, household, households)
    married_heads = ~married_pair & (n_ghf == 1) & (n_ghm == 1)
    manual = ~married_pair & ~married_heads & (n_married >= 3)
    n_hf = _count(is_hf, household, households)
    n_hm = _count(is_hm, household, households)
    lone_mother = ~married_pair & ~married_heads & ~manual & (n_hm == 1) & (n_hf == 0)
    lone_father = ~married_pair & ~married_heads & ~manual & (n_hf == 1) & (n_hm == 0)

    father = np.full(households, -1, dtype=np.int64)
    mother = np.full(households, -1, dtype=np.int64)
    father[married_pair] = _first_row(married & male, household, households)[married_pair]
    mother[married_pair] = _first_row(married & female, household, households)[married_pair]
    father[married_heads] = _first_row(married & is_hf, household, households)[married_heads]
    mother[married_heads] = _first_row(married & is_hm, household, households)[married_heads]
    mother[lone_mother] = _first_row(is_hm, household, households)[lone_mother]
    father[lone_father] = _first_row(is_hf, household, households)[lone_father]
    hh_rule = np.full(households, "ingen", dtype=object)
    hh_rule[married_pair] = "gift_par"
    hh_rule[married_heads] = "gift_husfader_og_husmoder"
    hh_rule[manual] = "manuel"
    hh_rule[lone_mother] = "eneste_husmoder"
    hh_rule[lone_father] = "eneste_husfader"

    # The chosen parents take their role from the rule when the table gave them none.
    for rows_of, role, code in ((father, "Far", "HUSFADER"), (mother, "Mor", "HUSMODER")):
        chosen = rows_of[rows_of >= 0]
        fill = chosen[_none(rolle[chosen])]
        regel[fill] = hh_rule[household[fill]]
        rolle[fill] = role
        kode[fill] = np.where(_none(kode[fill]), code, kode[fill])

    # Rule 5: children point to the parents their role allows.
    child = member & np.isin(rolle.astype(str), CHILD_ROLES)
    far = np.where(child & np.isin(rolle.astype(str), FATHERS_CHILD), father[household], -1)
    mor = np.where(child & np.isin(rolle.astype(str), MOTHERS_CHILD), mother[household], -1)
    far[far == np.arange(n)] = -1
    mor[mor == np.arange(n)] = -1
    def too_far(parent: np.ndarray, which: str) -> np.ndarray:
        gap = age[np.maximum(parent, 0)] - age
        return (parent >= 0) & ((gap < MIN_PARENT_GAP[which]) | (gap > MAX_PARENT_GAP[which]))

    drop_far, drop_mor = too_far(far, "FAR"), too_far(mor, "MOR")
    # Rule 6: a younger married couple in the household (a married daughter and her husband,
    # a son and his wife) are the likely parents of a child the household's parents are
    # too old or too young for, when both of them are of an age to be its parents.
    rows = np.arange(n)
    others_m = married & male & (rows != father[household])
    others_k = married & female & (rows != mother[household])
    young_couple = (_count(others_m, household, households) == 1) & (_count(others_k, household, households) == 1)
    young_couple &= (father >= 0) | (mother >= 0)  # beside the parents the rules found, not instead of a manual case
    yf = np.where(young_couple, _first_row(others_m, household, households), -1)[household]
    ym = np.where(young_couple, _first_row(others_k, household, households), -1)[household]
    take_young = (child & (drop_far | drop_mor) & (yf >= 0) & (ym >= 0) & (yf != rows) & (ym != rows)
                  & ~too_far(yf, "FAR") & ~too_far(ym, "MOR"))
    far[take_young], mor[take_young] = yf[take_young], ym[take_young]
    drop_far &= ~take_young
    drop_mor &= ~take_young
    far[drop_far] = -1
    mor[drop_mor] = -1
    parent_rule = np.where(child, hh_rule[household], None).astype(object)
    parent_rule[child & (parent_rule == "ingen")] = "uafklaret"
    parent_rule[take_young] = "yngre_gift_par"
    dropped = child & (drop_far | drop_mor)
    parent_rule[dropped] = parent_rule[dropped] + ",aldersforskel"

    loebe = frame["LOEBE_NR_REN"].to_numpy(dtype="float64", na_value=np.nan)
    frame["STILLING_KODE"] = pd.array(kode, dtype="string")
    frame["FAMILIEROLLE"] = pd.array(rolle, dtype="string")
    frame["ROLLE_REGEL"] = pd.array(regel, dtype="string")
    frame["HUSSTAND_REGEL"] = pd.array(hh_rule[household] if n else np.zeros(0, object), dtype="string")
    frame["FORAELDRE_REGEL"] = pd.array(parent_rule, dtype="string")
    frame["FAR_LOEBE_NR"] = pd.array(np.where(far >= 0, loebe[np.maximum(far, 0)], np.nan), dtype="Int64")
    frame["MOR_LOEBE_NR"] = pd.array(np.where(mor >= 0, loebe[np.maximum(mor, 0)], np.nan), dtype="Int64")
    frame["_UDELADT"] = elsewhere & ~member

    position = pos_values[pos_codes]
    _findings(frame, fb, household, households, kode, rolle, unknown_keyed, from_occupation, position, used,
              male, female, child, far, mor, manual, n_married, hh_rule)
    return _children_table(frame, np.flatnonzero(child), far, mor, rolle)


def _shown(values: np.ndarray, rows: np.ndarray, width: int) -> pd.Series:
    return pd.Series(values[rows], dtype=object).str.slice(0, width)


def _findings(frame, fb, household, households, kode, rolle, unknown_keyed, from_occupation, position, used,
              male, female, child, far, mor, manual, n_married, hh_rule) -> None:
    """ROLE_UNKNOWN, ROLE_SEX_MISMATCH, HOUSEHOLD_MANUAL and HOUSEHOLD_UNRESOLVED."""
    index = frame.index
    rows = np.flatnonzero(unknown_keyed)
    if len(rows):
        fb.at(index[rows], "ROLE_UNKNOWN", "household position '" + _shown(position, rows, 60)
              + "' is not in the code table", "STILLING_I_HUSSTANDEN")
    unplaced = _none(kode) & ~unknown_keyed
    rows = np.flatnonzero(unplaced)
    if len(rows):
        shown = _shown(used, rows, 40)
        what = np.select([used[rows] == "", from_occupation[rows]],
                         ["no household position keyed", "no household position keyed (occupation '" + shown + "')"],
                         "household position '" + shown + "' names no position")
        fb.at(index[rows], "ROLE_UNKNOWN", pd.Series(what) + " and no household rule gives a role",
              "STILLING_I_HUSSTANDEN")
    rows = np.flatnonzero(((rolle == "Far") & female) | ((rolle == "Mor") & male))
    if len(rows):
        msg = pd.Series(np.where(rolle[rows] == "Far", "father's position for a woman", "mother's position for a man"))
        fb.at(index[rows], "ROLE_SEX_MISMATCH", msg + " ('" + _shown(position, rows, 40) + "')", "KOEN")
    ids = frame["HUSSTAND_ID"]
    first_row = _first_row(np.ones(len(frame), dtype=bool), household, households)
    hh_manual = np.flatnonzero(manual & (first_row >= 0))
    if len(hh_manual):
        rows = first_row[hh_manual]
        fb.at(index[rows], "HOUSEHOLD_MANUAL", pd.Series(
            [f"household {ids.iat[r]}: {int(m)} married persons; code its families by hand"
             for r, m in zip(rows, n_married[hh_manual])]), None)
    orphan = child & (far < 0) & (mor < 0) & ~manual[household]
    n_orphans = _count(orphan, household, households)
    hh_open = np.flatnonzero(n_orphans > 0)
    if len(hh_open):
        rows = _first_row(orphan, household, households)[hh_open]
        fb.at(index[rows], "HOUSEHOLD_UNRESOLVED", pd.Series(
            [f"household {ids.iat[r]}: {int(k)} child(ren) without a parent after the household rules "
             f"({'no rule applies' if hh_rule[h] == 'ingen' else hh_rule[h]})"
             for r, k, h in zip(rows, n_orphans[hh_open], hh_open)]), "STILLING_I_HUSSTANDEN")


PERSON_FIELDS = ("NAVN_SAMLET", "FORNAVN_REN", "MELLEMNAVNE_REN", "EFTERNAVN_UDLEDT", "KOEN_REN",
                 "FOEDSELSDAG_REN", "FOEDSELSDAG_ISO", "FOEDEAAR_REN", "ALDER_BEREGNET", "FOEDESTED_REN",
                 "AEGTESKABELIG_STILLING_REN", "ERHVERV", "STILLING_I_HUSSTANDEN")


def _children_table(frame: pd.DataFrame, rows: np.ndarray, far: np.ndarray, mor: np.ndarray,
                    rolle: np.ndarray) -> pd.DataFrame:
    """One row per child with the father's and mother's data beside it."""
    def take(col: str, picked: np.ndarray):
        values = frame[col].array
        taken = pd.api.extensions.take(values, picked, allow_fill=True)  # -1: no parent, null
        if isinstance(taken, np.ndarray) and taken.dtype == object:
            return pd.array(taken, dtype="string")
        return taken

    out = pd.DataFrame({
        "INDTASTNINGSNUMMER": take("_delivery", rows),
        "HUSSTAND_ID": take("HUSSTAND_ID", rows),
        "BARN_LOEBE_NR": take("LOEBE_NR_REN", rows),
        "FAR_LOEBE_NR": take("FAR_LOEBE_NR", rows),
        "MOR_LOEBE_NR": take("MOR_LOEBE_NR", rows),
        "FAMILIEROLLE": pd.array(rolle[rows], dtype="string"),
        "ADOPTIVBARN": rolle[rows] == "Adoptivbarn",
        "FORAELDRE_REGEL": take("FORAELDRE_REGEL", rows),
    })
    for prefix, picked in (("BARN", rows), ("FAR", far[rows]), ("MOR", mor[rows])):
        for col in PERSON_FIELDS:
            if col in frame:
                out[f"{prefix}_{col.removesuffix('_REN')}"] = take(col, picked)
    out["KILDEFIL"] = take("_file", rows)
    out["LINJE"] = frame["_line"].to_numpy()[rows]
    for col in ("BARN_LOEBE_NR", "FAR_LOEBE_NR", "MOR_LOEBE_NR"):
        out[col] = out[col].astype("Int64")
    return out
