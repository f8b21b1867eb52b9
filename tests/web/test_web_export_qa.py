"""Export as a KIIP delivery (read back by the importer unchanged), the QA queue and the
imports overview, and the web tables' own migration."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from sqlalchemy import select
from web_support import Api, client_as, csrf_of, danish, kbf_fields

from ingest.pipeline import run_pipeline

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _key(api, book, fields, **extra):
    r = api.post(f"/api/books/{book}/records", {"fields": fields, **extra})
    assert r.status_code == 201, r.json
    return r.json["record"]


def test_export_is_read_back_by_the_importer_with_the_same_values(web, tmp_path):
    api = Api(client_as(web, "tr1"))
    book = web.config["BOOK_ID"]
    keyed = [
        kbf_fields(1, FORNAVN="Søren", EFTERNAVN="Ærtebjerg", ANMAERKNINGER='født "hjemme"; døbt i kirken'),
        kbf_fields(2, FORNAVN="Åge", FOEDESTED="Ølstykke", INDTASTERS_BEMAERKNINGER="svært læselig"),
        kbf_fields(3, FOEDSELSDATO="19210231"),
    ]
    _key(api, book, keyed[0])
    _key(api, book, keyed[1])
    _key(api, book, keyed[2], notes={"FOEDSELSDATO": "står sådan i bogen"})
    rev = client_as(web, "rev1")
    r = rev.get(f"/books/{book}/export")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    folder = tmp_path / "export"
    zipfile.ZipFile(io.BytesIO(r.data)).extractall(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["K2697dok.csv", "K2697fd.csv"]
    raw = (folder / "K2697fd.csv").read_bytes()
    assert b"\r\n" in raw and raw.decode("cp1252")  # KIIP's own encoding and line ends
    result = run_pipeline([folder])
    [delivery] = result.deliveries
    assert delivery.entry_number == "K2697" and delivery.rows == 3 and delivery.source == "KBF"
    delivery_level = result.findings[result.findings["line"].isna()] if len(result.findings) else []
    assert len(delivery_level) == 0, delivery_level
    clean = result.clean["KBF"][0]
    assert list(clean["LOEBE_NR"]) == [1, 2, 3]
    for i, fields in enumerate(keyed):
        for name, value in fields.items():
            if name == "INDTASTERS_BEMAERKNINGER":
                continue
            assert clean[name].iloc[i] == value, (i, name)
    assert clean["INDTASTERS_BEMAERKNINGER"].iloc[1] == "svært læselig"
    assert "står sådan i bogen" in clean["INDTASTERS_BEMAERKNINGER"].iloc[2]
    assert clean["KILDEANGIVELSE"].iloc[0] == "Vejby KB 1921-1925"
    codes = set(result.findings["code"])
    assert "DATE_INVALID" in codes  # the literal reading travels, with its finding, as the importer sees it


def test_export_falls_back_to_utf8_for_characters_outside_windows_1252(web, tmp_path):
    from webentry.export import write_export
    from webentry.models import Book

    api = Api(client_as(web, "tr1"))
    book = web.config["BOOK_ID"]
    _key(api, book, kbf_fields(1, ANMAERKNINGER="præsten skrev ŋ"))
    with web.extensions["mgr_sessions"]() as s:
        paths = write_export(s, s.get(Book, book), tmp_path / "out")
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in paths)
    result = run_pipeline([tmp_path / "out"])
    assert result.clean["KBF"][0]["ANMAERKNINGER"].iloc[0] == "præsten skrev ŋ"


def _import_fixture(web, tmp_path):
    from conftest import kbf_row, write_delivery

    from ingest.store import import_paths

    rows = [kbf_row(i, i) for i in range(1, 8)]
    rows[2]["FOEDSELSDATO"] = "19210231"
    rows[5]["KILDE_LOEBE_NR"] = "9"
    write_delivery(tmp_path / "in", rows)
    import_paths(web.extensions["mgr_store"], [tmp_path / "in"])


def test_qa_queue_filters_and_resolutions(web, tmp_path):
    from ingest.store.models import corrections, findings
    from webentry.models import Decision

    _import_fixture(web, tmp_path)
    c = client_as(web, "rev1")
    html = c.get("/qa").get_data(as_text=True)
    assert "DATE_INVALID" in html and "KILDE_LOEBE_NR_GAP" in html
    only = c.get("/qa?code=DATE_INVALID&severity=error&book=K2697").get_data(as_text=True)
    listed = only[only.index('<table class="grid qa">'):]
    assert "DATE_INVALID" in listed and "KILDE_LOEBE_NR_GAP" not in listed
    with web.extensions["mgr_store"].reading() as conn:
        date_id = conn.execute(select(findings.c.id).where(findings.c.code == "DATE_INVALID")).scalar()
        gap_id = conn.execute(select(findings.c.id).where(findings.c.code == "KILDE_LOEBE_NR_GAP")).scalar()
    page = c.get(f"/qa/{date_id}").get_data(as_text=True)
    assert "19210231" in page and danish("Record correction") in page
    # the correction's field is chosen from the record's fields, shown with the entry screen's labels
    assert '<select name="field" required>' in page
    assert '<option value="FOEDSELSDATO" selected>Fødselsdato (FOEDSELSDATO)</option>' in page
    token = csrf_of(c, f"/qa/{date_id}")
    r = c.post(f"/qa/{date_id}/resolve", data={"csrf_token": token, "decision": "corrected", "field": "FOEDSELSDATO",
                                               "new_value": "19210213", "note": "scan shows 13 Feb"})
    assert r.status_code == 302
    with web.extensions["mgr_store"].reading() as conn:
        corr = conn.execute(select(corrections).where(corrections.c.kind == "manual")).one()
    assert (corr.field, corr.old_value, corr.new_value, corr.who) == ("FOEDSELSDATO", "19210231", "19210213", "rev1")
    assert "DATE_INVALID" in corr.why
    no_note = c.post(f"/qa/{gap_id}/resolve", data={"csrf_token": token, "decision": "book_is_right"})
    assert no_note.status_code == 302
    c.post(f"/qa/{gap_id}/resolve", data={"csrf_token": token, "decision": "book_is_right",
                                          "note": "the book skips 7 and 8"})
    with web.extensions["mgr_sessions"]() as s:
        decisions = {d.finding_id: (d.decision, d.correction_id is not None) for d in s.scalars(select(Decision))}
    assert decisions == {date_id: ("corrected", True), gap_id: ("book_is_right", False)}
    left = c.get("/qa").get_data(as_text=True)
    assert f"/qa/{date_id}?" not in left and f'/qa/{date_id}"' not in left
    assert f"/qa/{date_id}" in c.get("/qa?show=all").get_data(as_text=True)


def test_queue_shows_a_files_findings_as_one_row_and_a_records_as_one(web, tmp_path):
    """The rows a reader cannot place on a record (here: three ragged rows of one file) are one
    entry of the queue, and so are all findings of one record; each code with its title."""
    import shutil

    from conftest import kbf_row, write_delivery

    from ingest.store import import_paths
    from ingest.store.models import findings
    from validators.catalogue import CATALOGUE

    ragged = Path(__file__).resolve().parents[2] / "fixtures" / "hostile" / "ragged_rows"
    shutil.copytree(ragged, tmp_path / "ragged")
    rows = [kbf_row(i, i, INDTASTNINGSNUMMER="K2698") for i in range(1, 6)]
    rows[2].update(FOEDSELSDATO="19210231", MODERS_ALDER="9")
    write_delivery(tmp_path / "two", rows, entry="K2698")
    import_paths(web.extensions["mgr_store"], [tmp_path / "ragged", tmp_path / "two"])
    with web.extensions["mgr_store"].reading() as conn:
        shape = list(conn.execute(select(findings.c.file).where(findings.c.code == "ROW_SHAPE")))
        on_3 = sorted(r.code for r in conn.execute(select(findings.c.code).where(
            findings.c.entry_number == "K2698", findings.c.loebe_nr == 3)))
    assert len(shape) == 3 and len({r.file for r in shape}) == 1 and len(on_3) >= 2
    html = client_as(web, "rev1").get("/qa").get_data(as_text=True)
    groups = re.findall(r'<tbody class="qa-group (record|file)-group" data-findings="(\d+)">(.*?)</tbody>', html, re.S)
    file_groups = [g for g in groups if g[0] == "file" and "ROW_SHAPE" in g[2]]
    assert len(file_groups) == 1 and file_groups[0][1] == "3"
    assert file_groups[0][2].count('class="button small open-finding"') == 1
    record_3 = [g for g in groups if g[0] == "record" and "K2698" in g[2] and "LOEBE_NR 3" in g[2]]
    assert len(record_3) == 1 and record_3[0][1] == str(len(on_3))
    for code in on_3 + ["ROW_SHAPE"]:
        assert danish(CATALOGUE[code].title).replace("'", "&#39;") in html


def test_imports_overview_shows_deliveries_and_quarantine(web, tmp_path):
    _import_fixture(web, tmp_path)
    q = web.config["WORK"] / "quarantine" / "20250101T000000-K9999-1"
    q.mkdir(parents=True)
    (q / "K9999dok.csv").write_text("x")
    (q / "K9999dok.csv.reason.txt").write_text("FILE_PAIR_MISSING: the data file never came")
    html = client_as(web, "admin1").get("/admin/imports").get_data(as_text=True)
    assert "K2697" in html and "current" in html
    assert "K9999dok.csv" in html and "the data file never came" in html


def test_web_tables_match_their_models_and_leave_the_store_alone(web):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ingest.store.database import schema_revision
    from webentry.db import web_revision
    from webentry.models import WebBase

    store = web.extensions["mgr_store"]
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), WebBase.metadata)
    web_diff = [d for d in diff if "web_" in repr(d)]
    assert web_diff == []
    assert web_revision(store) == "0006_draft_per_record"
    assert schema_revision(store.engine) == "0003"
