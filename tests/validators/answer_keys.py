"""The strict comparison of a run's findings with a fixture set's answer key, shared by the
KBF, KBD and FT answer-key tests.

* a planted defect is found when a finding has the same file, code, severity and field
  (None is None), on the same line unless the code is about the whole delivery;
* a planted line holds exactly its planted codes, plus only what the key allows beside them
  (``also_allowed``, each with the reason written when the defect was planted);
* nothing of any severity is reported on a line where nothing was planted.
"""

from __future__ import annotations

from validators.catalogue import CATALOGUE, Scope


def delivery_level(code: str) -> bool:
    return CATALOGUE[code].scope is Scope.DELIVERY


def matches(p: dict, f: dict) -> bool:
    if (p["file"], p["code"], p["severity"], p["field"]) != (f["file"], f["code"], f["severity"], f["field"]):
        return False
    return delivery_level(p["code"]) or p["line"] is None or p["line"] == f["line"]


def missing(planted: list[dict], findings: list[dict]) -> list[tuple]:
    return [(p["file"], p["line"], p["code"]) for p in planted if not any(matches(p, f) for f in findings)]


def false_alarms(planted: list[dict], findings: list[dict]) -> list[tuple]:
    lines = {(p["file"], p["line"]) for p in planted if p["line"] is not None}
    codes = {(p["file"], p["code"]) for p in planted}
    out = []
    for f in findings:
        ok = ((f["file"], f["code"]) in codes if delivery_level(f["code"]) or f["line"] is None
              else (f["file"], f["line"]) in lines)
        if not ok:
            out.append((f["file"], f["line"], f["code"], f["severity"], f["message"]))
    return out


def wrong_code_sets(planted: list[dict], findings: list[dict]) -> dict:
    expected: dict[tuple, set] = {}
    allowed: dict[tuple, set] = {}
    for p in planted:
        if p["line"] is None or delivery_level(p["code"]):
            continue
        key = (p["file"], p["line"])
        expected.setdefault(key, set()).add(p["code"])
        allowed.setdefault(key, set()).update(a["code"] for a in p.get("also_allowed", []))
    found: dict[tuple, set] = {}
    for f in findings:
        if f["line"] is not None and not delivery_level(f["code"]) and (f["file"], f["line"]) in expected:
            found.setdefault((f["file"], f["line"]), set()).add(f["code"])
    return {k: (sorted(found.get(k, set())), sorted(v)) for k, v in expected.items()
            if not (v <= found.get(k, set()) <= v | allowed[k])}
