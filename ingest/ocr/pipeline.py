"""Scanned pages in, suggestions out.

``ocr_pages(paths)`` reads each page (every frame of a multi-page TIFF), finds the
form's table, reads the page number, and per row band the entry number and the
dates, then fits the readings to the book's sequences (see ``sequence``). It
never raises for a bad page: such a page gets a finding and the others are read.

Findings carry a code, a severity and a message naming the file and what was
wrong; they never quote recognised text other than page and entry numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import fields, layout, preprocess, recognise
from .images import LoadedPage, finding, load_pages
from .sequence import Candidate, DateReading, Suggestion, fit_chain, fuse, longest_rising, resolve_numbers

# A suggestion at or above this confidence is prefilled in the entry screen;
# below it, it is only offered. Chosen from the benchmark (see README).
PREFILL_THRESHOLD = {"page_number": 0.90, "entry_number": 0.90, "date": None}

# An entry number read without a neighbour that agrees is never prefilled: on the
# real church-book crops Tesseract's own confidence of 0.9 and above was right
# only half to three quarters of the time (see the benchmark).
ENTRY_ALONE_CAP = 0.85

OSD_MIN_CONF = 2.0  # Tesseract orientation confidence needed before a page is turned


@dataclass
class PageRead:
    """Everything read off one page before the sequence step."""
    file: str
    frame: int | None
    index: int  # position in the input order (0-based)
    ok: bool = False
    findings: list[dict] = field(default_factory=list)
    page_cands: list[Candidate] = field(default_factory=list)
    heading: fields.Heading | None = None
    rows: list[dict] = field(default_factory=list)  # {"entry": [Candidate], "dates": [DateReading]}
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return self.file if self.frame is None else f"{self.file} (frame {self.frame + 1})"


class _Geometry:
    """Maps boxes on the prepared (reduced, deskewed, maybe turned) page back to the scan."""

    def __init__(self, size_src: tuple[int, int], scale: float, angle: float, turned: int):
        self.w, self.h = size_src
        self.scale = scale
        self.angle = angle
        self.turned = turned  # 0 or 180 (degrees the source was turned before reading)

    def to_source(self, box) -> list[int] | None:
        if box is None:
            return None
        ws, hs = self.w * self.scale, self.h * self.scale
        cx, cy = ws / 2, hs / 2
        a = math.radians(self.angle)  # the content was turned by +angle in the scan
        pts = []
        for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
            dx, dy = x - cx, y - cy
            nx = cx + dx * math.cos(a) + dy * math.sin(a)
            ny = cy - dx * math.sin(a) + dy * math.cos(a)
            if self.turned == 180:
                nx, ny = ws - nx, hs - ny
            pts.append((nx / self.scale, ny / self.scale))
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return [max(0, int(min(xs))), max(0, int(min(ys))), min(self.w, int(math.ceil(max(xs)))),
                min(self.h, int(math.ceil(max(ys))))]


# --------------------------------------------------------------------------- crops

def _cell(norm: Image.Image, ink: np.ndarray, box, inset: int, target: float, multiline: bool = False,
          ruled: bool = True):
    return preprocess.cell_image(norm, ink, box, inset, target, multiline, ruled)


def _orientation(engine, norm: Image.Image) -> tuple[int, float]:
    """(degrees to turn clockwise to make the page upright, confidence) from Tesseract OSD."""
    small = norm.copy()
    small.thumbnail((1400, 1400))
    try:
        if isinstance(engine, recognise.TesserocrEngine):
            import tesserocr

            api = engine._apis.get("__osd__")
            if api is None:
                api = tesserocr.PyTessBaseAPI(path=engine.tessdata, lang="osd", psm=tesserocr.PSM.OSD_ONLY)
                engine._apis["__osd__"] = api
            api.SetImage(small)
            r = api.DetectOrientationScript()
            api.Clear()
            if not r:
                return 0, 0.0
            return int(r["orient_deg"]), float(r["orient_conf"])
        import pytesseract

        r = pytesseract.image_to_osd(small, config="--psm 0", output_type=pytesseract.Output.DICT, timeout=30)
        return int(r.get("orientation", 0)), float(r.get("orientation_conf", 0.0))
    except Exception:
        return 0, 0.0


# --------------------------------------------------------------------------- one page

def read_page(lp: LoadedPage, index: int, engine) -> PageRead:
    pr = PageRead(lp.file, lp.frame, index, findings=list(lp.findings))
    if lp.image is None or any(f["code"] == "OCR_EMPTY_PAGE" for f in lp.findings):
        return pr
    t0 = time.perf_counter()
    src = lp.image
    norm, ink, angle, dpi, scale = preprocess.prepare_page(src, lp.dpi)
    turned = 0
    lay = layout.analyse(ink)
    if lay.table is None or len(lay.rows) == 0:
        deg, conf = _orientation(engine, norm)
        if deg == 180 and conf >= OSD_MIN_CONF:
            turned = 180
    else:
        # a table was found; still, a page can be upside down with its table intact:
        # the printed heading and page number then sit below the table, not above it
        x0, y0, x1, y1 = lay.table
        above = ink[: max(1, y0 - 5)].mean() if y0 > 5 else 0.0
        below = ink[min(ink.shape[0] - 1, y1 + 5):].mean() if y1 + 5 < ink.shape[0] else 0.0
        if below > 3 * max(above, 1e-4) and below > 0.002:
            # the layout already points to a turned page: a weaker OSD vote is enough
            deg, conf = _orientation(engine, norm)
            if deg == 180 and conf >= 0.3:
                turned = 180
    if turned:
        norm = norm.rotate(180)
        ink = ink[::-1, ::-1].copy()
        lay = layout.analyse(ink)
        pr.findings.append(finding("OCR_UPSIDE_DOWN", "warning",
                                   f"{pr.label}: the page is upside down in the scan; it was read turned"))
    geo = _Geometry(src.size, scale, angle, turned)
    if abs(angle) > 3.5:
        pr.findings.append(finding("OCR_SKEWED", "info", f"{pr.label}: the scan is skewed by {angle:.1f} degrees"))
    if dpi is not None and dpi < 150:
        pr.findings.append(finding("OCR_LOW_RESOLUTION", "warning",
                                   f"{pr.label}: scanned at {dpi:.0f} dpi; 300 dpi reads much better"))
    if lay.table is None:
        pr.findings.append(finding("OCR_NO_TABLE", "warning",
                                   f"{pr.label}: no ruled table found; only the page number was looked for"))
    # rule thickness and writing size, in pixels of the prepared page
    px_per_in = (dpi or (ink.shape[1] / 7.0))
    inset = max(2, int(px_per_in / 100))

    # --- page number: a short printed group in the outer part of the top strip;
    # the corners as a whole when no such group is found
    regions = lay.page_number_boxes or lay.corners
    crops = []
    for cb in regions:
        im, box = _cell(norm, ink, cb, 0, 40, ruled=not lay.page_number_boxes)
        if im is not None:
            crops.append((im, box))
    imgs = [im for im, _ in crops]
    mode = "digits" if lay.page_number_boxes else "sparse"
    for (im, box), found in zip(crops, _read_numbers(engine, imgs, mode, fields.parse_page_number)):
        pr.page_cands.extend(Candidate(v, c, geo.to_source(box)) for v, c in found)
    merged: dict[str, Candidate] = {}
    for c in pr.page_cands:
        if c.value not in merged or c.conf > merged[c.value].conf:
            merged[c.value] = c
    pr.page_cands = sorted(merged.values(), key=lambda c: c.conf, reverse=True)

    # --- heading: the form kind, sex and year of the section
    if lay.heading:
        im, _ = _cell(norm, ink, lay.heading, 0, 40, ruled=False)
        if im is not None:
            r = engine.read(im, "line")
            pr.heading = fields.parse_heading(r.text)
            if pr.heading.year:
                pr.heading.year_conf = max((w.conf for w in r.words if str(pr.heading.year) in w.text),
                                           default=0.0)

    if lay.table is not None and lay.rows:
        roles = _column_roles(engine, norm, ink, lay, pr.heading, inset)
        entry_col = next((c for c, r in zip(lay.columns, roles) if r == "entry"), None)
        date_cols = [(c, "date" if k == 0 else "date2")
                     for k, c in enumerate([c for c, r in zip(lay.columns, roles) if r == "date"][:2])]
        year_col = next((c for c, r in zip(lay.columns, roles) if r == "year"), None)
        entry_imgs, entry_idx, date_imgs, date_idx, year_imgs, year_idx = [], [], [], [], [], []
        for ri, (rx0, ry0, rx1, ry1) in enumerate(lay.rows):
            pr.rows.append({"entry": [], "dates": [], "band": geo.to_source((rx0, ry0, rx1, ry1))})
            if entry_col:
                im, box = _cell(norm, ink, (entry_col[0], ry0, entry_col[1], ry1), inset, 48)
                if im is not None:
                    entry_imgs.append(im)
                    entry_idx.append((ri, box))
            for col, role in date_cols:
                im, box = _cell(norm, ink, (col[0], ry0, col[1], ry1), inset, 44, multiline=True)
                if im is not None:
                    date_imgs.append(im)
                    date_idx.append((ri, role, box))
            if year_col:
                im, box = _cell(norm, ink, (year_col[0], ry0, year_col[1], ry1), inset, 48)
                if im is not None:
                    year_imgs.append(im)
                    year_idx.append(ri)
        for (ri, box), found in zip(entry_idx, _read_numbers(engine, entry_imgs, "entry", fields.parse_entry)):
            pr.rows[ri]["entry"].extend(Candidate(v, c, geo.to_source(box)) for v, c in found)
        # the cells located on each row (in scan coordinates): what the handwriting
        # recognisers read, and what staff-keyed values are cut from for training
        for ri, box in entry_idx:
            pr.rows[ri].setdefault("cells", {})["entry_number"] = geo.to_source(box)
        for ri, role, box in date_idx:
            if role == "date":
                pr.rows[ri].setdefault("cells", {})["date"] = geo.to_source(box)
        _read_handwriting(pr, norm, entry_idx, [(ri, box) for ri, role, box in date_idx if role == "date"])
        years: dict[int, tuple[int, float]] = {}
        for ri, r in zip(year_idx, engine.read_many(year_imgs, "digits")):
            t = r.text.replace(" ", "")
            if len(t) == 4 and t[:2] in ("17", "18", "19") and r.conf >= 0.6:
                years[ri] = (int(t), r.conf)
        for (ri, role, box), r in zip(date_idx, engine.read_many(date_imgs, "date")):
            p = fields.parse_date(r.text)
            if p:
                conf = r.conf * p.match
                year = None
                if p.year is None and ri in years:
                    year, year_conf = years[ri]
                    conf = min(conf, year_conf)
                pr.rows[ri]["dates"].append(DateReading(p, conf, geo.to_source(box), role, year=year))
    pr.ok = True
    pr.seconds = time.perf_counter() - t0
    return pr


def _htr_readers() -> dict:
    """The handwriting recognisers that are installed (none when their models are missing)."""
    try:
        from ingest.htr.runtime import CellReader, ModelMissing
    except ImportError:
        return {}
    out = {}
    for name in ("entry_number", "birth_date"):
        try:
            out[name] = CellReader.load(name)
        except (ModelMissing, ImportError, OSError):
            continue
    return out


def _read_handwriting(pr: PageRead, norm: Image.Image, entry_idx, date_idx) -> None:
    """The trained recognisers' reading of each row's entry-number and first date cell."""
    readers = _htr_readers()
    from ingest.htr.images import prepare

    for key, name, idx in (("htr_entry", "entry_number", entry_idx), ("htr_date", "birth_date", date_idx)):
        reader = readers.get(name)
        if reader is None or not idx:
            continue
        arrays = np.stack([prepare(norm.crop(tuple(int(v) for v in box)), name) for _ri, box in idx])
        year = pr.heading.year if pr.heading is not None else None
        for (ri, _box), cell in zip(idx, reader.read(arrays, given_year=year)):
            pr.rows[ri][key] = cell


def _on_pipeline_scale(conf: float, threshold: float) -> float:
    """A recogniser's confidence on the page pipeline's scale: its own calibrated threshold
    lands on the pipeline's prefill threshold, so either decides the same cells."""
    target = PREFILL_THRESHOLD["entry_number"]
    if threshold > 1:
        return conf * target * 0.99
    if conf >= threshold:
        return target + (1 - target) * (conf - threshold) / max(1e-9, 1 - threshold)
    return target * conf / threshold


