"""`gfe tune`: search spaces, validation-only objective, resumable storage, config files, workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.errors import GfeError
from gfe.experiments.configs import read_model_config
from gfe.experiments.tune import (
    TuneConfig,
    best_params,
    open_study,
    prepare_folds,
    search_space,
    space_signature,
    trial_params,
)
from gfe.protocols import HIDDEN

runner = CliRunner()


def _tune(data: Path, out: Path, *extra: str, model: str = "logreg", trials: int = 3):
    args = ["tune", "--data-dir", str(data), "--expression", "topics", "--model", model]
    args += ["--trials", str(trials), "--out", str(out), "--eval-seeds", "1", "--no-progress", *extra]
    return runner.invoke(app, args)


def _trials(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "trials.csv")


# ---------------------------------------------------------------------------------- spaces
def test_paper_models_search_table_2_ranges():
    for model in ("paper-lstm", "mlp"):
        space = search_space(model)
        s = space.search
        assert (s["hidden"].low, s["hidden"].high) == (15, 200)
        assert (s["lr"].low, s["lr"].high) == (0.0005, 0.03) and s["lr"].log
        assert set(s["optimizer"].choices) == {"sgd", "adam"}
        assert space.fixed["epochs"] == 1500 and space.fixed["patience"] >= 1  # epochs by early stopping
    temporal = search_space("seq-lstm").search
    assert {"hidden", "layers", "dropout", "chunk_len", "lr", "weight_decay"} <= set(temporal)


def test_every_sampled_configuration_builds_its_estimator():
    from gfe.experiments.tune import tunable_models
    from gfe.models import make_model as make_estimator

    for model in tunable_models():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        for _ in range(5):
            trial = study.ask()
            make_estimator(model, **trial_params(model, trial))  # raises on a bad parameter
            study.tell(trial, 0.0)


def test_unknown_model_has_no_space_and_signature_is_stable():
    with pytest.raises(GfeError, match="tunable models"):
        search_space("svm")
    assert space_signature("seq-lstm") == json.loads(json.dumps(space_signature("seq-lstm")))


# ------------------------------------------------------------------------------- objective
@pytest.mark.parametrize("protocol", ["paper", "chrono", "cross-signer"])
def test_search_sees_training_frames_only(synthetic_data, protocol):
    """Train and validation sequences carry labels of the fold's training frames only; every test
    label is hidden; temporal protocols validate on frames after those they train on."""
    cfg = TuneConfig(expression="topics", model="logreg", protocol=protocol)
    for fd in prepare_folds(synthetic_data, cfg):
        train_idx, test_idx = set(fd.fold.train.tolist()), set(fd.fold.test.tolist())
        seen = set()
        for part in (fd.train, fd.val):
            for seq, idx in zip(part, fd.runs, strict=True):
                seen |= set(idx[seq.y != HIDDEN].tolist())
        assert seen and seen <= train_idx and not seen & test_idx
        assert set(fd.val_idx.tolist()) <= train_idx
        assert all((seq.y == HIDDEN).all() for seq in fd.blind)
        if protocol != "paper":
            for s in np.unique(fd.pool.signers[fd.val_idx]):
                own = [i for i in train_idx - set(fd.val_idx.tolist()) if fd.pool.signers[i] == s]
                assert min(fd.val_idx[fd.pool.signers[fd.val_idx] == s]) > max(own)


def test_frame_models_keep_the_epoch_early_stopping_chose():
    study = optuna.create_study(direction="maximize")
    study.add_trial(
        optuna.trial.create_trial(
            params={"hidden": 40, "lr": 0.01, "optimizer": "adam"},
            distributions=dict(search_space("paper-lstm").search),
            value=0.8,
            user_attrs={"best_epoch": 37},
        )
    )
    params = best_params(study, "paper-lstm")
    assert params == {"epochs": 37, "hidden": 40, "lr": 0.01, "optimizer": "adam"}


# ----------------------------------------------------------------------- the command itself
def test_tune_writes_run_folder_and_reruns_are_idempotent(tmp_path, synthetic_data):
    out = tmp_path / "study"
    res = _tune(synthetic_data, out, trials=4)
    assert res.exit_code == 0, res.output
    for name in (
        "study.db",
        "trials.csv",
        "best_config.json",
        "comparison.csv",
        "comparison.md",
        "history.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "importance.png").is_file()
    run = json.loads((out / "run.json").read_text())
    assert run["kind"] == "tune" and run["trials"]["finished"] == 4 and run["trials"]["ran_now"] == 4
    assert set(run["test_f1"]) == {"default", "tuned"}
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["config"]) == {"default", "tuned"} and set(comparison["seed"]) == {0}

    again = _tune(synthetic_data, out, trials=4)
    assert again.exit_code == 0, again.output
    run2 = json.loads((out / "run.json").read_text())
    assert run2["trials"]["ran_now"] == 0 and len(_trials(out)) == 4
    assert run2["best"] == run["best"] and len(run2["invocations"]) == 2

    more = _tune(synthetic_data, out, trials=6)
    assert more.exit_code == 0, more.output
    assert json.loads((out / "run.json").read_text())["trials"]["ran_now"] == 2
    assert len(_trials(out)) == 6


def test_same_command_same_seed_same_trials(tmp_path, synthetic_data):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _tune(synthetic_data, a, "--no-evaluate").exit_code == 0
    assert _tune(synthetic_data, b, "--no-evaluate").exit_code == 0
    cols = ["number", "value", "params_C"]
    pd.testing.assert_frame_equal(_trials(a)[cols], _trials(b)[cols])


def test_tuned_test_f1_is_what_the_benchmark_computes(tmp_path, synthetic_data):
    """The final comparison runs the benchmark's own cell code with the best config."""
    from gfe.experiments.cells import Cell, CellSpec
    from gfe.experiments.runner import run_cell

    out = tmp_path / "s"
    assert _tune(synthetic_data, out).exit_code == 0
    best = json.loads((out / "best_config.json").read_text())["params"]
    spec = CellSpec(data_dir=str(synthetic_data), model_params={"logreg": best})
    rows = run_cell(spec, Cell("topics", "chrono", 0, "logreg"))["rows"]
    comparison = pd.read_csv(out / "comparison.csv")
    assert comparison[comparison["config"] == "tuned"]["f1"].tolist() == pytest.approx(
        [r["f1"] for r in rows]
    )


