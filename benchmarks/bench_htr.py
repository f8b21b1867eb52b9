"""Benchmark of the handwriting recognisers on real 1920s MGR church-book cells.

    python benchmarks/bench_htr.py [--archives DIR] [--models DIR] [--json FILE]

Two measures, as an archive meets them:

* the published test split (``../shared/realdata/mgr-crops/{row_id,birthdate}/test``), per
  difficulty;
* a split by whole book of the training archives: the books named ``evaluation_books`` in the
  model's ``<field>.train.json`` were kept out of training and out of the threshold setting
  (``calibration_books``), so they stand for the next book an archive scans.

For each: top-1 exact, the share of cells prefilled at the shipped threshold (coverage) and
how many of those are right (precision); for dates, with the section's year given, also the
day and month alone. Then the per-cell latency on one thread (p50, p95) and the model sizes.
``--archives`` is a folder with the two archives unpacked (``row_id/`` and ``birthdate/``,
each with ``labels.csv``); without it they are unpacked into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.htr import images as cell_images  # noqa: E402
from ingest.htr.calibrate import read_runs, reordered_sections, truth  # noqa: E402
from ingest.htr.runtime import MODELS, CellReader  # noqa: E402

CROPS = ROOT.parent / "shared" / "realdata" / "mgr-crops"
TEST_DIRS = {"entry_number": "row_id", "birth_date": "birthdate"}


def measure(reader, samples, field: str) -> dict:
    """Figures at the calibrated threshold (whether or not the product prefills this field)."""
    samples = [s for s in samples if truth(field, s.label) is not None]
    arrays = cell_images.load_arrays(samples, field).astype(np.float32) / 255.0
    read = read_runs(reader, samples, arrays, field)
    right = np.array([c.value == truth(field, s.label) for s, c in read])
    pre = np.array([c.value is not None and c.confidence >= reader.calibrated_threshold for _s, c in read])
    out = {"cells": len(read), "top1_exact": float(right.mean()) if len(read) else float("nan"),
           "prefill_coverage": float(pre.mean()) if len(read) else 0.0,
           "prefill_precision": float(right[pre].mean()) if pre.any() else float("nan"),
           "prefilled": int(pre.sum()), "prefilled_wrong": int((pre & ~right).sum()),
           "prefilled_wrong_on_reordered_pages": int((pre & ~right & reordered_sections(read, field)).sum())}
    if field == "birth_date":
        dm = np.array([c.value is not None and c.value[4:] == truth(field, s.label)[4:] for s, c in read])
        out["day_month_top1"] = float(dm.mean()) if len(read) else float("nan")
    return out


def latency(reader, samples, field: str, n: int = 300) -> dict:
    """Per-cell time on one thread: open, prepare and read one cell at a time."""
    times = []
    for s in samples[:n]:
        t0 = time.perf_counter()
        with cell_images.open_cell(s.path) as img:
            arr = cell_images.prepare(img, field)[None]
        reader.read(arr, given_year=1921 if field == "birth_date" else None)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": times[len(times) // 2], "p95_ms": times[int(len(times) * 0.95)]}


def _archives(given: Path | None) -> Path:
    if given:
        return given
    tmp = Path(tempfile.mkdtemp(prefix="mgr-htr-bench-"))
    for name, folder in (("row_id_train.tar.gz", "row_id"), ("birthdate_train.tar.gz", "birthdate")):
        with tarfile.open(CROPS / "train" / name) as tar:
            tar.extractall(tmp / folder, filter="data")
        (tmp / folder / "train").rename(tmp / folder / "x")
        for p in (tmp / folder / "x").iterdir():
            p.rename(tmp / folder / p.name)
        (tmp / folder / "x").rmdir()
    return tmp


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archives", type=Path, help="folder with row_id/ and birthdate/ unpacked")
    p.add_argument("--models", type=Path, default=MODELS)
    p.add_argument("--json", type=Path, help="write the figures here too")
    a = p.parse_args(argv)
    import onnxruntime  # noqa: F401 - the product's runtime; no torch here

    archives = _archives(a.archives)
    figures: dict = {}
    rows = []
    for field, folder in TEST_DIRS.items():
        reader = CellReader(field, a.models)
        info = json.loads((a.models / f"{field}.train.json").read_text(encoding="utf-8"))
        figures[field] = {"threshold": reader.calibrated_threshold, "prefills": reader.prefills,
                          "model_bytes": sum(p.stat().st_size for p in reader.paths),
                          "networks": len(reader.paths)}
        test_all = []
        for level in ("easy", "average", "difficult"):
            samples = cell_images.read_folder(CROPS / folder / "test" / level)
            test_all += samples
            figures[field][f"test_{level}"] = m = measure(reader, samples, field)
            rows.append((field, f"test split, {level}", m))
        eval_books = set(info.get("evaluation_books") or [])
        archive = [s for s in cell_images.read_folder(archives / folder) if s.book in eval_books]
        figures[field]["unseen_books"] = m = measure(reader, archive, field)
        figures[field]["unseen_books"]["books"] = sorted(eval_books)
        rows.append((field, f"{len(eval_books)} unseen books", m))
        figures[field]["latency"] = latency(reader, test_all, field)
    total = sum(figures[f]["model_bytes"] for f in TEST_DIRS)
    print(f"{'field':<13} {'set':<22} {'cells':>6} {'top-1':>7} {'day+month':>9} {'prefilled':>9} {'precision':>9}")
    for field, name, m in rows:
        dm = f"{m['day_month_top1']:.1%}" if "day_month_top1" in m else "-"
        print(f"{field:<13} {name:<22} {m['cells']:>6} {m['top1_exact']:>7.1%} {dm:>9} "
              f"{m['prefill_coverage']:>9.1%} {m['prefill_precision']:>9.1%}")
    for field, name, m in rows:
        if "unseen" in name:
            print(f"{field}, {name}: {m['prefilled_wrong']} prefilled values wrong, "
                  f"{m['prefilled_wrong_on_reordered_pages']} of them on pages whose labels are the values read "
                  f"in another order")
    for field in TEST_DIRS:
        lat = figures[field]["latency"]
        state = "prefilled at" if figures[field]["prefills"] else "prefill switched off; offered only; calibrated"
        print(f"{field}: {state} threshold {figures[field]['threshold']:.3f}, latency p50 {lat['p50_ms']:.1f} ms, "
              f"p95 {lat['p95_ms']:.1f} ms per cell (one thread), model {figures[field]['model_bytes'] / 1e6:.1f} MB "
              f"({figures[field]['networks']} network{'s' if figures[field]['networks'] > 1 else ''})")
    print(f"models together: {total / 1e6:.1f} MB; runtime: onnxruntime (torch imported: {'torch' in sys.modules})")
    if a.json:
        a.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
