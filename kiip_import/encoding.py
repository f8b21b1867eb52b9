"""Turning a file's bytes into text: which encoding, and repairing double-encoded UTF-8.

KIIP is a Windows program, so exports are Windows-1252; files that passed through other
tools arrive as UTF-8 (with or without BOM), ISO-8859-1, or UTF-8 encoded a second time
(``BÃ¸rn`` for ``Børn``).  We say which one we found, repair the last, and refuse bytes
that are not text at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Characters that double-encoded Danish text is made of: Ã or Â followed by a byte that
# cp1252/latin-1 shows as a symbol (e.g. 'Ã¸' for 'ø', 'Ã…' for 'Å').
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf\u2018-\u2022\u2026\u2030\u2039\u203a\u20ac\u0152\u0153\u0160\u0161"
                       "\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2122]")


_OUTSIDE_80_9F = bytes(range(0x80)) + bytes(range(0xA0, 0x100))

# UTF-7 writes every character outside a small ASCII set as '+' and base64 ending in
# '-' ('|' as '+AHw-', 'ø' as '+APg-'). A few such runs in an all-ASCII file are UTF-7.
_UTF7_RUN = re.compile(rb"\+A[A-Za-z0-9+/]{2,}-?")
_UTF7_MIN_RUNS = 3


@dataclass(frozen=True)
class Decoded:
    text: str | None
    encoding: str | None
    repaired_lines: int = 0
    problem: str | None = None


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _control_share(text: str) -> float:
    """Share of control characters in the first 200,000 characters (text has almost none)."""
    sample = text[:200_000]
    if not sample:
        return 0.0
    return len(_CONTROL.findall(sample)) / len(sample)


def _repair_line(line: str) -> str | None:
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = line.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return fixed
    return None


def _repair_double_encoding(text: str) -> tuple[str, int]:
    """Undo a second UTF-8 encoding line by line (a file may be only partly affected)."""
    if ("Ã" not in text and "Â" not in text) or not _MOJIBAKE.search(text):
        return text, 0
    lines = text.split("\n")
    repaired = 0
    for i, line in enumerate(lines):
        if _MOJIBAKE.search(line):
            fixed = _repair_line(line)
            if fixed is not None and fixed != line:
                lines[i] = fixed
                repaired += 1
    return "\n".join(lines), repaired


def decode(data: bytes) -> Decoded:
    if len(data) < 4096 and not data.strip() or not data:
        return Decoded(None, None, problem="the file is empty")
    if b"\x00" in data[:1_000_000]:
        return Decoded(None, None, problem="the file holds NUL bytes: binary data or UTF-16, not a KIIP export")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8-sig", data[3:]
    else:
        encoding, body = "utf-8", data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Windows-1252 and ISO-8859-1 differ only in bytes 0x80-0x9F; without those the
        # (much faster) latin-1 codec gives the same text.
        cp1252_only = data.translate(None, _OUTSIDE_80_9F)
        try:
            if cp1252_only:
                text = data.decode("cp1252")
            else:
                text = data.decode("latin-1")
            encoding = "cp1252"
        except UnicodeDecodeError:
            # Bytes cp1252 leaves undefined (0x81, 0x8D, …) but ISO-8859-1 maps: a latin-1 file.
            text, encoding = data.decode("latin-1"), "iso-8859-1"
    if encoding.startswith("utf-8") and text.isascii() and len(_UTF7_RUN.findall(data[:65536])) >= _UTF7_MIN_RUNS:
        try:
            text, encoding = data.decode("utf-7"), "utf-7"
        except UnicodeDecodeError:
            return Decoded(None, None, problem="the file looks like UTF-7 ('+AHw-' for '|') but cannot be decoded "
                                               "as UTF-7; ask for an export in UTF-8 or Windows-1252")
    if _control_share(text) > 0.01:
        return Decoded(None, None, problem=f"the file is not text in UTF-8 or Windows-1252 (read as {encoding})")
    repaired = 0
    if encoding.startswith("utf-8"):
        text, repaired = _repair_double_encoding(text)
    return Decoded(text, encoding, repaired)
