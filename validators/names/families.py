"""Evidence that two spellings are one name: they were written for the same person.

The sound and slip rules of ``validators.names.suggest`` see spellings alone. The records
see more: the same child keyed in a book of births and found again in a census household
or a book of deaths, and the same parents written on the entries of several of their
children. When such a person's name is spelt two ways, the two spellings are one name for
that person, which is the evidence a curator wants beside a proposal.

``family_pairs`` finds those pairs in clean tables (``mgr-ingest clean``, the store's
``tables``) and counts, for each pair of spellings, the families it was seen in, with a few
record keys (``K5001:12=K7001:40``, never names) as examples to look up.

How a person is recognised again, kept strict because a wrong family proposes a wrong pair:

* **a child in two sources**: the same birth date, sex and surname, and one block of that
  date, sex and surname holds exactly one child on each side (twins and cousins of one
  name never pair); then at least one other name must agree exactly (the child's given
  name, or a parent's) before the differing ones count;
* **siblings' parents** (KBF): the entries of one book with the same father (first name and
  surname exactly) give the mother's first names, and the same mother the father's; only
  when the spellings are close (Jaro-Winkler 0.75 or more), since a widower's second wife
  is another name.

Related but distinct names stay apart however often they co-occur: the name database's
relations (Bente/Benedikte) and a change of ending only (-ine/-ina, -e/-a), which
``suggest_name_groups`` refuses to join.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
from rapidfuzz.distance import JaroWinkler

from validators.names.database import NameDatabase, load_name_database

PAIR_COLUMNS = ["kind", "spelling_a", "spelling_b", "families", "evidence", "examples"]
SIBLING_JW = 0.75
EXAMPLES = 3

# (role, KBF column, census-children column)
_CHILD_ROLES = (("child", "FORNAVN", "BARN_FORNAVN"), ("father", "FADERS_FORNAVN", "FAR_FORNAVN"),
                ("mother", "MODERS_FORNAVN", "MOR_FORNAVN"))


def _first(db: NameDatabase, value, source: str = "KBF") -> str | None:
    """The first single name of a field, normalised as the name database reads it."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    words = str(value).replace(",", " ").split()
    if not words:
        return None
    norm = db.rules.normalise(words[0].rstrip("."), source)
    singles = db.rules.single_names(norm, source) if norm else []
    return singles[0] if singles else None


def _firsts(db: NameDatabase, values: pd.Series) -> list:
    """``_first`` of each value, worked out once per distinct value (a national table holds
    millions of rows but some thousands of spellings)."""
    codes, uniques = pd.factorize(values.astype("object"), use_na_sentinel=True)
    firsts = [_first(db, u) for u in uniques]
    return [firsts[c] if c >= 0 else None for c in codes]


def _col(frame: pd.DataFrame, *names: str) -> pd.Series:
    for name in names:
        if name in frame:
            return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype="object")


def _key(frame: pd.DataFrame, entry: str = "INDTASTNINGSNUMMER", loebe: str = "LOEBE_NR") -> list[str]:
    return [f"{e}:{n}" for e, n in zip(_col(frame, entry).astype("string").fillna("?"),
                                       _col(frame, loebe).astype("string").fillna("?"))]


class _Pairs:
    def __init__(self) -> None:
        self.families: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self.evidence: dict[tuple[str, str, str], set[str]] = defaultdict(set)

    def add(self, kind: str, a: str | None, b: str | None, family: str, evidence: str) -> None:
        if not (isinstance(a, str) and isinstance(b, str)) or not a or not b or a == b:
            return  # a name missing on either side (None, or NaN where a merge filled it in)
        a, b = sorted((a, b))
        self.families[(kind, a, b)].add(family)
        self.evidence[(kind, a, b)].add(evidence)

    def frame(self) -> pd.DataFrame:
        rows = [{"kind": kind, "spelling_a": a, "spelling_b": b, "families": len(fams),
                 "evidence": "|".join(sorted(self.evidence[(kind, a, b)])),
                 "examples": " ".join(sorted(fams)[:EXAMPLES])}
                for (kind, a, b), fams in self.families.items()]
        if not rows:
            return pd.DataFrame(columns=PAIR_COLUMNS)
        out = pd.DataFrame(rows, columns=PAIR_COLUMNS)
        return out.sort_values(["families", "spelling_a", "spelling_b"], ascending=[False, True, True],
                               ignore_index=True)


