"""Setting a recogniser's prefill threshold on books it was not trained on.

How it is done (written into ``<field>.calibration.json`` with the figures):

1. The held-out calibration books' cells are read exactly as the product reads them: the
   ONNX model on onnxruntime, candidates from the CTC path probability (entry numbers) or
   the heads' softmax (dates, with the section's year given), then the sequence prior over
   the rows of each page section in order.
2. Dates only: one temperature for the heads' softmax is chosen on these cells (the one
   that gives the true day and month the highest likelihood, from a grid 0.5-4), so that a
   date's probability means what it says. Each cell is read at the offsets of
   ``runtime.SHIFTS`` (written into the file as ``shifts``; the reader uses the same).
3. Page sections whose labels are exactly the values read, in another order (rows read 30,
   31, 32, 33 labelled 33, 31, 30, 32), are left out: their labels were attached to the wrong
   rows of the archive, so they cannot tell a right reading from a wrong one, and a few such
   confident "errors" would push the threshold up. How many cells were left out is written
   into the file (``left_out_reordered``). The benchmark still counts them as wrong.
4. The threshold is the lowest confidence at which the values read at or above it are at
   least ``TARGET`` right (98% entry numbers, 97% dates), with a margin of half a point and at
   least 50 values above it. Below the threshold a value is offered, never filled in.
5. A calibration file that says ``"prefill": false`` (a person switched prefill off, for
   example after the values fell short of the target on other books) keeps saying so when
   the threshold is set again; only a person switches it on.

Nothing here trains the network; the threshold is never lowered to gain coverage.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

from ingest.htr import images as cell_images
from ingest.htr.labels import date_label, entry_label

log = logging.getLogger("mgr_ingest.htr.calibrate")
TARGET = {"entry_number": 0.98, "birth_date": 0.97}
MARGIN = 0.005
MIN_ABOVE = 50


def truth(field: str, label: str) -> str | None:
    if field == "entry_number":
        return entry_label(label)
    d = date_label(label)
    return None if d is None else f"{d[0]:04d}{d[1]:02d}{d[2]:02d}"


def read_runs(reader, samples, arrays: np.ndarray, field: str, prior: bool = True):
    """Read samples grouped in page sections (rows in order) -> list of (sample, Cell)."""
    from ingest.htr.runtime import apply_prior

    by_run: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_run[s.run].append(i)
    runs = []
    for _run, idx in sorted(by_run.items()):
        idx.sort(key=lambda i: samples[i].row)
        # rows that are not next to each other (a sample of a page) are separate runs: the
        # prior only links a row to the one just above it
        start = 0
        for k in range(1, len(idx) + 1):
            if k == len(idx) or samples[idx[k]].row != samples[idx[k - 1]].row + 1:
                runs.append(idx[start:k])
                start = k
    out = []
    for idx in runs:
        if field == "birth_date":
            cells = []
            for i in idx:  # the section's year, as the book heading gives it
                y = date_label(samples[i].label)
                cells += reader.read(arrays[i:i + 1], given_year=y[0] if y else None)
        else:
            cells = reader.read(arrays[idx])
        if prior:
            apply_prior(field, cells)
        out += [(samples[i], c) for i, c in zip(idx, cells)]
    return out


def reordered_sections(read, field: str) -> np.ndarray:
    """For each ``(sample, cell)`` of ``read``: does it sit on a page section whose labels are
    exactly the values read there, in another order? (Not every value right, yet the section's
    labels and values the same as a multiset: the labels were attached to the wrong rows.)"""
    by_run: dict[str, list[int]] = defaultdict(list)
    for i, (s, _c) in enumerate(read):
        by_run[s.run].append(i)
    mask = np.zeros(len(read), dtype=bool)
    for idx in by_run.values():
        labels = [truth(field, read[i][0].label) for i in idx]
        values = [read[i][1].value or "" for i in idx]
        if labels != values and sorted(labels) == sorted(values):
            mask[idx] = True
    return mask


def choose_threshold(confs: np.ndarray, right: np.ndarray, target: float) -> tuple[float, float, float]:
    """(threshold, precision, coverage) at the lowest threshold meeting the target."""
    order = np.argsort(-confs)
    c, r = confs[order], right[order]
    cum = np.cumsum(r) / np.arange(1, len(r) + 1)
    best = None
    for k in range(len(c) - 1, MIN_ABOVE - 2, -1):
        if k + 1 < MIN_ABOVE:
            break
        # all values with a confidence equal to c[k] come in together
        if k + 1 < len(c) and c[k + 1] == c[k]:
            continue
        if cum[k] >= target + MARGIN:
            best = k
            break
    if best is None:
        return 1.01, float("nan"), 0.0
    return float(c[best]), float(cum[best]), (best + 1) / len(c)


def _fit_temperature(reader, arrays: np.ndarray, samples) -> float:
    h, w = cell_images.SIZES["birth_date"]
    logits = [[], [], [], []]
    for start in range(0, len(arrays), 128):
        x = arrays[start:start + 128].reshape(-1, 1, h, w)
        outs = [session.run(None, {"image": x}) for session in reader.sessions]
        for k in range(4):
            logits[k].append(np.mean([res[k] for res in outs], axis=0))  # the members' mean
    day, month = np.concatenate(logits[0]), np.concatenate(logits[1])
    labels = [date_label(s.label) for s in samples]
    d_idx = np.array([lbl[2] - 1 for lbl in labels])
    m_idx = np.array([lbl[1] - 1 for lbl in labels])
    best_t, best_nll = 1.0, float("inf")
    for t in np.arange(0.5, 4.01, 0.1):
        nll = 0.0
        for lg, idx in ((day, d_idx), (month, m_idx)):
            z = lg / t
            z = z - z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            nll -= logp[np.arange(len(idx)), idx].sum()
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return round(best_t, 2)


def calibrate(field: str, onnx_path: Path, samples, out: Path, train_info: dict | None = None) -> dict:
    from ingest.htr.runtime import SHIFTS, CellReader

    samples = [s for s in samples if truth(field, s.label) is not None]
    arrays = cell_images.load_arrays(samples, field).astype(np.float32) / 255.0
    reader = CellReader(field, onnx_path.parent)
    reader.shifts = list(SHIFTS[field])
    temperature = 1.0
    if field == "birth_date":
        temperature = _fit_temperature(reader, arrays, samples)
        reader.temperature = temperature
    read = read_runs(reader, samples, arrays, field)
    confs = np.array([c.confidence for _s, c in read])
    right = np.array([c.value == truth(field, s.label) for s, c in read], dtype=float)
    trusted = ~reordered_sections(read, field)
    threshold, precision, coverage = choose_threshold(confs[trusted], right[trusted], TARGET[field])
    info = {
        "field": field,
        "method": ((f"mean of the {len(reader.sessions)} networks' CTC path probabilities of each label any of "
                    "them proposes" if len(reader.sessions) > 1 else
                    "CTC path probability of the best label (prefix beam search)") + ", after the sequence prior"
                   if field == "entry_number" else
                   "product of the day and month softmax at a fitted temperature, averaged over the cell "
                   "read at the offsets in shifts" + (f" by each of the {len(reader.sessions)} networks"
                                                      if len(reader.sessions) > 1 else "")
                   + " (section year given), after the sequence prior"),
        "temperature": temperature,
        "shifts": [list(d) for d in reader.shifts],
        "target_precision": TARGET[field],
        "margin": MARGIN,
        "threshold": threshold,
        "precision_at_threshold": round(precision, 4) if precision == precision else None,
        "coverage_at_threshold": round(coverage, 4),
        "top1_exact": round(float(right.mean()), 4),
        "calibration_cells": len(read),
        "left_out_reordered": int((~trusted).sum()),
        "calibration_books": sorted({s.book for s in samples}),
    }
    if train_info:
        info["training"] = {k: train_info[k] for k in ("steps", "seconds", "seed", "train_cells", "members")
                            if k in train_info}
    earlier = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    if earlier.get("prefill") is False:
        # Prefill switched off by a person (its precision fell short on other books) stays off
        # until a person switches it on again: a new threshold is no new evidence on those books.
        info["prefill"] = False
        info["prefill_note"] = earlier.get("prefill_note", "switched off before this calibration")
    out.write_text(json.dumps(info, indent=1), encoding="utf-8")
    log.info("calibrated %s: threshold %.3f, precision %s, coverage %.3f", field, threshold, precision, coverage)
    reader.threshold = threshold
    return info
