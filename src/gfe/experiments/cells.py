"""Cells: the unit of work of every experiment (a model on every fold of one protocol, for one
expression and seed), what all cells of a run share (:class:`CellSpec`), the grid, and the row a
fold's result becomes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from gfe.experiments.runfolder import identity_hash
from gfe.experiments.scoring import fold_scores, validation_f1
from gfe.protocols import Fold, Pool


def model_of(entry: str) -> str:
    """The model name of a grid entry: ``seq-lstm`` or ``seq-lstm@tuned`` (a named configuration
    of it, whose parameters the run's ``model_params`` hold under the whole entry)."""
    return entry.split("@", 1)[0]


@dataclass(frozen=True)
class Cell:
    expression: str
    protocol: str
    seed: int
    model: str  # a grid entry: a model name, or MODEL@CONFIG for a named configuration

    @property
    def key(self) -> str:
        return f"{self.expression}|{self.protocol}|{self.seed}|{self.model}"

    @classmethod
    def from_key(cls, key: str) -> Cell:
        expression, protocol, seed, model = key.split("|")
        return cls(expression, protocol, int(seed), model)


@dataclass(frozen=True)
class CellSpec:
    """What every cell of one run shares."""

    data_dir: str
    features: str = "clean"
    model_params: dict[str, dict] = field(default_factory=dict)
    val_fraction: float = 0.15
    threshold: float = 0.5
    curves: bool = False  # record train and test loss after every epoch (the paper's Figs. 3-4)
    predictions: str = "first"  # keep per-frame predictions of: first seed, all, none
    seeds: tuple[int, ...] = (0,)
    device: str = "cpu"  # where torch models train (resolved: "cpu" or "cuda")
    decisions: str = "threshold"  # or "validation": post-processing chosen on validation frames
    expressions: tuple[str, ...] = ()  # of the grid: what a multi-expression cell ("*") covers

    def params(self, model: str) -> dict:
        return dict(self.model_params.get(model, {}))

    def cell_hash(self, cell: Cell) -> str:
        """What changes a cell's result besides its key: spec and model parameters."""
        return identity_hash(
            {"features": self.features, "val_fraction": self.val_fraction, "threshold": self.threshold,
             "params": self.params(cell.model), "curves": self.curves, "decisions": self.decisions}
        )  # fmt: skip


ALL = "*"  # the expression of a cell whose model covers every expression of the grid


def grid(expressions: Iterable[str], protocols: Iterable[str], seeds: Iterable[int], models: Iterable[str]):
    """Every cell, expression-major (the order results are reported in). A multi-expression model
    (``Tags.multi_expression``) has one cell per protocol and seed, for all expressions at once."""
    from gfe.models import model_class

    expressions, protocols, seeds, models = (list(v) for v in (expressions, protocols, seeds, models))
    multi = [m for m in models if model_class(model_of(m)).tags.multi_expression]
    single = [m for m in models if m not in multi]
    cells = [Cell(e, p, s, m) for e in expressions for p in protocols for s in seeds for m in single]
    return cells + [Cell(ALL, p, s, m) for p in protocols for s in seeds for m in multi]


def row(spec: CellSpec, cell: Cell, pool: Pool, fold: Fold, model, prob: np.ndarray, facts: dict) -> dict:
    """One fold's result row (the cell's expression is the pool's)."""
    return {
        "expression": pool.expression, "model": cell.model, "protocol": cell.protocol, "fold": fold.name,
        "seed": cell.seed, "n_train": len(facts["train"]), "n_val": len(facts["val"]),
        "n_test": len(fold.test), "n_unusable": pool.n_unusable, **fold_scores(pool, fold, facts["labels"]),
        "val_f1": validation_f1(pool, facts["val"], facts["labels"]),
        "hidden_units": getattr(model, "hidden_units_", spec.params(cell.model).get("hidden")),
        "decision": facts["rule"].describe(), "fit_seconds": round(facts["fit_seconds"], 4),
    }  # fmt: skip
