"""`mgr-ingest names suggest` learns from the records: two spellings written for one person
(a child in the births and again in the census, the mother on her children's entries) are
proposed as one name, with the families as evidence; twins, a widower's two wives and
names that differ only in their ending are never joined by it."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ft_row, kbd_row, kbf_row, write_delivery

from ingest.cli import main
from validators.names import build_name_database
from validators.names.families import PAIR_COLUMNS, family_pairs
from validators.sources import FT, KBD


def _births(folder):
    rows = [
        # the child the census writes Kirstine
        kbf_row(1, 1, FOEDSELSDATO="19210304", KOEN="K", FORNAVN="Kjerstine", EFTERNAVN="Holm",
                FADERS_FORNAVN="Jens", FADERS_EFTERNAVN="Holm", MODERS_FORNAVN="Ane", MODERS_EFTERNAVN="Holm"),
        # twins: the census's Hanns could be either
        kbf_row(2, 2, FOEDSELSDATO="19210510", KOEN="M", FORNAVN="Hans", EFTERNAVN="Berg",
                FADERS_FORNAVN="Ole", FADERS_EFTERNAVN="Berg", MODERS_FORNAVN="Maren", MODERS_EFTERNAVN="Berg"),
        kbf_row(3, 3, FOEDSELSDATO="19210510", KOEN="M", FORNAVN="Jens", EFTERNAVN="Berg",
                FADERS_FORNAVN="Ole", FADERS_EFTERNAVN="Berg", MODERS_FORNAVN="Maren", MODERS_EFTERNAVN="Berg"),
        # one mother, two spellings on her children's entries
        kbf_row(4, 4, FOEDSELSDATO="19210601", KOEN="M", FORNAVN="Anders", EFTERNAVN="Lund",
                FADERS_FORNAVN="Peder", FADERS_EFTERNAVN="Lund", MODERS_FORNAVN="Mette", MODERS_EFTERNAVN="Lund"),
        kbf_row(5, 5, FOEDSELSDATO="19230702", KOEN="K", FORNAVN="Ellen", EFTERNAVN="Lund",
                FADERS_FORNAVN="Peder", FADERS_EFTERNAVN="Lund", MODERS_FORNAVN="Methe", MODERS_EFTERNAVN="Lund"),
        # a widower's children by two wives
        kbf_row(6, 6, FOEDSELSDATO="19210801", KOEN="M", FORNAVN="Poul", EFTERNAVN="Krog",
                FADERS_FORNAVN="Niels", FADERS_EFTERNAVN="Krog", MODERS_FORNAVN="Ane", MODERS_EFTERNAVN="Krog"),
        kbf_row(7, 7, FOEDSELSDATO="19240901", KOEN="M", FORNAVN="Erik", EFTERNAVN="Krog",
                FADERS_FORNAVN="Niels", FADERS_EFTERNAVN="Krog", MODERS_FORNAVN="Karen", MODERS_EFTERNAVN="Krog"),
        # the census writes Kristina for the book's Kristine: related names, kept apart
        kbf_row(8, 8, FOEDSELSDATO="19211011", KOEN="K", FORNAVN="Kristine", EFTERNAVN="Dahl",
                FADERS_FORNAVN="Carl", FADERS_EFTERNAVN="Dahl", MODERS_FORNAVN="Olga", MODERS_EFTERNAVN="Dahl"),
    ]
    write_delivery(folder, rows, entry="K5001")


def _census(folder):
    people = []
    for household, (father, mother, child, sex, born, surname) in enumerate((
            ("Jens", "Ane", "Kirstine", "K", "19210304", "Holm"),
            ("Ole", "Maren", "Hanns", "M", "19210510", "Berg"),
            ("Carl", "Olga", "Kristina", "K", "19211011", "Dahl")), start=1):
        for position, first, s, b in (("Husfader", father, "M", "18900101"), ("Husmoder", mother, "K", "18920101"),
                                      ("Barn", child, sex, born)):
            people.append(ft_row(len(people) + 1, position, SKEMA_NR=str(household), FAMILIE_LOEBE_NR=str(household),
                                 EJENDOMMENS_MATR_NR=f"{household}a", FORNAVN=first, EFTERNAVN=surname, KOEN=s,
                                 FOEDSELSDAG=b, FOEDESTED="Vejby" if position == "Barn" else "",
                                 AEGTESKABELIG_STILLING="Gift" if position != "Barn" else "Ugift"))
    write_delivery(folder, people, entry="K3801", source=FT)


def _groups(out: pd.DataFrame) -> list[set[str]]:
    return [set(g["variant"]) for _, g in out.groupby("group")]


def test_spellings_written_for_one_person_are_proposed_with_their_families(tmp_path):
    _births(tmp_path / "kbf")
    _census(tmp_path / "ft")
    out_csv = tmp_path / "groups.csv"
    assert main(["names", "suggest", str(tmp_path / "kbf"), str(tmp_path / "ft"), "--min-count", "1",
                 "--out", str(out_csv)]) == 0
    out = pd.read_csv(out_csv, sep=";", dtype=str, keep_default_na=False)
    groups = _groups(out)
    assert {"KIRSTINE", "KJERSTINE"} in groups  # the census child and the book's child
    assert {"METHE", "METTE"} in groups  # the mother on her two children's entries
    row = out[out["variant"] == "METHE"].iloc[0]
    assert int(row["families"]) == 1 and row["family_examples"] == "K5001:5=K5001:4"  # the two entries
    row = out[out["variant"] == "KJERSTINE"].iloc[0]
    assert int(row["families"]) == 1 and row["family_examples"] == "K5001:1=K3801:3"
    # twins: no telling which the census lists (Hanns joins Hans by its sound alone, no family)
    assert out.loc[out["variant"] == "HANNS", "families"].astype(int).tolist() == [0]
    assert not any({"JENS", "HANNS"} <= g for g in groups)
    assert not any({"ANE", "KAREN"} <= g for g in groups)  # a widower's two wives
    assert not any({"KRISTINE", "KRISTINA"} <= g for g in groups)  # related names, for a person to merge


def test_a_pair_needs_the_families_asked_for(tmp_path):
    _births(tmp_path / "kbf")
    _census(tmp_path / "ft")
    out_csv = tmp_path / "groups.csv"
    assert main(["names", "suggest", str(tmp_path / "kbf"), str(tmp_path / "ft"), "--min-count", "1",
                 "--family-min", "2", "--out", str(out_csv)]) == 0
    out = pd.read_csv(out_csv, sep=";", dtype=str, keep_default_na=False)
    assert {"KIRSTINE", "KJERSTINE"} not in _groups(out)  # seen in one family only


def _child_born_and_dead(tmp_path, born_as: str, died_as: str, father_in_deaths: str = "Jens") -> None:
    """A girl in the births (K5001) and again in the deaths (K2750), her own name and her
    father's written as given."""
    births = [kbf_row(1, 1, FOEDSELSDATO="19210304", KOEN="K", FORNAVN=born_as, EFTERNAVN="Holm",
                      FADERS_FORNAVN="Jens", FADERS_EFTERNAVN="Holm", MODERS_FORNAVN="Ane", MODERS_EFTERNAVN="Holm")]
    write_delivery(tmp_path / "kbf", births, entry="K5001")
    deaths = [kbd_row(1, 1, DOEDSDATO="19220105", BEGRAVELSESDAG="19220112", FOEDSELSDATO="19210304", ALDER="0",
                      CIVILSTAND="Ugift", KOEN="K", FORNAVN=died_as, EFTERNAVN="Holm",
                      FADERS_NAVN=f"{father_in_deaths} Holm", MODERS_NAVN="Ane Holm")]
    write_delivery(tmp_path / "kbd", deaths, entry="K2750", source=KBD)


