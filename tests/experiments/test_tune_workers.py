"""Workers sharing a SQLite study: started together on a new study they both succeed (the table
race is retried), and every worker samples its own trials (issue #14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest

from gfe.experiments import tune as tune_module
from gfe.experiments.tune import TuneConfig, open_storage, open_study, suggest


def _params(study) -> list[tuple]:
    return [tuple(sorted(t.params.items())) for t in study.get_trials(deepcopy=False)]


def test_two_gfe_tune_commands_started_together_on_a_new_sqlite_study(tmp_path, synthetic_data):
    """Two independent `gfe tune` processes, one new SQLite file, one study: both finish, and the
    study holds distinct configurations (no two workers replay one random stream)."""
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    trials, procs = 8, []
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for w in range(2):
        cmd = [sys.executable, "-m", "gfe.cli", "tune", "--data-dir", str(synthetic_data), "--expression", "topics",
               "--model", "logreg", "--trials", str(trials), "--storage", storage, "--study", "shared",
               "--out", str(tmp_path / f"w{w}"), "--no-evaluate", "--no-progress"]  # fmt: skip
        procs.append(
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        )
    for p in procs:
        output, _ = p.communicate(timeout=300)
        assert p.returncode == 0, output
        assert "Traceback" not in output and "already exists" not in output
    study = optuna.load_study(study_name="shared", storage=storage)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert trials <= len(done) <= trials + 1
    assert len(set(_params(study))) == len(done), "two workers proposed the same configuration"
    runs = [json.loads((tmp_path / f"w{w}" / "run.json").read_text()) for w in range(2)]
    assert sum(r["trials"]["ran_now"] for r in runs) == len(study.trials)


def _ask(study, model="seq-lstm"):
    trial = study.ask()
    suggest(trial, tune_module.search_space(model).search)
    return trial


def test_workers_opening_one_study_sample_different_trials_deterministically(tmp_path):
    """Two workers (two opens of one SQLite study, as two processes do) alternate: their trials
    differ although they share the seed; a fresh study with the same seed gets the same trials."""

    def run(path) -> list[tuple]:
        cfg = TuneConfig(expression="topics", model="seq-lstm", trials=12)
        url = f"sqlite:///{path}"
        a, b = open_study(cfg, url), open_study(cfg, url)
        for _ in range(3):
            for study in (a, b):
                trial = _ask(study)
                study.tell(trial, 0.5)
        return _params(a)

    first = run(tmp_path / "one.db")
    assert len(set(first)) == len(first) == 6
    assert run(tmp_path / "two.db") == first  # same command, same seed: same trials


def test_a_lost_table_race_is_retried(tmp_path, monkeypatch):
    """What the second SQLite worker sees when the first created Optuna's tables a moment earlier."""
    import sqlalchemy.exc

    real, calls = optuna.storages.RDBStorage, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sqlalchemy.exc.OperationalError(
                "CREATE TABLE alembic_version", {}, Exception("table alembic_version already exists")
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    assert len(calls) == 2 and storage.get_all_studies() == []


def test_other_database_errors_are_not_retried_and_do_not_blame_a_server(tmp_path, monkeypatch):
    import sqlalchemy.exc

    from gfe.errors import GfeError

    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("unable to open database file"))

    monkeypatch.setattr(optuna.storages, "RDBStorage", broken)
    with pytest.raises(GfeError) as info:
        open_storage(f"sqlite:///{tmp_path / 's.db'}")
    assert len(calls) == 1
    assert "unable to open database file" in str(info.value) and "SQLite" in str(info.value)
    assert "server" not in str(info.value) and "password" not in str(info.value)
