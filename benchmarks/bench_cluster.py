"""Benchmark: the same `gfe benchmark` grid on the local process pool and on a Dask cluster.

    GFE_DATA_DIR=../shared/data/gfe python benchmarks/bench_cluster.py [--workers 2] [--seeds 1]
        [--models ...] [--runs 1] [--out benchmarks/results/cluster.json]

Each run is the CLI as a user types it, into a fresh run folder, timed from start to exit:

* ``local``: ``gfe benchmark --seeds S --jobs W`` (the local process pool);
* ``dask``: ``gfe benchmark --seeds S --cluster local:W`` (a ``distributed.LocalCluster`` of W
  single-threaded worker processes, started by gfe; the cells and their data travel over TCP).

Cells per minute of each (median of ``--runs``), their ratio, and whether both give the same
numbers (every row of results.csv equal). On one 2-core machine the cluster cannot be faster:
what this measures is the price of the scheduler and of shipping the data; the gain is workers on
other machines. A benchmark, not a test: it depends on the machine and its load (recorded).
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
import pandas as pd

from gfe.data import resolve_data_dir
from gfe.experiments.provenance import package_versions


def run_grid(mode: str, out: Path, args, data_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "gfe.cli", "benchmark", "--seeds", str(args.seeds), "--out", str(out),
           "--data-dir", str(data_dir), "--no-progress"]  # fmt: skip
    if args.models:
        cmd += ["--models", args.models]
    cmd += ["--jobs", str(args.workers)] if mode == "local" else ["--cluster", f"local:{args.workers}"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    cells = len((out / "cells.jsonl").read_text().splitlines())
    return {"command": cmd[2:], "seconds": seconds, "cells": cells, "cells_per_minute": 60 * cells / seconds}


def same_numbers(a: Path, b: Path) -> bool:
    cols = ["expression", "protocol", "model", "seed", "fold", "f1"]
    ra, rb = (pd.read_csv(p / "results.csv") for p in (a, b))
    ra, rb = (r[cols].sort_values(cols[:5]).reset_index(drop=True) for r in (ra, rb))
    return bool(ra.equals(rb))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--models", default=None, help="comma-separated (default: the benchmark's default grid)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cluster.json")
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"local": [], "dask": []}
    identical = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.runs):
            folders = {}
            for mode in runs:  # taking turns, so a busy machine slows both alike
                folders[mode] = Path(tmp) / f"{mode}-{k}"
                runs[mode].append(run_grid(mode, folders[mode], args, data_dir))
                print(
                    f"{mode}: {runs[mode][-1]['cells']} cells in {runs[mode][-1]['seconds']:.0f} s",
                    flush=True,
                )
            identical.append(same_numbers(folders["local"], folders["dask"]))
    summary = {m: float(np.median([r["cells_per_minute"] for r in rs])) for m, rs in runs.items()}
    print(f"\n| executor | cells/min (median of {args.runs}) | × local |\n|---|---:|---:|")
    for m, v in summary.items():
        print(f"| {m} | {v:.1f} | {v / summary['local']:.2f} |")
    print(f"\nsame F1 in every row: {all(identical)}")
    out = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "versions": package_versions(),
        "workers": args.workers,
        "seeds": args.seeds,
        "runs": runs,
        "cells_per_minute": summary,
        "dask_vs_local": summary["dask"] / summary["local"],
        "identical_results": all(identical),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
