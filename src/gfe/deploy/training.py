"""`gfe train`: train a model on every usable frame of the dataset and make a bundle of it.

Normalisation: each training signer is z-scored on all frames of its own recording (features
only, nan-aware), as in the benchmark protocols; the bundle keeps those per-signer statistics and
statistics pooled over all training frames (the default for an unknown signer). Models whose
configuration early-stops (``Model.uses_validation``) get a validation part carved
chronologically: the last ``val_fraction`` of each recording's usable frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from gfe import EXPRESSIONS, SIGNERS
from gfe.deploy.bundle import FORMAT, FORMAT_VERSION, Bundle, BundleError
from gfe.errors import GfeError
from gfe.experiments import provenance
from gfe.features import Standardizer, spec_by_name
from gfe.protocols import carve_validation, make_pool, make_sequences, whole


def _checked(model: str, params: dict | None, threshold: float, val_fraction: float):
    from gfe.models import make_model, model_names

    bundleable = model_names(lambda c: c.tags.bundle)
    if model not in bundleable:
        raise BundleError(f"model {model!r} cannot be bundled; choose one of: {', '.join(bundleable)}")
    if not 0 < threshold < 1:
        raise BundleError(f"threshold must be between 0 and 1, got {threshold}")
    if not 0 <= val_fraction < 1:
        raise BundleError(f"val_fraction must be in [0, 1), got {val_fraction}")
    return make_model(model, **dict(params or {}))  # unknown names / bad values → GfeError now


def _expressions(est, expression: str | list[str] | None) -> list[str]:
    from gfe.data import check_expression

    if expression in (None, "*", "all"):
        expression = list(EXPRESSIONS)
    names = [expression] if isinstance(expression, str) else list(expression)
    if len(names) != 1 and not est.tags.multi_expression:
        raise BundleError(f"model {est.name!r} detects one expression: give --expression (or --all)")
    names = {check_expression(e) for e in names}
    return [e for e in EXPRESSIONS if e in names]


def _pools(data_dir: Path, expressions: list[str], signers: list[str], spec):
    """Recordings and pools of ``expressions``; a stateful spec fitted once on all their frames."""
    from gfe.data import load_dataset

    recordings = {e: load_dataset(data_dir, [e], signers) for e in expressions}
    state = None
    if spec.stateful:
        state = spec.fit(np.concatenate([r.landmarks for rs in recordings.values() for r in rs]))
    return recordings, {e: make_pool(rs, spec, state) for e, rs in recordings.items()}, state


def train_bundle(
    data_dir: str | Path,
    expression: str | list[str] | None,
    model: str,
    *,
    signers: list[str] | tuple[str, ...] | None = None,
    features: str = "clean",
    seed: int = 0,
    params: dict | None = None,
    threshold: float = 0.5,
    val_fraction: float = 0.15,
    progress: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> Bundle:
    """Train ``model`` on every usable frame of the chosen signers' recordings of ``expression``
    (a multi-expression model without one: of every expression) and return the bundle (not yet
    saved: :meth:`Bundle.save`). Each recording is z-scored on all its signer's frames of its
    expression, as in the benchmark's cells; the statistics the bundle keeps for new recordings are
    each signer's over all its training recordings (one recording per signer and expression, so for
    a single-expression bundle the same)."""
    from gfe.data import parse_names

    est = _checked(model, params, threshold, val_fraction)
    est.device = device  # the weights come back to the CPU: the bundle does not depend on it
    expressions = _expressions(est, expression)
    spec = spec_by_name(features)
    signers = parse_names(list(signers) if signers else None, SIGNERS, "signer")
    recordings, pools, state = _pools(Path(data_dir), expressions, signers, spec)
    scaler = Standardizer().fit(
        np.vstack([p.features for p in pools.values()]), np.concatenate([p.signers for p in pools.values()])
    )
    uses_val = est.uses_validation() and val_fraction > 0
    parts, train, val = {}, [], []
    for e, pool in pools.items():
        x = Standardizer().fit(pool.features, pool.signers).transform(pool.features, pool.signers)
        fold = whole(pool)
        tr, va = (
            carve_validation(pool, fold, val_fraction, seed) if uses_val else (fold.train, np.array([], int))
        )
        parts[e] = (tr, va)
        train += make_sequences(pool, x, tr)
        val += make_sequences(pool, x, va) if len(va) else []
    if progress:
        progress(
            f"training {model} on {', '.join(expressions)} ({sum(len(t) for t, _ in parts.values())} frames)"
        )
    est.fit(train, seed=seed, val=val or None)
    return Bundle(config=_config(est, expressions, spec, state, scaler, threshold, seed,
                                 _training_record(Path(data_dir), recordings, pools, parts, signers, uses_val, val_fraction, est)),
                  weights={k: v.detach().cpu().numpy().astype(np.float32) for k, v in est.module_.state_dict().items()})  # fmt: skip


def _config(est, expressions, spec, state, scaler, threshold, seed, training) -> dict:
    inputs = est.bundle_inputs()
    delta_scale = inputs["delta_scale"]
    n = spec.n_features
    multi = est.tags.multi_expression
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "expression": "*" if multi else expressions[0],
        **({"expressions": list(inputs["tasks"])} if multi else {}),
        "model": est.name, "params": est.get_params(), "model_tags": asdict(est.tags), "causal": bool(est.tags.causal),
        "n_features": n, "n_inputs": n * (2 if delta_scale is not None else 1),
        "deltas": delta_scale is not None, "delta_scale": delta_scale, "feature_spec": spec.to_dict(),
        "feature_state": spec.state_to_dict(state), "normalisation": _normalisation(scaler, multi),
        "threshold": float(threshold), "seed": int(seed), "training": training, "weights": {},
        "versions": provenance.package_versions(), "created": provenance.timestamp(),
    }  # fmt: skip


def _normalisation(scaler: Standardizer, multi: bool = False) -> dict:
    where = "all frames of its training recordings" if multi else "all frames of its training recording"
    return {
        "method": f"z-score (population std), per signer, fitted on {where} (features only, "
        "nan-aware); unknown values → 0 (the mean)",
        "default": "pooled",
        "signers": {g: {"mean": m.tolist(), "std": s.tolist()} for g, (m, s) in scaler.stats.items()},
        "pooled": {"mean": scaler.pooled[0].tolist(), "std": scaler.pooled[1].tolist()},
    }


def _training_record(data_dir: Path, recordings, pools, parts, signers, uses_val, val_fraction, est) -> dict:
    """What the bundle was trained on: files and checksums, frames per recording, validation."""
    files, rec_info = [], []
    for e, pool in pools.items():
        train, val = parts[e]
        for r in recordings[e]:
            sel = np.flatnonzero(pool.signers == r.signer)
            files += [r.source, r.meta["targets"]]
            rec_info.append(
                {
                    "recording": r.name, "frames": r.n_frames, "usable_frames": int(pool.usable[sel].sum()),
                    "unknown_frames": int((~pool.usable[sel]).sum()), "positives": r.n_positive,
                    "train_frames": int(np.isin(sel, train).sum()), "validation_frames": int(np.isin(sel, val).sum()),
                }
            )  # fmt: skip
    history = getattr(est, "history_", None) or {}
    return {
        "data_dir": str(data_dir),
        "signers": list(signers),
        "recordings": rec_info,
        "frames_used": "usable frames of the recordings (unknown x/y masked out)",
        "train_frames": sum(len(t) for t, _ in parts.values()),
        "validation_frames": sum(len(v) for _, v in parts.values()),
        "validation": (
            f"last {val_fraction:.0%} of each recording's usable frames (chronological), early stopping"
            if uses_val
            else "none (fixed number of epochs)"
        ),
        "history": _jsonable(history),
        "data_checksums": provenance.data_checksums(files),
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def expressions_to_train(model: str, expression: str | None, all_: bool) -> tuple[list[str], bool]:
    """What `gfe train` trains: (expressions, all of them?) from ``--expression`` / ``--all``. A
    multi-expression model needs neither: it learns all nine at once."""
    from gfe.data import check_expression
    from gfe.models import model_class

    if all_ and expression is not None:
        raise GfeError("give --expression E, or --all for all 9 expressions — not both")
    if not all_ and expression is None:
        if not model_class(model).tags.multi_expression:
            raise GfeError("give --expression E, or --all for all 9 expressions")
        all_ = True
    return (list(EXPRESSIONS) if all_ else [check_expression(expression)]), all_


def train_bundles(
    data_dir: str | Path,
    expressions: list[str],
    model: str,
    out: str | Path,
    *,
    one_folder_each: bool = False,
    force: bool = False,
    report: Callable[[str, Bundle, float], None] | None = None,
    **options,
) -> list[Bundle]:
    """Train and save one bundle per expression: into ``out`` (one expression), or into
    ``out/<expression>`` (``one_folder_each``, as `gfe train --all`) — or, for a multi-expression
    model, one bundle of all ``expressions`` into ``out``. Every target folder is checked before
    the first one is trained, so a refusal comes before the work."""
    import time

    from gfe.data import load_dataset, parse_names
    from gfe.deploy.bundle import check_bundle_target
    from gfe.models import model_class

    out = Path(out)
    if model_class(model).tags.multi_expression:
        jobs = [(list(expressions), out)]
    else:
        jobs = [(e, out / e if one_folder_each else out) for e in expressions]
    targets = [folder for _, folder in jobs]
    for folder in targets:
        check_bundle_target(folder, force)
    signers = options.get("signers")
    # Every recording it will train on loads (or one clear error) before the first training.
    load_dataset(
        Path(data_dir), expressions, parse_names(list(signers) if signers else None, SIGNERS, "signer")
    )
    bundles = []
    for e, folder in jobs:
        t0 = time.perf_counter()
        bundle = train_bundle(data_dir, e, model, **options)
        bundle.save(folder, force=force)
        bundles.append(bundle)
        if report is not None:
            what = e if isinstance(e, str) else f"{len(e)} expressions ({', '.join(e)})"
            report(what, bundle, time.perf_counter() - t0)
    return bundles
