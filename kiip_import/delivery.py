"""A delivery: the dok + data files of one entry number, read and checked as a unit.

``load_deliveries`` finds the files, pairs them, reads them, matches their headers to
the source's canonical columns and checks what can be checked before looking at a
single record: the pair is complete, the trailer equals the metadata file, the record
count and the entry number agree.  Every tolerance and every refusal becomes a finding;
one broken delivery never stops the others.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kiip_import import discovery, layouts
from kiip_import.encoding import decode
from kiip_import.headers import match_header, normalise_header
from kiip_import.reader import TEXT, RawFile, display_name, open_regular, read_data_file, read_small_csv
from validators.fields import normalise_entry_number
from validators.findings import finding
from validators.schemas import META_COLUMNS
from validators.sources import BY_KILDE, BY_SUFFIX, SOURCES, Source

log = logging.getLogger(__name__)

PROVENANCE = ["_delivery", "_file", "_line", "_pos"]


@dataclass
class FileInfo:
    name: str
    path: str
    role: str
    sha256: str
    size: int
    encoding: str | None

    def as_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "sha256": self.sha256, "size": self.size,
                "encoding": self.encoding}


@dataclass
class Delivery:
    entry_number: str
    source: str | None
    files: list[FileInfo] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    table: pa.Table | None = None  # canonical columns as keyed (large strings) + provenance
    findings: list[dict] = field(default_factory=list)
    physical_rows: int = 0
    data_file: str | None = None
    dok_file: str | None = None
    extra_columns: list[str] = field(default_factory=list)

    _frame: pd.DataFrame | None = None

    @property
    def rows(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    @property
    def frame(self) -> pd.DataFrame | None:
        """The rows as a pandas frame (made on first use; the pipeline works on Arrow)."""
        if self._frame is None and self.table is not None:
            self._frame = self.table.to_pandas()
        return self._frame

    def add(self, code: str, message: str, **where) -> None:
        where.setdefault("source", self.source)
        where.setdefault("entry_number", self.entry_number)
        self.findings.append(finding(code, message, **where))


def _meta_dict(header: list[str], row: list[str] | None) -> dict[str, str]:
    if row is None:
        return {}
    matched = match_header(header, META_COLUMNS, "META")
    return {name: (row[pos].strip() if pos < len(row) else "") for pos, name in matched.mapping.items()}


def source_from_header(cells: list[str]) -> Source | None:
    """The source whose own columns (those no other source has) the header matches most."""
    scores = {}
    for source in SOURCES.values():
        others = {c for s in SOURCES.values() if s is not source for c in s.columns}
        own = [c for c in source.columns if c not in others]
        matched = match_header(cells, own, source.code)
        scores[source.code] = len(set(matched.mapping.values()))
    best = max(scores.values(), default=0)
    winners = [code for code, score in scores.items() if score == best]
    return SOURCES[winners[0]] if best > 0 and len(winners) == 1 else None


def _source_for(meta: dict[str, str], data_role: str | None, header: list[str] | None = None) -> Source | None:
    """KILDE says the source; without it the data header does, and last the file name."""
    kilde = meta.get("KILDE", "").strip().casefold()
    if kilde in BY_KILDE:
        return BY_KILDE[kilde]
    by_header = source_from_header(header) if header else None
    if by_header is not None:
        return by_header
    if data_role in BY_SUFFIX:
        return BY_SUFFIX[data_role]
    return None


def _file_info(raw: RawFile, role: str) -> FileInfo:
    return FileInfo(raw.name, str(raw.path), role, raw.sha256, raw.size, raw.encoding)


def _problems_to_findings(delivery: Delivery, raw: RawFile) -> None:
    for p in raw.problems:
        delivery.add(p.code, p.message, file=raw.name, line=p.line, field=p.field)


def _check_trailer(d: Delivery, data: RawFile) -> None:
    if data.trailer_row is None:
        d.add("TRAILER_MISSING", "the data file ends without separator, metadata header and metadata row",
              file=data.name)
        return
    trailer = _meta_dict(data.trailer_header or [], data.trailer_row)
    if not d.meta:
        return
    for name in META_COLUMNS:
        ours, theirs = d.meta.get(name), trailer.get(name)
        if ours is None or theirs is None:
            continue
        if ours != theirs:
            d.add("TRAILER_MISMATCH", f"{name} is '{theirs}' in the trailer but '{ours}' in {d.dok_file}",
                  file=data.name, line=(data.trailer_line or 0) + 1 if data.trailer_line else None, field=name)


def _check_counts_and_numbers(d: Delivery, cand: discovery.Candidate, data: RawFile | None) -> None:
    stated = d.meta.get("ANTAL_POSTER", "")
    if data is not None and data.readable and stated:
        # Without a dok file the count came from the data file's trailer: name that file.
        where = dict(file=d.dok_file, line=2) if d.dok_file else dict(file=d.data_file, line=(data.trailer_line + 1) if data.trailer_line else None)
        if not (stated.isascii() and stated.isdigit()):
            d.add("ANTAL_POSTER_MISMATCH", f"ANTAL_POSTER '{stated}' is not a number", field="ANTAL_POSTER",
                  **where)
        elif int(stated) != data.physical_rows:
            d.add("ANTAL_POSTER_MISMATCH",
                  f"ANTAL_POSTER says {stated} records, the data file holds {data.physical_rows}",
                  field="ANTAL_POSTER", suggestion=str(data.physical_rows), **where)
    meta_entry = normalise_entry_number(d.meta.get("INDTASTNINGSNUMMER"))
    named = cand.key
    if meta_entry and meta_entry != named:
        d.add("ENTRY_NUMBER_MISMATCH",
              f"the file names say {named}, the metadata says {meta_entry}",
              file=d.dok_file or d.data_file, field="INDTASTNINGSNUMMER")
    if d.table is not None and d.table.num_rows and "INDTASTNINGSNUMMER" in d.table.column_names:
        keyed: dict[str | None, int] = {}
        for item in pc.value_counts(d.table.column("INDTASTNINGSNUMMER")).to_pylist():
            key = normalise_entry_number(item["values"])
            keyed[key] = keyed.get(key, 0) + item["counts"]
        if keyed:
            common = max(keyed, key=keyed.get)
            if meta_entry and common != meta_entry:
                d.add("ENTRY_NUMBER_MISMATCH", f"the rows say {common}, the metadata says {meta_entry}",
                      file=d.data_file, field="INDTASTNINGSNUMMER")


def _build_frame(d: Delivery, data: RawFile, source: Source, mapping: dict[int, str] | None = None) -> None:
    """The delivery's table in the source's columns. ``mapping`` (position -> field, from a
    census layout) replaces the matching of the header against the source's names."""
    matched = match_header(data.header, list(source.columns), source.code, source.required)
    if mapping is not None:
        matched = _layout_header_match(data.header, mapping, source)
    for name in matched.missing:
        d.add("HEADER_MISSING_COLUMN", f"the header has no column {name}", file=data.name, line=1, field=name)
    for _, cell in matched.unknown:
        d.add("HEADER_UNKNOWN_COLUMN", f"column '{cell}' is not a {source.code} column; kept unvalidated",
              file=data.name, line=1, field=cell)
    for _, cell in matched.duplicates:
        d.add("HEADER_DUPLICATE_COLUMN", f"column '{cell}' appears twice; the first is used",
              file=data.name, line=1, field=cell)
    table = data.table
    n = table.num_rows
    columns: dict[str, object] = {}
    by_name = {name: str(pos) for pos, name in matched.mapping.items()}
    empty = None
    for name in source.columns:
        if name in by_name:
            columns[name] = table.column(by_name[name])
        else:
            # Null, not empty: a column the header lacks is reported once (HEADER_MISSING_COLUMN),
            # not once per row as an empty required field.
            if empty is None:
                empty = pa.nulls(n, type=TEXT)
            columns[name] = empty
    for pos, cell in sorted(matched.unknown + matched.kept):
        columns[cell] = table.column(str(pos))
        d.extra_columns.append(cell)
    columns["_delivery"] = pa.repeat(pa.scalar(d.entry_number, TEXT), n)
    columns["_file"] = pa.repeat(pa.scalar(data.name, TEXT), n)
    columns["_line"] = pa.array(data.lines, type=pa.int64())
    columns["_pos"] = pa.array(data.positions, type=pa.int64())
    d.table = pa.table(columns)


