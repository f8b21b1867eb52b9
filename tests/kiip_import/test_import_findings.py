"""What an archivist reads about a delivery whose files are not as KIIP writes them: each
finding's code, file, line, field and words. The reading tests show the run goes on; these
pin down what it says (mutation testing showed that a finding could lose its file, line or
field and no test noticed)."""

from __future__ import annotations

from conftest import write_delivery

from ingest.pipeline import run_pipeline


def _seen(result, *codes: str) -> list[tuple]:
    return [(f["code"], f["file"], f["line"], f["field"], f["message"]) for f in result.findings_json()["findings"]
            if f["code"] in codes]


def test_files_without_their_partner_or_with_a_second_one(tmp_path, clean_rows):
    write_delivery(tmp_path / "a", clean_rows, entry="K2701")
    (tmp_path / "a" / "K2701dok.csv").unlink()
    write_delivery(tmp_path / "b", clean_rows, entry="K2702")
    (tmp_path / "b" / "k2702FD.csv").write_bytes((tmp_path / "b" / "K2702fd.csv").read_bytes())
    result = run_pipeline([tmp_path])
    assert sorted(_seen(result, "FILE_PAIR_MISSING")) == [
        ("FILE_PAIR_MISSING", "K2701fd.csv", None, None, "K2701fd.csv has no dok file beside it"),
        ("FILE_PAIR_MISSING", "k2702FD.csv", None, None, "k2702FD.csv is a second file for K2702; it was not read"),
    ]
    assert {d.entry_number: d.rows for d in result.deliveries} == {"K2701": 10, "K2702": 10}


def test_a_file_name_without_its_k(tmp_path, clean_rows):
    dok, data = write_delivery(tmp_path, clean_rows, entry="K2703")
    dok.rename(tmp_path / "2703dok.csv")
    data.rename(tmp_path / "2703fd.csv")
    result = run_pipeline([tmp_path])
    (f,) = [f for f in result.findings_json()["findings"] if f["code"] == "FILE_NAME_NONSTANDARD"]
    assert (f["severity"], f["file"], f["message"]) == ("info", "2703fd.csv", "2703fd.csv does not start with K; "
                                                                             "read as K2703")
    assert [(d.entry_number, d.rows) for d in result.deliveries] == [("K2703", 10)]


def test_a_row_count_that_is_no_number(tmp_path, clean_rows):
    write_delivery(tmp_path, clean_rows, entry="K2705", meta={"ANTAL_POSTER": "ti"})
    result = run_pipeline([tmp_path])
    seen = _seen(result, "ANTAL_POSTER_MISMATCH")
    assert [(code, field, message) for code, _file, _line, field, message in seen] == [
        ("ANTAL_POSTER_MISMATCH", "ANTAL_POSTER", "ANTAL_POSTER 'ti' is not a number")]


def test_a_stated_row_count_names_its_field_and_the_rows_read(tmp_path, clean_rows):
    write_delivery(tmp_path, clean_rows, entry="K2706", meta={"ANTAL_POSTER": "12"})
    result = run_pipeline([tmp_path])
    (f,) = [f for f in result.findings_json()["findings"] if f["code"] == "ANTAL_POSTER_MISMATCH"]
    assert (f["file"], f["field"], f["suggestion"]) == ("K2706dok.csv", "ANTAL_POSTER", "10")
