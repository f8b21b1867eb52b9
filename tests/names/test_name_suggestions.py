"""The curation aid: proposed groups of spellings, largest first, never merging different names."""

from __future__ import annotations

import pandas as pd
from conftest import kbf_row, write_delivery

from validators.curation_cli import names_main
from validators.names import (
    build_name_database,
    import_name_database,
    load_name_database,
    phonetic_key,
    suggest_name_groups,
    suggestions_as_database_rows,
)
from validators.names.suggest import SUGGESTION_COLUMNS

EMPTY_DB = build_name_database([])

COUNTS = {"Christian": 50, "Kristian": 40, "Aage": 30, "Åge": 20, "AAGE": 3, "Bente": 100, "Benedikte": 10,
          "Benedicte": 5, "Karen": 40, "Caren": 4, "Karin": 10, "Carl": 20, "Karl": 30, "Ellen": 7}


def _groups(frame: pd.DataFrame) -> list[set[str]]:
    return [set(g["variant"]) for _, g in frame.groupby("group", sort=True)]


def test_spelling_variants_are_grouped():
    groups = _groups(suggest_name_groups(COUNTS, EMPTY_DB))
    assert {"CHRISTIAN", "KRISTIAN"} in groups
    assert {"KARL", "CARL"} in groups
    assert {"KAREN", "CAREN"} in groups


def test_aage_and_åge_are_one_spelling_with_both_forms_shown():
    out = suggest_name_groups(COUNTS, EMPTY_DB)
    row = out.set_index("variant").loc["ÅGE"]
    assert set(row["spellings"].split("|")) == {"Aage", "Åge"}
    assert row["occurrences"] == 53


def test_bente_and_benedikte_are_never_grouped():
    for db in (EMPTY_DB, load_name_database()):
        out = suggest_name_groups(COUNTS, db, include_settled=True)
        for members in _groups(out):
            assert not {"BENTE", "BENEDIKTE"} <= members
    # Benedicte/Benedikte are one name spelled two ways: that group is proposed.
    assert {"BENEDIKTE", "BENEDICTE"} in _groups(suggest_name_groups(COUNTS, EMPTY_DB))


def test_a_bridge_spelling_does_not_join_names_kept_apart():
    # "Bendte" is close to Bente and looks like a link towards Benedikte; the relation
    # Bente/Benedikte (name_relations.csv) still keeps the two groups apart.
    counts = {"Bente": 100, "Bendte": 3, "Benedikte": 50, "Bendikte": 2}
    for members in _groups(suggest_name_groups(counts, EMPTY_DB, jw_min=0.5, typo_min=0.5)):
        assert not {"BENTE", "BENEDIKTE"} <= members


def test_established_surnames_are_not_merged():
    counts = pd.DataFrame({"spelling": ["Petersen", "Pedersen", "Christensen", "Kristensen", "Jenssen", "Jensen"],
                           "occurrences": [100, 90, 80, 70, 3, 500], "kind": "efternavn"})
    groups = _groups(suggest_name_groups(counts, load_name_database(), include_settled=True))
    for a, b in (("PETERSEN", "PEDERSEN"), ("CHRISTENSEN", "KRISTENSEN")):
        assert not any({a, b} <= g for g in groups)
    assert {"JENSEN", "JENSSEN"} in groups


def test_related_names_are_not_merged_even_without_the_database():
    groups = _groups(suggest_name_groups(COUNTS, EMPTY_DB))
    assert not any({"KAREN", "KARIN"} <= g for g in groups)


def test_groups_are_ranked_by_the_records_they_touch():
    out = suggest_name_groups(COUNTS, EMPTY_DB)
    firsts = out.groupby("group")["group_occurrences"].first()
    assert list(firsts) == sorted(firsts, reverse=True)
    assert set(out[out["group"] == 1]["variant"]) == {"CHRISTIAN", "KRISTIAN"}  # 90 records