def test_a_child_found_again_in_the_death_book_joins_its_two_spellings(tmp_path):
    _child_born_and_dead(tmp_path, "Kjerstine", "Kirstine")
    out_csv = tmp_path / "groups.csv"
    assert main(["names", "suggest", str(tmp_path / "kbf"), str(tmp_path / "kbd"), "--min-count", "1",
                 "--out", str(out_csv)]) == 0
    out = pd.read_csv(out_csv, sep=";", dtype=str, keep_default_na=False)
    assert {"KIRSTINE", "KJERSTINE"} in _groups(out)
    row = out[out["variant"] == "KJERSTINE"].iloc[0]
    assert int(row["families"]) == 1 and row["family_examples"] == "K5001:1=K2750:1"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_written_tables_give_the_same_groups_as_the_deliveries(tmp_path, fmt):
    _births(tmp_path / "kbf")
    _census(tmp_path / "ft")
    out = tmp_path / "clean"
    assert main(["clean", str(tmp_path / "kbf"), str(tmp_path / "ft"), "--out", str(out), "--format", fmt]) in (0, 1)
    # the children's table first: the tables named after it are read too
    tables = [out / f"ft_children.{fmt}", out / f"kbf.{fmt}", out / f"ft.{fmt}"]
    assert all(t.is_file() for t in tables), sorted(p.name for p in out.iterdir())
    from_tables, from_deliveries = tmp_path / "t.csv", tmp_path / "d.csv"
    assert main(["names", "suggest", *map(str, tables), "--min-count", "1", "--out", str(from_tables)]) == 0
    assert main(["names", "suggest", str(tmp_path / "kbf"), str(tmp_path / "ft"), "--min-count", "1",
                 "--out", str(from_deliveries)]) == 0
    groups = _groups(pd.read_csv(from_tables, sep=";", dtype=str, keep_default_na=False))
    assert {"KIRSTINE", "KJERSTINE"} in groups and {"METHE", "METTE"} in groups
    assert sorted(map(sorted, groups)) == sorted(
        map(sorted, _groups(pd.read_csv(from_deliveries, sep=";", dtype=str, keep_default_na=False))))
    # the same evidence too: every count and every family example
    assert from_tables.read_text(encoding="utf-8") == from_deliveries.read_text(encoding="utf-8")


