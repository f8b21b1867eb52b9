"""Census layouts recognised by the words of their header, and the delimiter of a file.

A census transcription reaches an archive in many layouts: the DDD download, the DDD
research extract (several column orders, columns that come and go with the census
year), Link-Lives' transcribed and standardised rows, KIIP's own export.  Each layout is
data (``data/census_layouts.csv`` and ``data/census_layout_words.csv``): its words, the
FT field each word feeds, and the words it is recognised by.  A header is read in the
layout whose recognising fields it holds best, if it holds at least ``RECOGNISED`` of
them; a header that holds some census words but too few is an unknown census layout,
which is an error, not a file to skip.

An archive adds a layout without touching code: ``$MGR_CENSUS_DATA`` names a folder whose
``census_layouts.csv`` and ``census_layout_words.csv`` add to (or replace, by name) the
project's own.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from kiip_import.headers import aliases, normalise_header

DATA_ENV = "MGR_CENSUS_DATA"
RECOGNISED = 0.8  # share of a layout's core fields a header must hold to be read in it
LOOKS_LIKE_CENSUS = 0.4  # below RECOGNISED but at least this (and MIN_CORE fields): LAYOUT_UNKNOWN
MIN_CORE = 3
DELIMITERS = (";", "|", ",", "\t")
_LOST = str.maketrans({c: "?" for c in "æøåéüöäÆØÅÉÜÖÄ"})
_NOT_LOSSY = re.compile(r"[^0-9a-z?]")


def lossy(cell: str) -> str:
    """A header cell as it reads once every Danish letter became '?' (``køn`` -> ``k?n``)."""
    return _NOT_LOSSY.sub("", cell.strip().translate(_LOST).casefold())


@dataclass(frozen=True)
class Layout:
    name: str
    years: tuple[int, int]
    standardised: bool
    title: str
    words: dict[str, str]  # normalised word -> field
    written: dict[str, str]  # normalised word -> the word as the table writes it
    core: dict[str, tuple[str, ...]]  # core field -> its normalised words
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {layout's code: FT code}

    def covers(self, year: int | None) -> bool:
        return year is None or self.years[0] <= year <= self.years[1]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader((line for line in io.StringIO(text) if line.strip() and not line.startswith("#")),
                               delimiter=";"))


def _package_text(name: str) -> str:
    return resources.files("kiip_import").joinpath(f"data/{name}").read_text(encoding="utf-8")


def _own_text(name: str) -> str:
    folder = os.environ.get(DATA_ENV)
    if folder and (Path(folder) / name).is_file():
        return (Path(folder) / name).read_text(encoding="utf-8")
    return ""


def _years(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


@cache
def layouts() -> dict[str, Layout]:
    heads: dict[str, dict[str, str]] = {}
    words: dict[str, list[dict[str, str]]] = {}
    for text in (_package_text("census_layouts.csv"), _own_text("census_layouts.csv")):
        for row in _rows(text):
            heads[row["layout"].strip()] = row
    for text in (_package_text("census_layout_words.csv"), _own_text("census_layout_words.csv")):
        for row in _rows(text):
            words.setdefault(row["layout"].strip(), []).append(row)
    out = {}
    for name, head in heads.items():
        mapping, written, core, values = {}, {}, {}, {}
        for row in words.get(name, []):
            for pair in (row.get("values") or "").split():
                code, _, ours = pair.partition("=")
                values.setdefault(row["field"].strip(), {})[code] = ours
            key = normalise_header(row["word"])
            mapping[key] = row["field"].strip()
            written[key] = row["word"].strip()
            if (row.get("core") or "").strip():
                core.setdefault(row["field"].strip(), []).append(key)
        out[name] = Layout(name, _years(head["years"].strip()), head.get("standardised", "0").strip() == "1",
                           head.get("title", name).strip(), mapping, written,
                           {k: tuple(v) for k, v in core.items()}, values)
    return out


def clear_cache() -> None:
    """Forget the tables read so far (after ``$MGR_CENSUS_DATA`` changed)."""
    layouts.cache_clear()


@dataclass
class LayoutMatch:
    layout: Layout
    score: float  # share of the layout's core fields the header holds
    mapping: dict[int, str] = field(default_factory=dict)  # header position -> field (or _KEEP, @X)
    missing: list[str] = field(default_factory=list)  # core words absent, as the table writes them
    lost_letters: list[str] = field(default_factory=list)  # header cells whose æ/ø/å became '?'

    @property
    def recognised(self) -> bool:
        return self.score >= RECOGNISED


def _field_of(cell: str, layout: Layout, fallback: dict[str, str]) -> tuple[str | None, bool]:
    """The field a header cell feeds in ``layout`` and whether it matched only by the
    lossy reading (its Danish letters lost)."""
    key = normalise_header(cell)
    if key in layout.words:
        return layout.words[key], False
    if key in fallback:
        return fallback[key], False
    if "?" in cell:
        probe = lossy(cell)
        for word, written in layout.written.items():
            if lossy(written) == probe:
                return layout.words[word], True
    return None, False


@cache
def _ft_fallback() -> dict[str, str]:
    """FT's canonical names and aliases: a column every census layout may carry."""
    from validators.schemas import FtRecord

    table = {normalise_header(name): name for name in FtRecord.model_fields}
    for source in ("*", "FT"):
        table.update(aliases().get(source, {}))
    return table


def match_layout(cells: list[str], layout: Layout) -> LayoutMatch:
    fallback = _ft_fallback()
    result = LayoutMatch(layout, 0.0)
    fields_seen: set[str] = set()
    for pos, cell in enumerate(cells):
        name, by_loss = _field_of(cell, layout, fallback)
        if name is None:
            continue
        result.mapping[pos] = name
        fields_seen.add(name)
        if by_loss:
            result.lost_letters.append(cell)
    present = [f for f in layout.core if f in fields_seen]
    result.score = len(present) / len(layout.core) if layout.core else 0.0
    result.missing = [layout.written[layout.core[f][0]] for f in layout.core if f not in fields_seen]
    return result


def best_layout(cells: list[str]) -> LayoutMatch | None:
    """The layout whose core fields the header holds best (the more specific on a tie)."""
    best = None
    for layout in layouts().values():
        m = match_layout(cells, layout)
        if best is None or (m.score, len(layout.core)) > (best.score, len(best.layout.core)):
            best = m
    return best


def looks_like_census(m: LayoutMatch | None) -> bool:
    if m is None:
        return False
    return m.score >= LOOKS_LIKE_CENSUS and round(m.score * len(m.layout.core)) >= MIN_CORE


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of a CSV text from its first lines: the candidate that splits the
    header into the most fields that the next rows repeat.  ';' (KIIP's own) on a tie."""
    lines = [line for line in lines if line.strip()][:25]
    if not lines:
        return ";"
    best, best_key = ";", (-1, -1)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delim, quotechar='"', strict=False))
        except csv.Error:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        body = rows[1:]
        agree = sum(1 for r in body if len(r) == width) if body else 1
        key = (agree, width)
        if key > best_key:
            best, best_key = delim, key
    return best
