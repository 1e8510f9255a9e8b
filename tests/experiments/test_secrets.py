"""Credentials never reach a file or a message: run.json (command, invocations, storage), the best
config, the HTML and Markdown reports, tune's errors and the download's errors (issue #14)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.errors import mask_secrets
from gfe.experiments import tune as tune_module

runner = CliRunner()
PASSWORD = "S3cretPW"


def invoke(*args, monkeypatch=None):
    args = [str(a) for a in args]
    if monkeypatch is not None:  # what provenance records as the command typed
        monkeypatch.setattr(sys, "argv", ["gfe", *args])
    return runner.invoke(app, args, catch_exceptions=False)


def every_file_text(folder: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file()
    )


@pytest.fixture
def server_study(monkeypatch, tmp_path):
    """A "PostgreSQL server" that is a SQLite file: the URL with its password goes everywhere a
    real server's would (messages, run.json, reports); only the connection is redirected."""
    db = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setattr(tune_module, "_driver_url", lambda url: db)
    monkeypatch.setattr(tune_module, "_storage_kwargs", lambda url: {})


@pytest.mark.parametrize("password", [PASSWORD, "S3c%40retPW"], ids=["plain", "with an encoded @"])
def test_a_storage_password_reaches_no_file_and_no_report(
    server_study, synthetic_data, tmp_path, monkeypatch, password
):
    url = f"postgresql://postgres:{password}@127.0.0.1:5432/db"
    out = tmp_path / "t"
    args = ["tune", "--data-dir", synthetic_data, "--expression", "topics", "--model", "logreg", "--trials", "2",
            "--eval-seeds", "1", "--storage", url, "--out", out, "--no-progress"]  # fmt: skip
    res = invoke(*args, monkeypatch=monkeypatch)
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text())
    assert run["command"].count("postgresql://postgres:***@127.0.0.1:5432/db") == 1
    assert run["invocations"][0]["command"] == run["command"] and run["storage"].endswith(
        "***@127.0.0.1:5432/db"
    )
    assert json.loads((out / "best_config.json").read_text())["source"]["storage"] == run["storage"]
    res = invoke("report", out, "--out", tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 0, res.output
    texts = {"run folder": every_file_text(out), "html": (tmp_path / "r.html").read_text(),
             "markdown": (tmp_path / "r.md").read_text(), "output": res.output}  # fmt: skip
    for where, text in texts.items():
        for secret in {password, password.replace("%40", "@"), "retPW"} - {""}:
            assert secret not in text, where
    assert "postgresql://postgres:***@127.0.0.1:5432/db" in texts["markdown"]


def test_a_password_holding_an_at_sign_is_refused_and_never_shown(synthetic_data, tmp_path):
    url = "postgresql://postgres:S3c@retPW@127.0.0.1:5432/db"
    res = invoke("tune", "--data-dir", synthetic_data, "--expression", "topics", "--model", "logreg",
                 "--storage", url, "--out", tmp_path / "t", "--no-progress")  # fmt: skip
    assert res.exit_code == 2 and "%40" in res.output
    assert "S3c" not in res.output and "retPW" not in res.output and "Traceback" not in res.output
    assert mask_secrets(f"x {url} y") == "x postgresql://postgres:***@127.0.0.1:5432/db y"


def test_a_database_error_while_the_study_runs_is_one_line_without_the_password(
    server_study, synthetic_data, tmp_path, monkeypatch
):
    import sqlalchemy.exc

    url = f"postgresql://postgres:{PASSWORD}@db.example:5432/db"

    def lost(*args, **kwargs):
        orig = Exception(f'connection to "{url}" lost; password={PASSWORD} (server closed the connection)')
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, orig)

    monkeypatch.setattr(tune_module, "run_parallel_search", lost)
    res = invoke("tune", "--data-dir", synthetic_data, "--expression", "topics", "--model", "logreg",
                 "--storage", url, "--out", tmp_path / "t", "--no-progress")  # fmt: skip
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "rerun the same command to resume" in errors[0]
    assert PASSWORD not in res.output and "Traceback" not in res.output


def test_an_old_run_folder_with_a_raw_password_is_reported_masked(tmp_path, synthetic_data):
    out = tmp_path / "b"
    res = invoke("benchmark", "--data-dir", synthetic_data, "--models", "logreg", "--protocols", "chrono",
                 "--expressions", "topics", "--seeds", "1", "--jobs", "1", "--no-progress", "--out", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    old = tmp_path / "old"
    shutil.copytree(out, old)
    info = json.loads((old / "run.json").read_text())
    raw = f"gfe tune --storage postgresql://me:{PASSWORD}@host/db"
    info["command"] = raw
    info["invocations"][0]["command"] = raw
    info["storage"] = f"postgresql://me:{PASSWORD}@host/db"
    (old / "run.json").write_text(json.dumps(info))
    res = invoke("report", old, "--out", tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 0, res.output
    for name in ("r.html", "r.md"):
        text = (tmp_path / name).read_text()
        assert PASSWORD not in text and "postgresql://me:***@host/db" in text, name


@pytest.mark.parametrize(
    "url",
    [f"http://user:{PASSWORD}@127.0.0.1:1/x.zip", f"nosuch://user:{PASSWORD}@host/x.zip"],
    ids=["connection refused", "unknown scheme"],
)
def test_a_download_url_with_credentials_is_masked_in_the_error(tmp_path, url):
    res = invoke("data", "download", "--url", url, "--dest", tmp_path / "d", "--quiet")
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "user:***@" in errors[0]
    assert PASSWORD not in res.output and "Traceback" not in res.output
    assert not (tmp_path / "d").exists()
