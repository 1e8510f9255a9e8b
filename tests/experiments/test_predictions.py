"""Per-frame predictions kept in run folders (for report timelines)."""

from __future__ import annotations

import numpy as np
import pytest

from gfe.experiments import predictions
from gfe.experiments.benchmark import BenchmarkConfig, benchmark
from gfe.protocols import get_protocol, load_pool


@pytest.mark.parametrize("keep, seeds_kept", [("first", {0}), ("all", {0, 1}), ("none", set())])
def test_benchmark_keeps_predictions_of_the_chosen_seeds(tmp_path, synthetic_data, keep, seeds_kept):
    cfg = BenchmarkConfig(
        models=("logreg",), protocols=("chrono", "cross-signer"), expressions=("topics",), seeds=(0, 1),
        predictions=keep,
    )  # fmt: skip
    results = benchmark(synthetic_data, tmp_path / "run", cfg, jobs=1, progress=False)
    tmp_path = tmp_path / "run"
    df = predictions.read(tmp_path)
    if not seeds_kept:
        assert df is None
        return
    assert set(df["seed"]) == seeds_kept
    pool = load_pool(str(synthetic_data), "topics", "clean")
    for protocol in cfg.protocols:
        for fold in get_protocol(protocol)(pool, 0):
            part = df[(df["protocol"] == protocol) & (df["fold"] == fold.name) & (df["seed"] == 0)]
            assert len(part) == len(pool)  # every frame of the expression's recordings
            assert (part["split"] == "test").sum() == len(fold.test)
            assert np.array_equal(part["label"].to_numpy(), pool.labels)
            test = part[part["split"] == "test"]
            row = results[
                (results["protocol"] == protocol) & (results["fold"] == fold.name) & (results["seed"] == 0)
            ]
            predicted = (test["prob"] >= cfg.threshold) & (test["label"] == 1)
            assert int(predicted.sum()) == int(row["tp"].iloc[0])  # the file holds what was scored
    assert df["prob"].between(0, 1).all()


def test_reproduce_keeps_first_seed_predictions(tmp_path, synthetic_data):
    from gfe.experiments.reproduce import ReproduceConfig, reproduce

    cfg = ReproduceConfig(expressions=("topics",), models=("paper-lstm",), seeds=(0, 1), epochs=2)
    reproduce(synthetic_data, tmp_path / "run", cfg, progress=False)
    df = predictions.read(tmp_path / "run")
    assert set(df["seed"]) == {0} and set(df["protocol"]) == {"paper", "paper-holdout"}
    assert set(df["split"]) <= {"train", "test", "unused"}