def test_a_spelling_in_several_family_pairs_counts_all_their_families():
    from validators.names import build_name_database, suggest_name_groups

    families = pd.DataFrame([
        {"kind": "fornavn", "spelling_a": "KIRSTINE", "spelling_b": "KJERSTINE", "families": 2,
         "evidence": "census child", "examples": "K5001:1=K3801:3 K5001:7=K3801:9"},
        {"kind": "fornavn", "spelling_a": "KERSTINE", "spelling_b": "KIRSTINE", "families": 1,
         "evidence": "siblings' mother", "examples": "K5001:4=K5001:5"}])
    out = suggest_name_groups({"Kirstine": 9, "Kjerstine": 3, "Kerstine": 2}, build_name_database([]),
                              families=families).set_index("variant")
    assert out["families"].astype(int).to_dict() == {"KIRSTINE": 3, "KJERSTINE": 2, "KERSTINE": 1}
    assert out.at["KIRSTINE", "family_examples"].split() == [
        "K5001:1=K3801:3", "K5001:7=K3801:9", "K5001:4=K5001:5"]


def test_a_father_spelled_two_ways_in_the_births_and_the_deaths_is_a_pair_with_its_evidence(tmp_path):
    from ingest.pipeline import run_pipeline
    from validators.names.families import family_pairs

    _child_born_and_dead(tmp_path, "Kirstine", "Kirstine", father_in_deaths="Jenns")
    result = run_pipeline([tmp_path / "kbf", tmp_path / "kbd"], keep_clean=True)
    pairs = family_pairs({s: pd.concat(result.clean[s], ignore_index=True) for s in ("KBF", "KBD")})
    father = pairs[pairs["evidence"].str.contains("death father")]
    assert [({r.spelling_a, r.spelling_b}, int(r.families), r.examples) for r in father.itertuples()] == [
        ({"JENS", "JENNS"}, 1, "K5001:1=K2750:1")]


