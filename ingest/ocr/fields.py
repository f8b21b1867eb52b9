"""Turning recognised text into field values: page numbers, entry numbers, dates,
form headings and column headings. Pure functions, no Tesseract."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
          "oktober", "november", "december"]
# abbreviations seen in church books, each mapped to its month number
MONTH_FORMS = {name: i + 1 for i, name in enumerate(MONTHS)}
MONTH_FORMS.update({"jan": 1, "febr": 2, "feb": 2, "mar": 3, "mart": 3, "apr": 4, "aug": 8, "sept": 9,
                    "sep": 9, "okt": 10, "oct": 10, "nov": 11, "nobr": 11, "dec": 12, "decbr": 12,
                    "martz": 3, "octbr": 10, "septbr": 9, "januari": 1, "februari": 2})
DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

ENTRY_RE = re.compile(r"^(\d{1,4})([ab]?)$")


def parse_page_number(text: str) -> str | None:
    digits = re.sub(r"\s+", "", text)
    if re.fullmatch(r"\d{1,4}", digits) and digits[0] != "0":
        return digits
    return None


def parse_entry(text: str) -> str | None:
    """'23', '23a', '0' are entry numbers; anything else is not read as one."""
    t = re.sub(r"\s+", "", text)
    m = ENTRY_RE.match(t)
    if not m:
        return None
    number, letter = m.groups()
    if len(number) > 1 and number[0] == "0":
        return None
    if number == "0" and letter:
        return None
    return number + letter


@dataclass
class ParsedDate:
    day: int
    month: int
    year: int | None
    match: float  # 1.0 for numeric months, the similarity for a month written in letters

    def iso(self, fallback_year: int | None = None) -> str:
        y = self.year or fallback_year
        if y:
            return f"{y:04d}-{self.month:02d}-{self.day:02d}"
        return f"--{self.month:02d}-{self.day:02d}"

    def key(self) -> tuple[int, int]:
        return (self.month, self.day)


def match_month(word: str) -> tuple[int | None, float]:
    w = word.lower().strip(".,")
    if not w or not re.fullmatch(r"[a-zæøå]+", w):
        return None, 0.0
    if w in MONTH_FORMS:
        return MONTH_FORMS[w], 1.0
    best, score = None, 0.0
    for form, month in MONTH_FORMS.items():
        s = difflib.SequenceMatcher(None, w, form).ratio()
        if s > score:
            best, score = month, s
    return (best, score) if score >= 0.72 else (None, score)


def parse_date(text: str, section_year: int | None = None) -> ParsedDate | None:
    """Read '12/3', '12 Marts', '12. Marts', 'd. 12 Marts', '1921 d. 9 Juli', '12/3 1875'."""
    t = text.replace("\n", " ").strip()
    if not t:
        return None
    year = None
    ym = re.search(r"\b(1[6-9]\d\d)\b", t)
    if ym:
        year = int(ym.group(1))
        t = (t[: ym.start()] + " " + t[ym.end():]).strip()
    t = re.sub(r"^\s*d\s*\.?\s*(?=\d)", "", t)  # 'd. 12' = 'den 12.'
    t = re.sub(r"\bd\s*\.\s*(?=\d)", "", t)
    result = None
    m = re.fullmatch(r"\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*\.?\s*", t)
    if m:
        result = ParsedDate(int(m.group(1)), int(m.group(2)), year, 1.0)
    else:
        m = re.fullmatch(r"\s*(\d{1,2})\s*\.?\s*([A-Za-zÆØÅæøå.]{3,})\s*", t)
        if m:
            month, score = match_month(m.group(2))
            if month:
                result = ParsedDate(int(m.group(1)), month, year, score)
    if result is None:
        return None
    if not (1 <= result.month <= 12 and 1 <= result.day <= DAYS_IN_MONTH[result.month - 1]):
        return None
    if result.year is None and section_year:
        result.year = None  # keep None: the year comes from the section, see iso()
    return result


@dataclass
class Heading:
    kind: str | None  # KBF, KBD, FT
    sex: str | None  # M / F
    year: int | None
    year_conf: float = 0.0  # recogniser's confidence in the word holding the year


def parse_heading(text: str) -> Heading:
    t = text.lower()
    kind = sex = None
    if re.search(r"f[øo0]dte", t):
        kind = "KBF"
    elif re.search(r"d[øo0]de", t):
        kind = "KBD"
    elif "folket" in t or "tælling" in t:
        kind = "FT"
    if re.search(r"drenge|mandk", t):
        sex = "M"
    elif re.search(r"pige|kvindek", t):
        sex = "F"
    ym = re.search(r"(1[6-9]\d\d)", t)
    return Heading(kind, sex, int(ym.group(1)) if ym else None)


def column_role(text: str) -> str | None:
    """Which field a printed column heading announces."""
    t = re.sub(r"[^a-zæøå]", "", text.lower())
    if not t:
        return None
    if t.startswith("nr") or t.endswith("nr") or "løbe" in t or "lobe" in t:
        return "entry"
    if "aar" in t and "dag" not in t:
        return "year"
    if t.endswith("dag") or "datum" in t or "dato" in t:
        return "date"
    return None


# Column order of the printed forms, used when the column headings cannot be read.
TEMPLATES = {
    "KBF": ["entry", "date", "date", None, None],
    "KBD": ["entry", "date", "date", None, None],
    "FT": ["entry", None, "date", "year", None],
}