def _merge_handwriting(reads, out_pages, order, sections) -> None:
    """Join the trained recognisers' readings to Tesseract's, row by row.

    Their candidates are re-ranked by the sequence prior over the rows of each section in
    order (``ingest.htr.runtime.apply_prior``); then per row the better supported reading
    stands: the same value from both is more certain, and where they differ the one with
    the higher confidence (on one scale) wins and the other becomes an alternative."""
    readers = _htr_readers()
    if not readers:
        return
    from ingest.htr.runtime import apply_prior

    for key, name in (("htr_entry", "entry_number"), ("htr_date", "birth_date")):
        if name not in readers:
            continue
        threshold = readers[name].threshold
        by_section: dict = {}
        for i, r in order:
            cell = reads[i].rows[r].get(key)
            if cell is not None:
                by_section.setdefault(sections[i], []).append((i, r, cell))
        for items in by_section.values():
            apply_prior(name, [c for _i, _r, c in items])
            for i, r, cell in items:
                if cell.value is None:
                    continue
                row = out_pages[i]["rows"][r]
                conf = round(_on_pipeline_scale(cell.confidence, threshold), 3)
                box = (row.get("cells") or {}).get("entry_number" if name == "entry_number" else "date")
                if name == "entry_number":
                    mine = {"value": cell.value, "confidence": conf, "box": box, "source": "htr"}
                    row["entry_number"] = _pick(row.get("entry_number"), mine)
                else:
                    if sections[i] is not None and sections[i][0] not in (None, "KBF"):
                        continue  # the date reader knows birth-date cells only
                    iso = f"{cell.value[:4]}-{cell.value[4:6]}-{cell.value[6:]}"
                    mine = {"value": iso, "confidence": conf, "box": box, "role": "date", "source": "htr"}
                    others = [d for d in row["dates"] if d.get("role") != "date"]
                    first = next((d for d in row["dates"] if d.get("role") == "date"), None)
                    # Tesseract's date readings are not calibrated (they are never prefilled):
                    # the recogniser's stands, Tesseract's is kept as an alternative
                    if first is not None and first["value"] != iso:
                        mine["alternatives"] = [{"value": first["value"], "confidence": first["confidence"]}]
                    elif first is not None:
                        mine["source"] = "ocr+htr"
                    row["dates"] = [mine] + others


