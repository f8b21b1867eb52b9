"""Birthplace text -> parish code, through a parish register kept as data.

The register is a CSV ``sognekode;sogn;herred;amt;varianter`` (``validators/data/
parishes.csv`` is a small sample compiled in the project; import the full one with
``import_parishes``).  A keyed text and every register name go through the same rules
(``place_transforms.csv``: upper case, ae/oe/aa -> æ/ø/å, Sdr./Nr. written out,
``Sogn``/``By`` suffixes dropped, blanks and hyphens removed), so ``Oelstykke``,
``Ølstykke Sogn`` and ``Ølstykke By`` all meet ``Ølstykke``.  "her", "her i sognet" and
the like mean the record's own parish (the ``SOGN`` of the delivery's metadata).

A name two parishes share (Valby, Hvidbjerg) is decided by a herred or amt written in
the text (``Valby, Holbo Herred``), else by the amt of the record's own parish; if that
does not decide it, the text stays unresolved.  ``unresolved_places`` lists what is left
by frequency, with the closest register name as a suggestion, for a person to curate.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from validators.names.transforms import ARROW_STR, DATA, RuleSet, place_rules, to_arrow_strings

PARISHES_FILE = DATA / "parishes.csv"
# The birthplace columns of each source (a death place is resolved the same way).
PLACE_FIELDS: dict[str, tuple[str, ...]] = {
    "KBF": ("FOEDESTED", "FADERS_FOEDESTED", "MODERS_FOEDESTED"),
    "KBD": ("FOEDESTED", "DOEDSSTED"),
    "FT": ("FOEDESTED",),
}
PARISH_COLUMNS = ("sognekode", "sogn", "herred", "amt", "varianter")

# How a text was resolved (the METODE column beside the code).
BY_NAME = "sognenavn"  # the parish's own name
BY_VARIANT = "variant"  # a spelling or locality listed for the parish
BY_OWN_PARISH = "eget_sogn"  # "her i sognet": the record's own parish
BY_QUALIFIER = "herred_amt"  # a shared name, decided by the herred/amt in the text
BY_OWN_AMT = "eget_amt"  # a shared name, decided by the amt of the record's own parish
AMBIGUOUS = "tvetydig"
UNKNOWN = "ukendt"
OWN_PARISH_UNKNOWN = "eget_sogn_ukendt"  # "her", but the record's parish is not in the register
EMPTY = "tom"
UNRESOLVED = (AMBIGUOUS, UNKNOWN, OWN_PARISH_UNKNOWN)

_QUALIFIER_WORDS = re.compile(r"\b(amt|amter|herred|hrd|hd|h)\b\.?", re.I)
_INLINE_QUALIFIER = re.compile(r"\s+(?:i\s+)?([^\s,]+(?:[\s-][^\s,]+)?)\s+(amt|herred|hrd)\b\.?", re.I)


class ParishRegisterError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class Parish:
    code: str
    name: str
    herred: str
    amt: str
    variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    code: str | None
    method: str


@dataclass
class ParishRegister:
    parishes: dict[str, Parish]
    rules: RuleSet
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)  # place key -> codes
    name_keys: set[tuple[str, str]] = field(default_factory=set)  # (key, code) from the parish's own name
    area: dict[str, set[str]] = field(default_factory=dict)  # code -> keys of its herred and amt

    def __post_init__(self) -> None:
        index: dict[str, list[str]] = {}
        for p in self.parishes.values():
            for i, text in enumerate((p.name, *p.variants)):
                key = self.key(text)[0]
                if not key:
                    continue
                if p.code not in index.setdefault(key, []):
                    index[key].append(p.code)
                if i == 0:
                    self.name_keys.add((key, p.code))
            self.area[p.code] = {k for k in (self._area_key(p.herred), self._area_key(p.amt)) if k}
        self.index = {k: tuple(v) for k, v in index.items()}
        self._cache: dict[tuple[str, str | None], Resolution] = {}

    def __len__(self) -> int:
        return len(self.parishes)

    # -- keys

    def _area_key(self, text: str | None) -> str | None:
        if not text:
            return None
        return self.key(_QUALIFIER_WORDS.sub(" ", text))[0]

    def key(self, text: str | None) -> tuple[str | None, bool]:
        """(register key, means-own-parish) of a place text, through the place rules."""
        if text is None or not str(text).strip():
            return None, False
        s = str(text)
        for t in self.rules.chain():
            if t.kind == "own_parish":
                if t.regex.fullmatch(s.strip()):
                    return None, True
                continue
            s = t.apply(s)
        return self.rules.key(s.strip()), False

    def _split(self, text: str) -> tuple[str, set[str]]:
        """The place part of a text and the keys of any herred/amt written beside it."""
        qualifiers: set[str] = set()

        def take(m: re.Match) -> str:
            # "Sogn Vejle Amt" captures two words; the last one alone is the amt.
            for words in (m.group(1), re.split(r"[\s-]", m.group(1))[-1]):
                k = self._area_key(words)
                if k:
                    qualifiers.add(k)
            return " "

        head, *rest = text.split(",")
        head = _INLINE_QUALIFIER.sub(take, head)
        for part in rest:
            k = self._area_key(part)
            if k:
                qualifiers.add(k)
        return head, qualifiers

    # -- resolving

    def own_code(self, parish: str | None) -> str | None:
        """The code of the record's own parish, given as a code or as metadata text
        (``Vejby`` or ``Vejby, Holbo Herred, Frederiksborg Amt``)."""
        if parish is None or (not isinstance(parish, str) and pd.isna(parish)) or not str(parish).strip():
            return None
        parish = str(parish).strip()
        if parish in self.parishes:
            return parish
        return self.resolve(parish).code

    def resolve(self, text: str | None, own: str | None = None) -> Resolution:
        """The parish code of one birthplace text; ``own`` is the record's own parish
        (a code or its name as the delivery metadata writes it)."""
        if text is None or (not isinstance(text, str) and pd.isna(text)) or not str(text).strip():
            return Resolution(None, EMPTY)
        cache_key = (str(text), own)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        res = self._resolve(str(text), own)
        self._cache[cache_key] = res
        return res

    def _resolve(self, text: str, own: str | None) -> Resolution:
        head, qualifiers = self._split(text)
        key, means_own = self.key(head)
        if means_own:
            code = self.own_code(own)
            return Resolution(code, BY_OWN_PARISH if code else OWN_PARISH_UNKNOWN)
        codes = self.index.get(key or "", ())
        if not codes and qualifiers:
            # "Vejby, Holbo" keyed without the word Herred: the whole text may be one name.
            key_all, _ = self.key(text)
            codes = self.index.get(key_all or "", ())
        if len(codes) == 1:
            method = BY_NAME if (key, codes[0]) in self.name_keys else BY_VARIANT
            return Resolution(codes[0], method)
        if not codes:
            return Resolution(None, UNKNOWN)
        if qualifiers:
            narrowed = [c for c in codes if self.area[c] & qualifiers]
            if len(narrowed) == 1:
                return Resolution(narrowed[0], BY_QUALIFIER)
        own_code = self.own_code(own) if own else None
        if own_code in codes:
            return Resolution(own_code, BY_OWN_AMT)
        if own_code:
            own_amt = self._area_key(self.parishes[own_code].amt)
            narrowed = [c for c in codes if own_amt and own_amt == self._area_key(self.parishes[c].amt)]
            if len(narrowed) == 1:
                return Resolution(narrowed[0], BY_OWN_AMT)
        return Resolution(None, AMBIGUOUS)

    def resolve_series(self, texts: pd.Series, own: pd.Series | str | None = None) -> pd.DataFrame:
        """``SOGNEKODE`` and ``METODE`` for a column of texts, once per distinct (text, own parish)."""
        index = texts.index
        enc = pc.dictionary_encode(to_arrow_strings(texts))
        text_uniq = enc.dictionary.to_pylist()
        text_idx = pc.fill_null(enc.indices, len(text_uniq)).to_numpy().astype(np.int64)
        text_uniq.append(None)
        if own is None or isinstance(own, str):
            own_uniq: list[str | None] = [own]
            pair = text_idx
        else:
            own_enc = pc.dictionary_encode(to_arrow_strings(own))
            own_uniq = own_enc.dictionary.to_pylist()
            own_idx = pc.fill_null(own_enc.indices, len(own_uniq)).to_numpy().astype(np.int64)
            own_uniq.append(None)
            pair = text_idx * len(own_uniq) + own_idx
        pair_uniq, pair_codes = np.unique(pair, return_inverse=True)
        width = len(own_uniq)
        results = [self.resolve(text_uniq[int(p) // width], own_uniq[int(p) % width]) for p in pair_uniq]
        take = pa.array(pair_codes.astype(np.int64))
        codes = pa.array([r.code for r in results], type=ARROW_STR).take(take)
        methods = pa.array([r.method for r in results], type=ARROW_STR).take(take)
        return pd.DataFrame({"SOGNEKODE": pd.arrays.ArrowStringArray(codes),
                             "METODE": pd.arrays.ArrowStringArray(methods)}, index=index)

    def suggest(self, text: str, min_jw: float = 0.85) -> tuple[str | None, str | None, float | None]:
        """The register spelling closest to an unresolved text: (code, name, Jaro-Winkler)."""
        key, _ = self.key(self._split(text)[0])
        if not key:
            return None, None, None
        keys = list(self.index)
        best = process.extractOne(key, keys, scorer=JaroWinkler.similarity, score_cutoff=min_jw)
        if best is None:
            return None, None, None
        codes = self.index[best[0]]
        code = codes[0] if len(codes) == 1 else None
        name = self.parishes[codes[0]].name if code else "|".join(self.parishes[c].name for c in codes)
        return code, name, round(float(best[1]), 4)


DIGDAG_COLUMNS = ("STEDNR", "SOGN", "HERRED", "AMT")
REGISTER_ENV = "MGR_PARISH_REGISTER"  # a register file that replaces the project's sample


def unfold_danish(name: str) -> str:
    """An ASCII-folded place name with its Danish letters back: 'Merloese' -> 'Merløse',
    'Praestoe' -> 'Præstø', 'Nordrupoester' -> 'Nordrupøster'.  A leading 'Aa' stays, as
    the towns themselves write it (Aalborg, Aarhus, Aars)."""
    head, tail = name[:2], name[2:]
    if head not in ("Aa", "AA"):
        head, tail = "", name
    tail = tail.replace("aa", "å").replace("oe", "ø").replace("ae", "æ")
    return head + tail.replace("Aa", "Å").replace("Oe", "Ø").replace("Ae", "Æ")


def _read_digdag(text: str) -> list[dict[str, str]]:
    """The DigDag parish attribute table (``STEDNR,SOGN,HERRED,AMT,…``, names ASCII-folded)
    as register rows: the code is STEDNR, the names get their Danish letters back, and the
    folded spelling is kept as a variant."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        if not (row.get("STEDNR") or "").strip():
            continue  # a town without a parish number (Lemvig): no code to give it; see skipped_digdag
        name = (row.get("SOGN") or "").strip()
        danish = unfold_danish(name)
        rows.append({"sognekode": (row.get("STEDNR") or "").strip(), "sogn": danish,
                     "herred": unfold_danish((row.get("HERRED") or "").strip()),
                     "amt": unfold_danish((row.get("AMT") or "").strip()),
                     "varianter": name if name and name != danish else ""})
    return rows


