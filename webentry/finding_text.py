"""The validators' messages about a single value, in the language of the page.

The validators (shared with the batch reports) write their messages in English, with the
value in them. The entry screen shows the messages of the field checks beside the field
being typed in, and those of the record and book-section checks (ages, dates, gaps,
duplicates) under it, so those are read back here by their fixed wording and said again
through the catalogue. A message not listed here is shown as written.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

# What a message names in front of the value.
WHAT = {"page": _l("page"), "running number": _l("running number"), "entry number": _l("entry number"),
        "entry number in the book": _l("entry number in the book"), "sex": _l("sex"),
        "registration year": _l("registration year")}
NOUNS = {"child": _l("child"), "person": _l("person"), "record": _l("record")}
PARENTS = {"mother's": _l("mother's"), "father's": _l("father's")}
_WHAT = "|".join(sorted((re.escape(w) for w in WHAT), key=len, reverse=True))

MESSAGES = [(re.compile(p), text) for p, text in (
    (r"date '(?P<value>.*)' is not YYYYMMDD", _l("date '%(value)s' is not YYYYMMDD")),
    (r"(?P<value>\S*) is not a date", _l("%(value)s is not a date")),
    (r"unknown-digit marks in the wrong place in (?P<value>.*)", _l("unknown-digit marks in the wrong place in %(value)s")),
    (r"required field is empty", _l("required field is empty")),
    (rf"(?P<what>{_WHAT}) is empty", _l("%(what)s is empty")),
    (rf"(?P<what>{_WHAT}) '(?P<value>.*)' is not a positive integer", _l("%(what)s '%(value)s' is not a positive integer")),
    (rf"(?P<what>{_WHAT}) is not a positive integer", _l("%(what)s is not a positive integer")),
    (r"entry number '(?P<value>.*)' is not a number", _l("entry number '%(value)s' is not a number")),
    (r"entry number '(?P<value>.*)' is not Knnnn", _l("entry number '%(value)s' is not Knnnn")),
    (r"entry number '(?P<value>.*)' is not Knnnn or Knnnna", _l("entry number '%(value)s' is not Knnnn or Knnnna")),
    (r"page holds text, not a number", _l("page holds text, not a number")),
    (r"sex '(?P<value>.*)' is not K, M or U", _l("sex '%(value)s' is not K, M or U")),
    (r"sex '(?P<value>.*)' in lower case", _l("sex '%(value)s' in lower case")),
    (r"sex written as the word '(?P<value>.*)'; read as (?P<read>.*)",
     _l("sex written as the word '%(value)s'; read as %(read)s")),
    (r"age '(?P<value>.*)' is not a plain number", _l("age '%(value)s' is not a plain number")),
    (r"age '(?P<value>.*)' is not a number", _l("age '%(value)s' is not a number")),
    (r"age '(?P<value>.*)' written with decimals; read as (?P<read>.*)",
     _l("age '%(value)s' written with decimals; read as %(read)s")),
    (r"age '(?P<value>.*)' read as 0 \(under one year\)", _l("age '%(value)s' read as 0 (under one year)")),
    (r"age '(?P<value>.*)' is marked uncertain", _l("age '%(value)s' is marked uncertain")),
    (r"a day and month \('(?P<value>.*)'\) were keyed for the age",
     _l("a day and month ('%(value)s') were keyed for the age")),
    (r"registration year '(?P<value>.*)' is not a year", _l("registration year '%(value)s' is not a year")),
    (r"census year '(?P<value>.*)' is not a year", _l("census year '%(value)s' is not a year")),
    (r"year '(?P<value>.*)' is not a four-digit year", _l("year '%(value)s' is not a four-digit year")),
    (r"civil status '(?P<value>.*)' is not a known status", _l("civil status '%(value)s' is not a known status")),
    (r"name holds a struck-out part in brackets", _l("name holds a struck-out part in brackets")),
    (r"digits or symbols in a name", _l("digits or symbols in a name")),
    (r"placeholder '(?P<value>.*)' means empty", _l("placeholder '%(value)s' means empty")),
    (r"a date was keyed here; it belongs in (?P<field>\w+)", _l("a date was keyed here; it belongs in %(field)s")),
    # the record checks
    (r"registration year (?P<year>\S+) but born (?P<event>\S+)", _l("registration year %(year)s but born %(event)s")),
    (r"registration year (?P<year>\S+) but died (?P<event>\S+)", _l("registration year %(year)s but died %(event)s")),
    (r"born (?P<year>\S+), outside the book's years (?P<span>\S+)", _l("born %(year)s, outside the book's years %(span)s")),
    (r"died (?P<year>\S+), outside the book's years (?P<span>\S+)", _l("died %(year)s, outside the book's years %(span)s")),
    (r"(?P<field>[A-Z_]+) is before the birth date", _l("%(field)s is before the birth date")),
    (r"(?P<parent>mother's|father's) age stated (?P<stated>\S+), birth date gives (?P<given>\S+)",
     _l("%(parent)s age stated %(stated)s, birth date gives %(given)s")),
    (r"(?P<parent>mother's|father's) age (?P<stated>\S+) at the birth \(expected (?P<span>\S+)\)",
     _l("%(parent)s age %(stated)s at the birth (expected %(span)s)")),
    (r"(?P<parent>mother's|father's) birth date gives age (?P<age>\S+) at the birth \(expected (?P<span>\S+)\)",
     _l("%(parent)s birth date gives age %(age)s at the birth (expected %(span)s)")),
    (r"the child died unnamed; not used for linkage", _l("the child died unnamed; not used for linkage")),
    (r"died (?P<died>\S+), born (?P<born>\S+)", _l("died %(died)s, born %(born)s")),
    (r"buried (?P<buried>\S+), died (?P<died>\S+)", _l("buried %(buried)s, died %(died)s")),
    (r"age stated (?P<stated>\S+), birth and death dates give (?P<given>\S+)",
     _l("age stated %(stated)s, birth and death dates give %(given)s")),
    (r"aged (?P<age>\S+) at death \(more than (?P<max>\d+)\)", _l("aged %(age)s at death (more than %(max)s)")),
    (r"born (?P<born>\S+), after the census of (?P<year>\S+)", _l("born %(born)s, after the census of %(year)s")),
    (r"age stated (?P<stated>\S+), the birth date gives (?P<given>\S+) on the census day",
     _l("age stated %(stated)s, the birth date gives %(given)s on the census day")),
    (r"birth year (?P<year>\S+) but birth date (?P<date>\S+)", _l("birth year %(year)s but birth date %(date)s")),
    (r"aged (?P<age>\S+) at the census \(more than (?P<max>\d+)\)", _l("aged %(age)s at the census (more than %(max)s)")),
    # the book-section checks; a section is "(year, sex)"
    (r"entry numbers (?P<missing>\S+) missing between (?P<after>\S+) and (?P<before>\S+) (?P<section>\(.*\))",
     _l("entry numbers %(missing)s missing between %(after)s and %(before)s %(section)s")),
    (r"entry (?P<missing>\S+) missing before (?P<before>\S+) (?P<section>\(.*\))",
     _l("entry %(missing)s missing before %(before)s %(section)s")),
    (r"date (?P<date>\S+) out of order between (?P<before>\S+) and (?P<after>\S+) (?P<section>\(.*\))",
     _l("date %(date)s out of order between %(before)s and %(after)s %(section)s")),
    (r"same (?P<noun>child|person|record) as line (?P<line>\d+) \(LOEBE_NR (?P<number>\S+)\), similarity (?P<similarity>\S+)",
     _l("same %(noun)s as line %(line)s (LOEBE_NR %(number)s), similarity %(similarity)s")),
)]


def translate(message: str) -> str:
    """``message`` in the language of the request when its wording is known, else as it is.
    English pages show the validators' own words."""
    from webentry.i18n import current

    if current() == "en":
        return message
    for pattern, text in MESSAGES:
        m = pattern.fullmatch(message)
        if m:
            values = {k: str(WHAT[v]) if k == "what" else str(NOUNS[v]) if k == "noun" else
                      str(PARENTS[v]) if k == "parent" else v for k, v in m.groupdict().items()}
            return str(text) % values
    return message