def _layout_header_match(header: list[str], mapping: dict[int, str], source: Source):
    from kiip_import.headers import KEEP, HeaderMatch

    result = HeaderMatch()
    seen: set[str] = set()
    for pos, cell in enumerate(header):
        name = mapping.get(pos)
        if name is None:
            if cell.strip():
                result.unknown.append((pos, cell))
        elif name == KEEP or name.startswith("@"):
            result.kept.append((pos, cell))
        elif name in seen:
            result.duplicates.append((pos, cell))
        else:
            seen.add(name)
            result.mapping[pos] = name
    result.missing = [name for name in source.required if name not in seen and name != "INDTASTNINGSNUMMER"]
    return result


def load_candidate(cand: discovery.Candidate) -> Delivery:
    d = Delivery(entry_number=cand.key, source=None)
    dok_raw = data_raw = None
    if cand.dok is not None:
        dok_raw = read_small_csv(cand.dok.path)
        d.dok_file = dok_raw.name
        d.files.append(_file_info(dok_raw, "dok"))
        if dok_raw.readable:
            d.meta = _meta_dict(dok_raw.header, dok_raw.trailer_row)
    if cand.data is not None:
        data_raw = read_data_file(cand.data.path)
        d.data_file = data_raw.name
        d.files.append(_file_info(data_raw, cand.data.role))
        if not d.meta and data_raw.trailer_row is not None:
            d.meta = _meta_dict(data_raw.trailer_header or [], data_raw.trailer_row)
    source = _source_for(d.meta, cand.data.role if cand.data else None,
                         data_raw.header if data_raw is not None and data_raw.readable else None)
    d.source = source.code if source else None
    meta_entry = normalise_entry_number(d.meta.get("INDTASTNINGSNUMMER"))
    if meta_entry:
        d.entry_number = meta_entry
    named = cand.data or cand.dok
    if not named.name_standard:
        d.add("FILE_NAME_NONSTANDARD", f"{named.path.name} does not start with K; read as {cand.key}",
              file=named.path.name)
    if cand.renamed_from and normalise_entry_number(cand.renamed_from) != cand.key:
        d.add("KNOWN_RENAME", f"files named {cand.renamed_from} belong to {cand.key}: {cand.rename_reason}",
              file=(cand.dok or cand.data).path.name)
    for extra in cand.extra:
        d.add("FILE_PAIR_MISSING", f"{extra.path.name} is a second file for {cand.key}; it was not read",
              file=extra.path.name)
    if dok_raw is not None:
        _problems_to_findings(d, dok_raw)
        if dok_raw.readable and dok_raw.trailer_row is None:
            d.add("FILE_UNREADABLE", f"{dok_raw.name} has no metadata row", file=dok_raw.name)
    if data_raw is not None:
        _problems_to_findings(d, data_raw)
    if cand.data is None:
        d.add("FILE_PAIR_MISSING", f"{cand.dok.path.name} has no data file beside it", file=cand.dok.path.name)
        return d
    if cand.dok is None:
        d.add("FILE_PAIR_MISSING", f"{cand.data.path.name} has no dok file beside it", file=cand.data.path.name)
    if not data_raw.readable:
        return d
    d.physical_rows = data_raw.physical_rows
    if source is None:
        d.add("SOURCE_UNSUPPORTED", "the source cannot be told from KILDE or the file name", file=data_raw.name)
        return d
    _check_trailer(d, data_raw)
    if not source.supported:
        d.add("SOURCE_UNSUPPORTED", f"{source.code} deliveries are recognised but not validated by this version",
              file=data_raw.name)
        _check_counts_and_numbers(d, cand, data_raw)
        return d
    _build_frame(d, data_raw, source)
    _check_counts_and_numbers(d, cand, data_raw)
    return d


