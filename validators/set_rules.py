"""Set rules: checks over a whole delivery — running numbers, book sections, pages, duplicates.

A book is written in sections: for each registration year, the boys and then the girls
(or the other way round), each numbered 1, 2, 3…  A gap in those numbers is the pilot's
best signal of a forgotten child.  All rules here are group-bys over the frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from validators.record_rules import _year
from validators.sources import Source

DEFAULT_PAGE_CAPACITY = 5
MAX_BLOCK = 40  # candidate blocks larger than this are not compared pairwise
DUPLICATE_NAME_SIMILARITY = 0.90
DUPLICATE_FIRST_NAME_SIMILARITY = 0.85
DUPLICATE_PARENT_SIMILARITY = 0.80


def _ffill_by(frame: pd.DataFrame, values: pd.Series) -> pd.Series:
    if not values.isna().any():
        return values
    filled = values.groupby(frame["_delivery"], sort=False).ffill()
    return filled.groupby(frame["_delivery"], sort=False).bfill()


def add_sections(frame: pd.DataFrame, source: Source) -> None:
    """``_YEAR``, ``_SEX`` and ``_BOOK`` of each row's book section.

    A row whose registration year or sex is itself wrong belongs to the section of the
    rows around it (books are keyed in order), so one bad value does not split a section
    and raise false gaps.
    """
    reg = frame["KALENDERAAR_REN"]
    born = _year(frame, f"{source.event_date}_REN")
    plausible = reg.notna() & (born.isna() | (reg - born).isin([0, 1]))
    frame["_YEAR"] = _ffill_by(frame, reg.where(plausible.fillna(False))).fillna(born)
    sex = frame["KOEN_REN"].where(frame["KOEN_REN"].isin(["K", "M", "U"]))
    frame["_SEX"] = _ffill_by(frame, sex)
    book = frame["KILDEANGIVELSE_REN"] if "KILDEANGIVELSE_REN" in frame else frame["KILDEANGIVELSE"]
    frame["_BOOK"] = _ffill_by(frame, book.where(book.notna() & (book != ""))).fillna("")


def running_numbers(frame: pd.DataFrame, fb, codes: Codes | None = None) -> None:
    """LOEBE_NR must run 1..N through each file; report repeats and jumps, not their echo."""
    file = _group_key(frame, ["_file"], codes=codes)  # the file as a number, not its name on every row
    pos = frame["_pos"]  # the row's place in its file, counted by the reader
    v = frame["LOEBE_NR_REN"]
    valid = v.notna()
    sub = pd.DataFrame({"_file": file, "v": v, "pos": pos})[valid.to_numpy(dtype=bool)]
    repeat = sub.duplicated(["_file", "v"], keep="first")
    idx = sub.index[repeat.to_numpy()]
    if len(idx):
        fb.at(idx, "LOEBE_NR_SEQUENCE", "running number " + sub.loc[idx, "v"].astype(str) + " is used twice",
              "LOEBE_NR")
    rest = sub[~repeat]
    prev_v = rest.groupby("_file", sort=False)["v"].shift()
    prev_pos = rest.groupby("_file", sort=False)["pos"].shift()
    expected = (prev_v + (rest["pos"] - prev_pos)).fillna(rest["pos"]).astype("Int64")
    jump = (rest["v"] != expected).fillna(False)
    idx = rest.index[jump.to_numpy(dtype=bool)]
    if len(idx):
        fb.at(idx, "LOEBE_NR_SEQUENCE", "running number " + rest.loc[idx, "v"].astype(str) + " where "
              + expected[idx].astype(str) + " was expected", "LOEBE_NR", expected[idx].astype(str))


def _section_label(frame: pd.DataFrame, idx) -> pd.Series:
    year = frame.loc[idx, "_YEAR"].astype("Int64").astype(str)
    return "(" + year + ", " + frame.loc[idx, "_SEX"].fillna("?").astype(str) + ")"


def _ordered_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes that sort as ``values`` do when a frame is sorted by them (the same
    ordered Categorical ``sort_values`` builds), missing values last; and how many."""
    codes = pd.Categorical(values, ordered=True).codes.astype(np.int64)
    n = int(codes.max()) + 1 if len(codes) else 0
    codes[codes < 0] = n
    return codes, n + 1