def _pick(theirs: dict | None, mine: dict) -> dict:
    if theirs is None:
        return mine
    if theirs["value"] == mine["value"]:
        best = dict(theirs if theirs["confidence"] >= mine["confidence"] else mine)
        best["confidence"] = round(fuse(max(theirs["confidence"], mine["confidence"]), 0.3), 3)
        best["source"] = "ocr+htr"
        return best
    win, other = (theirs, mine) if theirs["confidence"] >= mine["confidence"] else (mine, theirs)
    win = dict(win)
    alts = [a for a in win.get("alternatives") or [] if a["value"] != other["value"]]
    win["alternatives"] = [{"value": other["value"], "confidence": other["confidence"]}] + alts[:2]
    return win


def _read_numbers(engine, imgs, mode: str, parse) -> list[list[tuple[str, float]]]:
    """Number readings per crop: (value, confidence) candidates, best first.

    The whitelisted read comes first. When it is unsure, the crop is read again
    without a whitelist: a whitelist forces a stray dot or tick into a digit and
    then reports a confidence of 0; read freely, such marks come out as
    punctuation and are dropped (at a small cost in confidence).
    """
    out: list[list[tuple[str, float]]] = [[] for _ in imgs]
    again = []
    for k, r in enumerate(engine.read_many(imgs, mode)):
        if mode == "sparse":
            for w in r.words:
                v = parse(w.text)
                if v:
                    out[k].append((v, w.conf))
        else:
            v = parse(r.text.replace(" ", ""))
            if v:
                out[k].append((v, r.conf))
        if not out[k] or max(c for _, c in out[k]) < 0.6:
            again.append(k)
    if again:
        for k, r in zip(again, engine.read_many([imgs[k] for k in again], "line")):
            text = re.sub(r"[.,:;'`\"|_\-]", "", r.text).replace(" ", "")
            v = parse(text)
            if v:
                out[k].append((v, 0.95 * r.conf))
    for k, found in enumerate(out):
        best: dict[str, float] = {}
        for v, c in found:
            best[v] = max(best.get(v, 0.0), c)
        out[k] = sorted(best.items(), key=lambda vc: vc[1], reverse=True)
    return out


