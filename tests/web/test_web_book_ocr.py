"""`mgr-ingest ocr --book`: the pages of a registered book read in book order (real Tesseract)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from web_support import SCANS, add_book, add_users, make_app

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None and not __import__("conftest").in_ci(),
                                     reason="Tesseract is not installed (CI installs it)")


@needs_tesseract
def test_ocr_of_a_registered_book_reports_the_missing_page(tmp_path):
    from webentry.models import Book
    from webentry.scans import Limits, add_pages

    work = tmp_path / "work"
    app = make_app(work)
    add_users(app)
    book_id = add_book(app, entry="K2697")
    uploads = [(name, (SCANS / name).read_bytes())
               for name in ("kbf_clean_p0037.jpg", "kbf_clean_p0038.jpg", "kbf_clean_p0040.jpg")]
    with app.extensions["mgr_sessions"]() as s:
        added, problems = add_pages(s, work, s.get(Book, book_id), uploads, "test", Limits.from_config(app.config))
        s.commit()
    assert len(added) == 3 and problems == []

    out = tmp_path / "ocr.json"
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "ocr", "--book", "K2697", "--work", str(work),
                           "--json", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pages = json.loads(out.read_text())["pages"]
    assert [p["file"] for p in pages] == ["kbf_clean_p0037.jpg", "kbf_clean_p0038.jpg", "kbf_clean_p0040.jpg"]
    assert [p["page_number"]["value"] for p in pages] == ["37", "38", "40"]
    assert any(f["code"] == "OCR_PAGE_SEQUENCE" for f in pages[2]["findings"])


def test_unknown_book_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ingest.cli", "ocr", "--book", "K9999", "--work",
                           str(tmp_path / "w")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "K9999" in proc.stderr
