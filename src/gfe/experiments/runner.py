"""The one experiment runner of `gfe reproduce`, `gfe benchmark` and `gfe tune`: cells, seeds,
workers, resume.

A :class:`Cell` is one model trained on every fold of one protocol for one expression and seed.
:func:`run_cell` trains and scores it — labels of every non-training frame hidden from the model
(:func:`gfe.protocols.make_sequences`), early stopping on validation frames carved from the
training frames (:func:`gfe.protocols.carve_validation`) when the model's configuration uses them.
:func:`run_cells` runs the cells a run folder does not hold yet, on a pool of worker processes
(or one process), records each finished cell in ``cells.jsonl`` as it arrives and returns every
cell's record, finished earlier or now. Ctrl-C stops the workers at once; every cell finished
before it is kept, so the same command resumes.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict

import numpy as np

from gfe.errors import GfeError
from gfe.experiments import predictions
from gfe.experiments.cells import ALL, Cell, CellSpec, model_of, row
from gfe.experiments.multi import run_multi_cell
from gfe.experiments.runfolder import RunFolder
from gfe.experiments.scoring import fold_decisions
from gfe.models import make_model
from gfe.protocols import Fold, Pool, carve_validation, get_protocol, load_pool, make_sequences, signer_runs


# -------------------------------------------------------------------------------------- one cell
class _Curves:
    """A monitor that records train and test loss after each epoch; it holds the labels, the model
    never sees them (it is handed its own module, in eval mode)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
        import torch

        as_x = lambda idx: torch.as_tensor(np.ascontiguousarray(x[idx]), dtype=torch.float32)  # noqa: E731
        as_y = lambda idx: torch.as_tensor(y[idx], dtype=torch.long)  # noqa: E731
        self.data = (as_x(train), as_y(train), as_x(test), as_y(test))
        self.train_loss: list[float] = []
        self.test_loss: list[float] = []

    def __call__(self, epoch: int, module, history) -> None:
        import torch
        from torch import nn

        dev = next(module.parameters()).device
        xt, yt, xs, ys = (t.to(dev) for t in self.data)
        loss = nn.CrossEntropyLoss()
        with torch.no_grad():
            self.train_loss.append(float(loss(module(xt), yt)))
            self.test_loss.append(float(loss(module(xs), ys)))


def _fit_fold(spec: CellSpec, cell: Cell, pool: Pool, fold: Fold):
    """Train the cell's model on one fold → (model, probabilities of every pool frame, facts)."""
    x = fold.scaled_features(pool)
    model = make_model(model_of(cell.model), **spec.params(cell.model))
    model.device = spec.device
    if model.uses_validation() or spec.decisions == "validation":
        train, val = carve_validation(pool, fold, spec.val_fraction, cell.seed)
    else:
        train, val = fold.train, np.array([], dtype=int)
    curves = _Curves(x, pool.labels, train, fold.test) if spec.curves else None
    t0 = time.perf_counter()
    model.fit(
        make_sequences(pool, x, train),
        seed=cell.seed,
        val=make_sequences(pool, x, val) if len(val) else None,
        monitor=curves,
    )
    fit_s = time.perf_counter() - t0
    prob = np.empty(len(pool))
    blind = make_sequences(pool, x, np.array([], dtype=int))  # features only: every label hidden
    for idx, p in zip(signer_runs(pool).values(), model.predict_proba(blind), strict=True):
        prob[idx] = p
    labels, rule = fold_decisions(pool, fold, prob, val, spec.decisions, model.tags.causal, spec.threshold)
    facts = {
        "train": train,
        "val": val,
        "fit_seconds": fit_s,
        "curves": curves,
        "labels": labels,
        "rule": rule,
    }
    return model, prob, facts


def run_cell(spec: CellSpec, cell: Cell) -> dict:
    """Train and score one cell on every fold of its protocol → its record: ``{"key", "hash",
    "rows", "losses", "predictions"}`` (one row per fold; loss rows when ``spec.curves``; the
    per-frame predictions as a DataFrame when the run keeps this seed's, else None — the runner
    writes them to the run folder and keeps the rest in cells.jsonl)."""
    import torch

    torch.set_num_threads(1)
    if cell.expression == ALL:
        return run_multi_cell(spec, cell)
    pool = load_pool(spec.data_dir, cell.expression, spec.features)
    rows, losses, tables = [], [], []
    keep = predictions.wanted(spec.predictions, cell.seed, spec.seeds)
    for fold in get_protocol(cell.protocol)(pool, cell.seed):
        model, prob, facts = _fit_fold(spec, cell, pool, fold)
        rows.append(row(spec, cell, pool, fold, model, prob, facts))
        if facts["curves"] is not None:
            losses += _loss_rows(rows[-1], facts["curves"])
        if keep:
            shown = np.where(pool.usable, prob, np.nan)  # unknown features: no prediction
            tables.append(
                predictions.frame_table(
                    pool, fold, shown, model=cell.model, seed=cell.seed, train=facts["train"], val=facts["val"]
                )
            )  # fmt: skip
    table = predictions.concat(tables) if keep else None
    return {
        "key": cell.key,
        "hash": spec.cell_hash(cell),
        "rows": rows,
        "losses": losses,
        "predictions": table,
    }


