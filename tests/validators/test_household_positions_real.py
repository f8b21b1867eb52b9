"""The household-position table measured against real position strings: about 4,300
strings of the Danish censuses with the number of persons who carry each (OccCANINE,
Apache-2.0), lower-case and ASCII-folded ('deres boern').

The file lives in ../shared/reference (never in this repository).  Without it the test
fails: the share is the measure the table is held to.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import SUMMARY_LINES

from validators.households import classify_position, fold_position, position_table

REFERENCE = (Path(__file__).resolve().parents[3] / "shared" / "reference"
             / "household_position_strings_dk_census.csv")
MIN_SHARE = 0.95


def reference_strings() -> list[tuple[str, int]]:
    """(string, persons) per row.  The file's first line is not the header: skip it."""
    assert REFERENCE.is_file(), f"reference strings not found at {REFERENCE}"
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("occ1;"))
    return [(row["occ1"], int(row["n"])) for row in csv.DictReader(lines[header:], delimiter=";")
            if row["occ1"] is not None and row["n"]]


def test_share_of_persons_whose_position_gets_a_code():
    strings = reference_strings()
    assert len(strings) > 4000
    total = sum(n for _, n in strings)
    placed = sum(n for text, n in strings if (lambda c: c[2] and c[0] is not None)(classify_position(text)))
    empty = sum(n for text, n in strings if not text.strip())
    share = placed / total
    text = (f"{share:.1%} of {total} persons ({len(strings)} distinct strings) get a position code; "
            f"{empty} of the rest have an empty string")
    print("\nhousehold positions, OccCANINE Danish census strings: " + text)
    SUMMARY_LINES.append("household positions, OccCANINE Danish census strings: " + text)
    assert share >= MIN_SHARE, text


def test_no_two_rows_fold_to_one_spelling_with_different_codes():
    folded: dict[str, tuple[str, tuple]] = {}
    for spelling, value in position_table().items():
        key = fold_position(spelling)
        assert folded.setdefault(key, (spelling, value))[1] == value, (spelling, folded[key])


@pytest.mark.parametrize(("text", "expected"), [
    # ASCII-folded forms meet the Danish spellings of the table.
    ("deres boern", ("BARN", "BarnFælles")),
    ("deres soen", ("BARN", "BarnFælles")),
    ("hans soen", ("BARN", "SF")),
    ("konens datter", ("BARN", "SM")),
    ("hendes boern", ("BARN", "SM")),
    ("aftaegtskone", ("ANDEN", None)),
    ("pleiebarn", ("PLEJEBARN", None)),
    ("Deres Børn", ("BARN", "BarnFælles")),
    ("Huusfaderens Søn", ("BARN", "SF")),
    # Old spellings.
    ("huusfader", ("HUSFADER", "Far")),
    ("hans hustrue", ("HUSMODER", "Mor")),
    ("tienestepige", ("TYENDE", None)),
    ("tieneste folk", ("TYENDE", None)),
    ("inderste", ("LOGERENDE", None)),
    ("almisselem", ("ANDEN", None)),
    # German entries of the Slesvig files.
    ("seine Ehefrau", ("HUSMODER", "Mor")),
    ("Ehefrau", ("HUSMODER", "Mor")),
    ("Hausvater", ("HUSFADER", "Far")),
    ("Hufner", ("ERHVERV", None)),
    ("Sohn", ("BARN", "BarnFælles")),
    ("Tochter", ("BARN", "BarnFælles")),
    ("deren Kinder", ("BARN", "BarnFælles")),
    ("ihre kinder", ("BARN", "BarnFælles")),
    ("seine Kinder", ("BARN", "SF")),
    ("Knecht", ("TYENDE", None)),
    ("Magd", ("TYENDE", None)),
    ("Dienstmädchen", ("TYENDE", None)),
    ("dienstmaedchen", ("TYENDE", None)),
    ("Tagelöhner", ("ERHVERV", None)),
    ("tageloehner", ("ERHVERV", None)),
    # The FT-1880 research layout of Aars (erhverv column).
    ("Huusfader og Huuseier", ("HUSFADER", "Far")),
    ("Huusfader, Huuseier", ("HUSFADER", "Far")),
    ("Huusfader, Gaardmand", ("HUSFADER", "Far")),
    ("Huusfader, Gaardeier", ("HUSFADER", "Far")),
    ("hans Hustru", ("HUSMODER", "Mor")),
    ("Huusmoder", ("HUSMODER", "Mor")),
    ("deres Barn", ("BARN", "BarnFælles")),
    ("Tjenestefolk", ("TYENDE", None)),
    ("Huusbestyrerinde", ("TYENDE", None)),
    ("Snekersvend i lære hos Fornævnte", ("TYENDE", None)),
    ("Forsørges af Comunen", ("ANDEN", None)),
    ("Huusfaderens Moder, nyder Aftægt", ("SLAEGTNING", None)),
    ("Aftægtsmand, Huusfaderens Fader", ("SLAEGTNING", None)),
    ("Huusforpagter, Jordbruger", ("ERHVERV", None)),
    ("Skræddermester, Huseier", ("OVERHOVED", None)),
    ("Huuseier, Høker", ("OVERHOVED", None)),
    ("Væverske", ("ERHVERV", None)),
    ("Snedker", ("ERHVERV", None)),
    ("Sneker og Karetmager", ("ERHVERV", None)),
    ("Posteispeditør", ("ERHVERV", None)),
    ("Postasistent", ("ERHVERV", None)),
    # Commas lost in the folded exports, names and remarks after the position, an
    # occupation the table lacks before it.
    ("husfader gaardeier", ("HUSFADER", "Far")),
    ("arbeidsmand husfader", ("HUSFADER", "Far")),
    ("husmoder hans hustru", ("HUSMODER", "Mor")),
    ("hans kone lars jensen", ("HUSMODER", "Mor")),
    ("deres boern som tjener foraeldrene", ("BARN", "BarnFælles")),
    ("cigarmager husfader", ("HUSFADER", "Far")),
    ("huusfaders moder der af ham forsoerges", ("SLAEGTNING", None)),
])
def test_real_spellings_get_their_code_and_role(text, expected):
    code, role, known = classify_position(text)
    assert known and (code, role) == expected, (text, code, role)


@pytest.mark.parametrize("text", ["peder rasmussens soen", "af husmoderen", "do", "Hsufader"])
def test_someone_elses_relative_or_a_ditto_stays_unknown(text):
    assert classify_position(text) == (None, None, False)
