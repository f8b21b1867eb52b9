"""The languages of the web application: Danish first, English second (Flask-Babel).

Every text a person reads is an English message id marked for translation (``_()`` in
templates and Python, the messages of ``js_messages`` for the browser code) and
translated in ``webentry/translations/<lang>/LC_MESSAGES/messages.po``. Danish is shown
until a person chooses English in the top bar; the choice is kept in a cookie, so it is
the same on the log-in page, survives logging out, and belongs to the computer a person
keys at.

The ``.po`` catalogues are the only source: they are compiled once per process, when the
first application is made, into a private temporary folder (a few milliseconds), so a
fresh clone shows Danish without a build step and a compiled file can never be older
than its catalogue. ``docs/web.md`` says how to mark, extract and translate a text.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, current_app, redirect, request, url_for
from flask_babel import Babel, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LANGUAGES = {"da": "Dansk", "en": "English"}
DEFAULT = "da"
COOKIE = "mgr_lang"
COOKIE_DAYS = 400  # the longest a browser keeps a cookie
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

# Dates and times: day first and a 24-hour clock in both languages, in the form each
# language writes them (CLDR's own short forms use a 12-hour clock for English).
DATETIME = {"da": "d. MMM y HH.mm", "en": "d MMM y HH:mm"}
DATETIME_SECONDS = {"da": "d. MMM y HH.mm.ss", "en": "d MMM y HH:mm:ss"}

bp = Blueprint("language", __name__)

# Codes that pages show as words: a scan's OCR state, and how a keyed value came about.
OCR_LABELS = {"pending": _l("pending"), "done": _l("done"), "failed": _l("failed"), "off": _l("off"),
              "unavailable": _l("unavailable")}
# The entry form's group headings (webentry.layout names them in Danish).
GROUP_LABELS = {"Placering i kilden": _l("Place in the source"), "Barnet": _l("The child"),
                "Den døde": _l("The deceased"), "Personen": _l("The person"), "Faderen": _l("The father"),
                "Moderen": _l("The mother"), "Ægtefællen": _l("The spouse"), "Anden slægtning": _l("Other relative"),
                "Bemærkninger": _l("Remarks"), "Husstanden": _l("The household"), "Dåb": _l("Baptism"),
                "Vielse og faddere": _l("Parents' marriage and godparents"), "Død og begravelse": _l("Death and burial")}
SEVERITY_LABELS = {"error": _l("error"), "warning": _l("warning"), "info": _l("note")}
DECISION_LABELS = {"corrected": _l("corrected"), "book_is_right": _l("the book is right"),
                   "same_person": _l("one person"), "two_persons": _l("two persons")}
PROVENANCE_LABELS = {"typed": _l("typed"), "accepted": _l("accepted"), "corrected": _l("corrected"),
                     "illegible": _l("illegible"), "ocr": _l("OCR"), "carried": _l("carried"),
                     "proposed": _l("proposed"), "autocomplete": _l("autocomplete"), "check": _l("check"),
                     "above": _l("as above"), "draft": _l("draft")}


def compile_catalogues(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Compile every ``<lang>/LC_MESSAGES/messages.po`` under ``source`` into ``.mo`` files
    under ``target`` (a new temporary folder when not given); return ``target``."""
    if target is None:
        target = Path(tempfile.mkdtemp(prefix="mgr-ingest-translations-"))
        atexit.register(shutil.rmtree, target, True)
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as f:
            write_mo(f, catalog)
    return target


@lru_cache(maxsize=1)
def compiled() -> Path:
    return compile_catalogues()


def language() -> str:
    """The language of the current request: the person's choice, else Danish."""
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT


def current() -> str:
    locale = get_locale()
    return locale.language if locale else DEFAULT


