"""Reading handwritten cells with the trained recognisers, on onnxruntime only (no torch).

A reader turns a prepared cell (``ingest.htr.images.prepare``) into candidate values with a
probability each:

* entry numbers: CTC prefix beam search over the network's per-column letter probabilities;
  a value's probability is the sum over all alignments that spell it (the CTC path
  probability), which separates right from wrong readings far better than the per-frame
  maximum does. A model may be several networks trained alike from different seeds (its
  ``<field>.train.json`` lists them under ``members``): each value any of them proposes gets
  the mean of their probabilities for it, so a value only one network believes in loses
  confidence;
* birth dates: the day, month, year and century heads' softmax, at the temperature set on
  held-out books, averaged over the networks of the model (two, trained alike from two
  seeds) and over the cell read three times, as it is and moved two pixels left and right
  (the answer should not hang on where the writing sits in the cut); a candidate date's
  probability is the product of its parts (the year part is left out when the section's
  year is given).

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
from datetime import date
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
SHIFTS = {"entry_number": ((0, 0),), "birth_date": ((0, 0), (0, 2), (0, -2))}


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


def ctc_label_probability(logp: np.ndarray, label: str) -> float:
    """The CTC probability of one label given a cell's T x C log-probabilities (blank = 0):
    the sum over every alignment that spells it (the forward algorithm)."""
    try:
        ids = [ENTRY_ALPHABET.index(ch) + 1 for ch in label]
    except ValueError:
        return 0.0
    probs = np.exp(logp.astype(np.float64))
    ext = np.zeros(2 * len(ids) + 1, dtype=np.int64)
    ext[1::2] = ids
    # a state may be reached from two back: a letter, skipping the blank before it, unless
    # the letter two back is the same one (a doubled letter needs the blank between)
    skip = np.zeros(len(ext), dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    alpha = np.zeros(len(ext))
    alpha[0] = probs[0, 0]
    if len(ext) > 1:
        alpha[1] = probs[0, ext[1]]
    for t in range(1, probs.shape[0]):
        step = alpha.copy()
        step[1:] += alpha[:-1]
        step[2:] += np.where(skip[2:], alpha[:-2], 0.0)
        alpha = step * probs[t, ext]
    return float(alpha[-1] + (alpha[-2] if len(ext) > 1 else 0.0))


def ensemble_candidates(logps: list[np.ndarray], top: int = TOP) -> list[tuple[str, float]]:
    """Candidates of one cell read by several networks: every value any of them proposes,
    with the mean of the networks' probabilities for it (a network that did not keep it in
    its beam is asked for its CTC probability of it)."""
    if len(logps) == 1:
        return ctc_candidates(logps[0], top=top)
    beams = [dict(ctc_candidates(lp, top=top)) for lp in logps]
    values = dict.fromkeys(v for beam in beams for v in beam)
    scored = [(v, float(np.mean([beam[v] if v in beam else ctc_label_probability(lp, v)
                                 for beam, lp in zip(beams, logps)]))) for v in values]
    scored.sort(key=lambda c: -c[1])
    return scored[:top]


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


def member_files(field_name: str, models: Path) -> list[str]:
    """The network files one field's model is made of: the ``members`` its training record
    lists, or ``<field>.onnx`` alone."""
    info_path = Path(models) / f"{field_name}.train.json"
    if info_path.is_file():
        members = json.loads(info_path.read_text(encoding="utf-8")).get("members")
        if members:
            return [m["file"] for m in members]
    return [f"{field_name}.onnx"]


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
        paths = [Path(models) / name for name in member_files(field_name, models)]
        for member in paths:
            if not member.is_file():
                raise ModelMissing(f"{field_name}: the member {member.name} that {field_name}.train.json lists "
                                   f"is not in {models}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.sessions = [ort.InferenceSession(str(p), sess_options=opts, providers=["CPUExecutionProvider"])
                         for p in paths]
        self.session = self.sessions[0]
        self.field = field_name
        self.path = path
        self.paths = paths
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
                logps = [session.run(None, {"image": x})[0] for session in self.sessions]
                for i in range(len(x)):
                    out.append(Cell(ensemble_candidates([lp[i] for lp in logps])))
            else:
                day, month, year, cent = self._date_heads(x)
                for i in range(len(x)):
                    out.append(Cell(date_candidates(day[i], month[i], year[i], cent[i], given_year)))
        for c in out:
            c.choose()
        return out

    def _date_heads(self, x: np.ndarray) -> list[np.ndarray]:
        """The date heads' probabilities, averaged over the shifted readings (and the members)."""
        total: list[np.ndarray] | None = None
        for session in self.sessions:
            for dy, dx in self.shifts:
                res = session.run(None, {"image": shifted(x, dy, dx)})
                probs = [_softmax(r, self.temperature) for r in res]
                total = probs if total is None else [a + b for a, b in zip(total, probs)]
        return [t / (len(self.shifts) * len(self.sessions)) for t in total]


