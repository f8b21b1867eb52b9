"""Danish first, English second: what a person sees in each language, and checks that keep
the catalogues complete (every marked text has its Danish, no visible text left unmarked).

The Flask test client covers the pages, flash messages and dates; one browser test (Debian's
Chromium through Playwright) switches the language in the top bar and sees the entry
screen's own messages change with it.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_support import browser_login as login_as
from browser_support import launch_browser, need_browser, new_page, serve, wait_js, wait_ready
from web_support import add_book, add_users, client_as, csrf_of, kbf_fields, make_app

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "webentry"
TRANSLATIONS = WEB / "translations"
TEMPLATES = WEB / "templates"
# The QA pages are converted separately (see docs/web.md, "Languages"); every other
# template and view is checked here.
NOT_YET: set[str] = set()


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path / "work", SUGGEST_WARM_UP=False)
    add_users(app)
    app.config["BOOK_ID"] = add_book(app)
    yield app
    app.extensions["mgr_store"].close()


def lang_of(html: str) -> str:
    m = re.search(r'<html lang="([a-z]+)"', html)
    assert m, "no lang attribute on <html>"
    return m.group(1)


def choose(client, lang: str, back: str = "/books"):
    """Press the language button on the page ``back`` (the browser names it in Referer)."""
    token = csrf_of(client, back if back.startswith("/") else "/books")
    referer = back if "://" in back else "http://localhost" + back
    return client.post("/language", data={"lang": lang, "csrf_token": token}, headers={"Referer": referer})


def test_danish_by_default_whatever_else_the_browser_prefers(app):
    c = app.test_client()
    for accept in (None, "de-DE,de;q=0.9", "en-US,en;q=0.9"):
        html = c.get("/login", headers={"Accept-Language": accept} if accept else {}).get_data(as_text=True)
        assert lang_of(html) == "da"
        assert "<h1>Log ind</h1>" in html and "Brugernavn" in html and "Adgangskode" in html
        assert ">English</button>" in html  # the way to the other language, named in that language
    c = client_as(app, "tr1")
    html = c.get("/books").get_data(as_text=True)
    assert lang_of(html) == "da"
    assert "<h1>Bøger</h1>" in html and ">Log ud</button>" in html and "(indtaster)" in html


def test_switching_to_english_and_back_is_remembered(app):
    c = client_as(app, "tr1")
    r = choose(c, "en", f"/books/{app.config['BOOK_ID']}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/books/{app.config['BOOK_ID']}")
    html = c.get(f"/books/{app.config['BOOK_ID']}").get_data(as_text=True)
    assert lang_of(html) == "en"
    assert "Key records" in html and "No records keyed yet." in html and ">Dansk</button>" in html
    # Kept across pages and across logging out (the choice belongs to the computer).
    assert lang_of(c.get("/books").get_data(as_text=True)) == "en"
    token = csrf_of(c)
    c.post("/logout", data={"csrf_token": token})
    html = c.get("/login").get_data(as_text=True)
    assert lang_of(html) == "en" and "<h1>Log in</h1>" in html
    # And back to Danish.
    choose(c, "da", "/login")
    html = c.get("/login").get_data(as_text=True)
    assert lang_of(html) == "da" and "<h1>Log ind</h1>" in html


def test_a_language_the_app_does_not_have_changes_nothing_and_an_outside_target_is_refused(app):
    c = client_as(app, "tr1")
    r = choose(c, "sv", "https://example.org/")
    assert r.status_code == 302 and "example.org" not in r.headers["Location"]
    assert lang_of(c.get("/books").get_data(as_text=True)) == "da"


def test_flash_and_error_messages_in_each_language(app):
    book = app.config["BOOK_ID"]
    for lang, said, refused, missing in (
            ("da", "Der er ikke indtastet noget i denne bog endnu.", "Forkert brugernavn eller adgangskode.",
             "Her er ingenting."),
            ("en", "Nothing has been keyed in this book yet.", "Wrong user name or password.",
             "There is nothing here.")):
        c = client_as(app, "tr1")
        choose(c, lang, f"/books/{book}")
        token = csrf_of(c, f"/books/{book}")
        html = c.post(f"/books/{book}/ready", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
        assert f'<li class="flash error">{said}</li>' in html
        assert missing in c.get("/books/999999").get_data(as_text=True)
        # JSON answers the entry screen shows are in the person's language too.
        r = c.post(f"/api/books/{book}/records", json={"fields": [], "version": None}, headers={"X-CSRFToken": token})
        assert r.status_code == 400
        assert r.json["error"] == {"da": "forespørgslens indhold har ikke den forventede form",
                                   "en": "the request body does not have the expected shape"}[lang]
        anon = app.test_client()
        choose(anon, lang, "/login")
        token = csrf_of(anon, "/login")
        html = anon.post("/login", data={"name": "tr1", "password": "not the password", "csrf_token": token}
                         ).get_data(as_text=True)
        assert refused in html


def test_dates_and_times_in_each_language_with_a_24_hour_clock(app):
    from webentry.i18n import when

    moment = datetime(2026, 12, 6, 14, 5, 9, tzinfo=UTC)
    for lang, short, long in (("da", "6. dec. 2026 14.05", "6. dec. 2026 14.05.09"),
                              ("en", "6 Dec 2026 14:05", "6 Dec 2026 14:05:09")):
        with app.test_request_context("/", headers={"Cookie": f"mgr_lang={lang}"}):
            assert when(moment) == short
            assert when(moment, seconds=True) == long
            assert when("2026-12-06T14:05:09+00:00") == short
    # On a page: the audit log's times, in the page's language, never with AM/PM.
    c = client_as(app, "admin1")
    for lang, pattern in (("da", r"<td>\d{1,2}\. [a-zæøå]{3}\.? \d{4} \d\d\.\d\d\.\d\d</td>"),
                          ("en", r"<td>\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d</td>")):
        choose(c, lang, "/admin/audit")
        html = c.get("/admin/audit").get_data(as_text=True)
        assert re.search(pattern, html), html[:3000]
        assert not re.search(r"\d\d:\d\d(:\d\d)? ?[AP]M", html)


def test_shares_are_written_with_each_languages_decimal_mark(app):
    c = client_as(app, "tr1")
    book = app.config["BOOK_ID"]
    token = csrf_of(c, f"/books/{book}")
    fields = kbf_fields(1)
    r = c.post(f"/api/books/{book}/records", headers={"X-CSRFToken": token},
               json={"fields": fields, "provenance": {"KILDE_SIDE": {"how": "accepted", "from": "ocr"}}})
    assert r.status_code == 201, r.json
    share = 100 / len(fields)  # one of the record's values accepted from the scan
    reviewer = client_as(app, "rev1")
    for lang, written in (("da", f"{share:.1f} %".replace(".", ",")), ("en", f"{share:.1f} %")):
        choose(reviewer, lang, "/keying")
        html = reviewer.get("/keying").get_data(as_text=True)
        assert f'<td class="num">{written}</td>' in html, html


def test_the_date_placeholder_and_the_date_message_spell_the_date_alike(app):
    c = client_as(app, "tr1")
    book = app.config["BOOK_ID"]
    for lang, form in (("da", "ÅÅÅÅMMDD"), ("en", "YYYYMMDD")):
        choose(c, lang, f"/books/{book}")
        html = c.get(f"/books/{book}/entry?r=new").get_data(as_text=True)
        assert f'placeholder="{form}"' in html
        other = "YYYYMMDD" if lang == "da" else "ÅÅÅÅMMDD"
        assert other not in html.split('id="entry-messages"')[0].split("<body")[1]
        # The check of a date typed in another form says the same form, title and message.
        token = csrf_of(c, f"/books/{book}")
        issues = c.post(f"/api/books/{book}/check/field", json={"field": "FOEDSELSDATO", "value": "1921-3-1x"},
                        headers={"X-CSRFToken": token}).json["issues"]
        malformed = [i for i in issues if i["code"] == "DATE_MALFORMED"]
        assert malformed, issues
        assert form in malformed[0]["title"] and form in malformed[0]["message"], malformed
        assert not [i for i in issues if other in i["title"] + i["message"]], issues  # what the screen shows
        said = {"da": "Dato ikke på formen ÅÅÅÅMMDD", "en": "Date not in YYYYMMDD form"}[lang]
        assert malformed[0]["title"] == said


def test_the_entry_form_groups_are_named_in_each_language_and_the_labels_keep_the_kiip_name_small(app):
    from validators.sources import SOURCES
    from webentry.i18n import GROUP_LABELS
    from webentry.layout import form_fields

    groups = {f.group for code in SOURCES for f in form_fields(code)}
    assert groups - set(GROUP_LABELS) == set(), "a group heading without its English"
    c = client_as(app, "tr1")
    book = app.config["BOOK_ID"]
    for lang, child in (("da", "Barnet"), ("en", "The child")):
        choose(c, lang, f"/books/{book}")
        html = c.get(f"/books/{book}/entry?r=new").get_data(as_text=True)
        assert f"<legend>{child}</legend>" in html
        # the book's own heading first, the KIIP column name after it, smaller
        assert '<label for="f-KILDE_LOEBE_NR" id="l-KILDE_LOEBE_NR">Nr. <small>KILDE_LOEBE_NR</small></label>' in html


# --------------------------------------------------------------------------- the catalogues


def _extracted() -> dict:
    """Every text marked for translation in webentry/, as update.sh extracts it."""
    from babel.messages.extract import extract_from_dir, extract_from_file
    from babel.messages.frontend import parse_mapping_cfg

    with (WEB / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    out = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(WEB), method_map, options_map, keywords=keywords):
        out[message] = f"{filename}:{lineno}"
    # The finding catalogue's titles, which the entry screen shows (Code(code, severity, scope, title, …)).
    catalogue = ROOT / "validators" / "catalogue.py"
    for lineno, message, _comments, _context in extract_from_file("python", str(catalogue), keywords={"Code": (4,)}):
        out[message] = f"validators/catalogue.py:{lineno}"
    return out


def _catalogue(lang: str):
    from babel.messages.pofile import read_po

    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_every_marked_text_has_its_danish_translation():
    marked = _extracted()
    assert len(marked) > 250  # the extraction found the application's texts at all
    da = _catalogue("da")
    missing, fuzzy = [], []
    for msgid, where in marked.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        m = da.get(key)
        strings = m.string if m is not None and isinstance(m.string, tuple) else (m.string if m else "",)
        if m is None or not all(strings):
            missing.append(f"{where}: {msgid!r}")
        elif m.fuzzy:
            fuzzy.append(f"{where}: {msgid!r}")
    assert not missing, ("texts without a Danish translation (run webentry/translations/update.sh, then "
                         "translate them in da/LC_MESSAGES/messages.po):\n" + "\n".join(missing))
    assert not fuzzy, "fuzzy (unchecked) Danish translations:\n" + "\n".join(fuzzy)
    # Placeholders agree between each text and its translation (%(name)s kept, none added).
    problems = [f"{m.id!r}: {errors}" for m, errors in da.check()]
    assert not problems, "\n".join(problems)


def test_the_catalogue_compiles_and_is_what_the_application_shows(tmp_path, app):
    from webentry.i18n import compile_catalogues

    out = compile_catalogues(TRANSLATIONS, tmp_path)
    assert (out / "da" / "LC_MESSAGES" / "messages.mo").stat().st_size > 1000
    with app.test_request_context("/", headers={"Cookie": "mgr_lang=da"}):
        from flask_babel import gettext

        assert gettext("Books") == "Bøger"
        assert gettext("%(name)s: done.", name="x") == "x: udført."
        from webentry.checks import issue_dict

        assert issue_dict("DATE_MALFORMED", "x", "FOEDSELSDATO")["title"] == "Dato ikke på formen ÅÅÅÅMMDD"


def _record_rule_messages(app) -> list[str]:
    """The messages the record checks give for a few wrong records, asked of the entry
    screen's own endpoint on an English page (the validators' words)."""
    c = client_as(app, "tr1")
    c.set_cookie("mgr_lang", "en")
    book = app.config["BOOK_ID"]
    token = csrf_of(c, f"/books/{book}")
    out = []
    for over in ({"KALENDERAAR": "1930"}, {"FOEDSELSDATO": "18500101", "KALENDERAAR": "1850"},
                 {"MODERS_ALDER": "70"}, {"KIRKEDAABSDATO": "19200101"}, {"MODERS_FOEDSELSDAG": "19100101"},
                 {"MODERS_ALDER": "20", "MODERS_FOEDSELSDAG": "18900101"}):
        r = c.post(f"/api/books/{book}/check/record", json={"fields": kbf_fields(5, **over)},
                   headers={"X-CSRFToken": token})
        out += [i["message"] for i in r.json["issues"] if i["code"] not in ("KILDE_LOEBE_NR_GAP",)]
    return out


def test_the_validators_messages_the_entry_screen_shows_are_said_in_danish(app):
    """The field checks' messages (and the book-section checks') are read back by their
    wording: a change of wording in validators/ fails here instead of going silently English."""
    from validators.schemas import KbfRecord, check_value
    from webentry.finding_text import translate

    typed = [("FOEDSELSDATO", "19210231"), ("FOEDSELSDATO", "15.5.21"), ("FOEDSELSDATO", "1921-3-1x"),
             ("FOEDSELSDATO", "1921??05"), ("KOEN", "x"), ("KOEN", "m"), ("KOEN", "dreng"), ("KILDE_SIDE", "Hansen"),
             ("KILDE_SIDE", "0"), ("FORNAVN", "Ha?s"), ("FORNAVN", "H4ns"), ("FORNAVN", "[Jens] Peter"),
             ("FORNAVN", "UOP"), ("MODERS_ALDER", "28 Aar"), ("MODERS_ALDER", "28,0"), ("MODERS_ALDER", "xx"),
             ("KALENDERAAR", "19x1"), ("KILDE_LOEBE_NR", "abc")]
    messages = {i.message for field, value in typed for i in check_value(KbfRecord, field, value).issues}
    messages |= {"entry numbers 37 missing between 36 and 38 (1921, M)", "entry 24b missing before 24c (1921, K)",
                 "date 1921-05-01 out of order between 1921-06-01 and 1921-07-01 (1921, M)",
                 "same child as line 3 (LOEBE_NR 2), similarity 0.95"}
    messages |= set(_record_rule_messages(app))
    assert len(messages) > 20
    with app.test_request_context("/", headers={"Cookie": "mgr_lang=da"}):
        untranslated = sorted(m for m in messages if translate(m) == m)
        assert translate("entry numbers 37 missing between 36 and 38 (1921, M)") == \
            "løbenumrene 37 mangler mellem 36 og 38 (1921, M)"
        assert translate("a message nobody knows") == "a message nobody knows"
        assert translate("mother's birth date gives age 11 at the birth (expected 14-50)") == \
            "moderens fødselsdato giver alderen 11 ved fødslen (forventet 14-50)"
        assert translate("father's age 81 at the birth (expected 15-80)") == \
            "faderens alder 81 ved fødslen (forventet 15-80)"
    assert not untranslated, untranslated
    assert {"mother's age 70 at the birth (expected 14-50)", "mother's age stated 20, birth date gives 31"} <= messages
    with app.test_request_context("/", headers={"Cookie": "mgr_lang=en"}):
        assert all(translate(m) == m for m in messages)  # English pages: the validators' own words


def test_every_message_the_entry_script_asks_for_is_in_the_catalogue(app):
    from webentry.i18n import js_messages

    script = (WEB / "static" / "js" / "entry.js").read_text(encoding="utf-8")
    with app.test_request_context("/"):
        keys = set(js_messages())
    asked = set()
    # msg("key", …) and msg(condition ? "key" : "other", …)
    for call in re.finditer(r'msg(?:Nodes)?\(\s*(?:[^"(),;]*\?\s*)?"(\w+)"(?:\s*:\s*"(\w+)")?', script):
        asked.update(k for k in call.groups() if k)
    assert asked, "no msg() calls found in entry.js"
    assert not asked - keys, f"entry.js asks for messages js_messages() does not have: {sorted(asked - keys)}"
    # No sentence is written into the script itself: a text a person reads comes from the catalogue.
    sentences = [s for s in re.findall(r'"((?:[^"\\\n]|\\.)*)"', script)
                 if re.search(r"\b[A-Z][a-z]+ [a-z]+\b|[a-z]+ [a-z]+[.:…]$", s)]
    assert not sentences, f"texts written into entry.js: {sentences}"


# Words and signs that are the same in every language: key names, the product, codes,
# examples typed into a form.
SAME_IN_EVERY_LANGUAGE = {"mgr-ingest", "Alt", "Tab", "Enter", "Shift", "Esc", "K2697", "Vejby KB 1921-1925"}
SHOWN_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "data-confirm", "label"}


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_data(self, data):
        self.texts.append(data)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.texts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") in ("submit", "button") and value:
                self.texts.append(value)


def unmarked_texts(source: str) -> list[str]:
    """The words a template shows that are not inside {{ _() }} or {% trans %}: what is left
    once every Jinja expression, tag and comment is taken out, read as HTML (text and the
    attributes a person sees). Numbers, punctuation, key names and codes (KILDE_SIDE) pass."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"\{%\s*block \w+_class\s*%\}.*?\{%\s*endblock\s*%\}", " ", text)  # class names
    text = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    parser = _Visible()
    parser.feed(text)
    found = []
    for t in parser.texts:
        rest = t
        for same in SAME_IN_EVERY_LANGUAGE:
            rest = rest.replace(same, " ")
        rest = re.sub(r"\b[A-Z][A-Z0-9_]+\b", " ", rest)  # codes: KILDEANGIVELSE, SOGN, P, N
        if re.search(r"[A-Za-zÆØÅæøå]{2,}", rest):
            found.append(" ".join(t.split()))
    return found


