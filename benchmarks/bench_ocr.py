"""OCR benchmark: synthetic scans per noise level, and real handwriting crops.

    python benchmarks/bench_ocr.py [--pages 20] [--seed 11] [--no-real] [--keep DIR]

For each noise level it generates ``--pages`` pages (a mix of KBF, KBD and FT runs)
into a temporary folder, runs ``ocr_pages`` over each run in order, and prints for
page numbers, entry numbers and dates:

* coverage  -- share of the true fields that would be prefilled (confidence at or
  above the product's threshold);
* precision -- share of the prefilled values that are right;
* offered   -- share of true fields that get any suggestion, and how many of those
  are right;

then a sweep over thresholds, and seconds per page. On the real crops in
``../shared/realdata/mgr-crops`` (relative to the repository root) it prints
exact-match accuracy and precision at the product threshold, per difficulty.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fixtures.scans import generate_book  # noqa: E402
from ingest.ocr import fields, pipeline, preprocess, recognise  # noqa: E402

REAL = REPO.parent / "shared" / "realdata" / "mgr-crops"
SWEEP = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


def _threshold(field: str) -> float | None:
    return pipeline.PREFILL_THRESHOLD.get(field)


class Tally:
    """(confidence, right?) pairs of the suggestions made, and how many fields there were."""

    def __init__(self):
        self.total = 0
        self.made: list[tuple[float, bool]] = []

    def add_truth(self, n=1):
        self.total += n

    def add(self, conf: float, right: bool):
        self.made.append((conf, right))

    def at(self, thr: float | None):
        if thr is None:
            return 0.0, None, 0
        pre = [r for c, r in self.made if c >= thr]
        cov = len(pre) / self.total if self.total else 0.0
        prec = sum(pre) / len(pre) if pre else None
        return cov, prec, len(pre)

    def offered(self):
        n = len(self.made)
        return (n / self.total if self.total else 0.0), (sum(r for _, r in self.made) / n if n else None)


def _pct(x):
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def _centre_in(band, box) -> bool:
    if not band or not box:
        return False
    cy = (band[1] + band[3]) / 2
    return box[1] <= cy <= box[3]


def score_run(result: dict, truths: list[dict], tallies: dict[str, Tally]) -> None:
    by_file = {p["file"]: p for p in result["pages"]}
    for t in truths:
        p = by_file.get(t["file"])
        tallies["page_number"].add_truth()
        if p and p["page_number"]:
            tallies["page_number"].add(p["page_number"]["confidence"],
                                       p["page_number"]["value"] == t["page_number"]["value"])
        rows = p["rows"] if p else []
        for tr in t["rows"]:
            pr = next((r for r in rows if _centre_in(r.get("band"), tr["band"])), None)
            if tr["entry_number"]:
                tallies["entry_number"].add_truth()
                if pr and pr["entry_number"]:
                    tallies["entry_number"].add(pr["entry_number"]["confidence"],
                                                pr["entry_number"]["value"] == tr["entry_number"]["value"])
            for td in tr["dates"]:
                tallies["date"].add_truth()
                pd = next((d for d in (pr["dates"] if pr else []) if d["role"] == td["role"]), None)
                if pd:
                    tallies["date"].add(pd["confidence"], _date_right(pd["value"], td["value"]))


def _date_right(pred: str, truth: str) -> bool:
    if pred.startswith("--"):  # no year read: month and day must match
        return pred[2:] == truth[5:]
    return pred == truth


def run_synthetic(pages: int, seed: int, keep: Path | None) -> None:
    print(f"== synthetic pages: {pages} per noise level (KBF, KBD and FT runs), seed {seed}")
    print(f"   product thresholds: {pipeline.PREFILL_THRESHOLD}")
    engine = recognise.get_engine()
    print(f"   engine: {engine.name}")
    split = {"KBF": pages - 2 * (pages // 3), "KBD": pages // 3, "FT": pages // 3}
    sweeps = {}
    for noise in ("clean", "moderate", "heavy"):
        tallies = defaultdict(Tally)
        seconds, n_pages = 0.0, 0
        with tempfile.TemporaryDirectory() as tmp:
            base = keep / noise if keep else Path(tmp)
            for form, n in split.items():
                if n <= 0:
                    continue
                out = base / form
                truths = generate_book(out, form=form, pages=n, noise=noise, seed=seed)
                t0 = time.perf_counter()
                result = pipeline.ocr_pages([out / t["file"] for t in truths], engine=engine)
                seconds += time.perf_counter() - t0
                n_pages += len(truths)
                score_run(result, truths, tallies)
        print(f"\n-- {noise}: {n_pages} pages, {seconds / max(n_pages, 1):.2f} s per page")
        print(f"   {'field':13} {'threshold':>9} {'coverage':>9} {'precision':>9}   {'offered':>8} "
              f"{'right when offered':>18}")
        for field in ("page_number", "entry_number", "date"):
            t = tallies[field]
            thr = _threshold(field)
            cov, prec, _ = t.at(thr)
            off, off_right = t.offered()
            thr_s = "none" if thr is None else f"{thr:.2f}"
            print(f"   {field:13} {thr_s:>9} {_pct(cov):>9} {_pct(prec):>9}   {_pct(off):>8} {_pct(off_right):>18}"
                  f"   (n={t.total})")
        sweeps[noise] = tallies
    print("\n-- threshold sweep (coverage / precision) per field and noise level")
    header = "   " + f"{'field':13} {'noise':9}" + "".join(f"{'>=' + format(s, '.2f'):>15}" for s in SWEEP)
    print(header)
    for field in ("page_number", "entry_number", "date"):
        for noise, tallies in sweeps.items():
            cells = []
            for s in SWEEP:
                cov, prec, _ = tallies[field].at(s)
                cells.append(f"{_pct(cov).strip()}/{_pct(prec).strip():>6}".rjust(15))
            print(f"   {field:13} {noise:9}" + "".join(cells))


# --------------------------------------------------------------------------- real crops

def _crop_image(path: Path, mode: str):
    """The recogniser's input for one real crop, prepared as the pipeline prepares a cell."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("L")).copy()
    # many crops carry a solid black band (outside the page) on an edge: paint
    # columns and rows that are mostly black white before anything else
    arr[:, np.median(arr, axis=0) < 80] = 255
    arr[np.median(arr, axis=1) < 80, :] = 255
    norm = preprocess.normalise_light(Image.fromarray(arr, "L"))
    ink = preprocess.binarise(norm)
    h, w = ink.shape
    multiline = mode == "date"
    img, _ = preprocess.cell_image(norm, ink, (0, 0, w, h), 2, 44 if multiline else 48, multiline=multiline)
    return img


