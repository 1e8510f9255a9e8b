"""Benchmark: `gfe reproduce` end to end, and the feature extraction alone.

    python benchmarks/bench_core.py [--data-dir DIR] [--runs 3] [--out benchmarks/results/core.json]

Prints medians; this is a benchmark, not a test (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gfe.data import load_dataset, resolve_data_dir
from gfe.features import PAPER, compute_features


def bench_features(data_dir: Path, runs: int, target_frames: int = 1_000_000) -> dict:
    landmarks = np.concatenate([r.landmarks for r in load_dataset(data_dir)])
    reps = -(-target_frames // len(landmarks))
    big = np.ascontiguousarray(np.tile(landmarks, (reps, 1, 1)))
    compute_features(big[:10_000], PAPER)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        compute_features(big, PAPER)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    return {"frames": len(big), "seconds": times, "median_seconds": med, "frames_per_second": len(big) / med}


def bench_reproduce(data_dir: Path, runs: int) -> dict:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = ["gfe", "reproduce", "--data-dir", str(data_dir), "--out", tmp, "--no-progress"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
    return {"command": "gfe reproduce (defaults: 9 expressions × 3 models × 2 protocols × 5 seeds)",
            "seconds": times, "median_seconds": float(np.median(times))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-reproduce", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/core.json"))
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "features": bench_features(data_dir, max(args.runs, 5)),
    }
    print(f"feature extraction: {result['features']['frames_per_second']:,.0f} frames/s (median of "
          f"{len(result['features']['seconds'])} runs over {result['features']['frames']:,} frames)")  # fmt: skip
    if args.skip_reproduce and args.out.is_file():  # keep the last measured reproduce timing
        previous = json.loads(args.out.read_text()).get("reproduce")
        if previous:
            result["reproduce"] = previous
    if not args.skip_reproduce:
        result["reproduce"] = bench_reproduce(data_dir, args.runs)
        print(f"gfe reproduce end to end: median {result['reproduce']['median_seconds']:.1f} s "
              f"over {args.runs} runs")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
