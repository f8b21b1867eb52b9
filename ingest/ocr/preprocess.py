"""Cleaning a grayscale page before layout analysis and recognition.

Order matters (measured): even out the light, find and remove the skew, then
binarise against the local background; despeckle and upscale per crop, just
before recognition, where it is cheap.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

from . import layout

TARGET_DPI = 300
MAX_WORK_DPI = 400  # pages scanned finer than this are reduced first: it buys no accuracy


def normalise_light(gray: Image.Image) -> Image.Image:
    """Divide the page by an estimate of its paper brightness, so uneven light and
    yellowed paper turn into an even white background with the ink kept dark."""
    w, h = gray.size
    factor = max(1, min(w, h) // 150)
    small = gray.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.BOX)
    # the brightest value in a neighbourhood larger than any stroke is the paper
    bg = small.filter(ImageFilter.MaxFilter(7)).filter(ImageFilter.GaussianBlur(3))
    bg = bg.resize((w, h), Image.Resampling.BILINEAR)
    g = np.asarray(gray, dtype=np.float32)
    b = np.maximum(np.asarray(bg, dtype=np.float32), 1.0)
    out = np.clip(g * (255.0 / b), 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L")


def otsu_level(arr: np.ndarray) -> int:
    hist = np.bincount(arr.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    omega = np.cumsum(hist) / total
    mu = np.cumsum(hist * np.arange(256)) / total
    mu_t = mu[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma_b = (mu_t * omega - mu) ** 2 / (omega * (1 - omega))
    sigma_b = np.nan_to_num(sigma_b)
    return int(np.argmax(sigma_b))


def binarise(norm: Image.Image) -> np.ndarray:
    """Boolean ink mask of a light-normalised page (True = ink).

    The page is already divided by its local background, so the threshold is
    adaptive in effect; Otsu then picks the ink/paper split, kept within sane bounds
    so that a page of mostly paper does not get its noise called ink.
    """
    arr = np.asarray(norm, dtype=np.uint8)
    level = otsu_level(arr)
    level = int(min(max(level, 120), 215))
    return arr < level


def estimate_skew(ink: np.ndarray, max_angle: float = 5.0) -> float:
    """Skew in degrees (positive = the page content is turned counter-clockwise).

    Projection-profile method on a reduced ink mask: for each trial angle the ink
    points are sheared onto rows; the angle whose row histogram is sharpest wins.
    Ruled lines and text lines both make sharp peaks when level.
    """
    h, w = ink.shape
    step = max(1, int(math.ceil(max(h, w) / 1000)))
    small = ink[::step, ::step]
    ys, xs = np.nonzero(small)
    if len(ys) < 200:
        return 0.0
    if len(ys) > 150_000:
        sel = np.random.default_rng(0).choice(len(ys), 150_000, replace=False)
        ys, xs = ys[sel], xs[sel]
    xs = xs.astype(np.float64) - small.shape[1] / 2
    ys = ys.astype(np.float64)
    n_rows = small.shape[0]

    def score(angle: float) -> float:
        t = math.tan(math.radians(angle))
        rows = np.round(ys + xs * t).astype(np.int64)
        rows = rows[(rows >= 0) & (rows < n_rows)]
        hist = np.bincount(rows, minlength=n_rows).astype(np.float64)
        return float((hist * hist).sum())

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.5)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1)
    best = max(fine, key=score)
    finer = np.arange(best - 0.1, best + 0.1 + 1e-9, 0.025)
    best = max(finer, key=score)
    # the shear that levels the lines equals the turn the content has received
    # (counter-clockwise positive, as Image.rotate counts it)
    return float(best)


def rotate(gray: Image.Image, angle: float) -> Image.Image:
    """Turn the page by ``angle`` degrees counter-clockwise, filling with white."""
    if abs(angle) < 0.05:
        return gray
    return gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)


MAX_WORK_PIXELS = 30_000_000  # about an A3 page at 300 dpi


def reduce_resolution(gray: Image.Image, dpi: float | None) -> tuple[Image.Image, float | None, float]:
    """Bring very fine scans down to TARGET_DPI, and any page down to MAX_WORK_PIXELS
    (which bounds the memory of the steps after this); returns (image, dpi, scale)."""
    w, h = gray.size
    scale = 1.0
    if dpi and dpi > MAX_WORK_DPI:
        scale = TARGET_DPI / dpi
    if w * h * scale * scale > MAX_WORK_PIXELS:
        scale = math.sqrt(MAX_WORK_PIXELS / (w * h))
    if scale < 1.0:
        reduced = gray.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
        return reduced, (dpi * scale if dpi else None), scale
    return gray, dpi, 1.0


def despeckle(crop: Image.Image) -> Image.Image:
    """3x3 median: removes isolated specks without eating strokes."""
    return crop.filter(ImageFilter.MedianFilter(3))


def upscale(crop: Image.Image, factor: float) -> Image.Image:
    if factor <= 1.05:
        return crop
    w, h = crop.size
    return crop.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.LANCZOS)


def threshold_crop(norm_crop: Image.Image) -> Image.Image:
    """Black-on-white binary of a light-normalised crop, for recognition."""
    arr = np.asarray(norm_crop, dtype=np.uint8)
    level = otsu_level(arr)
    level = int(min(max(level, 110), 210))
    out = np.where(arr < level, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L")


def prepare_page(gray: Image.Image, dpi: float | None):
    """Full page preparation: returns (normalised upright page, ink mask, skew, dpi, scale)."""
    gray, dpi, scale = reduce_resolution(gray, dpi)
    norm = normalise_light(gray)
    ink = binarise(norm)
    angle = estimate_skew(ink)
    if abs(angle) >= 0.05:
        norm = rotate(norm, -angle)
        ink = binarise(norm)
    return norm, ink, angle, dpi, scale


def cell_image(norm: Image.Image, ink: np.ndarray, box, inset: int, target: float, multiline: bool = False,
               ruled: bool = True):
    """A clean black-on-white crop of one cell for recognition, and its ink box on the page.

    The page's ink mask only locates the writing (ruled-line remnants removed).
    The crop itself is cut from the light-normalised gray page, upscaled so that one
    line of writing is about ``target`` pixels tall, and only then thresholded and
    despeckled: thin pen strokes survive that order, and not the other.
    ``ruled`` says the box is a cell of the ruled table (remove rule remnants).
    Returns (None, None) for a cell without writing.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    x0, y0 = max(0, x0 + inset), max(0, y0 + inset)
    x1, y1 = min(ink.shape[1], x1 - inset), min(ink.shape[0], y1 - inset)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None, None
    raw = ink[y0:y1, x0:x1]
    # in a ruled cell, long straight runs are rules; in a free region (the page
    # number, the heading) they may be the bars of a '7' or a '5'
    if ruled:
        # rule pixels, widened by two pixels: blurred rules leave ragged fringes
        # beside the straight core, and a fringe next to a number reads as a '1'
        core = raw & ~layout.clear_rules(raw)
        if core.any():
            grown = np.asarray(Image.fromarray(core.astype(np.uint8) * 255, "L").filter(
                ImageFilter.MaxFilter(5))) > 0
        else:
            grown = core
        sub = clear_edges(raw & ~grown)
    else:
        sub = raw
    rules = raw & ~sub  # ruled-line pixels (and edge remnants) inside the cell
    min_px = 2 if sub.shape[0] < 80 else 3
    tb = layout.ink_box(sub, (0, 0, sub.shape[1], sub.shape[0]), min_pixels=min_px)
    if tb is None or sub[tb[1]:tb[3], tb[0]:tb[2]].sum() < 20:
        return None, None
    if not multiline:
        tb = main_line(sub, tb, min_px) or tb
    bx0, by0, bx1, by1 = tb
    ink_h = by1 - by0
    line_h = float(ink_h)
    if multiline:
        prof = sub[by0:by1, bx0:bx1].sum(axis=1) >= min_px
        runs = np.diff(np.concatenate([[0], prof.astype(np.int8), [0]]))
        starts, ends = np.nonzero(runs == 1)[0], np.nonzero(runs == -1)[0]
        tall = [e - s for s, e in zip(starts, ends) if e - s >= 0.25 * ink_h / max(1, len(starts))]
        if tall:
            line_h = float(np.median(tall)) if len(tall) > 1 else ink_h
    factor = min(4.0, max(0.5, target / max(line_h, 1.0)))
    m = 3  # keep a little paper round the writing
    cx0, cy0 = max(0, x0 + bx0 - m), max(0, y0 + by0 - m)
    cx1, cy1 = min(ink.shape[1], x0 + bx1 + m), min(ink.shape[0], y0 + by1 + m)
    crop = norm.crop((cx0, cy0, cx1, cy1))
    crop = crop.resize((max(1, round(crop.width * factor)), max(1, round(crop.height * factor))),
                       Image.Resampling.LANCZOS if factor > 1 else Image.Resampling.BOX)
    binary = threshold_crop(crop)
    binary = despeckle(binary) if factor >= 1.5 else binary
    mask = np.asarray(binary) < 128
    # whiten what the page-level mask knew to be rules; a tight crop cannot tell a
    # rule from the stem of a '1' by itself
    rx0, ry0 = cx0 - x0, cy0 - y0
    rule_crop = rules[ry0:ry0 + (cy1 - cy0), rx0:rx0 + (cx1 - cx0)]
    if rule_crop.any():
        up = Image.fromarray(rule_crop.astype(np.uint8) * 255, "L").resize(
            (mask.shape[1], mask.shape[0]), Image.Resampling.NEAREST)
        mask = mask & ~(np.asarray(up) > 0)
    out_arr = np.where(mask, 0, 255).astype(np.uint8)
    pad = 16
    out = Image.new("L", (out_arr.shape[1] + 2 * pad, out_arr.shape[0] + 2 * pad), 255)
    out.paste(Image.fromarray(out_arr, "L"), (pad, pad))
    return out, [x0 + bx0, y0 + by0, x0 + bx1, y0 + by1]


