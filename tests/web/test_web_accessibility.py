"""Accessibility of every screen, checked in Chromium with axe-core.

axe-core is installed from the npm registry with the other browser libraries
(``webentry/assets``, pinned in package-lock.json; ``bash webentry/assets/build.sh``). The
pages never load it: the tests put it into each page with Playwright and run it there. Every
screen is visited as the role that sees it, in the states a person meets (the entry screen
empty, with a field error, with the autocomplete list open, with the note editor open), and
must have no violation of impact "serious" or "critical". The table of counts by impact is
printed (``pytest -s``) for the README.

Beside axe, the things a person checks by hand: an error is tied to its input while it is
shown (aria-invalid, aria-describedby) and only then; input borders stand out from the page;
the focus ring shows on the dark scan viewer; the viewer's keys are in the shortcut bar.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from browser_support import (
    AXE,
    SHOTS,
    axe_violations,
    js_value,
    launch_browser,
    need_axe,
    need_browser,
    new_page,
    serve,
    type_tab,
    wait_js,
    wait_ready,
)
from browser_support import browser_login as login_as
from web_support import SCANS, Api, add_book, add_users, client_as, csrf_of, danish, kbf_fields, make_app

IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = ("critical", "serious")

# What the first scan is made to say (OCR off in the tests): the page number, sure enough to be
# filled in, and a birth date too unsure to be, so that the entry screen shows both kinds.
OCR = {"page_number": {"value": "37", "confidence": 0.99, "box": [1500, 80, 1620, 140]},
       "rows": [{"entry_number": None, "band": [100, 400, 2400, 520],
                 "dates": [{"role": "date", "value": "1921-03-16", "confidence": 0.30, "box": [600, 410, 800, 500]}]}],
       "findings": []}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    need_browser()
    need_axe()
    from conftest import kbf_row, write_delivery
    from sqlalchemy import select

    from ingest.store import import_paths
    from webentry.models import Page, Scan

    work = tmp_path_factory.mktemp("a11y") / "work"
    app = make_app(work, OCR_MODE="off")
    add_users(app)
    book = add_book(app, assign=("tr1",))
    admin = client_as(app, "admin1")
    token = csrf_of(admin, f"/books/{book}")
    pages = [(io.BytesIO((SCANS / n).read_bytes()), n) for n in ("kbf_clean_p0037.jpg", "kbf_clean_p0038.jpg")]
    r = admin.post(f"/books/{book}/pages", data={"csrf_token": token, "pages": pages},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1, 2]
    with app.extensions["mgr_sessions"]() as s:
        first = s.scalar(select(Page.scan_sha256).where(Page.book_id == book, Page.seq == 1))
        s.get(Scan, first).ocr, s.get(Scan, first).ocr_status = OCR, "done"
        s.commit()
    # Records keyed earlier (book page, autocomplete, keying figures), one of them changed
    # (record history).
    api = Api(client_as(app, "tr1"))
    for n, (place, name) in enumerate((("Vejby Mark", "Ottilia"), ("Vejby Mark", "Xantippe"),
                                       ("Vejlby", "Ottilia")), start=1):
        assert api.post(f"/api/books/{book}/records",
                        {"fields": kbf_fields(n, KILDE_SIDE="1", FOEDESTED=place, FORNAVN=name)}).status_code == 201
    changed = api.put(f"/api/books/{book}/records/2",
                      {"fields": kbf_fields(2, KILDE_SIDE="1", FOEDESTED="Vejby Mark", FORNAVN="Xenia"), "version": 1})
    assert changed.status_code == 200, changed.json
    # A delivery of another book with an impossible date, for the QA queue and finding page.
    rows = [kbf_row(i, i, INDTASTNINGSNUMMER="K2698") for i in range(1, 6)]
    rows[2]["FOEDSELSDATO"] = "19210231"
    write_delivery(work.parent / "inbox", rows, entry="K2698")
    import_paths(app.extensions["mgr_store"], [work.parent / "inbox"])
    other = add_book(app, entry="K2698", assign=())  # its scan, read as page 1: shown on the finding page
    page = [(io.BytesIO((SCANS / "kbf_clean_p0040.jpg").read_bytes()), "kbf_clean_p0040.jpg")]
    r = admin.post(f"/books/{other}/pages", data={"csrf_token": token, "pages": page},
                   content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert r.json["added"] == [1]
    with app.extensions["mgr_sessions"]() as s:
        scan = s.get(Scan, s.scalar(select(Page.scan_sha256).where(Page.book_id == other)))
        scan.ocr = {"page_number": {"value": "1", "confidence": 0.99, "box": [1500, 80, 1620, 140]}, "rows": [],
                    "findings": []}
        scan.ocr_status = "done"
        s.commit()
    with serve(app) as url:
        yield {"url": url, "app": app, "book": book}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def axe_version() -> str:
    m = re.search(r"axe v([\d.]+)", AXE.read_text(encoding="utf-8")[:200])
    return m.group(1) if m else "?"


def counts(violations: list[dict]) -> dict[str, int]:
    """Violating elements by impact (one rule failing on three inputs counts three)."""
    out = dict.fromkeys(IMPACTS, 0)
    for v in violations:
        out[v["impact"]] += len(v["nodes"])
    return out


def table(results: dict[str, list[dict]]) -> str:
    lines = ["| Screen | " + " | ".join(IMPACTS) + " |", "|---|" + "---:|" * len(IMPACTS)]
    for screen, violations in results.items():
        c = counts(violations)
        lines.append(f"| {screen} | " + " | ".join(str(c[i]) for i in IMPACTS) + " |")
    return "\n".join(lines)


def test_every_screen_has_no_serious_or_critical_violation(site, browser):
    base, book = site["url"], site["book"]
    results: dict[str, list[dict]] = {}

    def check(page, screen):
        page.screenshot(path=str(SHOTS / f"a11y-{len(results) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', screen.lower())}.png"))
        results[screen] = axe_violations(page)

    page, errors = new_page(browser)
    page.goto(base + "/login")
    check(page, "Log-in")
    page.fill("#name", "tr1")
    page.fill("#password", "not the password")
    page.click("main button[type=submit]")
    page.wait_for_selector(".error-box")
    check(page, "Log-in, wrong password")

    # the transcriber: books, the entry screen in its states
    login_as(page, base, "tr1")
    check(page, "Books (transcriber)")
    page.goto(f"{base}/books/{book}/entry?r=new")
    wait_ready(page)
    check(page, "Entry screen, new record")
    page.keyboard.press("Alt+v")
    check(page, "Entry screen, scan focused (Alt+V)")
    page.keyboard.press("Alt+v")
    for _ in range(3):
        page.keyboard.press("Tab")
    type_tab(page, "15.5.21")  # FOEDSELSDATO
    page.wait_for_selector("#m-FOEDSELSDATO .issue.sev-error")
    check(page, "Entry screen, field error")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Alt+b")
    page.wait_for_selector(".note-input")
    check(page, "Entry screen, note editor (Alt+B)")
    page.keyboard.press("Escape")
    page.focus("#f-FOEDESTED")
    page.keyboard.type("Vej")
    page.wait_for_selector("#ac-list:not([hidden]) li")
    page.keyboard.press("ArrowDown")
    check(page, "Entry screen, autocomplete open")
    page.keyboard.press("Escape")
    page.goto(f"{base}/books/{book}/entry?r=1")
    wait_ready(page)
    check(page, "Entry screen, saved record")
    page.context.close()

    # the reviewer: keying figures, the QA queue and a finding
    page, more = new_page(browser)
    errors += more
    login_as(page, base, "rev1")
    page.goto(base + "/keying")
    check(page, "Keying figures")
    page.goto(base + "/qa")
    check(page, "QA queue")
    page.click("a.open-finding >> nth=0")
    page.wait_for_selector("#book-right-form")
    page.wait_for_selector("#viewer .openseadragon-canvas")
    check(page, "QA finding")
    page.context.close()

    # the admin: books, registering a book, the book page, imports, users, audit, history
    page, more = new_page(browser)
    errors += more
    login_as(page, base, "admin1")
    check(page, "Books (admin)")
    page.goto(base + "/books/new")
    check(page, "New book")
    for name, value in (("entry_number", "K27"), ("title", "Vejby KB"), ("parish", "Vejby"), ("from_year", "1925"),
                        ("to_year", "1921")):
        page.fill(f"input[name={name}]", value)
    page.click("main button[type=submit]")  # a wrong entry number, years backwards: the errors shown
    page.wait_for_selector(".error-box")
    check(page, "New book, errors")
    page.goto(f"{base}/books/{book}")
    check(page, "Book page")
    page.goto(base + "/admin/imports")
    check(page, "Admin: imports")
    page.goto(base + "/admin/users")
    check(page, "Admin: users")
    page.goto(base + "/admin/audit")
    check(page, "Admin: audit log")
    page.goto(base + "/admin/audit/record/K2697/2")
    check(page, "Admin: record history")
    page.goto(base + "/no/such/page")
    check(page, "Error page (404)")
    page.context.close()

    print("\naxe-core " + axe_version() + ": violating elements by impact\n" + table(results))
    (SHOTS / "a11y-violations.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    bad = {screen: [f"{v['impact']} {v['id']} ({v['help']}): " + "; ".join(v["nodes"][:4])
                    for v in violations if v["impact"] in BLOCKING]
           for screen, violations in results.items()}
    assert not {k: v for k, v in bad.items() if v}, bad
    assert not [e for e in errors if "Uncaught" in e], errors


# --------------------------------------------------------------------------- by hand

def open_new_record(site, page, name="tr1"):
    """The entry screen on a new record, without a draft that an earlier test left."""
    Api(client_as(site["app"], name)).delete(f"/api/books/{site['book']}/draft")
    login_as(page, site["url"], name)
    page.goto(f"{site['url']}/books/{site['book']}/entry?r=new")
    wait_ready(page)


def contrast(a: list[float], b: list[float]) -> float:
    """WCAG contrast ratio of two sRGB colours given as 0-255 channels."""
    def lum(c):
        ch = [v / 255 for v in c[:3]]
        ch = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# The colour of an element's border or text and of the background it stands on (the first
# ancestor with a background of its own), as [r, g, b].
COLOURS = """(args) => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const under = e => { for (let p = args.outside ? e.parentElement : e; p; p = p.parentElement) {
      const c = rgb(getComputedStyle(p).backgroundColor); if (c.length < 4 || c[3] > 0) return c.slice(0, 3); }
    return [255, 255, 255]; };
  return Array.from(document.querySelectorAll(args.selector)).filter(e => e.offsetParent).map(e => ({
    what: e.id || e.name || e.className || e.tagName,
    fg: rgb(getComputedStyle(e)[args.property]).slice(0, 3), bg: under(e)}));
}"""


def colours(page, selector: str, prop: str, outside: bool) -> list[dict]:
    return page.evaluate(COLOURS, {"selector": selector, "property": prop, "outside": outside})


def test_borders_of_controls_and_the_marks_have_enough_contrast(site, browser):
    base = site["url"]
    page, _ = new_page(browser)
    open_new_record(site, page)
    # a new record after three: the year and the sex are carried, the entry number proposed
    assert page.locator("input.marked-carried").count() >= 2
    assert page.locator("input.marked-proposed").count() >= 1
    found = {}
    borders = colours(page, "#record-form input:not(.marked):not(:focus)", "borderTopColor", outside=True)
    borders += colours(page, "#record-form input.marked", "borderTopColor", outside=True)
    assert len(borders) > 20
    for b in borders:
        found[b["what"]] = contrast(b["fg"], b["bg"])
    marks = colours(page, ".mark:not([hidden])", "color", outside=False)
    assert len(marks) >= 3
    for m in marks:
        found[m["what"]] = contrast(m["fg"], m["bg"])
    page.goto(base + "/login")  # a fresh session: the admin's buttons and the log-in form
    weak = {k: round(v, 2) for k, v in found.items() if v < (4.5 if k.startswith("mark-") else 3.0)}
    assert not weak, f"below 3:1 (borders) or 4.5:1 (text): {weak}"
    for sel in ("input", "button"):
        for b in colours(page, f"main {sel}:not([type=hidden])", "borderTopColor", outside=True):
            assert contrast(b["fg"], b["bg"]) >= 3.0, b
    page.context.close()


def test_a_field_error_is_tied_to_its_input_while_it_is_shown(site, browser):
    base = site["url"]
    page, errors = new_page(browser)
    # the log-in form: the message names both inputs, only after a failed attempt
    page.goto(base + "/login")
    assert page.get_attribute("#name", "aria-invalid") is None
    page.fill("#name", "tr1")
    page.fill("#password", "not the password")
    page.click("main button[type=submit]")
    page.wait_for_selector(".error-box")
    for field in ("#name", "#password"):
        assert page.get_attribute(field, "aria-invalid") == "true"
        said = page.get_attribute(field, "aria-describedby")
        assert said and page.inner_text("#" + said) == page.inner_text(".error-box")

    # the entry screen: a wrong date, then the same date put right
    open_new_record(site, page)
    date = "#f-KIRKEDAABSDATO"
    assert page.get_attribute(date, "aria-invalid") is None
    assert page.get_attribute(date, "aria-describedby") is None
    page.focus(date)
    type_tab(page, "19210231")
    page.wait_for_selector("#m-KIRKEDAABSDATO .issue.sev-error")
    message = page.inner_text("#m-KIRKEDAABSDATO .issue.sev-error")
    assert page.get_attribute(date, "aria-invalid") == "true"
    described = " ".join(page.inner_text("#" + i) for i in page.get_attribute(date, "aria-describedby").split())
    assert message in described
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+a")
    type_tab(page, "19210227")
    wait_js(page, "!document.querySelector('#m-KIRKEDAABSDATO .issue.sev-error')")
    assert page.get_attribute(date, "aria-invalid") is None
    still = page.get_attribute(date, "aria-describedby")
    assert still is None or message not in " ".join(page.inner_text("#" + i) for i in still.split())

    # a narrow date field's longest message (a short date with its suggestion, beside the scan's
    # offer) is read in a few lines, and the field typed in next stays in view
    page.focus("#f-FOEDSELSDATO")
    type_tab(page, "15.5.21")
    page.wait_for_selector("#m-FOEDSELSDATO .issue.sev-error")
    box = page.locator("#m-FOEDSELSDATO").bounding_box()
    line = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('#m-FOEDSELSDATO')).lineHeight)"))
    assert box["height"] <= 5 * line, (box, line)
    focused = page.evaluate("(() => { const r = document.activeElement.getBoundingClientRect(); "
                            "return [r.top, r.bottom, window.innerHeight]; })()")
    assert 0 <= focused[0] and focused[1] <= focused[2], focused
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+a")
    type_tab(page, "19210515")

    # a carried value: its mark describes the input until it is confirmed
    year = "#f-KALENDERAAR"
    assert "mark-KALENDERAAR" in (page.get_attribute(year, "aria-describedby") or "")
    page.focus(year)
    page.keyboard.press("Tab")
    wait_js(page, "!document.getElementById('f-KALENDERAAR').classList.contains('marked')")
    assert "mark-KALENDERAAR" not in (page.get_attribute(year, "aria-describedby") or "")

    # the autocomplete list: a named list, the chosen item told to the input, closed again
    place = "#f-FOEDESTED"
    assert page.get_attribute(place, "role") == "combobox"
    assert page.get_attribute(place, "aria-expanded") == "false"
    page.focus(place)
    page.keyboard.type("Vej")
    page.wait_for_selector("#ac-list:not([hidden]) li")
    assert page.get_attribute(place, "aria-expanded") == "true"
    assert page.inner_text("#" + page.get_attribute("#ac-list", "aria-labelledby")).startswith("Fødested")
    page.keyboard.press("ArrowDown")
    active = page.get_attribute(place, "aria-activedescendant")
    assert active and page.get_attribute("#" + active, "aria-selected") == "true"
    assert "active" in page.get_attribute("#" + active, "class")
    page.keyboard.press("Escape")
    assert page.get_attribute(place, "aria-expanded") == "false"
    assert page.get_attribute(place, "aria-activedescendant") is None
    assert not [e for e in errors if "Uncaught" in e], errors
    page.context.close()


def test_every_control_shows_where_the_focus_is(site, browser):
    """Tab through each kind of page: every element that takes the focus shows a ring (an
    outline at least 2 px wide, or the white-and-dark box shadow)."""
    base, book = site["url"], site["book"]
    page, _ = new_page(browser)
    login_as(page, base, "admin1")
    ring = """() => { const e = document.activeElement, s = getComputedStyle(e);
      return {what: e.outerHTML.slice(0, 80), outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
              shadow: s.boxShadow !== 'none'}; }"""
    seen = 0
    for path in ("/books", f"/books/{book}", "/admin/users", "/books/new"):
        page.goto(base + path)
        for _ in range(12):
            page.keyboard.press("Tab")
            r = page.evaluate(ring)
            if "<body" in r["what"]:
                continue
            assert r["outline"] or r["shadow"], (path, r["what"])
            seen += 1
    assert seen >= 40
    page.context.close()


def _viewer_shot(page):
    from PIL import Image

    box = page.locator("#viewer .openseadragon-canvas").first.bounding_box()
    raw = page.screenshot(clip=box)
    return Image.open(io.BytesIO(raw)).convert("RGB")


def test_the_scan_viewer_is_reached_and_used_with_the_keyboard(site, browser):
    book = site["book"]
    page, errors = new_page(browser)
    open_new_record(site, page)
    page.wait_for_selector("#viewer .openseadragon-canvas canvas")
    page.wait_for_timeout(500)  # the scan drawn
    keys = page.inner_text("#viewer-keys")
    for said in ("Alt+V", "Esc", danish("zoom"), danish("move"), danish("whole page"), danish("rotate")):
        assert said in keys.replace("\n", ""), said
    page.wait_for_timeout(1500)  # OpenSeadragon's buttons fade out when the mouse is away
    before = _viewer_shot(page)

    page.keyboard.press("Alt+v")  # from the first field to the scan
    canvas = "#viewer .openseadragon-canvas"
    assert js_value(page, "document.activeElement.classList.contains('openseadragon-canvas')")
    assert page.get_attribute(canvas, "aria-label") and page.get_attribute(canvas, "aria-describedby") == "viewer-keys"
    page.wait_for_timeout(300)
    after = _viewer_shot(page)
    page.screenshot(path=str(SHOTS / "a11y-viewer-focus.png"))
    # the ring: all round the edge of the viewer, a band 3-6 px inside it differs from the unfocused
    # view by 3:1 or more (white on the grey around the page, dark on the paper)
    w, h = after.size
    points = [(x, y) for x in range(10, w - 10, 7) for y in (0, h - 1)] + \
             [(x, y) for y in range(10, h - 10, 7) for x in (0, w - 1)]
    def changed(x, y):  # the white ring 0-3 px inside the edge, the dark one 3-7 px
        depths = [(x, y + d) if y < h / 2 else (x, y - d) for d in (1, 5)] if y in (0, h - 1) else \
                 [(x + d, y) if x < w / 2 else (x - d, y) for d in (1, 5)]
        return max(contrast(before.getpixel(p), after.getpixel(p)) for p in depths)

    weak = [p for p in points if changed(*p) < 3.0]
    assert len(weak) <= len(points) // 20, f"{len(weak)} of {len(points)} edge points show no ring"

    # OpenSeadragon's own keys work on the focused scan: "+" zooms in (the view kept per page shrinks)
    view_key = f"mgr-view-{book}-1"
    page.keyboard.press("Shift+Equal")
    wait_js(page, f"sessionStorage.getItem('{view_key}') !== null")
    width = page.evaluate(f"JSON.parse(sessionStorage.getItem('{view_key}'))[2]")
    page.keyboard.press("Shift+Equal")
    wait_js(page, f"JSON.parse(sessionStorage.getItem('{view_key}'))[2] < {width} * 0.99")

    # its buttons: reached with Tab, named, and ringed
    page.keyboard.press("Tab")
    button = page.evaluate("""() => { const e = document.activeElement;
      return {role: e.getAttribute('role'), name: e.getAttribute('aria-label'), inViewer: !!e.closest('#viewer'),
              outline: getComputedStyle(e).outlineStyle, width: parseFloat(getComputedStyle(e).outlineWidth)}; }""")
    assert button["role"] == "button" and button["name"] and button["inViewer"], button
    assert button["outline"] != "none" and button["width"] >= 2, button
    shot = page.locator(":focus").screenshot()
    from PIL import Image

    pixels = Image.open(io.BytesIO(shot)).convert("RGB")
    ring = pixels.getpixel((2, pixels.size[1] // 2))
    assert max(contrast(ring, (255, 255, 255)), contrast(ring, (58, 63, 68))) >= 3.0, ring
    page.keyboard.press("Escape")  # back to the field it came from
    assert page.evaluate("document.activeElement.id") == "f-KILDE_SIDE"
    page.keyboard.press("Alt+v")
    page.keyboard.press("Alt+v")  # and Alt+V again goes back too
    assert page.evaluate("document.activeElement.id") == "f-KILDE_SIDE"
    assert not [e for e in errors if "Uncaught" in e], errors
    page.context.close()
