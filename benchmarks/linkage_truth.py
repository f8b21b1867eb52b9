"""The linkage benchmark's truth and keying noise, kept apart from the cleaning code.

Nothing here reads the project's name database, its phonetic or standardisation rules, or
``fixtures.names``: the names come from real keyed census rows (the Vejby censuses of 1880,
1890 and 1901 in ``../shared/realdata/ddd-census-vejby``, with the frequencies they have
there), and the noise is written from what the pilot and an outside evaluation saw keyed,
as generic operations on letters and dates with rates of their own. So a cleaning step is
measured on spellings it was not written for.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata" / "ddd-census-vejby"
_WORD = re.compile(r"^[A-Za-zÆØÅæøåÖöÜüÉé]{2,}$")
# words that end the name or are no name: a maiden name after "født", a status or a placeholder
_STOP = {"født", "f", "fød", "enke", "efter", "datter", "søn", "pige", "dreng", "jun", "sen", "udøbt", "navn",
         "dødfødt", "ugift", "gift", "barn", "tvilling", "uægte", "unavngiven", "nn"}


@dataclass
class NamePool:
    boys: list[str]
    boys_p: np.ndarray
    girls: list[str]
    girls_p: np.ndarray
    surnames: list[str]
    surnames_p: np.ndarray
    source: str


def _pool(counter: Counter) -> tuple[list[str], np.ndarray]:
    names = sorted(counter, key=lambda n: (-counter[n], n))
    w = np.array([counter[n] for n in names], dtype=float)
    return names, w / w.sum()


def real_name_pool(folder: Path = REALDATA) -> NamePool | None:
    """Given names by sex and surnames, as often as they were keyed in the real censuses;
    None when the files are not there."""
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        return None
    boys: Counter = Counter()
    girls: Counter = Counter()
    surnames: Counter = Counter()
    for path in files:
        frame = pd.read_csv(path, sep=";", encoding="latin-1", dtype=str, usecols=[5, 6], index_col=False,
                            keep_default_na=False)
        for full, sex in zip(frame.iloc[:, 0], frame.iloc[:, 1]):
            words = []
            for w in full.replace(",", " ").split():
                w = w.strip(".")
                if w.lower() in _STOP:
                    break
                if _WORD.match(w):
                    words.append(w[0].upper() + w[1:].lower())
            if len(words) < 2:
                continue
            given = words[:-1]
            (boys if sex.strip().upper() == "M" else girls if sex.strip().upper() == "K" else Counter()).update(given)
            surnames[words[-1]] += 1
    b, bp = _pool(boys)
    g, gp = _pool(girls)
    s, sp = _pool(surnames)
    return NamePool(b, bp, g, gp, s, sp, source=f"{len(files)} real census files ({folder.name})")


# --------------------------------------------------------------------------- noise

@dataclass
class KeyingNoise:
    """Rates of what the keying does to a record (per record unless said)."""
    respelt: float = 0.06  # a name keyed in another spelling (C/K, TH/T, double letters, AA/Å ...)
    slip: float = 0.025  # a typing slip: a letter left out, doubled, swapped or wrong
    second_name_dropped: float = 0.05  # of children with a second given name: not keyed
    abbreviated: float = 0.02  # a given name written short (Chr., Joh., Mar.)
    placeholder: float = 0.008  # UOP keyed for an unreadable second name
    sex_as_word: float = 0.005  # 'pige'/'dreng' keyed for the sex
    date_ddmmyyyy: float = 0.003
    date_yymmdd: float = 0.003
    date_two_digit_year: float = 0.005  # 12-03-21
    day_month_swapped: float = 0.002
    late_december_next_section: float = 0.35  # of births from 20 December: registered in the next year
    year_as_section: float = 0.5  # of those: the year keyed as the section's
    truncated_surname: float = 0.003  # Anders. for Andersen


_VOWELS = set("AEIOUYÆØÅ")

_RESPELL = (  # generic orthographic alternations of Danish names (either direction)
    (r"^C(?=[AOULR])", "K"), (r"^K(?=[AOULR])", "C"), (r"CH", "K"), (r"TH", "T"), (r"(?<=[AEIOU])T(?=[AEIOU])", "TH"),
    (r"W", "V"), (r"^V", "W"), (r"PH", "F"), (r"AA", "Å"), (r"Å", "AA"), (r"([LNMRST])\1", r"\1"),
    (r"(?<=[AEIOUY])([LNMRST])(?=[AEIOUY])", r"\1\1"), (r"IE", "I"), (r"SSEN$", "SEN"), (r"(?<=[^S])SEN$", "SSEN"),
    (r"Ö", "Ø"), (r"Ø", "Ö"), (r"Y", "I"), (r"X", "KS"), (r"KS", "X"), (r"E$", "A"),
)


def respell(rng, name: str) -> str:
    """The name in another spelling, by one alternation that applies to it (or as it was)."""
    up = name.upper()
    options = [(p, r) for p, r in _RESPELL if re.search(p, up)]
    if not options:
        return name
    p, r = options[int(rng.integers(len(options)))]
    out = re.sub(p, r, up, count=1)
    return out if name.isupper() else out.capitalize()


def slip(rng, name: str) -> str:
    if len(name) < 4:
        return name
    i = int(rng.integers(1, len(name) - 1))
    kind = int(rng.integers(4))
    if kind == 0:
        return name[:i] + name[i + 1:]  # left out
    if kind == 1:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]  # two swapped
    if kind == 2:
        return name[:i] + name[i] + name[i:]  # doubled (Paalle, Haansen)
    near = "qwertyuiopasdfghjklzxcvbnm"
    c = name[i].lower()
    j = near.find(c)
    wrong = near[max(0, j - 1)] if j > 0 else "e"
    return name[:i] + (wrong.upper() if name[i].isupper() else wrong) + name[i + 1:]


def abbreviate(name: str) -> str:
    """Chr. for Christian, Kr. for Kristian, Joh. for Johannes, Mar. for Marie: the letters
    before the first vowel when there are two or more, else up to the consonant after it."""
    up = name.upper()
    i = next((k for k, ch in enumerate(up) if ch in _VOWELS), len(up))
    if i >= 2:
        short = name[:i]
    else:
        j = next((k for k in range(i + 1, len(up)) if up[k] not in _VOWELS), len(up))
        short = name[:j + 1]
    return short + "." if len(short) < len(name) else name


def keyed_date(rng, born: date, noise: KeyingNoise) -> tuple[str, str]:
    """(keyed birth date, what happened) for a correctly read date."""
    s = born.strftime("%Y%m%d")
    r = rng.random()
    edges = np.cumsum([noise.date_ddmmyyyy, noise.date_yymmdd, noise.date_two_digit_year, noise.day_month_swapped])
    if r < edges[0]:
        return s[6:] + s[4:6] + s[:4], "ddmmyyyy"
    if r < edges[1]:
        return s[2:], "yymmdd"
    if r < edges[2]:
        return f"{born.day}-{born.month}-{s[2:4]}", "two_digit_year"
    if r < edges[3] and born.day <= 12 and born.day != born.month:
        return s[:4] + s[6:] + s[4:6], "day_month_swapped"
    return s, ""
