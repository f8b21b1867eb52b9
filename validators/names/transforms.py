"""Ordered, named text transforms kept as data (``validators/data/*_transforms.csv``).

A rules file is a table ``order;name;kind;pattern;replacement;applies_to``. The same
engine serves names (``name_transforms.csv``), birthplaces (``place_transforms.csv``)
and the rough sound key of the suggestion aid (``phonetic_rules.csv``), so an archivist
extends all three the same way and every rule can be tested on its own by name.

The results are always laid beside the keyed value, never written over it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DATA = Path(__file__).resolve().parent.parent / "data"
NAME_RULES_FILE = DATA / "name_transforms.csv"
PLACE_RULES_FILE = DATA / "place_transforms.csv"
PHONETIC_RULES_FILE = DATA / "phonetic_rules.csv"

RULE_COLUMNS = ("order", "name", "kind", "pattern", "replacement", "applies_to")
TEXT_KINDS = frozenset({"upper", "replace", "replace_known", "regex", "struck_keep", "struck_drop"})
KINDS = TEXT_KINDS | {"split", "key", "own_parish"}

WITH_STRUCK = "med_klammer"  # the variant that keeps a struck-out part (brackets removed)
WITHOUT_STRUCK = "uden_klammer"  # the variant without it
VARIANTS = (WITH_STRUCK, WITHOUT_STRUCK)

# pandas keeps its Arrow-backed strings as large_string: building ours that way saves a
# cast of every million-row column on the way into a DataFrame.
ARROW_STR = pa.large_string()


class RulesFileError(ValueError):
    """A rules file that cannot be used (unknown kind, bad regex, duplicate name)."""


@dataclass(frozen=True)
class Transform:
    order: int
    name: str
    kind: str
    pattern: str = ""
    replacement: str = ""
    applies_to: frozenset[str] = frozenset({"*"})

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RulesFileError(f"rule {self.name!r}: unknown kind {self.kind!r} (known: {sorted(KINDS)})")
        if self.kind in ("regex", "struck_keep", "struck_drop", "split", "key", "own_parish"):
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise RulesFileError(f"rule {self.name!r}: bad pattern {self.pattern!r}: {exc}") from exc
        if self.kind in ("replace", "replace_known") and not self.pattern:
            raise RulesFileError(f"rule {self.name!r}: a replace rule needs a pattern")

    @property
    def regex(self) -> re.Pattern:
        return _compiled(self.pattern)

    def applies(self, source: str | None) -> bool:
        return "*" in self.applies_to or (source is not None and source.upper() in self.applies_to)

    def apply(self, text: str) -> str:
        """This rule alone on ``text`` (for text kinds; ``split``/``key`` see RuleSet)."""
        if self.kind == "upper":
            return text.upper()
        if self.kind == "replace":
            return text.replace(self.pattern, self.replacement)
        if self.kind == "replace_known":
            if self.pattern not in text:
                return text
            return _WORD.sub(lambda m: _known_replacement(m.group(0), self.pattern, self.replacement), text)
        if self.kind in ("regex", "struck_keep", "struck_drop"):
            return self.regex.sub(self.replacement, text)
        if self.kind == "key":
            return self.regex.sub("", text)
        if self.kind == "split":
            return " ".join(p for p in self.regex.split(text) if p)
        return text


_WORD = re.compile(r"[^\W\d_]+")


def _known_replacement(word: str, pattern: str, replacement: str) -> str:
    """``word`` with ``pattern`` replaced, if that gives a spelling the name database
    knows (``AAGE`` -> ``ÅGE``, ``NØRGAARD`` -> ``NØRGÅRD``); else the word as it is
    (``PAALLE`` stays: ``PÅLLE`` is no name, and ``PALLE`` is nearer the keyed one)."""
    if pattern not in word:
        return word
    candidate = word.replace(pattern, replacement)
    known = _known_words()
    if candidate in known:
        return candidate
    # A patronymic of a known name: ÅGESEN, ÅSEDATTER.
    for ending in _PATRONYMIC_ENDINGS:
        if candidate.endswith(ending) and candidate[:-len(ending)] in known:
            return candidate
    return word


_PATRONYMIC_ENDINGS = ("SDATTER", "DATTER", "SEN", "SØN", "S")


@cache
def _known_words() -> frozenset[str]:
    """Every single name of the name database's seed (variants and grundnavne), upper
    case, with 'AA' also written 'Å': read raw, not through these rules."""
    path = DATA / "names.csv"
    words: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader((line for line in fh if not line.startswith("#")), delimiter=";"):
            for cell in (row.get("variant") or "", row.get("grundnavn") or ""):
                for word in _WORD.findall(cell.upper()):
                    words.add(word)
                    words.add(word.replace("AA", "Å"))
    return frozenset(words)


@cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _read_rows(text: str) -> list[dict[str, str]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";", quotechar='"')
    missing = [c for c in RULE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RulesFileError(f"rules file lacks the columns {missing}")
    return list(reader)


def _applies(value: str) -> frozenset[str]:
    parts = {p.strip().upper() for p in (value or "*").split(",") if p.strip()}
    return frozenset(parts or {"*"})


class RuleSet:
    """An ordered list of named transforms."""

    def __init__(self, transforms: Iterable[Transform]):
        self.transforms: tuple[Transform, ...] = tuple(sorted(transforms, key=lambda t: t.order))
        names = [t.name for t in self.transforms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise RulesFileError(f"rule names used twice: {dupes}")
        self._by_name = {t.name: t for t in self.transforms}
        self._chains: dict[tuple[str | None, str], tuple[Transform, ...]] = {}

    @classmethod
    def from_csv(cls, path: Path | str) -> RuleSet:
        rows = _read_rows(Path(path).read_text(encoding="utf-8"))
        out = []
        for row in rows:
            try:
                order = int(row["order"])
            except (TypeError, ValueError) as exc:
                raise RulesFileError(f"rule {row.get('name')!r}: order {row.get('order')!r} is not a number") from exc
            out.append(Transform(order, row["name"].strip(), row["kind"].strip(), row["pattern"] or "",
                                 row["replacement"] or "", _applies(row["applies_to"])))
        return cls(out)

    def __getitem__(self, name: str) -> Transform:
        return self._by_name[name]

    def __iter__(self):
        return iter(self.transforms)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.transforms]

    # -- the chain for one source and variant

    def chain(self, source: str | None = None, variant: str = WITH_STRUCK) -> tuple[Transform, ...]:
        key = (source, variant)
        if key not in self._chains:
            skip = "struck_drop" if variant == WITH_STRUCK else "struck_keep"
            self._chains[key] = tuple(t for t in self.transforms if t.applies(source)
                                      and t.kind in TEXT_KINDS | {"own_parish"} and t.kind != skip)
        return self._chains[key]

    def normalise(self, text: str | None, source: str | None = None, variant: str = WITH_STRUCK) -> str | None:
        """The text through every text rule in order; None when nothing is left."""
        if text is None or (not isinstance(text, str) and pd.isna(text)):
            return None
        s = str(text)
        for t in self.chain(source, variant):
            if t.kind == "own_parish":
                continue
            s = t.apply(s)
        s = s.strip()
        return s or None

    def trace(self, text: str, source: str | None = None, variant: str = WITH_STRUCK) -> list[tuple[str, str]]:
        """(rule name, text after it) for every rule that changed the text: for curation."""
        out, s = [], text
        for t in self.chain(source, variant):
            if t.kind == "own_parish":
                continue
            after = t.apply(s)
            if after != s:
                out.append((t.name, after))
            s = after
        return out

    def _first(self, kind: str, source: str | None) -> Transform | None:
        return next((t for t in self.transforms if t.kind == kind and t.applies(source)), None)

    def single_names(self, normalised: str | None, source: str | None = None) -> list[str]:
        """A normalised name field split into its single names."""
        if not normalised:
            return []
        rule = self._first("split", source)
        if rule is None:
            return [normalised]
        return [p for p in rule.regex.split(normalised) if p]

    def key(self, normalised: str | None, source: str | None = None) -> str | None:
        """A normalised text with the ``key`` rules' characters removed (blanks, hyphens...)."""
        if not normalised:
            return None
        s = normalised
        for t in self.transforms:
            if t.kind == "key" and t.applies(source):
                s = t.regex.sub("", s)
        return s or None