def test_groups_the_database_already_settles_are_left_out():
    out = suggest_name_groups({"Christian": 50, "Kristian": 40, "Kristjan": 2}, load_name_database())
    assert set(out["variant"]) == {"CHRISTIAN", "KRISTIAN", "KRISTJAN"}  # shown because Kristjan is new
    assert set(out["grundnavn"]) == {"KRISTIAN"}  # the database's grundnavn is proposed
    assert suggest_name_groups({"Christian": 50, "Kristian": 40}, load_name_database()).empty


def test_accepted_suggestions_import_and_then_are_settled(tmp_path):
    out = suggest_name_groups({"Kristjan": 3, "Christian": 50, "Kristian": 40}, load_name_database())
    rows = suggestions_as_database_rows(out)
    assert rows.to_dict("records") == [{"variant": "Kristjan", "grundnavn": "Kristian", "kind": "fornavn", "sex": ""}]
    db_file = tmp_path / "names.csv"
    db_file.write_text("variant;grundnavn;kind;sex\nChristian;Kristian;fornavn;M\nKristian;Kristian;fornavn;M\n",
                       encoding="utf-8")
    accepted = tmp_path / "accepted.csv"
    rows.to_csv(accepted, sep=";", index=False)
    assert names_main(["import", str(accepted), "--db", str(db_file)]) == 0
    db = import_name_database(db_file)
    assert suggest_name_groups({"Kristjan": 3, "Christian": 50, "Kristian": 40}, db).empty


def test_phonetic_key_is_coarse_on_spelling_only():
    assert phonetic_key("CHRISTIAN") == phonetic_key("KRISTIAN")
    assert phonetic_key("SOPHIE") == phonetic_key("SOFIE")
    assert phonetic_key("BENTE") != phonetic_key("BENEDIKTE")
    assert phonetic_key("PETERSEN") != phonetic_key("PEDERSEN")


def test_names_suggest_command_on_deliveries(tmp_path, capsys):
    rows = [kbf_row(i, i) for i in range(1, 10)]
    for i, name in enumerate(["Kristjan", "Kristjan", "Kristjan", "Christian", "Kristian", "Bente", "Benedikte",
                              "Bente", "Benedikte"]):
        rows[i]["FORNAVN"] = name
    write_delivery(tmp_path / "d", rows)
    out_file = tmp_path / "curation" / "2026" / "suggestions.csv"  # folders not made yet
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "1", "--out", str(out_file)]) == 0
    assert capsys.readouterr().out.strip() == str(out_file)  # where it went
    table = pd.read_csv(out_file, sep=";")
    assert {"KRISTJAN", "KRISTIAN"} <= set(table["variant"])
    assert not ({"BENTE", "BENEDIKTE"} <= set(table["variant"]))
    assert names_main(["suggest", str(tmp_path / "d")]) == 0  # default --min-count 3
    printed = capsys.readouterr().out
    assert "KRISTJAN" in printed and "CHRISTIAN" not in printed


def test_two_common_spellings_one_letter_apart_are_not_taken_for_a_slip():
    counts = {"Johanne": 67, "Johannes": 40, "Laursen": 120, "Larsen": 100, "Johane": 1, "Larssen": 2}
    groups = _groups(suggest_name_groups(counts, EMPTY_DB))
    assert not any({"JOHANNE", "JOHANNES"} <= g for g in groups)
    assert not any({"LAURSEN", "LARSEN"} <= g for g in groups)
    assert {"JOHANNE", "JOHANE"} in groups
    assert any({"LARSEN", "LARSSEN"} <= g for g in groups)


def test_a_name_and_its_patronymic_are_not_grouped():
    groups = _groups(suggest_name_groups({"Anders": 56, "Andersen": 3, "Christian": 45, "Christiansen": 10},
                                         EMPTY_DB))
    assert not any(len(g) > 1 for g in groups)


