"""Benchmark: reading the UCI text files, gfe's validating loader against pandas' C engine.

    GFE_DATA_DIR=../shared/data/gfe python benchmarks/bench_io.py [--runs 7] [--no-predict]
        [--out benchmarks/results/io.json]

* **datapoints**: all 18 ``*_datapoints.txt`` files, read by ``pandas.read_csv(path, sep=" ",
  engine="c")`` (the parser alone, no validation: the reference), by
  :func:`gfe.data.load_datapoints` and by the loader before issue #15 (``benchmarks/legacy.py``).
* **targets**: the 18 label files, by ``pandas.read_csv(path, header=None)`` (reference),
  :func:`gfe.data.load_targets` and the old loader.
* **predict**: :func:`gfe.deploy.labelling.predict_file` (what ``gfe predict FILE`` runs: load, features,
  one small MLP bundle) on the 18 datapoints files, with today's loader and features and with the
  old ones patched in.

Every repetition runs each contender once over all files, interleaved, so that a busy machine
slows them alike; medians of ``--runs`` (7). Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import gfe.data
import gfe.features.paper
from gfe.data import load_datapoints, load_targets, resolve_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
import legacy  # benchmarks/legacy.py: the code before issue #15


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def interleaved(contenders: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Seconds of each contender per repetition, the contenders taking turns."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()  # warm-up: imports, page cache
    for _ in range(runs):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def summarise(times: dict[str, list[float]], frames: int, nbytes: int, reference: str) -> dict:
    ref = float(np.median(times[reference]))
    out = {}
    for name, secs in times.items():
        med = float(np.median(secs))
        out[name] = {
            "seconds": secs,
            "median_seconds": med,
            "frames_per_second": frames / med,
            "mb_per_second": nbytes / med / 1e6,
            "vs_reference": ref / med,
        }
    return out


def bench_files(paths: list[Path], contenders: dict, runs: int, count: Callable, reference: str) -> dict:
    frames = sum(count(p) for p in paths)
    nbytes = sum(p.stat().st_size for p in paths)
    calls = {name: (lambda fn=fn: [fn(p) for p in paths]) for name, fn in contenders.items()}
    return {"files": len(paths), "frames": frames, "bytes": nbytes,
            "results": summarise(interleaved(calls, runs), frames, nbytes, reference)}  # fmt: skip


@contextlib.contextmanager
def old_loader_and_features():
    saved = gfe.data.load_datapoints, gfe.features.paper.compute_features
    gfe.data.load_datapoints, gfe.features.paper.compute_features = (
        legacy.load_datapoints,
        legacy.compute_features,
    )
    try:
        yield
    finally:
        gfe.data.load_datapoints, gfe.features.paper.compute_features = saved


def bench_predict(paths: list[Path], runs: int) -> dict:
    from gfe.data.synthetic import write_dataset
    from gfe.deploy import predict_file, train_bundle

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dataset(Path(tmp), n_frames=60, expressions=("negative",))
        bundle = train_bundle(folder, "negative", "mlp", params={"epochs": 1})

    def run_new():
        for p in paths:
            predict_file([bundle], p)

    def run_old():
        with old_loader_and_features():
            run_new()

    frames = sum(len(load_datapoints(p)[0]) for p in paths)
    nbytes = sum(p.stat().st_size for p in paths)
    times = interleaved({"predict_file, before #15": run_old, "predict_file": run_new}, runs)
    return {"model": "mlp (1 epoch on synthetic data)", "files": len(paths), "frames": frames,
            "results": summarise(times, frames, nbytes, "predict_file, before #15")}  # fmt: skip


def table(title: str, section: dict, reference: str) -> str:
    rows = [f"**{title}** ({section['files']} files, {section['frames']:,} frames), median of "
            f"{len(next(iter(section['results'].values()))['seconds'])}", "",
            f"| reader | frames/s | MB/s | × {reference} |", "|---|---:|---:|---:|"]  # fmt: skip
    for name, r in section["results"].items():
        rows.append(
            f"| {name} | {r['frames_per_second']:,.0f} | {r['mb_per_second']:.1f} | {r['vs_reference']:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-predict", action="store_true", help="skip the predict_file timing")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/io.json"))
    args = ap.parse_args()
    data = resolve_data_dir(args.data_dir)
    points = sorted(data.glob("*_datapoints.txt"))
    labels = sorted(data.glob("*_targets.txt"))
    if len(points) != 18 or len(labels) != 18:
        sys.exit(f"{data}: expected the 18 UCI recordings (set GFE_DATA_DIR or pass --data-dir)")
    ref_points, ref_labels = 'pandas.read_csv(sep=" ", engine="c")', "pandas.read_csv(header=None)"
    result = {"machine": machine(), "runs": args.runs}
    result["datapoints"] = bench_files(
        points,
        {ref_points: lambda p: pd.read_csv(p, sep=" ", engine="c"), "gfe.data.load_datapoints": load_datapoints,
         "load_datapoints before #15": legacy.load_datapoints},
        args.runs, lambda p: len(load_datapoints(p)[0]), ref_points,
    )  # fmt: skip
    result["targets"] = bench_files(
        labels,
        {ref_labels: lambda p: pd.read_csv(p, header=None), "gfe.data.load_targets": load_targets,
         "load_targets before #15": legacy.load_targets},
        args.runs, lambda p: len(load_targets(p)), ref_labels,
    )  # fmt: skip
    print(table("datapoints", result["datapoints"], "pandas C engine"), end="\n\n")
    print(table("targets", result["targets"], "pandas"), end="\n\n")
    if not args.no_predict:
        result["predict"] = bench_predict(points, args.runs)
        print(table("gfe predict FILE (predict_file)", result["predict"], "before #15"), end="\n\n")
    result["machine"]["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
