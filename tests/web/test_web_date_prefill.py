"""Birth dates from the scan: the trained recogniser's reading at or above its calibrated
threshold is filled in; a date Tesseract read, however sure it says it is, is only offered
(its confidence is not calibrated), and so is the recogniser's reading under the threshold."""

from __future__ import annotations

import io

import pytest
from browser_support import browser_login as login_as
from browser_support import launch_browser, need_browser, new_page, serve, wait_ready
from web_support import add_book, add_users, client_as, csrf_of, labelled_scan, make_app

THRESHOLDS = {"page_number": 0.90, "entry_number": 0.90, "date": 0.90}
BOOKS = {  # book -> the date the first row of its only scan reads: (value, confidence, source)
    "K2711": ("1921-03-15", 0.95, "htr"),
    "K2712": ("1921-03-15", 0.93, "ocr+htr"),
    "K2713": ("1921-03-15", 0.97, "ocr"),
    "K2714": ("1921-03-15", 0.60, "htr"),
}


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    need_browser()
    from sqlalchemy import select

    from webentry.models import Page, Scan

    app = make_app(tmp_path_factory.mktemp("dated") / "work", OCR_MODE="off")
    add_users(app)
    admin = client_as(app, "admin1")
    ids = {}
    for entry, (value, confidence, source) in BOOKS.items():
        book = ids[entry] = add_book(app, entry=entry, assign=("tr1",))
        token = csrf_of(admin, f"/books/{book}")
        r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": [(io.BytesIO(labelled_scan(entry)),
                                                                                     f"{entry}.jpg")]},
                       content_type="multipart/form-data", headers={"Accept": "application/json"})
        assert r.json["added"] == [1]
        with app.extensions["mgr_sessions"]() as s:
            sha = s.scalar(select(Page.scan_sha256).where(Page.book_id == book))
            scan = s.get(Scan, sha)
            scan.ocr = {"page_number": {"value": "1", "confidence": 0.99, "box": [500, 20, 580, 60]},
                        "rows": [{"entry_number": None, "band": [50, 200, 550, 260],
                                  "dates": [{"role": "date", "value": value, "confidence": confidence,
                                             "box": [200, 210, 320, 250], "source": source}]}],
                        "findings": [], "prefill_threshold": THRESHOLDS}
            scan.ocr_status = "done"
            s.commit()
    with serve(app) as url:
        yield {"url": url, "books": ids}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


@pytest.mark.parametrize("entry, filled", [("K2711", True), ("K2712", True), ("K2713", False), ("K2714", False)])
def test_only_the_calibrated_recogniser_fills_in_a_date(dated, browser, entry, filled):
    page, errors = new_page(browser)
    login_as(page, dated["url"], "tr1")
    page.goto(f"{dated['url']}/books/{dated['books'][entry]}/entry?r=new")
    wait_ready(page)
    page.wait_for_function("document.getElementById('ocr-status').textContent.length > 0")
    field = page.locator("#f-FOEDSELSDATO")
    if filled:
        assert field.input_value() == "19210315"
        assert "marked-ocr" in (field.get_attribute("class") or "")
    else:
        assert field.input_value() == ""
        assert "19210315" in page.inner_text("#m-FOEDSELSDATO")  # offered beside the field
    assert not errors
    page.close()
