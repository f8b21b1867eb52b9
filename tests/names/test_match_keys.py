"""Match keys beside the clean columns: what a linker joins and compares on."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ft_row, kbd_row, kbf_row, write_delivery

from ingest.pipeline import run_pipeline
from validators.match_keys import add_match_keys
from validators.places import load_parish_register, parish_of_deliveries
from validators.sources import FT, KBD


@pytest.fixture
def keyed(tmp_path):
    rows = [kbf_row(i, i) for i in range(1, 11)]
    rows[0].update(FORNAVN="Christian", MELLEMNAVNE="Aage", EFTERNAVN="Jensen [Nielsen]", FOEDSELSDATO="19210309",
                   FOEDESTED="her i sognet")
    rows[1].update(FORNAVN="Kristian", MELLEMNAVNE="--", EFTERNAVN="[NIELSEN] HOLM", FOEDESTED="Tibirke Sogn")
    rows[2].update(FORNAVN="DØDFØDT", EFTERNAVN="Larsen", FOEDESTED="")
    rows[3].update(FORNAVN="Hans-Peter", EFTERNAVN="Sörensen", FOEDESTED="Valby")
    rows[4].update(FOEDSELSDATO="19210230", FOEDESTED="Hillerød")
    rows[5].update(MODERS_FORNAVN="Karen", MODERS_EFTERNAVN="Jensen", MODERS_PIGENAVN="Nielsd.",
                   MODERS_FOEDSELSDAG="18951103", MODERS_FOEDESTED="Oelstykke")
    rows[6].update(FADERS_FORNAVN="Carl", FADERS_EFTERNAVN="Pedersen", FADERS_FOEDSELSDAG="1894????",
                   FADERS_FOEDESTED="her")
    write_delivery(tmp_path, rows)  # the delivery's SOGN is Vejby (Holbo Herred, Frederiksborg Amt)
    result = run_pipeline([tmp_path], keep_clean=True, progress=False)
    clean = result.clean["KBF"][0]
    own = clean["INDTASTNINGSNUMMER"].map(parish_of_deliveries(result.deliveries))
    return add_match_keys(clean, "KBF", own).set_index("LOEBE_NR")


def test_raw_and_clean_columns_are_kept(keyed):
    assert keyed.at[1, "FORNAVN"] == "Christian" and keyed.at[1, "EFTERNAVN"] == "Jensen [Nielsen]"
    assert keyed.at[1, "EFTERNAVN_UDEN_KLAMMER"] == "Jensen"


def test_name_keys_with_and_without_the_struck_out_part(keyed):
    assert keyed.at[1, "NAVN_NOEGLE"] == "CHRISTIANÅGEJENSENNIELSEN"
    assert keyed.at[1, "NAVN_UDEN_KLAMMER_NOEGLE"] == "CHRISTIANÅGEJENSEN"
    assert keyed.at[1, "NAVN_KUN_KLAMMER_NOEGLE"] == "CHRISTIANÅGENIELSEN"
    assert keyed.at[2, "NAVN_UDEN_KLAMMER_NOEGLE"] == "KRISTIANHOLM"  # "--" means no middle name
    assert keyed.at[2, "NAVN_KUN_KLAMMER_NOEGLE"] == "KRISTIANNIELSEN"
    assert pd.isna(keyed.at[4, "NAVN_KUN_KLAMMER_NOEGLE"])  # no struck-out part


def test_standard_names_use_the_name_database(keyed):
    assert keyed.at[1, "FORNAVN_GRUNDNAVN"] == "KRISTIAN"
    assert keyed.at[1, "NAVN_UDEN_KLAMMER_STANDARD"] == "KRISTIANÅGEJENSEN"
    assert keyed.at[2, "NAVN_UDEN_KLAMMER_STANDARD"] == "KRISTIANHOLM"
    assert keyed.at[1, "NAVN_STANDARD"] == "KRISTIANÅGEJENSENNIELSEN"
    assert keyed.at[7, "FADERS_FORNAVN_GRUNDNAVN"] == "KARL"


def test_blanks_and_hyphens_do_not_count(keyed):
    assert keyed.at[4, "NAVN_NOEGLE"] == "HANSPETERSØRENSEN"
    assert keyed.at[4, "FORNAVN_GRUNDNAVN"] == "HANS PETER"


def test_birth_date_key_is_iso_and_empty_when_not_a_date(keyed):
    assert keyed.at[1, "FOEDSELSDATO_NOEGLE"] == "1921-03-09"
    assert pd.isna(keyed.at[5, "FOEDSELSDATO_NOEGLE"])  # 30 February
    assert pd.isna(keyed.at[7, "FADERS_FOEDSELSDATO_NOEGLE"])  # 1894????
    assert keyed.at[6, "MODERS_FOEDSELSDATO_NOEGLE"] == "1895-11-03"


def test_birth_parish_codes(keyed):
    reg = load_parish_register()
    vejby = reg.own_code("Vejby")
    assert keyed.at[1, "FOEDESTED_SOGNEKODE"] == vejby
    assert keyed.at[1, "FOEDESTED_SOGNEKODE_METODE"] == "eget_sogn"
    assert keyed.at[2, "FOEDESTED_SOGNEKODE"] == reg.own_code("Tibirke")
    assert keyed.at[4, "FOEDESTED_SOGNEKODE"] == reg.own_code("Valby, Holbo Herred")  # Vejby lies in Frederiksborg
    assert pd.isna(keyed.at[5, "FOEDESTED_SOGNEKODE"])
    assert keyed.at[5, "FOEDESTED_SOGNEKODE_METODE"] == "ukendt"
    assert keyed.at[6, "MODERS_FOEDESTED_SOGNEKODE"] == reg.own_code("Ølstykke")
    assert keyed.at[7, "FADERS_FOEDESTED_SOGNEKODE"] == vejby


def test_mothers_maiden_name_variant_and_patronymic(keyed):
    assert keyed.at[6, "MODERS_NAVN_PIGENAVN_NOEGLE"] == "KARENNIELSDATTER"
    assert keyed.at[6, "MODERS_PIGENAVN_GRUNDNAVN"] == "NIELSDATTER"


def test_dead_unnamed_child_is_flagged_by_the_clean_layer(keyed):
    assert keyed.at[3, "DOED_UDEN_NAVN"] == "J"
    assert not keyed.at[3, "TIL_LINKAGE"]


def test_one_parish_for_the_whole_table_and_kbd_digit_fixes():
    kbd = pd.DataFrame({"FORNAVN": ["Bolv1g", "UOP"], "FORNAVN_REN": ["Bolv1g", None], "EFTERNAVN": ["A&elsen", "Hansen"],
                        "FOEDSELSDATO": ["19010203", "1901"], "FOEDESTED": ["her", "Vejby"],
                        "FADERS_NAVN": ["N1els Chr. Axelsen", ""], "DOEDSDATO": ["19250101", "19251301"]},
                       dtype="string")
    out = add_match_keys(kbd, "KBD", "Tibirke")  # a digit for a letter is fixed in the father's name too
    # a later piece of a table (its index does not start at 0) gets each row's own keys
    piece = add_match_keys(kbd.set_axis([200_000, 200_001]), "KBD", "Tibirke")
    assert piece.index.tolist() == [200_000, 200_001]
    pd.testing.assert_frame_equal(piece.reset_index(drop=True), out)
    assert out.at[0, "NAVN_NOEGLE"] == "BOLVIGAXELSEN"
    assert out.at[1, "NAVN_NOEGLE"] == "HANSEN"  # UOP read as empty by the clean layer
    assert out.at[0, "FOEDSELSDATO_NOEGLE"] == "1901-02-03" and pd.isna(out.at[1, "FOEDSELSDATO_NOEGLE"])
    assert out.at[0, "FOEDESTED_SOGNEKODE"] == load_parish_register().own_code("Tibirke")
    assert out.at[0, "FADERS_NAVN_NOEGLE"] == "NIELSCHRAXELSEN"
    assert pd.isna(out.at[1, "FADERS_NAVN_NOEGLE"])
    assert out.at[0, "DOEDSDATO_NOEGLE"] == "1925-01-01" and pd.isna(out.at[1, "DOEDSDATO_NOEGLE"])


def test_ft_full_name_fills_in_when_the_parts_are_empty():
    ft = pd.DataFrame({"FORNAVN": ["Ane", None], "EFTERNAVN": ["Hansen", None], "FULDT_NAVN": [None, "Caren Marie Holm"],
                       "KOEN": ["K", "K"]}, dtype="string")
    out = add_match_keys(ft, "FT")
    assert list(out["NAVN_NOEGLE"]) == ["ANEHANSEN", "CARENMARIEHOLM"]
    assert out.at[1, "NAVN_STANDARD"] == "KARENMARIEHOLM"


def test_an_unknown_source_is_refused():
    with pytest.raises(ValueError, match="XYZ"):
        add_match_keys(pd.DataFrame({"FORNAVN": ["A"]}), "XYZ")


def test_keys_are_the_same_on_a_large_table_as_row_by_row():
    from validators.names import load_name_database

    db = load_name_database()
    names = pd.Series(["Christian", "Aage", None, "Jensen [Nielsen]", "-"] * 2000, dtype="string")
    frame = pd.DataFrame({"FORNAVN": names, "EFTERNAVN": names.iloc[::-1].reset_index(drop=True)})
    out = add_match_keys(frame, "CPR")
    for i in (0, 1, 2, 3, 4, 9999):
        parts = [db.rules.key(db.rules.normalise(v)) for v in (frame.at[i, "FORNAVN"], frame.at[i, "EFTERNAVN"])
                 if not pd.isna(v)]
        expected = "".join(p for p in parts if p) or None
        got = out.at[i, "NAVN_NOEGLE"]
        assert (None if pd.isna(got) else got) == expected


def test_kbd_deliveries_get_keys_through_the_pipeline(tmp_path):
    rows = [kbd_row(i, i) for i in range(1, 6)]
    rows[0].update(FORNAVN="Bolv1g", EFTERNAVN="A&elsen", FOEDESTED="her i Sognet")
    rows[1].update(FADERS_NAVN="Chr. Aagesen", FOEDESTED="Tibirke", DOEDSSTED="Helsinge Sogn")
    write_delivery(tmp_path, rows, entry="K2750", source=KBD, meta={"SOGN": "Vejby"})
    result = run_pipeline([tmp_path], keep_clean=True, progress=False)
    clean = result.clean["KBD"][0]
    keyed = add_match_keys(clean, "KBD", clean["INDTASTNINGSNUMMER"].map(parish_of_deliveries(result.deliveries)))
    keyed = keyed.set_index("LOEBE_NR")
    reg = load_parish_register()
    assert keyed.at[1, "NAVN_NOEGLE"] == "BOLVIGAXELSEN"
    assert keyed.at[1, "FOEDESTED_SOGNEKODE"] == reg.own_code("Vejby")
    assert keyed.at[2, "FOEDESTED_SOGNEKODE"] == reg.own_code("Tibirke")
    assert keyed.at[2, "FADERS_NAVN_NOEGLE"] == "CHRÅGESEN"
    assert keyed.at[2, "DOEDSSTED_SOGNEKODE"] == reg.own_code("Helsinge")
    assert keyed.at[1, "DOEDSDATO_NOEGLE"].startswith("1921-03-")


def test_the_census_per_child_table_gets_keys_for_child_and_parents(tmp_path):
    rows = [ft_row(1, "Husfader", FORNAVN="Carl", EFTERNAVN="Holm", KOEN="M", AEGTESKABELIG_STILLING="Gift",
                   FOEDSELSDAG="18950101", FOEDESTED="Vejby"),
            ft_row(2, "Hustru", FORNAVN="Karen", EFTERNAVN="Holm", KOEN="K", AEGTESKABELIG_STILLING="Gift",
                   FOEDSELSDAG="18970202", FOEDESTED="Oelstykke"),
            ft_row(3, "Søn", FORNAVN="Aage", EFTERNAVN="Holm", KOEN="M", FOEDSELSDAG="19250303", FOEDESTED="her")]
    write_delivery(tmp_path, rows, entry="K3801", source=FT, meta={"SOGN": "Vejby"})
    result = run_pipeline([tmp_path], keep_clean=True, progress=False)
    children = pd.concat(result.tables["ft_children"], ignore_index=True)
    own = children["INDTASTNINGSNUMMER"].map(parish_of_deliveries(result.deliveries))
    keyed = add_match_keys(children, "FT_CHILDREN", own)
    reg = load_parish_register()
    row = keyed.iloc[0]
    assert row["BARN_NAVN_NOEGLE"] == "ÅGEHOLM" and row["BARN_FOEDSELSDATO_NOEGLE"] == "1925-03-03"
    assert row["BARN_FOEDESTED_SOGNEKODE"] == reg.own_code("Vejby")
    assert row["FAR_NAVN_STANDARD"] == "KARLHOLM"
    assert row["MOR_FOEDESTED_SOGNEKODE"] == reg.own_code("Ølstykke")


def test_a_spelling_with_a_grundnavn_for_each_sex_is_standardised_by_the_persons_sex(tmp_path):
    """An archive's name database may give one spelling a boy's and a girl's grundnavn; the
    child is looked up by its sex, the mother as a woman and the father as a man."""
    from validators.names import import_name_database

    names = tmp_path / "names.csv"
    names.write_text("variant;grundnavn;kind;sex\nFrede;Frede;fornavn;M\nFrede;Frederikke;fornavn;K\n"
                     "Ole;Ole;fornavn;M\nKiersten;Kirsten;fornavn;\nKiersten;Kristen;fornavn;M\n", encoding="utf-8")
    db = import_name_database(names)
    kbf = pd.DataFrame({"FORNAVN": ["Frede", "Frede", "Ole", "Frede", "Ole", None, "Frede"],
                        "KOEN_REN": ["M", "K", "K", "k", "M", "K", None],
                        "MODERS_FORNAVN": ["Frede"] * 7, "FADERS_FORNAVN": ["Frede"] * 7}, dtype="string")
    out = add_match_keys(kbf, "KBF", db=db)
    assert out["FORNAVN_GRUNDNAVN"].tolist()[:5] == ["FREDE", "FREDERIKKE", "OLE", "FREDERIKKE", "OLE"]
    assert pd.isna(out.at[5, "FORNAVN_GRUNDNAVN"])
    assert out.at[6, "FORNAVN_GRUNDNAVN"] == "FREDE"  # sex not keyed: the first the database holds
    assert set(out["MODERS_FORNAVN_GRUNDNAVN"]) == {"FREDERIKKE"}
    assert set(out["FADERS_FORNAVN_GRUNDNAVN"]) == {"FREDE"}
    # a spelling with a men's grundnavn and one for everybody else: a father's is the men's
    kiersten = add_match_keys(pd.DataFrame({"FORNAVN": ["Kiersten"], "FADERS_FORNAVN": ["Kiersten"]}, dtype="string"),
                              "KBF", db=db)
    assert kiersten[["FORNAVN_GRUNDNAVN", "FADERS_FORNAVN_GRUNDNAVN"]].values.tolist() == [["KIRSTEN", "KRISTEN"]]


def test_a_keyed_date_that_is_no_day_of_the_calendar_gets_no_key():
    """A table without the clean layer's ISO columns (a register extract, a table read back):
    30 February and 31 April are no dates, and no date key stands for them (Arrow would read
    them as 2 March and 1 May)."""
    kbd = pd.DataFrame({"FORNAVN": ["Hans", "Ane", "Jens"], "EFTERNAVN": ["Hansen", "Holm", "Bech"],
                        "FOEDSELSDATO": ["19210230", "19240229", "19230229"],
                        "DOEDSDATO": ["19250431", "19250430", " 19260101 "]}, dtype="string")
    out = add_match_keys(kbd, "KBD")
    assert out["FOEDSELSDATO_NOEGLE"].tolist()[:2] == [pd.NA, "1924-02-29"]  # 1924 is a leap year
    assert pd.isna(out.at[2, "FOEDSELSDATO_NOEGLE"])  # 1923 is not
    assert pd.isna(out.at[0, "DOEDSDATO_NOEGLE"]) and out.at[1, "DOEDSDATO_NOEGLE"] == "1925-04-30"
    assert out.at[2, "DOEDSDATO_NOEGLE"] == "1926-01-01"  # blanks around a date are no fault


def test_the_keys_of_a_raw_table_fix_digits_and_its_versions_leave_out_the_struck_out_part():
    """A book of deaths read without the clean layer, '[Peter] N1els Hansen [N1elsen]': the
    book's digit fix applies with and without the struck-out part, which is in the full key
    and in none of the versions."""
    kbd = pd.DataFrame({"FORNAVN": ["[Peter] N1els"], "EFTERNAVN": ["Hansen [N1elsen]"]}, dtype="string")
    out = add_match_keys(kbd, "KBD")
    assert out.loc[0, ["NAVN_NOEGLE", "NAVN_STANDARD"]].tolist() == ["PETERNIELSHANSENNIELSEN"] * 2
    assert out.loc[0, ["NAVN_UDEN_KLAMMER_NOEGLE", "NAVN_UDEN_KLAMMER_STANDARD"]].tolist() == ["NIELSHANSEN"] * 2
    assert out.at[0, "NAVN_KUN_KLAMMER_NOEGLE"] == "NIELSNIELSEN"  # the given names and the struck surname
    assert out.loc[0, ["FORNAVN_GRUNDNAVN", "EFTERNAVN_GRUNDNAVN"]].tolist() == ["PETER NIELS", "HANSEN NIELSEN"]
    assert out.loc[0, ["FORNAVN_FOERSTE_NOEGLE", "FORNAVNE_NOEGLE", "NAVN_UDEN_MELLEMNAVNE_NOEGLE",
                       "EFTERNAVN_NOEGLE", "EFTERNAVN_STAMME"]].tolist() == ["NIELS", "NIELS", "NIELSHANSEN", "HANSEN",
                                                                            "HANS"]


def test_the_struck_out_surname_key_takes_every_struck_word_and_nothing_for_an_empty_one():
    """'[Bech Nielsen] Holm' struck two words, 'Jensen [Holm] [Bech]' two parts; '[?]' struck
    something unreadable, which is no earlier surname to link on."""
    kbf = pd.DataFrame({"FORNAVN": ["Hans"] * 4,
                        "EFTERNAVN": ["[Bech Nielsen] Holm", "Jensen [Holm] [Bech]", "Hansen [?]", "Hansen"]},
                       dtype="string")
    out = add_match_keys(kbf, "KBF")
    assert out["NAVN_KUN_KLAMMER_NOEGLE"].tolist() == ["HANSBECHNIELSEN", "HANSHOLMBECH", pd.NA, pd.NA]
    assert out["NAVN_UDEN_KLAMMER_NOEGLE"].tolist() == ["HANSHOLM", "HANSJENSEN", "HANSHANSEN", "HANSHANSEN"]