def clear_edges(mask: np.ndarray, band: float = 0.15, share: float = 0.3) -> np.ndarray:
    """Drop broken or slanted rule remnants that hug a cell's edges: rows and columns
    in the outer ``band`` of the cell that are inked over ``share`` of their length."""
    h, w = mask.shape
    out = mask.copy()
    bw, bh = max(1, int(band * w)), max(1, int(band * h))
    col = out.mean(axis=0)
    for xs in (slice(0, bw), slice(w - bw, w)):
        idx = np.arange(w)[xs]
        out[:, idx[col[xs] >= share]] = False
    row = out.mean(axis=1)
    for ys in (slice(0, bh), slice(h - bh, h)):
        idx = np.arange(h)[ys]
        out[idx[row[ys] >= share], :] = False
    return out


def _runs(on: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs of True, joining runs separated by fewer than ``gap`` False values."""
    idx = np.nonzero(on)[0]
    if len(idx) == 0:
        return []
    cuts = np.nonzero(np.diff(idx) > gap)[0]
    starts = np.concatenate([[idx[0]], idx[cuts + 1]])
    ends = np.concatenate([idx[cuts], [idx[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def main_line(mask: np.ndarray, box, min_px: int):
    """Within ``box``, the band of rows carrying the most ink (one line of writing),
    and within it the run of columns carrying the most ink; stray marks, dots and
    rule remnants above, below or beside the writing are left out."""
    bx0, by0, bx1, by1 = box
    sub = mask[by0:by1, bx0:bx1]
    rows = sub.sum(axis=1)
    bands = _runs(rows >= min_px, gap=max(2, int(0.08 * sub.shape[0])))
    if not bands:
        return None
    a, b = max(bands, key=lambda r: rows[r[0]:r[1]].sum())
    line = sub[a:b]
    cols = line.sum(axis=0)
    spans = _runs(cols >= 1, gap=max(3, int(0.9 * (b - a))))
    if not spans:
        return None
    c, d = max(spans, key=lambda r: cols[r[0]:r[1]].sum())
    return (bx0 + c, by0 + a, bx0 + d, by0 + b)
