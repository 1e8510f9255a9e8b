"""`gfe benchmark`: models × protocols × expressions × seeds, resumable, on both cores.

Each cell (expression, protocol, seed, model) trains on the protocol's training frames, with
labels of every other frame hidden from the estimator (see :mod:`gfe.estimators`), and scores the
test frames of every fold. Finished cells are appended to ``cells.jsonl`` in the run folder and
skipped when the same command is run again, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS
from gfe.estimators import HIDDEN, Sequence, make_estimator, uses_validation
from gfe.metrics import binary_metrics
from gfe.protocols import Fold, Pool, get_protocol, make_pool, signer_runs

# gru and tcn are left out of the default grid only to keep it under 15 minutes on 2 cores;
# name them with --models to include them.
DEFAULT_MODELS = ("paper-lstm", "mlp", "logreg", "extra-trees", "seq-lstm", "bilstm")
DEFAULT_PROTOCOLS = ("paper", "paper-holdout", "chrono", "cross-signer", "cross-signer-calibrated")
CELLS_FILE = "cells.jsonl"


@dataclass(frozen=True)
class BenchmarkConfig:
    models: tuple[str, ...] = DEFAULT_MODELS
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    expressions: tuple[str, ...] = EXPRESSIONS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    features: str = "clean"
    val_fraction: float = 0.15
    threshold: float = 0.5
    model_params: dict[str, dict] = field(default_factory=dict)
    predictions: str = "first"  # keep per-frame predictions of: first seed, all, none

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------ fold → sequences
def carve_validation(pool: Pool, fold: Fold, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the fold's training frames into (train, validation) — never touching test frames.

    Shuffled protocol (`paper`): a random part. Every other protocol: the chronologically last
    ``fraction`` of each signer's training frames, so validation lies after what it validates.
    """
    train = np.asarray(fold.train)
    if fraction <= 0 or len(train) < 10:
        return train, np.array([], dtype=int)
    if fold.protocol == "paper":
        rng = np.random.default_rng(seed + 7919)
        val = np.sort(rng.choice(train, size=max(1, int(fraction * len(train))), replace=False))
    else:
        parts = []
        for s in dict.fromkeys(pool.signers[train]):
            own = train[pool.signers[train] == s]
            parts.append(own[len(own) - max(1, int(fraction * len(own))) :])
        val = np.sort(np.concatenate(parts))
    return np.setdiff1d(train, val), val


def make_sequences(pool: Pool, x: np.ndarray, visible: np.ndarray) -> list[Sequence]:
    """One Sequence per signer's recording; labels outside ``visible`` (indices) are hidden."""
    mask = np.zeros(len(pool), dtype=bool)
    mask[visible] = True
    y = np.where(mask, pool.labels, HIDDEN)
    return [
        Sequence(x=x[idx], y=y[idx], signer=s, usable=pool.usable[idx])
        for s, idx in signer_runs(pool).items()
    ]


# ----------------------------------------------------------------------------------- one cell
@lru_cache(maxsize=4)
def _pool(data_dir: str, expression: str, features: str) -> Pool:
    from gfe.data import load_dataset
    from gfe.features import spec_by_name

    return make_pool(load_dataset(data_dir, [expression]), spec_by_name(features))


def cell_key(expression: str, protocol: str, seed: int, model: str) -> str:
    return f"{expression}|{protocol}|{seed}|{model}"


def run_cell(
    data_dir: str,
    cfg: BenchmarkConfig,
    expression: str,
    protocol: str,
    seed: int,
    model: str,
    out: str | None = None,
):
    """Train and score one model on every fold of one protocol; return result rows.

    With ``out`` (the run folder), the cell's per-frame predictions are written there too when
    ``cfg.predictions`` asks for this seed.
    """
    import torch

    from gfe import predictions

    torch.set_num_threads(1)
    pool = _pool(data_dir, expression, cfg.features)
    rows, tables = [], []
    keep = out is not None and predictions.wanted(cfg.predictions, seed, cfg.seeds)
    for fold in get_protocol(protocol)(pool, seed):
        x = fold.scaled_features(pool)
        est = make_estimator(model, **cfg.model_params.get(model, {}))
        if uses_validation(model, cfg.model_params.get(model)):
            train, val = carve_validation(pool, fold, cfg.val_fraction, seed)
        else:
            train, val = fold.train, np.array([], dtype=int)
        train_seqs = make_sequences(pool, x, train)
        val_seqs = make_sequences(pool, x, val) if len(val) else None
        t0 = time.perf_counter()
        est.fit(train_seqs, seed=seed, val=val_seqs)
        fit_s = time.perf_counter() - t0
        prob = np.empty(len(pool))
        # Predict from features only: the same sequences with every label hidden.
        blind = make_sequences(pool, x, np.array([], dtype=int))
        for seq_idx, p in zip(signer_runs(pool).values(), est.predict_proba(blind), strict=True):
            prob[seq_idx] = p
        if keep:
            tables.append(
                predictions.frame_table(pool, fold, prob, model=model, seed=seed, train=train, val=val)
            )
        rows.append(
            {
                "expression": expression,
                "model": model,
                "protocol": protocol,
                "fold": fold.name,
                "seed": seed,
                "n_train": len(train),
                "n_val": len(val),
                "n_test": len(fold.test),
                **binary_metrics(pool.labels[fold.test], prob[fold.test] >= cfg.threshold),
                "fit_seconds": round(fit_s, 4),
            }
        )
    if keep:
        predictions.write(Path(out), tables)
    return cell_key(expression, protocol, seed, model), rows


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


