"""Learning from the staff, end to end: records keyed on a scan and approved by a reviewer
become training cells (cut where the OCR located each row, labelled with the keyed value),
the training command learns from them, and the new model reads those cells."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from web_support import SCANS, Api, add_book, add_users, client_as, csrf_of, kbf_fields, make_app


@pytest.fixture
def approved(tmp_path):
    from sqlalchemy import select

    from webentry.models import Page, Scan

    app = make_app(tmp_path / "work", OCR_MODE="sync")
    add_users(app)
    book = add_book(app, assign=("tr1",))
    admin = client_as(app, "admin1")
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": csrf_of(admin, f"/books/{book}"), "pages": [
        (io.BytesIO((SCANS / "kbf_clean_p0037.jpg").read_bytes()), "p37.jpg")]},
        content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1]
    with app.extensions["mgr_sessions"]() as s:
        scan = s.get(Scan, s.scalar(select(Page.scan_sha256).where(Page.book_id == book)))
        located = [row for row in (scan.ocr or {}).get("rows", []) if (row.get("cells") or {}).get("entry_number")]
    assert len(located) >= 3, scan.ocr
    api = Api(client_as(app, "tr1"))
    keyed = [("36", "19210112"), ("37", "19210119"), ("38", "19210203")]
    for n, (entry, born) in enumerate(keyed, start=1):
        fields = kbf_fields(n, KILDE_LOEBE_NR=entry, FOEDSELSDATO=born, FORNAVN="Ingeborg")
        assert api.post(f"/api/books/{book}/records", {"fields": fields, "page_seq": 1}).status_code == 201
    tr = api.client
    assert tr.post(f"/books/{book}/ready", data={"csrf_token": csrf_of(tr, f"/books/{book}")}).status_code == 302
    rev = client_as(app, "rev1")
    assert rev.post(f"/books/{book}/approve", data={"csrf_token": csrf_of(rev, f"/books/{book}")}).status_code == 302
    yield app, book, keyed
    app.extensions["mgr_store"].close()


def test_approved_values_become_training_cells_and_a_model_learns_from_them(approved, tmp_path, caplog):
    import logging

    from ingest.htr import images as cell_images
    from ingest.htr.runtime import CellReader
    from webentry.training_export import export_training

    app, book, keyed = approved
    out = tmp_path / "cells"
    caplog.set_level(logging.DEBUG)
    with app.extensions["mgr_sessions"]() as s:
        counts = export_training(s, app.config["WORK"], out)
    assert counts["entry_number"] == 3 and counts["birth_date"] == 3
    with open(out / "row_id" / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == [e for e, _b in keyed]
    with open(out / "birthdate" / "labels.csv", newline="", encoding="utf-8") as f:
        assert [r["label"] for r in csv.DictReader(f)] == [b for _e, b in keyed]
    assert all(r["filename"].startswith("born_K2697_0001-FM_row_id_") for r in rows)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Ingeborg" not in text and "19210112" not in text  # counts only in the log
    assert not any("Ingeborg" in p.read_bytes().decode("latin-1") for p in out.rglob("*.csv"))

    pytest.importorskip("torch")  # the train extra (installed in CI)
    from ingest.htr.train import train

    info = train("entry_number", [out / "row_id"], tmp_path / "model", minutes=5, seed=1, batch=3, max_steps=5,
                 progress=False, threads=1)
    assert info["steps"] == 5
    reader = CellReader("entry_number", tmp_path / "model")
    samples = cell_images.read_folder(out / "row_id")
    arrays = cell_images.load_arrays(samples, "entry_number").astype(np.float32) / 255.0
    cells = reader.read(arrays)
    assert len(cells) == 3 and all(0.0 <= c.confidence <= 1.0 for c in cells)


def test_a_book_not_approved_gives_no_cells(tmp_path):
    from webentry.training_export import export_training

    app = make_app(tmp_path / "work")
    add_users(app)
    add_book(app)
    with app.extensions["mgr_sessions"]() as s:
        counts = export_training(s, app.config["WORK"], tmp_path / "out")
    assert counts["entry_number"] == 0 and not (tmp_path / "out" / "row_id").exists()
    app.extensions["mgr_store"].close()
