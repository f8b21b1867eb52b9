"""Each named transform of the project's rules files, on its own, and the order they run in."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pyarrow as pa
import pytest

from validators.names.transforms import (
    WITH_STRUCK,
    WITHOUT_STRUCK,
    RuleSet,
    RulesFileError,
    map_distinct,
    map_distinct_pairs,
    name_rules,
    phonetic_rules,
    place_rules,
    to_arrow_strings,
)

# rule name -> (keyed text, what that rule alone makes of it).  Every rule of the files
# must appear here: a rule added without a test fails test_every_rule_has_an_example.
NAME_EXAMPLES = {
    "dash_means_empty": [("-", ""), ("--", ""), ("?", ""), ("Hans-Peter", "Hans-Peter")],
    "upper_case": [("Karen Marie", "KAREN MARIE"), ("søren", "SØREN")],
    "aa_to_å": [("AAGE", "ÅGE"), ("NØRGAARD", "NØRGÅRD"), ("KAREN AASE NØRGAARD", "KAREN ÅSE NØRGÅRD"),
                ("PAALLE", "PAALLE"), ("HAANSEN", "HAANSEN"), ("LAARSEN", "LAARSEN"), ("SUSAANNE", "SUSAANNE"),
                ("CHR AAGESEN", "CHR ÅGESEN")],
    "accented_e_to_e": [("JOSÉ", "JOSE"), ("RENÈ", "RENE")],
    "o_umlaut_to_ø": [("SÖREN", "SØREN")],
    "a_umlaut_to_æ": [("MÄRTA", "MÆRTA")],
    "digit_one_to_i": [("BOLV1G", "BOLVIG")],
    "digit_zero_to_o": [("0LSEN", "OLSEN")],
    "ampersand_to_x": [("A&ELSEN", "AXELSEN")],
    "patronymic_datter_short": [("KAREN NIELSD.", "KAREN NIELSDATTER"), ("ANE HANSDR.", "ANE HANSDATTER"),
                                ("NIELSD", "NIELSD")],
    "patronymic_datter_cut": [("KAREN JENSDAT.", "KAREN JENSDATTER"), ("JENSDATT", "JENSDATTER"),
                              ("JENSDATTER", "JENSDATTER")],
    "patronymic_sen_short": [("PEDERSN.", "PEDERSEN"), ("NIELSN.", "NIELSEN"), ("JENS", "JENS")],
    "struck_part_kept": [("JENSEN [NIELSEN]", "JENSEN  NIELSEN ")],
    "struck_part_dropped": [("JENSEN [NIELSEN]", "JENSEN  "), ("[HOLM] JENSEN", "  JENSEN"),
                            ("JENSEN [NIELSEN", "JENSEN  ")],
    "stray_brackets": [("JENSEN]", "JENSEN ")],
    "collapse_blanks": [("HANS   PETER", "HANS PETER")],
    "single_names": [("HANS PETER-JENS.ANDERSEN", "HANS PETER JENS ANDERSEN")],
    "match_key": [("HANS-PETER [HOLM] O'NEIL.", "HANSPETERHOLMONEIL")],
}

PLACE_EXAMPLES = {
    "upper_case": [("Vejby", "VEJBY")],
    "accented_e_to_e": [("SKÉ", "SKE")],
    "o_umlaut_to_ø": [("RAMLÖSE", "RAMLØSE")],
    "a_umlaut_to_æ": [("HÄRLEV", "HÆRLEV")],
    "aa_to_å": [("AALBORG", "ÅLBORG")],
    "ae_to_æ": [("GRAESTED", "GRÆSTED")],
    "oe_to_ø": [("OELSTYKKE", "ØLSTYKKE")],
    "old_ei_to_ej": [("VEIBY", "VEJBY"), ("VEILE", "VEJLE"), ("ØREIA", "ØREIA")],
    "old_kj_to_k": [("SKJØRPING", "SKØRPING"), ("KJØBENHAVN", "KØBENHAVN"), ("KJELD", "KJELD")],
    "punctuation_to_blank": [("SDR.OMME", "SDR OMME")],
    "abbreviation_sdr": [("SDR OMME", "SØNDER OMME"), ("SØNDRE OMME", "SØNDER OMME")],
    "abbreviation_nr": [("NR OMME", "NØRRE OMME")],
    "abbreviation_skt": [("SKT JØRGENS", "SANKT JØRGENS")],
    "abbreviation_ll": [("LL HEDDINGE", "LILLE HEDDINGE")],
    "abbreviation_gl": [("GL RYE", "GAMMEL RYE")],
    "collapse_blanks": [("VEJBY   SOGN", "VEJBY SOGN")],
    "trim_blanks": [(" VEJBY S ", "VEJBY S")],
    "leading_i": [("I VEJBY", "VEJBY"), ("I", "I")],
    "own_parish_words": [("HER I SOGNET", "HER I SOGNET")],  # a marker: it changes nothing itself
    "suffix_sogn": [("VEJBY SOGN", "VEJBY"), ("STEGE BY", "STEGE"), ("NAKSKOV LANDSOGN", "NAKSKOV LANDSOGN")],
    "suffix_sogn_again": [("VEJBY BY", "VEJBY")],
    "place_key": [("SØNDER OMME", "SØNDEROMME"), ("LYNGE-KRONBORG", "LYNGEKRONBORG")],
}

PHONETIC_EXAMPLES = {
    "ch_to_k": [("CHRISTIAN", "KRISTIAN")],
    "ck_to_k": [("FREDERICK", "FREDERIK")],
    "c_soft_to_s": [("CECILIE", "SESILIE")],
    "c_hard_to_k": [("CARL", "KARL")],
    "ph_to_f": [("SOPHIE", "SOFIE")],
    "th_to_t": [("MARGRETHE", "MARGRETE")],
    "w_to_v": [("WILHELM", "VILHELM")],
    "z_to_s": [("FRITZ", "FRITS")],
    "x_to_ks": [("AXEL", "AKSEL")],
    "q_to_k": [("QVIST", "KVIST")],
    "double_letters_once": [("JOHANNE", "JOHANE"), ("FINN", "FIN")],
    "letters_only": [("HANS PETER", "HANSPETER")],
}


def _cases(rules: RuleSet, examples: dict):
    return [(rules[name], text, expected) for name, pairs in examples.items() for text, expected in pairs]


def _case_id(value) -> str:
    """A plain ASCII test id: tools that hand ids back to pytest (mutmut) lose escaped letters and quotes."""
    text = getattr(value, "name", str(value))
    return re.sub(r"[^A-Za-z0-9]+", "_", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


@pytest.mark.parametrize(("rule", "text", "expected"), _cases(name_rules(), NAME_EXAMPLES),
                         ids=_case_id)
def test_each_name_rule_alone(rule, text, expected):
    assert rule.apply(text) == expected


@pytest.mark.parametrize(("rule", "text", "expected"), _cases(place_rules(), PLACE_EXAMPLES),
                         ids=_case_id)
def test_each_place_rule_alone(rule, text, expected):
    assert rule.apply(text) == expected


@pytest.mark.parametrize(("rule", "text", "expected"), _cases(phonetic_rules(), PHONETIC_EXAMPLES),
                         ids=_case_id)
def test_each_phonetic_rule_alone(rule, text, expected):
    assert rule.apply(text) == expected


@pytest.mark.parametrize(("rules", "examples"), [(name_rules(), NAME_EXAMPLES), (place_rules(), PLACE_EXAMPLES),
                                                 (phonetic_rules(), PHONETIC_EXAMPLES)])
def test_every_rule_has_an_example(rules, examples):
    assert set(rules.names) == set(examples)


def test_own_parish_marker_matches_the_phrases():
    rule = place_rules()["own_parish_words"]
    for text in ("HER", "HER I SOGNET", "HERI SOGNET", "HER SOGN", "SMST", "I SOGNET"):
        assert rule.regex.fullmatch(text), text
    for text in ("HERNING", "HERSLEV", "VEJBY"):
        assert not rule.regex.fullmatch(text), text


# --------------------------------------------------------------------------- the chain

def test_chain_gives_both_variants_of_a_struck_out_name():
    rules = name_rules()
    assert rules.normalise("Jensen [Nielsen]", "KBF", WITH_STRUCK) == "JENSEN NIELSEN"
    assert rules.normalise("Jensen [Nielsen]", "KBF", WITHOUT_STRUCK) == "JENSEN"
    assert rules.normalise("[NIELSEN] HOLM", "KBF", WITHOUT_STRUCK) == "HOLM"


def test_digit_fixes_are_for_kbd_only():
    rules = name_rules()
    assert rules.normalise("BOLV1G", "KBD") == "BOLVIG"
    assert rules.normalise("A&ELSEN", "KBD") == "AXELSEN"
    assert rules.normalise("BOLV1G", "KBF") == "BOLV1G"


def test_minimal_cleaning_of_the_pilot():
    rules = name_rules()
    assert rules.normalise("Aage Sörensen") == "ÅGE SØRENSEN"
    assert rules.key(rules.normalise("Hans-Peter  Jensen")) == "HANSPETERJENSEN"
    assert rules.normalise("--") is None


def test_patronymic_is_written_out_before_the_split_at_full_stops():
    rules = name_rules()
    norm = rules.normalise("Karen Jensdat.")
    assert rules.single_names(norm) == ["KAREN", "JENSDATTER"]
    assert rules.single_names(rules.normalise("Hans Chr. Nielsen")) == ["HANS", "CHR", "NIELSEN"]


def test_single_names_split_at_blank_hyphen_and_full_stop():
    rules = name_rules()
    assert rules.single_names(rules.normalise("Hans Peter-Jørgen.Olsen")) == ["HANS", "PETER", "JØRGEN", "OLSEN"]


def test_trace_names_the_rules_that_changed_the_text():
    steps = name_rules().trace("Aage [Nielsen]", "KBF", WITHOUT_STRUCK)
    assert [name for name, _ in steps] == ["upper_case", "aa_to_å", "struck_part_dropped", "collapse_blanks"]
    assert steps[-1][1] == "ÅGE "


def test_the_order_column_decides_not_the_file_order(tmp_path):
    f = tmp_path / "rules.csv"
    f.write_text("order;name;kind;pattern;replacement;applies_to\n"
                 "20;aa;replace;AA;Å;*\n10;up;upper;;;*\n", encoding="utf-8")
    assert RuleSet.from_csv(f).normalise("Aage") == "ÅGE"


@pytest.mark.parametrize("row", ["10;x;shout;;;*", "10;x;regex;[unclosed;;*", "x;y;upper;;;*", "10;x;replace;;Å;*"])
def test_a_broken_rules_file_is_refused_with_the_rule_named(tmp_path, row):
    f = tmp_path / "rules.csv"
    f.write_text("order;name;kind;pattern;replacement;applies_to\n" + row + "\n", encoding="utf-8")
    with pytest.raises(RulesFileError, match="x"):
        RuleSet.from_csv(f)


def test_a_rule_name_used_twice_is_refused(tmp_path):
    f = tmp_path / "rules.csv"
    f.write_text("order;name;kind;pattern;replacement;applies_to\n10;up;upper;;;*\n20;up;upper;;;*\n",
                 encoding="utf-8")
    with pytest.raises(RulesFileError, match="twice"):
        RuleSet.from_csv(f)


def test_map_distinct_gives_what_the_function_gives_per_row():
    rules = name_rules()
    values = pd.Series(["Aage", None, "Aage", "Karen [Holm]", "-"] * 3, dtype="string")
    out = map_distinct(values, rules.normalise)
    expected = [rules.normalise(v) if v is not None and not pd.isna(v) else None for v in values]
    assert [None if pd.isna(v) else v for v in out] == expected
    assert list(out.index) == list(values.index)


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()], ids=["string", "large_string"])
def test_arrow_backed_text_columns_become_arrow_strings_without_losing_values(arrow_type):
    values = pd.Series(["Åge", None, "Karen"], dtype=pd.ArrowDtype(arrow_type), index=[4, 5, 6])
    out = to_arrow_strings(values)
    assert out.type == pa.large_string() and out.to_pylist() == ["Åge", None, "Karen"]


def test_map_distinct_pairs_calls_once_per_pair_and_spreads_the_answer_over_the_rows():
    """Missing values on either side are pairs of their own; the answer of each pair lands
    on each of its rows, with ``a``'s index (or the one given)."""
    calls = []

    def joined(x, y):
        calls.append((x, y))
        return None if x is None and y is None else f"{x}+{y}"

    a = pd.Series(["Ane", "Ane", None, "Ane", "Karen", None], dtype="string", index=[7, 8, 9, 10, 11, 12])
    b = pd.Series(["Marie", "Marie", "Marie", None, "Marie", None], dtype="string", index=[7, 8, 9, 10, 11, 12])
    out = map_distinct_pairs(a, b, joined)
    assert list(out.index) == [7, 8, 9, 10, 11, 12]
    assert [None if pd.isna(v) else v for v in out] == ["Ane+Marie", "Ane+Marie", "None+Marie", "Ane+None",
                                                        "Karen+Marie", None]
    assert sorted(calls, key=str) == sorted([("Ane", "Marie"), (None, "Marie"), ("Ane", None), ("Karen", "Marie"),
                                             (None, None)], key=str)
    plain = map_distinct_pairs(["x", "y"], ["z", None], joined, index=pd.Index([3, 4]))
    assert list(plain.index) == [3, 4] and plain.tolist() == ["x+z", "y+None"]
    assert map_distinct_pairs(["x"], ["z"], joined).index.tolist() == [0]  # lists: counted from 0


@pytest.mark.parametrize("values", [
    pa.chunked_array([["Åge"], [None, "Karen"]]), pa.array(["Åge", None, "Karen"], type=pa.string()),
    pa.array(["Åge", None, "Karen"], type=pa.large_string()), ["Åge", None, "Karen"],
    pd.Series(["Åge", None, "Karen"], dtype="object"), pd.Series(["Åge", None, "Karen"], dtype="string"),
    pd.Series(["Åge", pd.NA, "Karen"], dtype="string[pyarrow]")])
def test_every_kind_of_column_becomes_the_same_arrow_strings(values):
    out = to_arrow_strings(values)
    assert out.type == pa.large_string() and out.to_pylist() == ["Åge", None, "Karen"]
