"""The reviewer's pages, as a reviewer uses them in Chromium: the QA queue grouped by record
and by file with the codes' titles, the finding beside its scan with the record's row
marked, a duplicate's two records side by side each with its scan, the record opened in
the entry screen and the way back, and the keys for next / resolve.

The book is keyed through the application's API from the real fixture scans (read by real
Tesseract), marked ready and approved into the store, so the queue holds what the checks
found in it."""

from __future__ import annotations

import re

import pytest
from browser_support import (
    SHOTS,
    axe_violations,
    js_value,
    launch_browser,
    need_axe,
    need_browser,
    new_page,
    serve,
    wait_js,
)
from browser_support import browser_login as login_as
from sqlalchemy import select
from web_support import (
    Api,
    add_book,
    add_users,
    client_as,
    csrf_of,
    danish,
    kbf_fields,
    make_app,
    save_seen,
    upload_pages,
)

from validators.catalogue import CATALOGUE


def _key(api: Api, book: int, fields: dict, notes: dict | None = None) -> int:
    """A record keyed from the first scan, errors kept with the notes given."""
    return save_seen(api, book, fields, page_seq=1, notes=notes or {})["loebe_nr"]


def _build(tmp_path_factory):
    """The book keyed, approved and served (see the module's docstring)."""
    from ingest.store.models import STATUS_CURRENT, deliveries, findings
    from webentry.models import Book, Page, Scan
    from webentry.scans import page_suggestions

    work = tmp_path_factory.mktemp("reviewer") / "work"
    app = make_app(work, OCR_MODE="sync")
    add_users(app)
    book = add_book(app, assign=("tr1",))
    assert upload_pages(app, book, ("kbf_clean_p0037.jpg",)) == [1]

    tr1 = client_as(app, "tr1")
    api = Api(tr1)
    for n in (1, 2):
        _key(api, book, kbf_fields(n, KILDE_SIDE="37"))
    # record 3: an impossible date and an impossible mother's age, both kept with a note
    _key(api, book, kbf_fields(3, KILDE_SIDE="37", FOEDSELSDATO="19210231", MODERS_ALDER="9"),
         notes={"FOEDSELSDATO": "står sådan i bogen", "MODERS_ALDER": "står sådan i bogen"})
    # record 4: the child of record 2 keyed again under another entry number
    twin = kbf_fields(2, KILDE_SIDE="37", KILDE_LOEBE_NR="4")
    _key(api, book, twin)
    _key(api, book, kbf_fields(5, KILDE_SIDE="37"))
    assert tr1.post(f"/books/{book}/ready", data={"csrf_token": csrf_of(tr1)}).status_code == 302
    rev = client_as(app, "rev1")
    assert rev.post(f"/books/{book}/approve", data={"csrf_token": csrf_of(rev)}).status_code == 302

    with app.extensions["mgr_store"].reading() as conn:
        d = conn.execute(select(deliveries).where(deliveries.c.entry_number == "K2697",
                                                  deliveries.c.status == STATUS_CURRENT)).one()
        found = list(conn.execute(select(findings.c.id, findings.c.code, findings.c.loebe_nr, findings.c.field)
                                  .where(findings.c.delivery_id == d.id)))
    with app.extensions["mgr_sessions"]() as s:
        scan = s.scalar(select(Scan).join(Page, Page.scan_sha256 == Scan.sha256).where(Page.book_id == book))
        bands = [r["band"] for r in page_suggestions(scan, "KBF")["rows"]]
        assert s.get(Book, book).delivery_id == d.id
    with serve(app) as url:
        yield {"url": url, "app": app, "book": book, "findings": found, "bands": bands}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Read only by the tests that use it: none of them resolves anything."""
    need_browser()
    yield from _build(tmp_path_factory)


@pytest.fixture
def own_site(tmp_path_factory):
    """A site of its own, for a test that resolves findings."""
    need_browser()
    yield from _build(tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def _finding(site, code, loebe_nr=None):
    ids = [f.id for f in site["findings"] if f.code == code and (loebe_nr is None or f.loebe_nr == loebe_nr)]
    assert ids, f"no {code} finding on record {loebe_nr}: {site['findings']}"
    return ids[0]


def test_queue_groups_a_records_findings_and_names_the_codes(site, browser):
    on_3 = sorted(f.code for f in site["findings"] if f.loebe_nr == 3)
    assert "DATE_INVALID" in on_3 and len(on_3) >= 2, on_3
    page, errors = new_page(browser)
    login_as(page, site["url"], "rev1")
    page.goto(site["url"] + "/qa?book=K2697")
    group = page.locator("tbody.record-group", has=page.locator("text=LOEBE_NR 3"))
    assert group.count() == 1  # one row for the record, however many findings it has
    assert group.get_attribute("data-findings") == str(len(on_3))
    text = group.inner_text()
    for code in on_3:
        assert code in text and danish(CATALOGUE[code].title) in text
    page.screenshot(path=str(SHOTS / "20-qa-queue-grouped.png"))
    # keys: J moves to the first record, Enter opens it
    page.keyboard.press("j")
    assert js_value(page, "document.activeElement.classList.contains('open-finding')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/qa/\d+.*"))
    assert not [e for e in errors if "Uncaught" in e or "Content Security Policy" in e], errors
    page.context.close()


def test_finding_shows_the_records_row_on_the_scan_and_opens_the_entry_screen(site, browser):
    base, fid = site["url"], _finding(site, "DATE_INVALID", 3)
    page, errors = new_page(browser)
    login_as(page, base, "rev1")
    page.goto(f"{base}/qa/{fid}?book=K2697")
    viewer = page.locator("#viewer")
    # record 3 was the third keyed from this scan: the third row band the OCR located
    assert viewer.get_attribute("data-band") == ",".join(str(v) for v in site["bands"][2])
    wait_js(page, "document.querySelector('#viewer').dataset.marked === '1'")
    mark = page.locator("#viewer .row-band").bounding_box()
    box = viewer.bounding_box()
    assert mark and mark["height"] > 5 and box["y"] <= mark["y"] <= box["y"] + box["height"]
    # the record's other finding is named with a link
    assert "AGE_IMPLAUSIBLE" in page.inner_text("#siblings")
    # the two ways to resolve are apart, each with its legend
    assert page.locator("#correct-form legend").count() == 1 and page.locator("#book-right-form legend").count() == 1
    page.screenshot(path=str(SHOTS / "21-qa-finding-row-marked.png"))

    page.keyboard.press("e")  # the record in the entry screen …
    page.wait_for_url(re.compile(r".*/books/\d+/entry\?r=3&back=.*"))
    page.wait_for_selector("body[data-ready=yes]")
    assert page.locator("#f-FOEDSELSDATO").input_value() == "19210231"
    page.click("#back-to-qa")  # … and back to the finding, filters kept
    page.wait_for_url(re.compile(rf".*/qa/{fid}\?book=K2697$"))
    assert not [e for e in errors if "Uncaught" in e or "Content Security Policy" in e], errors
    page.context.close()


def test_a_duplicate_shows_both_records_side_by_side_each_with_its_scan(site, browser):
    base, fid = site["url"], _finding(site, "DUPLICATE_RECORD")
    page, errors = new_page(browser)
    login_as(page, base, "rev1")
    page.goto(f"{base}/qa/{fid}")
    page.wait_for_selector("#duplicate")
    head = page.inner_text("#duplicate")
    assert "LOEBE_NR 4" in head and "LOEBE_NR 2" in head
    # each record on its own scan, its own row marked
    assert page.locator("#viewer").get_attribute("data-band") == ",".join(str(v) for v in site["bands"][3])
    assert page.locator("#viewer-other").get_attribute("data-band") == ",".join(str(v) for v in site["bands"][1])
    wait_js(page, "document.querySelector('#viewer').dataset.marked === '1' && "
                  "document.querySelector('#viewer-other').dataset.marked === '1'")
    # only the numbers differ: the running number and the entry number keyed (4 against 2)
    differs = [t.split("\t") for t in page.locator("#record-compare tr.differs").all_inner_texts()]
    assert sorted((t[0].split()[-1], t[1].strip(), t[2].strip()) for t in differs) == [
        ("KILDE_LOEBE_NR", "4", "2"), ("LOEBE_NR", "4", "2")], differs
    assert page.locator("#open-entry-other").get_attribute("href").startswith(f"/books/{site['book']}/entry?r=2")
    page.screenshot(path=str(SHOTS / "22-qa-duplicate-side-by-side.png"), full_page=True)
    need_axe()  # and no serious or critical accessibility violation on the page of two records
    bad = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert not bad, bad
    assert not [e for e in errors if "Uncaught" in e or "Content Security Policy" in e], errors
    page.context.close()


def test_keys_skip_to_the_next_record_and_resolve_in_the_same_record_first(own_site, browser):
    site = own_site
    base = site["url"]
    date_id = _finding(site, "DATE_INVALID", 3)
    others_on_3 = [f.id for f in site["findings"] if f.loebe_nr == 3 and f.id != date_id]
    page, errors = new_page(browser)
    login_as(page, base, "rev1")
    page.goto(f"{base}/qa/{date_id}?book=K2697")
    page.keyboard.press("n")  # leave it for later: the next record's finding
    page.wait_for_url(re.compile(rf".*/qa/(?!{date_id}\?)\d+\?book=K2697$"))
    skipped_to = int(re.search(r"/qa/(\d+)", page.url).group(1))
    assert skipped_to not in others_on_3 + [date_id]
    page.goto(f"{base}/qa/{date_id}?book=K2697")
    page.keyboard.press("c")  # to the correct value, typed, Enter: resolved …
    assert js_value(page, "document.activeElement.id") == "new_value"
    page.keyboard.type("19210213")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/qa/(?!{date_id}\?)\d+\?book=K2697$"))
    page.wait_for_selector(".flash")
    # … and the same record's other finding comes next
    assert int(re.search(r"/qa/(\d+)", page.url).group(1)) in others_on_3
    from ingest.store.models import corrections

    with site["app"].extensions["mgr_store"].reading() as conn:
        row = conn.execute(select(corrections).where(corrections.c.kind == "manual")).one()
    assert (row.loebe_nr, row.field, row.new_value, row.who) == (3, "FOEDSELSDATO", "19210213", "rev1")
    assert not [e for e in errors if "Uncaught" in e or "Content Security Policy" in e], errors
    page.context.close()
