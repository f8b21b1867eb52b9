"""Field checkers: one keyed value in, its cleaned value and any findings out.

Each checker is a pure function of the raw string.  The pydantic schemas in
``validators.schemas`` attach them to fields, and the bulk engine runs them once per
*distinct* value of a column, so a million rows cost as much as their distinct values.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from validators.catalogue import CATALOGUE


@dataclass(frozen=True)
class Issue:
    code: str
    message: str
    suggestion: str | None = None
    auto_fix: bool = False

    @property
    def severity(self) -> str:
        return CATALOGUE[self.code].severity.value


@dataclass(frozen=True)
class Checked:
    """A checked value: ``value`` is the cleaned value (None = unknown/empty)."""

    value: Any = None
    issues: tuple[Issue, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_error(self) -> bool:
        return any(i.severity == "error" and not i.auto_fix for i in self.issues)


EMPTY = Checked()


def _strip(raw: str | None) -> str:
    return "" if raw is None else str(raw).strip()


# --------------------------------------------------------------------------- identifiers

_ENTRY_OK = re.compile(r"K\d{4}[a-z]?")
_ENTRY_FIXABLE = re.compile(r"[Kk]?(\d{4})([a-zA-Z]?)")


def check_entry_number(raw: str | None) -> Checked:
    """INDTASTNINGSNUMMER: ``Knnnn`` or ``Knnnna``; bare ``nnnn`` gets its K back."""
    s = _strip(raw)
    if not s:
        return Checked(None, (Issue("REQUIRED_MISSING", "entry number is empty"),))
    if _ENTRY_OK.fullmatch(s):
        return Checked(s)
    m = _ENTRY_FIXABLE.fullmatch(s)
    if m:
        fixed = f"K{m.group(1)}{m.group(2).lower()}"
        return Checked(fixed, (Issue("ENTRY_NUMBER_FORMAT", f"entry number '{s}' is not Knnnn", fixed, True),))
    return Checked(None, (Issue("ENTRY_NUMBER_FORMAT", f"entry number '{s}' is not Knnnn or Knnnna"),))


def normalise_entry_number(raw: str | None) -> str | None:
    """Best reading of an entry number from a file name or metadata, or None."""
    m = _ENTRY_FIXABLE.fullmatch(_strip(raw))
    return f"K{m.group(1)}{m.group(2).lower()}" if m else None


def check_positive_int(raw: str | None, code: str, what: str, required: bool = True) -> Checked:
    s = _strip(raw)
    if not s:
        if required:
            return Checked(None, (Issue("REQUIRED_MISSING", f"{what} is empty"),))
        return EMPTY
    if s.isdigit() and s.isascii() and len(s) <= 9 and int(s) > 0:  # 9 digits fit a 32-bit column
        return Checked(int(s))
    return Checked(None, (Issue(code, f"{what} '{s}' is not a positive integer" if len(s) < 40
                                else f"{what} is not a positive integer"),))


# A whole number written with decimals ('1,00000', '31,000', '33.0'), as database
# extracts (DDD research layout, Link-Lives) write them; ',500' is half a year.
_DECIMAL = re.compile(r"(\d{0,9})[,.](\d{1,9})")


def decimal_number(s: str) -> tuple[int, float] | None:
    """(whole part, value) of a number written with a decimal comma or point, else None."""
    m = _DECIMAL.fullmatch(s)  # the decimals are never empty: ',5' is a number, '5,' is not
    if not m:
        return None
    whole = int(m.group(1) or 0)
    return whole, whole + int(m.group(2)) / 10 ** len(m.group(2))


def _whole_from_decimal(s: str, what: str) -> Checked | None:
    parsed = decimal_number(s)
    if parsed is None or parsed[0] != parsed[1]:
        return None
    return Checked(parsed[0], (Issue("NUMBER_AS_DECIMAL", f"{what} '{s}' written with decimals; read as {parsed[0]}",
                                     str(parsed[0]), True),))


def check_running_number(raw: str | None) -> Checked:
    s = _strip(raw)
    if s and not s.isdigit():
        read = _whole_from_decimal(s, "running number")
        if read is not None and read.value > 0:
            return read
    return check_positive_int(raw, "LOEBE_NR_INVALID", "running number")


def check_page(raw: str | None) -> Checked:
    s = _strip(raw)
    if s and not any(ch.isdigit() for ch in s):
        # Text where a page number belongs (the pilot met the transcriber's own name).
        return Checked(None, (Issue("KILDE_SIDE_INVALID", "page holds text, not a number"),))
    return check_positive_int(raw, "KILDE_SIDE_INVALID", "page")


_BOOK_ENTRY = re.compile(r"(\d{1,5})\s*([a-zA-Z]?)")
_LONE_LETTER = re.compile(r"\(?([a-zA-Z])\)?")


def check_book_entry_number(raw: str | None) -> Checked:
    """KILDE_LOEBE_NR: the entry number printed in the book.

    Positive integers are children born in the parish, ``0`` not born here, ``24a`` a
    child following no. 24.  Anything else (``-``, ``--``, a lone letter, ``u.n.``…) is
    kept but flagged; the set check proposes a value from the neighbouring entries.
    ``extra`` carries ``number`` (int or None) and ``letter`` ('' or a lower-case letter).
    """
    s = _strip(raw)
    if not s:
        return Checked(None, (Issue("REQUIRED_MISSING", "entry number in the book is empty"),),
                       {"number": None, "letter": ""})
    m = _BOOK_ENTRY.fullmatch(s)
    if m:
        number, letter = int(m.group(1)), m.group(2).lower()
        return Checked(f"{number}{letter}", (), {"number": number, "letter": letter})
    lone = _LONE_LETTER.fullmatch(s)
    extra = {"number": None, "letter": lone.group(1).lower() if lone else ""}
    shown = s if len(s) <= 20 else s[:20] + "…"
    return Checked(None, (Issue("KILDE_LOEBE_NR_NONSTANDARD", f"entry number '{shown}' is not a number"),), extra)


def check_kilde(expected: str):
    def check(raw: str | None) -> Checked:
        s = _strip(raw)
        if s == expected:
            return Checked(s)
        if not s:
            return Checked(None, (Issue("REQUIRED_MISSING", "KILDE is empty", expected, False),))
        if s.casefold() == expected.casefold():
            return Checked(expected, (Issue("KILDE_INVALID", f"KILDE '{s}' should read '{expected}'",
                                            expected, True),))
        shown = s if len(s) <= 20 else s[:20] + "…"
        return Checked(None, (Issue("KILDE_INVALID", f"KILDE '{shown}' is not '{expected}'"),))
    return check


def check_required_text(raw: str | None) -> Checked:
    s = _strip(raw)
    if not s:
        return Checked(None, (Issue("REQUIRED_MISSING", "required field is empty"),))
    return Checked(s)


# --------------------------------------------------------------------------- dates

MONTHS = {
    "jan": 1, "januar": 1, "january": 1, "feb": 2, "febr": 2, "februar": 2, "february": 2,
    "mar": 3, "marts": 3, "march": 3, "apr": 4, "april": 4, "maj": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6, "jul": 7, "juli": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "okt": 10, "oct": 10, "oktober": 10, "october": 10,
    "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))

_YEAR = re.compile(r"(1[5-9]|20)[\d?]{2}|1\?[\d?]{2}|\?{4}")
_MONTH = re.compile(r"0[1-9]|1[0-2]|[01?]\?|\?[0-9]")
_DAY = re.compile(r"0[1-9]|[12]\d|3[01]|[0-3?]\?|\?\d")
_EIGHT = re.compile(r"[0-9?]{8}")
# Day-month-year forms read by a systematic rule (Danish order: day first).
_DMY_NUM = re.compile(r"(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./ ]\s*(\d{4})")
_DMY_WORD = re.compile(rf"(\d{{1,2}})\s*[.]?\s*[-/ ]?\s*({_MONTH_WORD})\.?\s*[-/ ,]?\s*(\d{{4}})", re.I)
_DM_WORD = re.compile(rf"(\d{{1,2}})\s*[.]?\s*[-/ ]?\s*({_MONTH_WORD})\.?\s*\?*", re.I)
_DM_NUM = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{1,2})\.?")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DMY_SHORT = re.compile(r"(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{2})")


def _plausible_parts(y: str, m: str, d: str) -> bool:
    return bool(_YEAR.fullmatch(y) and _MONTH.fullmatch(m) and _DAY.fullmatch(d))


def _ascii_digits(s: str) -> bool:
    """Only 0-9: ``str.isdigit`` also accepts superscripts ('²') that ``int`` refuses."""
    return s.isascii() and s.isdigit()


FIRST_YEAR, LAST_YEAR = 1500, 2100  # the years a date or year field may hold


def _real_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def _date_within(y: int, m: int, d: int) -> bool:
    """A day of the calendar, in a year a field may hold."""
    return FIRST_YEAR <= y <= LAST_YEAR and _real_date(y, m, d)


def _date_result(value: str, issues: tuple[Issue, ...] = ()) -> Checked:
    iso = None
    if _ascii_digits(value):
        iso = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return Checked(value, issues, {"iso": iso, "year": int(value[:4]) if _ascii_digits(value[:4]) else None})


def _rule_read(s: str) -> tuple[str, bool] | None:
    """Read a malformed date by a systematic rule: (YYYYMMDD with ?, certain?)."""
    for rx in (_ISO,):
        m = rx.fullmatch(s)
        if m:
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            return (f"{y:04d}{mo:02d}{d:02d}", True) if _date_within(y, mo, d) else None
    m = _DMY_NUM.fullmatch(s)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return (f"{y:04d}{mo:02d}{d:02d}", True) if _date_within(y, mo, d) else None
    m = _DMY_WORD.fullmatch(s)
    if m:
        d, mo, y = int(m.group(1)), MONTHS[m.group(2).lower()], int(m.group(3))
        return (f"{y:04d}{mo:02d}{d:02d}", True) if _date_within(y, mo, d) else None
    m = _DM_WORD.fullmatch(s)
    if m:
        d, mo = int(m.group(1)), MONTHS[m.group(2).lower()]
        return (f"????{mo:02d}{d:02d}", True) if _real_date(2000, mo, d) else None
    m = _DM_NUM.fullmatch(s)
    if m:
        d, mo = int(m.group(1)), int(m.group(2))
        return (f"????{mo:02d}{d:02d}", True) if _real_date(2000, mo, d) else None
    m = _DMY_SHORT.fullmatch(s)
    if m:
        # Two-digit year: the century is a guess, so only a suggestion.
        d, mo, y = int(m.group(1)), int(m.group(2)), 1900 + int(m.group(3))
        return (f"{y:04d}{mo:02d}{d:02d}", False) if _real_date(y, mo, d) else None
    return None


def check_date(raw: str | None) -> Checked:
    """A date keyed as ``YYYYMMDD``, ``?`` standing for an unreadable digit.

    ``value`` is the 8-character cleaned form (wildcards kept); ``extra['iso']`` is the
    ISO date when every digit is known, ``extra['year']`` the year when known.
    """
    s = _strip(raw)
    if not s:
        return EMPTY
    if len(s) == 8 and _ascii_digits(s):
        y, m, d = int(s[:4]), int(s[4:6]), int(s[6:])
        if _date_within(y, m, d):
            return _date_result(s)
        # Day and month keyed the wrong way round (19211305) is a common slip: offer the
        # swap as a suggestion only, since the scan decides.
        swapped = f"{y:04d}{d:02d}{m:02d}" if _date_within(y, d, m) else None
        return Checked(None, (Issue("DATE_INVALID", f"{s} is not a date", swapped),), {"iso": None, "year": None})
    if _EIGHT.fullmatch(s):
        y, m, d = s[:4], s[4:6], s[6:]
        if _plausible_parts(y, m, d):
            return _date_result(s)
        # Keyed day-month-year with wildcards: ????1924 means 1924????, ??111897 means 189711??.
        dd, mm, yy = s[:2], s[2:4], s[4:]
        if _plausible_parts(yy, mm, dd):
            fixed = yy + mm + dd
            return _date_result(fixed, (Issue("DATE_WILDCARD_MISPLACED",
                                              f"unknown-digit marks in the wrong place in {s}", fixed, True),))
        return Checked(None, (Issue("DATE_INVALID", f"{s} is not a date"),), {"iso": None, "year": None})
    read = _rule_read(s)
    shown = s if len(s) <= 24 else s[:24] + "…"
    if read:
        fixed, certain = read
        res = _date_result(fixed) if certain else Checked(None, (), {"iso": None, "year": None})
        issue = Issue("DATE_MALFORMED", f"date '{shown}' is not YYYYMMDD", fixed, certain)
        return Checked(res.value, (issue,), res.extra)
    return Checked(None, (Issue("DATE_MALFORMED", f"date '{shown}' is not YYYYMMDD"),),
                   {"iso": None, "year": None})


def looks_like_date(raw: str | None) -> str | None:
    """The cleaned date if a free-text value is really a date (for FIELD_MISPLACED)."""
    s = _strip(raw)
    if not s or not any(ch.isdigit() for ch in s):
        return None
    res = check_date(s)
    return res.value if res.value and not res.has_error else None


# --------------------------------------------------------------------------- codes and numbers

_SEX_WORDS = {"dreng": "M", "mand": "M", "pige": "K", "kvinde": "K", "pd": "M"}
# Words that can only mean one sex: read as it, with the finding and a correction row, so
# the record stays linkable ('pd' is only a guess).
_SEX_CERTAIN = {"dreng": "M", "drengebarn": "M", "mand": "M", "søn": "M", "pige": "K", "pigebarn": "K", "kvinde": "K",
                "datter": "K"}


def check_sex(raw: str | None) -> Checked:
    s = _strip(raw)
    if s in ("K", "M", "U"):
        return Checked(s)
    if not s:
        return Checked(None, (Issue("REQUIRED_MISSING", "sex is empty"),))
    if s in ("k", "m", "u"):
        return Checked(s.upper(), (Issue("KOEN_INVALID", f"sex '{s}' in lower case", s.upper(), True),))
    certain = _SEX_CERTAIN.get(s.casefold().rstrip("."))
    if certain:
        return Checked(certain, (Issue("KOEN_INVALID", f"sex written as the word '{s}'; read as {certain}", certain,
                                       True),))
    guess = _SEX_WORDS.get(s.casefold())
    shown = s if len(s) <= 12 else s[:12] + "…"
    return Checked(None, (Issue("KOEN_INVALID", f"sex '{shown}' is not K, M or U", guess, False),))


_AGE_WORDS = re.compile(r"(\d{1,3})\s*(?:aar|år|a|år\.|aar\.|aa|years?)?\.?", re.I)


def _not_an_age(s: str) -> Checked:
    shown = s if len(s) <= 20 else s[:20] + "…"
    return Checked(None, (Issue("AGE_MALFORMED", f"age '{shown}' is not a number"),))


def check_age(raw: str | None) -> Checked:
    """An age in whole years; ``19 Aar`` and ``34 år`` are read as 19 and 34."""
    s = _strip(raw)
    if not s:
        return EMPTY
    if s.isdigit() and s.isascii() and len(s) <= 9:  # longer would not fit a 32-bit column
        return Checked(int(s))
    m = _AGE_WORDS.fullmatch(s)
    if m:
        n = int(m.group(1))
        return Checked(n, (Issue("AGE_MALFORMED", f"age '{s}' is not a plain number", str(n), True),))
    return _not_an_age(s)


def check_year(raw: str | None) -> Checked:
    """KALENDERAAR: a four-digit year (one-digit years were keyed for 1913 and 1961)."""
    s = _strip(raw)
    if not s:
        return Checked(None, (Issue("REQUIRED_MISSING", "registration year is empty"),))
    if len(s) == 4 and _ascii_digits(s) and FIRST_YEAR <= int(s) <= LAST_YEAR:
        return Checked(int(s))
    return Checked(None, (Issue("KALENDERAAR_INCONSISTENT", f"registration year '{s[:12]}' is not a year"),))


# --------------------------------------------------------------------------- names and places

# Words keyed for a name nobody knows ('UOP' = uoplyst): placeholders in every source.
WORD_PLACEHOLDERS = frozenset({"UOP", "UOPL", "UOPLYST"})
PLACEHOLDERS_KBF = frozenset({"-", "--", "---", "?", "??"}) | WORD_PLACEHOLDERS
PLACEHOLDERS_KBD = PLACEHOLDERS_KBF | {"A", "E"}
_X_PLACEHOLDER = re.compile(r"X{3,}", re.I)
_BRACKETED = re.compile(r"\[([^\]]*)\]")
_NAME_OK = re.compile(r"[^\W\d_]+(?:[ \-.'’][^\W\d_]*)*\.?")
_NAME_FIXES = {"1": "I", "0": "O", "&": "X"}


def _fix_name_chars(s: str) -> str:
    """Read 1 as I, 0 as O and & as X, in the case of the letters around them."""
    out = []
    for i, ch in enumerate(s):
        repl = _NAME_FIXES.get(ch)
        if repl is None:
            out.append(ch)
            continue
        before = s[i - 1] if i > 0 else ""
        after = s[i + 1] if i + 1 < len(s) else ""
        in_lower_word = before.isalpha() and (before.islower() or after.islower())
        out.append(repl.lower() if in_lower_word else repl)
    return "".join(out)
_SPACES = re.compile(r"\s+")


def _collapse(s: str) -> str:
    return _SPACES.sub(" ", s).strip()


def make_name_checker(placeholders: frozenset[str]):
    def check(raw: str | None) -> Checked:
        """A name as keyed; brackets mark a part struck out in the book.

        ``value`` is the name with the brackets removed but their content kept;
        ``extra`` holds ``without_struck`` (the part outside brackets) and ``struck``.
        """
        s = _strip(raw)
        if not s:
            return EMPTY
        if s.upper() in placeholders or _X_PLACEHOLDER.fullmatch(s):
            return Checked(None, (Issue("NAME_PLACEHOLDER", f"placeholder '{s}' means empty", "", True),),
                           {"without_struck": None, "struck": None})
        issues: list[Issue] = []
        struck = None
        without = s
        if "[" in s or "]" in s:
            parts = _BRACKETED.findall(s)
            struck = _collapse(" ".join(parts)) or None
            without = _collapse(_BRACKETED.sub(" ", s)) or None
            s = _collapse(s.replace("[", " ").replace("]", " "))
            issues.append(Issue("NAME_STRUCK_PART", "name holds a struck-out part in brackets"))
        check_text = s
        if check_text and not _NAME_OK.fullmatch(check_text):
            fixed = _fix_name_chars(check_text)
            suggestion = fixed if _NAME_OK.fullmatch(fixed) and fixed != check_text else None
            issues.append(Issue("NAME_INVALID_CHARS", "digits or symbols in a name", suggestion, False))
        return Checked(s, tuple(issues), {"without_struck": without, "struck": struck})
    return check


check_name = make_name_checker(PLACEHOLDERS_KBF)


def make_place_checker(date_field: str | None):
    def check(raw: str | None) -> Checked:
        """Free text naming a place; a date keyed here belongs in ``date_field``."""
        s = _strip(raw)
        if not s:
            return EMPTY
        as_date = looks_like_date(s) if date_field else None
        if as_date:
            return Checked(None, (Issue("FIELD_MISPLACED", f"a date was keyed here; it belongs in {date_field}",
                                        as_date, False),), {"moved_to": date_field, "moved_value": as_date})
        return Checked(_collapse(s))
    return check


def check_free_text(raw: str | None) -> Checked:
    s = _strip(raw)
    return Checked(s or None)


# --------------------------------------------------------------------------- deaths (KBD)

check_name_kbd = make_name_checker(PLACEHOLDERS_KBD)

# One number with its unit: '74', '74 år', '3 mdr', '2 Uger', '5 dage', '½ aar'.
_AGE_PART = re.compile(r"(\d{1,3}|½)\s*([a-zæøå]*)\.?", re.I)
_YEAR_UNITS = {"", "aar", "år", "a", "aa", "år.", "years", "year", "aar."}
_SUB_YEAR_UNITS = {"mdr", "md", "mnd", "maaned", "maaneder", "måned", "måneder", "uge", "uger", "dag", "dage",
                   "dg", "time", "timer", "t", "min", "minutter"}


def check_age_at_death(raw: str | None) -> Checked:
    """Age at death in whole years.

    A plain number is the age; ``74 år`` / ``74 Aar`` is read as 74 (auto-fix, as for
    the mothers' ages of KBF).  Infants' ages in months, weeks, days or hours (``3 mdr``,
    ``5 dage``) are the books' own way of writing them and read as 0 years without a
    finding; ``extra['under_one_year']`` says so.
    """
    s = _strip(raw)
    if not s:
        return EMPTY
    if s.isdigit() and s.isascii() and len(s) <= 9:  # longer would not fit a 32-bit column
        return Checked(int(s))
    parts = [m for m in _AGE_PART.finditer(s)]
    rebuilt = "".join(m.group(0) for m in parts).replace(" ", "")
    if parts and rebuilt == s.replace(" ", "") and all(
            m.group(2).lower() in _YEAR_UNITS | _SUB_YEAR_UNITS for m in parts):
        years = [m for m in parts if m.group(2).lower() in _YEAR_UNITS and m.group(1) != "½"]
        if not years:
            return Checked(0, (), {"under_one_year": True})
        if len(years) > 1:  # '74 75', or ten digits read three at a time: no age to choose
            return _not_an_age(s)
        n = int(years[0].group(1))
        return Checked(n, (Issue("AGE_MALFORMED", f"age '{s}' is not a plain number", str(n), True),))
    return _not_an_age(s)


# --------------------------------------------------------------------------- censuses (FT)

_CENSUS_ENTRY = re.compile(r"[A-Z]\d{4}[a-z]?")
_CENSUS_ENTRY_LOWER = re.compile(r"[a-z]\d{4}[a-z]?")
# A Link-Lives book number stands in for the entry number of rows that carry none.
_LINKLIVES_BOOK = re.compile(r"LL\d{1,7}")


def check_census_entry_number(raw: str | None) -> Checked:
    """A census delivery's entry number: KIIP's ``Knnnn``, or the DDD's KIP number, a
    capital letter and four digits (``C5799``, ``D7013``)."""
    s = _strip(raw)
    if _CENSUS_ENTRY.fullmatch(s) or _LINKLIVES_BOOK.fullmatch(s):
        return Checked(s)
    if _CENSUS_ENTRY_LOWER.fullmatch(s):
        return Checked(s[0].upper() + s[1:])  # Link-Lives writes the KIP number in lower case
    return check_entry_number(raw)


_CENSUS_YEAR = re.compile(r"(?:FT|Folket(?:æ|ae)lling)?[\s-]*(\d{4})", re.I)


def check_census_year(raw: str | None) -> Checked:
    """TAELLINGSAAR: ``1921`` as KIIP writes it, ``FT-1890`` as the DDD does."""
    s = _strip(raw)
    if not s:
        return EMPTY
    m = _CENSUS_YEAR.fullmatch(s)
    if m and 1700 <= int(m.group(1)) <= 2100:
        return Checked(int(m.group(1)))
    shown = s if len(s) <= 20 else s[:20] + "…"
    return Checked(None, (Issue("DATE_MALFORMED", f"census year '{shown}' is not a year"),))


def check_optional_year(raw: str | None) -> Checked:
    """A four-digit year that may be empty (FOEDEAAR)."""
    s = _strip(raw)
    if not s:
        return EMPTY
    if len(s) == 4 and _ascii_digits(s) and FIRST_YEAR <= int(s) <= LAST_YEAR:
        return Checked(int(s))
    read = _whole_from_decimal(s, "year")
    if read is not None and FIRST_YEAR <= read.value <= LAST_YEAR:
        return read
    shown = s if len(s) <= 20 else s[:20] + "…"
    return Checked(None, (Issue("DATE_MALFORMED", f"year '{shown}' is not a four-digit year"),))


_ZERO_DATE = re.compile(r"[0\s./-]*0[0\s./-]*")
_DMY_CENSUS = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
LAST_CENSUS_YEAR = 1970  # a zero month or day is "unknown" only in a year a census can hold


def _wild(part: int, width: int) -> str:
    return "?" * width if part == 0 else f"{part:0{width}d}"


def check_census_date(raw: str | None) -> Checked:
    """A census date in any of the layouts' forms.

    KIIP keys ``YYYYMMDD`` with ``?`` for unknown digits; the DDD downloads write
    ``d-m-yyyy`` and mark unknown parts with zeros (``00-00-1890``, ``18560000``), and a
    date of zeros only (``00-00-0000``) for no date at all.  These forms are the
    layouts' own and are read without a finding; a bare year (``1867``, as the DDD
    keys the year of marriage) becomes ``1867????``.  Everything else goes through the
    KBF date rules (malformed, invalid, misplaced wildcards).
    """
    s = _strip(raw)
    if not s or _ZERO_DATE.fullmatch(s):
        return EMPTY
    if len(s) == 4 and _ascii_digits(s) and FIRST_YEAR <= int(s) <= LAST_CENSUS_YEAR:
        return _date_result(s + "????")
    if len(s) == 8 and _ascii_digits(s) and FIRST_YEAR <= int(s[:4]) <= LAST_CENSUS_YEAR and (
            s[4:6] == "00" or s[6:] == "00"):
        y, m, d = int(s[:4]), int(s[4:6]), int(s[6:])
        if (m == 0 and d != 0) or m > 12:
            return check_date(s)  # a day without its month is not a date
        return _date_result(f"{y:04d}{_wild(m, 2)}{_wild(d, 2)}")
    m = _DMY_CENSUS.fullmatch(s)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if y == 0:
            return EMPTY
        if FIRST_YEAR <= y <= LAST_YEAR and mo <= 12 and (mo or not d):
            if mo and d and not _real_date(y, mo, d):
                return Checked(None, (Issue("DATE_INVALID", f"{s} is not a date"),), {"iso": None, "year": None})
            if not (mo and d) or _real_date(y, mo, d):
                return _date_result(f"{y:04d}{_wild(mo, 2)}{_wild(d, 2)}")
    return check_date(s)


# 'f' (female) is how Link-Lives' standardised rows write a woman's sex; their lower-case
# 'm' is read as M like any lower-case letter (with its finding).
_CENSUS_SEX = {"mand": "M", "kvinde": "K", "dreng": "M", "pige": "K", "?": "U", "??": "U", "???": "U",
               "f": "K", "male": "M", "female": "K", "mann": "M", "frau": "K"}


def check_sex_census(raw: str | None) -> Checked:
    """Sex in a census: K, M, U; the DDD downloads also write ``Mand``, ``Kvinde`` and
    ``??`` (unreadable), read as M, K and U without a finding."""
    s = _strip(raw)
    word = _CENSUS_SEX.get(s.casefold())
    if word:
        return Checked(word)
    return check_sex(raw)


@cache
def civil_status_table() -> dict[str, str]:
    """written (normalised) -> U/G/E/F/S, or '' for "not stated" (``data/civil_status.csv``)."""
    from importlib import resources

    text = resources.files("validators").joinpath("data/civil_status.csv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if line.strip() and not line.startswith("#")),
                          delimiter=";")
    return {_collapse(r["written"].casefold().rstrip(".")) or r["written"]: r["code"].strip() for r in rows}


def check_civil_status(raw: str | None) -> Checked:
    """Civil status as a one-letter code: U (unmarried), G (married), E (widowed),
    F (divorced), S (separated).  Words and letters are both the books' own forms;
    ``?`` marks alone mean unknown."""
    s = _strip(raw)
    if not s or set(s) <= {"?"}:
        return EMPTY
    code = civil_status_table().get(_collapse(s.casefold().rstrip(".")) or s)
    if code:
        return Checked(code)
    if code == "":
        return EMPTY
    shown = s if len(s) <= 20 else s[:20] + "…"
    return Checked(None, (Issue("CIVILSTAND_INVALID", f"civil status '{shown}' is not a known status"),))


_UNDER_ONE = re.compile(r"under\s+(?:et|1|eet|ét)\s+aa?r\b.*", re.I)
_NUMBER_QUERIED = re.compile(r"(\d{1,3})\s*\?+")
_DATE_IN_AGE = re.compile(r"\d{1,2}\s*/\s*\d{1,2}(?:\s*-\s*\d{2,4})?")


def check_age_census(raw: str | None) -> Checked:
    """A census age: a plain number; ``under et aar`` (with or without the birth day
    after it) is 0; ``31?`` is probably 31 but uncertain; a day/month keyed in the age
    field is reported as such."""
    s = _strip(raw)
    if not s:
        return EMPTY
    if s.isdigit() and s.isascii() and len(s) <= 9:  # longer would not fit a 32-bit column
        return Checked(int(s))
    if _UNDER_ONE.fullmatch(s):
        return Checked(0, (Issue("AGE_MALFORMED", f"age '{s[:30]}' read as 0 (under one year)", "0", True),))
    m = _NUMBER_QUERIED.fullmatch(s)
    if m:
        return Checked(None, (Issue("AGE_MALFORMED", f"age '{s}' is marked uncertain", m.group(1), False),))
    if _DATE_IN_AGE.fullmatch(s):
        return Checked(None, (Issue("AGE_MALFORMED", f"a day and month ('{s}') were keyed for the age"),))
    parsed = decimal_number(s)
    if parsed is not None and parsed[1] < 200:
        whole, value = parsed
        shown = str(whole) if whole == value else f"{whole} ({value:g} years)"
        return Checked(whole, (Issue("NUMBER_AS_DECIMAL", f"age '{s}' written with decimals; read as {shown}",
                                     str(whole), True),), {"years": value})
    in_units = check_age_at_death(raw)
    if in_units.value is not None:
        # '3 Mdr', '14 Dage': the books' own way of writing an infant's age (0 years).
        return Checked(in_units.value, in_units.issues, {**in_units.extra, "years": age_in_years(s)})
    return check_age(raw)


_UNIT_YEARS = {**{u: 1.0 for u in ("", "aar", "år", "a", "aa", "years", "year")},
               **{u: 1 / 12 for u in ("mdr", "md", "mnd", "maaned", "maaneder", "måned", "måneder")},
               **{u: 7 / 365.25 for u in ("uge", "uger")},
               **{u: 1 / 365.25 for u in ("dag", "dage", "dg")},
               **{u: 1 / 8766 for u in ("time", "timer", "t")},
               **{u: 1 / 525960 for u in ("min", "minutter")}}


def age_in_years(raw: str | None) -> float | None:
    """A stated age as years with their fraction: '31' 31.0, ',500' 0.5, '3 Mdr' 0.25,
    '1 Aar 6 Mdr' 1.5, '14 Dage' 0.038; None when it is not an age."""
    s = _strip(raw)
    if not s:
        return None
    if s.isdigit() and s.isascii() and len(s) <= 3:
        return float(s)
    parsed = decimal_number(s)
    if parsed is not None:
        return parsed[1]
    parts = list(_AGE_PART.finditer(s))
    if not parts or "".join(m.group(0) for m in parts).replace(" ", "") != s.replace(" ", ""):
        return None
    total = 0.0
    for m in parts:
        unit = m.group(2).lower().rstrip(".")
        if unit not in _UNIT_YEARS:
            return None
        total += (0.5 if m.group(1) == "½" else int(m.group(1))) * _UNIT_YEARS[unit]
    return round(total, 4)