def _column_roles(engine, norm, ink, lay: layout.Layout, heading, inset) -> list[str | None]:
    """Role of each column from its printed heading, else from the form's template."""
    roles: list[str | None] = [None] * len(lay.columns)
    if lay.header:
        hy0, hy1 = lay.header[1], lay.header[3]
        imgs, idx = [], []
        for k, (cx0, cx1) in enumerate(lay.columns):
            im, _ = _cell(norm, ink, (cx0, hy0, cx1, hy1), inset, 34, multiline=True)
            if im is not None:
                imgs.append(im)
                idx.append(k)
        for k, r in zip(idx, engine.read_many(imgs, "block")):
            roles[k] = fields.column_role(r.text.replace("-\n", "").replace("- ", ""))
    if "entry" not in roles or "date" not in roles:
        kind = heading.kind if heading else None
        template = fields.TEMPLATES.get(kind or "KBF")
        if len(template) == len(roles):
            roles = [r or t for r, t in zip(roles, template)] if any(roles) else list(template)
        elif "entry" not in roles and roles:
            roles[0] = "entry"
    return roles


# --------------------------------------------------------------------------- sequences

def _sections(reads: list[PageRead]) -> tuple[list[tuple | None], list[float]]:
    """Section key (form, sex, year) per page, and how sure the year is (0-1).

    Consecutive pages of the same form and sex are one run; the year printed in
    their headings is voted on (weighted by the recogniser's confidence), so one
    misread heading does not move its page to another year. Pages whose heading
    was not read join the run they stand in.
    """
    runs: list[list[int]] = []
    last_kind = None
    for i, pr in enumerate(reads):
        if not pr.ok:
            continue
        h = pr.heading
        kind = (h.kind, h.sex) if h and h.kind else last_kind
        if not runs or kind != last_kind:
            runs.append([])
        runs[-1].append(i)
        last_kind = kind
    keys: list[tuple | None] = [None] * len(reads)
    support = [0.0] * len(reads)
    for run in runs:
        votes: dict[int, float] = {}
        best_conf: dict[int, float] = {}
        kind = sex = None
        for i in run:
            h = reads[i].heading
            if h and h.kind:
                kind, sex = h.kind, h.sex
            if h and h.year:
                votes[h.year] = votes.get(h.year, 0.0) + max(h.year_conf, 0.05)
                best_conf[h.year] = max(best_conf.get(h.year, 0.0), h.year_conf)
        year = max(votes, key=votes.get) if votes else None
        sure = (votes[year] / sum(votes.values())) * best_conf[year] if year else 0.0
        for i in run:
            keys[i] = (kind, sex, year) if kind or year else None
            support[i] = sure
    return keys, support


