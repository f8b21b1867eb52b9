"""Reading one KIIP file into raw rows with their physical line numbers.

The data file is: a header row, data rows, a separator row, then the metadata header
and metadata row (the trailer).  Rows keep every field exactly as keyed (strings, empty
string for an empty field); nothing is cleaned here.

Two paths give the same result: a fast one through pyarrow's CSV reader for the usual
file (no quote characters, every row the header's width), and an exact one through
Python's csv module for everything else (quoted fields, ragged rows), which reports
each irregular row at its line.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from kiip_import.encoding import decode

_SEPARATOR_CHARS = set(";-=* \t")
MAX_FIELD = 1_000_000  # characters; a longer field means unbalanced quotes or garbage
# Columns a header may have. KIIP's layouts have about 40; a file with thousands is not an
# export, and reading it column by column would cost memory and time out of all proportion.
MAX_COLUMNS = 1_000
# Text columns are Arrow large strings (64-bit offsets): what pandas keeps its strings as,
# so the rows become a frame without a converted copy of every column.
TEXT = pa.large_string()


@dataclass
class Problem:
    """Something the reader tolerated or refused; turned into a finding by the caller."""

    code: str
    message: str
    line: int | None = None
    field: str | None = None


@dataclass
class RawFile:
    path: Path
    name: str
    sha256: str
    size: int
    encoding: str | None = None
    header: list[str] = field(default_factory=list)
    table: pa.Table | None = None  # columns "0".."n-1" by header position, all strings (TEXT)
    lines: np.ndarray | None = None  # physical line of each row (1-based)
    positions: np.ndarray | None = None  # ordinal of each row among all data rows, dropped ones included
    physical_rows: int = 0  # data rows found, irregular ones included
    trailer_header: list[str] | None = None
    trailer_row: list[str] | None = None
    trailer_line: int | None = None
    problems: list[Problem] = field(default_factory=list)
    readable: bool = True


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _split_csv_line(line: str, delimiter: str = ";") -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar='"'), [])
    except csv.Error:
        # A stray carriage return inside the line, or a field over the limit: the cells
        # as plain separated text are the best reading there is.
        return line.split(delimiter)


def _unify_newlines(text: str) -> str:
    """Files from old Macs end their lines with CR alone; read them as LF files."""
    if "\r" in text and "\n" not in text:
        return text.replace("\r", "\n")
    return text


def _is_separator(line: str) -> bool:
    s = line.strip()
    return not s or set(s) <= _SEPARATOR_CHARS


def _looks_like_meta_header(cells: list[str]) -> bool:
    from kiip_import.headers import normalise_header

    names = {normalise_header(c) for c in cells}
    return "indtastningsnummer" in names and ("antalposter" in names or "definitionsfil" in names)


def display_name(path: Path) -> str:
    """``path.name`` fit for messages, JSON and the database: bytes of a name that are not
    UTF-8 (Linux allows any) are shown as U+FFFD instead of as unencodable surrogates."""
    name = path.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name


def open_regular(path: Path | str) -> int:
    """A file descriptor for reading ``path``, only if it is a regular file itself.

    A symbolic link is never followed (it could point out of the inbox, at anything the
    service may read), and a FIFO or device is never read (it could block or never end).
    Raises OSError with a message fit for a finding.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOENT and os.path.islink(path)):
            raise OSError(errno.ELOOP, "is a symbolic link; links are not followed") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: Path) -> tuple[bytes | None, str | None]:
    try:
        with os.fdopen(open_regular(path), "rb") as fh:
            return fh.read(), None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"


def _read_text(path: Path) -> tuple[RawFile, str | None]:
    """A file's bytes as text (hash, size and encoding recorded), or None with the reason
    recorded as a problem. Only the text is held on return, not the bytes."""
    data, err = read_bytes(path)
    raw = RawFile(path, display_name(path), _hash(data or b""), len(data or b""))
    if data is None:
        raw.readable = False
        raw.problems.append(Problem("FILE_UNREADABLE", f"{display_name(path)} {err}"))
        return raw, None
    decoded = decode(data)
    del data
    raw.encoding = decoded.encoding
    if decoded.text is None:
        raw.readable = False
        raw.problems.append(Problem("FILE_UNREADABLE", f"{display_name(path)}: {decoded.problem}"))
        return raw, None
    if decoded.repaired_lines:
        raw.problems.append(Problem("ENCODING_REPAIRED",
                                    f"{decoded.repaired_lines} line(s) were UTF-8 encoded twice and repaired"))
    if decoded.encoding == "utf-7":
        raw.problems.append(Problem("ENCODING_UTF7", f"{display_name(path)} is written in UTF-7 ('+AHw-' for '|', "
                                                     "'+APg-' for 'ø'); it was decoded as UTF-7"))
    return raw, _unify_newlines(decoded.text)


