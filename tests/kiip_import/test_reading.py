"""Reading real-world KIIP files: encodings, trailers, ragged rows, broken files."""

from __future__ import annotations

from pathlib import Path

from conftest import write_delivery

from ingest.pipeline import run_pipeline


def codes_at(result, code: str) -> list[dict]:
    return [f for f in result.findings_json()["findings"] if f["code"] == code]


def test_clean_delivery_has_no_errors_or_warnings(tmp_path, clean_rows):
    write_delivery(tmp_path, clean_rows)
    result = run_pipeline([tmp_path])
    out = result.findings_json()
    assert [d["entry_number"] for d in out["deliveries"]] == ["K2697"]
    assert out["deliveries"][0]["rows"] == 10
    assert [f for f in out["findings"] if f["severity"] != "info"] == []


def test_encodings_are_detected_and_read_alike(tmp_path, clean_rows):
    rows = [dict(r, FOEDESTED="Søllerød", MODERS_FORNAVN="Åse") for r in clean_rows]
    for i, enc in enumerate(["cp1252", "utf-8", "utf-8-sig"]):
        write_delivery(tmp_path / enc, rows, entry=f"K270{i}", encoding=enc)
    result = run_pipeline([tmp_path])
    seen = {d.entry_number: d.files[1]["encoding"] for d in result.deliveries}
    assert seen == {"K2700": "cp1252", "K2701": "utf-8", "K2702": "utf-8-sig"}
    clean = result.clean["KBF"][0]
    assert set(clean["FOEDESTED"]) == {"Søllerød"}
    assert set(clean["MODERS_FORNAVN"]) == {"Åse"}


def test_double_encoded_utf8_is_repaired_with_a_finding(tmp_path, clean_rows):
    rows = [dict(r, FOEDESTED="Søllerød") for r in clean_rows]
    _, data = write_delivery(tmp_path, rows, encoding="utf-8")
    data.write_bytes(data.read_bytes().decode("utf-8").encode("utf-8").decode("latin-1").encode("utf-8"))
    result = run_pipeline([tmp_path], keep_clean=True)
    repaired = codes_at(result, "ENCODING_REPAIRED")
    assert len(repaired) == 1 and repaired[0]["file"] == "K2697fd.csv"
    assert set(result.clean["KBF"][0]["FOEDESTED"]) == {"Søllerød"}


def test_danish_header_spelling_and_shuffled_columns_match(tmp_path, clean_rows):
    danish = {"FADERS_FOEDSELSDAG": "FadersFødselsdag", "LOEBE_NR": "Løbe nr.", "KOEN": "Køn",
              "KALENDERAAR": "Kalenderår", "FOEDSELSDATO": "Fødselsdato"}
    from validators.sources import KBF

    cols = list(reversed(KBF.columns))
    header = [danish.get(c, c) for c in cols]
    folder = tmp_path / "d"
    folder.mkdir()
    meta = "INDTASTNINGSNUMMER;KILDE;SOGN;HERRED;AMT;FRA_AAR;TIL_AAR;INDTASTER;INDTASTNINGSDATO;ANTAL_POSTER;DEFINITIONSFIL"
    row = "K2697;Fødte;Vejby;Holbo;Frederiksborg;1921;1925;t;20240101;10;KBF.def"
    lines = [";".join(header)] + [";".join(r[c] for c in cols) for r in clean_rows] + ["", meta, row]
    (folder / "K2697dok.csv").write_text(meta + "\n" + row + "\n", encoding="cp1252")
    (folder / "k2697FD.CSV").write_text("\n".join(lines) + "\n", encoding="cp1252")
    result = run_pipeline([folder])
    findings = result.findings_json()["findings"]
    assert [f for f in findings if f["severity"] != "info"] == []
    assert result.clean["KBF"][0]["KOEN"].tolist() == ["M"] * 10


