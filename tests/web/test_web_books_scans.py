"""Registering books, uploading scans (stored once, with thumbnails, bad files refused) and the
OCR suggestions that prefill the entry screen."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select
from web_support import SCANS, Api, add_book, add_users, client_as, csrf_of, make_app

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _upload(client, book, files):
    token = csrf_of(client, f"/books/{book}")
    data = {"csrf_token": token, "pages": [(io.BytesIO(b), n) for n, b in files]}
    return client.post(f"/books/{book}/pages", data=data, content_type="multipart/form-data",
                       headers={"Accept": "application/json"})


def _png(w=300, h=400, color=255) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()


def _huge_png_header(w=40_000, h=40_000) -> bytes:
    """A PNG whose header claims w x h pixels (the pixels themselves are never there)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def test_admin_registers_a_book(web):
    c = client_as(web, "admin1")
    token = csrf_of(c, "/books/new")
    bad = c.post("/books/new", data={"csrf_token": token, "entry_number": "nope", "source": "XYZ", "title": "",
                                     "parish": "", "from_year": "1925", "to_year": "1921"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "indtastningsnummeret skal være K" in text and "årstallene går baglæns" in text
    ok = c.post("/books/new", data={"csrf_token": token, "entry_number": "2700", "source": "KBD", "title": "Ørby KB",
                                    "parish": "Ørby", "from_year": "1921", "to_year": "1930", "page_capacity": "20"})
    assert ok.status_code == 302
    from webentry.models import Book

    with web.extensions["mgr_sessions"]() as s:
        book = s.scalar(select(Book).where(Book.entry_number == "K2700"))
    assert book.source == "KBD" and book.page_capacity == 20
    dup = c.post("/books/new", data={"csrf_token": token, "entry_number": "K2700", "source": "KBD", "title": "x",
                                     "parish": "y", "from_year": "1921", "to_year": "1930"})
    assert dup.status_code == 422 and "findes allerede en bog" in dup.get_data(as_text=True)


def test_pages_are_stored_once_by_hash_with_thumbnails(web):
    from webentry.models import Page, Scan

    c = client_as(web, "admin1")
    book = web.config["BOOK_ID"]
    jpeg = (SCANS / "kbf_clean_p0037.jpg").read_bytes()
    tiff = io.BytesIO()
    frames = [Image.new("L", (200, 300), v) for v in (200, 120, 60)]
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:])
    r = _upload(c, book, [("p37.jpg", jpeg), ("blank.png", _png()), ("three.tif", tiff.getvalue())])
    assert r.status_code == 200 and r.json["added"] == [1, 2, 3, 4, 5] and r.json["problems"] == []
    again = _upload(c, book, [("copy-of-p37.jpg", jpeg)])
    assert again.json["added"] == [] and "allerede side 1" in again.json["problems"][0]
    other = add_book(web, entry="K2698")
    assert _upload(c, other, [("p37.jpg", jpeg)]).json["added"] == [1]
    with web.extensions["mgr_sessions"]() as s:
        assert s.scalar(select(func.count()).select_from(Scan)) == 5  # the shared page is stored once
        assert s.scalar(select(func.count()).select_from(Page)) == 6
        tif_scan = s.scalar(select(Scan).where(Scan.format == "TIFF"))
    thumb = c.get(f"/scans/{tif_scan.sha256}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    view = c.get(f"/scans/{tif_scan.sha256}/view")
    assert view.mimetype == "image/jpeg"  # browsers cannot show TIFF: a JPEG is made for viewing
    assert Image.open(io.BytesIO(thumb.data)).size[1] <= web.config["THUMB_SIDE"]
    root = web.config["WORK"] / "scans"
    assert (root / tif_scan.path).exists() and (root / tif_scan.thumb_path).exists()


def test_bad_uploads_are_refused_with_a_reason_and_the_rest_is_kept(web):
    c = client_as(web, "admin1")
    book = web.config["BOOK_ID"]
    jpeg = (SCANS / "kbf_clean_p0038.jpg").read_bytes()
    files = [("scan.jpg", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"), ("huge.png", _huge_png_header()), ("empty.jpg", b""),
             ("cut.jpg", jpeg[: len(jpeg) // 3]), ("ok.jpg", jpeg), ("anim.gif", b"GIF89a" + b"\0" * 20)]
    r = _upload(c, book, files)
    problems = " | ".join(r.json["problems"])
    assert r.json["added"] == [1]
    assert "scan.jpg: ikke et JPEG-, PNG- eller TIFF-billede (et PDF-dokument)" in problems
    assert "huge.png" in problems and ("pixel" in problems)
    assert "empty.jpg" in problems and "cut.jpg" in problems and "anim.gif" in problems


def test_oversized_upload_is_refused(tmp_path):
    app = make_app(tmp_path / "w", MAX_SCAN_BYTES=1000)
    try:
        add_users(app)
        book = add_book(app)
        c = client_as(app, "admin1")
        r = _upload(c, book, [("big.png", _png(600, 600, 0) + b"\0" * 2000)])
        assert r.status_code == 422 and "MB" in r.json["problems"][0]
    finally:
        app.extensions["mgr_store"].close()


def _need_tesseract():
    if shutil.which("tesseract") is None:
        if __import__("conftest").in_ci():
            pytest.fail("tesseract is missing in CI (.ci/run installs tesseract-ocr)")
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-dan)")


def test_ocr_suggestions_are_cached_per_scan_and_prefill_the_entry_screen(tmp_path):
    _need_tesseract()
    app = make_app(tmp_path / "w", OCR_MODE="sync")
    try:
        add_users(app)
        book = add_book(app)
        c = client_as(app, "admin1")
        files = [(n, (SCANS / n).read_bytes()) for n in ("kbf_clean_p0037.jpg", "kbf_clean_p0038.jpg")]
        assert _upload(c, book, files).json["added"] == [1, 2]
        from webentry.models import Scan

        with app.extensions["mgr_sessions"]() as s:
            scans = list(s.scalars(select(Scan)))
        assert all(sc.ocr_status == "done" for sc in scans)
        html = c.get(f"/books/{book}/entry?r=new&page=1").get_data(as_text=True)
        data = json.loads(html.split('id="entry-data">', 1)[1].split("</script>", 1)[0])
        page_number = data["ocr"]["page_number"]
        assert page_number["value"] == "37"
        assert page_number["confidence"] >= data["ocr"]["threshold"]["page_number"]
        assert len(page_number["box"]) == 4
        from ingest.ocr.pipeline import PREFILL_THRESHOLD, _htr_readers

        # Tesseract's dates are only offered; a calibrated birth-date recogniser may prefill
        date_reader = _htr_readers().get("birth_date")
        expected = PREFILL_THRESHOLD["entry_number"] if date_reader and date_reader.threshold <= 1 else None
        assert data["ocr"]["threshold"]["date"] == expected
        assert data["ocr_roles"]["KILDE_SIDE"] == "page_number"
        ocr2 = Api(c).get(f"/api/books/{book}/pages/2/ocr").json
        assert ocr2["ocr"]["page_number"]["value"] == "38" and ocr2["row_on_page"] == 0
        # The same scan in another book is not read again: the result is cached by its hash.
        other = add_book(app, entry="K2698")
        assert _upload(c, other, files[:1]).json["added"] == [1]
        with app.extensions["mgr_sessions"]() as s:
            assert s.scalar(select(func.count()).select_from(Scan)) == 2
    finally:
        app.extensions["mgr_store"].close()


def test_entry_screen_says_when_the_viewer_asset_is_missing(web, monkeypatch):
    import webentry.app as webapp

    c = client_as(web, "admin1")
    _upload(c, web.config["BOOK_ID"], [("p.png", _png())])
    monkeypatch.setattr(webapp, "OSD_FILE", webapp.OSD_FILE.with_name("not-there.js"))
    html = c.get(f"/books/{web.config['BOOK_ID']}/entry").get_data(as_text=True)
    assert "Scanningsfremviseren er ikke installeret" in html and "webentry/assets/build.sh" in html