def read_small_csv(path: Path) -> RawFile:
    """A ``dok`` file: header and one metadata row, read exactly."""
    raw, text = _read_text(path)
    if text is None:
        return raw
    # The header and the first row are all that is used: stop there (a file named like a
    # dok file may be large).
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    csv.field_size_limit(MAX_FIELD)
    try:
        for r in reader:
            if any(c.strip() for c in r):
                rows.append(r)
                if len(rows) == 2:
                    break
    except csv.Error as exc:
        raw.readable = False
        raw.problems.append(Problem("FILE_UNREADABLE", f"{display_name(path)}: CSV cannot be parsed at line "
                                                       f"{reader.line_num}: {exc}"))
        return raw
    if rows and len(rows[0]) > MAX_COLUMNS:
        raw.readable = False
        raw.problems.append(Problem("FILE_UNREADABLE", f"{display_name(path)}: the header has {len(rows[0]):,} columns; "
                                                       f"a KIIP file has at most {MAX_COLUMNS:,}"))
        return raw
    raw.header = rows[0] if rows else []
    raw.trailer_row = rows[1] if len(rows) > 1 else None
    raw.physical_rows = max(len(rows) - 1, 0)
    return raw


def _first_nonblank_line(text: str) -> str:
    pos = 0
    while pos < len(text):
        nl = text.find("\n", pos)
        line = text[pos:] if nl < 0 else text[pos:nl]
        if line.strip():
            return line.rstrip("\r")
        if nl < 0:
            break
        pos = nl + 1
    return ""


def _find_trailer(text: str) -> tuple[str, list[str] | None, list[str] | None, int | None]:
    """Split off separator + metadata header + metadata row from the end of a data file.

    Returns (body text, trailer header, trailer row, line of the trailer header).
    """
    end = len(text)
    while end > 0 and text[end - 1] in "\r\n \t":
        end -= 1
    tail_start = end
    found: list[str] = []
    # Walk back over the last three non-empty lines without splitting the whole file.
    pos = end
    while len(found) < 2 and pos > 0:
        nl = text.rfind("\n", 0, pos)
        line = text[nl + 1:pos].rstrip("\r")
        if line.strip():
            found.append(line)
            tail_start = nl + 1
        pos = nl if nl >= 0 else 0
        if nl < 0:
            break
    if len(found) < 2:
        return text, None, None, None
    meta_row, meta_header = _split_csv_line(found[0]), _split_csv_line(found[1])
    if not _looks_like_meta_header(meta_header):
        return text, None, None, None
    # Drop the separator row(s) just before the trailer (empty, ';;;', '---' …),
    # moving an index rather than copying a possibly large text.
    body_end = tail_start
    while True:
        end = body_end
        while end > 0 and text[end - 1] in "\r\n":
            end -= 1
        nl = text.rfind("\n", 0, end)
        if nl >= 0 and _is_separator(text[nl + 1:end]):
            body_end = nl + 1
            continue
        after = text.find("\n", end, tail_start)
        body_end = after + 1 if after >= 0 else end
        break
    header_line = text.count("\n", 0, tail_start) + 1
    return text[:body_end], meta_header, meta_row, header_line


_BLANK_LINE = re.compile(rb"\n\r?\n")  # a blank line inside the body, LF or CRLF: found in one scan


def _nonblank_lines(body: bytes) -> np.ndarray:
    """1-based physical numbers of the non-blank lines of ``body``."""
    if _BLANK_LINE.search(body) is None and not body.startswith((b"\n", b"\r\n")):
        # No blank line anywhere (the usual file): every line is a row.
        count = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
        return np.arange(1, count + 1, dtype=np.int64)
    arr = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(arr)]))
    length = ends - starts
    # A line holding only '\r' is blank too.
    cr_only = (length == 1) & (arr[np.minimum(starts, len(arr) - 1)] == 13)
    keep = (length > 0) & ~cr_only
    return np.flatnonzero(keep) + 1