# ---------------------------------------------------------------------------------- the grid
def read_cells(out: Path) -> dict[str, list[dict]]:
    path = out / CELLS_FILE
    done: dict[str, list[dict]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[rec["key"]] = rec["rows"]
    return done


def run_benchmark(
    data_dir: Path, out: Path, cfg: BenchmarkConfig, jobs: int | None = None, progress: bool = True
) -> pd.DataFrame:
    """Run every missing cell (in parallel), append each to cells.jsonl, return all rows."""
    from gfe.report import progress_bar

    for m in cfg.models:  # fail early and clearly on unknown names / parameters
        make_estimator(m, **cfg.model_params.get(m, {}))
    for p in cfg.protocols:
        get_protocol(p)
    out.mkdir(parents=True, exist_ok=True)
    done = read_cells(out)
    todo = [
        (e, p, s, m)
        for e in cfg.expressions
        for p in cfg.protocols
        for s in cfg.seeds
        for m in cfg.models
        if cell_key(e, p, s, m) not in done
    ]
    jobs = jobs or min(2, os.cpu_count() or 1)
    run_benchmark.cells_computed = len(todo)  # read by benchmark() for run.json
    with progress_bar(progress) as bar, open(out / CELLS_FILE, "a") as sink:
        task = bar.add_task(f"benchmark ({len(done)} cells already done)", total=len(todo))

        def record(key: str, rows: list[dict]) -> None:
            sink.write(json.dumps({"key": key, "rows": rows}) + "\n")
            sink.flush()
            done[key] = rows
            bar.update(task, advance=1, description=key.replace("|", " "))

        if jobs <= 1:
            for t in todo:
                record(*run_cell(str(data_dir), cfg, *t, out=str(out)))
        else:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker) as pool:
                futures = [pool.submit(run_cell, str(data_dir), cfg, *t, out=str(out)) for t in todo]
                for fut in as_completed(futures):
                    record(*fut.result())
    order = [
        cell_key(e, p, s, m)
        for e in cfg.expressions
        for p in cfg.protocols
        for s in cfg.seeds
        for m in cfg.models
    ]
    return pd.DataFrame([r for k in order for r in done[k]])  # config order, however cells finished


def benchmark(
    data_dir: Path, out: Path, cfg: BenchmarkConfig, jobs: int | None = None, progress: bool = True
) -> pd.DataFrame:
    """Run (or resume) the grid and write the run folder: results.csv, one Markdown table per
    protocol, winloss.md, tables.md (all together) and run.json."""
    from gfe import report, runinfo

    started = runinfo.timestamp()
    t0 = time.perf_counter()
    results = run_benchmark(data_dir, out, cfg, jobs=jobs, progress=progress)
    results.to_csv(out / "results.csv", index=False)
    sections = []
    for protocol in cfg.protocols:
        table = report.benchmark_table(results, protocol)
        (out / f"table_{protocol}.md").write_text(table)
        sections.append(f"### `{protocol}`\n\n{table}")
        if results[results["protocol"] == protocol]["fold"].nunique() > 1:
            sections.append(
                f"Per fold (`{protocol}`), mean F1 over expressions and seeds:\n\n{report.folds_table(results, protocol)}"
            )
    (out / "tables.md").write_text("\n".join(sections))
    (out / "winloss.md").write_text(report.winloss_markdown(results))
    previous = json.loads((out / "run.json").read_text()) if (out / "run.json").is_file() else {}
    invocations = [
        *previous.get("invocations", []),
        {
            "command": runinfo.command_line(),
            "started": started,
            "seconds": round(time.perf_counter() - t0, 1),
            "cells_computed": run_benchmark.cells_computed,
            "jobs": jobs or min(2, os.cpu_count() or 1),
        },
    ]
    runinfo.write_json(
        out / "run.json",
        {
            "command": invocations[0]["command"],
            "kind": "benchmark",
            "config": cfg.to_dict(),
            "seeds": list(cfg.seeds),
            "data_dir": str(data_dir),
            "data_checksums": runinfo.data_checksums(sorted(Path(data_dir).glob("*_*.txt"))),
            "versions": runinfo.package_versions(),
            "machine": runinfo.machine(),
            "cells": len(read_cells(out)),
            "sum_of_fit_seconds": round(float(results["fit_seconds"].sum()), 1),
            "invocations": invocations,  # a resumed run appends; the first did the most work
        },
    )
    return results