def test_names_suggest_reads_the_database_it_is_given(tmp_path):
    """An archive that keeps its own name database (``--db``) is shown only what that
    database does not settle yet; the project's database still leaves the group open."""
    rows = [kbf_row(i, i) for i in range(1, 6)]
    for i, name in enumerate(["Kristjan", "Kristjan", "Kristjan", "Christian", "Kristian"]):
        rows[i]["FORNAVN"] = name
    write_delivery(tmp_path / "d", rows)
    own = tmp_path / "own_names.csv"
    own.write_text("variant;grundnavn;kind;sex\nChristian;Kristian;fornavn;M\nKristian;Kristian;fornavn;M\n"
                   "Kristjan;Kristian;fornavn;M\n", encoding="utf-8")
    with_project, with_own = tmp_path / "project.csv", tmp_path / "own.csv"
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "1", "--out", str(with_project)]) == 0
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "1", "--out", str(with_own),
                       "--db", str(own)]) == 0
    assert "KRISTJAN" in set(pd.read_csv(with_project, sep=";")["variant"])
    assert pd.read_csv(with_own, sep=";").empty


def test_without_the_database_the_commonest_spelling_is_proposed_as_grundnavn():
    out = suggest_name_groups({"Carl": 20, "Karl": 30}, EMPTY_DB)
    assert out[["variant", "grundnavn"]].values.tolist() == [["KARL", "KARL"], ["CARL", "KARL"]]


def test_a_group_the_database_settles_does_not_hide_the_groups_after_it():
    counts = {"Christian": 50, "Kristian": 40, "Marie": 30, "Maria": 3, "Mette": 20, "Mete": 2, "Søren": 9,
              "Sören": 2}
    shown = _groups(suggest_name_groups(counts, load_name_database()))
    assert {"CHRISTIAN", "KRISTIAN"} not in shown  # settled: the database says both are Kristian
    assert {"METTE", "METE"} in shown


def test_a_table_with_name_and_count_columns_is_read_as_first_names():
    table = pd.DataFrame({"name": ["Karl", "Carl"], "count": [30, 20]})
    out = suggest_name_groups(table, EMPTY_DB)
    assert out[["kind", "variant", "occurrences"]].values.tolist() == [["fornavn", "KARL", 30], ["fornavn", "CARL", 20]]


def test_an_import_adds_every_new_row_also_after_one_the_database_has(tmp_path, capsys):
    db_file = tmp_path / "names.csv"
    before = ("# our parish's names\nvariant;grundnavn;kind;sex\nChristian;Kristian;fornavn;M\n"
              "Kristian;Kristian;fornavn;M\n")
    db_file.write_text(before, encoding="utf-8")
    accepted = tmp_path / "accepted.csv"
    accepted.write_text("variant;grundnavn;kind;sex\nChristian;Kristian;fornavn;M\nKristjan;Kristian;fornavn;M\n"
                        "Krestian;Kristian;fornavn;M\n", encoding="utf-8")
    assert names_main(["import", str(accepted), "--db", str(db_file)]) == 0
    assert db_file.read_text(encoding="utf-8") == before + "Kristjan;Kristian;fornavn;M\nKrestian;Kristian;fornavn;M\n"
    assert capsys.readouterr().out.startswith("2 spellings added to ")


def test_names_count_reads_a_table_whose_file_name_does_not_say_its_source(tmp_path, capsys):
    from ingest.cli import main

    rows = [kbf_row(i, i) for i in range(1, 5)]
    for row in rows:
        row["FORNAVN"] = "Kristjan"
    write_delivery(tmp_path / "d", rows)
    assert main(["clean", str(tmp_path / "d"), "--out", str(tmp_path / "t")]) == 0
    table = (tmp_path / "t" / "kbf.parquet").rename(tmp_path / "t" / "births.parquet")
    capsys.readouterr()
    assert names_main(["count", str(table), "--source", "KBF", "--min-count", "1"]) == 0
    assert "KRISTJAN" in capsys.readouterr().out