def _fast_table(data: bytes, width: int, delimiter: str = ";") -> tuple[pa.Table, np.ndarray] | None:
    """pyarrow path (``data`` is the body as UTF-8): only for unquoted files whose every
    row has the header's width."""
    lines = _nonblank_lines(data)
    if len(lines) == 0:
        return None
    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            # A zero-copy Arrow buffer: a Python file object (BytesIO) would be read back
            # through the GIL block by block, which stalls the reader's threads.
            pa.BufferReader(pa.py_buffer(data)),
            # Threads only pay off for big files; small ones are read faster on one.
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 22,
                                           use_threads=len(data) > (8 << 20)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={n: TEXT for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        # A ragged row or anything unusual: the exact path reports it at its line.
        return None
    data_lines = lines[1:]  # the first non-blank line is the header
    if table.num_rows != len(data_lines):
        return None
    return table, data_lines


def _exact_table(body: str, width: int, raw: RawFile,
                 delimiter: str = ";") -> tuple[pa.Table, np.ndarray, np.ndarray, int]:
    """csv-module path: exact line numbers, tolerant of quotes and ragged rows."""
    columns: list[list[str]] = [[] for _ in range(width)]
    lines: list[int] = []
    positions: list[int] = []
    extra_empty_rows = 0
    physical = 0
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    csv.field_size_limit(MAX_FIELD)
    previous_end = 0
    header_seen = False
    try:
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not row or not any(cell.strip() for cell in row):
                continue
            if not header_seen:
                header_seen = True
                continue
            physical += 1
            if len(row) != width:
                if len(row) > width and not any(cell.strip() for cell in row[width:]):
                    row = row[:width]
                    extra_empty_rows += 1
                else:
                    raw.problems.append(Problem(
                        "ROW_SHAPE", f"line {start} has {len(row)} fields, the header has {width}", start))
                    continue
            for col, value in zip(columns, row):
                col.append(value)
            lines.append(start)
            positions.append(physical)
    except csv.Error as exc:
        raw.problems.append(Problem("FILE_UNREADABLE",
                                    f"{raw.name}: CSV cannot be parsed after line {previous_end}: {exc}",
                                    previous_end + 1))
        raw.readable = False
    table = pa.table({str(i): pa.array(col, type=TEXT) for i, col in enumerate(columns)})
    if extra_empty_rows:
        raw.problems.append(Problem("ROW_EXTRA_EMPTY_FIELDS",
                                    f"{extra_empty_rows} row(s) carry extra empty fields after the last column; "
                                    "they were dropped"))
    return table, np.asarray(lines, dtype=np.int64), np.asarray(positions, dtype=np.int64), physical


def read_data_file(path: Path, delimiter: str = ";") -> RawFile:
    """A data file's rows. KIIP's files are ';'-separated; other layouts say their own
    ``delimiter`` (``kiip_import.layouts.sniff_delimiter``)."""
    raw, text = _read_text(path)
    if text is None:
        return raw
    body, raw.trailer_header, raw.trailer_row, raw.trailer_line = _find_trailer(text)
    del text
    header_text = _first_nonblank_line(body)
    raw.header = _split_csv_line(header_text, delimiter)
    width = len(raw.header)
    if width < 2:
        raw.readable = False
        raw.problems.append(Problem("FILE_UNREADABLE",
                                    f"{display_name(path)}: line 1 is not a '{delimiter}'-separated header"))
        return raw
    if width > MAX_COLUMNS:
        raw.readable = False
        raw.problems.append(Problem("FILE_UNREADABLE", f"{display_name(path)}: the header has {width:,} columns; "
                                                       f"a KIIP file has at most {MAX_COLUMNS:,}", 1))
        raw.header = raw.header[:MAX_COLUMNS]
        return raw
    fast = None
    if '"' not in body:
        # Hold the body once, as UTF-8 bytes for pyarrow, not also as text.
        encoded = body.encode("utf-8")
        del body
        fast = _fast_table(encoded, width, delimiter)
        if fast is None:
            body = encoded.decode("utf-8")
        del encoded
    if fast is not None:
        raw.table, raw.lines = fast
        raw.physical_rows = raw.table.num_rows
        raw.positions = np.arange(1, raw.physical_rows + 1, dtype=np.int64)
    else:
        raw.table, raw.lines, raw.positions, raw.physical_rows = _exact_table(body, width, raw, delimiter)
    return raw
