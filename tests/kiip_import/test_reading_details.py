"""Details of reading a delivery that an archivist sees in the findings, found unheld by
mutation testing of ``kiip_import/`` (``benchmarks/bench_mutation.py``, seed 8): how a file
name that is not UTF-8 is shown, a linked or over-wide file refused with its reason, the
UTF-7 note, blank lines before a header, one file reached twice, a rename list row without
its entry number, the count of rows with extra empty fields, a census file of several
entry numbers, a census place name two parishes share, and an unknown layout's line."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
from census_rows import RESEARCH_HEADER, research_row
from conftest import write_delivery

from ingest.pipeline import run_pipeline
from kiip_import import delivery, discovery, reader


def _problems(raw) -> list[tuple]:
    return [(p.code, p.message, p.line) for p in raw.problems]


def test_a_file_name_that_is_not_utf8_is_shown_with_a_replacement_character(tmp_path):
    name = os.fsdecode(b"K2697fd\xe6.csv")  # a Latin-1 'æ' in a name written by an old Windows tool
    path = tmp_path / name
    path.write_text("A;B\n1;2\n", encoding="utf-8")
    assert reader.display_name(path) == "K2697fd\ufffd.csv"
    raw = reader.read_data_file(path)
    assert raw.name == "K2697fd\ufffd.csv" and raw.table.num_rows == 1


def test_a_linked_data_file_is_refused_with_its_reason(tmp_path):
    (tmp_path / "real.csv").write_text("A;B\n1;2\n", encoding="utf-8")
    (tmp_path / "K2697fd.csv").symlink_to(tmp_path / "real.csv")
    raw = reader.read_data_file(tmp_path / "K2697fd.csv")
    assert not raw.readable and raw.table is None
    assert _problems(raw) == [("FILE_UNREADABLE", "K2697fd.csv cannot be read: is a symbolic link; links are "
                                                  "not followed", None)]


def test_a_header_wider_than_a_kiip_file_is_refused_on_line_1(tmp_path):
    path = tmp_path / "K2697fd.csv"
    width = reader.MAX_COLUMNS + 1
    path.write_text(";".join(f"C{i}" for i in range(width)) + "\n" + ";" * (width - 1) + "\n", encoding="utf-8")
    raw = reader.read_data_file(path)
    assert not raw.readable and len(raw.header) == reader.MAX_COLUMNS
    assert _problems(raw) == [("FILE_UNREADABLE", f"K2697fd.csv: the header has {width:,} columns; a KIIP file has "
                                                  f"at most {reader.MAX_COLUMNS:,}", 1)]


def test_a_utf7_file_is_read_and_said_to_be_utf7(tmp_path):
    path = tmp_path / "K2697fd.csv"
    path.write_bytes("NAVN;STED\nSøren;Holløse\nMærsk;Vejby\n".encode("utf-7"))
    raw = reader.read_data_file(path)
    assert raw.encoding == "utf-7" and raw.table.column("0").to_pylist() == ["Søren", "Mærsk"]
    assert _problems(raw) == [("ENCODING_UTF7", "K2697fd.csv is written in UTF-7 ('+AHw-' for '|', '+APg-' for "
                                                "'ø'); it was decoded as UTF-7", None)]


def test_blank_lines_before_the_header_are_passed_over(tmp_path):
    path = tmp_path / "K2697fd.csv"
    path.write_text("\n  \r\n\nNAVN;STED\nJens;Vejby\n", encoding="utf-8")
    raw = reader.read_data_file(path)
    assert raw.header == ["NAVN", "STED"] and raw.table.column("1").to_pylist() == ["Vejby"]


def test_rows_with_extra_empty_fields_are_counted_in_the_note(tmp_path):
    path = tmp_path / "K2697fd.csv"
    path.write_text('NAVN;STED\n"Jens";Vejby;;\nNiels;Vejby\nAne;Vejby;\n', encoding="utf-8")  # a quote: exact path
    raw = reader.read_data_file(path)
    assert raw.table.num_rows == 3
    assert _problems(raw) == [("ROW_EXTRA_EMPTY_FIELDS", "2 row(s) carry extra empty fields after the last column; "
                                                         "they were dropped", None)]


def test_a_file_reached_through_its_folder_and_by_its_name_is_read_once(tmp_path, clean_rows):
    dok, data = write_delivery(tmp_path / "in", clean_rows)
    files, problems = discovery.iter_csv_files([tmp_path / "in", data, tmp_path / "in" / ".." / "in" / data.name])
    assert sorted(p.name for p in files) == sorted([dok.name, data.name]) and problems == []
    result = run_pipeline([tmp_path / "in", data])
    assert [(d.entry_number, d.rows) for d in result.deliveries] == [("K2697", len(clean_rows))]


def test_a_rename_row_without_its_entry_number_is_left_out():
    rows = ["# the archive's own list", "file_entry_number;entry_number;reason", "k2710;K2711;keyed under the wrong number",
            "K2712;;entry number still unknown", ";K2713;no file number"]
    assert discovery.read_known_renames(rows) == {"K2710": ("K2711", "keyed under the wrong number")}


def test_a_census_file_of_six_entry_numbers_lists_them_all_and_of_seven_cuts_the_list(tmp_path):
    for count in (6, 7):
        folder = tmp_path / str(count)
        folder.mkdir()
        rows = [research_row(f"C{1000 + n}", 1880, 1, "Jens Hansen", "M", 40) for n in range(count)]
        (folder / "FT1880.csv").write_text("\n".join([RESEARCH_HEADER, *rows]) + "\n", encoding="utf-8")
        result = run_pipeline([folder])
        several = [f["message"] for f in result.findings_json()["findings"] if f["code"] == "CENSUS_SEVERAL_DELIVERIES"]
        assert len(several) == count
        listed = ", ".join(f"C{1000 + n}" for n in range(min(count, 6)))
        tail = " …" if count > 6 else ""
        assert several[0].startswith(f"FT1880.csv holds rows of {count} entry numbers ({listed}{tail}); "), several[0]


def test_a_census_place_name_two_parishes_share_goes_to_the_one_in_the_amt_of_the_birthplaces():
    from validators.places import load_parish_register

    register = load_parish_register()
    shared = next((key, codes) for key, codes in register.index.items()
                  if len(codes) == 2 and register.parishes[codes[0]].amt != register.parishes[codes[1]].amt)
    key, codes = shared
    for code in codes:
        amt = register.parishes[code].amt
        born = next(p.name for c, p in register.parishes.items()
                    if p.amt == amt and c not in codes and register.resolve(p.name).code == c)
        table = pa.table({"BYENS_NAVN": [key] * 3, "FOEDESTED": [born] * 3})
        parish = register.parishes[code]
        assert delivery._parish_from_places(table) == {k: v for k, v in (
            ("SOGN", parish.name), ("HERRED", parish.herred), ("AMT", parish.amt)) if v}, (key, code)


def test_an_unknown_census_layout_is_reported_on_the_header_line(tmp_path):
    (tmp_path / "FT1880_aars.csv").write_text(
        "Indtastningsnr|kilde|sogn|lbnr|hele_navnet|koenet|alder\nC3349|FT-1880|Aars|1|Jens Hansen|M|40\n",
        encoding="utf-8")
    (found,) = delivery.load_loose_file(discovery.LooseFile(Path(tmp_path / "FT1880_aars.csv")))
    assert [(f["code"], f["file"], f["line"]) for f in found.findings] == [("LAYOUT_UNKNOWN", "FT1880_aars.csv", 1)]


def test_a_dok_file_with_kiip_s_short_metadata_headers_is_read(tmp_path, clean_rows):
    """Some KIIP versions head the metadata Indtastningsnr, Antal, Fra, Til."""
    dok, _data = write_delivery(tmp_path, clean_rows, entry="K2697", trailer=False)
    header, row = dok.read_text(encoding="cp1252").splitlines()
    short = {"INDTASTNINGSNUMMER": "Indtastningsnr", "ANTAL_POSTER": "Antal", "FRA_AAR": "Fra", "TIL_AAR": "Til"}
    dok.write_text(";".join(short.get(c, c) for c in header.split(";")) + "\r\n" + row + "\r\n", encoding="cp1252")
    (d,) = run_pipeline([tmp_path]).deliveries
    assert [d.meta.get(k) for k in short] == ["K2697", str(len(clean_rows)), "1921", "1925"]
