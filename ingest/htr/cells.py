"""``mgr-ingest ocr cells``: read batches of handwritten cells (entry numbers or birth dates).

    mgr-ingest ocr cells --field entry_number|birth_date PATH... --json FILE [--year YYYY]

PATH is an image or a folder. A folder is one run: its images, in natural name order, are
the consecutive rows of one page section, and the sequence prior applies across them. An
image given on its own is a run of one. ``--year`` is the section's year from the book
heading (birth dates). The JSON holds one entry per cell::

    {"cells": [{"file": NAME, "path": PATH, "value": "24a" | "19210709" | null,
                "confidence": 0..1, "prefill": true|false,
                "alternatives": [[value, confidence], ...]}]}

``prefill`` is true exactly when the entry screen would fill the value in (its confidence is
at or above the model's calibrated threshold); below it the value is only offered. A file
that cannot be read is an entry with ``value: null`` and ``error``; the exit code is then 1.
Exit codes: 0 every cell read, 1 some cell could not be read, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from ingest.htr import images as cell_images

log = logging.getLogger("mgr_ingest.htr.cells")
EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2


def cell_entry(path: Path, cell, threshold: float) -> dict:
    return {"file": path.name, "path": str(path), "value": cell.value,
            "confidence": round(float(cell.confidence), 4), "prefill": bool(cell.value is not None
                                                                             and cell.confidence >= threshold),
            "alternatives": [[v, round(float(p), 4)] for v, p in cell.candidates[1:]]}


def read_run(reader, paths: list[Path], year: int | None) -> list[dict]:
    """Read one run of cells (rows of one section in order); unreadable files keep their place."""
    from ingest.htr.runtime import Cell, apply_prior

    arrays, ok, errors = [], [], {}
    for i, p in enumerate(paths):
        try:
            with cell_images.open_cell(p) as img:
                arrays.append(cell_images.prepare(img, reader.field))
            ok.append(i)
        except cell_images.CellImageError as exc:
            errors[i] = str(exc)
    cells = reader.read(np.stack(arrays), given_year=year) if arrays else []
    by_index = dict(zip(ok, cells))
    ordered = [by_index.get(i, Cell()) for i in range(len(paths))]
    apply_prior(reader.field, [c for i, c in enumerate(ordered) if i not in errors])
    out = []
    for i, (p, c) in enumerate(zip(paths, ordered)):
        entry = cell_entry(p, c, reader.threshold)
        if i in errors:
            entry.update(value=None, confidence=0.0, prefill=False, alternatives=[], error=errors[i])
        out.append(entry)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="mgr-ingest ocr cells",
                                description="Read handwritten entry-number or birth-date cells with the trained "
                                            "recognisers; a folder is the rows of one page section, in order.")
    p.add_argument("paths", nargs="+", type=Path, help="cell images, or folders of them (one section each)")
    p.add_argument("--field", choices=("entry_number", "birth_date"), required=True, help="what the cells hold")
    p.add_argument("--json", type=Path, required=True, dest="json_out", help="file to write the readings to")
    p.add_argument("--year", type=int, help="the section's year from the book heading (birth dates)")
    p.add_argument("--models", type=Path, help="folder with other trained models (default: the shipped ones)")
    try:
        a = p.parse_args(argv)
    except SystemExit as exc:
        return EXIT_CANNOT_RUN if exc.code else EXIT_OK
    from ingest.htr.runtime import MODELS, CellReader, ModelMissing

    runs: list[list[Path]] = []
    for path in a.paths:
        if path.is_dir():
            files = cell_images.list_images(path)
            if not files:
                print(f"mgr-ingest ocr cells: {path}: no images in this folder", file=sys.stderr)
                return EXIT_CANNOT_RUN
            runs.append(files)
        elif path.exists() or path.is_symlink():
            runs.append([path])
        else:
            print(f"mgr-ingest ocr cells: {path}: no such file or folder", file=sys.stderr)
            return EXIT_CANNOT_RUN
    if a.year is not None and not 1500 <= a.year <= 2100:
        print(f"mgr-ingest ocr cells: --year {a.year} is not a year", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        reader = CellReader.load(a.field, a.models or MODELS)
    except ModelMissing as exc:
        print(f"mgr-ingest ocr cells: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    cells = []
    for run in runs:
        cells += read_run(reader, run, a.year)
    failed = sum(1 for c in cells if "error" in c)
    try:
        a.json_out.parent.mkdir(parents=True, exist_ok=True)
        a.json_out.write_text(json.dumps({"field": a.field, "threshold": reader.threshold, "cells": cells},
                                         ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        print(f"mgr-ingest ocr cells: cannot write {a.json_out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    log.info("cells read: %d, prefilled: %d, unreadable: %d", len(cells), sum(c["prefill"] for c in cells), failed)
    print(f"{len(cells)} cells read, {sum(c['prefill'] for c in cells)} prefilled, {failed} unreadable "
          f"-> {a.json_out}", file=sys.stderr)
    return EXIT_FINDINGS if failed else EXIT_OK
