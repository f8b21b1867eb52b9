"""Checks while keying, through the importer's own rules.

Nothing here states a rule. A field is checked with ``validators.schemas.check_value``
(the pydantic schema the importer uses); a whole record, with its neighbours, with
``validators.engine.validate_frame`` on the rows of its book section plus the record
itself, keeping the findings about that record. So the web form can never accept what
the importer would reject, or the other way round.

Issues are dicts in the shape the browser shows: code, severity, field, message,
suggestion, auto_fix, and the catalogue's title and action.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from validators.catalogue import CATALOGUE
from validators.engine import validate_frame
from validators.fields import Issue
from validators.schemas import check_value, field_rules
from validators.sources import SOURCES
from webentry import finding_text
from webentry.layout import SECTION_FIELDS, kiip_columns
from webentry.models import Book, Record

# Findings about the key the system gives (LOEBE_NR) or about the delivery as a whole
# are not the transcriber's business while keying.
NOT_FOR_ENTRY = {"LOEBE_NR_SEQUENCE", "LOEBE_NR_INVALID"}
BLOCKING = "error"


def issue_dict(code: str, message: str, field: str | None, suggestion=None, auto_fix: bool = False) -> dict:
    entry = CATALOGUE.get(code)
    return {
        "code": code,
        "severity": entry.severity.value if entry else "warning",
        "field": field,
        "message": finding_text.translate(message),
        "suggestion": None if suggestion is None or (isinstance(suggestion, float) and pd.isna(suggestion))
        else str(suggestion),
        "auto_fix": bool(auto_fix),
        # the catalogue's titles are in the web catalogue too (translations/update.sh collects them)
        "title": _(entry.title) if entry else code,
        "action": entry.action if entry else "",
    }


def _from_issue(issue: Issue, field: str) -> dict:
    return issue_dict(issue.code, issue.message, field, issue.suggestion, issue.auto_fix)


def _clean(value):
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


FORMULA_START = ("=", "+", "-", "@")
FREE_TEXT_KINDS = {"text", "name", "place", "plain"}


def formula_issue(source_code: str, name: str, value: str | None) -> dict | None:
    """A free-text value a spreadsheet would run as a formula (``=cmd|…``, ``+SUM(…)``,
    ``@SUM(…)``, ``-2+3``); the placeholders ``-`` and ``--`` are not formulas."""
    from webentry.layout import form_fields

    text = (value or "").lstrip()
    if not text.startswith(FORMULA_START) or set(text.strip()) <= {"-"}:
        return None
    kinds = {f.name: f.kind for f in form_fields(source_code)}
    if kinds.get(name) not in FREE_TEXT_KINDS:
        return None
    return issue_dict("FORMULA_PREFIX", _("begins with '%(char)s', which a spreadsheet reads as a formula", char=text[0]),
                      name)


def check_field(source_code: str, name: str, value: str | None) -> list[dict]:
    """The issues of one field on its own (the check run when the field is left)."""
    source = SOURCES[source_code]
    formula = formula_issue(source_code, name, value)
    extra = [formula] if formula else []
    if name not in field_rules(source.model):
        return extra
    text = value if value is None else str(value)
    return [_from_issue(i, name) for i in check_value(source.model, name, text).issues] + extra


# --------------------------------------------------------------------------- whole record

def book_row(book: Book, fields: dict, loebe_nr: int) -> dict:
    """A record as the importer would read it from the book's export."""
    source = SOURCES[book.source]
    row = {c: "" for c in kiip_columns(book.source)}
    for name, value in (fields or {}).items():
        if name in row and value is not None:
            row[name] = str(value)
    row["INDTASTNINGSNUMMER"] = book.entry_number
    row["KILDE"] = source.kilde
    row["LOEBE_NR"] = str(loebe_nr)
    if "KILDEANGIVELSE" in row:
        row["KILDEANGIVELSE"] = book.title
    return row


def _frame(book: Book, rows: list[dict], loebe_nrs: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=kiip_columns(book.source))
    frame = frame.fillna("")
    frame["_delivery"] = book.entry_number
    frame["_file"] = f"{book.entry_number}{SOURCES[book.source].data_suffix}.csv"
    # In an export, record n is on line n + 1 (the header is line 1) and is the n-th data row.
    frame["_line"] = [n + 1 for n in loebe_nrs]
    frame["_pos"] = loebe_nrs
    frame["_FRA_AAR"] = pd.array([book.from_year] * len(frame), dtype="Int64")
    frame["_TIL_AAR"] = pd.array([book.to_year] * len(frame), dtype="Int64")
    return frame