def test_names_count_of_a_path_that_is_not_there_says_so(tmp_path, capsys):
    write_delivery(tmp_path / "d", [kbf_row(i, i) for i in range(1, 4)])  # beside a delivery that is there
    assert names_main(["count", str(tmp_path / "d"), str(tmp_path / "nowhere.parquet")]) == 2
    assert capsys.readouterr().err.strip() == f"mgr-ingest names: {tmp_path / 'nowhere.parquet'}: no such file or folder"


def test_counts_are_taken_in_every_form_a_curator_may_have_them():
    """The same counts as a mapping, a Series, (name, count) pairs, or a table with the
    columns of ``names count`` or of an archive's own sheet (navn/antal, name/count,
    variant/records) give the same proposal; a table's ``kind`` column is kept."""
    expected = suggest_name_groups(COUNTS, EMPTY_DB)
    pairs = list(COUNTS.items())
    forms = {"mapping": COUNTS, "series": pd.Series(COUNTS), "pairs": pairs}
    for name_col, count_col in (("spelling", "occurrences"), ("navn", "antal"), ("name", "count"),
                                ("variant", "records")):
        forms[name_col] = pd.DataFrame({name_col: [n for n, _ in pairs], count_col: [str(c) for _, c in pairs]})
    for what, counts in forms.items():
        pd.testing.assert_frame_equal(suggest_name_groups(counts, EMPTY_DB), expected, obj=what)
    surnames = pd.DataFrame({"kind": "efternavn", "spelling": ["Hansen", "Hanssen"], "occurrences": [40, 3]})
    out = suggest_name_groups(surnames, EMPTY_DB)
    assert set(out["kind"]) == {"efternavn"} and set(out["variant"]) == {"HANSEN", "HANSSEN"}
    assert dict(zip(out["variant"], out["occurrences"])) == {"HANSEN": 40, "HANSSEN": 3}
    # the keyed forms behind a spelling (``count_spellings``' forms column) are the spellings shown
    keyed = pd.DataFrame({"kind": "fornavn", "spelling": ["ÅGE"], "occurrences": [30], "forms": ["AAGE|Åge"]})
    assert suggest_name_groups(keyed, EMPTY_DB)[["variant", "spellings"]].values.tolist() == [["ÅGE", "Aage|Åge"]]


def test_names_that_differ_only_in_a_final_e_or_a_are_never_joined_without_a_person():
    from validators.names.suggest import ending_only

    assert ending_only("ANNE", "ANNA") and ending_only("KRISTINA", "KRISTINE") and ending_only("MARIE", "MARIA")
    # three letters are too short to say; other endings, other lengths and other stems are no such pair
    assert not any(ending_only(a, b) for a, b in (("ANE", "ANA"), ("KAREN", "KARIN"), ("HANNE", "JOHANNA"),
                                                  ("INGE", "ANNA"), ("HANNE", "HANNE"), ("META", "RITA")))
    out = suggest_name_groups({"Anne": 40, "Anna": 30, "Kristine": 20, "Kristina": 10}, EMPTY_DB, jw_min=0.5,
                              typo_min=0.5)
    assert out.empty or all(len(g) == 1 for g in _groups(out))


def test_one_family_that_writes_both_spellings_is_enough_by_default():
    families = pd.DataFrame([{"kind": "fornavn", "spelling_a": "INGER", "spelling_b": "INGEBORG", "families": 1,
                              "evidence": "census child", "examples": "K5001:1=K3801:3"}])
    counts = {"Inger": 20, "Ingeborg": 15}
    assert _groups(suggest_name_groups(counts, EMPTY_DB)) == []  # they do not sound alike
    assert _groups(suggest_name_groups(counts, EMPTY_DB, families=families)) == [{"INGER", "INGEBORG"}]
    assert _groups(suggest_name_groups(counts, EMPTY_DB, families=families, family_min=2)) == []