def run_real() -> None:
    print("\n== real handwriting: ../shared/realdata/mgr-crops (ICFHR 2022, coastalcph/mgr-birthdates test split)")
    if not REAL.is_dir():
        print(f"   skipped: {REAL} is not there (it is shared data, not part of the repository)")
        return
    engine = recognise.get_engine()
    thr_e = _threshold("entry_number")
    thr_d = _threshold("date")
    print("   exact: the recogniser's best reading equals the label; offered: a value was suggested;")
    print("   prefilled/precision: at the product threshold, after the same sequence step as on pages")
    print("   (the rows of one scan are one run of entry numbers); exact after seq.: the value offered")
    print(f"   {'field':12} {'difficulty':10} {'n':>4} {'exact':>7} {'offered':>8} {'prefilled':>10} "
          f"{'precision':>10} {'exact after seq.':>17} {'s/crop':>7}")
    for field, folder in (("entry_number", "row_id"), ("date", "birthdate")):
        for diff in ("easy", "average", "difficult"):
            d = REAL / folder / "test" / diff
            labels = d / "labels.csv"
            if not labels.is_file():
                continue
            with labels.open(newline="", encoding="utf-8") as fh:
                rows = [(r["filename"], r["label"].strip()) for r in csv.DictReader(fh)]
            t0 = time.perf_counter()
            if field == "entry_number":
                stats = _real_entries(engine, d, rows, thr_e)
            else:
                stats = _real_dates(engine, d, rows, thr_d if thr_d is not None else 0.9)
            secs = (time.perf_counter() - t0) / max(len(rows), 1)
            n, exact, offered, pre, pre_right, seq_exact = stats
            prec = pre_right / pre if pre else None
            star = "" if field == "entry_number" or thr_d is not None else "*"
            print(f"   {field:12} {diff:10} {n:4d} {_pct(exact / n):>7} {_pct(offered / n):>8} "
                  f"{(_pct(pre / n) + star):>10} {_pct(prec):>10} "
                  f"{_pct(seq_exact / n if seq_exact is not None else None):>17} {secs:7.3f}")
    print("   * dates are not prefilled; their columns show what confidence 0.90 would give")


def _scan_and_row(name: str) -> tuple[str, int]:
    m = re.match(r"born_(.+)_(\d+)\.\w+$", name)
    return (m.group(1), int(m.group(2))) if m else (name, 0)


def _real_entries(engine, d: Path, rows, thr):
    from ingest.ocr.sequence import Candidate

    by_scan: dict[str, dict[int, tuple[str, list]]] = defaultdict(dict)
    exact = offered = 0
    for name, label in rows:
        img = _crop_image(d / name, "entry")
        found = pipeline._read_numbers(engine, [img], "entry", fields.parse_entry)[0] if img else []
        exact += bool(found) and found[0][0] == label
        scan, row = _scan_and_row(name)
        by_scan[scan][row] = (label, [Candidate(v, c, None) for v, c in found])
    pre = pre_right = seq_exact = 0
    for scan, items in by_scan.items():
        pr = pipeline.PageRead(scan, None, 0, ok=True)
        labels_by_row = {}
        for row in range(max(items) + 1):  # rows absent from the split stay empty
            label, cands = items.get(row, (None, []))
            pr.rows.append({"entry": cands, "dates": [], "band": None})
            labels_by_row[row] = label
        page = pipeline.resolve([pr])[0]
        for row, out in enumerate(page["rows"]):
            label = labels_by_row[row]
            if label is None:
                continue
            e = out["entry_number"]
            offered += e is not None
            seq_exact += bool(e) and e["value"] == label
            if e and e["confidence"] >= thr:
                pre += 1
                pre_right += e["value"] == label
    return len(rows), exact, offered, pre, pre_right, seq_exact


def _real_dates(engine, d: Path, rows, thr):
    exact = offered = pre = pre_right = 0
    for name, label in rows:
        img = _crop_image(d / name, "date")
        r = engine.read(img, "date") if img else None
        p = fields.parse_date(r.text) if r and r.words else None
        if p is None or p.year is None:
            continue
        value = f"{p.year:04d}{p.month:02d}{p.day:02d}"
        conf = r.conf * p.match
        offered += 1
        exact += value == label
        if conf >= thr:
            pre += 1
            pre_right += value == label
    return len(rows), exact, offered, pre, pre_right, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20, help="pages per noise level")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-real", action="store_true", help="skip the real crops")
    ap.add_argument("--keep", type=Path, help="keep the generated pages in this folder")
    args = ap.parse_args(argv)
    try:
        recognise.get_engine()
    except recognise.OcrUnavailable as exc:
        print(f"bench_ocr: {exc}", file=sys.stderr)
        return 2
    run_synthetic(args.pages, args.seed, args.keep)
    if not args.no_real:
        run_real()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
