"""`gfe benchmark`: models × protocols × expressions × seeds, resumable, on every core.

Each cell (:mod:`gfe.experiments.runner`) trains on the protocol's training frames, with labels of
every other frame hidden from the model, and scores the test frames of every fold. Finished cells
are appended to ``cells.jsonl``; the same command with the same ``--out`` resumes, and a folder
that holds another configuration is refused (:class:`~gfe.experiments.runfolder.RunFolder`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from gfe import EXPRESSIONS, __version__
from gfe.data import load_dataset
from gfe.errors import GfeError
from gfe.experiments import provenance
from gfe.experiments.cells import CellSpec, grid, model_of
from gfe.experiments.runfolder import RunFolder
from gfe.experiments.runner import run_cells, run_grid
from gfe.experiments.scoring import DECISIONS, EVENT_COLUMNS
from gfe.models import default_grid, make_model
from gfe.protocols import get_protocol

DEFAULT_PROTOCOLS = ("paper", "paper-holdout", "chrono", "cross-signer", "cross-signer-calibrated")
RESULT_COLUMNS = (
    "expression", "model", "protocol", "fold", "seed", "n_train", "n_val", "n_test",
    "f1", "precision", "recall", "accuracy", "tn", "fp", "fn", "tp", *EVENT_COLUMNS, "val_f1", "decision",
    "fit_seconds",
)  # fmt: skip


@dataclass(frozen=True)
class BenchmarkConfig:
    models: tuple[str, ...] = field(default_factory=default_grid)
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    expressions: tuple[str, ...] = EXPRESSIONS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    features: str = "clean"
    val_fraction: float = 0.15
    threshold: float = 0.5
    model_params: dict[str, dict] = field(default_factory=dict)
    predictions: str = "first"  # keep per-frame predictions of: first seed, all, none
    decisions: str = "threshold"  # or "validation": post-processing chosen on validation frames
    model_sources: dict[str, str] = field(default_factory=dict)  # model → config file it came from

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        """Fail early and clearly on unknown names and bad parameters, before any work."""
        from gfe.features import spec_by_name

        for m in self.models:
            make_model(model_of(m), **self.model_params.get(m, {}))
        for p in self.protocols:
            get_protocol(p)
        spec_by_name(self.features)
        if self.decisions not in DECISIONS:
            raise GfeError(f"--decisions {self.decisions!r}: choose one of {', '.join(DECISIONS)}")
        unused = sorted(set(self.model_params) - set(self.models))
        if unused:
            raise GfeError(
                f"parameters given for model(s) {', '.join(unused)}, which this benchmark does not run"
            )

    def cell_spec(self, data_dir: Path, device: str = "cpu") -> CellSpec:
        return CellSpec(
            data_dir=str(data_dir), features=self.features, model_params=self.model_params,
            val_fraction=self.val_fraction, threshold=self.threshold, predictions=self.predictions,
            seeds=self.seeds, device=device, decisions=self.decisions, expressions=self.expressions,
        )  # fmt: skip


def identity(cfg: BenchmarkConfig, data_dir: Path) -> dict:
    """Everything that changes a benchmark's results: the configuration, the data, gfe's version."""
    config = {k: v for k, v in cfg.to_dict().items() if k != "model_sources"}
    return {"config": config, "data": data_files_checksums(data_dir, cfg.expressions), "gfe": __version__}


def _in_config_order(rows: pd.DataFrame, cfg: BenchmarkConfig) -> pd.DataFrame:
    """Rows expression-major, then protocol, seed and model in the configuration's order (a
    multi-expression model's rows come with each expression's), folds as the protocol gives them."""
    if rows.empty:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    order = [rows["expression"].map({e: i for i, e in enumerate(cfg.expressions)}),
             rows["protocol"].map({p: i for i, p in enumerate(cfg.protocols)}), rows["seed"],
             rows["model"].map({m: i for i, m in enumerate(cfg.models)})]  # fmt: skip
    keys = pd.DataFrame({f"k{i}": k for i, k in enumerate(order)}).assign(n=range(len(rows)))
    idx = keys.sort_values([*keys.columns], kind="stable").index
    return rows.loc[idx, list(RESULT_COLUMNS)].reset_index(drop=True)


def data_files_checksums(data_dir: Path, expressions) -> dict[str, str]:
    files = [p for e in expressions for p in sorted(Path(data_dir).glob(f"*_{e}_*.txt"))]
    if "doubt_question" in expressions:
        files += sorted(Path(data_dir).glob("*_doubts_question_*.txt"))
    return provenance.data_checksums(files)


def benchmark(
    data_dir: Path,
    out: Path,
    cfg: BenchmarkConfig,
    jobs: int | None = None,
    progress: bool = True,
    force: bool = False,
    executor=None,
    cluster: str | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """Run (or resume) the grid into the run folder ``out``: cells.jsonl, results.csv (one row per
    fold, in the configuration's order however cells finished), predictions/ and run.json. Return
    the results. Markdown tables are rendered from them by :func:`gfe.report.render_run`. Cells run
    on ``jobs`` local processes, on a Dask ``cluster`` (``tcp://…``, ``local:N``) or on a given
    ``executor``; torch models train on ``device``."""
    cfg.check()
    load_dataset(data_dir, cfg.expressions)  # a missing or malformed file is refused before the work
    started, t0 = provenance.timestamp(), time.perf_counter()
    folder = RunFolder(out)
    ident = identity(cfg, data_dir)
    folder.open("benchmark", ident, force=force)
    previous = folder.info()
    cells = grid(cfg.expressions, cfg.protocols, cfg.seeds, cfg.models)
    records, where = run_grid(
        cfg.cell_spec(data_dir, device), cells, folder, executor=executor, cluster=cluster, jobs=jobs or 2,
        progress=progress, label="benchmark",
    )  # fmt: skip
    results = _in_config_order(pd.DataFrame([r for c in cells for r in records[c.key]["rows"]]), cfg)
    folder.write_csv(RunFolder.RESULTS, results)
    invocations = [
        *previous.get("invocations", []),
        {
            "command": provenance.command_line(), "started": started,
            "seconds": round(time.perf_counter() - t0, 1), "cells_computed": run_cells.computed,
            "executor": where, "device": device,
        },
    ]  # fmt: skip
    folder.finish(
        {
            "command": invocations[0]["command"],
            "kind": "benchmark",
            "config": cfg.to_dict(),
            "seeds": list(cfg.seeds),
            "data_dir": str(data_dir),
            "data_checksums": ident["data"],
            "versions": provenance.package_versions(),
            "machine": provenance.machine(),
            "cells": len(cells),
            "sum_of_fit_seconds": round(float(results["fit_seconds"].sum()), 1),
            "invocations": invocations,  # a resumed run appends; the first did the most work
        }
    )
    return results
