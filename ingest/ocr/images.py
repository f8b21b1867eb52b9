"""Loading scanned pages safely.

Every input file becomes one or more ``LoadedPage`` (one per frame of a
multi-page TIFF). Nothing here raises for a bad file: a page that cannot be used
carries a finding instead of an image. Size is checked from the header before
any pixel is decoded, so a 40,000 x 40,000 image costs no memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence

# Limits. A church-book spread scanned at 600 dpi is about 12,000 x 9,000 pixels
# (108 Mpx); anything beyond 120 Mpx per frame is refused.
MAX_PIXELS = 120_000_000
MAX_FILE_BYTES = 400 * 1024 * 1024
MAX_FRAMES = 400
MIN_SIDE = 200  # smaller than this cannot hold a page at any useful resolution

ACCEPTED_FORMATS = {"JPEG", "PNG", "TIFF", "MPO"}

_MAGIC = [
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "BigTIFF"),
    (b"MM\x00+", "BigTIFF"),
    (b"%PDF", "PDF"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"PK\x03\x04", "ZIP"),
]


def finding(code: str, severity: str, message: str) -> dict:
    return {"code": code, "severity": severity, "message": message}


@dataclass
class LoadedPage:
    file: str
    frame: int | None = None  # frame index for multi-page TIFFs, else None
    image: Image.Image | None = None  # 8-bit grayscale ('L'), upright as far as EXIF says
    dpi: float | None = None
    findings: list[dict] = field(default_factory=list)


def sniff(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _dpi_of(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    try:
        x = float(dpi[0]) if isinstance(dpi, (tuple, list)) else float(dpi)
    except (TypeError, ValueError, IndexError):
        return None
    # 72 and 96 are what software writes when it does not know; treat them as unknown
    if not (100 <= x <= 1200):
        return None
    return x


def to_gray(im: Image.Image) -> Image.Image:
    """8-bit grayscale, whatever the source mode (16-bit, float, palette, alpha, CMYK)."""
    if im.mode == "L":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = np.percentile(arr, [0.5, 99.5]) if arr.size else (0.0, 1.0)
        scaled = np.clip((arr - lo) * (255.0 / max(hi - lo, 1e-9)), 0, 255)
        return Image.fromarray(scaled.astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return im.convert("L")


def is_blank(gray: Image.Image) -> bool:
    """True when the page holds (almost) no ink: no dark marks against its own paper."""
    small = gray.copy()
    small.thumbnail((600, 600))
    arr = np.asarray(small, dtype=np.int16)
    paper = np.percentile(arr, 90)
    dark = arr < paper - 60
    return float(dark.mean()) < 0.0015


def _frame_page(name: str, index: int | None, frame: Image.Image) -> LoadedPage:
    label = name if index is None else f"{name} (frame {index + 1})"
    page = LoadedPage(file=name, frame=index)
    w, h = frame.size
    if w * h > MAX_PIXELS:
        page.findings.append(finding(
            "OCR_IMAGE_TOO_LARGE", "error",
            f"{label}: {w} x {h} pixels is over the limit of {MAX_PIXELS // 1_000_000} million; "
            "the page was not decoded (scan at a lower resolution or split it)"))
        return page
    if min(w, h) < MIN_SIDE:
        page.findings.append(finding(
            "OCR_IMAGE_TOO_SMALL", "error", f"{label}: {w} x {h} pixels is too small to be a scanned page"))
        return page
    try:
        frame.load()
        upright = ImageOps.exif_transpose(frame) if index is None else frame
        gray = to_gray(upright)
        if gray is frame:  # keep a copy: the next frame of a TIFF reuses this object
            gray = frame.copy()
        gray.load()
    except Exception as exc:  # a damaged file can fail in many ways inside the decoders
        page.findings.append(finding(
            "OCR_UNREADABLE", "error", f"{label}: the image data could not be decoded ({type(exc).__name__})"))
        return page
    page.image = gray
    page.dpi = _dpi_of(frame)
    if is_blank(gray):
        page.findings.append(finding("OCR_EMPTY_PAGE", "warning", f"{label}: the page is empty (no ink found)"))
    return page


def load_pages(path: Path | str) -> list[LoadedPage]:
    """Decode one file into pages; never raises."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        return [LoadedPage(name, findings=[finding(
            "OCR_UNREADABLE", "error", f"{name}: the file could not be read ({type(exc).__name__})")])]
    if size == 0:
        return [LoadedPage(name, findings=[finding("OCR_UNREADABLE", "error", f"{name}: the file is empty")])]
    if size > MAX_FILE_BYTES:
        return [LoadedPage(name, findings=[finding(
            "OCR_IMAGE_TOO_LARGE", "error",
            f"{name}: the file is {size // (1024 * 1024)} MiB, over the limit of "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MiB")])]
    kind = sniff(head)
    if kind == "PDF":
        return [LoadedPage(name, findings=[finding(
            "OCR_NOT_AN_IMAGE", "error",
            f"{name}: the file is a PDF, not a scanned image; export its pages as TIFF, PNG or JPEG")])]
    if kind not in ("JPEG", "PNG", "TIFF"):
        what = f"a {kind} file" if kind else "not a JPEG, PNG or TIFF image"
        return [LoadedPage(name, findings=[finding(
            "OCR_NOT_AN_IMAGE", "error", f"{name}: the file is {what}; only JPEG, PNG and TIFF are read")])]

    pages: list[LoadedPage] = []
    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_PIXELS
            try:
                im = Image.open(path)  # reads the header only
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                return [LoadedPage(name, findings=[finding(
                    "OCR_IMAGE_TOO_LARGE", "error",
                    f"{name}: the image is over the limit of {MAX_PIXELS // 1_000_000} million pixels; "
                    "the page was not decoded")])]
            except Exception as exc:
                return [LoadedPage(name, findings=[finding(
                    "OCR_UNREADABLE", "error",
                    f"{name}: the {kind} header could not be read ({type(exc).__name__})")])]
            with im:
                if im.format not in ACCEPTED_FORMATS:
                    return [LoadedPage(name, findings=[finding(
                        "OCR_NOT_AN_IMAGE", "error", f"{name}: unsupported image format {im.format}")])]
                n_frames = getattr(im, "n_frames", 1)
                if im.format == "TIFF" and n_frames > 1:
                    for i, frame in enumerate(ImageSequence.Iterator(im)):
                        if i >= MAX_FRAMES:
                            pages.append(LoadedPage(name, frame=i, findings=[finding(
                                "OCR_TOO_MANY_FRAMES", "error",
                                f"{name}: only the first {MAX_FRAMES} frames are read")]))
                            break
                        try:
                            pages.append(_frame_page(name, i, frame))
                        except Exception as exc:
                            pages.append(LoadedPage(name, frame=i, findings=[finding(
                                "OCR_UNREADABLE", "error",
                                f"{name} (frame {i + 1}): could not be decoded ({type(exc).__name__})")]))
                else:
                    pages.append(_frame_page(name, None, im))
    except Exception as exc:
        pages.append(LoadedPage(name, findings=[finding(
            "OCR_UNREADABLE", "error", f"{name}: the image could not be decoded ({type(exc).__name__})")]))
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    return pages