# What a gap in the entry numbers most likely means, in the words of each source.
GAP_TITLES = {"KILDE_LOEBE_NR_GAP": {"KBF": _l("Gap in the book's entry numbers (missing birth entry?)"),
                                     "KBD": _l("Gap in the book's entry numbers (missing death entry?)"),
                                     "FT": _l("Gap in the entry numbers (missing person?)")}}


@dataclass
class RecordCheck:
    issues: list[dict]
    loebe_nr: int

    @property
    def errors(self) -> list[dict]:
        return [i for i in self.issues if i["severity"] == BLOCKING and not i["auto_fix"]]


def section_neighbours(session, book: Book, fields: dict, loebe_nr: int | None, limit: int) -> list[Record]:
    """The book's other records in the same section as ``fields`` (same registration year
    and sex in a church book), nearest in keying order first, at most ``limit``."""
    q = select(Record).where(Record.book_id == book.id)
    if loebe_nr is not None:
        q = q.where(Record.loebe_nr != loebe_nr)
    for name in SECTION_FIELDS.get(book.source, ()):
        value = (fields or {}).get(name)
        if value:
            q = q.where(Record.fields[name].as_string() == str(value))
    if loebe_nr is not None:
        # Neighbours on both sides of an edited record.
        before = list(session.scalars(q.where(Record.loebe_nr < loebe_nr).order_by(Record.loebe_nr.desc())
                                      .limit(limit // 2)))
        after = list(session.scalars(q.where(Record.loebe_nr > loebe_nr).order_by(Record.loebe_nr)
                                     .limit(limit // 2)))
        return sorted(before + after, key=lambda r: r.loebe_nr)
    rows = list(session.scalars(q.order_by(Record.loebe_nr.desc()).limit(limit)))
    return rows[::-1]


def next_loebe_nr(session, book_id: int) -> int:
    from sqlalchemy import func

    return (session.scalar(select(func.max(Record.loebe_nr)).where(Record.book_id == book_id)) or 0) + 1


def check_record(session, book: Book, fields: dict, loebe_nr: int | None = None, *,
                 limit: int = 1500) -> RecordCheck:
    """Every issue of a record: its fields, its record rules, and the set rules run over its
    section of the book (entry-number gaps and repeats, page order and capacity, likely
    duplicates). ``loebe_nr`` None means a record not saved yet (it would get the next one)."""
    own = loebe_nr if loebe_nr is not None else next_loebe_nr(session, book.id)
    neighbours = section_neighbours(session, book, fields, loebe_nr, limit)
    rows, keys = [], []
    placed = False
    for r in neighbours:
        if not placed and r.loebe_nr > own:
            rows.append(book_row(book, fields, own))
            keys.append(own)
            placed = True
        rows.append(book_row(book, r.fields, r.loebe_nr))
        keys.append(r.loebe_nr)
    if not placed:
        rows.append(book_row(book, fields, own))
        keys.append(own)
    at = keys.index(own)
    frame = _frame(book, rows, keys)
    options = {"page_capacity": book.page_capacity or 10**6}
    found = validate_frame(frame, SOURCES[book.source], options).findings
    page = str((fields or {}).get("KILDE_SIDE") or "")
    issues = []
    seen = set()
    for f in found.to_dict("records"):
        row = int(f.get("_row", -1))
        code = f["code"]
        if code in NOT_FOR_ENTRY:
            continue
        if code == "KILDE_LOEBE_NR_GAP" and "section should start at 1" in str(f["message"]):
            # Before the first keyed entry of a section: a partly scanned book starts anywhere.
            # While keying, a gap is reported only inside the range already keyed.
            continue
        mine = row == at or (row == -1 and code == "PAGE_OVERFULL" and str(f.get("page") or "") == page)
        if not mine:
            continue
        field = _clean(f.get("field"))
        key = (code, field, f["message"])
        if key in seen:
            continue
        seen.add(key)
        issue = issue_dict(code, str(f["message"]), field, _clean(f.get("suggestion")), bool(f.get("auto_fix")))
        if code in GAP_TITLES:
            issue["title"] = str(GAP_TITLES[code].get(book.source, issue["title"]))
        issues.append(issue)
    return RecordCheck(issues=issues, loebe_nr=own)
