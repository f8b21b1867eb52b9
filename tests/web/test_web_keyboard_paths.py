"""The keyboard paths transcribers use hundreds of times a day, typed in Chromium exactly as a
person types them, and checked in the store: none may change or lose a keyed value.

* the autocomplete list: Down/Up move the highlight, Enter takes the highlighted item and
  never saves the record, Tab takes it and moves on, Esc closes the list;
* Alt+J pressed twice: the second press may not put an old OCR reading back over the
  suggestion the first press accepted;
* Alt+B in the normal flow: the note editor stays open and keeps the typing while field and
  record checks answer.
"""

from __future__ import annotations

import io

import pytest
from browser_support import browser_login as login_as
from browser_support import (
    js_value,
    launch_browser,
    need_browser,
    new_page,
    save_and_wait,
    serve,
    type_tab,
    wait_js,
    wait_ready,
)
from web_support import SCANS, Api, add_book, add_users, client_as, csrf_of, kbf_fields, make_app

# What the scan is made to say for the first row: a birth date read with low confidence, so it
# is offered (Alt+J), not filled in.
OCR_OFFER = {"page_number": {"value": "37", "confidence": 0.99, "box": [1500, 80, 1620, 140]},
             "rows": [{"entry_number": None, "band": [100, 400, 2400, 520],
                       "dates": [{"role": "date", "value": "1921-03-16", "confidence": 0.30,
                                  "box": [600, 410, 800, 500]}]}],
             "findings": []}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    need_browser()
    from sqlalchemy import select

    from webentry.models import Page, Scan

    work = tmp_path_factory.mktemp("keys") / "work"
    app = make_app(work, OCR_MODE="off")
    add_users(app)
    book = add_book(app, assign=("tr1",))
    admin = client_as(app, "admin1")
    token = csrf_of(admin, f"/books/{book}")
    page = [(io.BytesIO((SCANS / "kbf_clean_p0037.jpg").read_bytes()), "kbf_clean_p0037.jpg")]
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": page},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1]
    with app.extensions["mgr_sessions"]() as s:
        scan = s.get(Scan, s.scalar(select(Page.scan_sha256).where(Page.book_id == book)))
        scan.ocr, scan.ocr_status = OCR_OFFER, "done"
        s.commit()
    # Spellings keyed earlier in another of tr1's books, for the autocomplete list.
    other = add_book(app, entry="K2699", assign=("tr1",))
    api = Api(client_as(app, "tr1"))
    for n, (place, name) in enumerate((("Vejby Mark", "Xantippe"), ("Vejby Mark", "Ottilia"),
                                       ("Vejlby", "Ottilia")), start=1):
        assert api.post(f"/api/books/{other}/records",
                        {"fields": kbf_fields(n, FOEDESTED=place, FORNAVN=name)}).status_code == 201
    # A book of its own for the book page's test, so that no test depends on another's records.
    listed = add_book(app, entry="K2700", assign=("tr1",))
    for n in (1, 2):
        assert api.post(f"/api/books/{listed}/records",
                        {"fields": kbf_fields(n, FOEDESTED="Tibirke")}).status_code == 201  # not in the lists typed
    with serve(app) as url:
        yield {"url": url, "app": app, "book": book, "listed": listed}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def _records(app, book):
    from sqlalchemy import select

    from webentry.models import Record

    with app.extensions["mgr_sessions"]() as s:
        return {r.loebe_nr: r for r in s.scalars(select(Record).where(Record.book_id == book))}


def _active_item(page):
    return js_value(page, "(function(){const a=document.querySelector('#ac-list li.active');"
                          "return a ? a.firstChild.textContent : null;})()")