Codes = dict[str, tuple[np.ndarray, int]]  # column -> ``_ordered_codes``, shared by the rules of one run


def _tuple_ids(frame: pd.DataFrame, keys: list[str], codes: Codes | None = None) -> np.ndarray:
    """One int64 per row that compares, sorts and groups as the row's tuple of ``keys``
    does -- without copying a column of text for every sort or group-by."""
    codes = {} if codes is None else codes
    ids = np.zeros(len(frame), dtype=np.int64)
    for k in keys:
        if k not in codes:
            codes[k] = _ordered_codes(frame[k])
        k_codes, n = codes[k]
        if len(ids) and int(ids.max()) >= (2 ** 62) // n:
            ids = np.unique(ids, return_inverse=True)[1].reshape(-1).astype(np.int64)  # dense again, same order
        ids = ids * n + k_codes
    return ids


def _group_key(frame: pd.DataFrame, keys: list[str], rows: np.ndarray | None = None,
               codes: Codes | None = None) -> pd.Series:
    """A group-by key standing for the tuple of ``keys`` (for ``rows``, positions): the same
    groups, met in the same order, as grouping by the columns themselves -- missing where
    any key is missing, so those rows join no group, as pandas leaves them out."""
    ids = _tuple_ids(frame, keys, codes).astype(np.float64)
    missing = np.logical_or.reduce([frame[k].isna().to_numpy(dtype=bool) for k in keys])
    ids[missing] = np.nan
    if rows is not None:
        ids = ids[rows]
    return pd.Series(ids, index=frame.index if rows is None else frame.index[rows])