def resolve(reads: list[PageRead]) -> list[dict]:
    out_pages = [{"file": pr.file, **({"frame": pr.frame} if pr.frame is not None else {}),
                  "page_number": None, "rows": [], "findings": list(pr.findings)} for pr in reads]
    ok = [i for i, pr in enumerate(reads) if pr.ok]

    # --- page numbers across the readable scans, in order
    obs = [[(int(c.value), c.conf) for c in reads[i].page_cands] for i in ok]
    cands = [reads[i].page_cands for i in ok]
    fitted = fit_chain(obs)
    results = resolve_numbers(cands, fitted, obs)
    prev_value = None
    for k, i in enumerate(ok):
        sugg, status = results[k]
        page = out_pages[i]
        page["page_number"] = sugg.as_dict() if sugg else None
        scan_no = i + 1
        top = cands[k][0] if cands[k] else None
        if sugg is None:
            page["findings"].append(finding("OCR_NO_PAGE_NUMBER", "info",
                                            f"scan {scan_no} ({reads[i].label}): no page number read"))
        elif status == "disagree" and top is not None:
            page["findings"].append(finding(
                "OCR_PAGE_SEQUENCE", "warning",
                f"scan {scan_no} ({reads[i].label}) reads page {top.value}, expected {fitted[k]}: "
                "the reading may be wrong or the page misnumbered"))
        if fitted[k] is not None and prev_value is not None and fitted[k] != prev_value + 1:
            gap = fitted[k] - prev_value - 1
            why = (f"{gap} page{'s' if gap > 1 else ''} may be missing from the scan or misnumbered" if gap > 0
                   else "a page may be scanned twice or the scans are out of order")
            page["findings"].append(finding(
                "OCR_PAGE_SEQUENCE", "warning",
                f"scan {scan_no} ({reads[i].label}) reads page {fitted[k]}, expected {prev_value + 1}: {why}"))
        if fitted[k] is not None:
            prev_value = fitted[k]

    # --- entry numbers and dates, per section
    sections, year_support = _sections(reads)
    for i in ok:
        # the year the page's heading prints (voted over its run of pages): the entry screen
        # proposes it as the first record's registration year
        if sections[i] is not None and sections[i][2] is not None:
            out_pages[i]["heading_year"] = {"value": str(sections[i][2]), "confidence": round(year_support[i], 3)}
    order = [(i, r) for i in ok for r in range(len(reads[i].rows))]
    for i in ok:
        out_pages[i]["rows"] = [{"entry_number": None, "dates": [], "band": row.get("band"),
                                 "cells": row.get("cells") or {}} for row in reads[i].rows]
    _resolve_entries(reads, out_pages, order, sections)
    _resolve_dates(reads, out_pages, order, sections, year_support)
    _merge_handwriting(reads, out_pages, order, sections)
    return out_pages


