"""A multi-expression cell: one model (``Tags.multi_expression``) trained on the recordings of every
expression of the grid at once, scored per expression exactly as a single-expression cell is.

For each fold of the protocol (every expression's pool yields the same folds, in the same order:
the same signers, the same proportions), each pool is split and scaled as its own fold says, the
training and validation sequences of all pools go to one ``fit``, and each pool's frames are then
predicted, decided and scored like any cell's. A spec fitted from data (the aligned face template)
is fitted once, on the training frames of all the pools, so every expression's inputs share it.
"""

from __future__ import annotations

import time

import numpy as np

from gfe.experiments import predictions
from gfe.experiments.cells import Cell, CellSpec, model_of, row
from gfe.experiments.scoring import fold_decisions
from gfe.models import make_model
from gfe.protocols import carve_validation, get_protocol, load_pool, make_sequences, signer_runs


def _scaled(pools, folds) -> dict[str, np.ndarray]:
    from gfe.features import Standardizer

    spec = next(iter(pools.values())).spec
    state = None
    if spec.stateful:
        train_lm = np.concatenate([pools[e].landmarks[folds[e].train] for e in pools])
        state = spec.fit(train_lm)
    out = {}
    for e, pool in pools.items():
        feats = pool.features
        if state is not None:
            feats = np.vstack(
                [spec.compute(pool.landmarks[idx], state) for idx in signer_runs(pool).values()]
            )
        norm = folds[e].norm_fit
        out[e] = Standardizer().fit(feats[norm], pool.signers[norm]).transform(feats, pool.signers)
    return out


def run_multi_cell(spec: CellSpec, cell: Cell) -> dict:
    """Train one model on every expression of ``spec.expressions`` per fold; one row per expression
    and fold (see the module docstring)."""
    pools = {e: load_pool(spec.data_dir, e, spec.features) for e in spec.expressions}
    split = get_protocol(cell.protocol)
    by_fold = [
        dict(zip(pools, fs, strict=True))
        for fs in zip(*(split(p, cell.seed) for p in pools.values()), strict=True)
    ]
    rows, tables = [], []
    keep = predictions.wanted(spec.predictions, cell.seed, spec.seeds)
    for folds in by_fold:
        x = _scaled(pools, folds)
        model = make_model(model_of(cell.model), **spec.params(cell.model))
        model.device = spec.device
        parts = {e: carve_validation(pools[e], folds[e], spec.val_fraction, cell.seed) for e in pools}
        train = [s for e, (tr, _) in parts.items() for s in make_sequences(pools[e], x[e], tr)]
        val = [s for e, (_, va) in parts.items() if len(va) for s in make_sequences(pools[e], x[e], va)]
        t0 = time.perf_counter()
        model.fit(train, seed=cell.seed, val=val or None)
        fit_s = (time.perf_counter() - t0) / len(pools)
        for e, pool in pools.items():
            fold, (tr, va) = folds[e], parts[e]
            prob = np.empty(len(pool))
            blind = make_sequences(pool, x[e], np.array([], dtype=int))
            for idx, p in zip(signer_runs(pool).values(), model.predict_proba(blind), strict=True):
                prob[idx] = p
            labels, rule = fold_decisions(
                pool, fold, prob, va, spec.decisions, model.tags.causal, spec.threshold
            )
            facts = {"train": tr, "val": va, "fit_seconds": fit_s, "labels": labels, "rule": rule}
            rows.append(row(spec, cell, pool, fold, model, prob, facts))
            if keep:
                shown = np.where(pool.usable, prob, np.nan)
                tables.append(
                    predictions.frame_table(
                        pool, fold, shown, model=cell.model, seed=cell.seed, train=tr, val=va
                    )
                )
    table = predictions.concat(tables) if keep else None
    return {"key": cell.key, "hash": spec.cell_hash(cell), "rows": rows, "losses": [], "predictions": table}
