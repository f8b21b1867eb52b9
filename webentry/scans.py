"""Scanned pages: checked on upload, stored once by content hash, shown, and read by OCR.

Files live in the work folder::

    WORK/scans/ab/ab12…ef.jpg         the page as uploaded (a TIFF frame as its own file)
    WORK/scans/ab/ab12…ef.view.jpg    what the browser shows, when the original will not do
                                      (TIFF, or larger than VIEW_MAX_SIDE)
    WORK/scans/ab/ab12…ef.thumb.jpg   the thumbnail

An upload is checked by its content, never by its name or the content type the browser
claims: JPEG, PNG or TIFF that Pillow can decode, within the byte and pixel limits. A PDF
renamed ``.jpg`` is refused with a reason; so is a 40,000 x 40,000 image. Multi-page TIFF
files become one page per frame. Every limit is checked from the file's headers before a
pixel is decoded: ``MAX_SCAN_PIXELS`` per page (frame), ``MAX_SCAN_FRAMES`` frames per file
and ``MAX_UPLOAD_PIXELS`` for all the files of one upload together. At most two uploads
convert at once (``CONVERT_SLOTS``); another waits up to 20 s and is then told the server
is busy, so a request thread is never held for minutes.

OCR suggestions (``ingest.ocr.ocr_pages``) are cached on the scan row by hash: the same
page uploaded twice is read once.
"""

from __future__ import annotations

import hashlib
import io
import logging
import queue
import re
import threading
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select

from webentry import audit
from webentry.models import Book, Page, Scan

log = logging.getLogger("mgr_ingest.web.scans")

FORMATS = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "MPO": "jpg"}
MAGIC = [(b"%PDF", _l("a PDF document")), (b"PK\x03\x04", _l("a ZIP archive (or an Office document)")),
         (b"GIF8", _l("a GIF image")), (b"BM", _l("a BMP image")), (b"RIFF", _l("a WebP image or other RIFF file"))]


class ScanRejected(ValueError):
    """An uploaded file that cannot be a page; the message names the file and the reason."""


@dataclass
class Limits:
    max_bytes: int
    max_pixels: int
    view_max_side: int
    thumb_side: int
    max_frames: int = 200
    max_upload_pixels: int = 2_000_000_000

    @classmethod
    def from_config(cls, cfg) -> Limits:
        return cls(cfg["MAX_SCAN_BYTES"], cfg["MAX_SCAN_PIXELS"], cfg["VIEW_MAX_SIDE"], cfg["THUMB_SIDE"],
                   cfg["MAX_SCAN_FRAMES"], cfg["MAX_UPLOAD_PIXELS"])


# Converting pages (decoding, TIFF frames, view images, thumbnails) is the one heavy step of a
# request. At most this many uploads convert at once; a request that cannot start within
# CONVERT_WAIT_SECONDS is answered "busy" instead of holding a thread in a queue.
CONVERT_SLOTS = threading.BoundedSemaphore(2)
CONVERT_WAIT_SECONDS = 20.0


class ServerBusy(RuntimeError):
    """Every conversion slot is taken: the upload is refused, nothing was stored."""


def _frame_sizes(img: Image.Image, cap: int) -> list[tuple[int, int]]:
    """The pixel size of each frame, read from the headers only (no pixel is decoded); stops
    once ``cap`` + 1 frames are seen."""
    sizes = []
    try:
        while len(sizes) <= cap:
            img.seek(len(sizes))
            sizes.append(img.size)
    except EOFError:
        pass
    img.seek(0)
    return sizes


def scans_root(work: Path) -> Path:
    return Path(work) / "scans"


def _what_is_it(data: bytes) -> str:
    for magic, what in MAGIC:
        if data.startswith(magic):
            return what
    if not data.strip():
        return _("an empty file")
    return _("not an image Pillow can read")


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    elif img.mode == "F":
        img = img.convert("L")
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    return img


