"""Benchmark: trial throughput of `gfe tune` (trials per minute) for one model.

    python benchmarks/bench_tune.py [--model paper-lstm] [--expression affirmative] [--trials 20]
        [--jobs 1 2] [--runs 3] [--out benchmarks/results/tune.json]

Each run is a fresh study (a new SQLite file) of ``--trials`` trials under the `chrono` protocol,
timed from the first trial to the last (no final test evaluation). Prints the median trials per
minute per worker count; this is a benchmark, not a test (it depends on the machine and its load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np

from gfe.data import resolve_data_dir
from gfe.experiments.provenance import package_versions
from gfe.experiments.tune import TuneConfig, tune


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--model", default="paper-lstm")
    ap.add_argument("--expression", default="affirmative")
    ap.add_argument("--protocol", default="chrono")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "tune.json")
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    results = {}
    for jobs in args.jobs:
        rates, pruned = [], []
        for run in range(args.runs):
            cfg = TuneConfig(expression=args.expression, model=args.model, protocol=args.protocol,
                             trials=args.trials, jobs=jobs, seed=run)  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                summary = tune(data_dir, Path(tmp), cfg, evaluate_test=False, progress=False)
            rates.append(60 * summary["trials"]["ran_now"] / summary["search_seconds"])
            pruned.append(summary["trials"]["by_state"].get("PRUNED", 0))
            print(f"jobs={jobs} run {run}: {rates[-1]:.2f} trials/min ({pruned[-1]} pruned)", flush=True)
        results[f"jobs={jobs}"] = {
            "trials_per_minute": rates,
            "median_trials_per_minute": float(np.median(rates)),
            "pruned": pruned,
        }
        print(f"jobs={jobs}: median {np.median(rates):.2f} trials/min over {args.runs} runs")
    report = {
        "benchmark": "gfe tune trial throughput",
        "model": args.model,
        "expression": args.expression,
        "protocol": args.protocol,
        "trials_per_run": args.trials,
        "results": results,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "versions": package_versions(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