def test_the_spellings_behind_a_name_are_shown_commonest_first():
    for counts, shown in (({"Aage": 30, "Åge": 20}, "Aage|Åge"), ({"Aage": 15, "Åge": 20, "AAGE": 10}, "Aage|Åge"),
                           ({"Aage": 3, "Åge": 20, "AAGE": 4}, "Åge|Aage")):
        out = suggest_name_groups(counts, EMPTY_DB, include_settled=True)
        assert out.set_index("variant").at["ÅGE", "spellings"] == shown, counts


def test_spellings_that_sound_alike_join_at_the_similarity_asked_for_and_not_below():
    from rapidfuzz.distance import JaroWinkler

    counts = {"Karl": 30, "Carl": 20}
    exact = JaroWinkler.similarity("KARL", "CARL")
    out = suggest_name_groups(counts, EMPTY_DB, jw_min=exact)
    assert _groups(out) == [{"KARL", "CARL"}]
    # each spelling shows how close it is to the group's grundnavn (the commonest, KARL), to four places
    assert dict(zip(out["variant"], out["jw_to_grundnavn"])) == {"KARL": 1.0, "CARL": round(exact, 4)}
    assert round(exact, 4) != exact
    assert _groups(suggest_name_groups(counts, EMPTY_DB, jw_min=0.99)) == []


def test_a_slip_is_one_letter_in_a_name_of_five_or_more_with_the_same_first_letter():
    # a rare transposition of a common name of five letters is a slip
    assert _groups(suggest_name_groups({"Marie": 50, "Marei": 2}, EMPTY_DB)) == [{"MARIE", "MAREI"}]
    # the first letter is never the slip: these are two names
    assert _groups(suggest_name_groups({"Bertholine": 40, "Mertholine": 2}, EMPTY_DB)) == []
    # two common spellings one letter apart are passed over, and the rare slip after them still found
    assert {"KAREN", "KARNE"} in _groups(suggest_name_groups({"Karen": 60, "Karin": 50, "Karne": 2}, EMPTY_DB))


def test_a_slip_must_be_rare_under_five_or_a_tenth_of_the_name():
    def joined(common, rare):
        return _groups(suggest_name_groups({"Marie": common, "Marei": rare}, EMPTY_DB)) == [{"MARIE", "MAREI"}]

    assert joined(40, 4)  # under five: a slip however common the name
    assert not joined(40, 5)  # five or more and over a tenth of the name: two spellings in use
    assert joined(50, 5)  # a tenth exactly: still a slip
    # between a common name and its slip, a longer name in the list does not stop the search
    assert {"KAREN", "KARNE"} in _groups(suggest_name_groups({"Karen": 60, "Karentine": 10, "Karne": 2}, EMPTY_DB))


def test_a_slip_joins_at_the_similarity_asked_for_and_not_below():
    from rapidfuzz.distance import JaroWinkler

    counts = {"Marie": 50, "Marei": 2}
    exact = JaroWinkler.similarity("MARIE", "MAREI")
    assert _groups(suggest_name_groups(counts, EMPTY_DB, typo_min=exact)) == [{"MARIE", "MAREI"}]
    assert _groups(suggest_name_groups(counts, EMPTY_DB, typo_min=0.99)) == []


def test_a_family_pair_whose_other_spelling_was_not_counted_is_passed_over():
    families = pd.DataFrame([{"kind": "fornavn", "spelling_a": "INGER", "spelling_b": "INGERT", "families": 3,
                              "evidence": "census child", "examples": "K5001:1=K3801:3"}])
    out = suggest_name_groups({"Inger": 20, "Ingeborg": 15}, EMPTY_DB, families=families)
    assert _groups(out) == []


def test_rows_come_group_by_group_commonest_spelling_first_then_by_letter():
    out = suggest_name_groups({**COUNTS, "Carla": 5, "Karla": 5}, EMPTY_DB)
    assert out["group"].tolist() == sorted(out["group"])
    rows = list(zip(out["group"], out["occurrences"], out["variant"]))
    assert rows == sorted(rows, key=lambda r: (r[0], -r[1], r[2]))
    assert [v for g, _o, v in rows if v in ("CARLA", "KARLA")] == ["CARLA", "KARLA"]  # a tie: by letter