def _frames(name: str, data: bytes, limits: Limits) -> list[tuple[str, bytes, str]]:
    """(page name, bytes to store, format) per page of one uploaded file; raises ScanRejected."""
    if len(data) > limits.max_bytes:
        raise ScanRejected(_("%(name)s: %(size)s MB is more than the %(limit)s MB a page may have", name=name,
                             size=round(len(data) / 1e6), limit=round(limits.max_bytes / 1e6)))
    try:
        with warnings.catch_warnings():
            # The limits are ours (below, from the headers); Pillow's warning threshold is not.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise ScanRejected(_("%(name)s: the image has too many pixels to be a scanned page", name=name)) from None
        raise ScanRejected(_("%(name)s: not a JPEG, PNG or TIFF image (%(what)s)", name=name,
                             what=str(_what_is_it(data)))) from None
    except Exception as exc:  # damaged headers raise all sorts
        raise ScanRejected(_("%(name)s: the image cannot be read (%(error)s)", name=name,
                             error=type(exc).__name__)) from None
    if fmt not in FORMATS:
        raise ScanRejected(_("%(name)s: %(format)s images are not accepted; upload JPEG, PNG or TIFF", name=name,
                             format=fmt))
    w, h = img.size
    if w * h > limits.max_pixels:
        raise ScanRejected(_("%(name)s: %(w)s x %(h)s pixels is more than the %(limit)s megapixels a page may have",
                             name=name, w=w, h=h, limit=round(limits.max_pixels / 1e6)))
    if fmt == "TIFF":
        try:
            sizes = _frame_sizes(img, limits.max_frames)
        except Exception as exc:  # a damaged frame directory
            raise ScanRejected(_("%(name)s: the TIFF's frames cannot be read (%(error)s)", name=name,
                                 error=type(exc).__name__)) from None
        if len(sizes) > limits.max_frames:
            raise ScanRejected(_("%(name)s: more than %(n)s pages in one TIFF file; split it", name=name,
                                 n=limits.max_frames))
        for i, (fw, fh) in enumerate(sizes):
            if fw * fh > limits.max_pixels:
                raise ScanRejected(_("%(name)s frame %(frame)s: %(w)s x %(h)s pixels is more than the %(limit)s "
                                     "megapixels a page may have", name=name, frame=i + 1, w=fw, h=fh,
                                     limit=round(limits.max_pixels / 1e6)))
        total = sum(fw * fh for fw, fh in sizes)
    else:
        sizes, total = [(w, h)], w * h
    if total > limits.max_upload_pixels:
        raise ScanRejected(_("%(name)s: %(total)s megapixels in all is more than the %(limit)s one upload may have",
                             name=name, total=round(total / 1e6), limit=round(limits.max_upload_pixels / 1e6)))
    n = len(sizes)
    if n == 1:
        _decode(name, img)
        return [(name, data, "JPEG" if fmt == "MPO" else fmt)]
    out = []
    for i in range(n):
        img.seek(i)
        fw, fh = img.size
        if fw * fh > limits.max_pixels:
            raise ScanRejected(_("%(name)s frame %(frame)s: %(w)s x %(h)s pixels is too large for a page", name=name,
                                 frame=i + 1, w=fw, h=fh))
        frame = img.copy()
        _decode(_("%(name)s frame %(frame)s", name=name, frame=i + 1), frame)
        buf = io.BytesIO()
        frame.save(buf, format="TIFF", compression="tiff_lzw")
        out.append((f"{name} [{i + 1}/{n}]", buf.getvalue(), "TIFF"))
    return out


def _decode(name: str, img: Image.Image) -> None:
    try:
        img.load()
    except Exception as exc:
        raise ScanRejected(_("%(name)s: the image is damaged and cannot be decoded (%(error)s)", name=name,
                             error=type(exc).__name__)) from None


def _derived(img: Image.Image, side: int) -> Image.Image:
    img = _rgb(ImageOps.exif_transpose(img) if img.format == "JPEG" else img)
    copy = img.copy()
    copy.thumbnail((side, side))
    return copy


def store_scan(session, work: Path, data: bytes, fmt: str, limits: Limits) -> Scan:
    """The scan row for these bytes, writing the files the first time they are seen."""
    sha = hashlib.sha256(data).hexdigest()
    found = session.get(Scan, sha)
    if found is not None:
        return found
    root = scans_root(work)
    folder = root / sha[:2]
    folder.mkdir(parents=True, exist_ok=True)
    ext = FORMATS[fmt]
    rel = f"{sha[:2]}/{sha}.{ext}"
    target = root / rel
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    img = Image.open(io.BytesIO(data))
    w, h = img.size
    view_rel = rel
    vw, vh = w, h
    if fmt == "TIFF" or max(w, h) > limits.view_max_side:
        view = _derived(img, limits.view_max_side) if max(w, h) > limits.view_max_side else _rgb(img)
        vw, vh = view.size
        view_rel = f"{sha[:2]}/{sha}.view.jpg"
        view.save(root / view_rel, format="JPEG", quality=88)
    thumb_rel = f"{sha[:2]}/{sha}.thumb.jpg"
    _derived(img, limits.thumb_side).save(root / thumb_rel, format="JPEG", quality=80)
    scan = Scan(sha256=sha, format=fmt, width=w, height=h, size=len(data), path=rel, view_path=view_rel,
                view_width=vw, view_height=vh, thumb_path=thumb_rel, created_at=datetime.now(UTC), ocr=None,
                ocr_status="pending")
    session.add(scan)
    session.flush()
    return scan