def skipped_digdag(text: str) -> list[str]:
    """The names of a DigDag table's rows that have no parish number (left out)."""
    lines = _content_lines(text)
    if not _is_digdag(lines):
        return []
    return [(r.get("SOGN") or "?").strip() for r in csv.DictReader(io.StringIO("\n".join(lines)))
            if not (r.get("STEDNR") or "").strip()]


def _content_lines(text: str) -> list[str]:
    """A register file's lines without blank and comment (``#``) lines."""
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _is_digdag(lines: list[str]) -> bool:
    return bool(lines) and all(c in lines[0].split(",") for c in DIGDAG_COLUMNS)


def _read(text: str) -> list[dict[str, str]]:
    lines = _content_lines(text)
    if _is_digdag(lines):
        return _read_digdag("\n".join(lines))
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";")
    missing = [c for c in PARISH_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ParishRegisterError([f"the file lacks the columns {missing} (it needs {';'.join(PARISH_COLUMNS)})"])
    return [{c: (row.get(c) or "").strip() for c in PARISH_COLUMNS} for row in reader]


def build_parish_register(rows, rules: RuleSet | None = None) -> ParishRegister:
    problems, parishes = [], {}
    for n, row in enumerate(rows, start=2):
        code, name = row["sognekode"], row["sogn"]
        if not code or not name:
            problems.append(f"line {n}: a parish needs both a code and a name")
            continue
        if code in parishes:
            problems.append(f"line {n}: code {code} is used twice")
            continue
        variants = tuple(v.strip() for v in row["varianter"].split("|") if v.strip())
        parishes[code] = Parish(code, name, row["herred"], row["amt"], variants)
    if problems:
        raise ParishRegisterError(problems)
    return ParishRegister(parishes, place_rules() if rules is None else rules)


def import_parishes(path: Path | str, rules: RuleSet | None = None) -> ParishRegister:
    """Read a ``sognekode;sogn;herred;amt;varianter`` CSV (variants separated by ``|``)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return build_parish_register(_read(text), rules)


_DEFAULT: dict[str, ParishRegister] = {}


def register_file() -> Path:
    """The register in use: ``$MGR_PARISH_REGISTER`` (one an archive imported, such as the
    DigDag register) or else the project's sample (``validators/data/parishes.csv``)."""
    own = os.environ.get(REGISTER_ENV)
    return Path(own) if own else PARISHES_FILE


def load_parish_register() -> ParishRegister:
    """The register in use (``register_file``), read once per process and file version."""
    path = register_file()
    key = f"{path}:{path.stat().st_mtime_ns}"
    if key not in _DEFAULT:
        _DEFAULT.clear()
        _DEFAULT[key] = import_parishes(path)
    return _DEFAULT[key]


def write_register(register: ParishRegister, path: Path, provenance: list[str]) -> None:
    """The register as ``sognekode;sogn;herred;amt;varianter`` with where it came from in
    its header comment."""
    out = io.StringIO()
    for line in provenance:
        out.write(f"# {line}\n")
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(PARISH_COLUMNS)
    for p in register.parishes.values():
        writer.writerow([p.code, p.name, p.herred, p.amt, "|".join(p.variants)])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


UNRESOLVED_COLUMNS = ["text", "occurrences", "method", "suggested_code", "suggested_parish", "jw"]


def unresolved_places(texts: pd.Series, own: pd.Series | str | None = None,
                      register: ParishRegister | None = None, min_count: int = 1) -> pd.DataFrame:
    """Birthplace texts the register cannot resolve, most frequent first, with a suggestion.

    ``min_count`` 3 makes the list fit to leave the secure environment (no cell under 3).
    """
    register = load_parish_register() if register is None else register
    resolved = register.resolve_series(texts, own)
    bad = resolved["METODE"].isin(list(UNRESOLVED))
    frame = pd.DataFrame({"text": texts[bad].astype("string").str.strip(), "method": resolved.loc[bad, "METODE"]})
    counts = frame.groupby(["text", "method"], dropna=True).size().reset_index(name="occurrences")
    counts = counts[counts["occurrences"] >= min_count]
    sugg = [register.suggest(t) for t in counts["text"]]
    counts["suggested_code"] = [s[0] for s in sugg]
    counts["suggested_parish"] = [s[1] for s in sugg]
    counts["jw"] = [s[2] for s in sugg]
    counts = counts.sort_values(["occurrences", "text"], ascending=[False, True], ignore_index=True)
    return counts[UNRESOLVED_COLUMNS]


def parish_of_deliveries(deliveries) -> dict[str, str]:
    """entry number -> the delivery's own parish as metadata text (``SOGN, HERRED, AMT``),
    from ``RunResult.deliveries`` (or any objects with ``entry_number`` and ``meta``)."""
    out = {}
    for d in deliveries:
        meta = getattr(d, "meta", None) or {}
        parts = [(meta.get(k) or "").strip() for k in ("SOGN", "HERRED", "AMT")]
        if parts[0]:
            out[d.entry_number] = ", ".join(p for p in parts if p)
    return out
