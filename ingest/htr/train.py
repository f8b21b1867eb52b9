"""Train a cell recogniser on the CPU and export it to ONNX (needs the ``train`` extra).

    mgr-ingest ocr train --field entry_number DIR... --out ingest/htr/models --minutes 40 --seed 7

``--seed 7,11`` trains one network per seed side by side (a process each, one thread each)
on the same books and makes them one model: the reader averages their probabilities
(``runtime.ensemble_candidates``). The first seed draws the held-out books and names the
files ``<field>.onnx``/``.ckpt``; the others are ``<field>.seed<N>.onnx``/``.ckpt``.

DIR is a folder in the archives' layout (images and ``labels.csv``: ``filename,label``).
A few whole books are held out (``--holdout-books`` or, by default, about a quarter of the books
drawn with the seed): they never train the network and serve to set the prefill threshold
(``ingest.htr.calibrate``). A checkpoint is written every few minutes; ``--resume`` goes on
from it, with the time already spent counted against the budget.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from ingest.htr import images as cell_images
from ingest.htr.labels import CENTURIES, ENTRY_ALPHABET, date_label, entry_label, entry_targets

log = logging.getLogger("mgr_ingest.htr.train")


def _torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("mgr-ingest ocr train: PyTorch is not installed; "
                         "install the train extra: pip install -e '.[train]'") from None
    import torch
    return torch


def build_model(field: str):
    torch = _torch()
    nn = torch.nn

    def block(cin, cout, pool):
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(pool))
        return layers

    if field == "entry_number":
        class EntryNet(nn.Module):
            # 64 x 64 in; 16 columns out (time steps), each a distribution over the alphabet + blank
            def __init__(self):
                super().__init__()
                self.cnn = nn.Sequential(*block(1, 24, 2), *block(24, 48, 2), *block(48, 64, None),
                                         *block(64, 96, (2, 1)), *block(96, 128, (2, 1)))
                self.collapse = nn.Sequential(nn.Conv2d(128, 128, (4, 1), bias=False), nn.BatchNorm2d(128),
                                              nn.ReLU(inplace=True))
                self.rnn = nn.LSTM(128, 96, bidirectional=True, batch_first=True)
                self.out = nn.Linear(192, len(ENTRY_ALPHABET) + 1)

            def forward(self, x):
                f = self.collapse(self.cnn(x)).squeeze(2).permute(0, 2, 1)  # N, T, 128
                f, _ = self.rnn(f)
                return torch.log_softmax(self.out(f), dim=-1)

        return EntryNet()

    class DateNet(nn.Module):
        # 96 x 64 in (the cell is often stacked: year / day / month). The day and the year
        # are read digit by digit (tens, units), so a "1" learnt in the 11th helps read the
        # 21st; the exported outputs are still one score per day (31) and per year in the
        # century (100): the sums of the digits' log-probabilities, which the runtime turns
        # into probabilities over the valid values.
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(*block(1, 24, 2), *block(24, 48, 2), *block(48, 64, None),
                                     *block(64, 96, 2), *block(96, 128, 2))
            self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 6 * 4, 256),
                                    nn.ReLU(inplace=True), nn.Dropout(0.2))
            self.day_tens = nn.Linear(256, 4)
            self.day_units = nn.Linear(256, 10)
            self.month = nn.Linear(256, 12)
            self.year_tens = nn.Linear(256, 10)
            self.year_units = nn.Linear(256, 10)
            self.century = nn.Linear(256, len(CENTURIES))
            days = torch.arange(1, 32)
            years = torch.arange(100)
            self.register_buffer("day_t", days // 10, persistent=False)
            self.register_buffer("day_u", days % 10, persistent=False)
            self.register_buffer("year_t", years // 10, persistent=False)
            self.register_buffer("year_u", years % 10, persistent=False)

        def parts(self, x):
            f = self.fc(self.cnn(x))
            return (self.day_tens(f), self.day_units(f), self.month(f), self.year_tens(f), self.year_units(f),
                    self.century(f))

        def forward(self, x):
            dt, du, month, yt, yu, century = self.parts(x)
            ls = torch.log_softmax
            day = ls(dt, 1)[:, self.day_t] + ls(du, 1)[:, self.day_u]
            year = ls(yt, 1)[:, self.year_t] + ls(yu, 1)[:, self.year_u]
            return day, month, year, century

    return DateNet()


def _samples(folders: list[Path], field: str):
    out = []
    for folder in folders:
        for s in cell_images.read_folder(folder):
            ok = entry_label(s.label) if field == "entry_number" else date_label(s.label)
            if ok is not None and s.path.exists():
                out.append(s)
    return out


def split_books(samples, holdout_books: list[str] | None, seed: int, fraction: float = 0.2):
    books = sorted({s.book for s in samples})
    if holdout_books is None:
        rng = random.Random(seed)
        held = set(rng.sample(books, max(1, round(len(books) * fraction)))) if len(books) > 1 else set()
    else:
        held = set(holdout_books)
    train = [s for s in samples if s.book not in held]
    hold = [s for s in samples if s.book in held]
    return train, hold, sorted(held)


def _augment(torch, x):
    """Small random shifts, scales, slants and contrast changes of a batch (N,1,H,W)."""
    n = x.shape[0]
    ang = (torch.rand(n) - 0.5) * 0.14
    scale = 1 + (torch.rand(n) - 0.5) * 0.2
    shear = (torch.rand(n) - 0.5) * 0.3
    tx = (torch.rand(n) - 0.5) * 0.16
    ty = (torch.rand(n) - 0.5) * 0.16
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, x.shape, align_corners=False)
    x = torch.nn.functional.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    gain = 0.8 + 0.4 * torch.rand(n, 1, 1, 1)
    x = (x * gain + 0.02 * torch.randn_like(x)).clamp(0, 1)
    return x


def _loss(torch, field, model, x, batch_labels):
    if field == "entry_number":
        logp = model(x)  # N, T, C
        tg = [entry_targets(lbl) for lbl in batch_labels]
        targets = torch.tensor([t for seq in tg for t in seq], dtype=torch.long)
        lengths = torch.tensor([len(seq) for seq in tg], dtype=torch.long)
        inp_len = torch.full((x.shape[0],), logp.shape[1], dtype=torch.long)
        return torch.nn.functional.ctc_loss(logp.permute(1, 0, 2), targets, inp_len, lengths,
                                            blank=0, zero_infinity=True)
    dt, du, month, yt, yu, cent = model.parts(x)
    ys = torch.tensor(batch_labels, dtype=torch.long)  # N, 4: day-1, month-1, year%100, century index
    day, year = ys[:, 0] + 1, ys[:, 2]
    ce = torch.nn.functional.cross_entropy
    return (ce(dt, day // 10) + ce(du, day % 10) + ce(month, ys[:, 1])
            + 0.5 * (ce(yt, year // 10) + ce(yu, year % 10)) + 0.2 * ce(cent, ys[:, 3]))


def _encode(field, samples):
    if field == "entry_number":
        return [entry_label(s.label) for s in samples]
    out = []
    for s in samples:
        y, m, d = date_label(s.label)
        out.append([d - 1, m - 1, y % 100, CENTURIES.index(y // 100)])
    return out


def export_onnx(model, field: str, path: Path) -> None:
    torch = _torch()
    model.eval()
    h, w = cell_images.SIZES[field]
    dummy = torch.zeros(1, 1, h, w)
    outputs = ["logprobs"] if field == "entry_number" else ["day", "month", "year", "century"]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, dummy, str(path), input_names=["image"], output_names=outputs,
                      dynamic_axes={"image": {0: "n"}, **{o: {0: "n"} for o in outputs}},
                      opset_version=17, dynamo=False)


def member_name(field: str, seed: int, first: bool) -> str:
    """The file stem of one member network: the first seed's is the field's own name."""
    return field if first else f"{field}.seed{seed}"


def train(field: str, folders: list[Path], out: Path, minutes: float, seed: int | list[int], batch: int = 64,
          holdout_books: list[str] | None = None, resume: bool = False, max_steps: int | None = None,
          cache: Path | None = None, threads: int | None = None, progress: bool = True,
          base_model: Path | None = None) -> dict:
    """Train one network per seed (side by side when there are several), export each to
    ONNX, write ``<field>.train.json`` with its ``members`` and set the prefill threshold on
    the calibration books."""
    seeds = [seed] if isinstance(seed, int) else list(seed)
    common = dict(field=field, folders=folders, out=out, minutes=minutes, batch=batch, holdout_books=holdout_books,
                  resume=resume, max_steps=max_steps, cache=cache, base_model=base_model, split_seed=seeds[0])
    if len(seeds) == 1:
        runs = [_train_member(seed=seeds[0], name=field, threads=threads, progress=progress, **common)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if cache is not None:  # prepare the cells once, not once a member
            _train_member(seed=seeds[0], name=field, threads=threads, progress=False, prepare_only=True, **common)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(seeds), mp_context=ctx) as pool:
            jobs = [pool.submit(_train_member, seed=s, name=member_name(field, s, k == 0), threads=threads or 1,
                                progress=progress, position=k, **common) for k, s in enumerate(seeds)]
            runs = [j.result() for j in jobs]
    first, (train_s, hold_s, held) = runs[0]
    # the held-out books in two halves: one sets the threshold, the other measures it (bench_htr)
    rng = random.Random(seeds[0] + 1)
    shuffled = list(held)
    rng.shuffle(shuffled)
    calib_books = sorted(shuffled[: (len(shuffled) + 1) // 2])
    eval_books = sorted(shuffled[(len(shuffled) + 1) // 2:])
    info = {"field": field, "steps": first["steps"], "seconds": first["seconds"], "seed": seeds[0],
            "train_cells": len(train_s), "held_out_cells": len(hold_s), "held_out_books": held,
            "calibration_books": calib_books, "evaluation_books": eval_books,
            "train_books": sorted({s.book for s in train_s}), "folders": [f.name for f in folders]}
    if len(seeds) > 1:
        info["members"] = [run for run, _split in runs]
    (out / f"{field}.train.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    if hold_s:
        from ingest.htr.calibrate import calibrate
        calib = [s for s in hold_s if s.book in calib_books] or hold_s
        calibrate(field, out / f"{field}.onnx", calib, out / f"{field}.calibration.json", train_info=info)
    return info


def _train_member(field: str, folders: list[Path], out: Path, minutes: float, seed: int, name: str, batch: int,
                  holdout_books: list[str] | None, resume: bool, max_steps: int | None, cache: Path | None,
                  threads: int | None, progress: bool, base_model: Path | None, split_seed: int,
                  prepare_only: bool = False, position: int = 0):
    """One network: trained, checkpointed as ``<name>.ckpt`` and exported as ``<name>.onnx``.
    Returns its record (file, seed, steps, seconds) and the split (train, held-out, books)."""
    torch = _torch()
    if threads:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    samples = _samples(folders, field)
    if not samples:
        raise SystemExit(f"mgr-ingest ocr train: no usable labelled {field} cells in the folders given")
    train_s, hold_s, held = split_books(samples, holdout_books, split_seed)
    if not train_s:
        train_s, hold_s, held = samples, [], []
    log.info("cells: %d for training, %d held out (%d books)", len(train_s), len(hold_s), len(held))
    arr = cell_images.load_arrays(train_s, field, cache / f"{field}_train_{len(train_s)}.npy" if cache else None)
    if prepare_only:
        return None
    labels = _encode(field, train_s)

    model = build_model(field)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    ckpt_path = out / f"{name}.ckpt"
    elapsed, step = 0.0, 0
    if resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        elapsed, step = ck["elapsed"], ck["step"]
        torch.set_rng_state(ck["torch_rng"])
        np.random.set_state(ck["np_rng"])
        log.info("resumed at step %d after %.0f s", step, elapsed)
    elif base_model is not None:
        base = torch.load(base_model, weights_only=False)
        model.load_state_dict(base["model"])
        log.info("fine-tuning from a checkpoint of %d steps", int(base.get("step", 0)))

    budget = minutes * 60.0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=int(budget), unit="s", desc=f"train {name}", initial=int(min(elapsed, budget)),
                   position=position)
    started = time.monotonic() - elapsed
    last_ckpt = time.monotonic()
    n = len(train_s)
    order = np.random.permutation(n)
    pos = 0
    model.train()
    running = None

    def save_ckpt():
        out.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "elapsed": time.monotonic() - started,
                    "step": step, "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state(),
                    "field": field, "held_out_books": held, "seed": seed}, ckpt_path)

    while True:
        now = time.monotonic() - started
        if now >= budget or (max_steps is not None and step >= max_steps):
            break
        frac = now / budget if max_steps is None else step / max_steps
        lr = 2e-3 * min(1.0, (step + 1) / 200) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        if pos + batch > n:
            order, pos = np.random.permutation(n), 0
        idx = order[pos:pos + batch]
        pos += batch
        x = torch.from_numpy(arr[idx].astype(np.float32) / 255.0).unsqueeze(1)
        x = _augment(torch, x)
        loss = _loss(torch, field, model, x, [labels[i] for i in idx])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if bar is not None:
            bar.n = int(min(time.monotonic() - started, budget))
            bar.set_postfix(step=step, loss=f"{running:.3f}", refresh=False)
            bar.refresh()
        if time.monotonic() - last_ckpt > 180:
            save_ckpt()
            last_ckpt = time.monotonic()
    if bar is not None:
        bar.close()
    save_ckpt()
    export_onnx(model, field, out / f"{name}.onnx")
    run = {"file": f"{name}.onnx", "seed": seed, "steps": step, "seconds": round(time.monotonic() - started, 1)}
    log.info("trained the network of seed %d: %d steps", seed, step)
    return run, (train_s, hold_s, held)


def recalibrate(field: str, folders: list[Path], out: Path) -> int:
    """The threshold of an existing model set again on its calibration books (no torch needed)."""
    from ingest.htr.calibrate import calibrate

    info_path = out / f"{field}.train.json"
    if not (out / f"{field}.onnx").is_file() or not info_path.is_file():
        print(f"mgr-ingest ocr train: {out}: no {field}.onnx with its {field}.train.json", file=sys.stderr)
        return 2
    info = json.loads(info_path.read_text(encoding="utf-8"))
    books = set(info.get("calibration_books") or [])
    calib = [s for s in _samples(folders, field) if s.book in books]
    if not calib:
        print(f"mgr-ingest ocr train: none of the calibration books {sorted(books)} is in the folders given",
              file=sys.stderr)
        return 2
    result = calibrate(field, out / f"{field}.onnx", calib, out / f"{field}.calibration.json", train_info=info)
    print(json.dumps({k: result[k] for k in ("field", "threshold", "precision_at_threshold",
                                             "coverage_at_threshold", "calibration_cells", "shifts")}))
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="mgr-ingest ocr train",
                                description="Train a handwriting recogniser for one field on the CPU and "
                                            "export it to ONNX with its prefill threshold.")
    p.add_argument("folders", nargs="+", type=Path, help="training folders (images + labels.csv)")
    p.add_argument("--field", choices=("entry_number", "birth_date"), required=True,
                   help="the recogniser to train")
    p.add_argument("--out", type=Path, required=True, help="folder for the model, checkpoint and calibration")
    p.add_argument("--minutes", type=float, default=40.0, help="time budget (default 40)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (for a quick check)")
    p.add_argument("--seed", default="7",
                   help="random seed (default 7); several, comma-separated (7,11), train one network each "
                        "side by side, averaged into one model")
    p.add_argument("--batch", type=int, default=64, help="cells per training step (default 64)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--holdout-books", help="comma-separated book entry numbers kept out of training")
    p.add_argument("--resume", action="store_true", help="go on from the checkpoint in --out")
    p.add_argument("--base-model", type=Path, help="a checkpoint (.ckpt) to fine-tune from")
    p.add_argument("--cache", type=Path, help="folder to cache prepared image arrays in")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    p.add_argument("--calibrate-only", action="store_true",
                   help="train nothing: set the prefill threshold of the model in --out again, on the "
                        "calibration books its <field>.train.json names (after a change to how cells are read)")
    a = p.parse_args(argv)
    for f in a.folders:
        if not (f / "labels.csv").is_file():
            print(f"mgr-ingest ocr train: {f}: no labels.csv (expected images + labels.csv)", file=sys.stderr)
            return 2
    if a.calibrate_only:
        return recalibrate(a.field, a.folders, a.out)
    try:
        seeds = [int(v) for v in a.seed.split(",")]
    except ValueError:
        print(f"mgr-ingest ocr train: --seed {a.seed!r}: expected a number or numbers separated by commas",
              file=sys.stderr)
        return 2
    if len(set(seeds)) != len(seeds):
        print(f"mgr-ingest ocr train: --seed {a.seed}: a seed given twice would train the same network twice",
              file=sys.stderr)
        return 2
    held = [b.strip() for b in a.holdout_books.split(",") if b.strip()] if a.holdout_books else None
    info = train(a.field, a.folders, a.out, a.minutes, seeds, a.batch, held, a.resume, a.max_steps,
                 a.cache, a.threads, not a.no_progress, a.base_model)
    print(json.dumps({k: v for k, v in info.items() if k not in ("train_books", "folders")}))
    return 0
