"""Benchmark: streaming latency per frame and offline labelling throughput, on the real data.

    GFE_DATA_DIR=../shared/data/gfe python benchmarks/bench_stream.py [--runs 5] [--bundles DIR]
        [--out benchmarks/results/stream.json]

* **Streaming** (``seq-lstm``, ``paper-lstm``, and ``shared-lstm`` on the ``aligned`` spec,
  which steps one network for all nine expressions): every frame of the 18 recordings goes through
  :meth:`gfe.deploy.stream.Detector.process` one at a time, in process — single-frame features,
  normalisation, deltas, one model step — and each call is timed. Reported: median, p95 and p99
  in µs. Also timed: :meth:`Detector.process_line`, which adds parsing the UCI text line (what
  ``gfe stream`` does per line, minus reading and printing).
* **Offline** (``paper-lstm``, ``mlp``, ``seq-lstm``, ``shared-lstm``: all nine expressions in one
  pass): :func:`gfe.deploy.labelling.label_recording` on
  every recording (landmarks already in memory: features, normalisation, model, thresholds,
  segments); frames per second, median of ``--runs``. Also end to end from the text files
  (:func:`gfe.deploy.labelling.predict_file`, parsing included).

Streaming runs on one thread (torch and BLAS), as one core of a deployed device would. Offline
labelling is timed on one thread and on all cores (``--threads``, default: every core). Bundles
are trained on ``negative`` with the default architecture but 1 epoch (speed does not depend on
the weights) unless ``--bundles DIR`` names bundle folders ``DIR/<model>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from gfe.data import datapoints_name, load_dataset, resolve_data_dir
from gfe.data.synthetic import format_datapoints
from gfe.deploy.bundle import Bundle, load_bundle
from gfe.deploy.labelling import label_all, label_recording, predict_file
from gfe.deploy.stream import Detector
from gfe.deploy.training import train_bundle

STREAM_MODELS = ("seq-lstm", "paper-lstm", "shared-lstm")
OFFLINE_MODELS = ("paper-lstm", "mlp", "seq-lstm", "shared-lstm")
QUICK = {"seq-lstm": {"max_epochs": 1}, "paper-lstm": {"epochs": 1}, "mlp": {"epochs": 1},
         "shared-lstm": {"max_epochs": 1}}  # fmt: skip
FEATURES = {"shared-lstm": "aligned"}  # the spec each model is timed with (default: clean)


@contextmanager
def threads(n: int):
    """Limit torch and the BLAS under NumPy to ``n`` threads."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def get_bundle(model: str, data_dir: Path, bundles: Path | None) -> Bundle:
    if bundles is not None:
        return load_bundle(bundles / model)
    # a multi-expression model is trained on (and labels) all nine expressions at once
    expression = None if model == "shared-lstm" else "negative"
    return train_bundle(
        data_dir, expression, model, params=QUICK[model], features=FEATURES.get(model, "clean")
    )


def label(bundle: Bundle, timestamps: np.ndarray, landmarks: np.ndarray) -> None:
    """Label one recording in memory: every expression of a multi-expression bundle in one pass."""
    if bundle.multi:
        label_all(bundle, bundle.spec.compute(landmarks, bundle.feature_state), timestamps)
    else:
        label_recording(bundle, timestamps, landmarks)


def _stats_us(ns: np.ndarray) -> dict:
    us = ns / 1e3
    return {
        "frames": len(us),
        "median_us": float(np.median(us)),
        "p95_us": float(np.percentile(us, 95)),
        "p99_us": float(np.percentile(us, 99)),
        "mean_us": float(us.mean()),
    }


def bench_stream(bundle: Bundle, recordings) -> dict:
    det = Detector(bundle)
    frames = [np.column_stack([r.timestamps, r.landmarks.reshape(r.n_frames, 300)]) for r in recordings]
    for row in frames[0][:300]:  # warm-up
        det.process(row)
    times = []
    for rec in frames:
        det.reset()
        for row in rec:
            t0 = time.perf_counter_ns()
            det.process(row)
            times.append(time.perf_counter_ns() - t0)
    lines = [format_datapoints(r.timestamps, r.landmarks).split("\r\n")[1:] for r in recordings]
    line_times = []
    for rec in lines[:4]:  # parsing included: 4 recordings are plenty
        det.reset()
        for i, line in enumerate(rec):
            t0 = time.perf_counter_ns()
            det.process_line(line, i + 2)
            line_times.append(time.perf_counter_ns() - t0)
    return {
        "features_and_model_step": _stats_us(np.array(times)),
        "with_line_parsing": _stats_us(np.array(line_times)),
    }


def bench_offline(bundle: Bundle, recordings, data_dir: Path, runs: int) -> dict:
    n = sum(r.n_frames for r in recordings)
    label(bundle, recordings[0].timestamps, recordings[0].landmarks)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for r in recordings:
            label(bundle, r.timestamps, r.landmarks)
        times.append(time.perf_counter() - t0)
    files = [data_dir / datapoints_name(r.signer, r.expression) for r in recordings]
    t0 = time.perf_counter()
    for f in files:
        predict_file([bundle], f)
    e2e = time.perf_counter() - t0
    med = float(np.median(times))
    return {
        "frames": n,
        "seconds": times,
        "median_seconds": med,
        "frames_per_second": n / med,
        "end_to_end_from_files": {"seconds": e2e, "frames_per_second": n / e2e},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--bundles", type=Path, default=None, help="folder with bundles <model>/ to time")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/stream.json"))
    ap.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="threads for the second offline run"
    )
    args = ap.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    recordings = load_dataset(data_dir)
    bundles = {m: get_bundle(m, data_dir, args.bundles) for m in sorted(set(STREAM_MODELS + OFFLINE_MODELS))}
    result = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "data": {"recordings": len(recordings), "frames": sum(r.n_frames for r in recordings)},
        "bundles": {
            m: {
                "params": b.params,
                "n_inputs": b.config["n_inputs"],
                "features": b.spec.name,
                "expressions": list(b.expressions),
            }
            for m, b in bundles.items()
        },
        "streaming": {"threads": 1},
        "offline": {},
    }
    with threads(1):
        for m in STREAM_MODELS:
            res = bench_stream(bundles[m], recordings)
            result["streaming"][m] = res
            s, p = res["features_and_model_step"], res["with_line_parsing"]
            print(
                f"stream {m:<10}: median {s['median_us']:6.1f} µs/frame (p95 {s['p95_us']:.1f}, p99 "
                f"{s['p99_us']:.1f}) over {s['frames']} frames; with line parsing: median {p['median_us']:.1f} µs"
            )
    for n in sorted({1, args.threads}):
        key = f"threads_{n}"
        result["offline"][key] = {}
        with threads(n):
            for m in OFFLINE_MODELS:
                res = bench_offline(bundles[m], recordings, data_dir, args.runs)
                result["offline"][key][m] = res
                print(
                    f"offline {m:<10} ({n} thread{'s' if n > 1 else ''}): {res['frames_per_second']:>9,.0f} "
                    f"frames/s (median of {args.runs} runs over {res['frames']} frames); from the text "
                    f"files: {res['end_to_end_from_files']['frames_per_second']:,.0f} frames/s"
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
