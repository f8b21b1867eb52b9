"""The name database: each spelling of a single name -> one standard spelling (grundnavn).

A CSV ``variant;grundnavn;kind;sex`` (``validators/data/names.csv`` is the project's
hand-checked seed).  Both columns go through the name transforms before use, so the
database is looked up with exactly the text the clean layer produces (``Aage`` and
``Åge`` meet as ``ÅGE``).  Unknown names keep their own normalised spelling.

White paper p.36: the database maps spelling variants to one grundnavn (used for
linkage); related names (Bente/Benedikte) keep their own grundnavn.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from validators.names.transforms import DATA, RuleSet, map_distinct, map_distinct_pairs, name_rules

NAMES_FILE = DATA / "names.csv"
RELATIONS_FILE = DATA / "name_relations.csv"
DB_COLUMNS = ("variant", "grundnavn", "kind", "sex")
KINDS = ("fornavn", "efternavn")
SEXES = ("M", "K", "")


class NameDatabaseError(ValueError):
    """A name database file that cannot be imported; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
        self.problems = problems


@dataclass
class NameDatabase:
    """Lookups ``(kind, sex, variant) -> grundnavn`` on normalised single names."""

    entries: pd.DataFrame  # variant, grundnavn, kind, sex as read (for writing back)
    lookup: dict[tuple[str, str, str], str]
    rules: RuleSet
    warnings: list[str] = field(default_factory=list)
    related: set[frozenset[str]] = field(default_factory=set)  # normalised pairs never to merge

    @property
    def sex_specific(self) -> bool:
        """True when some spelling has a different grundnavn for boys and girls."""
        seen: dict[tuple[str, str], set[str]] = {}
        for (kind, sex, variant), g in self.lookup.items():
            seen.setdefault((kind, variant), set()).add(g)
        return any(len(v) > 1 for v in seen.values())

    def __len__(self) -> int:
        return len(self.entries)

    def grundnavn(self, single: str, kind: str = "fornavn", sex: str | None = None) -> str | None:
        """The grundnavn of one normalised single name, or None when the database lacks it.

        A first-name field is looked up among first names first, then surnames (middle
        names are often family names); a surname field the other way round.
        """
        sexes = (sex, "") if sex in ("M", "K") else ("", "M", "K")
        other = "efternavn" if kind == "fornavn" else "fornavn"
        for k in (kind, other):
            for s in sexes:
                g = self.lookup.get((k, s, single))
                if g is not None:
                    return g
        return None

    def known(self, single: str) -> bool:
        return any((k, s, single) in self.lookup for k in KINDS for s in SEXES)

    def standardise(self, text: str | None, kind: str = "fornavn", sex: str | None = None,
                    source: str | None = None, variant: str = "med_klammer") -> str | None:
        """A keyed name field -> its single names' grundnavne, separated by one blank."""
        norm = self.rules.normalise(text, source, variant)
        singles = self.rules.single_names(norm, source)
        if not singles:
            return None
        return " ".join(self.grundnavn(s, kind, sex) or s for s in singles)

    def standardise_series(self, values: pd.Series, kind: str = "fornavn", sex=None, source: str | None = None,
                           variant: str = "med_klammer") -> pd.Series:
        """``standardise`` over a column, once per distinct value (per distinct pair with sex)."""
        if sex is not None and not isinstance(sex, str) and self.sex_specific:
            return map_distinct_pairs(values, sex, lambda v, s: self.standardise(v, kind, s, source, variant),
                                      index=values.index)
        fixed = sex if isinstance(sex, str) else None
        return map_distinct(values, lambda v: self.standardise(v, kind, fixed, source, variant))

    def is_related(self, a: str, b: str) -> bool:
        return frozenset((a, b)) in self.related

    def to_csv(self, path: Path | str) -> None:
        header = "variant;grundnavn;kind;sex\n"
        body = self.entries.to_csv(sep=";", index=False, header=False, lineterminator="\n")
        Path(path).write_text(header + body, encoding="utf-8")


def _read_table(text: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";")
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise NameDatabaseError([f"the file lacks the columns {missing} (it needs {';'.join(columns)})"])
    return [{c: (row.get(c) or "").strip() for c in columns} for row in reader]


