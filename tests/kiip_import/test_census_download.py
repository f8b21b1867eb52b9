"""The real census downloads of Vejby parish (FT-1880, FT-1890, FT-1901) read as FT
deliveries: the importer causes no error, every household gets a number, every person a
role or a ROLE_UNKNOWN finding, and children get the parents the household rules find.

The files live in ../shared/realdata (never in this repository); without them the tests
are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import SUMMARY_LINES

from ingest.pipeline import run_pipeline
from validators.catalogue import CATALOGUE, Scope

REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "ddd-census-vejby"
FILES = {"C6987.csv": ("C6987", 1238, 1880), "C5799.csv": ("C5799", 1115, 1890), "D7013.csv": ("D7013", 1119, 1901)}
# Codes that would mean the importer, not the transcription, is at fault.
IMPORTER_CODES = {c for c, code in CATALOGUE.items() if code.scope is Scope.DELIVERY} | {
    "ENTRY_NUMBER_FORMAT", "LOEBE_NR_INVALID", "LOEBE_NR_SEQUENCE", "KILDE_INVALID", "REQUIRED_MISSING"}
MIN_BOTH_PARENTS = 0.70

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real census files not found at {REAL}")


@pytest.fixture(scope="module")
def real():
    result = run_pipeline([REAL], keep_clean=True)
    table = pd.concat(result.clean["FT"], ignore_index=True)
    children = pd.concat(result.tables["ft_children"], ignore_index=True)
    return result, table, children, result.findings_json()["findings"]


def test_all_three_files_are_ft_deliveries(real):
    result, table, _, _ = real
    got = {d.files[0]["name"]: (d.entry_number, d.rows, d.source) for d in result.deliveries}
    assert got == {f: (entry, rows, "FT") for f, (entry, rows, _) in FILES.items()}
    years = table.groupby("KILDEFIL")["TAELLINGSAAR_REN"].unique().map(list).to_dict()
    assert years == {f: [year] for f, (_, _, year) in FILES.items()}


def test_the_importer_causes_no_error(real):
    _, _, _, findings = real
    own = [(f["file"], f["code"], f["message"]) for f in findings
           if f["code"] in IMPORTER_CODES and f["severity"] == "error"]
    assert own == []
    assert not [f for f in findings if f["code"] in ("HEADER_UNKNOWN_COLUMN", "HEADER_DUPLICATE_COLUMN")]


def test_the_impossible_birth_dates_are_reported(real):
    _, _, _, findings = real
    invalid = {(f["file"], f["line"]) for f in findings if f["code"] == "DATE_INVALID"}
    assert ("D7013.csv", 248) in invalid  # keyed 20130000: "the date is made up, only 1856 is written"


def test_every_household_gets_a_number(real):
    _, table, _, _ = real
    assert table["HUSSTAND_ID"].notna().all()
    for _, numbers in table.groupby("KILDEFIL")["HUSSTAND_NR"]:
        assert numbers.is_monotonic_increasing and numbers.iloc[0] == 1
        assert set(numbers) == set(range(1, numbers.max() + 1))


def test_every_person_has_a_role_or_a_role_unknown_finding(real):
    _, table, _, findings = real
    flagged = {(f["file"], f["line"]) for f in findings if f["code"] == "ROLE_UNKNOWN"}
    unplaced = table[table["STILLING_KODE"].isna()]
    missing = [(r.KILDEFIL, r.LINJE) for r in unplaced.itertuples() if (r.KILDEFIL, r.LINJE) not in flagged]
    assert missing == []
    assert len(unplaced) < 0.05 * len(table)


def test_children_without_parents_are_reported(real):
    _, table, children, findings = real
    reported = {f["message"].split()[1].rstrip(":") for f in findings
                if f["code"] in ("HOUSEHOLD_UNRESOLVED", "HOUSEHOLD_MANUAL")}
    orphans = children[children["FAR_LOEBE_NR"].isna() & children["MOR_LOEBE_NR"].isna()]
    assert set(orphans["HUSSTAND_ID"]) <= reported
    resolved = children[children["MOR_LOEBE_NR"].notna() | children["FAR_LOEBE_NR"].notna()]
    assert resolved["FORAELDRE_REGEL"].isin(
        ["gift_par", "gift_husfader_og_husmoder", "eneste_husmoder", "eneste_husfader", "yngre_gift_par"]
        + [r + ",aldersforskel" for r in ("gift_par", "gift_husfader_og_husmoder")]).all()


def test_known_families_of_the_real_files(real):
    _, table, children, findings = real
    kids = children.set_index(["KILDEFIL", "BARN_LOEBE_NR"])
    # FT-1901: a widowed Husmoder's son and the young couple's daughter in one household.
    assert tuple(kids.loc[("D7013.csv", 7), ["FAR_LOEBE_NR", "MOR_LOEBE_NR"]]) == (5, 6)
    assert kids.loc[("D7013.csv", 4), ["FAR_LOEBE_NR", "MOR_LOEBE_NR"]].isna().all()  # 32-year-old "son" of 32/24
    # FT-1880: children keyed without a position, the wife under her own surname (rule 3).
    for child in (910, 911, 912, 913):
        assert tuple(kids.loc[("C6987.csv", child), ["FAR_LOEBE_NR", "MOR_LOEBE_NR"]]) == (908, 909)
    # FT-1880: a wife ("Hans Hustru") keyed as male.
    assert ("C6987.csv", 21, "KOEN") in {(f["file"], f["line"], f["field"]) for f in findings
                                         if f["code"] == "ROLE_SEX_MISMATCH"}


def test_parents_are_likely_not_just_possible(real):
    _, table, children, _ = real
    kids = children.set_index(["KILDEFIL", "BARN_LOEBE_NR"])
    # FT-1890: a 77-year-old Husfader and his 75-year-old wife are not the parents of the
    # 2-year-old and the infant; the married son-in-law (37) and daughter (26) are.
    for child in (490, 491):
        row = kids.loc[("C5799.csv", child)]
        assert (row["FAR_LOEBE_NR"], row["MOR_LOEBE_NR"], row["FORAELDRE_REGEL"]) == (488, 489, "yngre_gift_par")
    # The same age limits for both parents: none 55 or more years older than the child.
    for parent in ("FAR", "MOR"):
        gap = children[f"{parent}_ALDER_BEREGNET"] - children["BARN_ALDER_BEREGNET"]
        assert not (gap > 55).any(), children.loc[gap > 55, ["KILDEFIL", "BARN_LOEBE_NR", f"{parent}_LOEBE_NR"]]
        assert not (gap < 14).any()


def test_share_of_children_with_both_parents(real):
    _, _, children, _ = real
    shares = {}
    for name, group in children.groupby("KILDEFIL"):
        both = (group["FAR_LOEBE_NR"].notna() & group["MOR_LOEBE_NR"].notna()).sum()
        either = (group["FAR_LOEBE_NR"].notna() | group["MOR_LOEBE_NR"].notna()).sum()
        shares[name] = (both / len(group), both, either, len(group))
    text = "; ".join(f"{name} (FT-{FILES[name][2]}): {share:.1%} of {n} children with both parents "
                     f"({both}), {either / n:.1%} with at least one"
                     for name, (share, both, either, n) in sorted(shares.items(), key=lambda s: FILES[s[0]][2]))
    print("\n" + text)
    SUMMARY_LINES.append("census children with both parents resolved: " + text)
    assert set(shares) == set(FILES), text
    assert all(share >= MIN_BOTH_PARENTS for share, *_ in shares.values()), text
