"""Every user-facing failure is one line naming the file or option and the fix, exit status 2, no
traceback — and a bad output path is refused before the long work starts (issue #14)."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data.synthetic import format_datapoints, make_recording, write_dataset

runner = CliRunner()
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def one_line(res, *needles: str) -> str:
    """The failure is exit status 2 with exactly one ``error:`` line holding every needle."""
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def deny_reading(monkeypatch, path: Path) -> None:
    """Reading ``path`` fails with EACCES, as a file of mode 000 does for anyone but root (the tests
    may run as root, whom permission bits do not stop): every open of it for reading is refused."""
    real_open, target = builtins.open, os.path.realpath(path)

    def guarded(file, mode="r", *args, **kwargs):
        if isinstance(file, str | os.PathLike) and os.path.realpath(file) == target and "r" in mode:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)


def never(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} ran: the bad input should have been refused before the work")

    return fail


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    ts, lm, _ = make_recording(80, seed=3)
    path = tmp_path_factory.mktemp("rec") / "rec.txt"
    path.write_text(format_datapoints(ts, lm))
    return path


@pytest.fixture(scope="module")
def run(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "bench"
    res = invoke("benchmark", "--data-dir", data, "--models", "logreg", "--protocols", "chrono",
                 "--expressions", "topics", "--seeds", "1", "--jobs", "1", "--no-progress", "--out", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    return out


# ------------------------------------------------------------------------ bad --out, every command
# Each command with the function that does its long work: it must not run when --out is bad.
COMMANDS = {
    "reproduce": (["reproduce", "--data-dir", "{data}", "--expressions", "topics", "--seeds", "1", "--epochs", "1",
                   "--models", "mlp", "--protocols", "paper", "--no-progress", "--out", "{out}"],
                  "gfe.experiments.runner.run_cell", "folder"),
    "benchmark": (["benchmark", "--data-dir", "{data}", "--models", "logreg", "--protocols", "chrono",
                   "--expressions", "topics", "--seeds", "1", "--jobs", "1", "--no-progress", "--out", "{out}"],
                  "gfe.experiments.runner.run_cell", "folder"),
    "tune": (["tune", "--data-dir", "{data}", "--expression", "topics", "--model", "logreg", "--trials", "1",
              "--no-evaluate", "--no-progress", "--out", "{out}"], "gfe.experiments.tune.run_parallel_search", "folder"),
    "train": (["train", "--data-dir", "{data}", "--expression", "topics", "--model", "mlp", "--param", "epochs=1",
               "--out", "{out}"], "gfe.deploy.training.train_bundle", "folder"),
    "predict": (["predict", "{bundle}", "{recording}", "--format", "csv", "--out", "{out}"],
                "gfe.deploy.predict_file", "file"),
    "report": (["report", "{run}", "--no-progress", "--out", "{out}"], "gfe.report.html.render_figures", "file"),
    "export": (["export", "{bundle}", "--onnx", "{out}"], "gfe.deploy.onnx.step_module", "file"),
}  # fmt: skip


def _command(name, out, data, bundle, recording, run) -> list[str]:
    args, _, _ = COMMANDS[name]
    values = {"data": data, "bundle": bundle, "recording": recording, "run": run, "out": out}
    return [a.format(**values) for a in args]


def _writable_probe_fails(folder: str) -> bool:
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(probe)
    return False


def _bad_outs(tmp_path: Path, kind: str) -> dict[str, tuple[str, str]]:
    """Bad --out values for a command that writes a file or a folder → (path, words of the error)."""
    existing = tmp_path / "existing.txt"
    existing.write_text("a user's file\n")
    outs = {
        "a device": ("/dev/full", "/dev/full"),
        "below a file": (str(existing / "x.csv"), "is a file, not a folder"),
        "the current folder": (".", "--out ." if kind == "folder" else "is a folder"),
    }
    if kind == "folder":
        outs["an existing file"] = (str(existing), "exists and is not a folder")
    else:
        outs["a missing folder"] = (str(tmp_path / "nope" / "x.csv"), "does not exist")
    if Path("/proc").is_dir() and _writable_probe_fails("/proc"):  # not writable even for root
        outs["an unwritable folder"] = ("/proc/gfe-out.csv" if kind == "file" else "/proc/gfe-run", "/proc")
    return outs


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_bad_out_is_one_line_before_any_work(command, data, bundle, recording, run, tmp_path, monkeypatch):
    _, work, kind = COMMANDS[command]
    monkeypatch.setattr(work, never(work))
    monkeypatch.chdir(tmp_path)  # "." then holds a user's file
    for case, (out, words) in _bad_outs(tmp_path, kind).items():
        if command == "export" and out != "/dev/full":
            out = out.replace(".csv", ".onnx")
        res = invoke(*_command(command, out, data, bundle, recording, run))
        line = one_line(res, words)
        assert "--out" in line or "--onnx" in line, (case, line)
    assert (tmp_path / "existing.txt").read_text() == "a user's file\n"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_folder_that_is_not_writable_is_refused_before_any_work(
    command, data, bundle, recording, run, tmp_path, monkeypatch
):
    """A read-only folder, simulated for any user (root may write anywhere): the permission check
    says no for it."""
    _, work, kind = COMMANDS[command]
    monkeypatch.setattr(work, never(work))
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == locked else real_access(p, mode, **kw)
    )
    out = locked / ("x.onnx" if command == "export" else "x.csv" if kind == "file" else "run")
    one_line(invoke(*_command(command, out, data, bundle, recording, run)), str(locked), "not writable")
    assert list(locked.iterdir()) == []


def test_a_missing_parent_of_a_run_folder_or_bundle_is_created(data, tmp_path):
    res = invoke(*_command("train", tmp_path / "a" / "b" / "bundle", data, None, None, None))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "b" / "bundle" / "config.json").is_file()


# --------------------------------------------------------------------------- unreadable inputs
def test_an_unreadable_recording_is_one_line(bundle, recording, monkeypatch):
    deny_reading(monkeypatch, recording)
    one_line(invoke("predict", bundle, recording), str(recording), "Permission denied", "permissions")


def test_an_unreadable_targets_file_is_one_line(bundle, recording, tmp_path, monkeypatch):
    targets = tmp_path / "t.txt"
    targets.write_text("0\n" * 80)
    deny_reading(monkeypatch, targets)
    one_line(invoke("predict", bundle, recording, "--targets", targets), str(targets), "Permission denied")


@pytest.mark.parametrize("name", ["config.json", "weights.safetensors"])
@pytest.mark.parametrize("command", ["predict", "export", "stream"])
def test_an_unreadable_bundle_file_is_one_line(name, command, bundle, recording, tmp_path, monkeypatch):
    deny_reading(monkeypatch, bundle / name)
    args = {"predict": ["predict", bundle, recording], "export": ["export", bundle, "--onnx", tmp_path / "m.onnx"],
            "stream": ["stream", bundle, recording]}[command]  # fmt: skip
    one_line(invoke(*args), str(bundle), name, "cannot be read", "permissions")


@pytest.mark.parametrize("command", ["benchmark", "reproduce", "train", "tune"])
def test_an_unreadable_data_file_is_refused_before_the_work(command, data, tmp_path, monkeypatch):
    _, work, _ = COMMANDS[command]
    monkeypatch.setattr(work, never(work))
    points = data / "b_topics_datapoints.txt"
    deny_reading(monkeypatch, points)
    one_line(
        invoke(*_command(command, tmp_path / "out", data, None, None, None)), str(points), "Permission denied"
    )


@pytest.mark.skipif(
    ROOT or not hasattr(os, "geteuid"), reason="root reads files of mode 000 (patched test above)"
)
def test_a_file_of_mode_000_is_one_line(bundle, recording, tmp_path):
    copy = tmp_path / "rec.txt"
    copy.write_bytes(recording.read_bytes())
    copy.chmod(0)
    try:
        one_line(invoke("predict", bundle, copy), str(copy), "Permission denied")
    finally:
        copy.chmod(0o644)


def test_a_missing_data_file_is_refused_before_the_work(data, tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    write_dataset(broken, n_frames=60)
    (broken / "b_negative_targets.txt").unlink()
    monkeypatch.setattr("gfe.experiments.runner.run_cell", never("run_cell"))
    res = invoke("benchmark", "--data-dir", broken, "--models", "logreg", "--protocols", "chrono",
                 "--seeds", "1", "--jobs", "1", "--no-progress", "--out", tmp_path / "out")  # fmt: skip
    one_line(res, "b_negative_targets.txt", "file not found")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------- broken run folders
def _copy_run(run: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(run, dest)
    return dest


def test_a_truncated_predictions_file_is_one_line(run, tmp_path):
    folder = _copy_run(run, tmp_path / "run")
    (gz,) = (folder / "predictions").glob("*.csv.gz")
    gz.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    one_line(
        invoke("report", folder, "--out", tmp_path / "r.html", "--no-progress"),
        gz.name,
        "unreadable",
        "delete",
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "not a readable table"),
        (bytes(range(256)) * 8, "not a readable table"),
        (b"expression,model,protocol,fold,seed\ntopics,logreg,chrono,,0\n", "no column f1"),
    ],
    ids=["empty", "binary", "no f1 column"],
)
def test_a_broken_results_csv_is_one_line(run, tmp_path, content, words):
    folder = _copy_run(run, tmp_path / "run")
    (folder / "results.csv").write_bytes(content)
    one_line(invoke("report", folder, "--out", tmp_path / "r.html", "--no-progress"), "results.csv", words)


@pytest.mark.parametrize("name", [r"$\frac", r"$\nosuch$", "a$^$b", r"${\sqrt}$"])
def test_a_model_name_that_looks_like_tex_is_drawn_as_text(run, tmp_path, name):
    folder = _copy_run(run, tmp_path / "run")
    for path in [folder / "results.csv", *(folder / "predictions").glob("*.csv.gz")]:
        df = pd.read_csv(path)
        df["model"] = name
        df.to_csv(path, index=False)
    res = invoke("report", folder, "--out", tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 0, res.output
    assert name in (tmp_path / "r.md").read_text()


def test_a_broken_tune_file_is_one_line(tmp_path):
    folder = tmp_path / "tune"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"kind": "tune"}))
    (folder / "best_config.json").write_text("{not json")
    one_line(invoke("report", folder, "--out", tmp_path / "r.html", "--no-progress"), "best_config.json")
    (folder / "best_config.json").unlink()
    (folder / "comparison.csv").write_bytes(b"\x00\xff" * 100)
    one_line(invoke("report", folder, "--out", tmp_path / "r.html", "--no-progress"), "comparison.csv")


# ----------------------------------------------------------------------------- bundles, storage
def test_a_deeply_nested_config_is_one_line(bundle, recording, tmp_path):
    import shutil

    for depth in (40, 200_000):  # past the nesting limit; past the JSON parser's recursion limit
        folder = tmp_path / f"deep{depth}"
        shutil.copytree(bundle, folder)
        cfg = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(
            json.dumps(cfg)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
        )
        one_line(invoke("predict", folder, recording), "nested too deeply")
        one_line(invoke("export", folder, "--onnx", tmp_path / "m.onnx"), "nested too deeply")


@pytest.mark.parametrize(
    ("storage", "words", "not_words"),
    [
        ("mysql://root:S3cretPW@127.0.0.1:1/db", "driver is not installed", ("S3cretPW", "PostgreSQL run")),
        ("sqlite:////proc/nope/x.db", "cannot create the folder /proc/nope", ("server",)),
        ("postgresql://u:S3c@retPW@127.0.0.1:1/db", "%40", ("S3c", "retPW")),
    ],
)
def test_a_bad_storage_is_one_line_and_makes_no_run_folder(data, tmp_path, storage, words, not_words):
    if "/proc" in storage and not _writable_probe_fails("/proc"):
        pytest.skip("/proc is writable here")
    out = tmp_path / "t"
    res = invoke(*_command("tune", out, data, None, None, None), "--storage", storage)
    line = one_line(res, words)
    assert not any(w in res.output for w in not_words), line
    assert not out.exists()


def test_a_sqlite_file_that_is_no_database_does_not_blame_a_server(data, tmp_path):
    db = tmp_path / "x.db"
    db.write_bytes(b"this is not a SQLite database" * 100)
    line = one_line(invoke(*_command("tune", tmp_path / "t", data, None, None, None), "--storage", f"sqlite:///{db}"),
                    "cannot connect", "SQLite")  # fmt: skip
    assert "server" not in line and "password" not in line


def test_a_data_dir_of_an_unknown_user_is_one_line(tmp_path):
    env = {"GFE_DATA_DIR": "~nosuchuser-gfe14/d"}
    one_line(invoke("data", "check", env=env), "GFE_DATA_DIR", "~nosuchuser-gfe14", "full path")
    one_line(invoke("train", "--expression", "topics", "--out", tmp_path / "b", env=env), "~nosuchuser-gfe14")
    one_line(invoke("data", "check", "--data-dir", "~nosuchuser-gfe14/d"), "--data-dir", "full path")


# ------------------------------------------------------------------------- closed or full streams
def _gfe(*args, close: tuple[int, ...] = (), **kwargs) -> subprocess.CompletedProcess:
    """``gfe ARGS`` in a new process, with the standard streams in ``close`` closed (``<&-``, ``>&-``)."""

    def closing():
        for fd in close:
            os.close(fd)

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "gfe.cli", *map(str, args)], preexec_fn=closing,
                          env=env, timeout=120, check=False, **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fd", "words"),
    [
        (["stream", "{bundle}"], 0, "standard input is closed"),
        (["stream", "{bundle}", "{recording}"], 1, "standard output is closed"),
        (["predict", "{bundle}", "{recording}"], 1, "standard output is closed"),
    ],
    ids=["stream <&-", "stream >&-", "predict >&-"],
)
def test_a_closed_standard_stream_is_one_line(args, fd, words, bundle, recording, tmp_path):
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as f:
        keep = {"stdout": subprocess.DEVNULL} if fd == 0 else {}
        proc = _gfe(
            *[a.format(bundle=bundle, recording=recording) for a in args], close=(fd,), stderr=f, **keep
        )
    text = err.read_text()
    assert proc.returncode == 2, text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1 and words in text


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["stream", "predict"])
def test_a_full_standard_output_is_one_line(command, bundle, recording):
    with open("/dev/full", "w") as full:
        proc = _gfe(command, bundle, recording, stdout=full, stderr=subprocess.PIPE)
    text = proc.stderr.decode()
    assert proc.returncode == 2, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "standard output" in errors[0] and "No space left" in errors[0]
    assert "Traceback" not in text and "Exception ignored" not in text


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_predict_into_a_pipe_closed_early_ends_quietly(fmt, bundle, tmp_path):
    """``gfe predict … --out - | head -1``: exit status 0, nothing on standard error but the summary."""
    ts, lm, _ = make_recording(3000, seed=4)  # far more output than a pipe buffers
    rec = tmp_path / "long.txt"
    rec.write_text(format_datapoints(ts, lm))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "gfe.cli", "predict", str(bundle), str(rec), "--out", "-",
                             "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # fmt: skip
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first and proc.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err.lower()


def test_one_line_errors_also_for_bad_numbers(bundle, recording):
    one_line(invoke("stream", bundle, recording, "--calibrate-seconds", "inf"), "--calibrate-seconds inf")
    one_line(invoke("stream", bundle, recording, "--calibrate-seconds", "nan"), "--calibrate-seconds nan")
    one_line(invoke("stream", bundle, recording, "--calibrate-frames", str(10**12)), "--calibrate-frames")
    one_line(invoke("predict", bundle, recording, "--calibrate-seconds", "1e300"), "--calibrate-seconds")
    one_line(invoke("stream", bundle, recording, "--follow", "--idle-exit", "nan"), "--idle-exit nan")
    one_line(invoke("predict", bundle, recording, "--threshold", "nan"), "threshold")
