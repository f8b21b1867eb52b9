"""Browser tests: a transcriber and a reviewer at work in headless Chromium.

Playwright for Python drives Debian's /usr/bin/chromium (never a downloaded browser); the
application is served by waitress on 127.0.0.1 on a free port, in a thread. Screenshots go
to test-artifacts/screenshots/. Outside CI the tests skip when Chromium or Playwright is
missing; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
import zipfile
from pathlib import Path

import pytest
from web_support import SCANS, add_book, add_users, client_as, csrf_of, make_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"


def _need_browser():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright; never `playwright install`)")
    if shutil.which("tesseract") is None:
        missing.append("tesseract (apt-get install -y tesseract-ocr tesseract-ocr-dan)")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail("browser tests cannot run in CI: missing " + ", ".join(missing))
        pytest.skip("browser tests need " + ", ".join(missing))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    from conftest import kbf_row, write_delivery
    from waitress.server import create_server

    from ingest.store import import_paths

    work = tmp_path_factory.mktemp("browser") / "work"
    app = make_app(work, OCR_MODE="sync")
    add_users(app)
    book = add_book(app, assign=("tr1",))
    admin = client_as(app, "admin1")
    token = csrf_of(admin, f"/books/{book}")
    pages = [(io.BytesIO((SCANS / n).read_bytes()), n) for n in ("kbf_clean_p0037.jpg", "kbf_clean_p0038.jpg")]
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": pages},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1, 2]
    # An imported delivery of another book with an impossible date, for the QA queue.
    rows = [kbf_row(i, i, INDTASTNINGSNUMMER="K2698") for i in range(1, 6)]
    rows[2]["FOEDSELSDATO"] = "19210231"
    write_delivery(work.parent / "inbox", rows, entry="K2698")
    import_paths(app.extensions["mgr_store"], [work.parent / "inbox"])
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{srv.effective_port}", "app": app, "book": book, "work": work}

    def close_all():  # from inside waitress's loop, so the loop ends on its own
        for channel in list(srv._map.values()):
            channel.close()

    srv.trigger.pull_trigger(close_all)
    thread.join(10)
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def _login(page, base, name):
    page.goto(base + "/login")
    page.focus("#name")  # autofocus, made sure of
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/books$"))


def _eval(page, expression: str):
    from playwright.sync_api import Error

    try:
        return page.evaluate(expression)
    except Error:  # the page is being replaced by the next one
        return None


def _wait_js(page, expression: str, timeout: float = 15.0):
    """Poll a JavaScript expression from Python (page.wait_for_function would evaluate it with
    eval, which the application's Content-Security-Policy rightly forbids)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _eval(page, expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false after {timeout} s: {expression}")


def _ready(page):
    page.wait_for_selector("body[data-ready=yes]")


def _type(page, text):
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def _save_and_wait(page, key: str = "Enter"):
    """Press Enter and wait for the next record's screen. A warning the server had not shown
    yet stops the first Enter (it is shown then); a second Enter saves."""
    origin = page.evaluate("performance.timeOrigin")
    page.keyboard.press(key)
    again = True
    import time

    end = time.monotonic() + 15
    while time.monotonic() < end:
        if _eval(page, f"performance.timeOrigin !== {origin} && document.body.dataset.ready === 'yes'"):
            return
        if again and _eval(page, "document.getElementById('save-status').className.includes('warn')"):
            again = False
            page.keyboard.press("Enter")
        page.wait_for_timeout(50)
    raise AssertionError("the record was not saved: " + str(_eval(page, "document.getElementById('save-status').textContent")))


def test_transcriber_keys_three_records_with_the_keyboard(server, browser):
    base, book = server["url"], server["book"]
    page, errors = _page(browser)
    _login(page, base, "tr1")
    page.click(f"a[href='/books/{book}/entry?r=new']")
    _ready(page)
    kb = page.keyboard

    # Record 1. The page number is read off the scan and prefilled, marked with its confidence.
    side = page.locator("#f-KILDE_SIDE")
    assert side.input_value() == "37"
    assert "marked-ocr" in side.get_attribute("class")
    assert "%" in page.inner_text("#mark-KILDE_SIDE")
    assert page.evaluate("document.activeElement.id") == "f-KILDE_SIDE"
    page.wait_for_selector(".ocr-box")  # its region is highlighted on the scan
    page.screenshot(path=str(SHOTS / "01-prefilled-page-number.png"))
    kb.press("Tab")  # one key accepts the prefilled page number
    assert "marked" not in side.get_attribute("class")
    assert "marked-proposed" in page.locator("#f-KILDE_LOEBE_NR").get_attribute("class")
    _type(page, "36")  # overwrite the proposed entry number
    _type(page, "1921")
    _type(page, "15.5.21")  # a date the rules reject, with a suggestion
    page.wait_for_selector("#m-FOEDSELSDATO .issue.sev-error")
    assert "19210515" in page.inner_text("#m-FOEDSELSDATO")
    page.screenshot(path=str(SHOTS / "02-date-check-fired.png"))
    kb.press("Alt+j")  # accept the suggestion
    assert page.locator("#f-FOEDSELSDATO").input_value() == "19210515"
    _wait_js(page, "!document.querySelector('#m-FOEDSELSDATO .issue')")
    _type(page, "Vejby")
    _type(page, "Valdemar")
    kb.press("Tab")  # no middle name
    _type(page, "Aagaard")
    kb.type("M")
    _save_and_wait(page)

    # Record 2: page, year and sex carried forward, entry number proposed as 37: each marked.
    assert page.locator("#f-KILDE_SIDE").input_value() == "37"
    assert "marked-carried" in page.locator("#f-KILDE_SIDE").get_attribute("class")
    assert page.locator("#f-KILDE_LOEBE_NR").input_value() == "37"
    assert "marked-carried" in page.locator("#f-KOEN").get_attribute("class")
    kb.press("Tab")
    kb.press("Tab")
    kb.press("Tab")
    _type(page, "19210317")
    kb.press("Tab")
    _type(page, "Christian")
    kb.press("Tab")
    _type(page, "Christensen")  # focus is now on the carried sex
    _save_and_wait(page)  # Enter on a marked value accepts it and saves

    # Record 3: skip an entry number and the gap warning appears when the field is left.
    kb.press("Tab")
    _type(page, "39")
    page.wait_for_selector("#m-KILDE_LOEBE_NR .issue.sev-warning")
    assert "38 missing between 37 and 39" in page.inner_text("#m-KILDE_LOEBE_NR")
    page.screenshot(path=str(SHOTS / "03-entry-number-gap.png"))
    kb.press("Tab")
    _type(page, "19210318")
    kb.press("Tab")
    _type(page, "Holger")
    kb.press("Tab")
    _type(page, "Andersen")
    _save_and_wait(page)

    # Record 4: next page with one key; its page number is read off the new scan; autosave.
    kb.press("Alt+n")
    _wait_js(page, "document.getElementById('f-KILDE_SIDE').value === '38'")
    assert "marked-ocr" in page.locator("#f-KILDE_SIDE").get_attribute("class")
    kb.press("Tab")  # accept 38 with one key
    _type(page, "49")
    kb.press("Tab")
    _type(page, "19210402")
    kb.press("Tab")
    kb.type("Poul")
    _wait_js(page, "document.body.dataset.draftSaved !== undefined", timeout=10)
    page.reload()
    _ready(page)
    assert page.locator("#f-FORNAVN").input_value() == "Poul"
    assert page.locator("#f-KILDE_SIDE").input_value() == "38"
    assert "Restored your unsaved work" in page.inner_text("#banner")
    page.screenshot(path=str(SHOTS / "04-draft-restored.png"))
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors

    from sqlalchemy import select

    from webentry.models import Record

    with server["app"].extensions["mgr_sessions"]() as s:
        recs = {r.loebe_nr: r for r in s.scalars(select(Record).where(Record.book_id == book))}
    assert sorted(recs) == [1, 2, 3]
    assert [recs[n].fields["KILDE_LOEBE_NR"] for n in (1, 2, 3)] == ["36", "37", "39"]
    assert recs[1].fields["FOEDSELSDATO"] == "19210515"
    assert recs[1].provenance["KILDE_SIDE"]["how"] == "accepted" and recs[1].provenance["KILDE_SIDE"]["from"] == "ocr"
    assert recs[1].provenance["KILDE_LOEBE_NR"] == {"how": "corrected", "from": "proposed", "suggested": "1"}
    assert recs[1].provenance["FOEDSELSDATO"]["from"] == "check"
    assert recs[2].provenance["KOEN"] == {"how": "accepted", "from": "carried", "suggested": "M"}
    assert recs[2].provenance["KILDE_LOEBE_NR"]["how"] == "accepted"
    page.context.close()


def test_reviewer_resolves_a_finding_and_exports(server, browser, tmp_path):
    base, book = server["url"], server["book"]
    page, errors = _page(browser)
    _login(page, base, "rev1")
    page.goto(base + "/qa")
    page.select_option("select[name=code]", "DATE_INVALID")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r".*code=DATE_INVALID.*"))
    page.screenshot(path=str(SHOTS / "05-qa-queue.png"))
    page.click("a.open-finding >> nth=0")
    page.wait_for_selector("#correct-form")
    assert page.locator("input[name=field]").input_value() == "FOEDSELSDATO"
    page.fill("#new_value", "19210213")
    page.screenshot(path=str(SHOTS / "06-qa-finding.png"))
    page.click("#correct-form button[type=submit]")
    page.wait_for_selector(".flash")
    assert "Correction recorded" in page.inner_text(".flashes")

    from sqlalchemy import select

    from ingest.store.models import corrections

    with server["app"].extensions["mgr_store"].reading() as conn:
        row = conn.execute(select(corrections).where(corrections.c.kind == "manual")).one()
    assert (row.entry_number, row.field, row.new_value, row.who) == ("K2698", "FOEDSELSDATO", "19210213", "rev1")

    page.goto(f"{base}/books/{book}")
    with page.expect_download() as dl:
        page.click("#export-link")
    target = tmp_path / "export.zip"
    dl.value.save_as(target)
    folder = tmp_path / "delivery"
    zipfile.ZipFile(target).extractall(folder)
    from ingest.pipeline import run_pipeline

    result = run_pipeline([folder])
    [d] = result.deliveries
    assert d.entry_number == "K2697" and d.rows == 3
    assert list(result.clean["KBF"][0]["FORNAVN"]) == ["Valdemar", "Christian", "Holger"]
    page.screenshot(path=str(SHOTS / "07-book-exported.png"))
    assert not [e for e in errors if "Uncaught" in e], errors
    page.context.close()