def test_a_crashed_workers_trial_is_failed_and_the_study_completes(tmp_path, synthetic_data):
    out = tmp_path / "s"
    assert _tune(synthetic_data, out, "--no-evaluate", trials=1).exit_code == 0
    cfg = TuneConfig(expression="topics", model="logreg", trials=3)
    study = open_study(cfg, f"sqlite:///{out / 'study.db'}")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = study.ask()
    stale.set_user_attr("host", os.uname().nodename)
    stale.set_user_attr("pid", int(dead.stdout))
    res = _tune(synthetic_data, out, "--no-evaluate")
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text())
    assert run["trials"]["failed_dead_workers"] == 1
    states = _trials(out).set_index("number")["state"]
    assert states[stale.number] == "FAIL" and (states != "RUNNING").all()
    assert (states.isin(["COMPLETE", "PRUNED"])).sum() == 3


def test_paper_lstm_trials_stop_early_and_are_pruned(tmp_path, synthetic_data):
    out = tmp_path / "s"
    res = _tune(synthetic_data, out, "--no-evaluate", "--protocol", "paper", model="paper-lstm", trials=2)
    assert res.exit_code == 0, res.output
    trials = _trials(out)
    # Every trial early-stops on its validation loss (an SGD trial with a small learning rate may
    # still be improving at the maximum, 1500 epochs; an Adam trial stops long before).
    assert (trials["user_attrs_best_epoch"] <= 1500).all() and (trials["user_attrs_best_epoch"] < 1500).any()
    config = read_model_config(out / "best_config.json")
    assert config["params"]["epochs"] == trials.loc[trials["value"].idxmax(), "user_attrs_best_epoch"]
    assert "patience" not in config["params"]