def _loss_rows(row: dict, curves: _Curves) -> list[dict]:
    keys = {k: row[k] for k in ("expression", "model", "protocol", "fold", "seed")}
    pairs = zip(curves.train_loss, curves.test_loss, strict=True)
    return [{**keys, "epoch": i + 1, "train_loss": tr, "test_loss": te} for i, (tr, te) in enumerate(pairs)]


# ------------------------------------------------------------------------------------ executors
def _init_worker() -> None:
    """Worker processes leave Ctrl-C to the main process (which stops them) and use one thread."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def _call(task):
    fn, args = task
    return fn(*args)


class LocalExecutor:
    """Cells on ``jobs`` local worker processes (spawned), or in this process when ``jobs`` is 1."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = max(1, int(jobs))
        self._pool = None

    def map_unordered(self, fn: Callable, args: list[tuple]) -> Iterator:
        if self.jobs == 1 or len(args) <= 1:
            for a in args:
                yield fn(*a)
            return
        self._pool = mp.get_context("spawn").Pool(min(self.jobs, len(args)), initializer=_init_worker)
        try:
            yield from self._pool.imap_unordered(_call, [(fn, a) for a in args])
            self._pool.close()
        except BaseException:
            self._pool.terminate()  # Ctrl-C or an error: stop the workers now, not after the grid
            raise
        finally:
            self._pool.join()
            self._pool = None

    def describe(self) -> str:
        return f"{self.jobs} local worker process{'es' * (self.jobs != 1)}"

    def close(self) -> None:
        """Nothing to release: the pool lives only while cells run."""


def make_executor(cluster: str | None, jobs: int, data_dir, expressions):
    """Where cells run: a Dask cluster (``tcp://…`` or ``local:N``; see
    :mod:`gfe.experiments.cluster`) when ``cluster`` is given, else ``jobs`` local processes."""
    if cluster:
        from gfe.experiments.cluster import DaskExecutor

        return DaskExecutor(cluster, data_dir, expressions)
    return LocalExecutor(jobs)


def run_cells(
    spec: CellSpec,
    cells: list[Cell],
    folder: RunFolder,
    executor=None,
    progress: bool = True,
    label: str = "cells",
    on_record: Callable[[dict], None] | None = None,
) -> dict[str, dict]:
    """Run every cell the folder does not hold yet; return key → record for all ``cells``."""
    from gfe.progress import progress_bar

    executor = executor or LocalExecutor(1)
    wanted = {c.key: c for c in cells}
    done = {
        k: r
        for k, r in folder.read_cells().items()
        if k in wanted and r.get("hash") == spec.cell_hash(wanted[k])
    }
    todo = [c for c in cells if c.key not in done]
    run_cells.computed = len(todo)  # read by the experiments for run.json
    with progress_bar(progress) as bar, folder.cell_sink() as sink:
        task = bar.add_task(f"{label} ({len(cells) - len(todo)} already done)", total=len(todo))
        for record in executor.map_unordered(run_cell, [(spec, c) for c in todo]):
            table = record.pop("predictions", None)
            if table is not None:  # first the predictions, then the cell: a cell on record has its file
                predictions.write(folder.path, [table])
            sink(record)
            done[record["key"]] = record
            if on_record is not None:
                on_record(record)
            bar.update(task, advance=1, description=record["key"].replace("|", " "))
    missing = [c.key for c in cells if c.key not in done]
    if missing:  # pragma: no cover - every cell either ran or raised
        raise GfeError(f"{len(missing)} cells did not finish: {', '.join(missing[:3])}")
    return {c.key: done[c.key] for c in cells}


def spec_dict(spec: CellSpec) -> dict:
    return asdict(spec)


def run_grid(
    spec: CellSpec,
    cells: list[Cell],
    folder: RunFolder,
    *,
    executor=None,
    cluster: str | None = None,
    jobs: int = 1,
    progress: bool = True,
    label: str = "cells",
) -> tuple[dict[str, dict], str]:
    """:func:`run_cells` on ``executor``, or on one made here (a Dask ``cluster`` or ``jobs`` local
    processes) and closed afterwards → (records, a description of where the cells ran)."""
    own = executor is None
    expressions = list(dict.fromkeys(c.expression for c in cells))
    executor = executor or make_executor(cluster, jobs, spec.data_dir, expressions)
    try:
        records = run_cells(spec, cells, folder, executor, progress, label)
        return records, executor.describe()
    finally:
        if own:
            executor.close()