def test_the_unmarked_text_check_finds_a_plain_word():
    assert unmarked_texts("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_texts('<input placeholder="your name">') == ["your name"]
    assert unmarked_texts('<form data-confirm="Delete {{ x }}?">') == ["Delete ?"]
    assert unmarked_texts('<p>{{ _("Hello") }} · 12 <kbd>Alt</kbd>+<kbd>J</kbd> <small>KILDE_SIDE</small></p>') == []
    assert unmarked_texts("{% trans %}Hello{% endtrans %}") == []


def test_every_template_marks_its_visible_text():
    found = {}
    for path in sorted(TEMPLATES.glob("*.html")):
        if path.name in NOT_YET:
            continue
        texts = unmarked_texts(path.read_text(encoding="utf-8"))
        if texts:
            found[path.name] = texts
    assert not found, "visible text not marked for translation: " + json.dumps(found, ensure_ascii=False, indent=1)


# Calls whose text a person reads: the first argument (or an "error" value) must be a
# marked text, never a plain or f-string literal.
SHOWN_BY = {"flash", "AccountError", "ScanRejected", "ServerBusy", "_refuse"}


def test_views_show_no_unmarked_text():
    found = []
    for path in sorted(WEB.glob("*.py")):
        if path.name in NOT_YET:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            literal = None
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in SHOWN_BY and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                    literal = node.args[0]
                for kw in node.keywords:
                    if kw.arg in ("error", "message") and isinstance(kw.value, ast.Constant | ast.JoinedStr) \
                            and name in ("jsonify", "render_template"):
                        literal = kw.value
                if name == "append" and getattr(node.func.value, "id", "") in ("errors", "problems", "reasons") \
                        and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                    literal = node.args[0]
            elif isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values):
                    if isinstance(k, ast.Constant) and k.value == "error" and (
                            isinstance(v, ast.JoinedStr) or isinstance(v, ast.Constant) and isinstance(v.value, str)):
                        literal = v
            if literal is not None:
                found.append(f"{path.name}:{literal.lineno}: {ast.unparse(literal)}")
    assert not found, "texts a person reads that are not marked for translation:\n" + "\n".join(found)