def upload_name(name: str | None) -> str:
    """The name an uploaded file is shown by: its last path part only (a browser may send
    ``C:\\scans\\p1.jpg`` or ``../../p1.jpg``), without control characters, at most 200
    characters. It is only ever shown: the stored file is named by its content hash."""
    text = re.split(r"[/\\]", name or "")[-1]
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    if text in ("", ".", ".."):
        return "upload"
    return text[:200]


def add_pages(session, work: Path, book: Book, uploads: list[tuple[str, bytes]], actor: str,
              limits: Limits) -> tuple[list[Page], list[str]]:
    """Add the uploaded files as the book's next pages; return (pages added, problems).

    A file that is refused does not stop the others; the same content twice in one book is
    noted and not added again.
    """
    if not CONVERT_SLOTS.acquire(timeout=CONVERT_WAIT_SECONDS):
        raise ServerBusy(_("other uploads are being converted; try again in a minute"))
    try:
        return _add_pages(session, work, book, uploads, actor, limits)
    finally:
        CONVERT_SLOTS.release()


def _upload_pixels(data: bytes) -> int:
    """The pixels of every frame of one file, from its headers (0 when it cannot be read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format == "TIFF":
                return sum(w * h for w, h in _frame_sizes(img, 10_000))
            return img.size[0] * img.size[1]
    except Exception:
        return 0


def _add_pages(session, work: Path, book: Book, uploads: list[tuple[str, bytes]], actor: str,
               limits: Limits) -> tuple[list[Page], list[str]]:
    problems: list[str] = []
    added: list[Page] = []
    seq = session.scalar(select(func.max(Page.seq)).where(Page.book_id == book.id)) or 0
    budget = limits.max_upload_pixels
    for raw_name, data in uploads:
        name = upload_name(raw_name)
        pixels = _upload_pixels(data)
        if pixels > budget:
            problems.append(_("%(name)s: not converted: this upload has more than %(limit)s megapixels in all; "
                              "upload the rest separately", name=name,
                              limit=round(limits.max_upload_pixels / 1e6)))
            continue
        try:
            frames = _frames(name, data, limits)
        except ScanRejected as exc:
            problems.append(str(exc))
            continue
        budget -= pixels
        for page_name, page_bytes, fmt in frames:
            try:
                scan = store_scan(session, work, page_bytes, fmt, limits)
            except Exception as exc:  # a file that passed the checks but still fails: one line
                problems.append(_("%(name)s: could not be stored (%(error)s)", name=page_name, error=type(exc).__name__))
                continue
            already = session.scalar(select(Page.seq).where(Page.book_id == book.id,
                                                            Page.scan_sha256 == scan.sha256))
            if already is not None:
                problems.append(_("%(name)s: the same image is already page %(page)s of this book", name=page_name,
                                  page=already))
                continue
            seq += 1
            page = Page(book_id=book.id, seq=seq, scan_sha256=scan.sha256, file_name=page_name[:300],
                        uploaded_by=actor, uploaded_at=datetime.now(UTC))
            session.add(page)
            session.flush()
            added.append(page)
    audit.write(session, "pages_uploaded", actor=actor, entry_number=book.entry_number, target=f"book:{book.id}",
                new={"pages": [p.seq for p in added], "refused": len(problems)})
    return added, problems


# --------------------------------------------------------------------------- OCR

def run_ocr_for_book(sessions, work: Path, book_id: int) -> dict:
    """Read the pages of a book that have no OCR result yet, in book order, and cache the
    suggestions on their scans. Returns counts."""
    from ingest.ocr import recognise
    from ingest.ocr.pipeline import ocr_pages

    with sessions() as session:
        rows = session.execute(select(Page.seq, Scan.sha256, Scan.path).join(Scan, Scan.sha256 == Page.scan_sha256)
                               .where(Page.book_id == book_id, Scan.ocr_status == "pending")
                               .order_by(Page.seq)).all()
    todo: list[tuple[str, str]] = []
    for _seq, sha, rel in rows:
        if sha not in {s for s, _ in todo}:
            todo.append((sha, rel))
    if not todo:
        return {"read": 0}
    root = scans_root(work)
    status, results, message = "done", [], None
    try:
        out = ocr_pages([root / rel for _sha, rel in todo])
        results = out["pages"]
        thresholds = out.get("prefill_threshold")
    except recognise.OcrUnavailable as exc:
        status, message, thresholds = "unavailable", str(exc), None
    except Exception as exc:  # never let the worker die on one book
        log.warning("OCR of book %s failed: %s", book_id, type(exc).__name__)
        status, message, thresholds = "failed", type(exc).__name__, None
    with sessions() as session, session.begin():
        for i, (sha, _rel) in enumerate(todo):
            scan = session.get(Scan, sha)
            if status == "done" and i < len(results):
                scan.ocr = {**results[i], "prefill_threshold": thresholds}
                scan.ocr_status = "done"
            else:
                scan.ocr = {"message": message} if message else None
                scan.ocr_status = status if status != "done" else "failed"
            scan.ocr_at = datetime.now(UTC)
    return {"read": len(todo), "status": status}


class OcrWorker:
    """One background thread that reads books' new pages, one book at a time."""

    def __init__(self, sessions, work: Path):
        self.sessions = sessions
        self.work = work
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, book_id: int) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="mgr-ocr", daemon=True)
                self.thread.start()
        self.queue.put(book_id)

    def _run(self) -> None:
        while True:
            book_id = self.queue.get()
            try:
                run_ocr_for_book(self.sessions, self.work, book_id)
            except Exception:
                log.exception("OCR worker: book %s", book_id)
            finally:
                self.queue.task_done()

    def wait(self, timeout: float = 60.0) -> None:
        """For tests: block until the queue is empty (or the timeout passes)."""
        import time

        end = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.05)