def _children_again(kbf: pd.DataFrame, other: pd.DataFrame, db: NameDatabase, pairs: _Pairs, label: str,
                    cols: dict[str, str]) -> None:
    """KBF children found once more in ``other`` (census children or deaths)."""
    def side(frame, born, sex, surname, names, keys):
        out = pd.DataFrame({"born": _col(frame, *born).astype("string"),
                            "sex": _col(frame, *sex).astype("string").str.upper().str[:1],
                            "surname": _firsts(db, _col(frame, *surname)),
                            "key": keys})
        for role, column in names.items():
            out[role] = _firsts(db, _col(frame, column))
        return out.dropna(subset=["born", "sex", "surname"])

    b = side(kbf, ("FOEDSELSDATO_ISO",), ("KOEN_REN", "KOEN"), ("EFTERNAVN_REN", "EFTERNAVN"),
             {r: c for r, c, _ in _CHILD_ROLES}, _key(kbf))
    o = side(other, (cols["born"],), (cols["sex"],), (cols["surname"],), cols["names"], cols["keys"])
    block = ["born", "sex", "surname"]
    b = b[~b.duplicated(block, keep=False)]  # twins, cousins of one name: no telling them apart
    o = o[~o.duplicated(block, keep=False)]
    both = b.merge(o, on=block, suffixes=("_b", "_o"))
    roles = [r for r in cols["names"]]
    for row in both.itertuples(index=False):
        values = row._asdict()
        agree = [r for r in roles if values.get(f"{r}_b") and values[f"{r}_b"] == values.get(f"{r}_o")]
        if not agree:
            continue  # nothing but the date, sex and surname in common: not the same child for sure
        family = f"{values['key_b']}={values['key_o']}"
        for r in roles:
            pairs.add("fornavn", values.get(f"{r}_b"), values.get(f"{r}_o"), family, f"{label} {r}")


def _siblings(kbf: pd.DataFrame, db: NameDatabase, pairs: _Pairs) -> None:
    """The parents written on several children's entries of one book."""
    frame = pd.DataFrame({
        "book": _col(kbf, "INDTASTNINGSNUMMER").astype("string"),
        "father": _firsts(db, _col(kbf, "FADERS_FORNAVN")),
        "father_surname": _firsts(db, _col(kbf, "FADERS_EFTERNAVN_REN", "FADERS_EFTERNAVN")),
        "mother": _firsts(db, _col(kbf, "MODERS_FORNAVN")),
        "mother_surname": _firsts(db, _col(kbf, "MODERS_EFTERNAVN_REN", "MODERS_EFTERNAVN")),
        "key": _key(kbf)})
    for fixed, varying, role in ((["father", "father_surname", "mother_surname"], "mother", "mother"),
                                 (["mother", "mother_surname", "father_surname"], "father", "father")):
        part = frame.dropna(subset=[*fixed, "book", varying])
        for _, family in part.groupby(["book", *fixed], sort=False):
            spellings = family.groupby(varying)["key"].first()
            if len(spellings) < 2:
                continue
            names = list(spellings.index)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    if JaroWinkler.similarity(a, b) >= SIBLING_JW:
                        pairs.add("fornavn", a, b, f"{spellings[a]}={spellings[b]}", f"siblings' {role}")


def family_pairs(tables: dict[str, pd.DataFrame], db: NameDatabase | None = None) -> pd.DataFrame:
    """Pairs of spellings written for one person, with the families they were seen in.

    ``tables``: clean tables by name (``KBF``, ``KBD``, ``FT_CHILDREN``). Returns one row per
    pair (``PAIR_COLUMNS``): ``kind``, the two normalised spellings, ``families`` (how many
    persons or families), ``evidence`` (``census child``, ``death child``, ``siblings'
    mother`` …) and up to three ``examples`` as record keys."""
    db = load_name_database() if db is None else db
    pairs = _Pairs()
    kbf = tables.get("KBF")
    if kbf is None or not len(kbf):
        return pairs.frame()
    _siblings(kbf, db, pairs)
    children = tables.get("FT_CHILDREN")
    if children is not None and len(children):
        _children_again(kbf, children, db, pairs, "census", {
            "born": "BARN_FOEDSELSDAG_ISO", "sex": "BARN_KOEN", "surname": "BARN_EFTERNAVN_UDLEDT",
            "names": {r: c for r, _, c in _CHILD_ROLES},
            "keys": _key(children, loebe="BARN_LOEBE_NR")})
    kbd = tables.get("KBD")
    if kbd is not None and len(kbd):
        _children_again(kbf, kbd, db, pairs, "death", {
            "born": "FOEDSELSDATO_ISO", "sex": "KOEN_REN", "surname": "EFTERNAVN_REN",
            "names": {"child": "FORNAVN", "father": "FADERS_NAVN", "mother": "MODERS_NAVN"},
            "keys": _key(kbd)})
    return pairs.frame()