# ------------------------------------------------------------------------------ errors
def test_a_study_with_another_search_space_is_refused(tmp_path, synthetic_data):
    out = tmp_path / "s"
    assert _tune(synthetic_data, out, "--study", "shared", "--no-evaluate").exit_code == 0
    storage = f"sqlite:///{out / 'study.db'}"
    res = _tune(synthetic_data, tmp_path / "other", "--study", "shared", "--no-evaluate", "--storage", storage,
                model="extra-trees")  # fmt: skip
    assert res.exit_code == 2
    assert "different search space" in res.output and "another --study" in res.output
    assert "Traceback" not in res.output
    # The same folder with another model is refused before the study is even opened.
    res = _tune(synthetic_data, out, "--study", "shared", "--no-evaluate", model="extra-trees")
    assert res.exit_code == 2 and "another configuration" in res.output and "--force" in res.output


@pytest.mark.parametrize(
    "url, needle",
    [
        ("postgresql://gfe:secret@127.0.0.1:1/nothing", "cannot connect"),
        ("nosuchdb://x/y", "not a database URL"),
    ],
)
def test_unreachable_or_bad_storage_is_one_clear_line(tmp_path, synthetic_data, url, needle):
    res = _tune(synthetic_data, tmp_path / "s", "--storage", url)
    assert res.exit_code == 2, res.output
    assert needle in res.output and "secret" not in res.output and "Traceback" not in res.output


def test_bad_config_files_are_clear(tmp_path, synthetic_data):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path, needle in (
        (tmp_path / "missing.json", "not found"),
        (bad, "not a JSON config"),
    ):
        res = runner.invoke(app, ["benchmark", "--data-dir", str(synthetic_data), "--config", str(path)])
        assert res.exit_code == 2 and needle in res.output, res.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "gfe-model-config/1", "model": "logreg", "features": "clean",
                                 "params": {"C": 1.0, "depth": 3}}))  # fmt: skip
    res = runner.invoke(app, ["benchmark", "--data-dir", str(synthetic_data), "--config", str(wrong)])
    assert res.exit_code == 2 and "wrong.json" in res.output and "depth" in res.output