def when(value: datetime | str | None, seconds: bool = False) -> str:
    """A date and time (UTC; a datetime or ISO text) as the page's language writes it, 24-hour clock."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    patterns = DATETIME_SECONDS if seconds else DATETIME
    return format_datetime(value, patterns.get(current(), patterns[DEFAULT]))


def provenance(key: str) -> str:
    """How a value came about, as a page shows it: ``accepted (ocr)`` -> ``accepted (OCR)``."""
    how, _sep, source = key.partition(" (")
    text = str(PROVENANCE_LABELS.get(how, how))
    if source:
        source = source.rstrip(")")
        text += f" ({PROVENANCE_LABELS.get(source, source)})"
    return text


@bp.route("/language", methods=["POST"])
def choose():
    """Keep the chosen language and go back to the page the person was on."""
    from webentry.auth import safe_target

    lang = request.form.get("lang", "")
    # Back to the page the button was on, read from the Referer (this site's pages only), so
    # that no page has to write its own address into itself.
    came_from = urlsplit(request.referrer or "")
    back = None
    if came_from.netloc == request.host:
        back = safe_target(came_from.path + ("?" + came_from.query if came_from.query else ""))
    back = back or url_for("books.index")
    response = redirect(back)
    if lang in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=COOKIE_DAYS * 86400, samesite="Lax", httponly=True,
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure)
    return response


def js_messages() -> dict[str, str]:
    """The texts the entry screen's script shows, translated for the page it is on.
    Placeholders are ``%(name)s``; entry.js fills them in."""
    return {
        "mark_carried": _("carried from the record before · Tab confirms"),
        "mark_proposed": _("proposed · Tab confirms"),
        "mark_ocr": _("read from the scan %(confidence)s · Tab confirms"),
        "why_previous": _("previous + 1 · Tab confirms"),
        "why_new_scan": _("new scan: previous page + 1 · Tab confirms"),
        "why_before": _("before: %(value)s"),
        "ocr_pending": _("OCR: reading this page…"),
        "ocr_status": _("OCR: %(status)s"),
        "ocr_status_message": _("OCR: %(status)s (%(message)s)"),
        "ocr_done": _("OCR: done"),
        "ocr_note": _("OCR note: %(message)s"),
        "empty": _("(empty)"),
        "keep_hint": _(" · Alt+B keep as in the book"),
        "offer": _("The scan may read %(value)s (%(confidence)s, not filled in)"),
        "kept_note": _("Kept as in the book: %(note)s"),
        "viewer_failed": _("The scan viewer (OpenSeadragon) did not load: run bash webentry/assets/build.sh "
                           "and reload."),
        "last_scan": _("This is the last scan."),
        "first_scan": _("This is the first scan."),
        "standard_spelling": _("standard spelling: %(value)s (information only)"),
        "no_suggestion": _("No suggestion to accept here."),
        "accepted_suggestion": _("Accepted the suggestion for %(label)s."),
        "took_scan_value": _("Took the value read from the scan for %(label)s."),
        "nothing_to_keep": _("Nothing flagged to keep."),
        "note_label": _("Why the reading stays (Enter keeps it, Esc cancels): "),
        "note_default": _("as written in the book"),
        "kept_with_note": _("Kept the reading of %(label)s with a note."),
        "nothing_above": _("The record before has nothing in %(label)s."),
        "first_record": _("This is the first record."),
        "last_record": _("This is the last record."),
        "draft_saved": _("Draft saved %(time)s"),
        "draft_offline": _("Draft not saved: no connection"),
        "restored": _("Restored your unsaved work on this record (autosaved %(time)s). "),
        "discard": _("Discard it"),
        "confirm_marked": _("Confirm the marked value (Tab) or type over it: %(labels)s"),
        "saving": _("Saving…"),
        "saved_as": _("Saved as record %(number)s."),
        "enter_saves": _(" (Enter saves)"),
        "not_saved_status": _("Not saved (%(status)s)"),
        "not_saved_offline": _("Not saved: no connection to the server. Your work is kept as a draft."),
        "conflict_who": _("Version %(version)s was saved by %(user)s at %(time)s. Nothing has been overwritten."),
        "unsaved_new": _("You have unsaved work on a new record. "),
        "unsaved_record": _("You have unsaved work on record %(number)s. "),
        "open_it": _("Open it"),
        **{"ocr_state_" + code: str(label) for code, label in OCR_LABELS.items()},
    }


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled())
    Babel(app, locale_selector=language)
    app.register_blueprint(bp)
    app.add_template_filter(when, "when")
    app.add_template_filter(provenance, "provenance")

    @app.context_processor
    def _language():
        lang = current()
        return {"lang": lang, "languages": LANGUAGES, "ocr_labels": OCR_LABELS,
                "provenance_labels": PROVENANCE_LABELS, "group_labels": GROUP_LABELS,
                "severity_labels": SEVERITY_LABELS, "decision_labels": DECISION_LABELS,
                "js_messages": js_messages}
