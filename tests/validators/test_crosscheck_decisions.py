"""A reviewer's decisions on cross-source findings, and the columns the check writes back,
called in-process on a handful of hand-made records (the population tests measure the
matching; these pin down what each decision and column does)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from validators.crosscheck import (
    SAME_PERSON,
    TWO_PERSONS,
    CrossResult,
    add_death_copies,
    add_died_before_cpr,
    apply_decisions,
    cross_key,
    crosscheck_files,
)


def _records(entry: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"INDTASTNINGSNUMMER": [entry] * n, "LOEBE_NR": list(range(1, n + 1)),
                         "TIL_LINKAGE": [True] * n})


def _finding(code: str, source: str, entry: str, loebe: int, other_entry: str, other_loebe: int | None) -> dict:
    return {"code": code, "source": source, "entry_number": entry, "loebe_nr": loebe,
            "other": {"source": source, "entry_number": other_entry, "loebe_nr": other_loebe}}


def _copies(pairs: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame({"b_row": np.array(list(pairs), dtype=np.int64), "KOPI_AF": list(pairs.values())})


def _result(findings, copies, death_copies) -> CrossResult:
    return CrossResult(findings=findings, died_before_cpr=pd.DataFrame(columns=["b_row"]), pairs=pd.DataFrame(),
                       copies=copies, death_copies=death_copies)


def test_decisions_undo_a_copy_make_a_copy_and_leave_the_rest():
    kbf, kbd = _records("K2", 4), _records("K7", 3)
    undecided = _finding("DUPLICATE_ACROSS_DELIVERIES", "KBF", "K2", 1, "K1", 1)
    two = _finding("DUPLICATE_ACROSS_DELIVERIES", "KBF", "K2", 2, "K1", 2)
    twice = _finding("DUPLICATE_ACROSS_DELIVERIES", "KBF", "K2", 3, "K1", 3)  # no copy (any more): nothing to undo
    same = _finding("CROSSCHECK_REVIEW", "KBF", "K2", 4, "K1", 9)
    death_same = _finding("CROSSCHECK_REVIEW", "KBD", "K7", 2, "K6", 5)
    death_two = _finding("DUPLICATE_DEATH_ACROSS_DELIVERIES", "KBD", "K7", 3, "K6", 8)
    result = _result([undecided, two, twice, same, death_same, death_two], _copies({0: "K1:1", 1: "K1:2"}),
                     _copies({0: "K6:1", 2: "K6:8"}))
    decisions = {cross_key(two): TWO_PERSONS, cross_key(twice): TWO_PERSONS, cross_key(same): SAME_PERSON,
                 cross_key(death_same): SAME_PERSON, cross_key(death_two): TWO_PERSONS}
    out = apply_decisions(result, kbf, kbd, decisions)
    # two persons: row 1 is no copy; the undecided row 0 stays one; review said one person: row 3 becomes one
    assert dict(zip(out.copies["b_row"], out.copies["KOPI_AF"])) == {0: "K1:1", 3: "K1:9"}
    # the deaths: the undecided copy kept, the one decided the same person added, the two persons undone
    assert dict(zip(out.death_copies["b_row"], out.death_copies["KOPI_AF"])) == {0: "K6:1", 1: "K6:5"}
    assert out.findings == result.findings  # decided findings stay, out of the queue
    # a decision for one code does nothing to a finding of another
    wrong_code = apply_decisions(result, kbf, kbd, {cross_key(same): TWO_PERSONS, cross_key(two): SAME_PERSON})
    assert dict(zip(wrong_code.copies["b_row"], wrong_code.copies["KOPI_AF"])) == {0: "K1:1", 1: "K1:2"}


def test_copies_already_in_the_table_are_kept_and_the_copy_leaves_the_linkage():
    kbf = _records("K2", 4).assign(KOPI_AF=pd.array([None, "K2:1", "", ""], dtype="string"))
    out = add_died_before_cpr(kbf, _result([], _copies({2: "K1:7"}), None))
    assert out["KOPI_AF"].tolist() == [pd.NA, "K2:1", "K1:7", pd.NA]  # an empty cell is no copy
    assert out["TIL_LINKAGE"].tolist() == [True, True, False, True]
    kbd = _records("K7", 2).assign(KOPI_AF=pd.array(["K7:2", None], dtype="string"))
    deaths = add_death_copies(kbd, _result([], None, _copies({1: "K6:4"})))
    assert deaths["KOPI_AF"].tolist() == ["K7:2", "K6:4"]
    assert deaths["TIL_LINKAGE"].tolist() == [True, False]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_check_over_written_tables_twice_keeps_copies_and_the_linkage(tmp_path, suffix):
    # K5002 holds one child of K5001's again (a copy) and a record already out of the
    # linkage (a reviewer's decision). The check is run twice over the same tables, as after
    # a later delivery: the copy stays marked, and nothing out of the linkage comes back in.
    def birth(entry, loebe, first, born, linkage=True):
        return {"INDTASTNINGSNUMMER": entry, "LOEBE_NR": loebe, "LINJE": loebe + 1, "KILDEFIL": f"{entry}.csv",
                "KOEN_REN": "K", "FOEDSELSDATO_NOEGLE": born, "FORNAVN_GRUNDNAVN": first,
                "EFTERNAVN_GRUNDNAVN": "HANSEN", "FADERS_FORNAVN_GRUNDNAVN": "JENS",
                "MODERS_FORNAVN_GRUNDNAVN": "ANE", "FOEDESTED_SOGNEKODE": "S001", "TIL_LINKAGE": linkage}

    kbf = pd.DataFrame([birth("K5001", 1, "ELLEN", "1925-05-04"), birth("K5001", 2, "KAREN", "1925-08-14"),
                        birth("K5001", 3, "MARIE", "1925-10-01"), birth("K5002", 1, "ELLEN", "1925-05-04"),
                        birth("K5002", 2, "INGER", "1926-11-30", linkage=False),
                        birth("K5002", 3, "GERDA", "1926-12-24")])
    kbd = pd.DataFrame([{**birth("K6001", 1, "OLE", "1880-01-01"), "FADERS_NAVN_GRUNDNAVN": "PER JENSEN",
                         "MODERS_NAVN_GRUNDNAVN": "MARIE JENSEN", "DOEDSDATO_ISO": "1926-01-02",
                         "ALDER_VED_DOED": 45}])
    kbf_path, kbd_path = tmp_path / f"kbf{suffix}", tmp_path / f"kbd{suffix}"
    for frame, path in ((kbf, kbf_path), (kbd, kbd_path)):
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, sep=";", index=False)
    for _run in range(2):
        result = crosscheck_files(kbf_path, kbd_path)
        assert [(f["code"], f["entry_number"], f["loebe_nr"]) for f in result.findings] == [
            ("DUPLICATE_ACROSS_DELIVERIES", "K5002", 1)]
        # the record it copies, with the line a reviewer finds it on
        assert {k: result.findings[0]["other"].get(k) for k in ("entry_number", "loebe_nr", "line")} == {
            "entry_number": "K5001", "loebe_nr": 1, "line": 2}
        back = (pd.read_parquet(kbf_path) if suffix == ".parquet"
                else pd.read_csv(kbf_path, sep=";", dtype={"TIL_LINKAGE": bool, "KOPI_AF": str}))
        assert back["TIL_LINKAGE"].tolist() == [True, True, True, False, False, True]
        assert back["KOPI_AF"].fillna("").tolist() == ["", "", "", "K5001:1", "", ""]
        assert back["FORNAVN_GRUNDNAVN"].tolist() == kbf["FORNAVN_GRUNDNAVN"].tolist()  # the rest untouched