def _head(path: Path) -> tuple[list[str], str | None]:
    """The first lines of a file as text (read from its first bytes only, decoded as the
    reader would) and its encoding."""
    try:
        with open(open_regular(path), "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return [], None
    if len(head) == 65536 and b"\n" in head:
        head = head[:head.rindex(b"\n")]  # never cut a character in two
    decoded = decode(head)
    if decoded.text is None:
        return [], None
    return decoded.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:30], decoded.encoding


def is_census_download(header: list[str]) -> bool:
    """A census file in one of the known layouts (``kiip_import.layouts``)."""
    m = layouts.best_layout(header)
    return m is not None and m.recognised


def _most_common(table: pa.Table, column: str, mask=None) -> str | None:
    if column not in table.column_names or table.num_rows == 0:
        return None
    values = table.column(column)
    if mask is not None:
        values = pc.filter(values, mask)
    counts = pc.value_counts(pc.utf8_trim_whitespace(values)).to_pylist()
    counts = [c for c in counts if c["values"]]
    return max(counts, key=lambda c: c["counts"])["values"] if counts else None


_NAME_YEAR = (re.compile(r"(?:FT|census|folket(?:ae|æ)lling)[-_ ]?((?:17|18|19)\d\d)(?!\d)", re.I),
              re.compile(r"(?<![A-Za-z\d])((?:17|18|19)\d\d)(?!\d)"))