@cache
def _load(path: str, mtime: float) -> RuleSet:
    return RuleSet.from_csv(path)


def load_rules(path: Path | str) -> RuleSet:
    """A rules file, cached until the file changes."""
    p = Path(path)
    return _load(str(p), p.stat().st_mtime)


def name_rules() -> RuleSet:
    return load_rules(NAME_RULES_FILE)


def place_rules() -> RuleSet:
    return load_rules(PLACE_RULES_FILE)


def phonetic_rules() -> RuleSet:
    return load_rules(PHONETIC_RULES_FILE)


# --------------------------------------------------------------------------- vectorised

def to_arrow_strings(values) -> pa.Array:
    """A column as an Arrow string array without a Python round trip where possible."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == ARROW_STR else pc.cast(values, ARROW_STR)
    if isinstance(values, pd.Series):
        arr = values.array
        if isinstance(arr, pd.arrays.ArrowStringArray) or hasattr(arr, "_pa_array"):
            data = arr._pa_array  # noqa: SLF001 - pandas keeps the Arrow data here
            data = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
            if data.type in (pa.string(), pa.large_string()):
                return data if data.type == ARROW_STR else pc.cast(data, ARROW_STR)
        return pa.array(values.astype(object).where(values.notna(), None).to_numpy(), type=ARROW_STR,
                        from_pandas=True)
    return pa.array(list(values), type=ARROW_STR, from_pandas=True)


def map_distinct(values, func: Callable[[str], str | None], index=None) -> pd.Series:
    """``func`` run once per distinct non-null value and spread back over the rows.

    This is what keeps a million rows cheap: a name column holds a few thousand
    distinct spellings, and Arrow does the encoding and the spreading.
    """
    arr = to_arrow_strings(values)
    if index is None and isinstance(values, pd.Series):
        index = values.index
    encoded = pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    dictionary = encoded.dictionary.to_pylist()
    results = pa.array([func(v) for v in dictionary], type=ARROW_STR)
    out = results.take(encoded.indices)
    return pd.Series(pd.arrays.ArrowStringArray(out), index=index)


def map_distinct_pairs(a, b, func: Callable[[str | None, str | None], str | None], index=None) -> pd.Series:
    """``func(a, b)`` once per distinct pair of values, spread back over the rows."""
    codes_a, uniq_a = pd.factorize(pd.Series(pd.arrays.ArrowStringArray(to_arrow_strings(a))), sort=False)
    codes_b, uniq_b = pd.factorize(pd.Series(pd.arrays.ArrowStringArray(to_arrow_strings(b))), sort=False)
    width = len(uniq_b) + 1
    pair = (codes_a.astype(np.int64) + 1) * width + (codes_b.astype(np.int64) + 1)
    pair_codes, pair_uniq = pd.factorize(pair, sort=False)
    ua = [None if i == 0 else uniq_a[i - 1] for i in (pair_uniq // width)]
    ub = [None if i == 0 else uniq_b[i - 1] for i in (pair_uniq % width)]
    results = pa.array([func(x, y) for x, y in zip(ua, ub)], type=ARROW_STR)
    out = results.take(pa.array(pair_codes))
    if index is None and isinstance(a, pd.Series):
        index = a.index
    return pd.Series(pd.arrays.ArrowStringArray(out), index=index)
