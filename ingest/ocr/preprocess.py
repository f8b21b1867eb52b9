"""Cleaning a grayscale page before layout analysis and recognition.

Order matters (measured): even out the light, find and remove the skew, then
binarise against the local background; despeckle and upscale per crop, just
before recognition, where it is cheap.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

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


def reduce_resolution(gray: Image.Image, dpi: float | None) -> tuple[Image.Image, float | None, float]:
    """Bring very fine scans down to MAX_WORK_DPI; returns (image, dpi, scale applied)."""
    if dpi and dpi > MAX_WORK_DPI:
        scale = TARGET_DPI / dpi
        w, h = gray.size
        return gray.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                           Image.Resampling.BOX), TARGET_DPI, scale
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