_KIP_LIKE = re.compile(r"[A-Za-z]\d{4}[a-z]?")


def census_year_of_name(stem: str) -> int | None:
    """The census year a file name states (``FT1845``, ``..._census_1850``), if any; a KIP
    number (``C1845``) is not a year."""
    for pattern in _NAME_YEAR:
        m = pattern.search(stem)
        if m:
            return int(m.group(1))
    return None


def _entry_key(value: str | None) -> str | None:
    """A census entry number as the store keys it: ``c2688`` and ``C2688`` are one KIP number."""
    s = (value or "").strip()
    if not s:
        return None
    if _KIP_LIKE.fullmatch(s):
        return s[0].upper() + s[1:]
    return normalise_entry_number(s) or s


def _census_deliveries(path: Path, match: layouts.LayoutMatch, delimiter: str) -> list[Delivery]:
    """A census file in a known layout: no dok file and no trailer, read as FT deliveries
    through the layout's words.  Its entry numbers come from its rows (one delivery per
    entry number), else from its file name, else from its book column."""
    from validators.fields import check_census_year

    source = SOURCES["FT"]
    layout = match.layout
    data_raw = read_data_file(path, delimiter=delimiter)
    first = Delivery(entry_number=display_name(Path(path.stem)), source=source.code)
    first.data_file = data_raw.name
    first.files.append(_file_info(data_raw, source.data_suffix))
    _problems_to_findings(first, data_raw)
    if not data_raw.readable:
        return [first]
    first.add("CENSUS_DOWNLOAD", f"{data_raw.name} is a census file in the layout '{layout.name}' "
                                 f"({layout.title}, '{delimiter}'-separated); read as FT without metadata file "
                                 "or trailer" + ("; its rows were already standardised" if layout.standardised else ""),
              file=data_raw.name)
    if match.lost_letters:
        first.add("LETTERS_LOST", f"the Danish letters of this file were replaced by '?' (header: "
                                  f"{', '.join(match.lost_letters[:4])}); names and places with æ, ø or å cannot be "
                                  "trusted", file=data_raw.name, line=1)
    _build_frame(first, data_raw, source, mapping=match.mapping)
    table = first.table
    n = table.num_rows
    for name, codes in layout.values.items():
        if name in table.column_names and n:
            # The layout's own codes (Link-Lives' m/f) read as the FT codes they stand for.
            column = table.column(name)
            mapped = [codes.get(v, v) if v is not None else None for v in column.to_pylist()]
            table = table.set_column(table.column_names.index(name), name, pa.array(mapped, type=TEXT))
            first.add("CENSUS_DOWNLOAD", f"{name} is written with the layout's own codes "
                                         f"({', '.join(f'{k} for {v}' for k, v in codes.items())}); read as those",
                      file=data_raw.name, field=name)
    # Entry numbers: the rows' own, else one shaped like a KIP number in the file name,
    # else the layout's book column ('LL' + the book number), else the file name. Worked
    # on the distinct values: a row holds a code into ``order``.
    enc = pc.dictionary_encode(table.column("INDTASTNINGSNUMMER").combine_chunks()) if n else None
    distinct = [_entry_key(v) for v in enc.dictionary.to_pylist()] if enc is not None else []
    row_codes = (pc.fill_null(enc.indices, len(distinct)).to_numpy(zero_copy_only=False).astype(np.int64)
                 if enc is not None else np.zeros(0, dtype=np.int64))
    distinct.append(None)  # a row without an entry number
    if None in distinct[:-1] or (row_codes == len(distinct) - 1).any():
        if _KIP_LIKE.fullmatch(path.stem):
            fallback = _entry_key(path.stem)
        else:
            book = next((cell for pos, cell in enumerate(data_raw.header) if match.mapping.get(pos) == "@BOOK"), None)
            number = _most_common(table, book) if book else None
            fallback = f"LL{number}" if number else first.entry_number
        distinct = [k or fallback for k in distinct]
        if table.column("INDTASTNINGSNUMMER").null_count == n:
            # A layout without an entry-number column: the key found stands in every row.
            at = table.column_names.index("INDTASTNINGSNUMMER")
            table = table.set_column(at, "INDTASTNINGSNUMMER", pa.repeat(pa.scalar(fallback, TEXT), n))
    order = list(dict.fromkeys(distinct[c] for c in pd.unique(row_codes)))
    key_of_code = np.array([order.index(k) if k in order else -1 for k in distinct], dtype=np.int64)
    rows_key = key_of_code[row_codes]
    named_year = census_year_of_name(path.stem)
    out = []
    for i, key in enumerate(order):
        if i == 0:
            d = first
        else:
            d = Delivery(entry_number=key, source=source.code, files=list(first.files), data_file=first.data_file,
                         extra_columns=list(first.extra_columns))
        part = table if len(order) == 1 else table.filter(pa.array(rows_key == i))
        d.entry_number = key
        at = part.column_names.index("_delivery")
        d.table = part.set_column(at, "_delivery", pa.repeat(pa.scalar(key, TEXT), part.num_rows))
        d.physical_rows = part.num_rows
        if len(order) > 1:
            d.add("CENSUS_SEVERAL_DELIVERIES", f"{data_raw.name} holds rows of {len(order)} entry numbers "
                                               f"({', '.join(order[:6])}{' …' if len(order) > 6 else ''}); "
                                               f"the {part.num_rows} rows of {key} are one delivery",
                  file=data_raw.name)
        if _KIP_LIKE.fullmatch(path.stem) and normalise_header(key) != normalise_header(path.stem):
            d.add("ENTRY_NUMBER_MISMATCH", f"the file is named {path.stem}, its rows say {key}",
                  file=data_raw.name, field="INDTASTNINGSNUMMER")
        d.meta = {"INDTASTNINGSNUMMER": key, "KILDE": source.kilde, "LAYOUT": layout.name,
                  "STANDARDISERET": "1" if layout.standardised else "0"}
        year = check_census_year(_most_common(d.table, "TAELLINGSAAR")).value
        if year:
            d.meta.update(FRA_AAR=str(year), TIL_AAR=str(year))
            if named_year and named_year != year:
                d.add("CENSUS_YEAR_MISMATCH", f"the file name says {named_year}, its rows say FT-{year}; "
                                              f"the rows' own census year is used", file=data_raw.name,
                      field="TAELLINGSAAR")
        elif named_year:
            d.meta.update(FRA_AAR=str(named_year), TIL_AAR=str(named_year))
        for pos, target in match.mapping.items():
            if target in ("@SOGN", "@HERRED", "@AMT"):
                value = _most_common(d.table, data_raw.header[pos])
                if value:
                    d.meta[target[1:]] = value
        if not d.meta.get("SOGN"):
            d.meta.update(_parish_from_places(d.table))
        out.append(d)
    return out


