"""The census (FT) households of the QA report: what the household rules made of each
delivery, and the households a person should look at on the scan.

Everything here is counted from the columns the household rules wrote
(``validators.households``) and that the clean tables carry unchanged: ``HUSSTAND_ID``,
``STILLING_KODE``, ``FAMILIEROLLE``, ``ROLLE_REGEL``, ``HUSSTAND_REGEL``,
``FORAELDRE_REGEL``, ``FAR_LOEBE_NR`` and ``MOR_LOEBE_NR``.  A child is a row with a
``FORAELDRE_REGEL`` (the rows of ``ft_children``); its parent is resolved when the
running number is there.  No rule is worked out again.

The pipeline calls ``summarise`` once per checked batch (a delivery is always whole in
one batch) and keeps the small result; ``section`` turns the parts of a run into what the
template prints.  Households to look at are kept with their persons only up to the
report's caps, so a national run holds counts, not the country.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ingest.report.sections import as_text, as_whole_numbers, concat, year_span

MAX_HOUSEHOLDS_PER_DELIVERY = 300
MAX_HOUSEHOLDS_TOTAL = 2_000
MAX_PERSONS_SHOWN = 40
TEXT_WIDTH = 60

# The clean table's name of each column, and where the checked frame holds it.
ENGINE_NAMES = {"INDTASTNINGSNUMMER": "_delivery", "LOEBE_NR": "LOEBE_NR_REN", "KILDEFIL": "_file",
                "LINJE": "_line"}
RULE_COLUMNS = ("ROLLE_REGEL", "HUSSTAND_REGEL", "FORAELDRE_REGEL")
USED_COLUMNS = ("HUSSTAND_ID", "STILLING_KODE", "FAMILIEROLLE", *RULE_COLUMNS, "FAR_LOEBE_NR",
                "MOR_LOEBE_NR", "BOR_ANDETSTEDS")
# Keyed values a person needs to see why a rule did not decide (names are not among them:
# the running numbers and lines lead to the rows, and the scan shows the rest).
PERSON_COLUMNS = ("STILLING_I_HUSSTANDEN", "ERHVERV", "KOEN_REN", "AEGTESKABELIG_STILLING_REN", "ALDER_BEREGNET")
PLACE_COLUMNS = {"SKEMA_NR": "schedule", "EJENDOMMENS_MATR_NR": "cadastre", "FAMILIE_LOEBE_NR": "family"}

COUPLE_RULES = ("gift_par", "gift_husfader_og_husmoder")
AGE_GAP = ",aldersforskel"

# Why a household is listed, in the order the reasons are given.
REASONS = {
    "orphans": "children without a parent",
    "manual": "coded by hand (manuel)",
    "several_heads": "several heads",
    "no_head": "no head (two or more persons)",
    "age_gap": "parent left out for age",
    "no_role": "persons not placed",
}

# What each rule means, for the legend (the rules themselves: validators/households.py).
RULE_TEXT = {
    "kodetabel": "the keyed position, through the code table of positions",
    "stilling_fra_erhverv": "position empty: read from the occupation",
    "barn_under_15_samme_efternavn": "position empty, under 15, surname of the household's only married couple: "
                                     "a child of both",
    "gift_par": "exactly one married man and one married woman",
    "gift_husfader_og_husmoder": "exactly one married Husfader and one married Husmoder",
    "manuel": "three or more married persons and neither rule before: code the families by hand",
    "eneste_husmoder": "one Husmoder and no Husfader",
    "eneste_husfader": "one Husfader and no Husmoder",
    "ingen": "no rule applies: no parents for the household's children",
    "uafklaret": "the household's rules give no parent (no rule applies)",
    "aldersforskel": "a parent found but not taken: too small (or, for a mother, too large) an age difference",
    "": "not placed: neither the code table nor a household rule gives a position (ROLE_UNKNOWN)",
}
RULE_ORDER = ("kodetabel", "stilling_fra_erhverv", "barn_under_15_samme_efternavn", "gift_par",
              "gift_husfader_og_husmoder", "manuel", "eneste_husmoder", "eneste_husfader", "ingen", "uafklaret")
RULE_TABLES = {
    "ROLLE_REGEL": ("Family role of each person", "persons"),
    "HUSSTAND_REGEL": ("Parents of each household", "households"),
    "FORAELDRE_REGEL": ("Parents of each child", "children"),
}

COUNTS = ("persons", "households", "children", "both", "father_only", "mother_only", "none", "no_role",
          "to_check", *(f"r_{r}" for r in REASONS))


@dataclass
class HouseholdPart:
    """One batch's households: counts per delivery, rule counts, households to look at."""

    deliveries: pd.DataFrame  # one row per delivery, the COUNTS
    rules: pd.DataFrame  # entry, column, rule, count
    listed: pd.DataFrame  # households to look at (up to the caps), with their persons