def _resolve_entries(reads, out_pages, order, sections) -> None:
    chain_pos, chain_obs, chain_cands, restarts = [], [], [], []
    prev_section = None
    for i, r in order:
        cands = sorted(reads[i].rows[r]["entry"], key=lambda c: c.conf, reverse=True)
        top = cands[0] if cands else None
        if top is not None and (top.value == "0" or not top.value.isdigit()) and top.conf >= 0.5:
            # a 0 entry or a letter entry: outside the count, checked against its neighbour below
            out_pages[i]["rows"][r]["entry_number"] = Suggestion(top.value, top.conf, top.box, "ocr",
                                                                  cands[1:3]).as_dict()
            continue
        numeric = [c for c in cands if c.value.isdigit() and c.value != "0"]
        chain_pos.append((i, r))
        chain_obs.append([(int(c.value), c.conf) for c in numeric])
        chain_cands.append(numeric)
        # a new section (form, sex, year) starts its numbering again at 1
        restarts.append(bool(chain_pos[:-1]) and sections[i] != prev_section)
        prev_section = sections[i]
    fitted = fit_chain(chain_obs, restarts, restart_value=1)
    results = resolve_numbers(chain_cands, fitted, chain_obs, alone_cap=ENTRY_ALONE_CAP)
    prev = None
    for k, (i, r) in enumerate(chain_pos):
        sugg, status = results[k]
        out_pages[i]["rows"][r]["entry_number"] = sugg.as_dict() if sugg else None
        label = reads[i].label
        if status == "disagree" and chain_cands[k]:
            out_pages[i]["findings"].append(finding(
                "OCR_ENTRY_SEQUENCE", "info",
                f"{label} row {r + 1}: entry number reads {chain_cands[k][0].value}, expected {fitted[k]}"))
        if fitted[k] is not None and prev is not None and fitted[k] != prev + 1 and not (
                fitted[k] == 1 and restarts[k]):
            out_pages[i]["findings"].append(finding(
                "OCR_ENTRY_SEQUENCE", "warning",
                f"{label} row {r + 1}: entry {fitted[k]} follows entry {prev}"
                + (": entries may be missing" if fitted[k] > prev + 1 else
                   ": a new section, or numbers out of order")))
        if fitted[k] is not None:
            prev = fitted[k]
    # a hand the recogniser reads badly shows as many disagreements on its page:
    # there even the readings that fit are less certain
    for i in {i for i, _ in chain_pos}:
        ks = [k for k, (pi, _) in enumerate(chain_pos) if pi == i and chain_cands[k]]
        if not ks:
            continue
        agree = sum(1 for k in ks if results[k][1] == "agree") / len(ks)
        if agree < 0.75:
            for k in ks:
                e = out_pages[i]["rows"][chain_pos[k][1]]["entry_number"]
                if e:
                    e["confidence"] = round(e["confidence"] * (0.6 + 0.4 * agree), 3)
    # letter entries should follow their number
    last_number = None
    for i, r in order:
        e = out_pages[i]["rows"][r]["entry_number"]
        if not e:
            continue
        v = e["value"]
        if v.isdigit():
            last_number = v
        elif v != "0" and last_number is not None and v[:-1] != last_number:
            e["confidence"] = round(e["confidence"] * 0.5, 3)