def entry_numbers(frame: pd.DataFrame, fb, codes: Codes | None = None) -> pd.DataFrame:
    """Gaps and repeats of the book's entry numbers in each (book, year, sex) section."""
    keys = ["_delivery", "_BOOK", "_YEAR", "_SEX"]
    num = frame["KILDE_LOEBE_NR_TAL"]
    letter = frame["KILDE_LOEBE_NR_BOGSTAV"].fillna("")
    plain = (num > 0).fillna(False) & (letter == "")
    # The plain entries of sections whose year and sex are known, in the frame's order.
    rows = np.flatnonzero((plain & frame["_YEAR"].notna() & frame["_SEX"].notna()).to_numpy(dtype=bool))
    sec = _tuple_ids(frame, keys, codes)[rows]
    nums = num.to_numpy(dtype=np.int64, na_value=0)[rows]
    # Sorted by section and number (stable: the frame's order among equals), a repeat is an
    # entry equal to the one before it; the first of equals is the one earliest in the frame.
    order = np.lexsort((nums, sec))
    same = np.zeros(len(rows), dtype=bool)
    same[1:] = (sec[order][1:] == sec[order][:-1]) & (nums[order][1:] == nums[order][:-1])
    repeat = np.zeros(len(rows), dtype=bool)
    repeat[order] = same
    idx = frame.index[rows[repeat]]
    if len(idx):
        fb.at(idx, "KILDE_LOEBE_NR_REPEAT", "entry number " + pd.Series(nums[repeat], index=idx).astype(str)
              + " already used in section " + _section_label(frame, idx), "KILDE_LOEBE_NR")
    first = order[~same]  # positions in ``rows``, sorted by section and number
    first_sec, first_num = sec[first], nums[first]
    # The number before in the same section; none for a section's first entry, nor where
    # the delivery or book is missing (such rows belong to no section).
    has_prev = np.zeros(len(first), dtype=bool)
    has_prev[1:] = first_sec[1:] == first_sec[:-1]
    has_prev &= (frame["_delivery"].notna() & frame["_BOOK"].notna()).to_numpy(dtype=bool)[rows[first]]
    prev_num = np.zeros(len(first), dtype=np.int64)
    prev_num[1:] = first_num[:-1]
    prev_num[~has_prev] = 0
    gap = (first_num - prev_num) > 1
    gaps = pd.DataFrame()
    if gap.any():
        at = rows[first[gap]]
        g = frame.loc[frame.index[at], keys + ["_line"]]
        g["num"] = first_num[gap]
        prev_filled = pd.Series(prev_num[gap], index=g.index)
        after = pd.Series(np.where(has_prev[gap], prev_num[gap], np.nan), index=g.index)
        lo = prev_filled + 1
        hi = g["num"] - 1
        missing = lo.astype(str).where(lo == hi, lo.astype(str) + "-" + hi.astype(str))
        where = ("between " + after.astype("Int64").astype(str) + " and " + g["num"].astype(str)).where(
            after.notna(), "before " + g["num"].astype(str) + " (the section should start at 1)")
        label = _section_label(frame, g.index)
        fb.at(g.index, "KILDE_LOEBE_NR_GAP", "entry numbers " + missing + " missing " + where + " " + label,
              "KILDE_LOEBE_NR")
        gaps = pd.DataFrame({
            "entry_number": g["_delivery"], "book": g["_BOOK"], "year": g["_YEAR"].astype("Int64"),
            "sex": g["_SEX"], "missing": missing, "count": (hi - lo + 1).astype(int),
            "after": after.astype("Int64"), "before": g["num"], "line": g["_line"],
            "page": frame.loc[g.index, "KILDE_SIDE"],
        })
    # Letter entries (24a, 24b…): letters after one number must run a, b, c…
    lettered = (num > 0).fillna(False) & (letter != "")
    lsub = frame.loc[lettered.to_numpy(dtype=bool), keys + ["_line"]].dropna(subset=["_YEAR", "_SEX"]).copy()
    if len(lsub):
        lsub["num"] = num[lsub.index].astype("int64")
        lsub["ord"] = letter[lsub.index].map(ord)
        again = lsub.duplicated(keys + ["num", "ord"], keep="first")
        if again.any():  # a sub-entry keyed twice, as a plain entry number is above
            twice = lsub.index[again.to_numpy()]
            fb.at(twice, "KILDE_LOEBE_NR_REPEAT", "entry number " + lsub.loc[twice, "num"].astype(str)
                  + letter[twice] + " already used in section " + _section_label(frame, twice), "KILDE_LOEBE_NR")
        lsub = lsub[~again].sort_values(keys + ["num", "ord"], kind="stable")
        prev_ord = lsub.groupby(keys + ["num"], sort=False)["ord"].shift().fillna(ord("a") - 1)
        lgap = (lsub["ord"] - prev_ord) > 1
        lg = lsub[lgap.to_numpy()]
        if len(lg):
            missing = [f"{n}{chr(o)}" if o == e else f"{n}{chr(o)}-{n}{chr(e)}"
                       for n, o, e in zip(lg["num"], (prev_ord[lg.index] + 1).astype(int), lg["ord"] - 1)]
            fb.at(lg.index, "KILDE_LOEBE_NR_GAP", pd.Series(
                [f"entry {m} missing before {n}{chr(o)} " for m, n, o in zip(missing, lg["num"], lg["ord"])],
                index=lg.index) + _section_label(frame, lg.index), "KILDE_LOEBE_NR")
    return gaps


def nonstandard_suggestions(frame: pd.DataFrame, fb) -> None:
    """'-', '--' or a lone letter after entry 24 most likely means 24a (or the next letter)."""
    odd = frame["KILDE_LOEBE_NR_REN"].isna() & (frame["KILDE_LOEBE_NR"].fillna("").str.strip() != "")
    if not odd.any():
        return
    by = frame.groupby("_delivery", sort=False)
    prev_num = by["KILDE_LOEBE_NR_TAL"].shift()
    prev_letter = by["KILDE_LOEBE_NR_BOGSTAV"].shift().fillna("")
    idx = frame.index[(odd & prev_num.notna()).to_numpy(dtype=bool)]
    suggestions = {}
    for i in idx:
        own = frame.at[i, "KILDE_LOEBE_NR_BOGSTAV"] or ""
        base = int(prev_num[i])
        if own:
            suggestions[i] = f"{base}{own}"
        else:
            pl = prev_letter[i]
            suggestions[i] = f"{base}{chr(ord(pl) + 1) if pl else 'a'}"
    fb.suggest("KILDE_LOEBE_NR_NONSTANDARD", pd.Series(suggestions, dtype=object))