def test_missing_trailer_and_trailer_mismatch(tmp_path, clean_rows):
    write_delivery(tmp_path / "a", clean_rows, entry="K2701", trailer=False)
    dok, data = write_delivery(tmp_path / "b", clean_rows, entry="K2702")
    data.write_text(data.read_text(encoding="cp1252").replace(";Vejby;Holbo", ";Tibirke;Holbo"), encoding="cp1252")
    result = run_pipeline([tmp_path])
    missing = codes_at(result, "TRAILER_MISSING")
    assert [(f["file"], f["severity"]) for f in missing] == [("K2701fd.csv", "error")]
    mismatch = codes_at(result, "TRAILER_MISMATCH")
    assert [(f["file"], f["field"], f["line"]) for f in mismatch] == [("K2702fd.csv", "SOGN", 14)]


def test_row_count_and_entry_number_disagreements(tmp_path, clean_rows):
    write_delivery(tmp_path / "a", clean_rows, entry="K2701", meta={"ANTAL_POSTER": "12"})
    dok, data = write_delivery(tmp_path / "b", clean_rows, entry="K2702",
                               meta={"INDTASTNINGSNUMMER": "K2703"})
    result = run_pipeline([tmp_path])
    count = codes_at(result, "ANTAL_POSTER_MISMATCH")
    assert [(f["file"], f["suggestion"]) for f in count] == [("K2701dok.csv", "10")]
    # the rows were keyed with K2697 (kbf_row's); K2702's files are named K2702, its metadata says K2703
    assert [(f["file"], f["field"], f["message"]) for f in codes_at(result, "ENTRY_NUMBER_MISMATCH")] == [
        ("K2701fd.csv", "INDTASTNINGSNUMMER", "the rows say K2697, the metadata says K2701"),
        ("K2702dok.csv", "INDTASTNINGSNUMMER", "the file names say K2702, the metadata says K2703"),
        ("K2702fd.csv", "INDTASTNINGSNUMMER", "the rows say K2697, the metadata says K2703")]


def test_ragged_rows(tmp_path, clean_rows):
    rows = [dict(r) for r in clean_rows]
    dok, data = write_delivery(tmp_path, rows)
    lines = data.read_bytes().decode("cp1252").split("\r\n")
    lines[3] = lines[3] + ";extra;more"  # line 4: two non-empty fields too many
    lines[5] = lines[5] + ";;;"  # line 6: empty fields only (tolerated)
    data.write_bytes("\r\n".join(lines).encode("cp1252"))
    result = run_pipeline([tmp_path])
    shape = codes_at(result, "ROW_SHAPE")
    assert [(f["line"], f["severity"]) for f in shape] == [(4, "error")]
    extra = codes_at(result, "ROW_EXTRA_EMPTY_FIELDS")
    assert len(extra) == 1 and extra[0]["line"] is None
    assert result.deliveries[0].rows == 9  # the malformed row is not used


def test_quoted_fields_take_the_exact_path_with_right_lines(tmp_path, clean_rows):
    rows = [dict(r) for r in clean_rows]
    rows[2]["ANMAERKNINGER"] = '"Født; hjemme"'
    rows[6]["KOEN"] = "X"
    write_delivery(tmp_path, rows)
    result = run_pipeline([tmp_path], keep_clean=True)
    assert [f["line"] for f in codes_at(result, "KOEN_INVALID")] == [8]
    assert "Født; hjemme" in set(result.clean["KBF"][0]["ANMAERKNINGER"])


def test_unreadable_and_empty_files_do_not_stop_the_run(tmp_path, clean_rows):
    write_delivery(tmp_path / "good", clean_rows, entry="K2701")
    bad = tmp_path / "bad"
    write_delivery(bad, clean_rows, entry="K2702")
    (bad / "K2702fd.csv").write_bytes(bytes(range(256)) * 50)
    empty = tmp_path / "empty"
    write_delivery(empty, clean_rows, entry="K2703")
    (empty / "K2703fd.csv").write_bytes(b"")
    result = run_pipeline([tmp_path])
    unreadable = {f["file"]: f["message"] for f in codes_at(result, "FILE_UNREADABLE")}
    assert set(unreadable) == {"K2702fd.csv", "K2703fd.csv"}
    assert "empty" in unreadable["K2703fd.csv"]
    good = [d for d in result.deliveries if d.entry_number == "K2701"][0]
    assert good.rows == 10


