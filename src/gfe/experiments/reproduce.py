"""`gfe reproduce`: the seed paper's experiment grid, written to a self-describing run folder.

9 expressions × {PaperLSTM, MLP, MLP + distinctiveness pruning} × {paper, paper-holdout} × seeds.
Each cell trains one binary model with the paper's settings, records its train and test loss
after every epoch (the paper's Figs. 3–4; the test loss only ever feeds the curve) and scores it
on the protocol's test frames. Cells run through :mod:`gfe.experiments.runner`, so a rerun of the
same command into the same folder resumes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS, __version__
from gfe.data import load_dataset
from gfe.experiments import provenance
from gfe.experiments.benchmark import data_files_checksums
from gfe.experiments.cells import CellSpec, grid
from gfe.experiments.runfolder import RunFolder
from gfe.experiments.runner import run_cells, run_grid
from gfe.models import make_model
from gfe.protocols import get_protocol

PAPER_MODELS = ("paper-lstm", "mlp", "mlp-pruned")
PAPER_PROTOCOLS = ("paper", "paper-holdout")
RESULT_COLUMNS = (
    "expression", "model", "protocol", "fold", "seed", "n_train", "n_test", "n_unusable",
    "f1", "precision", "recall", "accuracy", "tn", "fp", "fn", "tp", "hidden_units",
)  # fmt: skip
LOSS_COLUMNS = ("expression", "model", "protocol", "fold", "seed", "epoch", "train_loss", "test_loss")


@dataclass(frozen=True)
class ReproduceConfig:
    expressions: tuple[str, ...] = EXPRESSIONS
    models: tuple[str, ...] = PAPER_MODELS
    protocols: tuple[str, ...] = PAPER_PROTOCOLS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    features: str = "paper"
    hidden: int = 105
    mlp_activation: str = "sigmoid"
    epochs: int = 30
    lr: float = 0.0099
    batch_size: int | None = None  # None: one full-batch step per epoch, as the paper's code
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

    def model_params(self) -> dict[str, dict]:
        """The paper's settings as each model's parameters."""
        train = {"hidden": self.hidden, "epochs": self.epochs, "lr": self.lr, "batch_size": self.batch_size}
        mlp = {**train, "activation": self.mlp_activation}
        pruned = {**mlp, "similar_deg": self.prune_similar_deg, "opposite_deg": self.prune_opposite_deg,
                  "retrain_epochs": self.prune_retrain_epochs}  # fmt: skip
        params = {"paper-lstm": train, "mlp": mlp, "mlp-pruned": pruned}
        return {m: params.get(m, {}) for m in self.models}

    def check(self) -> None:
        for m, p in self.model_params().items():
            make_model(m, **p)
        for p in self.protocols:
            get_protocol(p)


def reproduce(
    data_dir: Path,
    out: Path,
    cfg: ReproduceConfig,
    progress: bool = True,
    jobs: int = 1,
    force: bool = False,
    executor=None,
    cluster: str | None = None,
    device: str = "cpu",
) -> Path:
    """Run (or resume) the grid and write the run folder: results.csv, losses.csv, predictions/
    and run.json; return its path. Table 3 and the loss-curve PNGs are rendered from them by
    :func:`gfe.report.render_run`."""
    cfg.check()
    load_dataset(data_dir, cfg.expressions)  # a missing or malformed file is refused before the work
    started, t0 = provenance.timestamp(), time.perf_counter()
    folder = RunFolder(out)
    checksums = data_files_checksums(data_dir, cfg.expressions)
    ident = {"config": cfg.to_dict(), "data": checksums, "gfe": __version__}
    folder.open("reproduce", ident, force=force)
    spec = CellSpec(
        data_dir=str(data_dir), features=cfg.features, model_params=cfg.model_params(), threshold=cfg.threshold,
        curves=True, predictions=cfg.predictions, seeds=cfg.seeds, device=device,
    )  # fmt: skip
    cells = grid(cfg.expressions, cfg.protocols, cfg.seeds, cfg.models)
    records, where = run_grid(
        spec, cells, folder, executor=executor, cluster=cluster, jobs=jobs, progress=progress,
        label="reproducing Table 3",
    )  # fmt: skip
    results = pd.DataFrame([r for c in cells for r in records[c.key]["rows"]], columns=list(RESULT_COLUMNS))
    folder.write_csv(RunFolder.RESULTS, results)
    losses = pd.DataFrame([r for c in cells for r in records[c.key]["losses"]], columns=list(LOSS_COLUMNS))
    folder.write_csv(RunFolder.LOSSES, losses)
    seconds = [r["fit_seconds"] for c in cells for r in records[c.key]["rows"]]
    timings = {
        "total": round(time.perf_counter() - t0, 3),
        "training_cells": round(sum(seconds), 3),
        "median_cell": round(float(np.median(seconds)), 4) if seconds else None,
        "cells_computed": run_cells.computed,
    }
    folder.finish(
        {
            "command": provenance.command_line(), "kind": "reproduce", "started": started,
            "config": cfg.to_dict(), "seeds": list(cfg.seeds), "data_dir": str(data_dir),
            "data_checksums": checksums, "unusable_frames": _unusable(results),
            "versions": provenance.package_versions(), "machine": provenance.machine(),
            "timings_seconds": timings, "executor": where, "device": device,
            "files": [RunFolder.RESULTS, RunFolder.LOSSES],
        }
    )  # fmt: skip
    return out


def _unusable(results: pd.DataFrame) -> dict[str, int]:
    """Frames left out (unknown features) per expression's pool, as every row records it."""
    return {e: int(g["n_unusable"].iloc[0]) for e, g in results.groupby("expression", sort=False)}
