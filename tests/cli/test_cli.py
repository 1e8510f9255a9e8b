"""The command line: data check, reproduce, and clear errors without tracebacks."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app

runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env or {}, catch_exceptions=False)


def test_data_check_on_the_real_dataset(real_data):
    res = invoke("data", "check", "--data-dir", real_data)
    assert res.exit_code == 0, res.output
    assert "18 recordings loaded" in res.output
    total = next(line for line in res.output.splitlines() if "total" in line)
    assert "27936" in total and "588" in total and "4364" in total  # frames, unknown frames/timestamps


def test_data_check_fails_on_a_broken_dataset(synthetic_data):
    (synthetic_data / "b_topics_targets.txt").write_text("0\r\n1\r\n7")
    res = invoke("data", "check", "--data-dir", synthetic_data)
    assert res.exit_code == 1
    assert "b_topics_targets.txt, line 3: label '7' is not 0 or 1" in res.output
    assert "17 recordings loaded" in res.output
    assert "Traceback" not in res.output


def test_errors_are_one_clear_line(tmp_path, synthetic_data):
    res = invoke("data", "check", "--data-dir", tmp_path / "missing")
    assert res.exit_code == 2 and "data folder not found" in res.output and "Traceback" not in res.output
    res = invoke("reproduce", "--data-dir", synthetic_data, "--expressions", "happy", "--out", tmp_path / "r")
    assert res.exit_code == 2 and "unknown expression 'happy'" in res.output
    res = invoke("reproduce", "--data-dir", tmp_path, "--out", tmp_path / "r")
    assert res.exit_code == 2 and "no UCI dataset there" in res.output


def test_reproduce_writes_the_run_folder(tmp_path, synthetic_data):
    out = tmp_path / "run"
    res = invoke(
        "reproduce", "--data-dir", synthetic_data, "--out", out, "--seeds", 2, "--epochs", 3,
        "--expressions", "affirmative,negative", "--no-progress",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 3 * 2 * 2  # expressions × models × protocols × seeds
    assert set(results["model"]) == {"paper-lstm", "mlp", "mlp-pruned"}
    pruned = results[results["model"] == "mlp-pruned"]["hidden_units"]
    assert (pruned >= 1).all() and (pruned <= 105).all()
    assert {"f1", "precision", "recall", "accuracy", "tn", "fp", "fn", "tp"} <= set(results.columns)
    losses = pd.read_csv(out / "losses.csv")
    # 3 epochs per trained model, 5 retraining epochs per pruned MLP (the default)
    assert len(losses) == 16 * 3 + 8 * 5 and losses["test_loss"].notna().all()
    table = (out / "table3.md").read_text()
    assert "protocol `paper`" in table and "protocol `paper-holdout`" in table and "0.9022" in table
    assert "MLP + pruning" in table and "hidden units kept" in table
    for e in ("affirmative", "negative"):
        for m in ("paper-lstm", "mlp"):
            png = out / "loss_curves" / f"{e}_{m}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = json.loads((out / "run.json").read_text())
    assert run["seeds"] == [0, 1] and run["config"]["epochs"] == 3
    assert run["versions"]["torch"] and len(run["data_checksums"]) == 8


def test_reproduce_is_deterministic(tmp_path, synthetic_data):
    args = ["reproduce", "--data-dir", synthetic_data, "--seeds", 1, "--epochs", 4,
            "--expressions", "topics", "--no-progress"]  # fmt: skip
    invoke(*args, "--out", tmp_path / "a")
    invoke(*args, "--out", tmp_path / "b")
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()
    assert (tmp_path / "a" / "losses.csv").read_bytes() == (tmp_path / "b" / "losses.csv").read_bytes()


@pytest.mark.realdata
def test_reproduce_on_real_data_quick(tmp_path, real_data):
    out = tmp_path / "real"
    res = invoke(
        "reproduce", "--data-dir", real_data, "--out", out, "--seeds", 1, "--epochs", 30,
        "--expressions", "wh_question,relative", "--no-progress",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    r = pd.read_csv(out / "results.csv")
    lstm = r[(r.model == "paper-lstm") & (r.protocol == "paper")].set_index("expression")["f1"]
    # The paper reports 0.9211 and 0.9339; one seed of ours must land in the same region.
    assert lstm["wh_question"] > 0.85 and lstm["relative"] > 0.85
    rel = r[r.expression == "relative"]
    assert (rel["n_train"] + rel["n_test"] == 4234 - 588).all()  # unknown frames left out


@pytest.mark.realdata
def test_data_check_fits_80_columns_without_cutting_recording_names(real_data):
    import os
    import subprocess
    import sys
    from pathlib import Path

    gfe = Path(sys.executable).with_name("gfe")
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([str(gfe), "data", "check", "--data-dir", str(real_data)], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert all(len(line) <= 80 for line in table)
    names = [line.split("│")[1].strip() for line in table]
    assert [n for n in names if n not in ("", "recording", "total")] == [
        f"{s}_{e}" for e in ("affirmative", "conditional", "doubt_question", "emphasis", "negative",
                             "relative", "topics", "wh_question", "yn_question") for s in "ab"
    ]  # fmt: skip
