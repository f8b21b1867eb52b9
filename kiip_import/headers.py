"""Matching header cells to canonical column names.

A header cell and a canonical name are the same column when they are equal after
case folding, spelling Danish letters out (æ->ae, ø->oe, å->aa, é->e) and dropping
everything that is not a letter or digit.  Spellings that differ beyond that come from
the alias table ``data/column_aliases.csv`` (source;alias;canonical), which archivists
extend without touching code.  The canonical name ``_KEEP`` marks a column a layout is
known to carry but the source does not validate (a census download's church
membership, say): it is kept beside the record without a HEADER_UNKNOWN_COLUMN finding.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

_NON_ALNUM = re.compile(r"[^0-9a-z]")
KEEP = "_KEEP"
_SPELL_OUT = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", "ü": "u", "ö": "oe", "ä": "ae"})


def normalise_header(cell: str) -> str:
    return _NON_ALNUM.sub("", cell.strip().casefold().translate(_SPELL_OUT))


@cache
def aliases() -> dict[str, dict[str, str]]:
    """source -> {normalised alias: canonical name}; source '*' applies to all."""
    table: dict[str, dict[str, str]] = {}
    with resources.files("kiip_import").joinpath("data/column_aliases.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader((line for line in fh if not line.startswith("#")), delimiter=";"):
            table.setdefault(row["source"], {})[normalise_header(row["alias"])] = row["canonical"]
    return table


@dataclass
class HeaderMatch:
    mapping: dict[int, str] = field(default_factory=dict)  # position -> canonical name
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (position, cell as written)
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    kept: list[tuple[int, str]] = field(default_factory=list)  # known, not validated (alias _KEEP)

    @property
    def known(self) -> int:
        return len(self.mapping)


def match_header(cells: list[str], canonical: list[str], source: str,
                 required: list[str] | tuple[str, ...] = ()) -> HeaderMatch:
    lookup = {normalise_header(name): name for name in canonical}
    for table in ("*", source):
        lookup.update(aliases().get(table, {}))
    result = HeaderMatch()
    seen: set[str] = set()
    for pos, cell in enumerate(cells):
        name = lookup.get(normalise_header(cell))
        if name is None:
            if cell.strip():
                result.unknown.append((pos, cell))
            continue
        if name == KEEP:
            result.kept.append((pos, cell))
            continue
        if name in seen:
            result.duplicates.append((pos, cell))
            continue
        seen.add(name)
        result.mapping[pos] = name
    result.missing = [name for name in required if name not in seen]
    return result
