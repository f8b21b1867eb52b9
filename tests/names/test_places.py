"""Birthplace text -> parish code through the parish register."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import kbf_row, write_delivery

from validators.curation_cli import places_main
from validators.places import (
    AMBIGUOUS,
    BY_NAME,
    BY_OWN_AMT,
    BY_OWN_PARISH,
    BY_QUALIFIER,
    BY_VARIANT,
    EMPTY,
    OWN_PARISH_UNKNOWN,
    UNKNOWN,
    ParishRegisterError,
    import_parishes,
    load_parish_register,
    skipped_digdag,
    unresolved_places,
)

REGISTER = """# a small register for the tests
sognekode;sogn;herred;amt;varianter
1001;Vejby;Holbo;Frederiksborg;Veiby|Vejby Strand
1002;Valby;Holbo;Frederiksborg;
1003;Valby;Sokkelund;København;
1004;Sønder Omme;Nørvang;Vejle;Stakroge
1005;Ølstykke;Ølstykke;Frederiksborg;
1006;Aalborg Budolfi;;Aalborg;Aalborg
1007;Græsted;Holbo;Frederiksborg;
1008;Nakskov;;Maribo;
1009;Nakskov Landsogn;Lollands Nørre;Maribo;
1010;Skørping;Hellum;Aalborg;
"""


@pytest.fixture
def register(tmp_path):
    path = tmp_path / "parishes.csv"
    path.write_text(REGISTER, encoding="utf-8")
    return import_parishes(path)


@pytest.mark.parametrize(("text", "code", "method"), [
    ("Vejby", "1001", BY_NAME),
    ("VEJBY", "1001", BY_NAME),
    ("  vejby ", "1001", BY_NAME),
    ("Veiby", "1001", BY_NAME),                    # old ei for ej: the rules meet the name itself
    ("Vejby Strand", "1001", BY_VARIANT),          # a locality in the parish
    ("Vejby Sogn", "1001", BY_NAME),               # Sogn / By / Kirke suffixes
    ("Vejby By", "1001", BY_NAME),
    ("Vejby S.", "1001", BY_NAME),
    ("i Vejby", "1001", BY_NAME),
    ("Oelstykke", "1005", BY_NAME),                # ae/oe/aa for æ/ø/å
    ("Graested", "1007", BY_NAME),
    ("Aalborg", "1006", BY_VARIANT),
    ("Sdr. Omme", "1004", BY_NAME),                # abbreviations written out
    ("Søndre Omme", "1004", BY_NAME),
    ("Sønder-Omme", "1004", BY_NAME),              # blanks and hyphens do not count
    ("Sønderomme", "1004", BY_NAME),
    ("Skjørping", "1010", BY_NAME),                # old kj spelling
    ("Nakskov", "1008", BY_NAME),
    ("Nakskov Landsogn", "1009", BY_NAME),         # "Landsogn" is part of the name
    ("Hillerød", None, UNKNOWN),
    ("", None, EMPTY),
    (None, None, EMPTY),
])
def test_resolution(register, text, code, method):
    res = register.resolve(text)
    assert (res.code, res.method) == (code, method)


@pytest.mark.parametrize("text", ["her", "Her i Sognet", "heri sognet", "HER SOGN", "smst.", "Her."])
def test_her_i_sognet_is_the_records_own_parish(register, text):
    assert register.resolve(text, own="Græsted").code == "1007"
    assert register.resolve(text, own="1001").code == "1001"
    assert register.resolve(text, own="Vejby, Holbo Herred, Frederiksborg Amt").method == BY_OWN_PARISH


def test_her_without_a_known_own_parish_stays_unresolved(register):
    assert register.resolve("her", own=None) == register.resolve("her", own="Atlantis")
    assert register.resolve("her").method == OWN_PARISH_UNKNOWN


def test_a_shared_name_is_decided_by_herred_or_amt_in_the_text(register):
    assert register.resolve("Valby").method == AMBIGUOUS
    assert register.resolve("Valby, Holbo Herred").code == "1002"
    assert register.resolve("Valby, Holbo Herred").method == BY_QUALIFIER
    assert register.resolve("Valby i Københavns Amt").code is None  # "Københavns" is not the amt's spelling
    assert register.resolve("Valby, København").code == "1003"
    assert register.resolve("Valby Sogn, Frederiksborg Amt").code == "1002"


def test_a_shared_name_is_decided_by_the_own_parishs_amt(register):
    res = register.resolve("Valby", own="Vejby")
    assert (res.code, res.method) == ("1002", BY_OWN_AMT)
    assert register.resolve("Valby", own="Sønder Omme").method == AMBIGUOUS  # neither is in Vejle amt


def test_resolve_series_per_row_own_parish(register):
    texts = pd.Series(["her", "her", "Veiby", None, "Valby"], dtype="string", index=[10, 11, 12, 13, 14])
    own = pd.Series(["Vejby", "Græsted", "Vejby", "Vejby", "Vejby"], dtype="string", index=texts.index)
    out = register.resolve_series(texts, own)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert list(out["SOGNEKODE"].fillna("-")) == ["1001", "1007", "1001", "-", "1002"]
    assert list(out["METODE"]) == [BY_OWN_PARISH, BY_OWN_PARISH, BY_NAME, EMPTY, BY_OWN_AMT]


def test_unresolved_texts_are_listed_by_frequency_with_a_suggestion(register):
    texts = pd.Series(["Veijby"] * 3 + ["Hillerød"] * 5 + ["Vejby"] * 9 + ["Valby"] * 2 + ["her"], dtype="string")
    out = unresolved_places(texts, None, register)
    assert list(out["text"]) == ["Hillerød", "Veijby", "Valby", "her"]
    assert list(out["occurrences"]) == [5, 3, 2, 1]
    veijby = out.set_index("text").loc["Veijby"]
    assert veijby["suggested_code"] == "1001" and veijby["jw"] >= 0.9
    assert list(unresolved_places(texts, None, register, min_count=3)["text"]) == ["Hillerød", "Veijby"]


def test_import_refuses_a_broken_register(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sognekode;sogn;herred;amt;varianter\n1;Vejby;;;\n1;Tibirke;;;\n;Helsinge;;;\n", encoding="utf-8")
    with pytest.raises(ParishRegisterError) as err:
        import_parishes(path)
    assert len(err.value.problems) == 2
    path.write_text("code;name\n1;Vejby\n", encoding="utf-8")
    with pytest.raises(ParishRegisterError, match="sognekode"):
        import_parishes(path)


def test_the_project_register_resolves_the_fixture_parishes():
    reg = load_parish_register()
    for sogn in ("Vejby", "Tikøb", "Hørning", "Stege", "Ølstykke", "Brønderslev", "Ringe", "Sønder Omme",
                 "Hvidbjerg, Refs Herred, Thisted Amt", "Skørping", "Nakskov", "Kalundborg", "Garnisons"):
        assert reg.own_code(sogn), sogn
    assert reg.resolve("Hvidbjerg").method == AMBIGUOUS
    assert reg.resolve("Hvidbjerg", own="Ydby").code == reg.own_code("Hvidbjerg, Refs Herred")


def test_places_unresolved_command_reads_deliveries_with_their_own_parish(tmp_path, capsys):
    rows = [kbf_row(i, i, FOEDESTED=text) for i, text in
            enumerate(["her", "Vejby", "Hillerød", "Hillerød", "Hillerød", "Kvistgaard"], start=1)]
    write_delivery(tmp_path / "d", rows)
    assert places_main(["unresolved", str(tmp_path / "d"), "--min-count", "1"]) == 0
    out = capsys.readouterr().out
    assert "Hillerød" in out and "Kvistgaard" in out
    assert "her " not in out  # resolved to Vejby, the delivery's SOGN
    assert places_main(["unresolved", str(tmp_path / "d")]) == 0
    assert "Kvistgaard" not in capsys.readouterr().out  # under the default --min-count 3


@pytest.mark.parametrize("command", ["names", "places"])
def test_a_wrong_subcommand_names_the_command_it_was_given_to(command, capsys):
    from ingest.cli import main

    with pytest.raises(SystemExit) as stop:
        main([command, "frobnicate"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mgr-ingest {command}: argument ") and "invalid choice: 'frobnicate'" in err
    assert err.rstrip().endswith("(see --help)")


def test_places_without_a_subcommand_says_what_is_missing_and_exits_2(capsys):
    with pytest.raises(SystemExit) as stop:
        places_main([])
    assert stop.value.code == 2
    assert "required: command" in capsys.readouterr().err


def test_a_digdag_table_with_a_comment_line_first_is_read_as_digdag(tmp_path):
    path = tmp_path / "parishes.csv"
    path.write_text("# exported from DigDag for the two parishes we key\nSTEDNR,SOGN,HERRED,AMT,GIS_ID,long,lat\n"
                    "30308,Soderup,Merloese,Holbaek,0,11.8,55.6\n80213,Orte,Baag,Odense,1,10.1,55.4\n"
                    ",Lemvig,Skodborg,Ringkoebing,2,8.3,56.5\n", encoding="utf-8")
    register = import_parishes(path)
    assert sorted(register.parishes) == ["30308", "80213"]
    assert skipped_digdag(path.read_text(encoding="utf-8")) == ["Lemvig"]  # no number: left out, and said so
    assert (register.parishes["30308"].herred, register.parishes["30308"].amt) == ("Merløse", "Holbæk")


def test_a_deliverys_own_parish_is_its_sogn_herred_and_amt():
    from types import SimpleNamespace

    from validators.places import parish_of_deliveries

    deliveries = [SimpleNamespace(entry_number="K1", meta={"SOGN": "Vejby ", "HERRED": "Holbo", "AMT": "Frederiksborg"}),
                  SimpleNamespace(entry_number="K2", meta={"SOGN": "Valby", "HERRED": "", "AMT": "Frederiksborg"}),
                  SimpleNamespace(entry_number="K3", meta={"SOGN": "", "HERRED": "Holbo", "AMT": "Frederiksborg"})]
    assert parish_of_deliveries(deliveries) == {"K1": "Vejby, Holbo, Frederiksborg", "K2": "Valby, Frederiksborg"}


def test_a_register_saved_in_the_windows_code_page_is_read(tmp_path):
    path = tmp_path / "parishes.csv"
    path.write_bytes("sognekode;sogn;herred;amt;varianter\n1001;Tikøb;Lynge-Kronborg;Frederiksborg;Tikjøb\n"
                     .encode("cp1252"))
    parish = import_parishes(path).parishes["1001"]
    assert (parish.name, parish.variants) == ("Tikøb", ("Tikjøb",))


def test_places_import_replace_installs_the_register_and_a_broken_one_changes_nothing(tmp_path, monkeypatch, capsys):
    from validators.places import REGISTER_ENV

    target = tmp_path / "in_use.csv"
    monkeypatch.setenv(REGISTER_ENV, str(target))
    good = tmp_path / "good.csv"
    good.write_text(REGISTER, encoding="utf-8")
    assert places_main(["import", str(good), "--replace"]) == 0
    assert sorted(import_parishes(target).parishes) == sorted(import_parishes(good).parishes)
    assert f"{target} written" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("sognekode;sogn;herred;amt;varianter\n1;Vejby;;;\n1;Tibirke;;;\n;Helsinge;;;\n", encoding="utf-8")
    before = target.read_bytes()
    assert places_main(["import", str(bad), "--replace"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("mgr-ingest places: ") for line in err), err  # each problem named
    assert err[-1] == "mgr-ingest places: nothing was imported"
    assert target.read_bytes() == before


def test_every_problem_of_a_register_is_named_not_only_the_first():
    from validators.places import ParishRegisterError, build_parish_register

    def parish(code, name):
        return {"sognekode": code, "sogn": name, "herred": "Holbo", "amt": "Frederiksborg", "varianter": ""}

    try:
        build_parish_register([parish("7001", "Vejby"), parish("7002", ""), parish("7003", "Tibirke"),
                               parish("7001", "Valby")])
    except ParishRegisterError as exc:
        assert exc.problems == ["line 3: a parish needs both a code and a name", "line 5: code 7001 is used twice"]
    else:
        raise AssertionError("a broken register was accepted")


def test_places_unresolved_pools_a_text_over_the_birthplace_fields_and_writes_the_table(tmp_path):
    """Hillerød (no parish) twice as a child's and once as a mother's birthplace is one row
    of 3 naming both fields; Vejbi is offered as Vejby; --min-count leaves out the rare."""
    rows = [kbf_row(1, 1, FOEDESTED="Hillerød", MODERS_FOEDESTED="Hillerød"),
            kbf_row(2, 2, FOEDESTED="Hillerød", MODERS_FOEDESTED="Kvistgaard"),
            kbf_row(3, 3, FOEDESTED="her", FADERS_FOEDESTED="Kvistgaard"),
            kbf_row(4, 4, FOEDESTED="Vejbi", MODERS_FOEDESTED="Tisvilde")]
    write_delivery(tmp_path / "d", rows)
    header = "text;method;occurrences;fields;suggested_code;suggested_parish;jw"
    assert places_main(["unresolved", str(tmp_path / "d"), "--min-count", "1", "--out", str(tmp_path / "u.csv")]) == 0
    vejby = load_parish_register().own_code("Vejby")
    assert (tmp_path / "u.csv").read_text(encoding="utf-8").splitlines() == [
        header, "Hillerød;ukendt;3;FOEDESTED|MODERS_FOEDESTED;;;", "Kvistgaard;ukendt;2;FADERS_FOEDESTED|MODERS_FOEDESTED;;;",
        f"Vejbi;ukendt;1;FOEDESTED;{vejby};Vejby;0.92"]
    assert places_main(["unresolved", str(tmp_path / "d"), "--min-count", "2", "--out", str(tmp_path / "u2.csv")]) == 0
    assert (tmp_path / "u2.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "Hillerød;ukendt;3;FOEDESTED|MODERS_FOEDESTED;;;", "Kvistgaard;ukendt;2;FADERS_FOEDESTED|MODERS_FOEDESTED;;;"]


def test_places_import_names_at_most_ten_of_the_rows_it_left_out(tmp_path, capsys):
    """Twelve DigDag rows without a parish number: the import says how many and names the
    first ten, so a long list does not bury the summary."""
    lines = ["STEDNR,SOGN,HERRED,AMT,GIS_ID,long,lat", "30308,Soderup,Merloese,Holbaek,0,11.8,55.6"]
    lines += [f",Sted{i:02d},Skodborg,Ringkoebing,{i},8.3,56.5" for i in range(1, 13)]
    path = tmp_path / "parishes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert places_main(["import", str(path)]) == 0
    err = capsys.readouterr().err
    named = ", ".join(f"Sted{i:02d}" for i in range(1, 11))
    assert f"mgr-ingest places: 12 row(s) without a parish number left out: {named}\n" in err
    assert "Sted11" not in err
