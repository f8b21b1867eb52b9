"""Finding delivery files in folders and pairing each ``dok`` file with its data file."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

# K + 4 digits + optional letter, then the file's role. Case does not matter, and the K
# may be missing (the pilot met '2705dok.csv').
_NAME = re.compile(r"(?P<k>k?)(?P<num>\d{4})(?P<letter>[a-z]?)(?P<role>dok|fd|dd|ft)\.csv", re.I | re.ASCII)


@dataclass
class FilePart:
    path: Path
    role: str  # dok | fd | dd | ft
    name_entry: str  # entry number as the file name gives it, normalised to Knnnn
    name_standard: bool  # the name started with K


@dataclass
class Candidate:
    """The files of one delivery as found on disk, before any byte is read."""

    key: str  # entry number from the file names (after known renames)
    dok: FilePart | None = None
    data: FilePart | None = None
    extra: list[FilePart] = field(default_factory=list)  # a second data file for the same number
    renamed_from: str | None = None
    rename_reason: str | None = None


@dataclass
class LooseFile:
    """A CSV file that is not named like a KIIP delivery file."""

    path: Path


RENAMES_ENV = "MGR_KNOWN_RENAMES"


def read_known_renames(lines) -> dict[str, tuple[str, str]]:
    """``file_entry_number;entry_number;reason`` rows (``#`` lines are comments)."""
    rows = csv.DictReader((line for line in lines if not line.startswith("#")), delimiter=";")
    return {r["file_entry_number"].strip().upper(): (r["entry_number"].strip(), (r.get("reason") or "").strip())
            for r in rows if (r.get("file_entry_number") or "").strip() and (r.get("entry_number") or "").strip()}


@cache
def known_renames() -> dict[str, tuple[str, str]]:
    """The project's list, and an archive's own (the file ``$MGR_KNOWN_RENAMES`` names), which
    wins where both name the same file entry number."""
    with resources.files("kiip_import").joinpath("data/known_renames.csv").open(encoding="utf-8") as fh:
        out = read_known_renames(fh)
    own = os.environ.get(RENAMES_ENV)
    if own:
        with open(own, encoding="utf-8") as fh:
            out.update(read_known_renames(fh))
    return out


def iter_csv_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """All CSV files under the given paths; problems (missing paths) as one-line messages."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            # rglob does not descend into linked folders; a linked file is listed (and
            # refused by the reader, which never follows a link), so that it becomes a
            # finding instead of vanishing.
            for p in sorted(path.rglob("*")):
                if p.suffix.lower() == ".csv" and (p.is_symlink() or p.is_file()):
                    files.append(p)
                elif p.is_symlink() and p.is_dir():
                    problems.append(f"{p}: a symbolic link to a folder; not followed")
        elif path.is_file() or path.is_symlink():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for p in files:
        # The same file reached twice (a folder and a file in it): resolve the folder, not
        # a link's target, so that a link is never taken for the file it points at.
        rp = p.parent.resolve() / p.name
        if rp not in seen:
            seen.add(rp)
            unique.append(p)
    return unique, problems


def pair_files(files: list[Path]) -> tuple[list[Candidate], list[LooseFile]]:
    groups: dict[tuple[Path, str], Candidate] = {}
    loose: list[LooseFile] = []
    renames = known_renames()
    for path in files:
        m = _NAME.fullmatch(path.name)
        if not m:
            loose.append(LooseFile(path))
            continue
        written = (m["k"] + m["num"] + m["letter"]).upper()
        entry = f"K{m['num']}{m['letter'].lower()}"
        renamed_from = reason = None
        if written in renames:
            target, reason = renames[written]
            renamed_from, entry = written, target
        part = FilePart(path, m["role"].lower(), entry, bool(m["k"]))
        # Deliveries are paired within their folder: the same number in two folders is
        # two deliveries (e.g. a re-delivery kept beside the first).
        key = (path.parent, entry)
        cand = groups.setdefault(key, Candidate(entry))
        if renamed_from:
            cand.renamed_from, cand.rename_reason = renamed_from, reason
        if part.role == "dok":
            if cand.dok is None:
                cand.dok = part
            else:
                cand.extra.append(part)
        elif cand.data is None:
            cand.data = part
        else:
            cand.extra.append(part)
    return list(groups.values()), loose