def _parish_from_places(table: pa.Table) -> dict[str, str]:
    """The census parish of a file without a parish column: the parish of the register
    that most of its place names (``Kildestednavn``: 'Vejby By', 'Holløse') resolve to.
    A name several parishes share (Vejby in Holbo and in Børglum herred) is decided by the
    amt that the file's unambiguous birthplaces point to."""
    from validators.places import load_parish_register

    if "BYENS_NAVN" not in table.column_names or table.num_rows == 0:
        return {}
    try:
        register = load_parish_register()
    except (OSError, ValueError):
        return {}

    def counted(column: str) -> list[tuple[str, int]]:
        if column not in table.column_names:
            return []
        items = pc.value_counts(pc.utf8_trim_whitespace(table.column(column))).to_pylist()
        return [(i["values"], i["counts"]) for i in items if i["values"]]

    amts: dict[str, int] = {}
    for text, n in counted("FOEDESTED"):
        code = register.resolve(text).code
        if code:
            amts[register.parishes[code].amt] = amts.get(register.parishes[code].amt, 0) + n
    votes: dict[str, int] = {}
    for text, n in counted("BYENS_NAVN"):
        key = register.key(text)[0]
        codes = register.index.get(key or "", ())
        if len(codes) > 1 and amts:
            best = max(amts[a] if (a := register.parishes[c].amt) in amts else 0 for c in codes)
            codes = tuple(c for c in codes if amts.get(register.parishes[c].amt, 0) == best and best > 0)
        if len(codes) == 1:
            votes[codes[0]] = votes.get(codes[0], 0) + n
    if not votes:
        return {}
    parish = register.parishes[max(votes, key=votes.get)]
    return {k: v for k, v in (("SOGN", parish.name), ("HERRED", parish.herred), ("AMT", parish.amt)) if v}


