"""benchmarks/ablation.py (issue #13's ablation): its quick path runs end to end in CI, and its
picks are made on validation F1 only — never on test F1."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def _ablation():
    spec = importlib.util.spec_from_file_location("ablation", REPO / "benchmarks" / "ablation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ablation"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_quick_ablation_runs_every_variant_and_writes_its_tables(synthetic_data, tmp_path):
    ab = _ablation()
    out = tmp_path / "ablation"
    ab.main(["--quick", "--seeds", "1", "--jobs", "1", "--out", str(out), "--data-dir", str(synthetic_data)])
    rows = pd.read_csv(out / "ablation.csv")
    assert set(rows["run"]) == {r.name for r in ab.RUNS}
    assert {"f1", "event_f1", "val_f1", "decisions"} <= set(rows.columns)
    text = (out / "ablation.md").read_text()
    for variant in ab.VARIANTS:
        assert f"| {variant} |" in text
    assert "gfe's pick (best validation F1)" in text


def test_picks_follow_validation_not_test():
    ab = _ablation()
    s = pd.DataFrame(
        [
            {"variant": "seq-lstm · clean", "protocol": "chrono", "causal": True, "val_f1_mean": 0.9,
             "f1_mean": 0.5, "f1_std": 0.0, "event_f1_mean": 0.1, "event_f1_std": 0.0},
            {"variant": "bilstm · clean", "protocol": "chrono", "causal": False, "val_f1_mean": 0.8,
             "f1_mean": 0.99, "f1_std": 0.0, "event_f1_mean": 0.9, "event_f1_std": 0.0},
            {"variant": "shared-lstm · aligned · decisions", "protocol": "chrono", "causal": True,
             "val_f1_mean": 1.0, "f1_mean": 0.7, "f1_std": 0.0, "event_f1_mean": 0.5, "event_f1_std": 0.0},
        ]
    )  # fmt: skip
    p = ab.picks(s).set_index("scope")
    assert p.loc["any", "pick"] == "seq-lstm · clean"  # best validation, although worse on test
    assert p.loc["any", "best_on_test"] == "bilstm · clean"  # reported beside it, not chosen
    assert p.loc["causal", "pick"] == "seq-lstm · clean"  # decision variants are not candidates


def test_the_train_default_is_the_best_causal_validation_score_over_the_honest_protocols():
    ab = _ablation()
    rows = []
    for protocol in ab.HONEST:
        for variant, val, test in (
            ("seq-lstm · clean", 0.80, 0.95),  # best on test: not chosen
            ("shared-lstm · aligned · augmented", 0.85, 0.70),
            ("bilstm · aligned", 0.99, 0.99),  # not causal
            ("shared-lstm · aligned · decisions", 1.0, 1.0),  # its validation F1 is fitted
        ):
            rows.append({"variant": variant, "protocol": protocol, "causal": variant in ab.CAUSAL,
                         "val_f1_mean": val, "f1_mean": test, "event_f1_mean": test / 2})  # fmt: skip
    d = ab.train_default(pd.DataFrame(rows))
    assert (d["model"], d["features"], d["params"]) == ("shared-lstm", "aligned", {"augment": 0.5})
    assert d["test_f1"] == {p: 0.70 for p in ab.HONEST}


def test_gfe_train_defaults_to_what_the_recorded_ablation_picked():
    import json

    from gfe.experiments.configs import TRAIN_DEFAULT

    recorded = json.loads((REPO / "benchmarks" / "results" / "ablation.json").read_text())["train_default"]
    assert (recorded["model"], recorded["features"], recorded["params"]) == TRAIN_DEFAULT