def test_missing_partner_file_and_missing_column(tmp_path, clean_rows):
    dok, data = write_delivery(tmp_path / "a", clean_rows, entry="K2701")
    data.unlink()
    from validators.sources import KBF

    header = [c for c in KBF.columns if c != "KILDEANGIVELSE"]
    write_delivery(tmp_path / "b", clean_rows, entry="K2702", header=header)
    result = run_pipeline([tmp_path])
    assert [f["file"] for f in codes_at(result, "FILE_PAIR_MISSING")] == ["K2701dok.csv"]
    missing = codes_at(result, "HEADER_MISSING_COLUMN")
    assert [(f["file"], f["field"]) for f in missing] == [("K2702fd.csv", "KILDEANGIVELSE")]


def test_census_download_is_read_as_an_ft_delivery(tmp_path):
    shared = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "ddd-census-vejby"
    folder = tmp_path / "census"
    folder.mkdir()
    (folder / "C5799.csv").write_bytes(
        "KIPnr;Løbenr;Kildestednavn;Husstands/familienr.;Kildenavn;Køn;Stilling_i_husstanden;FTår\n"
        "C5799;1;Vejby;1;Jens Hansen;M;Husfader;FT-1890\n".encode("latin-1"))
    result = run_pipeline([folder], keep_clean=True)
    findings = result.findings_json()["findings"]
    assert [(f["code"], f["severity"], f["file"]) for f in findings] == [("CENSUS_DOWNLOAD", "info", "C5799.csv")]
    (delivery,) = result.deliveries
    assert (delivery.entry_number, delivery.source, delivery.rows) == ("C5799", "FT", 1)
    table = result.clean["FT"][0]
    assert table.at[0, "FULDT_NAVN"] == "Jens Hansen" and table.at[0, "TAELLINGSAAR_REN"] == 1890
    if shared.is_dir():
        real = run_pipeline([shared])
        assert {(d.entry_number, d.source) for d in real.deliveries} == {
            ("C5799", "FT"), ("C6987", "FT"), ("D7013", "FT")}
        assert not any(f["code"] == "SOURCE_UNSUPPORTED" for f in real.findings_json()["findings"])


def test_known_rename_is_applied_and_reported(tmp_path, clean_rows, monkeypatch):
    """The renames file is read as an archive writes it (MGR_KNOWN_RENAMES names it)."""
    from kiip_import import discovery

    rows = [dict(r, INDTASTNINGSNUMMER="K2706") for r in clean_rows]
    write_delivery(tmp_path, rows, entry="K2705", meta={"INDTASTNINGSNUMMER": "K2706"})
    monkeypatch.setenv(discovery.RENAMES_ENV, str(Path(__file__).resolve().parent / "data" / "known_renames.csv"))
    discovery.known_renames.cache_clear()
    try:
        assert discovery.known_renames()["K2705"][0] == "K2706"
        result = run_pipeline([tmp_path])
    finally:
        monkeypatch.delenv(discovery.RENAMES_ENV)
        discovery.known_renames.cache_clear()
    assert [d.entry_number for d in result.deliveries] == ["K2706"]
    renamed = codes_at(result, "KNOWN_RENAME")
    assert len(renamed) == 1 and renamed[0]["severity"] == "info" and renamed[0]["file"] == "K2705dok.csv"
    assert codes_at(result, "ENTRY_NUMBER_MISMATCH") == []