def _resolve_dates(reads, out_pages, order, sections, year_support) -> None:
    firsts: list[tuple[int, int, DateReading]] = []
    for i, r in order:
        sec = sections[i]
        sec_year = sec[2] if sec else None
        kind = sec[0] if sec else None
        row_dates = reads[i].rows[r]["dates"]
        first = next((d for d in row_dates if d.role == "date"), None)
        for d in row_dates:
            year = d.parsed.year or d.year
            conf = d.conf
            if year is None and kind in ("KBF", "KBD") and sec_year:
                year = sec_year
                conf *= 0.5 + 0.5 * year_support[i]
                # a baptism or burial can fall in the next year
                if d.role == "date2" and first is not None and d.parsed.key() < first.parsed.key():
                    year = sec_year + 1
            if d.role == "date2" and first is not None and d.parsed.key() < first.parsed.key() \
                    and first.parsed.month < 11:
                conf *= 0.6  # a baptism before the birth: one of them is misread
            value = d.parsed.iso(year)
            out_pages[i]["rows"][r]["dates"].append(
                {"value": value, "confidence": round(conf, 3), "box": d.box, "role": d.role, "source": "ocr"})
        if first is not None and kind in ("KBF", "KBD"):
            firsts.append((i, r, first))
    # first date column: non-decreasing within a section
    by_section: dict = {}
    for i, r, d in firsts:
        by_section.setdefault(sections[i], []).append((i, r, d))
    for items in by_section.values():
        keys = [d.parsed.key() for _, _, d in items]
        keep = longest_rising(keys, [d.conf for _, _, d in items])
        for k, (i, r, d) in enumerate(items):
            entry = next(x for x in out_pages[i]["rows"][r]["dates"] if x["role"] == "date")
            if k in keep:
                near = [items[j][2].conf for j in (k - 1, k + 1) if 0 <= j < len(items) and j in keep]
                if near:
                    entry["confidence"] = round(fuse(entry["confidence"], 0.15 * len(near)), 3)
                    entry["source"] = "ocr+sequence"
            else:
                entry["confidence"] = round(entry["confidence"] * 0.5, 3)
                out_pages[i]["findings"].append(finding(
                    "OCR_DATE_SEQUENCE", "info",
                    f"{reads[i].label} row {r + 1}: the date read is out of order with its neighbours"))