def test_a_spelling_shows_at_most_three_family_examples():
    examples = "K5001:1=K3801:3 K5001:7=K3801:9 K5002:2=K3802:4 K5003:5=K3803:1"
    families = pd.DataFrame([{"kind": "fornavn", "spelling_a": "INGER", "spelling_b": "INGEBORG", "families": 4,
                              "evidence": "census child", "examples": examples}])
    out = suggest_name_groups({"Inger": 20, "Ingeborg": 15}, EMPTY_DB, families=families).set_index("variant")
    assert out.at["INGER", "family_examples"] == " ".join(examples.split()[:3])


def test_a_proposal_the_database_already_holds_gives_an_empty_table_with_its_columns():
    db = build_name_database([{"variant": "Karl", "grundnavn": "Karl", "kind": "fornavn", "sex": "M"},
                              {"variant": "Carl", "grundnavn": "Karl", "kind": "fornavn", "sex": "M"}])
    rows = suggestions_as_database_rows(suggest_name_groups({"Karl": 30, "Carl": 20}, db, include_settled=True))
    assert rows.empty and list(rows.columns) == ["variant", "grundnavn", "kind", "sex"]


def test_names_count_takes_a_delivery_s_files_given_one_by_one(tmp_path, capsys):
    # a KIIP data file is a .csv too, but not a clean table: it is read as part of its delivery
    rows = [kbf_row(i, i, FORNAVN="Kristjan") for i in range(1, 4)]
    dok, data = write_delivery(tmp_path / "d", rows)
    assert names_main(["count", str(dok), str(data), "--min-count", "1"]) == 0
    assert "KRISTJAN" in capsys.readouterr().out


def test_a_table_whose_name_does_not_say_its_source_needs_the_source_option(tmp_path, capsys):
    from ingest.cli import main

    write_delivery(tmp_path / "d", [kbf_row(i, i) for i in range(1, 4)])
    assert main(["clean", str(tmp_path / "d"), "--out", str(tmp_path / "t")]) == 0
    table = (tmp_path / "t" / "kbf.parquet").rename(tmp_path / "t" / "births.parquet")
    capsys.readouterr()
    assert names_main(["count", str(table), "--min-count", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"mgr-ingest names: {table}: cannot tell the source from the file name; give --source KBF|KBD|FT")


def test_names_count_uses_the_database_it_is_given_and_leaves_out_counts_under_three(tmp_path):
    """The count is a table that may leave the secure environment: by default no spelling seen
    fewer than three times; its grundnavn column comes from the database given with --db."""
    rows = [kbf_row(i, i, FORNAVN="Kristjan" if i <= 3 else "Bodil") for i in range(1, 6)]
    write_delivery(tmp_path / "d", rows)
    db_file = tmp_path / "names.csv"
    db_file.write_text("variant;grundnavn;kind;sex\nKristjan;Kristoffer;fornavn;M\n", encoding="utf-8")
    out = tmp_path / "counts.csv"
    assert names_main(["count", str(tmp_path / "d"), "--db", str(db_file), "--out", str(out)]) == 0
    counts = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)
    given = counts[counts["kind"] == "fornavn"].set_index("spelling")
    assert "BODIL" not in given.index  # twice only
    assert given.at["KRISTJAN", "occurrences"] == "3" and given.at["KRISTJAN", "grundnavn"] == "KRISTOFFER"
    assert (counts["occurrences"].astype(int) >= 3).all()