# ------------------------------------------------------------------------ sequence prior

# How much more likely a value is in the row below another than an unrelated value, chosen on
# the calibration books (MODEL_CARD.md): entry numbers run on (n+1) or open a sub-entry (24a
# after 24, 24b after 24a) and seldom go back or jump far; dates rise, mostly by a few weeks.
ENTRY_NEXT, ENTRY_SUB, ENTRY_FAR = 5.0, 1.0, 0.5
DATE_BACKWARDS, DATE_SOON, DATE_SOON_DAYS = 0.3, 4.0, 60


def _follows(field_name: str, above: str | None, below: str | None) -> float:
    if above is None or below is None:  # a value the network did not propose: no opinion
        return 1.0
    if field_name == "entry_number":
        na, nb = entry_number_int(above), entry_number_int(below)
        if na is None or nb is None:
            return 1.0
        la, lb = (v.strip("()").lstrip("0123456789") for v in (above, below))
        if nb == na + 1 and not lb:
            return ENTRY_NEXT
        if nb == na and lb > la:
            return ENTRY_SUB
        return ENTRY_FAR if nb <= na or nb > na + 5 else 1.0
    days = (_ymd(below) - _ymd(above)).days
    if days < 0:
        return DATE_BACKWARDS
    return DATE_SOON if days <= DATE_SOON_DAYS else 1.0


def _ymd(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def apply_prior(field_name: str, cells: list[Cell]) -> list[Cell]:
    """Re-rank the candidates of consecutive rows of one section, in place.

    Each row's states are the network's candidates and "some value it did not propose"
    (the probability it left over); a row follows the one above by ``_follows``, normalised
    over the row below's states. Forward-backward gives each candidate its probability given
    the whole section, the rows below as well as above, and that is its new confidence. Only
    what the network proposed is re-weighted; no value is ever added."""
    states = [[v for v, _p in c.candidates] + [None] for c in cells]
    seen = [np.array([p for _v, p in c.candidates] + [max(1e-6, 1.0 - sum(p for _v, p in c.candidates))])
            for c in cells]
    steps = [np.array([[_follows(field_name, a, b) for b in states[i]] for a in states[i - 1]])
             for i in range(1, len(cells))]
    steps = [m / m.sum(axis=1, keepdims=True) for m in steps]
    forward = []
    for i in range(len(cells)):
        f = seen[i] if i == 0 else (forward[-1] @ steps[i - 1]) * seen[i]
        forward.append(f / f.sum())
    backward = [np.ones(len(states[-1]))] if cells else []
    for i in range(len(cells) - 2, -1, -1):
        b = steps[i] @ (seen[i + 1] * backward[0])
        backward.insert(0, b / b.sum())
    for cell, names, f, b in zip(cells, states, forward, backward):
        post = f * b
        post = post / post.sum()
        if cell.candidates:
            cell.candidates = [(v, float(q)) for v, q in zip(names[:-1], post[:-1])]
            cell.choose()
    return cells