# --------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    need_browser()
    app = make_app(tmp_path_factory.mktemp("language") / "work", SUGGEST_WARM_UP=False)
    add_users(app)
    book = add_book(app)
    with serve(app) as url:
        yield {"url": url, "book": book}
    app.extensions["mgr_store"].close()


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def test_the_top_bar_switches_the_entry_screen_and_its_messages(served, browser):
    base, book = served["url"], served["book"]
    page, errors = new_page(browser)  # Chromium asks for en-US: the page is still Danish
    login_as(page, base, "tr1")
    assert page.get_attribute("html", "lang") == "da"
    assert page.inner_text("h1") == "Bøger"

    page.goto(f"{base}/books/{book}/entry?r=new")
    wait_ready(page)
    assert page.get_attribute("#f-FOEDSELSDATO", "placeholder") == "ÅÅÅÅMMDD"
    page.keyboard.press("Alt+J")  # nothing to accept: the script says so from the catalogue
    wait_js(page, "document.getElementById('save-status').textContent === 'Intet forslag at godtage her.'")
    page.keyboard.type("1")  # a draft is kept: its time in Danish form, 24-hour clock
    wait_js(page, "document.getElementById('save-status').textContent.startsWith('Kladde gemt ')")
    assert re.fullmatch(r"Kladde gemt \d\d\.\d\d\.\d\d", page.inner_text("#save-status").strip())

    page.click("#language-en")
    wait_ready(page)
    assert page.url.endswith(f"/books/{book}/entry?r=new")  # back on the same screen
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute("#f-FOEDSELSDATO", "placeholder") == "YYYYMMDD"
    assert "Restored your unsaved work on this record" in page.inner_text("#banner")
    page.keyboard.press("Alt+J")
    wait_js(page, "document.getElementById('save-status').textContent === 'No suggestion to accept here.'")
    page.keyboard.type("2")
    wait_js(page, "document.getElementById('save-status').textContent.startsWith('Draft saved ')")
    assert re.fullmatch(r"Draft saved \d\d:\d\d:\d\d", page.inner_text("#save-status").strip())

    # A flash message in English, then back to Danish and the same flash in Danish.
    page.click(".logout button[type=submit]")
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.inner_text(".flash") == "You are logged out."
    page.click("#language-da")
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.get_attribute("html", "lang") == "da"
    login_as(page, base, "tr1")
    page.click(".logout button[type=submit]")
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.inner_text(".flash") == "Du er logget ud."
    assert not errors, errors
