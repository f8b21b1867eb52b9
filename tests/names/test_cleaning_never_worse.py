"""No cleaning step may make a name worse for matching: for every pair of names that
match on their keyed values (equal, or Jaro-Winkler 0.95 or more on the upper-cased
letters), the minimal-cleaned keys are at least as close.  Checked over the names of the
generated fixtures and of the real Vejby census files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from conftest import SUMMARY_LINES
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cdist

from ingest.pipeline import run_pipeline
from validators.names.transforms import name_rules

REPO = Path(__file__).resolve().parents[2]
VEJBY = REPO.parent / "shared" / "realdata" / "ddd-census-vejby"
NAME_COLUMNS = ("FORNAVN", "MELLEMNAVNE", "EFTERNAVN", "FULDT_NAVN", "FADERS_FORNAVN", "FADERS_EFTERNAVN",
                "MODERS_FORNAVN", "MODERS_EFTERNAVN", "MODERS_PIGENAVN", "FADERS_NAVN", "MODERS_NAVN")


def _single_names() -> list[str]:
    assert VEJBY.is_dir(), f"the real census files are missing: {VEJBY}"
    result = run_pipeline([REPO / "fixtures" / "kbf", REPO / "fixtures" / "kbd", REPO / "fixtures" / "ft", VEJBY],
                          keep_clean=True)
    words: set[str] = set()
    for frames in result.clean.values():
        for frame in frames:
            for column in NAME_COLUMNS:
                if column in frame:
                    for value in frame[column].dropna().unique():
                        words.update(w for w in str(value).replace("-", " ").split() if w.isalpha())
    return sorted(words)


# Typos the linkage evaluation met (a doubled a), beside the names they are typos of, and
# spellings where aa is the old å: both must stay at least as close as keyed.
KNOWN_TRAPS = ("Paalle", "Palle", "Haansen", "Hansen", "Laarsen", "Larsen", "Susaanne", "Susanne", "Aage", "Åge",
               "Kaare", "Kåre", "Nørgaard", "Nørgård", "Aagesen", "Ågesen", "Maaren", "Maren", "Jaakob", "Jakob")


def _raw_key(word: str) -> str:
    return "".join(c for c in word.upper() if c.isalpha())


def test_clean_keys_are_never_further_apart_than_the_keyed_names():
    rules = name_rules()
    words = sorted(set(_single_names()) | set(KNOWN_TRAPS))
    raw = [_raw_key(w) for w in words]
    clean = [rules.key(rules.normalise(w)) or "" for w in words]
    raw_sim = cdist(raw, raw, scorer=JaroWinkler.similarity, dtype=np.float32, workers=1)
    clean_sim = cdist(clean, clean, scorer=JaroWinkler.similarity, dtype=np.float32, workers=1)
    matching = np.triu(raw_sim >= 0.95, k=1)
    worse = matching & (clean_sim < raw_sim - 1e-6)
    pairs = [(words[i], words[j], round(float(raw_sim[i, j]), 3), round(float(clean_sim[i, j]), 3))
             for i, j in zip(*np.nonzero(worse))]
    line = (f"names never worse after cleaning: {int(matching.sum())} pairs of {len(words)} distinct single names "
            f"match on keyed values (JW >= 0.95); {len(pairs)} are further apart after cleaning")
    print("\n" + line)
    SUMMARY_LINES.append(line)
    assert pairs == [], pd.DataFrame(pairs[:40], columns=["a", "b", "jw_raw", "jw_clean"]).to_string()