def test_keys_never_corrupt_a_record(keyed, browser):
    base, book, app = keyed["url"], keyed["book"], keyed["app"]
    page, errors = new_page(browser)
    login_as(page, base, "tr1")
    page.goto(f"{base}/books/{book}/entry?r=new")
    wait_ready(page)
    kb = page.keyboard
    start_url = page.url

    # ---- Record 1 --------------------------------------------------------------------
    assert page.evaluate("document.activeElement.id") == "f-KILDE_SIDE"
    kb.press("Tab")  # the page number read off the scan (99%), accepted
    type_tab(page, "36")
    type_tab(page, "1921")
    # Alt+J twice. The scan offers 16 March at 30%; the check suggests 15 May for what was typed.
    assert "1921031" in page.inner_text("#m-FOEDSELSDATO")  # the offer is shown, not filled in
    type_tab(page, "15.5.21")
    page.wait_for_selector("#m-FOEDSELSDATO .issue.sev-error")
    kb.press("Shift+Tab")  # back to the date, as a person checking it would
    kb.press("Alt+j")
    assert page.locator("#f-FOEDSELSDATO").input_value() == "19210515"
    wait_js(page, "!document.querySelector('#m-FOEDSELSDATO .issue')")
    kb.press("Alt+j")  # a second press: nothing left to accept
    page.wait_for_timeout(300)
    assert page.locator("#f-FOEDSELSDATO").input_value() == "19210515"
    assert "Intet forslag" in page.inner_text("#save-status")
    assert "19210316" not in page.inner_text("#m-FOEDSELSDATO")
    kb.press("Tab")

    # Autocomplete in Fødested: Down, Down, Up comes back to the first item; Enter takes it.
    kb.type("Vej")
    page.wait_for_selector("#ac-list:not([hidden]) li")
    items = page.evaluate("Array.from(document.querySelectorAll('#ac-list li[role=option]'))"
                          ".map(function (li) { return li.firstChild.textContent; })")
    assert {"Vejby Mark", "Vejlby"} <= set(items) and len(items) >= 3
    assert _active_item(page) is None
    kb.press("ArrowDown")
    assert _active_item(page) == items[0]
    kb.press("ArrowDown")
    assert _active_item(page) == items[1]
    kb.press("ArrowDown")
    kb.press("ArrowUp")
    kb.press("ArrowUp")
    assert _active_item(page) == items[0]
    kb.press("Enter")
    assert page.locator("#f-FOEDESTED").input_value() == items[0]
    assert page.is_hidden("#ac-list")
    page.wait_for_timeout(300)
    assert page.url == start_url and not _records(app, book)  # Enter in the list did not save
    assert page.evaluate("document.activeElement.id") == "f-FOEDESTED"
    kb.press("Tab")

    # Esc closes the list and the typed text stands; Down then Tab takes the item and moves on.
    kb.type("Ott")
    page.wait_for_selector("#ac-list:not([hidden]) li")
    kb.press("Escape")
    assert page.is_hidden("#ac-list")
    assert page.locator("#f-FORNAVN").input_value() == "Ott"
    kb.type("i")
    page.wait_for_selector("#ac-list:not([hidden]) li")
    kb.press("ArrowDown")
    kb.press("Tab")
    assert page.locator("#f-FORNAVN").input_value() == "Ottilia"
    assert page.evaluate("document.activeElement.id") == "f-MELLEMNAVNE"
    kb.press("Tab")
    type_tab(page, "Aagaard")
    kb.type("K")
    # An Enter with the list open and nothing chosen only closes it; the next Enter saves.
    save_and_wait(page)

    # ---- Record 2: Alt+B in the normal flow -----------------------------------------
    kb.press("Tab")  # carried page number
    kb.press("Tab")  # proposed entry number 37
    kb.press("Tab")  # carried year
    type_tab(page, "19210230")  # as written in the book: 30 February
    page.wait_for_selector("#m-FOEDSELSDATO .issue.sev-error")
    kb.press("Alt+b")
    page.wait_for_selector(".note-input")
    assert page.evaluate("document.activeElement.className") == "note-input"
    # checks answer while the editor is open: it must stay, with the focus and the typing
    page.wait_for_timeout(900)
    assert page.is_visible(".note-input")
    assert page.evaluate("document.activeElement.className") == "note-input"
    kb.press("Control+a")
    kb.type("står sådan i bogen, 30. februar", delay=25)
    assert page.locator(".note-input").input_value() == "står sådan i bogen, 30. februar"
    kb.press("Enter")
    assert not page.is_visible(".note-input")
    assert "Beholdt som i bogen" in page.inner_text("#m-FOEDSELSDATO")
    assert page.evaluate("document.activeElement.id") == "f-FOEDESTED"
    type_tab(page, "Vejby")
    type_tab(page, "Karen")
    kb.press("Tab")
    type_tab(page, "Hansen")
    save_and_wait(page)

    recs = _records(app, book)
    assert sorted(recs) == [1, 2]
    one, two = recs[1].fields, recs[2].fields
    assert (one["KILDE_SIDE"], one["KILDE_LOEBE_NR"], one["FOEDSELSDATO"]) == ("37", "36", "19210515")
    assert (one["FOEDESTED"], one["FORNAVN"], one["EFTERNAVN"], one["KOEN"]) == ("Vejby Mark", "Ottilia", "Aagaard", "K")
    assert recs[1].provenance["FOEDSELSDATO"]["from"] == "check"
    assert recs[1].provenance["FOEDESTED"] == {"how": "accepted", "from": "autocomplete", "suggested": "Vejby Mark"}
    assert (two["FOEDSELSDATO"], two["FORNAVN"], two["EFTERNAVN"]) == ("19210230", "Karen", "Hansen")
    assert recs[2].notes == {"FOEDSELSDATO": "står sådan i bogen, 30. februar"}
    assert not [e for e in errors if "Uncaught" in e or "Content Security Policy" in e], errors
    page.context.close()


def test_book_page_lists_the_records_and_mark_ready_asks_first(keyed, browser):
    base, book, app = keyed["url"], keyed["listed"], keyed["app"]
    assert len(_records(app, book)) == 2
    page, _errors = new_page(browser)
    login_as(page, base, "tr1")
    page.goto(f"{base}/books/{book}")
    links = page.locator("#records tbody a")
    assert links.count() == len(_records(app, book))
    answers, say_yes = [], []
    page.on("dialog", lambda d: (answers.append(d.message), d.accept() if say_yes else d.dismiss()))
    ready = f"form[action='/books/{book}/ready'] button"  # "Mark ready for review"
    page.click(ready)
    page.wait_for_timeout(300)
    assert answers and "klar til gennemsyn" in answers[0]
    from webentry.models import Book

    with app.extensions["mgr_sessions"]() as s:
        assert s.get(Book, book).status == "keying"  # said no: nothing happened
    say_yes.append(True)
    page.click(ready)
    page.wait_for_selector(".flash")
    with app.extensions["mgr_sessions"]() as s:
        assert s.get(Book, book).status == "ready"
    links.first.click()
    wait_ready(page)
    assert "/entry?r=" in page.url
    page.context.close()
    with app.extensions["mgr_sessions"]() as s:  # back to keying: the tests do not depend on their order
        s.get(Book, book).status = "keying"
        s.commit()