def test_family_pairs_from_small_tables_what_joins_and_what_does_not():
    """Siblings' mother Ane/Anne (the father's second wife Dorthea is no spelling of hers);
    Kirstine found again as Kjerstine in two census households; Carl found again as Karl
    in a census and in the deaths; twins of one name and day pair with nobody; Ellen/Elen,
    whose parents are written otherwise too, is not known to be one child. A census child
    without a mother's name still pairs by its father (tables built by hand, whose missing
    names a merge turns into NaN, raised a TypeError here)."""
    db = build_name_database([])

    def birth(entry, n, born, sex, first, last, father, mother, parents_last="Jensen"):
        return {"INDTASTNINGSNUMMER": entry, "LOEBE_NR": n, "FOEDSELSDATO_ISO": born, "KOEN_REN": sex,
                "FORNAVN": first, "EFTERNAVN_REN": last, "FADERS_FORNAVN": father,
                "FADERS_EFTERNAVN": parents_last, "MODERS_FORNAVN": mother, "MODERS_EFTERNAVN": "Hansen"}

    births = pd.DataFrame([
        birth("K1", 1, "1921-03-01", "K", "Kirstine", "Jensen", "Niels", "Ane"),
        birth("K1", 2, "1922-05-01", "M", "Hans", "Jensen", "Niels", "Anne"),
        birth("K1", 3, "1923-07-01", "K", "Marie", "Jensen", "Niels", "Dorthea"),
        birth("K1", 4, "1921-04-02", "M", "Peter", "Holm", "Jens", "Maren", "Holm"),
        birth("K1", 5, "1921-04-02", "M", "Povl", "Holm", "Jens", "Maren", "Holm"),
        birth("K1", 6, "1921-06-03", "M", "Carl", "Bech", "Søren", "Karen", "Bech"),
        birth("K1", 7, "1921-06-09", "K", "Ellen", "Krog", "Ole", "Else", "Krog"),
        birth("K2", 1, "1925-01-01", "K", "Kirstine", "Larsen", "Jens", "Ane", "Larsen")])
    children = pd.DataFrame({
        "INDTASTNINGSNUMMER": ["C1"] * 5, "BARN_LOEBE_NR": [10, 11, 12, 13, 14],
        "BARN_FOEDSELSDAG_ISO": ["1921-03-01", "1921-04-02", "1921-06-09", "1925-01-01", "1921-06-03"],
        "BARN_KOEN": ["k", "M", "K", "K", "M"], "BARN_EFTERNAVN_UDLEDT": ["Jensen", "Holm", "Krog", "Larsen", "Bech"],
        "BARN_FORNAVN": ["Kjerstine", "Peder", "Elen", "Kjerstine", "Karl"],
        "FAR_FORNAVN": ["Niels", "Jens", "Oluf", "Jens", "Søren"], "MOR_FORNAVN": ["Ane", "Maren", "Elsa", None, None]})
    deaths = pd.DataFrame({"INDTASTNINGSNUMMER": ["D1"], "LOEBE_NR": [5], "FOEDSELSDATO_ISO": ["1921-06-03"],
                           "KOEN_REN": ["M"], "EFTERNAVN_REN": ["Bech"], "FORNAVN": ["Karl"],
                           "FADERS_NAVN": ["Søren Bech"], "MODERS_NAVN": [None]})
    out = family_pairs({"KBF": births, "FT_CHILDREN": children, "KBD": deaths}, db)
    assert out.to_dict("records") == [
        {"kind": "fornavn", "spelling_a": "CARL", "spelling_b": "KARL", "families": 2,
         "evidence": "census child|death child", "examples": "K1:6=C1:14 K1:6=D1:5"},
        {"kind": "fornavn", "spelling_a": "KIRSTINE", "spelling_b": "KJERSTINE", "families": 2,
         "evidence": "census child", "examples": "K1:1=C1:10 K2:1=C1:13"},
        {"kind": "fornavn", "spelling_a": "ANE", "spelling_b": "ANNE", "families": 1, "evidence": "siblings' mother",
         "examples": "K1:1=K1:2"}]
    assert family_pairs({"KBF": births.iloc[:0]}, db).columns.tolist() == PAIR_COLUMNS


def test_a_widower_s_daughter_in_the_census_pairs_her_names_through_her_father(tmp_path):
    """The census lists a widower and his daughter, no mother: her record has no mother's
    name, her birth has one. The father's name agrees, so her two spellings are one name."""
    births = [kbf_row(1, 1, FOEDSELSDATO="19210304", KOEN="K", FORNAVN="Kjerstine", EFTERNAVN="Holm",
                      FADERS_FORNAVN="Jens", FADERS_EFTERNAVN="Holm", MODERS_FORNAVN="Ane", MODERS_EFTERNAVN="Holm")]
    write_delivery(tmp_path / "kbf", births, entry="K5001")
    census = [ft_row(1, "Husfader", FORNAVN="Jens", EFTERNAVN="Holm", KOEN="M", FOEDSELSDAG="18900101",
                     AEGTESKABELIG_STILLING="Enkemand"),
              ft_row(2, "Datter", FORNAVN="Kirstine", EFTERNAVN="Holm", KOEN="K", FOEDSELSDAG="19210304")]
    write_delivery(tmp_path / "ft", census, entry="K3801", source=FT, meta={"FRA_AAR": "1930", "TIL_AAR": "1930"})
    out_csv = tmp_path / "groups.csv"
    assert main(["names", "suggest", str(tmp_path / "kbf"), str(tmp_path / "ft"), "--min-count", "1",
                 "--out", str(out_csv)]) == 0
    out = pd.read_csv(out_csv, sep=";", dtype=str, keep_default_na=False)
    assert out.loc[out["variant"].isin(["KIRSTINE", "KJERSTINE"]), "family_examples"].tolist() == [
        "K5001:1=K3801:2"] * 2