@dataclass
class HouseholdView:
    present: bool = False  # the run has census deliveries
    rows: list[dict] = field(default_factory=list)
    total: dict | None = None
    rules: list[dict] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    listed: list[dict] = field(default_factory=list)
    listed_total: int = 0
    reasons: dict[str, str] = field(default_factory=lambda: dict(REASONS))

    @property
    def listed_omitted(self) -> int:
        return self.listed_total - len(self.listed)


# --------------------------------------------------------------------------- one batch

def census_view(clean: pd.DataFrame) -> pd.DataFrame:
    """The columns this section reads, under the clean table's names, from the checked
    frame of the engine (``Result.clean``) or from a clean table itself."""
    out = pd.DataFrame(index=clean.index)
    for name, engine_name in ENGINE_NAMES.items():
        out[name] = clean[engine_name] if engine_name in clean else clean[name]
    for name in (*USED_COLUMNS, *PERSON_COLUMNS, *PLACE_COLUMNS):
        if name in clean:
            out[name] = clean[name]
    return out.reset_index(drop=True)


def _codes(frame: pd.DataFrame, entry: np.ndarray) -> np.ndarray:
    """Household of each row as 0..H-1.  Households are consecutive rows with one
    ``HUSSTAND_ID`` (the rules number them so); the entry number and file are part of the
    key, so that two deliveries under one entry number never merge."""
    n = len(frame)
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
    change[1:] |= entry[1:] != entry[:-1]
    for col in ("KILDEFIL", "HUSSTAND_ID"):
        codes, _ = pd.factorize(frame[col], use_na_sentinel=True)
        change[1:] |= codes[1:] != codes[:-1]
    return np.cumsum(change) - 1