def _relations(rules: RuleSet, path: Path | None) -> set[frozenset[str]]:
    if path is None or not Path(path).exists():
        return set()
    rows = _read_table(Path(path).read_text(encoding="utf-8"), ("name_a", "name_b", "relation", "kind"))
    out = set()
    for row in rows:
        a, b = rules.normalise(row["name_a"]), rules.normalise(row["name_b"])
        if a and b:
            out.add(frozenset((a, b)))
    return out


def build_name_database(rows: Iterable[dict[str, str]], rules: RuleSet | None = None,
                        relations: Path | None = RELATIONS_FILE) -> NameDatabase:
    """A database from rows ``variant, grundnavn, kind, sex``; every problem is collected.

    Refused: an unknown kind or sex, an empty variant or grundnavn, a variant that is
    more than one single name, and a spelling given two different grundnavne.  A
    grundnavn that is itself a variant of another one is followed to the end of the
    chain (with a warning), so lookups never need two steps.
    """
    rules = name_rules() if rules is None else rules
    rows = list(rows)
    problems: list[str] = []
    lookup: dict[tuple[str, str, str], str] = {}
    where: dict[tuple[str, str, str], int] = {}
    for n, row in enumerate(rows, start=2):
        kind, sex = row["kind"].lower(), row["sex"].upper()
        if kind not in KINDS:
            problems.append(f"line {n}: kind {row['kind']!r} is not fornavn or efternavn")
            continue
        if sex not in SEXES:
            problems.append(f"line {n}: sex {row['sex']!r} is not M, K or empty")
            continue
        variant, grund = rules.normalise(row["variant"]), rules.normalise(row["grundnavn"])
        if not variant or not grund:
            problems.append(f"line {n}: variant and grundnavn must both be filled in")
            continue
        if len(rules.single_names(variant)) != 1:
            problems.append(f"line {n}: variant {row['variant']!r} is more than one single name")
            continue
        key = (kind, sex, variant)
        if key in lookup and lookup[key] != grund:
            problems.append(f"line {n}: {row['variant']!r} ({kind}{', ' + sex if sex else ''}) has grundnavn "
                            f"{grund!r} here but {lookup[key]!r} on line {where[key]}")
            continue
        lookup[key] = grund
        where.setdefault(key, n)
    if problems:
        raise NameDatabaseError(problems)
    warnings: list[str] = []
    for key, grund in list(lookup.items()):
        seen = {key[2]}
        step = grund
        while (key[0], key[1], step) in lookup and lookup[(key[0], key[1], step)] != step:
            nxt = lookup[(key[0], key[1], step)]
            if nxt in seen:
                raise NameDatabaseError([f"{key[2]!r} -> {grund!r} runs in a circle"])
            seen.add(step)
            step = nxt
        if step != grund:
            warnings.append(f"{key[2]!r}: grundnavn {grund!r} is itself a variant of {step!r}; using {step!r}")
            lookup[key] = step
    # Every grundnavn is a known spelling of itself.
    for (kind, sex, _), grund in list(lookup.items()):
        lookup.setdefault((kind, sex, grund), grund)
    entries = pd.DataFrame(rows, columns=list(DB_COLUMNS)) if rows else pd.DataFrame(columns=list(DB_COLUMNS))
    return NameDatabase(entries=entries, lookup=lookup, rules=rules, warnings=warnings,
                        related=_relations(rules, relations))


def import_name_database(path: Path | str, rules: RuleSet | None = None,
                         relations: Path | None = RELATIONS_FILE) -> NameDatabase:
    """Read a ``variant;grundnavn;kind;sex`` CSV (UTF-8; ``#`` lines are comments)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # a sheet saved from Excel on Windows
    return build_name_database(_read_table(text, DB_COLUMNS), rules, relations)


_DEFAULT: dict[str, NameDatabase] = {}


def load_name_database() -> NameDatabase:
    """The project's database (``validators/data/names.csv``), read once per process."""
    key = f"{NAMES_FILE}:{NAMES_FILE.stat().st_mtime}"
    if key not in _DEFAULT:
        _DEFAULT.clear()
        _DEFAULT[key] = import_name_database(NAMES_FILE)
    return _DEFAULT[key]


