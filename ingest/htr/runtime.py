"""Reading handwritten cells with the trained recognisers, on onnxruntime only (no torch).

A reader turns a prepared cell (``ingest.htr.images.prepare``) into candidate values with a
probability each:

* entry numbers: CTC prefix beam search over the network's per-column letter probabilities;
  a value's probability is the sum over all alignments that spell it (the CTC path
  probability), which separates right from wrong readings far better than the per-frame
  maximum does;
* birth dates: the day, month, year and century heads' softmax, at the temperature set on
  held-out books, averaged over the cell read five times, as it is and moved two pixels up,
  down, left and right (the network's answer should not hang on where the writing sits in
  the cut); a candidate date's probability is the product of its parts (the year part is
  left out when the section's year is given).

Then the sequence prior (``apply_prior``) re-ranks the candidates of consecutive rows of one
page section: entry numbers run on (n+1, or a sub-entry such as 24a after 24) and dates rise.
It only re-weights what the network proposed and never creates a value, so "previous + 1"
alone never fills a field. The prefill threshold comes with the model
(``<field>.calibration.json``, see ``ingest.htr.calibrate``).
"""

from __future__ import annotations

import calendar
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.htr.images import SIZES, shifted
from ingest.htr.labels import CENTURIES, ENTRY_ALPHABET, entry_number_int

MODELS = Path(__file__).resolve().parent / "models"
FIELDS = ("entry_number", "birth_date")
BEAM = 8
TOP = 5
# Each cell is read at these offsets (dy, dx in pixels) and the heads' probabilities averaged;
# the calibration file records the offsets its threshold was set with, and the reader uses those.
SHIFTS = {"entry_number": ((0, 0),), "birth_date": ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2))}


class ModelMissing(RuntimeError):
    """The model files are not there; the message says which."""


@dataclass
class Cell:
    """One cell's reading: candidates best first, the value chosen and its confidence."""

    candidates: list[tuple[str, float]] = field(default_factory=list)
    value: str | None = None
    confidence: float = 0.0

    def choose(self) -> None:
        self.candidates.sort(key=lambda c: -c[1])
        if self.candidates:
            self.value, self.confidence = self.candidates[0]
        else:
            self.value, self.confidence = None, 0.0


