"""A curation aid: groups of spellings that are probably one name, for a person to accept.

Nothing here changes the name database.  ``suggest_name_groups`` proposes; a curator
reads the proposal (largest groups first, by how often their spellings occur), edits it
and imports the accepted rows with ``mgr-ingest names import``.

Two spellings are proposed together when their rough sound keys are equal
(``phonetic_rules.csv``: C/K, CH, PH, TH, W/V, double letters) and their Jaro-Winkler
similarity is at least ``jw_min``, or when one looks like a slip for the other: one
letter left out, added, changed or two swapped, Jaro-Winkler at least ``typo_min``, five
letters or more, and the rarer spelling either rare (under 5) or at most ``typo_ratio``
as frequent as the other (two common spellings one letter apart -- Johanne/Johannes,
Larsen/Laursen -- are usually two names).  Never together: two spellings the
database already gives different grundnavne (Petersen/Pedersen), and pairs listed in
``name_relations.csv`` as related or unrelated names (Bente/Benedikte).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

import pandas as pd
from rapidfuzz.distance import OSA, JaroWinkler

from validators.names.database import NameDatabase, load_name_database
from validators.names.transforms import RuleSet, phonetic_rules

SUGGESTION_COLUMNS = ["group", "group_occurrences", "kind", "variant", "grundnavn", "occurrences", "spellings",
                      "known_grundnavn", "jw_to_grundnavn", "sound_key", "families", "family_examples"]


def phonetic_key(normalised: str, rules: RuleSet | None = None) -> str:
    """The rough sound key of a normalised name (see ``phonetic_rules.csv``)."""
    return (phonetic_rules() if rules is None else rules).normalise(normalised) or ""


def _as_counts(names_with_counts) -> pd.DataFrame:
    """Accept a mapping name -> count, a Series, or a frame with name/count (and kind) columns."""
    if isinstance(names_with_counts, pd.DataFrame):
        df = names_with_counts
        name_col = next(c for c in ("spelling", "name", "variant", "navn") if c in df)
        count_col = next(c for c in ("occurrences", "count", "records", "antal") if c in df)
        out = pd.DataFrame({"name": df[name_col].astype(str), "count": df[count_col].astype(int)})
        out["kind"] = df["kind"].astype(str) if "kind" in df else "fornavn"
        if "forms" in df:  # the keyed forms behind a normalised spelling (count_spellings)
            out["forms"] = df["forms"].astype(str)
        return out
    if isinstance(names_with_counts, pd.Series):
        names_with_counts = names_with_counts.to_dict()
    if isinstance(names_with_counts, Mapping):
        return pd.DataFrame({"name": [str(k) for k in names_with_counts],
                             "count": [int(v) for v in names_with_counts.values()], "kind": "fornavn"})
    pairs = list(names_with_counts)
    return pd.DataFrame({"name": [str(a) for a, _ in pairs], "count": [int(b) for _, b in pairs],
                         "kind": "fornavn"})


def ending_only(a: str, b: str) -> bool:
    """Two spellings that differ only in a final -e/-a (Kristine/Kristina, Hanne/Hanna):
    related names more often than one name, so never joined without a person."""
    return len(a) == len(b) and len(a) >= 4 and a[:-1] == b[:-1] and {a[-1], b[-1]} == {"E", "A"}


class _Groups:
    """Union-find that refuses a union joining names the database or relations keep apart."""

    def __init__(self, names: list[str], known: dict[str, str | None], db: NameDatabase):
        self.parent = {n: n for n in names}
        self.members = {n: {n} for n in names}
        self.grund = {n: ({known[n]} if known[n] else set()) for n in names}
        self.db = db

    def find(self, n: str) -> str:
        while self.parent[n] != n:
            self.parent[n] = self.parent[self.parent[n]]
            n = self.parent[n]
        return n

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if len(self.grund[ra] | self.grund[rb]) > 1:
            return False  # the database already keeps these names apart
        related = self.db.related
        names_a = self.members[ra] | self.grund[ra]
        names_b = self.members[rb] | self.grund[rb]
        if any(frozenset((x, y)) in related for x in names_a for y in names_b):
            return False  # related or sound-alike names a person decided to keep apart
        if any(ending_only(x, y) for x in self.members[ra] for y in self.members[rb]):
            return False  # Kristine/Kristina: related names, joined only by a person
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra] |= self.members.pop(rb)
        self.grund[ra] |= self.grund.pop(rb)
        return True


def suggest_name_groups(names_with_counts, db: NameDatabase | None = None, *, jw_min: float = 0.80,
                        typo_min: float = 0.93, typo_ratio: float = 0.1,
                        include_settled: bool = False, families: pd.DataFrame | None = None,
                        family_min: int = 1) -> pd.DataFrame:
    """Proposed groups of spellings, largest first (by occurrences of all their spellings).

    ``names_with_counts``: a mapping spelling -> count, a Series, or a frame with a
    spelling column (``spelling``/``name``) and a count column (``occurrences``/``count``),
    optionally ``kind`` (fornavn/efternavn; groups never mix kinds).

    One row per normalised spelling: ``group`` (1 = the group touching most records),
    ``grundnavn`` (the database's, when a member has one, else the commonest spelling),
    ``spellings`` (the raw spellings behind it, e.g. ``Aage|Åge``) and the rows a curator
    may accept as they are (``variant;grundnavn;kind``).  Groups in which every spelling
    already has the same grundnavn are left out unless ``include_settled``.

    ``families`` (``validators.names.families.family_pairs``): pairs of spellings written
    for one person. A pair seen in ``family_min`` families or more joins its spellings
    however they sound (the refusals above still hold), and every row shows ``families``,
    the families in which this spelling stood beside another of its group, with
    ``family_examples`` (record keys) to look them up.
    """
    db = load_name_database() if db is None else db
    rules = db.rules
    sounds = phonetic_rules()
    counts = _as_counts(names_with_counts)
    counts["norm"] = [rules.normalise(n) for n in counts["name"]]
    counts = counts.dropna(subset=["norm"])
    out_parts = []
    for kind, part in counts.groupby("kind"):  # the output is ordered below, whatever the order here
        occ = part.groupby("norm")["count"].sum()
        raw_spellings: dict[str, Counter] = defaultdict(Counter)
        forms = part["forms"] if "forms" in part else part["name"]
        for f, norm, c in zip(forms, part["norm"], part["count"]):
            for rank, form in enumerate(str(f).split("|")):
                form = form.strip()
                shown = form.capitalize() if form.isupper() else form
                raw_spellings[norm][shown] += int(c) if rank == 0 else 0
        names = list(occ.index)
        known = {n: db.grundnavn(n, kind) for n in names}
        key = {n: phonetic_key(n, sounds) for n in names}
        groups = _Groups(names, known, db)
        pairs: list[tuple[float, str, str]] = []
        by_key: dict[str, list[str]] = defaultdict(list)
        for n in names:
            by_key[key[n]].append(n)
        for members in by_key.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    s = JaroWinkler.similarity(a, b)
                    if s >= jw_min - 1e-9:
                        pairs.append((s, a, b))
        # Slips across sound keys: compare names that share their first letter.
        by_initial: dict[str, list[str]] = defaultdict(list)
        for n in names:
            if len(n) >= 5:
                by_initial[n[0]].append(n)
        for members in by_initial.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    if key[a] == key[b] or OSA.distance(a, b) > 1:
                        continue
                    rare, common = sorted((int(occ[a]), int(occ[b])))
                    if rare >= 5 and rare > typo_ratio * common:
                        continue  # both spellings are common: more likely two names than a slip
                    s = JaroWinkler.similarity(a, b)
                    if s >= typo_min - 1e-9:
                        pairs.append((s, a, b))
        family_links: list[tuple[str, str, int, str]] = []
        if families is not None and len(families):
            for r in families[families["kind"] == kind].itertuples(index=False):
                if r.spelling_a in groups.parent and r.spelling_b in groups.parent:
                    family_links.append((r.spelling_a, r.spelling_b, int(r.families), str(r.examples)))
        for a, b, n, _ in family_links:
            if n >= family_min:
                pairs.append((2.0 + n, a, b))  # before the sound and slip pairs: a person wrote both
        for s, a, b in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
            groups.union(a, b)
        seen_together: dict[str, int] = defaultdict(int)
        examples: dict[str, list[str]] = defaultdict(list)
        for a, b, n, ex in family_links:
            if groups.find(a) == groups.find(b):
                for m in (a, b):
                    seen_together[m] += n
                    examples[m].extend(ex.split())
        for root, members in groups.members.items():
            if len(members) < 2 and len(raw_spellings[next(iter(members))]) < 2 and not include_settled:
                continue  # one spelling alone: nothing to group
            grund_known = next(iter(groups.grund[root]), None)
            settled = all(known[m] is not None and known[m] == grund_known for m in members)
            if settled and not include_settled:
                continue
            top = sorted(members, key=lambda m: (-int(occ[m]), m))
            grund = grund_known or top[0]
            total = int(sum(occ[m] for m in members))
            for m in top:
                out_parts.append({
                    "kind": kind, "variant": m, "grundnavn": grund, "occurrences": int(occ[m]),
                    "group_occurrences": total,
                    "spellings": "|".join(s for s, _ in raw_spellings[m].most_common()),
                    "known_grundnavn": known[m], "jw_to_grundnavn": round(JaroWinkler.similarity(m, grund), 4),
                    "sound_key": key[m], "families": seen_together.get(m, 0),
                    "family_examples": " ".join(list(dict.fromkeys(examples.get(m, [])))[:3]),
                    "_root": f"{kind}:{root}",
                })
    if not out_parts:
        return pd.DataFrame(columns=SUGGESTION_COLUMNS)
    out = pd.DataFrame(out_parts)
    order = out.groupby("_root")["group_occurrences"].first()
    rank = {root: i + 1 for i, root in enumerate(sorted(order.index, key=lambda r: (-int(order[r]), r)))}
    out["group"] = out["_root"].map(rank)
    out = out.sort_values(["group", "occurrences", "variant"], ascending=[True, False, True], ignore_index=True)
    return out[SUGGESTION_COLUMNS]


def suggestions_as_database_rows(suggestions: pd.DataFrame) -> pd.DataFrame:
    """The proposal as ``variant;grundnavn;kind;sex`` rows, ready to edit and import.

    Spellings the database already knows are left out; so is each group's own grundnavn
    when it is new (a row mapping it to itself is added, so the import knows it).
    """
    rows = []
    for r in suggestions.itertuples():
        if r.known_grundnavn is not None and not pd.isna(r.known_grundnavn):
            continue
        rows.append({"variant": r.variant.capitalize(), "grundnavn": str(r.grundnavn).capitalize(),
                     "kind": r.kind, "sex": ""})
    return pd.DataFrame(rows, columns=["variant", "grundnavn", "kind", "sex"]).drop_duplicates()