def test_names_suggest_reads_a_table_named_otherwise_with_its_source_and_needs_records(tmp_path, capsys):
    from ingest.cli import main

    rows = [kbf_row(i, i, FORNAVN=name) for i, name in enumerate(["Kristjan", "Kristjan", "Kristian"], start=1)]
    write_delivery(tmp_path / "d", rows)
    assert main(["clean", str(tmp_path / "d"), "--out", str(tmp_path / "t")]) == 0
    table = (tmp_path / "t" / "kbf.parquet").rename(tmp_path / "t" / "births.parquet")
    out = tmp_path / "groups.csv"
    assert names_main(["suggest", str(table), "--source", "KBF", "--min-count", "1", "--out", str(out)]) == 0
    assert {"KRISTJAN", "KRISTIAN"} <= set(pd.read_csv(out, sep=";")["variant"])
    # the census children's table alone holds no spellings to count
    pd.DataFrame({"BARN_LOEBE_NR": [1]}).to_parquet(tmp_path / "t" / "ft_children.parquet")
    capsys.readouterr()
    assert names_main(["suggest", str(tmp_path / "t" / "ft_children.parquet")]) == 2
    assert capsys.readouterr().err.strip() == "mgr-ingest names: no KBF, KBD or FT records found"


def test_names_suggest_numbers_its_groups_largest_first_with_the_commonest_spelling_first(tmp_path, capsys):
    """What a curator reads: groups numbered from 1, the group with most records first, each
    row with its group's total, the commonest spelling of a group on top; printed, the first
    ``--top`` rows and a line saying how many groups there are."""
    names = ["Johanne", "Johanne", "Johane"] + ["Kristjan"] * 3 + ["Christjan"] * 2 + ["Kristjann"]
    write_delivery(tmp_path / "d", [kbf_row(i, i, FORNAVN=n) for i, n in enumerate(names, start=1)])
    out = tmp_path / "groups.csv"
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)
    assert list(table.columns[:3]) == ["group", "group_occurrences", "kind"]  # no row numbers
    assert list(table.columns) == SUGGESTION_COLUMNS  # and nothing added on the way
    assert table[["group", "group_occurrences", "variant", "grundnavn", "occurrences"]].values.tolist() == [
        ["1", "6", "KRISTJAN", "KRISTIAN", "3"], ["1", "6", "CHRISTJAN", "KRISTIAN", "2"],
        ["1", "6", "KRISTJANN", "KRISTIAN", "1"], ["2", "3", "JOHANNE", "JOHANNE", "2"],
        ["2", "3", "JOHANE", "JOHANNE", "1"]]
    assert capsys.readouterr().err == ""  # written to the file: nothing more to say
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "1", "--top", "2"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.strip().splitlines()
    assert len(lines) == 3 and lines[0].split()[:4] == ["group", "group_occurrences", "kind", "variant"]
    assert [line.split()[3] for line in lines[1:]] == ["KRISTJAN", "CHRISTJAN"]
    assert printed.err.strip() == ("2 proposed groups; largest first (accept rows into a variant;grundnavn;kind;sex "
                                   "file and run: mgr-ingest names import FILE)")
    # a count under --min-count everywhere: nothing to propose, and it says so
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "10"]) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == "(nothing)" and printed.err.startswith("0 proposed groups;")


def test_names_suggest_numbers_the_groups_by_the_rows_it_shows(tmp_path):
    """With --min-count 2 the Kristian group shows 3 records (its single ones left out) and
    the Johanne group 4: Johanne's group is the larger one shown, so it is group 1."""
    names = ["Kristjan"] * 3 + ["Christjan", "Kristjann", "Krisjan"] + ["Johanne"] * 2 + ["Johane"] * 2
    write_delivery(tmp_path / "d", [kbf_row(i, i, FORNAVN=n) for i, n in enumerate(names, start=1)])
    out = tmp_path / "groups.csv"
    assert names_main(["suggest", str(tmp_path / "d"), "--min-count", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)
    assert table[["group", "group_occurrences", "variant"]].values.tolist() == [
        ["1", "4", "JOHANE"], ["1", "4", "JOHANNE"], ["2", "3", "KRISTJAN"]]  # equal counts: by letter