def ctc_candidates(logp: np.ndarray, beam: int = BEAM, top: int = TOP) -> list[tuple[str, float]]:
    """The most probable labels of one cell (T x C log-probabilities, blank = 0)."""
    probs = np.exp(logp)
    beams: dict[tuple[int, ...], list[float]] = {(): [1.0, 0.0]}  # prefix -> [ends in blank, ends in char]
    for t in range(probs.shape[0]):
        row = probs[t]
        chars = np.nonzero(row > 1e-3)[0]
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for prefix, (pb, pc) in beams.items():
            last = prefix[-1] if prefix else None
            for c in chars:
                p = float(row[c])
                if c == 0:
                    nxt[prefix][0] += (pb + pc) * p
                elif c == last:
                    nxt[prefix + (c,)][1] += pb * p
                    nxt[prefix][1] += pc * p
                else:
                    nxt[prefix + (c,)][1] += (pb + pc) * p
        beams = dict(sorted(nxt.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:beam])
    out = []
    for prefix, (pb, pc) in sorted(beams.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        if prefix:
            out.append(("".join(ENTRY_ALPHABET[c - 1] for c in prefix), pb + pc))
    return out[:top]


def _softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def date_candidates(day: np.ndarray, month: np.ndarray, year: np.ndarray, century: np.ndarray,
                    given_year: int | None, top: int = TOP) -> list[tuple[str, float]]:
    """Candidate YYYYMMDD values of one cell from its heads' probabilities."""
    days = np.argsort(-day)[:4]
    months = np.argsort(-month)[:3]
    if given_year is not None:
        years = [(given_year, 1.0)]
    else:
        cent = CENTURIES[int(np.argmax(century))]
        years = [(cent * 100 + int(y), float(year[y] * century.max())) for y in np.argsort(-year)[:2]]
    out = []
    for y, py in years:
        for m in months:
            for d in days:
                if d + 1 > calendar.monthrange(y, m + 1)[1]:
                    continue  # 30 February is no reading
                out.append((f"{y:04d}{m + 1:02d}{d + 1:02d}", float(day[d] * month[m] * py)))
    out.sort(key=lambda c: -c[1])
    return out[:top]


class CellReader:
    """One field's recogniser. ``read`` takes prepared cells and gives their candidates."""

    _lock = threading.Lock()
    _cache: dict[tuple[str, str], CellReader] = {}

    def __init__(self, field_name: str, models: Path = MODELS):
        import onnxruntime as ort

        if field_name not in FIELDS:
            raise ValueError(f"unknown field {field_name}")
        path = Path(models) / f"{field_name}.onnx"
        if not path.is_file():
            raise ModelMissing(f"no model for {field_name} at {path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.field = field_name
        self.path = path
        calib = Path(models) / f"{field_name}.calibration.json"
        self.calibration = json.loads(calib.read_text(encoding="utf-8")) if calib.is_file() else {}
        # the threshold set on held-out books; none, or prefill switched off for this field
        # (its precision on other unseen books fell short of the target): never prefill
        self.calibrated_threshold = float(self.calibration.get("threshold", 1.01))
        self.prefills = bool(self.calibration.get("prefill", True)) and self.calibrated_threshold <= 1
        self.threshold = self.calibrated_threshold if self.prefills else 1.01
        self.temperature = float(self.calibration.get("temperature", 1.0))
        self.shifts = [tuple(int(v) for v in d) for d in self.calibration.get("shifts", [(0, 0)])]

    @classmethod
    def load(cls, field_name: str, models: Path = MODELS) -> CellReader:
        key = (field_name, str(models))
        with cls._lock:
            if key not in cls._cache:
                cls._cache[key] = cls(field_name, models)
            return cls._cache[key]

    def read(self, cells: np.ndarray, given_year: int | None = None, batch: int = 64) -> list[Cell]:
        """``cells``: (N, H, W) float32, as ``images.prepare`` makes them."""
        h, w = SIZES[self.field]
        out: list[Cell] = []
        for start in range(0, len(cells), batch):
            x = np.ascontiguousarray(cells[start:start + batch].reshape(-1, 1, h, w), dtype=np.float32)
            if self.field == "entry_number":
                res = self.session.run(None, {"image": x})
                for lp in res[0]:
                    out.append(Cell(ctc_candidates(lp)))
            else:
                day, month, year, cent = self._date_heads(x)
                for i in range(len(x)):
                    out.append(Cell(date_candidates(day[i], month[i], year[i], cent[i], given_year)))
        for c in out:
            c.choose()
        return out

    def _date_heads(self, x: np.ndarray) -> list[np.ndarray]:
        """The date heads' probabilities, averaged over the shifted readings."""
        total: list[np.ndarray] | None = None
        for dy, dx in self.shifts:
            res = self.session.run(None, {"image": shifted(x, dy, dx)})
            probs = [_softmax(r, self.temperature) for r in res]
            total = probs if total is None else [a + b for a, b in zip(total, probs)]
        return [t / len(self.shifts) for t in total]


# ------------------------------------------------------------------------ sequence prior

ENTRY_NEXT, ENTRY_SUB, ENTRY_FAR = 3.0, 1.5, 0.5
DATE_BACKWARDS = 0.3
TRUST_PREVIOUS = 0.5


def _entry_weight(value: str, prev: int) -> float:
    n = entry_number_int(value)
    if n is None:
        return 1.0
    letter = value.strip("()").lstrip("0123456789")
    if n == prev + 1 and not letter:
        return ENTRY_NEXT
    if n == prev and letter:
        return ENTRY_SUB
    if n <= prev or n > prev + 5:
        return ENTRY_FAR
    return 1.0


def apply_prior(field_name: str, cells: list[Cell], previous: str | None = None) -> list[Cell]:
    """Re-rank the candidates of consecutive rows of one section, in place.

    Each row's candidates are weighted by how well they follow the value chosen for the row
    before (when that one was read with at least ``TRUST_PREVIOUS``), then renormalised
    together with the probability the network left to values it did not propose. A value the
    network did not propose is never added."""
    prev_value, prev_conf = previous, 1.0 if previous else 0.0
    for cell in cells:
        if cell.candidates and prev_value is not None and prev_conf >= TRUST_PREVIOUS:
            total = sum(p for _v, p in cell.candidates)
            rest = max(0.0, 1.0 - total)
            if field_name == "entry_number":
                prev = entry_number_int(prev_value)
                weights = [_entry_weight(v, prev) if prev is not None else 1.0 for v, _p in cell.candidates]
            else:
                weights = [DATE_BACKWARDS if v < prev_value else 1.0 for v, _p in cell.candidates]
            scored = [(v, p * wt) for (v, p), wt in zip(cell.candidates, weights)]
            norm = sum(p for _v, p in scored) + rest
            cell.candidates = [(v, p / norm) for v, p in scored] if norm > 0 else cell.candidates
            cell.choose()
        if cell.value is not None:
            prev_value, prev_conf = cell.value, cell.confidence
    return cells
