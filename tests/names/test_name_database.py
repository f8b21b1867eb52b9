"""The name database: importing a CSV, giving each single name its grundnavn, counting spellings."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import kbf_row, write_delivery

from ingest.pipeline import run_pipeline
from validators.curation_cli import names_main
from validators.names import (
    NameDatabaseError,
    build_name_database,
    count_spellings,
    import_name_database,
    load_name_database,
)


def _write(tmp_path, text: str, name: str = "names.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


SMALL = """# a comment line is allowed
variant;grundnavn;kind;sex
Christian;Kristian;fornavn;M
Kristian;Kristian;fornavn;M
Caren;Karen;fornavn;K
Petersen;Petersen;efternavn;
Pedersen;Pedersen;efternavn;
"""


def test_import_and_apply(tmp_path):
    db = import_name_database(_write(tmp_path, SMALL))
    assert db.standardise("Christian") == "KRISTIAN"
    assert db.standardise("Kristian") == "KRISTIAN"
    assert db.standardise("Caren Marie") == "KAREN MARIE"  # unknown names keep their normalised spelling
    assert db.standardise("Hans-Christian") == "HANS KRISTIAN"


def test_aa_and_å_meet_without_a_row_of_their_own(tmp_path):
    db = import_name_database(_write(tmp_path, SMALL + "Åge;Åge;fornavn;M\n"))
    assert db.standardise("Aage") == db.standardise("Åge") == "ÅGE"


def test_different_surnames_stay_different():
    db = load_name_database()
    assert db.standardise("Petersen", "efternavn") == "PETERSEN"
    assert db.standardise("Pedersen", "efternavn") == "PEDERSEN"
    assert db.standardise("Christensen", "efternavn") != db.standardise("Kristensen", "efternavn")


def test_related_first_names_are_not_merged_in_the_seed():
    db = load_name_database()
    assert db.standardise("Bente") == "BENTE"
    assert db.standardise("Benedicte") == db.standardise("Benedikte") == "BENEDIKTE"
    assert db.standardise("Karen") != db.standardise("Karin")
    assert db.standardise("Kristian") != db.standardise("Kristen")
    assert db.standardise("Christian") == db.standardise("Kristian") == "KRISTIAN"
    assert db.standardise("Caren") == "KAREN"


def test_the_seed_imports_cleanly():
    db = load_name_database()
    assert db.warnings == []
    assert len(db) > 300


def test_a_name_field_is_looked_up_among_its_own_kind_first(tmp_path):
    text = "variant;grundnavn;kind;sex\nHolm;Holm;efternavn;\nHolme;Holm;efternavn;\nHolme;Holmer;fornavn;M\n"
    db = import_name_database(_write(tmp_path, text))
    assert db.standardise("Holme", "efternavn") == "HOLM"
    assert db.standardise("Holme", "fornavn") == "HOLMER"
    assert db.standardise("Holm", "fornavn") == "HOLM"  # a middle name that is a family name


def test_sex_specific_grundnavn(tmp_path):
    text = "variant;grundnavn;kind;sex\nFrede;Frede;fornavn;M\nFrede;Frederikke;fornavn;K\n"
    db = import_name_database(_write(tmp_path, text))
    assert db.sex_specific
    assert db.standardise("Frede", sex="M") == "FREDE"
    assert db.standardise("Frede", sex="K") == "FREDERIKKE"
    s = db.standardise_series(pd.Series(["Frede", "Frede", None], dtype="string"), "fornavn",
                              pd.Series(["M", "K", "K"], dtype="string"))
    assert list(s.iloc[:2]) == ["FREDE", "FREDERIKKE"] and pd.isna(s.iloc[2])


def test_every_problem_is_reported_at_once(tmp_path):
    text = ("variant;grundnavn;kind;sex\n"
            "Christian;Kristian;fornavn;M\n"
            "Christian;Karsten;fornavn;M\n"      # a second grundnavn for the same spelling
            "Hans Peter;Hans;fornavn;M\n"        # not one single name
            "Ole;Ole;mellemnavn;M\n"             # unknown kind
            "Ib;Ib;fornavn;X\n"                  # unknown sex
            ";Ole;fornavn;M\n")                  # empty variant
    with pytest.raises(NameDatabaseError) as err:
        import_name_database(_write(tmp_path, text))
    assert len(err.value.problems) == 5
    assert "line 3" in err.value.problems[0] and "KARSTEN" in err.value.problems[0]


def test_a_chain_is_followed_to_its_end_with_a_warning():
    db = build_name_database([
        {"variant": "Chresten", "grundnavn": "Christen", "kind": "fornavn", "sex": "M"},
        {"variant": "Christen", "grundnavn": "Kristen", "kind": "fornavn", "sex": "M"},
    ])
    assert db.standardise("Chresten") == "KRISTEN"
    assert any("CHRISTEN" in w for w in db.warnings)


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(NameDatabaseError, match="grundnavn"):
        import_name_database(_write(tmp_path, "variant;kind;sex\nOle;fornavn;M\n"))


def test_a_windows_1252_file_imports(tmp_path):
    path = _write(tmp_path, "variant;grundnavn;kind;sex\nSören;Søren;fornavn;M\n", encoding="cp1252")
    assert import_name_database(path).standardise("Sören") == "SØREN"


# --------------------------------------------------------------------------- counts and the CLI

def test_spellings_are_counted_per_source(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 7)]
    rows[0].update(FORNAVN="Christian", EFTERNAVN="Jensen")
    rows[1].update(FORNAVN="Kristian", EFTERNAVN="Jensen [Nielsen]")
    rows[2].update(FORNAVN="Kristian Christian")
    rows[3].update(FORNAVN="Aage")
    rows[4].update(FORNAVN="Åge", MELLEMNAVNE="-")
    write_delivery(tmp_path, rows)
    clean = run_pipeline([tmp_path], keep_clean=True, progress=False).clean["KBF"][0]
    counts = count_spellings(clean, "KBF")
    first = counts[counts["kind"] == "fornavn"].set_index("spelling")
    assert first.at["KRISTIAN", "occurrences"] == 2
    assert first.at["CHRISTIAN", "occurrences"] == 2
    assert first.at["CHRISTIAN", "grundnavn"] == "KRISTIAN"
    assert first.at["ÅGE", "occurrences"] == 2
    assert sorted(first.at["ÅGE", "forms"].split("|")) == ["AAGE", "ÅGE"]  # the keyed forms behind it
    last = counts[counts["kind"] == "efternavn"].set_index("spelling")
    assert last.at["NIELSEN", "occurrences"] == 1  # the struck-out part counts as a spelling met
    assert set(counts["source"]) == {"KBF"}
    assert "-" not in set(counts["spelling"])
    few = count_spellings(clean, "KBF", min_count=3)
    assert (few["occurrences"] >= 3).all()


def test_names_import_adds_accepted_rows_and_keeps_the_file(tmp_path, capsys):
    db_file = _write(tmp_path, SMALL)
    accepted = _write(tmp_path, "variant;grundnavn;kind;sex\nKristjan;Kristian;fornavn;M\nCaren;Karen;fornavn;K\n",
                      "accepted.csv")
    assert names_main(["import", str(accepted), "--db", str(db_file), "--check"]) == 0
    assert "Kristjan" not in db_file.read_text(encoding="utf-8")
    assert names_main(["import", str(accepted), "--db", str(db_file)]) == 0
    text = db_file.read_text(encoding="utf-8")
    assert text.startswith("# a comment line is allowed")
    assert "Kristjan;Kristian;fornavn;M" in text and text.count("Caren;") == 1
    assert import_name_database(db_file).standardise("Kristjan") == "KRISTIAN"
    assert "1 spellings added" in capsys.readouterr().out


def test_names_import_refuses_a_conflict_and_changes_nothing(tmp_path, capsys):
    db_file = _write(tmp_path, SMALL)
    before = db_file.read_text(encoding="utf-8")
    bad = _write(tmp_path, "variant;grundnavn;kind;sex\nChristian;Karsten;fornavn;M\n", "bad.csv")
    assert names_main(["import", str(bad), "--db", str(db_file)]) == 1
    assert db_file.read_text(encoding="utf-8") == before
    assert "nothing was imported" in capsys.readouterr().err


def test_names_import_says_when_a_grundnavn_is_itself_a_variant(tmp_path, capsys):
    # Kristjan -> Christian, and Christian -> Kristian: Kristjan is read as Kristian, and the
    # curator is told so before the rows are added
    db_file = _write(tmp_path, "variant;grundnavn;kind;sex\nKaren;Karen;fornavn;K\n")
    accepted = _write(tmp_path, "variant;grundnavn;kind;sex\nChristian;Kristian;fornavn;M\n"
                      "Kristjan;Christian;fornavn;M\n", "accepted.csv")
    assert names_main(["import", str(accepted), "--db", str(db_file)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mgr-ingest names: 'KRISTJAN': grundnavn 'CHRISTIAN' is itself a variant of 'KRISTIAN'; "
                   "using 'KRISTIAN'"]
    assert import_name_database(db_file).standardise("Kristjan") == "KRISTIAN"


def test_spellings_counted_over_every_name_field_of_a_census_and_a_book_of_births():
    """A name in a field once however often it stands there (Hans Hans); the child's and
    the father's surname twice; a census name keyed whole gives its last word as surname;
    a placeholder and the words of a child who died unnamed are no names; 'Jens.' is Jens;
    Aage and AAGE are one spelling, ÅGE, keyed as AAGE."""
    db = build_name_database([{"variant": "Christian", "grundnavn": "Kristian", "kind": "fornavn", "sex": "M"},
                              {"variant": "Kristian", "grundnavn": "Kristian", "kind": "fornavn", "sex": "M"}])
    ft = pd.DataFrame({"FORNAVN": ["Christian", "Hans Hans", None, "Aage", "AAGE"],
                       "FORNAVN_REN": ["Christian", "Hans Hans", None, "Aage", "AAGE"],
                       "EFTERNAVN": ["Jensen", "Hansen", None, "Holm-Bech", "Holm"],
                       "PIGENAVN": [None, None, None, "Jensen", None],
                       "FULDT_NAVN": [None, None, "Jens Peter Hansen", None, None]}, dtype="string")

    def rows(out):
        return [(r.kind, r.spelling, r.occurrences, r.forms, r.grundnavn if isinstance(r.grundnavn, str) else "",
                 bool(r.known)) for r in out.itertuples()]

    counted = count_spellings(ft, "FT", db)
    assert set(counted["source"]) == {"FT"}
    assert rows(counted) == [
        ("efternavn", "HANSEN", 2, "HANSEN", "", False), ("efternavn", "HOLM", 2, "HOLM", "", False),
        ("efternavn", "JENSEN", 2, "JENSEN", "", False), ("fornavn", "ÅGE", 2, "AAGE", "", False),
        ("efternavn", "BECH", 1, "BECH", "", False), ("fornavn", "CHRISTIAN", 1, "CHRISTIAN", "KRISTIAN", True),
        ("fornavn", "HANS", 1, "HANS", "", False), ("fornavn", "JENS", 1, "JENS", "", False),
        ("fornavn", "PETER", 1, "PETER", "", False)]
    kbf = pd.DataFrame({"FORNAVN": ["Dødfødt", "Peter", "UOP"], "FORNAVN_REN": ["Dødfødt", "Peter", None],
                        "EFTERNAVN": ["Holm", "Holm", "Holm"], "FADERS_EFTERNAVN": ["Holm", "Holm", None],
                        "FADERS_FORNAVN": ["Jens", "Jens.", "Jens"], "DOED_UDEN_NAVN": ["J", "N", "N"]}, dtype="string")
    assert rows(count_spellings(kbf, "KBF", db)) == [("efternavn", "HOLM", 5, "HOLM", "", False),
                                                     ("fornavn", "JENS", 3, "JENS", "", False),
                                                     ("fornavn", "PETER", 1, "PETER", "", False)]
    assert rows(count_spellings(kbf, "KBF", db, min_count=3))[-1] == ("fornavn", "JENS", 3, "JENS", "", False)


def test_a_spelling_given_two_grundnavne_names_the_line_that_first_gave_it_one():
    """Caren is Karen on line 3 and again on line 5 (no conflict), then Carina on line 6:
    the curator is sent to line 3, where the spelling first got its grundnavn."""
    rows = [{"variant": v, "grundnavn": g, "kind": "fornavn", "sex": "K"}
            for v, g in (("Karen", "Karen"), ("Caren", "Karen"), ("Karin", "Karin"), ("Caren", "Karen"),
                         ("Caren", "Carina"))]
    with pytest.raises(NameDatabaseError) as err:
        build_name_database(rows)
    assert err.value.problems == ["line 6: 'Caren' (fornavn, K) has grundnavn 'CARINA' here but 'KAREN' on line 3"]
