"""Combining OCR readings with what the book makes certain.

* Page numbers rise by one from scan to scan.
* Entry numbers rise by one within a (form, sex, year) section; ``0`` entries and
  letter entries (``23a``) stand outside the count.
* In church books the first date column (birth, death) does not go backwards
  within a section; the second (baptism, burial) is not before the first.

For a run of numbers, each position has a few OCR candidates with confidences.
``fit_chain`` finds the most likely true values with a small dynamic programme:
staying on the +1 chain is free, a jump forward (missing pages, skipped numbers)
costs a little, a restart at 1 (new section) costs a little, going back costs
more; agreeing with a reading earns its confidence, contradicting a confident
reading costs that confidence. Where the fitted value and the reading agree, the
neighbours' agreement raises the confidence; where they differ, the value offered
is the one that fits, with a lower confidence, the reading kept as an alternative,
and a finding says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .fields import ParsedDate

JUMP_COST = 1.2  # v > previous + 1
BACK_COST = 4.0  # v <= previous: numbers never fall inside a section
RESTART_COST = 0.8  # v == 1 where restarts are possible
MAX_STATES = 40


@dataclass
class Candidate:
    value: str
    conf: float
    box: list[int] | None = None


@dataclass
class Suggestion:
    value: str
    confidence: float
    box: list[int] | None
    source: str  # "ocr", "ocr+sequence", "sequence"
    alternatives: list[Candidate] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {"value": self.value, "confidence": round(float(self.confidence), 3), "box": self.box,
             "source": self.source}
        if self.alternatives:
            d["alternatives"] = [{"value": a.value, "confidence": round(float(a.conf), 3)}
                                 for a in self.alternatives]
        return d


def fit_chain(obs: list[list[tuple[int, float]]], restarts: list[bool] | None = None,
              restart_value: int | None = None) -> list[int | None]:
    """Most likely true value at each position of a +1 chain.

    ``obs[i]`` holds (value, confidence) readings of position i (may be empty).
    ``restarts[i]`` marks positions where a new section may begin freely
    (value ``restart_value``); elsewhere a restart at ``restart_value`` costs
    RESTART_COST. Returns None for positions before the first reading.
    """
    n = len(obs)
    if n == 0:
        return []
    restarts = restarts or [False] * n
    # scores[i]: {value: (score, previous value)}
    layers: list[dict[int, tuple[float, int | None]]] = []
    prev: dict[int, tuple[float, int | None]] = {}
    for i in range(n):
        readings: dict[int, float] = {}
        for v, c in obs[i]:
            readings[v] = max(readings.get(v, 0.0), c)
        top = max(readings.values(), default=0.0)
        states = set(readings)
        states.update(u + 1 for u in prev)
        if restart_value is not None and (restarts[i] or prev):
            if restarts[i]:
                states.add(restart_value)
        cur: dict[int, tuple[float, int | None]] = {}
        for v in states:
            emit = readings[v] if v in readings else -top
            if not prev:
                cur[v] = (emit, None)
                continue
            best, arg = None, None
            for u, (su, _) in prev.items():
                if v == u + 1:
                    t = 0.0
                elif restart_value is not None and v == restart_value:
                    t = 0.0 if restarts[i] else -RESTART_COST
                elif v > u + 1:
                    # a few missing numbers happen; hundreds do not
                    t = -JUMP_COST - 0.6 * math.log10(v - u - 1)
                else:
                    t = -BACK_COST
                s = su + t
                if best is None or s > best:
                    best, arg = s, u
            # a chain may also start here (positions before it had no readings)
            cur[v] = (best + emit, arg)
        if len(cur) > MAX_STATES:
            keep = sorted(cur.items(), key=lambda kv: kv[1][0], reverse=True)[:MAX_STATES]
            cur = dict(keep)
        layers.append(cur)
        prev = cur
    if not prev:
        return [None] * n
    # trace back
    out: list[int | None] = [None] * n
    v = max(prev.items(), key=lambda kv: kv[1][0])[0]
    for i in range(n - 1, -1, -1):
        if v is None or v not in layers[i]:
            break
        out[i] = v
        v = layers[i][v][1]
    return out


def _support(fitted: list[int | None], obs: list[list[tuple[int, float]]], i: int) -> float:
    """How strongly the neighbours back position i: each neighbour whose own best
    reading equals its fitted value (and that value is fitted[i] -+ 1) adds support."""
    s = 0.0
    for j, step in ((i - 1, -1), (i + 1, 1)):
        if 0 <= j < len(obs) and fitted[j] is not None and fitted[i] is not None and obs[j]:
            v, c = max(obs[j], key=lambda vc: vc[1])
            if v == fitted[j] and fitted[j] == fitted[i] + step and c >= 0.5:
                s += 0.45 * min(1.0, c + 0.1)
    return min(s, 0.9)


def fuse(conf: float, support: float) -> float:
    """Confidence of a reading that the sequence agrees with."""
    return 1.0 - (1.0 - conf) * (1.0 - support)


def resolve_numbers(cands: list[list[Candidate]], fitted: list[int | None],
                    obs: list[list[tuple[int, float]]], infer: bool = True,
                    alone_cap: float = 1.0) -> list[tuple[Suggestion | None, str]]:
    """Turn fitted chain values and readings into suggestions.

    ``alone_cap`` caps the confidence of a reading that no neighbour backs: for
    handwriting, Tesseract's own confidence is not to be trusted on its own.

    Returns, per position, (suggestion or None, status) where status is one of
    "agree", "chosen" (an alternative reading fitted), "disagree", "inferred", "none".
    """
    out: list[tuple[Suggestion | None, str]] = []
    for i, cs in enumerate(cands):
        exp = fitted[i]
        ranked = sorted(cs, key=lambda c: c.conf, reverse=True)
        sup = _support(fitted, obs, i)
        if not ranked:
            if exp is not None and infer and sup > 0:
                out.append((Suggestion(str(exp), round(0.5 * sup, 3), None, "sequence"), "inferred"))
            else:
                out.append((None, "none"))
            continue
        top = ranked[0]
        if exp is None:
            out.append((Suggestion(top.value, min(top.conf, alone_cap), top.box, "ocr", ranked[1:3]), "agree"))
            continue
        if top.value == str(exp):
            conf = fuse(top.conf, sup) if sup else min(top.conf, alone_cap)
            out.append((Suggestion(top.value, conf, top.box, "ocr+sequence" if sup else "ocr",
                                   ranked[1:3]), "agree"))
            continue
        fit = next((c for c in ranked if c.value == str(exp)), None)
        if fit is not None:
            others = [c for c in ranked if c is not fit][:2]
            conf = 0.85 * (fuse(fit.conf, sup) if sup else min(fit.conf, alone_cap))
            out.append((Suggestion(fit.value, conf, fit.box, "ocr+sequence", others), "chosen"))
            continue
        if sup > 0:
            conf = min(0.6, 0.5 * sup + 0.2 * (1 - top.conf))
            out.append((Suggestion(str(exp), conf, top.box, "sequence", ranked[:2]), "disagree"))
        else:
            out.append((Suggestion(top.value, 0.5 * top.conf, top.box, "ocr", ranked[1:3]), "disagree"))
    return out


def longest_rising(keys: list[tuple], weights: list[float]) -> set[int]:
    """Indexes of the heaviest non-decreasing subsequence of ``keys``."""
    n = len(keys)
    best = [0.0] * n
    back = [-1] * n
    for i in range(n):
        best[i] = weights[i]
        for j in range(i):
            if keys[j] <= keys[i] and best[j] + weights[i] > best[i]:
                best[i], back[i] = best[j] + weights[i], j
    if not n:
        return set()
    i = max(range(n), key=lambda k: best[k])
    keep = set()
    while i >= 0:
        keep.add(i)
        i = back[i]
    return keep


@dataclass
class DateReading:
    parsed: ParsedDate
    conf: float
    box: list[int] | None
    role: str  # "date" (first date column) or "date2"
    year: int | None = None  # year from the section or a year column, when the text has none