def _mask(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def _text_of(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame:
        return pd.Series("", index=frame.index, dtype="string")
    return as_text(frame[col])


def _factorized(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) with missing values as the value ""."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.array([str(u).strip() for u in uniques] + [""], dtype=object)
    codes = np.where(codes < 0, len(uniques) - 1, codes)
    merged, distinct = pd.factorize(uniques)  # "" twice, or two spellings that strip alike
    return merged[codes].astype(np.int64), np.asarray(distinct, dtype=object)


def _rule_counts(frame: pd.DataFrame, entry: np.ndarray, names: np.ndarray, first: np.ndarray,
                 child: np.ndarray) -> pd.DataFrame:
    """How many persons, households and children each rule decided, per delivery."""
    parts = []
    for col, rows in (("ROLLE_REGEL", np.arange(len(frame))), ("HUSSTAND_REGEL", first),
                      ("FORAELDRE_REGEL", np.flatnonzero(child))):
        rule, rules = _factorized(frame[col].iloc[rows]) if col in frame else (
            np.zeros(len(rows), dtype=np.int64), np.array([""], dtype=object))
        pair = entry[rows].astype(np.int64) * max(len(rules), 1) + rule
        seen, count = np.unique(pair, return_counts=True)
        parts.append(pd.DataFrame({"entry": names[seen // max(len(rules), 1)], "column": col,
                                   "rule": np.asarray(rules, dtype=object)[seen % max(len(rules), 1)],
                                   "count": count}))
    return pd.concat(parts, ignore_index=True)


def _reason_texts(hh: pd.DataFrame) -> list[list[str]]:
    """Per household, why it is listed, in words."""
    texts = []
    for h in hh.itertuples():
        said = []
        if h.orphans:
            said.append(f"{h.orphans} of {h.children} child(ren) without a resolved parent")
        if h.manual:
            said.append("household rule manuel: three or more married persons, code the families by hand")
        heads = ", ".join(f"{n} {code}" for code, n in (("HUSFADER", h.hf), ("HUSMODER", h.hm), ("OVERHOVED", h.ov))
                          if n)
        if h.several_heads and (h.hf > 1 or h.hm > 1 or h.ov > 1):
            said.append(f"several heads ({heads})")
        elif h.several_heads:
            said.append(f"heads that are not a married couple ({heads}; household rule {h.rule or 'none'})")
        if h.no_head:
            said.append("no head of household (no HUSFADER, HUSMODER or OVERHOVED)")
        if h.age_gap:
            said.append(f"{h.age_gap} child(ren) with a parent not taken for the age difference")
        if h.no_role:
            said.append(f"{h.no_role} person(s) not placed: neither the code table nor a household rule gives a "
                        "position (ROLE_UNKNOWN)")
        texts.append(said)
    return texts


def _persons(frame: pd.DataFrame, rows: np.ndarray, orphan: np.ndarray, age_gap: np.ndarray,
             no_role: np.ndarray) -> list[dict]:
    """The persons at ``rows`` (of the listed households) as the rules saw them; the
    columns are turned into text once for all of them."""
    shown = frame.iloc[rows].reset_index(drop=True)
    position = _text_of(shown, "STILLING_I_HUSSTANDEN").str.slice(0, TEXT_WIDTH)
    occupation = _text_of(shown, "ERHVERV").str.slice(0, TEXT_WIDTH)
    position = position.where((position != "") | (occupation == ""), "(empty; occupation " + occupation + ")")
    blank = pd.Series("", index=shown.index, dtype="string")
    far = as_whole_numbers(shown["FAR_LOEBE_NR"]).replace("", "\u2013")
    mor = as_whole_numbers(shown["MOR_LOEBE_NR"]).replace("", "\u2013")
    child_rule = _text_of(shown, "FORAELDRE_REGEL")
    parents = ("F " + far + " \u00b7 M " + mor).where(child_rule != "", "")
    notes = [np.where(orphan[rows], "no parent resolved", ""),
             np.where(age_gap[rows], "a parent not taken: age difference", ""),
             np.where(no_role[rows], "not placed", "")]
    note = ["; ".join(n for n in parts if n) for parts in zip(*notes)]
    columns = {
        "loebe_nr": as_whole_numbers(shown["LOEBE_NR"]), "line": as_whole_numbers(shown["LINJE"]),
        "position": position, "sex": _text_of(shown, "KOEN_REN"),
        "civil": _text_of(shown, "AEGTESKABELIG_STILLING_REN"),
        "age": as_whole_numbers(shown["ALDER_BEREGNET"]) if "ALDER_BEREGNET" in shown else blank,
        "code": _text_of(shown, "STILLING_KODE"), "role": _text_of(shown, "FAMILIEROLLE"),
        "rule": _text_of(shown, "ROLLE_REGEL"), "parents": parents, "parent_rule": child_rule,
    }
    out = pd.DataFrame({k: v.astype(object).to_numpy() for k, v in columns.items()})
    out["note"] = note
    out["flag"] = out["note"] != ""
    return out.to_dict("records")


def summarise(clean: pd.DataFrame, room: int = MAX_HOUSEHOLDS_TOTAL) -> HouseholdPart:
    """Counts and listed households of one checked batch of census rows.

    ``clean`` is the engine's checked frame or a clean table (``census_view`` reads
    either); ``room`` is how many more households the run's report lists."""
    frame = census_view(clean)
    n = len(frame)
    entry, names = pd.factorize(frame["INDTASTNINGSNUMMER"].astype("string").fillna(""))
    names = np.asarray(names, dtype=object)
    hh = _codes(frame, entry)
    households = int(hh.max()) + 1 if n else 0
    kode_codes, kode_values = _factorized(frame["STILLING_KODE"])

    def is_code(code: str) -> np.ndarray:
        return (kode_values == code)[kode_codes]

    member = ~_mask(frame["BOR_ANDETSTEDS"].astype("boolean")) | is_code("BARN")
    child = _mask(frame["FORAELDRE_REGEL"].notna())
    far = _mask(frame["FAR_LOEBE_NR"].notna())
    mor = _mask(frame["MOR_LOEBE_NR"].notna())
    orphan = child & ~far & ~mor
    age_gap = child & _mask(frame["FORAELDRE_REGEL"].astype("string").str.endswith(AGE_GAP))
    no_role = _mask(frame["STILLING_KODE"].isna())

    def per_household(mask: np.ndarray) -> np.ndarray:
        return np.bincount(hh[mask], minlength=households)

    first = np.flatnonzero(np.r_[True, hh[1:] != hh[:-1]]) if n else np.zeros(0, dtype=np.int64)
    house = pd.DataFrame({
        "entry": names[entry[first]] if n else np.zeros(0, dtype=object),
        "rule": _text_of(frame.iloc[first], "HUSSTAND_REGEL").to_numpy(dtype=object),
        "persons": np.bincount(hh, minlength=households),
        "children": per_household(child),
        "orphans": per_household(orphan),
        "age_gap": per_household(age_gap),
        "no_role": per_household(no_role),
        "hf": per_household(member & is_code("HUSFADER")),
        "hm": per_household(member & is_code("HUSMODER")),
        "ov": per_household(member & is_code("OVERHOVED")),
    })
    heads = house["hf"] + house["hm"] + house["ov"]
    house["manual"] = house["rule"] == "manuel"
    # A person living alone (a lodger, a servant with a room of their own) is keyed without a
    # household position as often as not: only a household of two or more without a head
    # points at a wrong split.
    house["no_head"] = (heads == 0) & (house["persons"] > 1)
    house["several_heads"] = ((house["hf"] > 1) | (house["hm"] > 1) | (house["ov"] > 1)
                              | ((heads > 1) & ~house["rule"].isin(COUPLE_RULES)))
    flags = pd.DataFrame({r: house[r].astype(bool) for r in REASONS})
    house["to_check"] = flags.any(axis=1)

    # Per delivery: persons, children by parents resolved; households by reason.
    k = len(names)
    house_entry = entry[first]

    def per_delivery(mask: np.ndarray, of: np.ndarray = entry) -> np.ndarray:
        return np.bincount(of[mask], minlength=k)

    counts = {
        "persons": np.bincount(entry, minlength=k), "households": np.bincount(house_entry, minlength=k),
        "children": per_delivery(child), "both": per_delivery(child & far & mor),
        "father_only": per_delivery(child & far & ~mor), "mother_only": per_delivery(child & ~far & mor),
        "none": per_delivery(orphan), "no_role": per_delivery(no_role),
        "to_check": per_delivery(house["to_check"].to_numpy(dtype=bool), house_entry),
        **{f"r_{r}": per_delivery(flags[r].to_numpy(dtype=bool), house_entry) for r in REASONS},
    }
    deliveries = pd.DataFrame({"entry": names, **{c: counts[c].astype("int64") for c in COUNTS}})

    # The households to look at, in the book's order, up to the caps.
    wanted = np.flatnonzero(house["to_check"].to_numpy(dtype=bool))
    within = house.iloc[wanted].groupby("entry", sort=False).cumcount().to_numpy()
    wanted = wanted[within < MAX_HOUSEHOLDS_PER_DELIVERY][:max(room, 0)]
    listed = _listed(frame, hh, house, wanted, orphan, age_gap, no_role)
    return HouseholdPart(deliveries, _rule_counts(frame, entry, names, first, child), listed)


def _listed(frame, hh, house, wanted, orphan, age_gap, no_role) -> pd.DataFrame:
    if not len(wanted):
        return pd.DataFrame()
    starts = np.searchsorted(hh, wanted, side="left")
    ends = np.searchsorted(hh, wanted, side="right")
    first = frame.iloc[starts]
    last = frame.iloc[ends - 1]
    chosen = house.iloc[wanted].reset_index(drop=True)
    where = []
    for col, word in PLACE_COLUMNS.items():
        if col in first:
            values = as_text(first[col]).to_numpy()
            where.append(np.where(values != "", word + " " + values.astype(object), ""))
    places = [" \u00b7 ".join(p for p in parts if p) for parts in zip(*where)] if where else [""] * len(wanted)
    out = pd.DataFrame({
        "entry": chosen["entry"],
        "file": as_text(first["KILDEFIL"]).to_numpy(),
        "household": as_text(first["HUSSTAND_ID"]).to_numpy(),
        "place": places,
        "lines": _span(as_whole_numbers(first["LINJE"]).to_numpy(), as_whole_numbers(last["LINJE"]).to_numpy()),
        "loebe_nr": _span(as_whole_numbers(first["LOEBE_NR"]).to_numpy(),
                          as_whole_numbers(last["LOEBE_NR"]).to_numpy()),
        "persons": chosen["persons"].to_numpy(),
        "reasons": _reason_texts(chosen),
    })
    shown_ends = np.minimum(ends, starts + MAX_PERSONS_SHOWN)
    rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, shown_ends)])
    persons = _persons(frame, rows, orphan, age_gap, no_role)
    bounds = np.r_[0, np.cumsum(shown_ends - starts)]
    out["members"] = [persons[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    out["more_members"] = np.maximum(ends - starts - MAX_PERSONS_SHOWN, 0)
    return out


def _span(a: np.ndarray, b: np.ndarray) -> list[str]:
    return [x if x == y or not y else (y if not x else f"{x}\u2013{y}") for x, y in zip(a, b)]


# --------------------------------------------------------------------------- the run

def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else ""


def _row(entry: str, counts: dict, parish: str = "", years: str = "") -> dict:
    one = counts["father_only"] + counts["mother_only"]
    return {"entry": entry, "parish": parish, "years": years, **counts, "one": one,
            "both_share": _share(counts["both"], counts["children"]),
            "one_share": _share(one, counts["children"]),
            "none_share": _share(counts["none"], counts["children"])}


def _rule_key(rule: str) -> tuple:
    base, _, extra = rule.partition(",")
    return (RULE_ORDER.index(base) if base in RULE_ORDER else len(RULE_ORDER), base == "", extra, rule)


def section(parts: list[HouseholdPart], deliveries) -> HouseholdView:
    """What the report's Households section shows for a run (``RunResult.households``)."""
    census = [d for d in deliveries if d.source == "FT"]
    view = HouseholdView(present=bool(census or parts))
    if not view.present:
        return view
    counts = concat([p.deliveries for p in parts])
    if counts.empty:
        return view
    counts = counts.groupby("entry", sort=False)[list(COUNTS)].sum()
    about = {d.entry_number: d.as_dict() for d in census}
    for entry, row in counts.sort_index().iterrows():
        info = about.get(entry, {})
        view.rows.append(_row(entry, {k: int(row[k]) for k in COUNTS}, info.get("parish") or "",
                              year_span(info.get("years") or [])))
    if len(view.rows) > 1:
        view.total = _row("All", {k: int(counts[k].sum()) for k in COUNTS})

    rules = concat([p.rules for p in parts])
    used = set()
    for col, (title, unit) in RULE_TABLES.items():
        mine = rules[rules["column"] == col] if len(rules) else rules
        table = mine.pivot_table(index="entry", columns="rule", values="count", aggfunc="sum", fill_value=0) \
            if len(mine) else pd.DataFrame()
        names = sorted(table.columns, key=_rule_key)
        used.update(r for name in names for r in name.split(","))
        table = table.reindex(index=[r["entry"] for r in view.rows], columns=names, fill_value=0)
        view.rules.append({
            "column": col, "title": title, "unit": unit,
            "names": [{"rule": name, "label": name.replace(",", " + ") or "none"} for name in names],
            "rows": [{"entry": e, "counts": [int(v) for v in values]} for e, values in
                     zip(table.index, table.to_numpy())],
            "total": [int(v) for v in table.sum().to_numpy()] if len(table) > 1 else None,
        })
    view.legend = [(r or "none", RULE_TEXT[r]) for r in (*RULE_ORDER, "aldersforskel", "") if r in used]

    listed = concat([p.listed for p in parts])
    view.listed_total = int(counts["to_check"].sum())
    if len(listed):
        listed = listed.sort_values("entry", kind="stable")  # the book's order within each delivery
        view.listed = listed.head(MAX_HOUSEHOLDS_TOTAL).to_dict("records")
    return view


def listed_so_far(parts: list[HouseholdPart]) -> int:
    return sum(len(p.listed) for p in parts)