# ------------------------------------------------------------------------ config → train/benchmark
def test_best_config_drives_benchmark_and_train(tmp_path, synthetic_data):
    out = tmp_path / "s"
    assert _tune(synthetic_data, out, "--no-evaluate", model="seq-lstm", trials=2).exit_code == 0
    config = out / "best_config.json"
    params = read_model_config(config)["params"]

    bench = tmp_path / "bench"
    res = runner.invoke(
        app,
        ["benchmark", "--data-dir", str(synthetic_data), "--config", str(config), "--out", str(bench),
         "--protocols", "chrono", "--expressions", "topics", "--seeds", "1", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    run = json.loads((bench / "run.json").read_text())
    assert run["config"]["models"] == ["seq-lstm@s"] and run["config"]["model_params"]["seq-lstm@s"] == params
    assert run["config"]["model_sources"] == {"seq-lstm@s": str(config)}
    assert set(pd.read_csv(bench / "results.csv")["model"]) == {"seq-lstm@s"}

    bundle = tmp_path / "bundle"
    res = runner.invoke(
        app,
        ["train", "--data-dir", str(synthetic_data), "--config", str(config), "--expression", "topics",
         "--out", str(bundle), "--param", "max_epochs=3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    saved = json.loads((bundle / "config.json").read_text())
    text = json.dumps(saved)
    assert '"seq-lstm"' in text and f'"hidden": {params["hidden"]}' in text and '"max_epochs": 3' in text

    res = runner.invoke(
        app,
        ["train", "--data-dir", str(synthetic_data), "--config", str(config), "--expression", "topics",
         "--out", str(tmp_path / "b2"), "--model", "gru"],
    )  # fmt: skip
    assert res.exit_code == 2 and "not --model gru" in res.output


# ------------------------------------------------------------------------------ real data
@pytest.mark.realdata
def test_tune_on_real_data(tmp_path, real_data):
    out = tmp_path / "real"
    args = ["tune", "--data-dir", str(real_data), "--expression", "negative", "--model", "logreg",
            "--trials", "4", "--out", str(out), "--eval-seeds", "1", "--no-progress"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text())
    assert run["trials"]["finished"] == 4 and 0 < run["best"]["validation_f1"] <= 1
    assert 0 < run["test_f1"]["tuned"] <= 1 and 0 < run["test_f1"]["default"] <= 1


# ------------------------------------------------------------------ shared PostgreSQL study
@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("GFE_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a PostgreSQL server: .ci/run sets GFE_TEST_POSTGRES_URL")
        pytest.skip("no PostgreSQL server (set GFE_TEST_POSTGRES_URL, e.g. from .ci/start-postgres)")
    return url


@pytest.fixture()
def fresh_postgres_db(postgres_url):
    """A new, empty database on the test server (dropped afterwards), so that the workers also
    race to create Optuna's tables, as workers started together on a new server do."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(postgres_url)
    name = f"gfe_{uuid.uuid4().hex[:10]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_two_workers_share_one_postgresql_study(tmp_path, synthetic_data, fresh_postgres_db):
    """Two `gfe tune` processes started together on an empty database, one study: trials are
    shared, numbered once, none lost."""
    postgres_url = fresh_postgres_db
    study = f"shared-{uuid.uuid4().hex[:8]}"
    trials = 10
    procs, outs = [], []
    for w in range(2):
        out = tmp_path / f"worker{w}"
        outs.append(out)
        cmd = [sys.executable, "-m", "gfe.cli", "tune", "--data-dir", str(synthetic_data),
               "--expression", "topics", "--model", "extra-trees", "--trials", str(trials),
               "--storage", postgres_url, "--study", study, "--out", str(out), "--no-evaluate", "--no-progress"]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        output, _ = p.communicate(timeout=600)
        assert p.returncode == 0, output

    loaded = optuna.load_study(
        study_name=study, storage=postgres_url.replace("postgresql://", "postgresql+psycopg://")
    )
    all_trials = loaded.get_trials(deepcopy=False)
    states = [t.state for t in all_trials]
    finished = [
        t for t in all_trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    assert len(finished) == len(all_trials), states  # nothing left RUNNING or FAILED
    assert trials <= len(finished) <= trials + 1  # each worker stops at the study's total (±1 in flight)
    assert sorted(t.number for t in all_trials) == list(range(len(all_trials)))
    runs = [json.loads((o / "run.json").read_text()) for o in outs]
    assert sum(r["trials"]["ran_now"] for r in runs) == len(all_trials)  # every trial run is in the study
    assert all(r["trials"]["ran_now"] > 0 for r in runs)  # both workers did part of the work
    assert len({t.user_attrs["pid"] for t in all_trials}) == 2


def test_ctrl_c_stops_every_worker_cleanly_and_the_rerun_resumes(tmp_path, interruptible):
    """Ctrl-C (SIGINT to the process group) while two local workers run trials: one line, exit
    130, no traceback; the rerun of the same command fails the interrupted trials and completes.
    Recordings of 500 frames make a trial last seconds, so both workers are surely mid-trial."""
    import signal
    import time

    from gfe.data.synthetic import write_dataset

    data = write_dataset(tmp_path / "data", n_frames=500, expressions=("affirmative", "topics"))
    out = tmp_path / "s"
    cmd = [sys.executable, "-m", "gfe.cli", "tune", "--data-dir", str(data), "--expression", "topics",
           "--model", "paper-lstm", "--protocol", "paper", "--trials", "6", "--jobs", "2", "--out", str(out),
           "--no-evaluate", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **interruptible)
    storage, deadline = f"sqlite:///{out / 'study.db'}", time.monotonic() + 120
    running: list = []
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        try:
            study = optuna.load_study(study_name="topics-paper-lstm-paper-clean", storage=storage)
        except Exception:  # the file or the study is not created yet
            continue
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if len({t.user_attrs.get("pid") for t in running} - {None}) == 2:
            break
    assert len(running) == 2, "both workers should be running a trial"
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output

    res = runner.invoke(app, cmd[3:])
    assert res.exit_code == 0, res.output
    states = _trials(out)["state"]
    assert (states != "RUNNING").all() and states.isin(["COMPLETE", "PRUNED"]).sum() >= 6