def merge_into(db_path: Path | str, new: NameDatabase) -> tuple[NameDatabase, dict[str, int]]:
    """``new``'s rows added to the database file at ``db_path`` (not yet written).

    A spelling already in the database with the same grundnavn is skipped; one with a
    different grundnavn is a conflict and refused as a whole, so a curator sees every
    conflict before anything changes.
    """
    current = import_name_database(db_path)
    rules = current.rules
    have = {(r.kind.lower(), r.sex.upper(), rules.normalise(r.variant)) for r in current.entries.itertuples()}
    added, same, problems = [], 0, []
    for r in new.entries.itertuples():
        key = (r.kind.lower(), r.sex.upper(), rules.normalise(r.variant))
        grund = rules.normalise(r.grundnavn)
        if key in have or key in current.lookup:
            if current.lookup.get(key) == new.lookup.get(key) or current.lookup.get(key) == grund:
                same += 1
                continue
            problems.append(f"{r.variant!r} ({r.kind}): database says {current.lookup.get(key)!r}, "
                            f"the import says {grund!r}")
            continue
        added.append({c: getattr(r, c) for c in DB_COLUMNS})
    if problems:
        raise NameDatabaseError(problems)
    rows = current.entries.to_dict("records") + added
    merged = build_name_database(rows, rules)
    return merged, {"added": len(added), "already_there": same, "total": len(merged.entries)}


# --------------------------------------------------------------------------- spellings per source

SPELLING_COLUMNS = ["source", "kind", "spelling", "occurrences", "forms", "grundnavn", "known"]
_RAW_SPLIT = re.compile(r"[\s\-\[\]]+")


def _name_fields(source: str) -> list[tuple[str, str, bool]]:
    """(column, kind, is the record's own person) of every name field of a table."""
    from validators.person_fields import PERSONS

    out = []
    for person in PERSONS.get(source, ()):
        own = person.prefix == "" or person.prefix == "BARN_"
        for column, kind in ((person.first, "fornavn"), (person.middle, "fornavn"), (person.last, "efternavn"),
                             (person.maiden, "efternavn"), (person.full, "fuldt")):
            if column:
                out.append((column, kind, own))
    return out


def count_spellings(clean: pd.DataFrame, source: str, db: NameDatabase | None = None,
                    min_count: int = 1) -> pd.DataFrame:
    """How often each single-name spelling occurs in the name fields of ``source``, per kind.

    The pilot counted occurrences to decide which spellings to standardise first (p.36).
    ``spelling`` is the normalised single name (upper case, Aa->Å ...), struck-out parts
    included; ``forms`` lists the forms keyed for it, commonest first (``AAGE|ÅGE``).  A
    field that holds a spelling twice counts it once; the child's and the father's
    surname count twice.  Placeholders (``-``, ``UOP``) and the words of a child who died
    unnamed (``DØDFØDT``) are not names.  Counts below ``min_count`` are left out (3
    makes the table fit to leave the secure environment: no cell under 3).
    """
    db = load_name_database() if db is None else db
    rules = db.rules
    rules_source = {"FT_CHILDREN": "FT"}.get(source, source)
    per: Counter = Counter()
    forms: dict[tuple[str, str], Counter] = {}
    dead = clean["DOED_UDEN_NAVN"].astype("string").eq("J").fillna(False) if "DOED_UDEN_NAVN" in clean else None
    for column, kind, own in _name_fields(source):
        if column not in clean:
            continue
        values = clean[column].astype("string")
        ren = f"{column}_REN"
        if ren in clean:
            values = values.where(clean[ren].notna())
        if dead is not None and own and kind == "fornavn":
            values = values.where(~dead)
        for raw, n in values.dropna().value_counts().items():
            seen: set[tuple[str, str]] = set()
            tokens = [t for t in _RAW_SPLIT.split(str(raw).upper()) if t]
            for i, token in enumerate(tokens):
                singles = rules.single_names(rules.normalise(token, rules_source), rules_source)
                for single in singles:
                    k = kind if kind != "fuldt" else ("efternavn" if i == len(tokens) - 1 else "fornavn")
                    form = token.rstrip(".") if len(singles) == 1 else single
                    forms.setdefault((k, single), Counter())[form] += int(n)
                    if (k, single) not in seen:
                        seen.add((k, single))
                        per[(k, single)] += int(n)
    rows = [{"source": source, "kind": kind, "spelling": s, "occurrences": n,
             "forms": "|".join(f for f, _ in forms[(kind, s)].most_common()),
             "grundnavn": db.grundnavn(s, kind), "known": db.known(s)}
            for (kind, s), n in per.items() if n >= min_count]
    out = pd.DataFrame(rows, columns=SPELLING_COLUMNS)
    return out.sort_values(["occurrences", "kind", "spelling"], ascending=[False, True, True],
                           ignore_index=True)
