"""Benchmark: the benchmark's temporal models trained on the CPU and on a GPU (issue #15).

    GFE_DATA_DIR=../shared/data/gfe python benchmarks/bench_device.py [--devices cpu cuda]
        [--models seq-lstm,gru,tcn,bilstm] [--protocols chrono] [--seeds 1]
        [--out benchmarks/results/device.json]

Each device runs the same `gfe benchmark` grid (the CLI as a user types it, ``--device D``) into
a fresh run folder, timed from start to exit; reported: seconds and cells per minute per device,
the speed-up, and how far the F1 of the two runs differ (float32 kernels differ between devices,
so the numbers agree closely but not bit for bit). Prepared for a machine with a GPU: with
``--devices cpu`` it checks the code path anywhere. A benchmark, not a test.
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

import pandas as pd

from gfe.data import resolve_data_dir
from gfe.experiments.provenance import package_versions


def run(device: str, out: Path, args, data_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "gfe.cli", "benchmark", "--models", args.models, "--protocols", args.protocols,
           "--seeds", str(args.seeds), "--jobs", "1", "--device", device, "--data-dir", str(data_dir),
           "--out", str(out), "--no-progress"]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    cells = len((out / "cells.jsonl").read_text().splitlines())
    return {"command": cmd[2:], "seconds": seconds, "cells": cells, "cells_per_minute": 60 * cells / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    ap.add_argument("--models", default="seq-lstm,gru,tcn,bilstm")
    ap.add_argument("--protocols", default="chrono")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "device.json")
    args = ap.parse_args()
    import torch

    data_dir = resolve_data_dir(args.data_dir)
    results, f1 = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for device in args.devices:
            folder = Path(tmp) / device
            results[device] = run(device, folder, args, data_dir)
            f1[device] = pd.read_csv(folder / "results.csv").set_index(
                ["expression", "protocol", "model", "fold"]
            )["f1"]
            print(
                f"{device}: {results[device]['cells']} cells in {results[device]['seconds']:.0f} s",
                flush=True,
            )
    first = args.devices[0]
    summary = {
        d: {"speedup_vs_" + first: results[first]["seconds"] / r["seconds"],
            "max_abs_f1_difference_vs_" + first: float((f1[d] - f1[first]).abs().max())}
        for d, r in results.items()
    }  # fmt: skip
    for d, s in summary.items():
        print(
            f"{d}: {results[d]['cells_per_minute']:.1f} cells/min, "
            + ", ".join(f"{k} {v:.3g}" for k, v in s.items())
        )
    out = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "versions": package_versions(),
        "results": results,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
