"""Finding the printed form on an upright, binarised page.

A ruled line is a long straight run of ink: a pixel counts as part of a
horizontal rule when a window of ``L`` pixels centred on it along its row is
(nearly) all ink, and the same down a column for vertical rules. Handwriting
does not make such runs; print and rules do. From the rules come the table box,
its header band, the row bands and the columns; above the table sit the heading
and the page number in the outer corners.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Rule:
    pos: int  # centre row (horizontal) or column (vertical)
    start: int  # extent along the rule
    end: int
    thickness: int


@dataclass
class Layout:
    width: int
    height: int
    table: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1
    header: tuple[int, int, int, int] | None = None
    rows: list[tuple[int, int, int, int]] = field(default_factory=list)
    columns: list[tuple[int, int]] = field(default_factory=list)  # x ranges inside the table
    top_strip: tuple[int, int, int, int] | None = None  # area above the table
    corners: list[tuple[int, int, int, int]] = field(default_factory=list)  # page-number search regions
    heading: tuple[int, int, int, int] | None = None
    page_number_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    rows_ruled: bool = True


def _run_mask(ink: np.ndarray, length: int, axis: int, fill: float = 0.85) -> np.ndarray:
    """True where a window of ``length`` along ``axis`` centred on the pixel is mostly ink."""
    a = ink if axis == 1 else ink.T
    h, w = a.shape
    if w < length:
        return np.zeros_like(ink)
    c = np.zeros((h, w + 1), dtype=np.int32)
    np.cumsum(a, axis=1, dtype=np.int32, out=c[:, 1:])
    win = c[:, length:] - c[:, :-length]  # sums of windows starting at 0..w-length
    full = win >= int(fill * length)
    out = np.zeros((h, w), dtype=bool)
    # mark every pixel covered by a full window: dilate the window starts by length
    starts = np.zeros((h, w + 1), dtype=np.int32)
    starts[:, : w - length + 1] += full
    starts[:, length: w + 1] -= full
    out = np.cumsum(starts[:, :w], axis=1) > 0
    return out if axis == 1 else out.T


def _group_rules(mask: np.ndarray, min_len: int, axis: int) -> list[Rule]:
    """Cluster neighbouring rows (axis=1) or columns (axis=0) of rule pixels into rules."""
    a = mask if axis == 1 else mask.T
    counts = a.sum(axis=1)
    hits = np.nonzero(counts >= min_len)[0]
    rules: list[Rule] = []
    if len(hits) == 0:
        return rules
    groups = np.split(hits, np.nonzero(np.diff(hits) > 2)[0] + 1)
    for g in groups:
        band = a[g[0]: g[-1] + 1]
        cols = np.nonzero(band.any(axis=0))[0]
        rules.append(Rule(pos=int(round(g.mean())), start=int(cols[0]), end=int(cols[-1]),
                          thickness=int(g[-1] - g[0] + 1)))
    return rules


def find_rules(ink: np.ndarray) -> tuple[list[Rule], list[Rule]]:
    h, w = ink.shape
    hmask = _run_mask(ink, max(30, w // 25), axis=1)
    vmask = _run_mask(ink, max(30, h // 30), axis=0)
    horizontal = _group_rules(hmask, max(40, int(0.3 * w)), axis=1)
    vertical = _group_rules(vmask, max(40, int(0.12 * h)), axis=0)
    return horizontal, vertical


def _text_bands(ink: np.ndarray, x0: int, x1: int, y0: int, y1: int, min_h: int) -> list[tuple[int, int]]:
    """Row bands from the ink profile of a column, for forms without ruled rows."""
    prof = ink[y0:y1, x0:x1].sum(axis=1)
    on = prof > max(2, 0.01 * (x1 - x0))
    bands, start = [], None
    for i, v in enumerate(on):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start >= min_h:
                bands.append((y0 + start, y0 + i))
            start = None
    if start is not None and len(on) - start >= min_h:
        bands.append((y0 + start, y1))
    return bands


def analyse(ink: np.ndarray) -> Layout:
    h, w = ink.shape
    lay = Layout(width=w, height=h)
    horizontal, vertical = find_rules(ink)
    # the table: the horizontal rules that share the extent of the longest one
    if horizontal:
        longest = max(horizontal, key=lambda r: r.end - r.start)
        span = longest.end - longest.start
        table_rules = [r for r in horizontal
                       if r.end - r.start >= 0.6 * span
                       and abs(r.start - longest.start) < 0.1 * span and abs(r.end - longest.end) < 0.1 * span]
        table_rules.sort(key=lambda r: r.pos)
        if len(table_rules) >= 2:
            x0 = int(np.median([r.start for r in table_rules]))
            x1 = int(np.median([r.end for r in table_rules]))
            y0, y1 = table_rules[0].pos, table_rules[-1].pos
            lay.table = (x0, y0, x1, y1)
            cols = sorted({v.pos for v in vertical
                           if x0 - 0.02 * w <= v.pos <= x1 + 0.02 * w
                           and v.start <= y0 + 0.3 * (y1 - y0) and v.end >= y0 + 0.5 * (y1 - y0)})
            # merge double-detected rules and add the table edges
            xs: list[int] = []
            for c in [x0] + cols + [x1]:
                if xs and c - xs[-1] < 0.02 * w:
                    continue
                xs.append(c)
            if xs[-1] < x1 - 0.02 * w:
                xs.append(x1)
            lay.columns = [(a, b) for a, b in zip(xs[:-1], xs[1:]) if b - a > 0.02 * w]
            ys = [r.pos for r in table_rules]
            gaps = [b - a for a, b in zip(ys[:-1], ys[1:])]
            if len(ys) >= 3:
                lay.header = (x0, ys[0], x1, ys[1])
                typical = float(np.median(gaps[1:])) if len(gaps) > 1 else gaps[0]
                bands = [(a, b) for a, b in zip(ys[1:-1], ys[2:])]
                if len(bands) == 1 and typical > 0.15 * h:
                    # only header and frame are ruled: rows are unruled, take them from the ink
                    lay.rows_ruled = False
                    c0, c1 = lay.columns[0] if lay.columns else (x0, x0 + (x1 - x0) // 8)
                    found = _text_bands(ink, c0 + 4, c1 - 4, ys[1] + 4, ys[-1] - 4, max(5, h // 200))
                    lay.rows = [(x0, a - 6, x1, b + 6) for a, b in found]
                else:
                    lay.rows = [(x0, a, x1, b) for a, b in bands if b - a > 0.3 * typical]
            else:
                lay.header = None
                lay.rows = []
    top = lay.table[1] if lay.table else int(0.15 * h)
    lay.top_strip = (0, 0, w, max(1, top))
    tx0, tx1 = (lay.table[0], lay.table[2]) if lay.table else (int(0.05 * w), int(0.95 * w))
    corner_w = int(0.24 * (tx1 - tx0))
    y_from = max(0, int(top - 0.12 * h))
    lay.corners = [
        (max(0, tx0 - int(0.03 * w)), y_from, tx0 + corner_w, top),
        (tx1 - corner_w, y_from, min(w, tx1 + int(0.03 * w)), top),
    ]
    lay.heading = (tx0 + corner_w, y_from, tx1 - corner_w, top)
    heading, numbers = top_segments(ink, tx0, tx1, y_from, max(y_from + 1, top - 3))
    if heading:
        lay.heading = heading
    lay.page_number_boxes = numbers
    return lay


def _despeckle_mask(mask: np.ndarray) -> np.ndarray:
    """3x3 majority filter on a boolean mask: isolated specks go, strokes two
    pixels wide or more stay."""
    p = np.pad(mask.astype(np.uint8), 1)
    h, w = mask.shape
    count = sum(p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3))
    return count >= 5


def _runs(on: np.ndarray, gap: int) -> list[tuple[int, int]]:
    idx = np.nonzero(on)[0]
    if len(idx) == 0:
        return []
    cuts = np.nonzero(np.diff(idx) > gap)[0]
    starts = np.concatenate([[idx[0]], idx[cuts + 1]])
    ends = np.concatenate([idx[cuts], [idx[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def top_segments(ink: np.ndarray, tx0: int, tx1: int, y0: int, y1: int):
    """Split the printed lines above the table into words-groups: the group over the
    middle of the table is the heading; short groups in the outer parts are page
    number candidates. Returns (heading box or None, candidate boxes)."""
    h, w = ink.shape
    if y1 - y0 < 8:
        return None, []
    strip = _despeckle_mask(ink[y0:y1])
    rows = strip.sum(axis=1)
    lines = [(a, b) for a, b in _runs(rows >= 2, gap=max(2, h // 600)) if 0.006 * h <= b - a <= 0.08 * h]
    heading, numbers = None, []
    mid = (tx0 + tx1) / 2
    span = max(1, tx1 - tx0)
    for a, b in lines:
        lh = b - a
        cols = strip[a:b].sum(axis=0)
        for c, d in _runs(cols >= 1, gap=max(3, int(0.9 * lh))):
            if d - c < 0.2 * lh or strip[a:b, c:d].sum() < 0.3 * lh:
                continue  # a speck or a stray mark
            box = (c, y0 + a, d, y0 + b)
            if c <= mid <= d or (d - c) > 4 * lh:
                if heading is None or (d - c) > (heading[2] - heading[0]):
                    heading = box
            elif (d - c) <= 3.6 * lh and (abs((c + d) / 2 - mid) > 0.3 * span):
                m = max(2, lh // 4)
                numbers.append((max(0, c - m), max(0, y0 + a - m), min(w, d + m), min(h, y0 + b + m)))
    return heading, numbers


def ink_box(ink: np.ndarray, box: tuple[int, int, int, int], min_pixels: int = 3,
            margin: int = 0) -> tuple[int, int, int, int] | None:
    """Bounding box of the ink inside ``box`` (ignoring rows/columns with fewer than
    ``min_pixels`` ink pixels), grown by ``margin``; None if there is no ink."""
    x0, y0, x1, y1 = box
    sub = ink[y0:y1, x0:x1]
    if sub.size == 0:
        return None
    rows = np.nonzero(sub.sum(axis=1) >= min_pixels)[0]
    cols = np.nonzero(sub.sum(axis=0) >= min_pixels)[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    h, w = ink.shape
    return (max(0, x0 + int(cols[0]) - margin), max(0, y0 + int(rows[0]) - margin),
            min(w, x0 + int(cols[-1]) + 1 + margin), min(h, y0 + int(rows[-1]) + 1 + margin))


def clear_rules(ink_crop: np.ndarray) -> np.ndarray:
    """Remove ruled-line remnants from a cell's ink mask (long runs along either axis)."""
    h, w = ink_crop.shape
    out = ink_crop.copy()
    if w >= 20:
        out &= ~_run_mask(ink_crop, max(15, int(0.6 * w)), axis=1, fill=0.8)
    if h >= 20:
        out &= ~_run_mask(ink_crop, max(15, int(0.7 * h)), axis=0, fill=0.8)
    return out
