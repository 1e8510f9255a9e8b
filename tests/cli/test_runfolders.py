"""A run folder holds one configuration: another one is refused in one line (nothing touched),
--force replaces it, and the same configuration resumes. Standard output holds results only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from gfe.cli import app

runner = CliRunner()
GFE = Path(sys.executable).with_name("gfe")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_refusal(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert "another configuration" in res.output and "--force" in res.output
    return res.output


def test_tune_with_another_model_into_a_seq_lstm_folder(tmp_path, synthetic_data):
    out = tmp_path / "tune"
    base = ["tune", "--data-dir", synthetic_data, "--expression", "topics", "--trials", 1, "--out", out,
            "--no-evaluate", "--no-progress"]  # fmt: skip
    assert invoke(*base, "--model", "seq-lstm").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    message = one_line_refusal(invoke(*base, "--model", "gru"))
    assert "seq-lstm" in message and "gru" in message
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # untouched
    res = invoke(*base, "--model", "seq-lstm")  # the same configuration resumes: nothing left to do
    assert res.exit_code == 0 and "0 run now" in res.stdout
    res = invoke(*base, "--model", "gru", "--force")
    assert res.exit_code == 0, res.output
    assert json.loads((out / "run.json").read_text())["config"]["model"] == "gru"
    assert json.loads((out / "best_config.json").read_text())["model"] == "gru"


def test_benchmark_with_a_smaller_grid_into_an_existing_folder(tmp_path, synthetic_data):
    out = tmp_path / "bench"
    base = ["benchmark", "--data-dir", synthetic_data, "--protocols", "chrono", "--expressions", "topics",
            "--seeds", 1, "--jobs", 1, "--no-progress", "--param", "paper-lstm.epochs=2", "--out", out]  # fmt: skip
    assert invoke(*base, "--models", "logreg,paper-lstm").exit_code == 0
    results = (out / "results.csv").read_bytes()
    message = one_line_refusal(invoke(*base, "--models", "logreg"))
    assert "models" in message
    assert (out / "results.csv").read_bytes() == results
    res = invoke(*base, "--models", "logreg,paper-lstm")  # same configuration: resumes, same numbers
    assert res.exit_code == 0 and (out / "results.csv").read_bytes() == results
    res = invoke(*base, "--models", "logreg", "--force")
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out / "results.csv")["model"]) == {"logreg"}


def test_progress_goes_to_standard_error_and_standard_output_holds_only_the_table(tmp_path, synthetic_data):
    """`gfe reproduce … > log`, progress bar on: the log holds exactly Table 3."""
    out = tmp_path / "run"
    command = (f"'{GFE}' reproduce --data-dir '{synthetic_data}' --out '{out}' --seeds 1 --epochs 1 "
               "--expressions topics --models mlp > log 2> err")  # fmt: skip
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100"}
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, (tmp_path / "err").read_text()
    assert (tmp_path / "log").read_text().strip() == (out / "table3.md").read_text().strip()
    err = (tmp_path / "err").read_text()
    assert "2/2" in err and "━" in err  # the progress bar (2 cells) was drawn, on standard error
    assert f"run folder: {out}" in err