def pages(frame: pd.DataFrame, fb, options: dict, codes: Codes | None = None) -> None:
    page = frame["KILDE_SIDE_REN"]
    rows = np.flatnonzero(page.notna().to_numpy(dtype=bool))
    if not len(rows):
        return
    default = options.get("page_capacity", DEFAULT_PAGE_CAPACITY)
    by_entry = options.get("page_capacity_by_entry", {})
    # Pages of a book as group keys (numbers standing for the delivery, book and page).
    lines = frame["_line"].iloc[rows]
    counts = lines.groupby(_group_key(frame, ["_delivery", "_BOOK", "KILDE_SIDE_REN"], rows, codes), sort=False).agg(
        n="size", first="idxmin")
    entry = frame.loc[counts["first"].to_numpy(), "_delivery"]
    capacity = entry.map(lambda e: by_entry.get(e, default)).to_numpy()
    over = counts[counts["n"].to_numpy() > capacity]
    if len(over):
        cap = pd.Series(capacity[counts["n"].to_numpy() > capacity], index=over.index)
        pages_over = frame.loc[over["first"].to_numpy(), "KILDE_SIDE_REN"].set_axis(over.index)
        msg = ("page " + pages_over.astype(str) + " carries " + over["n"].astype(str)
               + " entries; the form holds " + cap.astype(str))
        fb.at(pd.Index(over["first"].to_numpy()), "PAGE_OVERFULL", pd.Series(msg.to_numpy()), "KILDE_SIDE",
              line=False)
    # Page numbers going backwards: blame the row that stands out from both neighbours.
    book = _group_key(frame, ["_delivery", "_BOOK"], rows, codes)
    cur = page.iloc[rows]
    grp = cur.groupby(book, sort=False)
    prev, nxt = grp.shift(), grp.shift(-1)
    back = (cur < prev).fillna(False)
    prev_is_spike = (prev > nxt).fillna(False) & back
    prev_index = pd.Series(cur.index, index=cur.index).groupby(book, sort=False).shift()
    blame = list(cur.index[(back & ~prev_is_spike).to_numpy(dtype=bool)])
    blame += [int(i) for i in prev_index[prev_is_spike.to_numpy(dtype=bool)].dropna()]
    if blame:
        idx = pd.Index(sorted(set(blame)))
        before, after = prev.reindex(idx), nxt.reindex(idx)
        msg = [_page_message(p, b, a) for p, b, a in zip(frame.loc[idx, "KILDE_SIDE_REN"], before, after)]
        fb.at(idx, "PAGE_SEQUENCE", msg, "KILDE_SIDE",
              pd.Series([_page_suggestion(c, b, a) for c, b, a in zip(cur.reindex(idx), before, after)], index=idx))


def _page_message(page, before, after) -> str:
    """The page out of order and its neighbours; the first and the last page of a book have
    one neighbour only."""
    if pd.isna(before):
        return f"page {page} before page {after:.0f} while the entries go forward"
    if pd.isna(after):
        return f"page {page} after page {before:.0f} while the entries go forward"
    return f"page {page} between pages {before:.0f} and {after:.0f} while the entries go forward"


def _page_suggestion(page, before, after) -> str | None:
    """Digits keyed in the wrong order (15 for 51) if that fits between the neighbours,
    else the neighbours' page when they agree."""
    if pd.isna(before) or pd.isna(after):
        return None
    swapped = int(str(int(page))[::-1])
    if before <= swapped <= after:
        return str(swapped)
    if after - before <= 1:
        return str(int(before))
    return None


