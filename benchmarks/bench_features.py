"""Benchmark: the 118 per-frame features, one thread, on ~1 M frames tiled from the real data.

    GFE_DATA_DIR=../shared/data/gfe python benchmarks/bench_features.py [--runs 7] [--frames 1000000]
        [--out benchmarks/results/features.json]

Contenders, for the ``paper`` and the ``clean`` spec, taking turns in every repetition (so that a
busy machine slows them alike), medians of ``--runs``:

* ``before #15``: the implementation before issue #15 (``benchmarks/legacy.py``);
* ``compute_features``: :func:`gfe.features.compute_features`;
* ``aligned``: the ``aligned`` spec (#13: Procrustes-aligned face, relative depth), its face
  template fitted once on the 18 recordings (fitting is not timed);
* ``copy bound``: no arithmetic, the same bytes moved: a fresh (frames, 118) array filled by two
  NumPy copies from the input (its 100 z columns and 18 others). Nothing that reads the 300
  inputs of a frame and writes a new 118-value row can be much faster in NumPy.

The outputs of the old and the new code are compared bit for bit first. Wall-clock and CPU
(process) seconds are both recorded; the machine may be shared.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread, before NumPy loads

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gfe.data import load_dataset, resolve_data_dir  # noqa: E402
from gfe.features import CLEAN, PAPER, compute_features, spec_by_name  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import legacy  # noqa: E402  (benchmarks/legacy.py: the code before issue #15)


def copy_bound(landmarks: np.ndarray) -> np.ndarray:
    flat = landmarks.reshape(len(landmarks), 300)
    out = np.empty((len(flat), 118))
    np.copyto(out[:, 18:], flat[:, 2::3])
    np.copyto(out[:, :18], flat[:, :18])
    return out


def tiled(data_dir: Path, frames: int) -> np.ndarray:
    lm = np.concatenate([r.landmarks for r in load_dataset(data_dir)])
    return np.ascontiguousarray(np.tile(lm, (-(-frames // len(lm)), 1, 1)))


def run(big: np.ndarray, runs: int, template: np.ndarray) -> dict:
    contenders = {}
    for spec in (PAPER, CLEAN):
        contenders[f"before #15 ({spec.name})"] = (lambda s: lambda: legacy.compute_features(big, s))(spec)
        contenders[f"compute_features ({spec.name})"] = (lambda s: lambda: compute_features(big, s))(spec)
    aligned = spec_by_name("aligned")
    state = aligned.fit(template)
    contenders["aligned spec"] = lambda: aligned.compute(big, state)
    contenders["copy bound"] = lambda: copy_bound(big)
    wall: dict[str, list[float]] = {k: [] for k in contenders}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(runs):
        for name, fn in contenders.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {name: {"wall_seconds": wall[name], "cpu_seconds": cpu[name],
                   "frames_per_second": len(big) / float(np.median(wall[name])),
                   "frames_per_second_cpu": len(big) / float(np.median(cpu[name]))}
            for name in contenders}  # fmt: skip


def markdown(results: dict, frames: int) -> str:
    cpu_bound = results["copy bound"]["frames_per_second_cpu"]
    rows = ["| contender | frames/s (wall) | × before #15 | frames/s (CPU) | × before #15 | × copy bound (CPU) "
            "| best run (CPU) |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in results.items():
        old = results.get(f"before #15 ({name.rsplit('(', 1)[-1]}")
        ratio = {
            k: f"{r[k] / old[k]:.2f}" if old else "–" for k in ("frames_per_second", "frames_per_second_cpu")
        }
        rows.append(f"| {name} | {r['frames_per_second']:,.0f} | {ratio['frames_per_second']} "
                    f"| {r['frames_per_second_cpu']:,.0f} | {ratio['frames_per_second_cpu']} "
                    f"| {r['frames_per_second_cpu'] / cpu_bound:.2f} | {frames / min(r['cpu_seconds']):,.0f} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/features.json"))
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    big = tiled(data_dir, args.frames)
    template = np.concatenate([r.landmarks for r in load_dataset(data_dir)])
    identical = {}
    for spec in (PAPER, CLEAN):
        new, old = compute_features(big, spec), legacy.compute_features(big, spec)
        identical[spec.name] = bool(np.array_equal(new.view(np.int64), old.view(np.int64)))
        del new, old
    load = os.getloadavg()
    results = run(big, args.runs, template)
    print(f"**compute_features**, {len(big):,} frames ({int(np.isnan(big).any(axis=(1, 2)).sum()):,} with "
          f"nan), one thread, median of {args.runs}; bit-identical to before #15: {identical}\n")  # fmt: skip
    print(markdown(results, len(big)))
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
               "numpy": np.__version__, "load_average_before": load, "load_average_after": os.getloadavg()}  # fmt: skip
    out = {
        "machine": machine,
        "frames": len(big),
        "runs": args.runs,
        "bit_identical": identical,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