def _default_thresholds() -> dict:
    from ingest.ocr.pipeline import PREFILL_THRESHOLD

    return dict(PREFILL_THRESHOLD)


def _this_scan(message: str, scan: Scan) -> str:
    name = Path(scan.path).name
    return message.replace(name + ": ", "this scan: ").replace(name, "this scan")


def page_suggestions(scan: Scan, source_code: str) -> dict:
    """The OCR suggestions of one page in the shape the entry screen uses, boxes scaled to
    the image the browser shows."""
    from webentry.layout import OCR_ROLES

    ocr = scan.ocr or {}
    scale = scan.view_width / scan.width if scan.width else 1.0

    def box(b):
        return [round(v * scale) for v in b] if b else None

    def item(s):
        if not s or s.get("value") in (None, ""):
            return None
        return {"value": str(s["value"]), "confidence": float(s.get("confidence") or 0.0), "box": box(s.get("box")),
                "source": s.get("source")}

    rows = []
    for r in ocr.get("rows") or []:
        dates = {}
        for d in r.get("dates") or []:
            v = str(d.get("value") or "")
            if len(v) == 10 and v[4] == "-" and v[7] == "-":  # ISO from OCR -> YYYYMMDD as keyed
                v = v.replace("-", "")
            dates[d.get("role") or "date"] = {"value": v, "confidence": float(d.get("confidence") or 0.0),
                                             "box": box(d.get("box")), "source": d.get("source")}
        rows.append({"entry_number": item(r.get("entry_number")), "dates": dates, "band": box(r.get("band"))})
    roles = OCR_ROLES.get(source_code, {})
    return {
        "status": scan.ocr_status,
        "message": (ocr.get("message") if scan.ocr_status != "done" else None),
        "page_number": item(ocr.get("page_number")),
        "heading_year": item(ocr.get("heading_year")),
        "rows": rows,
        # The pipeline names the file it read; here that is a hash, so say "this scan".
        # OCR notes for the transcriber: only what is likely right about the scan itself (a
        # page out of sequence, a turned or low-resolution scan), never the OCR's doubts about
        # single readings ("reads 589, expected 55"), which are mostly its own misreadings
        "findings": [{"code": f.get("code"), "severity": f.get("severity"),
                      "message": _this_scan(str(f.get("message") or ""), scan)}
                     for f in ocr.get("findings") or [] if f.get("severity") in ("warning", "error")
                     and f.get("code") not in ("OCR_ENTRY_SEQUENCE", "OCR_DATE_SEQUENCE")],
        "threshold": ocr.get("prefill_threshold") or _default_thresholds(),
        "roles": roles,
    }