# --------------------------------------------------------------------------- public entry points

def ocr_pages(paths: list[Path], engine=None) -> dict:
    """Suggestions for the scans ``paths`` in order (see the module docstring).

    Raises ``recognise.OcrUnavailable`` only when Tesseract itself cannot run.
    """
    engine = engine or recognise.get_engine()
    reads: list[PageRead] = []
    for p in paths:
        for lp in load_pages(Path(p)):
            idx = len(reads)
            try:
                pr = read_page(lp, idx, engine)
            except Exception as exc:  # one page must not stop the others
                pr = PageRead(lp.file, lp.frame, idx, findings=list(lp.findings))
                pr.findings.append(finding("OCR_FAILED", "error",
                                           f"{pr.label}: the page could not be read ({type(exc).__name__})"))
            lp.image = None  # free the pixels as soon as the page is read
            reads.append(pr)
    pages = resolve(reads)
    thresholds = dict(PREFILL_THRESHOLD)
    htr = _htr_readers()
    if "birth_date" in htr and htr["birth_date"].threshold <= 1:
        # the date reader's calibrated threshold, on the pipeline's scale (_on_pipeline_scale)
        thresholds["date"] = PREFILL_THRESHOLD["entry_number"]
    return {"pages": pages, "engine": engine.name + (" + handwriting recognisers" if htr else ""),
            "prefill_threshold": thresholds}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    """``mgr-ingest ocr PAGE... --json FILE``: exit 0 when every page was read, 1 when some
    page could not be used (it has an error finding; the others were read), 2 when OCR could
    not run at all."""
    ap = _Parser(prog="mgr-ingest ocr",
                 description="Read page numbers, entry numbers and dates off scanned pages.",
                 epilog="Also: mgr-ingest ocr --book ENTRY [--work DIR] [--db URL] reads a registered book's pages "
                        "in order; mgr-ingest ocr cells --field entry_number|birth_date PATH... --json FILE "
                        "[--year YYYY] reads handwritten cells; mgr-ingest ocr train --field FIELD DIR... --out DIR "
                        "trains a recogniser; mgr-ingest ocr export-training --out DIR [--book ENTRY] writes the "
                        "approved keyed values as training cells. Each has its own --help.")
    ap.add_argument("pages", nargs="+", metavar="PAGE", help="scanned page images (JPEG, PNG, TIFF), in book order")
    ap.add_argument("--book", metavar="ENTRY", help="instead of PAGE...: a registered book's pages, in order "
                                                    "(see mgr-ingest ocr --book ENTRY --help)")
    ap.add_argument("--json", dest="json_out", metavar="FILE", help="write the suggestions here ('-' = stdout)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code not in (0, None) else 0
    missing = [p for p in args.pages if not Path(p).exists()]
    if missing and len(missing) == len(args.pages):
        print(f"mgr-ingest ocr: no such file: {missing[0]}", file=sys.stderr)
        return 2
    try:
        result = ocr_pages([Path(p) for p in args.pages])
    except recognise.OcrUnavailable as exc:
        print(f"mgr-ingest ocr: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback on the command line
        print(f"mgr-ingest ocr: could not run ({type(exc).__name__})", file=sys.stderr)
        return 2
    text = json.dumps(result, ensure_ascii=False, indent=1)
    try:
        if args.json_out and args.json_out != "-":
            Path(args.json_out).write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    except OSError as exc:
        print(f"mgr-ingest ocr: could not write {args.json_out} ({exc.strerror})", file=sys.stderr)
        return 2
    n_err = sum(1 for p in result["pages"] for f in p["findings"] if f["severity"] == "error")
    print(f"mgr-ingest ocr: {len(result['pages'])} page(s) read, {n_err} could not be used", file=sys.stderr)
    return 1 if n_err else 0


if __name__ == "__main__":
    raise SystemExit(main())