def _text(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Upper-cased names joined by single blanks (for the similarity measure)."""
    out = pd.Series("", index=frame.index, dtype="string")
    for c in cols:
        if c in frame:
            out = out + " " + frame[c].fillna("").astype("string")
    # The clean name columns are already collapsed to single blanks.
    return out.str.upper().str.strip()


def _key_codes(values: pd.Series) -> np.ndarray:
    """A blocking key as codes: equal values share a code; a missing or empty value is -1
    (it blocks nothing)."""
    codes, uniques = pd.factorize(values, sort=False)
    codes = codes.astype(np.int64)
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        empty = np.flatnonzero(pd.Series(uniques, dtype=object).eq("").to_numpy(dtype=bool))
        if len(empty):
            codes[np.isin(codes, empty)] = -1
    return codes


def _derived_codes(values: pd.Series, derive) -> np.ndarray:
    """``_key_codes(derive(values))``, with ``derive`` run on the distinct values only; a
    missing value is taken as empty (it blocks nothing)."""
    codes, uniques = pd.factorize(values.fillna(""), sort=False)
    return _key_codes(derive(pd.Series(uniques, dtype=values.dtype)))[codes]


def _candidate_pairs(frame: pd.DataFrame, keys: list[np.ndarray]) -> pd.DataFrame:
    """Pairs (a, b), a < b, of rows whose blocking keys (as ``_key_codes``) all agree, in
    blocks of 2 to MAX_BLOCK rows."""
    rows = np.flatnonzero(np.logical_and.reduce([k >= 0 for k in keys]))
    ids = np.zeros(len(rows), dtype=np.int64)
    for k in keys:
        k = k[rows]
        n = int(k.max()) + 1 if len(k) else 1
        if len(ids) and int(ids.max()) >= (2 ** 62) // n:
            ids = pd.factorize(ids)[0].astype(np.int64)
        ids = ids * n + k
    block = pd.factorize(ids)[0]
    size = np.bincount(block)[block] if len(block) else block
    keep = (size >= 2) & (size <= MAX_BLOCK)
    if not keep.any():
        return pd.DataFrame({"a": [], "b": []}, dtype="int64")
    sub = pd.DataFrame({"_i": frame.index[rows[keep]], "_k": block[keep]})
    pairs = sub.merge(sub, on="_k")
    pairs = pairs[pairs["_i_x"] < pairs["_i_y"]]
    return pd.DataFrame({"a": pairs["_i_x"].to_numpy(), "b": pairs["_i_y"].to_numpy()})


def duplicates(frame: pd.DataFrame, fb, source: Source) -> pd.DataFrame:
    """The same event keyed twice with small differences (blocking + Jaro-Winkler)."""
    date = f"{source.event_date}_REN"

    def upper(values: pd.Series) -> pd.Series:
        return values.str.upper()

    def initial(values: pd.Series) -> pd.Series:
        return values.str.upper().str.slice(0, 1)

    # The blocking keys as codes, each worked out once per distinct value: the delivery, the
    # date, the section's sex, the names upper-cased and their initials, the place in the
    # book (page and entry number) and the section's year.
    delivery, day, sex = _key_codes(frame["_delivery"]), _key_codes(frame[date]), _key_codes(frame["_SEX"])
    first_name, last_name = frame["FORNAVN_REN"], frame["EFTERNAVN_REN"]
    page = _key_codes(frame["KILDE_SIDE_REN"])
    entry = _key_codes(frame["KILDE_LOEBE_NR_REN"].fillna("").astype(str))
    entry[entry < 0] = len(entry)  # an empty entry number still makes a place ("12/")
    place = np.where(page >= 0, page * (len(entry) + 1) + entry, -1)
    # Blocks: the date, one name exactly and the other's initial (misspellings rarely
    # touch the first letter), or the same place in the book (the date may be misread).
    blocks = [[delivery, day, sex, _derived_codes(last_name, upper), _derived_codes(first_name, initial)],
              [delivery, day, sex, _derived_codes(first_name, upper), _derived_codes(last_name, initial)],
              [delivery, place, _key_codes(frame["_YEAR"]), sex]]
    pairs = pd.concat([_candidate_pairs(frame, b) for b in blocks], ignore_index=True).drop_duplicates()
    del blocks
    if not len(pairs):
        return pd.DataFrame()
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    # The person's own names, and the names of the people beside them (parents, spouse).
    name_cols = list(source.person_names) + list(source.relation_names)
    involved = frame.loc[np.union1d(a, b), [c for c in name_cols if c in frame]]
    child = _text(involved, list(source.person_names))
    parents = _text(involved, list(source.relation_names))
    first = frame.loc[involved.index, "FORNAVN_REN"].fillna("").str.upper()
    jw = JaroWinkler.normalized_similarity
    name_sim = process.cpdist(child.loc[a].tolist(), child.loc[b].tolist(), scorer=jw, workers=1)
    first_sim = process.cpdist(first.loc[a].tolist(), first.loc[b].tolist(), scorer=jw, workers=1)
    parent_sim = process.cpdist(parents.loc[a].tolist(), parents.loc[b].tolist(), scorer=jw, workers=1)
    dates = frame.loc[involved.index, date].fillna("")
    date_a, date_b = dates.loc[a].to_numpy(dtype=object), dates.loc[b].to_numpy(dtype=object)
    same_date = (date_a == date_b) & (date_a != "")
    # Two records without parents have a parent similarity of 1 (two empty texts are alike).
    dup = ((name_sim >= DUPLICATE_NAME_SIMILARITY) & (first_sim >= DUPLICATE_FIRST_NAME_SIMILARITY)
           & (parent_sim >= DUPLICATE_PARENT_SIMILARITY) & same_date)
    if not dup.any():
        return pd.DataFrame()
    a, b = a[dup], b[dup]
    sim = np.round((name_sim[dup] + parent_sim[dup]) / 2, 3)
    idx = pd.Index(b)
    msg = pd.Series([f"same {source.record_noun} as line {la} (LOEBE_NR {na}), similarity {s:.2f}"
                     for la, na, s in zip(frame.loc[a, "_line"], frame.loc[a, "LOEBE_NR"], sim)], index=idx)
    fb.at(idx, "DUPLICATE_RECORD", msg, None)
    return pd.DataFrame({"entry_number": frame.loc[a, "_delivery"].to_numpy(), "file": frame.loc[a, "_file"].to_numpy(),
                         "row_a": a, "row_b": b, "line_a": frame.loc[a, "_line"].to_numpy(),
                         "line_b": frame.loc[b, "_line"].to_numpy(), "similarity": sim})


def event_date_order(frame: pd.DataFrame, fb, source: Source, codes: Codes | None = None) -> None:
    """Within a section the events are entered as they happened, so their dates rise.

    Only the children numbered in the section count (a child born elsewhere, entry 0 or
    24a, may be registered late). Like page numbers, the row that stands out from both
    neighbours is blamed: one date keyed too late must not flag every row after it.
    """
    dt_col = f"_{source.event_date}_DT"
    if dt_col not in frame or "KILDE_LOEBE_NR_TAL" not in frame:
        return
    keys = ["_delivery", "_BOOK", "_YEAR", "_SEX"]
    numbered = ((frame["KILDE_LOEBE_NR_TAL"] > 0).fillna(False)
                & (frame["KILDE_LOEBE_NR_BOGSTAV"].fillna("") == "") & frame[dt_col].notna())
    rows = np.flatnonzero((numbered & frame["_YEAR"].notna() & frame["_SEX"].notna()).to_numpy(dtype=bool))
    if not len(rows):
        return
    section = _group_key(frame, keys, rows, codes)
    cur = frame[dt_col].iloc[rows]
    grp = cur.groupby(section, sort=False)
    prev, nxt = grp.shift(), grp.shift(-1)
    back = (cur < prev).fillna(False)
    prev_is_spike = back & (prev > nxt).fillna(False)
    prev_index = pd.Series(cur.index, index=cur.index).groupby(section, sort=False).shift()
    blame = set(cur.index[(back & ~prev_is_spike).to_numpy(dtype=bool)])
    blame |= {int(i) for i in prev_index[prev_is_spike.to_numpy(dtype=bool)].dropna()}
    if not blame:
        return
    idx = pd.Index(sorted(blame))
    before = prev.reindex(idx).dt.strftime("%Y-%m-%d").fillna("?")
    after = nxt.reindex(idx).dt.strftime("%Y-%m-%d").fillna("?")
    msg = ("date " + cur.reindex(idx).dt.strftime("%Y-%m-%d") + " out of order between " + before + " and "
           + after + " " + _section_label(frame, idx))
    fb.at(idx, "DATE_ORDER", msg, source.event_date)


def run(frame: pd.DataFrame, source: Source, fb, options: dict) -> dict:
    """The set rules of ``source``: church books (KBF, KBD) share the book rules below;
    censuses have households instead (``validators.ft_rules``)."""
    if source.code == "FT":
        from validators import ft_rules

        return ft_rules.set_rules(frame, source, fb, options)
    if source.code not in ("KBF", "KBD"):
        return {}
    add_sections(frame, source)
    codes: Codes = {}  # the key columns as codes, made once for the rules below (none changes them)
    running_numbers(frame, fb, codes)
    gaps = entry_numbers(frame, fb, codes)
    nonstandard_suggestions(frame, fb)
    pages(frame, fb, options, codes)
    event_date_order(frame, fb, source, codes)
    dups = duplicates(frame, fb, source)
    return {"gaps": gaps, "duplicates": dups}