def load_loose_file(loose: discovery.LooseFile) -> list[Delivery]:
    """A CSV file not named like a KIIP file: a census file in a known layout is read as
    one FT delivery per entry number; a census file in a layout too unlike every known one
    is an error (LAYOUT_UNKNOWN); anything else is said to be unrecognised, never a crash."""
    lines, _ = _head(loose.path)
    delimiter = layouts.sniff_delimiter(lines)
    header = next(iter(read_csv_header(lines, delimiter)), [])
    match = layouts.best_layout(header) if header else None
    if match is not None and match.recognised:
        return _census_deliveries(loose.path, match, delimiter)
    raw = read_small_csv(loose.path)
    d = Delivery(entry_number=display_name(Path(loose.path.stem)), source=None)
    d.files.append(_file_info(raw, "unknown"))
    d.data_file = raw.name
    if not raw.readable:
        _problems_to_findings(d, raw)
        return [d]
    if layouts.looks_like_census(match):
        d.source = "FT"
        d.add("LAYOUT_UNKNOWN", f"{raw.name} looks like a census file but matches no known layout well enough: "
                                f"closest is '{match.layout.name}' ({match.score:.0%} of its words), missing "
                                f"{', '.join(match.missing)}; nothing was read", file=raw.name, line=1)
        return [d]
    d.add("FILE_UNRECOGNISED", f"{raw.name} is not named like a KIIP file (Knnnndok.csv, Knnnnfd.csv …) "
                               "and its header is not a known layout", file=raw.name)
    return [d]


def _loose_file_delivery(loose: discovery.LooseFile) -> Delivery:
    """The first delivery of a loose file (callers that take one delivery per file)."""
    return load_loose_file(loose)[0]


def read_csv_header(lines: list[str], delimiter: str) -> list[list[str]]:
    rows = [line for line in lines if line.strip()][:1]
    try:
        return list(csv.reader(rows, delimiter=delimiter, quotechar='"'))
    except csv.Error:
        return [rows[0].split(delimiter)] if rows else []


def find_deliveries(paths: list[Path]) -> tuple[list[discovery.Candidate], list[discovery.LooseFile], list[str]]:
    files, problems = discovery.iter_csv_files(paths)
    candidates, loose = discovery.pair_files(files)
    return candidates, loose, problems


def load_deliveries(paths: list[Path]) -> Iterator[Delivery]:
    candidates, loose, _ = find_deliveries(paths)
    for cand in candidates:
        yield load_candidate(cand)
    for item in loose:
        yield from load_loose_file(item)


__all__ = ["Delivery", "FileInfo", "load_candidate", "load_deliveries", "find_deliveries", "SOURCES"]
