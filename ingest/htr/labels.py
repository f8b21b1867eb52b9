"""Label forms of the two fields and the alphabet of the entry-number reader (no torch)."""

from __future__ import annotations

import re

ENTRY_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz()"  # index 0 of the network is the CTC blank
ENTRY_MAX_LEN = 8
_ENTRY = re.compile(r"^\(?\d{1,4}[a-z]{0,2}\)?$")
CENTURIES = (18, 19, 20)


def entry_label(raw: str) -> str | None:
    """The label as the network learns it, or None when the cell is not a usable example."""
    s = raw.strip().lower().replace(" ", "")
    if not s or len(s) > ENTRY_MAX_LEN or not _ENTRY.match(s):
        return None
    return s


def entry_targets(label: str) -> list[int]:
    return [ENTRY_ALPHABET.index(ch) + 1 for ch in label]


def date_label(raw: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a YYYYMMDD label, or None when it is not a full valid date."""
    s = raw.strip()
    if not re.fullmatch(r"\d{8}", s):
        return None
    y, m, d = int(s[:4]), int(s[4:6]), int(s[6:])
    if not (1 <= m <= 12 and 1 <= d <= 31 and y // 100 in CENTURIES):
        return None
    return y, m, d


def entry_number_int(value: str) -> int | None:
    m = re.match(r"^\(?(\d+)", value or "")
    return int(m.group(1)) if m else None
