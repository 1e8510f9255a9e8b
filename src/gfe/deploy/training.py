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

from gfe import SIGNERS
from gfe.deploy.bundle import FORMAT, FORMAT_VERSION, Bundle, BundleError
from gfe.experiments import provenance
from gfe.features import Standardizer, spec_by_name
from gfe.protocols import Pool, carve_validation, make_pool, make_sequences, whole


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


def train_bundle(
    data_dir: str | Path,
    expression: str,
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
    and return the bundle (not yet saved: :meth:`Bundle.save`)."""
    from gfe.data import check_expression, load_dataset, parse_names

    expression = check_expression(expression)
    est = _checked(model, params, threshold, val_fraction)
    est.device = device  # the weights come back to the CPU: the bundle does not depend on it
    spec = spec_by_name(features)
    signers = parse_names(list(signers) if signers else None, SIGNERS, "signer")
    recordings = load_dataset(Path(data_dir), [expression], signers)
    pool = make_pool(recordings, spec)
    scaler = Standardizer().fit(pool.features, pool.signers)
    x = scaler.transform(pool.features, pool.signers)
    uses_val = est.uses_validation() and val_fraction > 0
    fold = whole(pool)
    train, val = (
        carve_validation(pool, fold, val_fraction, seed) if uses_val else (fold.train, np.array([], int))
    )
    if progress:
        progress(f"training {model} on {expression} ({len(train)} frames, {len(val)} validation)")
    est.fit(make_sequences(pool, x, train), seed=seed, val=make_sequences(pool, x, val) if len(val) else None)
    weights = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in est.module_.state_dict().items()}
    delta_scale = est.bundle_inputs()["delta_scale"]
    n = int(pool.features.shape[1])
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "expression": expression, "model": model,
        "params": est.get_params(), "model_tags": asdict(est.tags), "causal": bool(est.tags.causal),
        "n_features": n, "n_inputs": n * (2 if delta_scale is not None else 1),
        "deltas": delta_scale is not None, "delta_scale": delta_scale, "feature_spec": spec.to_dict(),
        "feature_state": spec.state_to_dict(pool.state),
        "normalisation": _normalisation(scaler), "threshold": float(threshold), "seed": int(seed),
        "training": _training_record(Path(data_dir), recordings, pool, signers, train, val, uses_val, val_fraction, est),
        "weights": {}, "versions": provenance.package_versions(), "created": provenance.timestamp(),
    }  # fmt: skip
    return Bundle(config=config, weights=weights)


def _normalisation(scaler: Standardizer) -> dict:
    return {
        "method": "z-score (population std), per signer, fitted on all frames of its training "
        "recording (features only, nan-aware); unknown values → 0 (the mean)",
        "default": "pooled",
        "signers": {g: {"mean": m.tolist(), "std": s.tolist()} for g, (m, s) in scaler.stats.items()},
        "pooled": {"mean": scaler.pooled[0].tolist(), "std": scaler.pooled[1].tolist()},
    }


def _training_record(
    data_dir: Path, recordings, pool: Pool, signers, train, val, uses_val, val_fraction, est
) -> dict:
    """What the bundle was trained on: files and checksums, frames per recording, validation."""
    files, rec_info = [], []
    for r in recordings:
        sel = np.flatnonzero(pool.signers == r.signer)
        files += [r.source, r.meta["targets"]]
        rec_info.append(
            {
                "recording": r.name,
                "frames": r.n_frames,
                "usable_frames": int(pool.usable[sel].sum()),
                "unknown_frames": int((~pool.usable[sel]).sum()),
                "positives": r.n_positive,
                "train_frames": int(np.isin(sel, train).sum()),
                "validation_frames": int(np.isin(sel, val).sum()),
            }
        )
    history = getattr(est, "history_", None) or {}
    return {
        "data_dir": str(data_dir),
        "signers": list(signers),
        "recordings": rec_info,
        "frames_used": "usable frames of the recordings (unknown x/y masked out)",
        "train_frames": len(train),
        "validation_frames": len(val),
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
    ``out/<expression>`` (``one_folder_each``, as `gfe train --all`). Every target folder is checked
    before the first one is trained, so a refusal comes before the work."""
    import time

    from gfe.data import load_dataset, parse_names
    from gfe.deploy.bundle import check_bundle_target

    out = Path(out)
    targets = [out / e if one_folder_each else out for e in expressions]
    for folder in targets:
        check_bundle_target(folder, force)
    signers = options.get("signers")
    # Every recording it will train on loads (or one clear error) before the first training.
    load_dataset(
        Path(data_dir), expressions, parse_names(list(signers) if signers else None, SIGNERS, "signer")
    )
    bundles = []
    for e, folder in zip(expressions, targets, strict=True):
        t0 = time.perf_counter()
        bundle = train_bundle(data_dir, e, model, **options)
        bundle.save(folder, force=force)
        bundles.append(bundle)
        if report is not None:
            report(e, bundle, time.perf_counter() - t0)
    return bundles