def test_a_file_of_control_characters_is_refused_and_one_stray_one_is_not():
    """Binary data without NUL bytes decodes as UTF-8 too: the share of control characters
    tells it from text (a KIIP export may hold a stray one, pasted into a remark)."""
    from kiip_import.encoding import decode

    garbage = bytes(range(1, 9)) * 40 + b"LOEBE_NR;FORNAVN\r\n" * 5
    refused = decode(garbage)
    assert refused.text is None
    assert refused.problem == "the file is not text in UTF-8 or Windows-1252 (read as utf-8)"
    text = b"LOEBE_NR;FORNAVN\r\n" + b"".join(b"%d;Ane\r\n" % i for i in range(1, 60)) + b"60;An\x07e\r\n"
    kept = decode(text)
    assert kept.problem is None and "An\x07e" in kept.text


def test_a_stray_quote_after_a_quoted_word_is_read_not_refused(tmp_path, clean_rows):
    # '"Født" hjemme': KIIP wrote the quotes the transcriber typed; the row is read as it stands.
    rows = [dict(r) for r in clean_rows]
    rows[4]["ANMAERKNINGER"] = '"Født" hjemme'
    write_delivery(tmp_path, rows)
    result = run_pipeline([tmp_path], keep_clean=True)
    assert codes_at(result, "FILE_UNREADABLE") == [] and result.deliveries[0].rows == 10
    assert result.clean["KBF"][0]["ANMAERKNINGER"].tolist()[4] == "Født hjemme"


def test_a_trailer_without_the_definition_file_is_still_the_trailer(tmp_path, clean_rows):
    _, data = write_delivery(tmp_path, clean_rows)
    lines = data.read_bytes().decode("cp1252").split("\r\n")
    # the trailer's header and row, without their last column (DEFINITIONSFIL)
    lines[-3], lines[-2] = lines[-3].rsplit(";", 1)[0], lines[-2].rsplit(";", 1)[0]
    assert lines[-3].endswith("ANTAL_POSTER")
    data.write_bytes("\r\n".join(lines).encode("cp1252"))
    result = run_pipeline([tmp_path])
    assert result.deliveries[0].rows == 10
    assert [f["code"] for f in result.findings_json()["findings"] if f["severity"] != "info"] == []


def test_a_plain_file_with_blank_lines_is_read_by_the_fast_reader(tmp_path, monkeypatch):
    from kiip_import import reader

    path = tmp_path / "plain.csv"
    path.write_bytes(b"A;B\r\n1;2\r\n\r\n3;4\r\n\n5;6\r\n")

    def slow(*args, **kwargs):
        raise AssertionError("a file without quotes needs no csv-module reading")

    monkeypatch.setattr(reader, "_exact_table", slow)
    raw = reader.read_data_file(path)
    assert raw.table.to_pydict() == {"0": ["1", "3", "5"], "1": ["2", "4", "6"]}
    assert raw.lines.tolist() == [2, 4, 6]


def test_each_file_is_recorded_with_its_sha256(tmp_path, clean_rows):
    import hashlib

    dok, data = write_delivery(tmp_path, clean_rows)
    result = run_pipeline([tmp_path])
    assert sorted((f["name"], f["sha256"]) for f in result.deliveries[0].files) == sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in (dok, data))


def test_a_metadata_file_the_csv_reader_cannot_parse_names_its_line(tmp_path, clean_rows):
    dok, _ = write_delivery(tmp_path, clean_rows)
    head, row = dok.read_bytes().decode("cp1252").split("\r\n")[:2]
    dok.write_bytes(f"{head}\r\n{row}{'x' * 1_000_001}\r\n".encode("cp1252"))  # a field past the limit
    result = run_pipeline([tmp_path])
    unreadable = codes_at(result, "FILE_UNREADABLE")
    assert [(f["file"], f["severity"]) for f in unreadable] == [("K2697dok.csv", "error")]
    assert "cannot be parsed at line 2" in unreadable[0]["message"]
