"""Alt+N (next scan) in the page-number field, typed as a transcriber types it, checked in
the store: the page number the screen puts there is typed over, never added to, and an
answer of the server that arrives after the typing never replaces it.

Found by the keying robot: after Alt+N the proposed page number (previous page + 1) stood
in the field with the caret after it, so typing the book's page 17 over the proposal 16
stored 1617.
"""

from __future__ import annotations

import io
import time

import pytest
from browser_support import browser_login as login_as
from browser_support import (
    launch_browser,
    need_browser,
    new_page,
    save_and_wait,
    serve,
    type_tab,
    wait_js,
    wait_ready,
)
from web_support import Api, add_book, add_users, client_as, csrf_of, kbf_fields, labelled_scan, make_app

THRESHOLDS = {"page_number": 0.90, "entry_number": 0.90, "date": None}
PAGES = {1: ("12", 0.99), 2: ("11", 0.35), 3: ("11", 0.35)}  # scan -> what its page number reads as


class SlowPageOcr:
    """The OCR of a new page answering late (a slow connection), while ``slow`` is set."""

    def __init__(self, wsgi):
        self.wsgi, self.slow = wsgi, 0.0

    def __call__(self, environ, start_response):
        if self.slow and environ.get("PATH_INFO", "").endswith("/ocr"):
            time.sleep(self.slow)
        return self.wsgi(environ, start_response)


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    need_browser()
    from sqlalchemy import select

    from webentry.models import Page, Scan

    app = make_app(tmp_path_factory.mktemp("paged") / "work", OCR_MODE="off")
    add_users(app)
    book = add_book(app, entry="K2702", assign=("tr1",))
    admin = client_as(app, "admin1")
    token = csrf_of(admin, f"/books/{book}")
    uploads = [(io.BytesIO(labelled_scan(f"scan {k}")), f"scan{k}.jpg") for k in PAGES]
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": uploads},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == list(PAGES)
    with app.extensions["mgr_sessions"]() as s:
        for seq, sha in s.execute(select(Page.seq, Page.scan_sha256).where(Page.book_id == book)):
            value, confidence = PAGES[seq]
            s.get(Scan, sha).ocr = {"page_number": {"value": value, "confidence": confidence, "box": [500, 20, 580, 60]},
                                    "rows": [], "findings": [], "prefill_threshold": THRESHOLDS}
            s.get(Scan, sha).ocr_status = "done"
        s.commit()
    api = Api(client_as(app, "tr1"))
    assert api.post(f"/api/books/{book}/records", {"fields": kbf_fields(1, KILDE_SIDE="12"), "page_seq": 1}
                    ).status_code == 201
    slow = SlowPageOcr(app.wsgi_app)
    app.wsgi_app = slow
    with serve(app) as url:
        yield {"url": url, "app": app, "book": book, "slow": slow}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def _rest_of_record(page, entry: str, date: str, first: str, last: str):
    kb = page.keyboard
    type_tab(page, entry)  # over the proposed entry number
    kb.press("Tab")  # the carried year
    type_tab(page, date)
    kb.press("Tab")
    type_tab(page, first)
    kb.press("Tab")
    type_tab(page, last)


def _stored_pages(app, book):
    from sqlalchemy import select

    from webentry.models import Record

    with app.extensions["mgr_sessions"]() as s:
        return {r.loebe_nr: r.fields["KILDE_SIDE"] for r in s.scalars(select(Record).where(Record.book_id == book))}


def test_page_number_typed_over_after_alt_n(paged, browser):
    base, book, app = paged["url"], paged["book"], paged["app"]
    page, errors = new_page(browser)
    login_as(page, base, "tr1")
    page.goto(f"{base}/books/{book}/entry?r=new")
    wait_ready(page)
    kb = page.keyboard

    # Record 2: the book skips page 13. Alt+N proposes 13 (the scan's reading is too poor to
    # fill in); the transcriber types 14 over it.
    assert page.evaluate("document.activeElement.id") == "f-KILDE_SIDE"
    kb.press("Alt+n")
    wait_js(page, "document.getElementById('f-KILDE_SIDE').value === '13'")
    kb.type("14")
    assert page.locator("#f-KILDE_SIDE").input_value() == "14"
    kb.press("Tab")
    _rest_of_record(page, "2", "19210302", "Carl", "Berg")
    save_and_wait(page)

    # Record 3: a fast typist types the page number before the new scan's answer is in; the
    # late answer (proposing 15) leaves the typed 16 alone.
    paged["slow"].slow = 1.0
    try:
        kb.press("Alt+n")
        kb.type("16")
        page.wait_for_timeout(1600)
    finally:
        paged["slow"].slow = 0.0
    assert page.locator("#f-KILDE_SIDE").input_value() == "16"
    kb.press("Tab")
    _rest_of_record(page, "3", "19210303", "Poul", "Lund")
    save_and_wait(page)

    assert _stored_pages(app, book) == {1: "12", 2: "14", 3: "16"}
    assert not [e for e in errors if "Uncaught" in e], errors
    page.context.close()
