"""Cell images as the recognisers see them: grey, fixed size, ink bright on black.

Kept free of torch so the product and the training share exactly one preparation.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# (height, width) the networks read
SIZES = {"entry_number": (64, 64), "birth_date": (96, 64)}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
# a cell is a few hundred pixels a side; anything past this is not a cell
MAX_CELL_PIXELS = 4_000_000
MAX_FILE_BYTES = 20_000_000


class CellImageError(ValueError):
    """The file cannot be read as a cell image; the message is safe to show."""


def _trim_dark_edges(ink: np.ndarray, level: float = 0.5) -> np.ndarray:
    """Cut away the black bands a scan leaves at a cell's edges (the book's gutter, the
    scanner's bed): whole columns or rows along an edge that are mostly dark."""
    cols = ink.mean(axis=0) > level
    rows = ink.mean(axis=1) > level
    left = int(np.argmin(cols)) if cols.any() else 0
    right = len(cols) - int(np.argmin(cols[::-1])) if cols.any() else len(cols)
    top = int(np.argmin(rows)) if rows.any() else 0
    bottom = len(rows) - int(np.argmin(rows[::-1])) if rows.any() else len(rows)
    if right - left < 8 or bottom - top < 8:  # all dark: keep it as it is
        return ink
    # a margin of a few pixels more, where the band's edge is ragged
    pad = 2
    return ink[min(top + (pad if top else 0), bottom - 1):bottom - (pad if bottom < len(rows) else 0),
               min(left + (pad if left else 0), right - 1):right - (pad if right < len(cols) else 0)]


def prepare(img: Image.Image, field: str) -> np.ndarray:
    """A PIL image -> float32 array (H, W), 0 = paper, 1 = ink.

    Black bands at the edges are cut away, the paper is brought to 0 and the darkest
    strokes to 1 (1920s ink is often faint), then the cell is scaled to the network's size."""
    h, w = SIZES[field]
    g = np.asarray(ImageOps.grayscale(img), dtype=np.float32) / 255.0
    ink = _trim_dark_edges(1.0 - g)
    paper = float(np.median(ink))
    top = float(np.percentile(ink, 99.5))
    if top - paper > 0.05:
        ink = np.clip((ink - paper) / (top - paper), 0.0, 1.0)
    else:
        ink = np.clip(ink - paper, 0.0, 1.0)
    out = Image.fromarray(ink.astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float32).clip(0.0, 1.0)


def shifted(cells: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Prepared cells (..., H, W) moved ``dy`` pixels down and ``dx`` right; paper (0) comes in."""
    if not dy and not dx:
        return cells
    out = np.zeros_like(cells)
    h, w = cells.shape[-2:]
    src_y, dst_y = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    src_x, dst_x = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., dst_y, dst_x] = cells[..., src_y, src_x]
    return out


def open_cell(path: Path) -> Image.Image:
    """Open one cell image with bounded memory; raise CellImageError with a plain reason."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CellImageError(f"cannot read the file ({e.__class__.__name__})") from None
    if size == 0:
        raise CellImageError("the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise CellImageError(f"the file is {size} bytes; a cell image is at most {MAX_FILE_BYTES}")
    try:
        img = Image.open(path)
        w, h = img.size
        if w * h > MAX_CELL_PIXELS:
            raise CellImageError(f"the image is {w} x {h} pixels; a cell is at most {MAX_CELL_PIXELS} pixels")
        img.draft("L", (w, h))
        img.load()
        return img
    except CellImageError:
        raise
    except Image.DecompressionBombError:
        raise CellImageError("the image has far too many pixels to be a cell") from None
    except Exception:  # noqa: BLE001 - any decoder failure is "not an image we can read"
        raise CellImageError("not an image that can be read (unknown or damaged format)") from None


def natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda p: natural_key(p.name))


@dataclass
class Sample:
    path: Path
    label: str
    book: str  # entry number of the book, from the archive's file name
    run: str   # scan and section: the rows of one page section share it
    row: int


_NAME = re.compile(r"^[a-z]+_(?P<book>[A-Z]\d+)_(?P<scan>[^_]+)_.*_(?P<row>\d+)\.[A-Za-z]+$")


def read_folder(folder: Path) -> list[Sample]:
    """The labelled cells of one folder in the archives' layout (images + labels.csv)."""
    out = []
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            name, label = rec["filename"], (rec.get("label") or "").strip()
            m = _NAME.match(name)
            book, run, row = (m["book"], m["book"] + "_" + m["scan"], int(m["row"])) if m else ("?", name, 0)
            out.append(Sample(folder / name, label, book, run, row))
    return out


def load_arrays(samples: list[Sample], field: str, cache: Path | None = None) -> np.ndarray:
    """Prepared arrays for many samples, uint8 to save memory; optionally cached as .npy."""
    if cache is not None and cache.exists():
        arr = np.load(cache)
        if len(arr) == len(samples):
            return arr
    h, w = SIZES[field]
    arr = np.zeros((len(samples), h, w), dtype=np.uint8)
    for i, s in enumerate(samples):
        with Image.open(s.path) as img:
            arr[i] = (prepare(img, field) * 255).round().astype(np.uint8)
    if cache is not None:
        os.makedirs(cache.parent, exist_ok=True)
        np.save(cache, arr)
    return arr
