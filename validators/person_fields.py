"""Where each table keeps the identifying fields of the people it names.

One ``PersonFields`` per person a record names (the child, its father and mother; the
deceased and relatives; a census person): the name, birth-date, birthplace and sex
columns.  The match keys (``validators.match_keys``) and the spelling counts
(``validators.names.count_spellings``) both read the tables through this layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonFields:
    """Where one person's identifying fields are in a source's table."""

    prefix: str  # "" for the record's own person, "FADERS_", "MODERS_" ...
    first: str | None = None
    middle: str | None = None
    last: str | None = None
    full: str | None = None  # one column holding the whole name (KBD parents, FT's FULDT_NAVN)
    maiden: str | None = None
    birth: str | None = None
    place: str | None = None
    sex: str | None = None  # a column name, or a fixed "M"/"K"


PERSONS: dict[str, tuple[PersonFields, ...]] = {
    "KBF": (
        PersonFields("", "FORNAVN", "MELLEMNAVNE", "EFTERNAVN", birth="FOEDSELSDATO", place="FOEDESTED", sex="KOEN"),
        PersonFields("FADERS_", "FADERS_FORNAVN", "FADERS_MELLEMNAVNE", "FADERS_EFTERNAVN",
                     birth="FADERS_FOEDSELSDAG", place="FADERS_FOEDESTED", sex="M"),
        PersonFields("MODERS_", "MODERS_FORNAVN", "MODERS_MELLEMNAVNE", "MODERS_EFTERNAVN", maiden="MODERS_PIGENAVN",
                     birth="MODERS_FOEDSELSDAG", place="MODERS_FOEDESTED", sex="K"),
    ),
    "KBD": (
        PersonFields("", "FORNAVN", "MELLEMNAVNE", "EFTERNAVN", birth="FOEDSELSDATO", place="FOEDESTED", sex="KOEN"),
        PersonFields("FADERS_", full="FADERS_NAVN", sex="M"),
        PersonFields("MODERS_", full="MODERS_NAVN", maiden="MODERS_PIGENAVN", sex="K"),
        PersonFields("AEGTEFAELLES_", full="AEGTEFAELLES_NAVN"),
    ),
    "FT": (
        PersonFields("", "FORNAVN", "MELLEMNAVNE", "EFTERNAVN", full="FULDT_NAVN", maiden="PIGENAVN",
                     birth="FOEDSELSDAG", place="FOEDESTED", sex="KOEN"),
    ),
    # The census's per-child table (``ft_children``): the child and the parents found for it.
    "FT_CHILDREN": tuple(
        PersonFields(f"{who}_", f"{who}_FORNAVN", f"{who}_MELLEMNAVNE", f"{who}_EFTERNAVN_UDLEDT",
                     birth=f"{who}_FOEDSELSDAG", place=f"{who}_FOEDESTED", sex=sex)
        for who, sex in (("BARN", "BARN_KOEN"), ("FAR", "M"), ("MOR", "K"))
    ),
    # A CPR-like register (the benchmark's, or an extract with these column names).
    "CPR": (
        PersonFields("", "FORNAVN", "MELLEMNAVNE", "EFTERNAVN", birth="FOEDSELSDATO", place=None, sex="KOEN"),
    ),
}

# Which source's name rules a table follows, when it is not a source of its own.
RULES_OF = {"FT_CHILDREN": "FT"}

# Other dates of a source that a linker compares on.
OTHER_DATES: dict[str, tuple[str, ...]] = {"KBD": ("DOEDSDATO",)}

# Other places of a source resolved to a parish code.
OTHER_PLACES: dict[str, tuple[str, ...]] = {"KBD": ("DOEDSSTED",)}
