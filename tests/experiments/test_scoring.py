"""Re-scoring kept predictions with decisions chosen on validation frames: per expression, or one
set of decisions for several expressions (a shared model's nine heads). Test labels never choose."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gfe.experiments.scoring import rescore, rescore_shared


def kept(expression: str, seed: int, n: int = 600) -> pd.DataFrame:
    """One recording's kept predictions: train, then validation, then test frames; events of 40
    frames whose probabilities flicker, so smoothing and a minimum length pay off."""
    rng = np.random.default_rng(seed)
    label = ((np.arange(n) // 40) % 3 == 1).astype(int)
    prob = np.clip(0.25 + 0.5 * label + rng.normal(0, 0.25, n), 0, 1)
    split = np.array(["train"] * int(0.6 * n) + ["val"] * int(0.2 * n) + ["test"] * (n - int(0.8 * n)))
    return pd.DataFrame({"expression": expression, "protocol": "chrono", "model": "shared-lstm", "seed": 0,
                         "fold": "", "signer": "a", "frame": np.arange(n), "split": split, "label": label,
                         "prob": prob})  # fmt: skip


def test_one_part_shared_is_the_per_expression_choice():
    part = kept("negative", 1)
    assert rescore_shared([part], causal=True) == [rescore(part, "validation", causal=True)]


def test_one_set_of_decisions_serves_every_expression():
    parts = [kept("negative", 1), kept("topics", 2), kept("emphasis", 3)]
    shared = rescore_shared(parts, causal=True)
    assert len({s["decision"] for s in shared}) == 1
    assert shared[0]["decision"] != "on 0.5"  # the flicker makes smoothing or a minimum length win
    plain = [rescore(p, "threshold", causal=True) for p in parts]
    assert np.mean([s["event_f1"] for s in shared]) > np.mean([s["event_f1"] for s in plain])


def test_test_labels_do_not_choose_the_decisions():
    parts = [kept("negative", 1), kept("topics", 2)]
    flipped = []
    for p in parts:
        q = p.copy()
        test = q["split"] == "test"
        q.loc[test, "label"] = 1 - q.loc[test, "label"]
        flipped.append(q)
    assert [s["decision"] for s in rescore_shared(parts, True)] == [
        s["decision"] for s in rescore_shared(flipped, True)
    ]
    assert [s["val_f1"] for s in rescore_shared(parts, True)] == [
        s["val_f1"] for s in rescore_shared(flipped, True)
    ]
