"""Tesseract calls.

Two engines give the same answers in the same shape:

* ``TesserocrEngine`` keeps one Tesseract instance warm per reading mode (a few
  milliseconds per cell) -- used when the ``tesserocr`` package imports;
* ``CliEngine`` runs the ``tesseract`` program through pytesseract. Starting a
  process costs about 0.2 s, so it reads all crops of one mode on a page in a
  single call: the crops are stacked on one tall white sheet, far apart, read with
  one page-segmentation pass, and each word is given back to the crop it lies in.

Reading modes (page-segmentation mode and character whitelist):

* ``digits`` -- one line of print or writing made of digits (psm 7);
* ``entry`` -- an entry number: digits and an optional letter such as ``23a`` (psm 7);
* ``date`` -- a date cell, possibly on several lines (psm 6, digits, separators and
  the letters of Danish month names);
* ``line`` -- a line of printed Danish text (psm 7);
* ``block`` -- a few lines of printed Danish text (psm 6);
* ``sparse`` -- scattered digits in a corner or strip (psm 11).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

# Tesseract's OpenMP threads fight each other on small machines: one thread per
# process is several times faster here. Must be set before the library starts.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

MONTH_LETTERS = "".join(sorted(set(
    "JanuarFebruarMartsAprilMajJuniJuliAugustSeptemberOktoberNovemberDecemberjanfebmraplugsoktndcvi")))

MODES = {
    "digits": {"psm": 7, "whitelist": "0123456789"},
    "entry": {"psm": 7, "whitelist": "0123456789ab"},
    # no whitelist for dates: Tesseract cannot whitelist the space between day and
    # month, and without it merges them and reports a confidence of 0
    "date": {"psm": 6, "whitelist": None},
    "line": {"psm": 7, "whitelist": None},
    "block": {"psm": 6, "whitelist": None},
    "sparse": {"psm": 11, "whitelist": "0123456789"},
}


@dataclass
class Word:
    text: str
    conf: float  # 0..1
    box: tuple[int, int, int, int]  # in the coordinates of the image given


@dataclass
class Reading:
    words: list[Word] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def conf(self) -> float:
        return min((w.conf for w in self.words), default=0.0)


class OcrUnavailable(RuntimeError):
    """Tesseract (or its Danish data) is not installed."""


def _tessdata_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get("TESSDATA_PREFIX")
    if env:
        dirs.append(Path(env))
    for d in ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
              "/usr/share/tessdata", "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata"):
        dirs.append(Path(d))
    return dirs


def find_tessdata(lang: str = "dan") -> tuple[Path | None, str]:
    """The tessdata folder and the language to use (Danish if present, else English)."""
    for want in (lang, "eng"):
        for d in _tessdata_dirs():
            if (d / f"{want}.traineddata").is_file():
                return d, want
    return None, lang


class TesserocrEngine:
    name = "tesserocr"

    def __init__(self, tessdata: Path, lang: str):
        import tesserocr  # noqa: F401  (import error means: use the CLI engine)

        self._tesserocr = tesserocr
        self.tessdata = str(tessdata).rstrip("/") + "/"
        self.lang = lang
        self._apis: dict[str, object] = {}

    def _api(self, mode: str):
        api = self._apis.get(mode)
        if api is None:
            t = self._tesserocr
            spec = MODES[mode]
            api = t.PyTessBaseAPI(path=self.tessdata, lang=self.lang, psm=spec["psm"])
            if spec["whitelist"]:
                api.SetVariable("tessedit_char_whitelist", spec["whitelist"])
            self._apis[mode] = api
        return api

    def read(self, img: Image.Image, mode: str) -> Reading:
        t = self._tesserocr
        api = self._api(mode)
        api.SetImage(img)
        api.Recognize()
        words = []
        it = api.GetIterator()
        level = t.RIL.WORD
        if it is not None:
            for r in t.iterate_level(it, level):
                try:
                    text = r.GetUTF8Text(level)
                except RuntimeError:  # an empty word
                    continue
                if not text or not text.strip():
                    continue
                box = r.BoundingBox(level) or (0, 0, img.width, img.height)
                words.append(Word(text.strip(), max(0.0, r.Confidence(level)) / 100.0, tuple(box)))
        api.Clear()
        return Reading(words)

    def read_many(self, imgs: list[Image.Image], mode: str) -> list[Reading]:
        return [self.read(im, mode) for im in imgs]

    def close(self) -> None:
        for api in self._apis.values():
            try:
                api.End()
            except Exception:
                pass
        self._apis.clear()


class CliEngine:
    """pytesseract, one process per batch of crops."""

    name = "tesseract-cli"
    GAP = 60  # white space between stacked crops

    def __init__(self, lang: str, timeout: float = 60.0):
        import pytesseract

        self._pt = pytesseract
        self.lang = lang
        self.timeout = timeout

    def _config(self, mode: str, psm: int | None = None) -> str:
        spec = MODES[mode]
        cfg = f"--oem 1 --psm {psm or spec['psm']}"
        if spec["whitelist"]:
            cfg += f" -c tessedit_char_whitelist={spec['whitelist'].replace(' ', '')}"
        return cfg

    def _data(self, img: Image.Image, cfg: str) -> list[Word]:
        d = self._pt.image_to_data(img, lang=self.lang, config=cfg, output_type=self._pt.Output.DICT,
                                   timeout=self.timeout)
        words = []
        for i, text in enumerate(d["text"]):
            if not text or not text.strip():
                continue
            conf = float(d["conf"][i])
            if conf < 0:
                continue
            box = (d["left"][i], d["top"][i], d["left"][i] + d["width"][i], d["top"][i] + d["height"][i])
            words.append(Word(text.strip(), conf / 100.0, box))
        return words

    def read(self, img: Image.Image, mode: str) -> Reading:
        return Reading(self._data(img, self._config(mode)))

    def read_many(self, imgs: list[Image.Image], mode: str) -> list[Reading]:
        if not imgs:
            return []
        if len(imgs) == 1:
            return [self.read(imgs[0], mode)]
        # stack the crops; a single-line mode must become a block mode on the sheet
        psm = {7: 6, 6: 6, 11: 11}[MODES[mode]["psm"]]
        width = max(im.width for im in imgs) + 2 * self.GAP
        height = sum(im.height for im in imgs) + self.GAP * (len(imgs) + 1)
        sheet = Image.new("L", (width, height), 255)
        spans = []
        y = self.GAP
        for im in imgs:
            sheet.paste(im.convert("L"), (self.GAP, y))
            spans.append((y, y + im.height))
            y += im.height + self.GAP
        out = [Reading() for _ in imgs]
        for w in self._data(sheet, self._config(mode, psm)):
            cy = (w.box[1] + w.box[3]) / 2
            for i, (a, b) in enumerate(spans):
                if a - self.GAP / 2 <= cy < b + self.GAP / 2:
                    box = (w.box[0] - self.GAP, w.box[1] - a, w.box[2] - self.GAP, w.box[3] - a)
                    out[i].words.append(Word(w.text, w.conf, box))
                    break
        for r in out:
            r.words.sort(key=lambda w: (w.box[1] // 40, w.box[0]))
        return out

    def close(self) -> None:
        pass


_ENGINES: dict[str, object] = {}


def get_engine(prefer: str | None = None):
    """The engine to use: tesserocr when it imports, else the tesseract program.

    ``prefer`` (or the environment variable MGR_OCR_ENGINE) may be ``tesserocr`` or
    ``cli``; any other value selects neither. Engines are kept and reused.
    Raises OcrUnavailable when none can run.
    """
    prefer = prefer or os.environ.get("MGR_OCR_ENGINE") or "auto"
    if prefer in _ENGINES:
        return _ENGINES[prefer]
    tessdata, lang = find_tessdata("dan")
    errors = []
    engine = None
    if prefer in ("auto", "tesserocr"):
        if tessdata is None:
            errors.append("no tessdata folder with dan or eng data found")
        else:
            try:
                engine = TesserocrEngine(tessdata, lang)
                engine._api("digits")  # fail now, not in the middle of a page
            except Exception as exc:
                engine = None
                errors.append(f"tesserocr: {type(exc).__name__}")
    if engine is None and prefer in ("auto", "cli"):
        if shutil.which("tesseract") is None:
            errors.append("the tesseract program is not on PATH")
        else:
            try:
                import pytesseract  # noqa: F401

                langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                                       timeout=30).stdout.split()
                engine = CliEngine("dan" if "dan" in langs else "eng")
            except Exception as exc:
                errors.append(f"pytesseract: {type(exc).__name__}")
    if engine is None:
        if prefer not in ("auto", "tesserocr", "cli"):
            errors.append(f"unknown engine {prefer!r} (use tesserocr or cli)")
        raise OcrUnavailable("Tesseract is not available (" + "; ".join(errors) +
                             "): install tesseract-ocr and tesseract-ocr-dan")
    _ENGINES[prefer] = engine
    return engine
