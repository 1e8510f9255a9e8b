"""`gfe reproduce`: the seed paper's experiment grid, written to a self-describing run folder.

9 expressions × {PaperLSTM, MLP, MLP + distinctiveness pruning} × {paper, paper-holdout} × seeds. Each cell trains one binary
model with the paper's settings and scores it on the protocol's test frames.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gfe import EXPRESSIONS
from gfe.data import Recording, load_dataset
from gfe.features import spec_by_name
from gfe.metrics import binary_metrics
from gfe.models import build_model
from gfe.protocols import Fold, Pool, get_protocol, make_pool
from gfe.training import FitResult, TrainConfig, fit, predict_proba

PAPER_MODELS = ("paper-lstm", "mlp", "mlp-pruned")
PAPER_PROTOCOLS = ("paper", "paper-holdout")


@dataclass(frozen=True)
class ReproduceConfig:
    expressions: tuple[str, ...] = EXPRESSIONS
    models: tuple[str, ...] = PAPER_MODELS
    protocols: tuple[str, ...] = PAPER_PROTOCOLS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    features: str = "paper"
    hidden: int = 105
    mlp_activation: str = "sigmoid"
    train: TrainConfig = field(default_factory=TrainConfig)
    threshold: float = 0.5
    prune_similar_deg: float = 15.0
    prune_opposite_deg: float = 165.0
    prune_retrain_epochs: int = 5
    predictions: str = "first"  # keep per-frame predictions of: first seed, all, none

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def n_cells(self) -> int:
        return len(self.expressions) * len(self.protocols) * len(self.seeds) * len(self.models)


def _model_factory(name: str, cfg: ReproduceConfig, n_features: int) -> Callable[[], torch.nn.Module]:
    params: dict = {"hidden": cfg.hidden}
    if name == "mlp":
        params["activation"] = cfg.mlp_activation
    return lambda: build_model(name, n_features=n_features, **params)


def _fit_cell(
    model: str, pool: Pool, fold: Fold, x: np.ndarray, seed: int, cfg: ReproduceConfig, trained: dict
):
    """Train ``model`` on the fold; return (fitted model, FitResult-like losses, hidden units).

    ``mlp-pruned`` is the paper's second preliminary experiment: the cell's trained MLP, reduced
    by distinctiveness pruning on the training frames, then optionally retrained briefly.
    """
    y = pool.labels
    if model == "mlp-pruned":
        from gfe.pruning import prune_distinctiveness

        if "mlp" not in trained:
            trained["mlp"] = _fit_cell("mlp", pool, fold, x, seed, cfg, trained)[0]
        net = copy.deepcopy(trained["mlp"])
        report = prune_distinctiveness(
            net, x[fold.train], similar_deg=cfg.prune_similar_deg, opposite_deg=cfg.prune_opposite_deg
        )
        res = FitResult(net)
        if cfg.prune_retrain_epochs:
            retrain = replace(cfg.train, epochs=cfg.prune_retrain_epochs)
            res = fit(lambda: net, x[fold.train], y[fold.train], retrain, seed, x[fold.test], y[fold.test])
        return res.model, res, report.hidden_after
    res = fit(
        _model_factory(model, cfg, x.shape[1]),
        x[fold.train],
        y[fold.train],
        cfg.train,
        seed,
        x[fold.test],
        y[fold.test],
    )
    trained[model] = res.model
    return res.model, res, cfg.hidden


def run_cell(
    pool: Pool, fold: Fold, x: np.ndarray, model: str, seed: int, cfg: ReproduceConfig, trained=None
):
    """Train one model on one fold; return (result row, loss rows, fitted model, seconds)."""
    y = pool.labels
    t0 = time.perf_counter()
    net, res, hidden = _fit_cell(model, pool, fold, x, seed, cfg, {} if trained is None else trained)
    seconds = time.perf_counter() - t0
    prob = predict_proba(net, x[fold.test])
    row = {
        "expression": pool.expression,
        "model": model,
        "protocol": fold.protocol,
        "fold": fold.name,
        "seed": seed,
        "n_train": len(fold.train),
        "n_test": len(fold.test),
        "n_unusable": pool.n_unusable,
        **binary_metrics(y[fold.test], prob >= cfg.threshold),
        "hidden_units": hidden,
    }
    losses = [
        {**{k: row[k] for k in ("expression", "model", "protocol", "fold", "seed")},
         "epoch": i + 1, "train_loss": tr, "test_loss": te}
        for i, (tr, te) in enumerate(zip(res.train_loss, res.test_loss, strict=True))
    ]  # fmt: skip
    return row, losses, net, seconds


def iter_grid(
    recordings: list[Recording], cfg: ReproduceConfig
) -> Iterator[tuple[dict, list[dict], float, pd.DataFrame | None]]:
    """Yield (row, loss rows, seconds, per-frame predictions or None) for every cell of the grid,
    one expression at a time."""
    from gfe import predictions

    spec = spec_by_name(cfg.features)
    for expression in cfg.expressions:
        pool = make_pool([r for r in recordings if r.expression == expression], spec)
        for protocol in cfg.protocols:
            split = get_protocol(protocol)
            for seed in cfg.seeds:
                for fold in split(pool, seed):
                    x = fold.scaled_features(pool)
                    trained: dict = {}
                    for model in cfg.models:
                        row, losses, net, seconds = run_cell(pool, fold, x, model, seed, cfg, trained)
                        table = None
                        if predictions.wanted(cfg.predictions, seed, cfg.seeds):
                            prob = predict_proba(net, np.nan_to_num(x))
                            prob[~pool.usable] = np.nan  # unknown features: no prediction
                            table = predictions.frame_table(pool, fold, prob, model=model, seed=seed)
                        yield row, losses, seconds, table


def reproduce(
    data_dir: Path,
    out: Path,
    cfg: ReproduceConfig,
    progress: bool = True,
    command: str = "",
) -> Path:
    """Run the grid and write the run folder; return its path."""
    from gfe import predictions, report, runinfo

    started = runinfo.timestamp()
    t0 = time.perf_counter()
    recordings = load_dataset(data_dir, cfg.expressions)
    load_seconds = time.perf_counter() - t0
    rows, losses, seconds = [], [], []
    out.mkdir(parents=True, exist_ok=True)
    with report.progress_bar(progress) as bar:
        task = bar.add_task("reproducing Table 3", total=cfg.n_cells)
        for row, loss_rows, sec, table in iter_grid(recordings, cfg):
            if table is not None:
                predictions.write(out, [table])
            rows.append(row)
            losses.extend(loss_rows)
            seconds.append(sec)
            bar.update(
                task, advance=1, description=f"{row['expression']:<15} {row['model']:<11} {row['protocol']}"
            )
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    loss_df = pd.DataFrame(losses)
    loss_df.to_csv(out / "losses.csv", index=False)
    (out / "table3.md").write_text(report.table3_markdown(results))
    plots = report.loss_curve_plots(loss_df, out / "loss_curves")
    total = time.perf_counter() - t0
    runinfo.write_json(
        out / "run.json",
        {
            "command": command or runinfo.command_line(),
            "kind": "reproduce",
            "started": started,
            "config": cfg.to_dict(),
            "seeds": list(cfg.seeds),
            "data_dir": str(data_dir),
            "data_checksums": runinfo.data_checksums(
                [p for r in recordings for p in (r.source, *(r.meta.get("targets"),)) if p]
            ),
            "unusable_frames": {r.name: int(r.unknown_frames.sum()) for r in recordings},
            "versions": runinfo.package_versions(),
            "machine": runinfo.machine(),
            "timings_seconds": {
                "total": round(total, 3),
                "load_data": round(load_seconds, 3),
                "training_cells": round(sum(seconds), 3),
                "median_cell": round(float(np.median(seconds)), 4) if seconds else None,
            },
            "files": ["results.csv", "losses.csv", "table3.md", *[str(p.relative_to(out)) for p in plots]],
        },
    )
    return out
