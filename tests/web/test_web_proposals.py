"""What the entry screen proposes for a new record, as the page hands it to the browser.

* no "previous + 1" without a previous record;
* the first record's registration year (Kalenderår) from the year the page heading reads
  (OCR), when that is one of the book's years, else the book's first year; later records
  carry the year of the record before instead.

That an OCR reading above its threshold wins over a proposal in the browser is shown by the
keying robot (``test_web_keying_robot.py``: entries 9a and the girls' first entry).
"""

from __future__ import annotations

import io
import json
import re

from web_support import SCANS, Api, add_book, client_as, csrf_of, danish, kbf_fields

pytest_plugins = ["web_support"]  # the web fixture: an application with users and a book


def _screen(client, book: int, r: str = "new") -> dict:
    html = client.get(f"/books/{book}/entry?r={r}").get_data(as_text=True)
    m = re.search(r'<script type="application/json" id="entry-data">(.*?)</script>', html, re.S)
    assert m, "no entry data on the page"
    return json.loads(m.group(1))


def _set_heading(app, book: int, year: str | None) -> None:
    from sqlalchemy import select

    from webentry.models import Page, Scan

    with app.extensions["mgr_sessions"]() as s:
        scan = s.get(Scan, s.scalar(select(Page.scan_sha256).where(Page.book_id == book)))
        ocr = {"page_number": {"value": "37", "confidence": 0.99, "box": [1500, 80, 1620, 140]}, "rows": [],
               "findings": []}
        if year:
            ocr["heading_year"] = {"value": year, "confidence": 0.9}
        scan.ocr, scan.ocr_status = ocr, "done"
        s.commit()


def test_first_record_year_from_the_heading_or_the_book(web):
    book = web.config["BOOK_ID"]  # Vejby KB 1921-1925
    tr = client_as(web, "tr1")
    data = _screen(tr, book)
    assert data["previous"] is None and data["proposal"] is None  # no "previous + 1" for the first record
    assert data["year_proposal"]["value"] == "1921"
    assert danish("the book's first year (%(span)s) · Tab confirms") % {"span": "1921-1925"} == data["year_proposal"]["why"]

    admin = client_as(web, "admin1")
    token = csrf_of(admin, f"/books/{book}")
    page = [(io.BytesIO((SCANS / "kbf_clean_p0037.jpg").read_bytes()), "kbf_clean_p0037.jpg")]
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": page},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1]
    _set_heading(web, book, "1923")
    data = _screen(tr, book)
    assert data["year_proposal"]["value"] == "1923"
    assert danish("the page heading reads %(year)s · Tab confirms") % {"year": 1923} == data["year_proposal"]["why"]
    _set_heading(web, book, "1931")  # a misread heading, outside the book's years: the book's year
    assert _screen(tr, book)["year_proposal"]["value"] == "1921"

    api = Api(tr)
    assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(36)}).status_code == 201
    data = _screen(tr, book)
    assert data["year_proposal"] is None  # carried from the record before from now on
    assert data["proposal"] == "37"
    assert _screen(tr, book, "1")["year_proposal"] is None  # a saved record is never refilled


def test_census_has_no_registration_year_to_propose(web):
    census = add_book(web, entry="K3801", source="FT")
    data = _screen(client_as(web, "tr1"), census)
    assert data["year_proposal"] is None and data["proposal"] is None
