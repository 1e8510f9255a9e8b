"""Run folders hold one configuration: a rerun resumes the same one, refuses another (one line
naming the differences) or replaces it with --force; a torn cells.jsonl, a full disk and Ctrl-C
with two workers lose nothing but the cell in flight (issue #14)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.experiments import runner as runner_module
from gfe.experiments.runfolder import RunFolder
from gfe.experiments.runner import Cell, CellSpec, run_cells

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line(res, *needles: str) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def benchmark_args(data: Path, out: Path, *extra: str, seeds: int = 2) -> list:
    return ["benchmark", "--data-dir", data, "--models", "logreg", "--protocols", "chrono", "--expressions",
            "topics", "--seeds", str(seeds), "--jobs", "1", "--no-progress", "--out", out, *extra]  # fmt: skip


def last_invocation(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())["invocations"][-1]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------- one configuration
def test_a_benchmark_rerun_with_another_configuration_is_refused(synthetic_data, tmp_path):
    out = tmp_path / "b"
    assert invoke(*benchmark_args(synthetic_data, out)).exit_code == 0
    before = snapshot(out)
    line = one_line(invoke(*benchmark_args(synthetic_data, out, "--param", "logreg.C=0.0001")),
                    f"--out {out}", "another configuration", "model_params", "--force")  # fmt: skip
    assert "0.0001" in line
    one_line(
        invoke(*benchmark_args(synthetic_data, out, "--features", "paper")), "features", '"clean" → "paper"'
    )
    one_line(invoke(*benchmark_args(synthetic_data, out, seeds=3)), "seeds")
    assert snapshot(out) == before  # nothing of the first run was touched


def test_the_same_command_resumes_and_force_replaces(synthetic_data, tmp_path):
    out = tmp_path / "b"
    assert invoke(*benchmark_args(synthetic_data, out)).exit_code == 0
    results = (out / "results.csv").read_bytes()
    again = invoke(*benchmark_args(synthetic_data, out))
    assert again.exit_code == 0 and last_invocation(out)["cells_computed"] == 0
    assert (out / "results.csv").read_bytes() == results

    forced = invoke(*benchmark_args(synthetic_data, out, "--param", "logreg.C=0.0001", "--force"))
    assert forced.exit_code == 0, forced.output
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["model_params"] == {"logreg": {"C": 0.0001}}
    assert len(run["invocations"]) == 1 and run["invocations"][0]["cells_computed"] == 2
    assert len((out / "cells.jsonl").read_text().splitlines()) == 2  # the old cells are gone


def test_cells_of_another_configuration_are_recomputed(synthetic_data, tmp_path):
    """Below the folder's identity, each cell carries a hash of its spec: a cell of other parameters
    is never taken for a finished one."""
    folder = RunFolder(tmp_path / "f")
    folder.path.mkdir()
    cells = [Cell("topics", "chrono", 0, "logreg")]
    first = CellSpec(data_dir=str(synthetic_data), predictions="none")
    run_cells(first, cells, folder, progress=False)
    assert run_cells.computed == 1
    run_cells(first, cells, folder, progress=False)
    assert run_cells.computed == 0
    other = CellSpec(data_dir=str(synthetic_data), predictions="none", model_params={"logreg": {"C": 0.001}})
    got = run_cells(other, cells, folder, progress=False)
    assert run_cells.computed == 1 and got[cells[0].key]["hash"] == other.cell_hash(cells[0])


def test_a_reproduce_folder_is_never_mixed_with_other_settings(synthetic_data, tmp_path, monkeypatch):
    out = tmp_path / "r"
    args = ["reproduce", "--data-dir", synthetic_data, "--expressions", "topics", "--models", "mlp",
            "--protocols", "paper", "--seeds", "2", "--no-progress", "--out", out]  # fmt: skip
    assert invoke(*args, "--epochs", "2").exit_code == 0
    before = snapshot(out)
    one_line(invoke(*args, "--epochs", "3"), "another configuration", "config.epochs: 2 → 3")
    assert snapshot(out) == before

    # A --force rerun with other settings that is killed after its first cell: the folder holds
    # that run only, never a mixture, and the report shows only its cells.
    real, calls = runner_module.run_cell, []

    def killed_after_one(spec, cell):
        if calls:
            raise KeyboardInterrupt
        calls.append(cell)
        return real(spec, cell)

    monkeypatch.setattr(runner_module, "run_cell", killed_after_one)
    assert invoke(*args, "--epochs", "3", "--force").exit_code == 130
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "running" and info["identity"]["config"]["epochs"] == 3
    assert len(RunFolder(out).read_cells()) == 1 and not (out / "results.csv").exists()
    res = invoke("report", out, "--out", tmp_path / "report.html", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "using the 1 rows finished in cells.jsonl" in (tmp_path / "report.md").read_text()


# ------------------------------------------------------------------- torn lines and a full disk
def test_a_torn_last_line_is_dropped_by_the_report_and_recomputed_by_the_resume(synthetic_data, tmp_path):
    out = tmp_path / "b"
    assert invoke(*benchmark_args(synthetic_data, out)).exit_code == 0
    results = pd.read_csv(out / "results.csv")
    cells = out / "cells.jsonl"
    whole = cells.read_bytes()
    cells.write_bytes(whole[:-40])  # killed while writing its second line
    (out / "results.csv").unlink()  # … so the run never finished

    res = invoke("report", out, "--out", tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 0, res.output
    assert (
        "warning: " in res.output
        and "dropped a torn last line" in res.output
        and "Traceback" not in res.output
    )

    res = invoke(*benchmark_args(synthetic_data, out))
    assert res.exit_code == 0, res.output
    assert "dropped a torn last line" in res.output
    assert last_invocation(out)["cells_computed"] == 1  # just the torn cell
    assert len(cells.read_text().splitlines()) == 2 and all(
        json.loads(x) for x in cells.read_text().splitlines()
    )
    again = pd.read_csv(out / "results.csv")
    pd.testing.assert_frame_equal(again.drop(columns="fit_seconds"), results.drop(columns="fit_seconds"))


def test_a_damaged_line_before_the_last_is_one_line(synthetic_data, tmp_path):
    out = tmp_path / "b"
    assert invoke(*benchmark_args(synthetic_data, out)).exit_code == 0
    lines = (out / "cells.jsonl").read_text().splitlines()
    (out / "cells.jsonl").write_text("{broken\n" + lines[1] + "\n")
    one_line(invoke(*benchmark_args(synthetic_data, out)), "cells.jsonl, line 1", "damaged")


def _full_disk(real):
    def write(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_a_full_disk_while_cells_are_written_is_one_line_and_the_rerun_resumes(
    synthetic_data, tmp_path, monkeypatch
):
    out = tmp_path / "b"
    real_fsync, synced = os.fsync, []

    def fsync_then_full(fd):  # the first cell is written, then the disk is full
        if synced:
            raise OSError(errno.ENOSPC, "No space left on device")
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_full)
    one_line(invoke(*benchmark_args(synthetic_data, out)), "cells.jsonl", "No space left on device", "kept")
    monkeypatch.setattr(os, "fsync", real_fsync)
    res = invoke(*benchmark_args(synthetic_data, out))
    assert res.exit_code == 0, res.output
    assert last_invocation(out)["cells_computed"] <= 1


def test_a_full_disk_never_leaves_a_half_written_file(synthetic_data, tmp_path, monkeypatch):
    out = tmp_path / "b"
    assert invoke(*benchmark_args(synthetic_data, out)).exit_code == 0
    assert invoke("report", out, "--out", tmp_path / "r.html", "--no-progress").exit_code == 0
    before = {p.name: p.read_bytes() for p in (out / "results.csv", tmp_path / "r.html", tmp_path / "r.md")}
    monkeypatch.setattr(Path, "write_text", _full_disk(Path.write_text))
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk(pd.DataFrame.to_csv))
    one_line(invoke("report", out, "--out", tmp_path / "r.html", "--no-progress"), "r.html", "No space left")
    one_line(invoke(*benchmark_args(synthetic_data, out)), "No space left")
    after = {p.name: p.read_bytes() for p in (out / "results.csv", tmp_path / "r.html", tmp_path / "r.md")}
    assert after == before  # the previous files, whole
    leftovers = [p for p in [*out.iterdir(), *tmp_path.iterdir()] if p.name.endswith(".part")]
    assert leftovers == []


# ---------------------------------------------------------------------------- Ctrl-C, 2 workers
def test_ctrl_c_with_two_workers_stops_at_once_and_the_rerun_completes(
    synthetic_data, tmp_path, interruptible
):
    """SIGINT to the process group while two worker processes train: exit 130 within seconds (not
    after the grid), one line, no traceback; the finished cells are kept and the rerun runs the rest."""
    out, seeds = tmp_path / "b", 8
    args = ["benchmark", "--data-dir", str(synthetic_data), "--models", "mlp", "--param", "mlp.epochs=4000",
            "--protocols", "chrono", "--expressions", "topics", "--seeds", str(seeds), "--jobs", "2",
            "--predictions", "none", "--no-progress", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "gfe.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **interruptible)  # fmt: skip
    cells, deadline = out / "cells.jsonl", time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if cells.is_file() and cells.read_text().count("\n") >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the grid finished before Ctrl-C: make its cells longer"
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    output, _ = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - t0
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    kept = RunFolder(out).read_cells()
    assert 1 <= len(kept) < seeds and all(len(r["rows"]) == 1 for r in kept.values())
    # It stopped at once, not after the rest of the grid (two workers: half the remaining cell time).
    cell_seconds = min(r["rows"][0]["fit_seconds"] for r in kept.values())
    remaining = (seeds - len(kept)) * cell_seconds / 2
    assert stopped_after < min(30, remaining / 2), (stopped_after, remaining)

    res = invoke(*args)
    assert res.exit_code == 0, res.output
    assert last_invocation(out)["cells_computed"] == seeds - len(kept)
    assert len(pd.read_csv(out / "results.csv")) == seeds


def test_a_run_killed_outright_resumes_where_it_stopped(synthetic_data, tmp_path):
    """SIGKILL (no chance to clean up) in the middle of a grid: the rerun keeps every cell that was
    written whole, computes the rest, and the results are complete."""
    out, seeds = tmp_path / "b", 4
    args = ["benchmark", "--data-dir", str(synthetic_data), "--models", "mlp", "--param", "mlp.epochs=3000",
            "--protocols", "chrono", "--expressions", "topics", "--seeds", str(seeds), "--jobs", "1",
            "--predictions", "none", "--no-progress", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "gfe.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    cells, deadline = out / "cells.jsonl", time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if cells.is_file() and cells.read_text().count("\n") >= 1:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the grid finished before the kill: make its cells longer"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    kept = RunFolder(out).read_cells()
    assert json.loads((out / "run.json").read_text())["status"] == "running" and 1 <= len(kept) < seeds

    res = invoke(*args)
    assert res.exit_code == 0, res.output
    assert last_invocation(out)["cells_computed"] == seeds - len(kept)
    again = RunFolder(out).read_cells()
    assert all(again[k]["rows"] == r["rows"] for k, r in kept.items())  # kept as they were
    assert sorted(pd.read_csv(out / "results.csv")["seed"]) == list(range(seeds))


@pytest.mark.parametrize("kind", ["reproduce", "tune"])
def test_the_other_experiments_refuse_another_configuration_too(kind, synthetic_data, tmp_path):
    out = tmp_path / kind
    if kind == "tune":
        base = ["tune", "--data-dir", synthetic_data, "--expression", "topics", "--model", "logreg", "--trials", "1",
                "--no-evaluate", "--no-progress", "--out", out]  # fmt: skip
        other = ["--features", "paper"]
    else:
        base = ["reproduce", "--data-dir", synthetic_data, "--expressions", "topics", "--models", "mlp",
                "--protocols", "paper", "--seeds", "1", "--epochs", "1", "--no-progress", "--out", out]  # fmt: skip
        other = ["--lr", "0.01"]
    assert invoke(*base).exit_code == 0
    one_line(invoke(*base, *other), "another configuration", "--force")
    assert invoke(*base, *other, "--force").exit_code == 0
