"""Browser tests: a transcriber and a reviewer at work in headless Chromium.

Playwright for Python drives Debian's /usr/bin/chromium (never a downloaded browser); the
application is served by waitress on 127.0.0.1 on a free port, in a thread. Screenshots go
to test-artifacts/screenshots/. Outside CI the tests skip when Chromium or Playwright is
missing; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from browser_support import (
    SHOTS,
    launch_browser,
    need_browser,
    new_page,
    save_and_wait,
    serve,
    type_tab,
    wait_js,
    wait_ready,
)
from browser_support import browser_login as login_as
from web_support import (
    SCANS,
    Api,
    add_book,
    add_users,
    client_as,
    csrf_of,
    danish,
    kbf_fields,
    make_app,
    save_seen,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    from conftest import kbf_row, write_delivery

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
    # A book of its own for the export, keyed here, so that no test needs another to run first.
    exported = add_book(app, entry="K2699", assign=("tr1",))
    api = Api(client_as(app, "tr1"))
    for n, name in enumerate(("Valdemar", "Christian", "Holger"), start=1):
        save_seen(api, exported, kbf_fields(n, FORNAVN=name))
    with serve(app) as url:
        yield {"url": url, "app": app, "book": book, "work": work, "exported": exported}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def test_transcriber_keys_three_records_with_the_keyboard(server, browser):
    base, book = server["url"], server["book"]
    page, errors = new_page(browser)
    login_as(page, base, "tr1")
    page.click(f"a[href='/books/{book}/entry?r=new']")
    wait_ready(page)
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
    # the first record has no record before it: no "previous + 1" proposal
    assert "marked-proposed" not in (page.locator("#f-KILDE_LOEBE_NR").get_attribute("class") or "")
    assert page.locator("#f-KILDE_LOEBE_NR").input_value() in ("", "36")
    page.locator("#f-KILDE_LOEBE_NR").fill("")
    type_tab(page, "36")
    type_tab(page, "1921")
    type_tab(page, "15.5.21")  # a date the rules reject, with a suggestion
    page.wait_for_selector("#m-FOEDSELSDATO .issue.sev-error")
    assert "19210515" in page.inner_text("#m-FOEDSELSDATO")
    page.screenshot(path=str(SHOTS / "02-date-check-fired.png"))
    kb.press("Alt+j")  # accept the suggestion
    assert page.locator("#f-FOEDSELSDATO").input_value() == "19210515"
    wait_js(page, "!document.querySelector('#m-FOEDSELSDATO .issue')")
    type_tab(page, "Vejby")
    type_tab(page, "Valdemar")
    kb.press("Tab")  # no middle name
    type_tab(page, "Aagaard")
    kb.type("M")
    save_and_wait(page)

    # Record 2: page, year and sex carried forward, entry number proposed as 37: each marked.
    assert page.locator("#f-KILDE_SIDE").input_value() == "37"
    assert "marked-carried" in page.locator("#f-KILDE_SIDE").get_attribute("class")
    assert page.locator("#f-KILDE_LOEBE_NR").input_value() == "37"
    assert "marked-carried" in page.locator("#f-KOEN").get_attribute("class")
    kb.press("Tab")
    kb.press("Tab")
    kb.press("Tab")
    type_tab(page, "19210317")
    kb.press("Tab")
    type_tab(page, "Christian")
    kb.press("Tab")
    type_tab(page, "Christensen")  # focus is now on the carried sex
    save_and_wait(page)  # Enter on a marked value accepts it and saves

    # Record 3: skip an entry number and the gap warning appears when the field is left.
    kb.press("Tab")
    type_tab(page, "39")
    page.wait_for_selector("#m-KILDE_LOEBE_NR .issue.sev-warning")
    assert "38 mangler mellem 37 og 39" in page.inner_text("#m-KILDE_LOEBE_NR")
    page.screenshot(path=str(SHOTS / "03-entry-number-gap.png"))
    kb.press("Tab")
    type_tab(page, "19210318")
    kb.press("Tab")
    type_tab(page, "Holger")
    kb.press("Tab")
    type_tab(page, "Andersen")
    save_and_wait(page)

    # Record 4: next page with one key; its page number is read off the new scan; autosave.
    kb.press("Alt+n")
    wait_js(page, "document.getElementById('f-KILDE_SIDE').value === '38'")
    assert "marked-ocr" in page.locator("#f-KILDE_SIDE").get_attribute("class")
    kb.press("Tab")  # accept 38 with one key
    type_tab(page, "49")
    kb.press("Tab")
    type_tab(page, "19210402")
    kb.press("Tab")
    kb.type("Poul")
    wait_js(page, "document.body.dataset.draftSaved !== undefined", timeout=10)
    page.reload()
    wait_ready(page)
    assert page.locator("#f-FORNAVN").input_value() == "Poul"
    assert page.locator("#f-KILDE_SIDE").input_value() == "38"
    assert "Dit ikke-gemte arbejde på denne post er genskabt" in page.inner_text("#banner")
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
    assert recs[1].provenance["KILDE_LOEBE_NR"]["how"] in ("typed", "accepted", "corrected")
    assert recs[1].provenance["KILDE_LOEBE_NR"].get("from") != "proposed"
    assert recs[1].provenance["FOEDSELSDATO"]["from"] == "check"
    assert recs[2].provenance["KOEN"] == {"how": "accepted", "from": "carried", "suggested": "M"}
    assert recs[2].provenance["KILDE_LOEBE_NR"]["how"] == "accepted"
    page.context.close()


def test_reviewer_resolves_a_finding_and_exports(server, browser, tmp_path):
    base = server["url"]
    page, errors = new_page(browser)
    login_as(page, base, "rev1")
    page.goto(base + "/qa")
    page.select_option("select[name=code]", "DATE_INVALID")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r".*code=DATE_INVALID.*"))
    page.screenshot(path=str(SHOTS / "05-qa-queue.png"))
    page.click("a.open-finding >> nth=0")
    page.wait_for_selector("#correct-form")
    # the field is chosen from the record's fields, the finding's own chosen already
    assert page.locator("select[name=field]").input_value() == "FOEDSELSDATO"
    assert "Fødselsdato" in page.inner_text(".record-fields")
    page.fill("#new_value", "19210213")
    page.screenshot(path=str(SHOTS / "06-qa-finding.png"))
    page.click("#correct-form button[type=submit]")
    page.wait_for_selector(".flash")
    assert danish("Correction recorded.") in page.inner_text(".flashes")

    from sqlalchemy import select

    from ingest.store.models import corrections

    with server["app"].extensions["mgr_store"].reading() as conn:
        row = conn.execute(select(corrections).where(corrections.c.kind == "manual")).one()
    assert (row.entry_number, row.field, row.new_value, row.who) == ("K2698", "FOEDSELSDATO", "19210213", "rev1")

    page.goto(f"{base}/books/{server['exported']}")
    with page.expect_download() as dl:
        page.click("#export-link")
    target = tmp_path / "export.zip"
    dl.value.save_as(target)
    folder = tmp_path / "delivery"
    zipfile.ZipFile(target).extractall(folder)
    from ingest.pipeline import run_pipeline

    result = run_pipeline([folder])
    [d] = result.deliveries
    assert d.entry_number == "K2699" and d.rows == 3
    assert list(result.clean["KBF"][0]["FORNAVN"]) == ["Valdemar", "Christian", "Holger"]
    page.screenshot(path=str(SHOTS / "07-book-exported.png"))
    assert not [e for e in errors if "Uncaught" in e], errors
    page.context.close()
