"""No silent destructive overwrite: an output path that is an input is refused (even with --force,
and the input is left byte for byte); a file inside a bundle, run folder or dataset folder, and an
existing bundle, are replaced only with --force (issue #14)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data.synthetic import format_datapoints, format_targets, make_recording, write_dataset

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def digest(folder_or_file: Path) -> str:
    paths = sorted(folder_or_file.rglob("*")) if folder_or_file.is_dir() else [folder_or_file]
    h = hashlib.sha256()
    for p in paths:
        if p.is_file():
            h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


def refused(res, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for needle in needles:
        assert needle in res.output, res.output


@pytest.fixture
def rec(tmp_path) -> tuple[Path, Path]:
    ts, lm, y = make_recording(80, seed=5)
    points, targets = tmp_path / "rec.txt", tmp_path / "rec_targets.txt"
    points.write_text(format_datapoints(ts, lm))
    targets.write_text(format_targets(y))
    return points, targets


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["", "--force"])
def test_predict_never_writes_over_its_inputs(bundle, rec, force):
    points, targets = rec
    kept = {p: digest(p) for p in (points, targets, bundle)}
    refused(
        invoke("predict", bundle, points, "--out", points, "--format", "csv", *force), "overwrite the input"
    )
    refused(invoke("predict", bundle, points, "--out", points, *force), "cannot tell the format")
    refused(invoke("predict", bundle, points, "--targets", targets, "--out", targets, "--format", "json", *force),
            "overwrite the input")  # fmt: skip
    refused(invoke("predict", bundle, points, "--out", bundle / "config.json", *force), "overwrite the input")
    refused(invoke("predict", bundle, points, "--out", bundle / "labels.csv", *force), "overwrite the input")
    # the CSV's segments file beside it must not be an input either
    seg_target = points.with_name("x.segments.csv")
    seg_target.write_text("a user's file")
    kept[seg_target] = digest(seg_target)
    refused(
        invoke("predict", bundle, seg_target, "--out", points.with_name("x.csv"), *force),
        "overwrite the input",
    )
    assert {p: digest(p) for p in kept} == kept


def test_report_never_writes_into_a_run_folder(data, tmp_path):
    run = tmp_path / "run"
    res = invoke("benchmark", "--data-dir", data, "--models", "logreg", "--protocols", "chrono", "--expressions",
                 "topics", "--seeds", "1", "--jobs", "1", "--no-progress", "--out", run)  # fmt: skip
    assert res.exit_code == 0, res.output
    kept = digest(run)
    for force in ([], ["--force"]):
        refused(
            invoke("report", run, "--out", run / "results.csv", "--no-progress", *force),
            "inside a run folder",
        )
        refused(
            invoke("report", run, "--out", run / "report.html", "--no-progress", *force),
            "inside a run folder",
        )
    assert digest(run) == kept


def test_export_never_writes_over_the_bundle(bundle, tmp_path):
    kept = digest(bundle)
    for force in ([], ["--force"]):
        refused(
            invoke("export", bundle, "--onnx", bundle / "weights.safetensors", *force), "overwrite the input"
        )
        refused(invoke("export", bundle, "--onnx", bundle / "model.onnx", *force), "overwrite the input")
    assert digest(bundle) == kept


def test_train_replaces_an_existing_bundle_only_with_force(data, tmp_path):
    out = tmp_path / "b"
    args = ["train", "--data-dir", data, "--expression", "negative", "--model", "mlp", "--param", "epochs=1"]
    assert invoke(*args, "--out", out).exit_code == 0
    kept = digest(out)
    refused(invoke(*args, "--seed", "1", "--out", out), "holds a bundle already", "--force")
    assert digest(out) == kept
    assert invoke(*args, "--seed", "1", "--out", out, "--force").exit_code == 0
    assert digest(out) != kept
    # --all checks every target before training the first
    (tmp_path / "all" / "topics").mkdir(parents=True)
    (tmp_path / "all" / "topics" / "notes.txt").write_text("mine")
    refused(invoke("train", "--data-dir", data, "--all", "--model", "mlp", "--out", tmp_path / "all"),
            "holds files that are not a bundle")  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["topics"]


@pytest.mark.parametrize("where", ["bundle", "run folder", "dataset folder"])
def test_files_inside_gfe_folders_are_written_only_with_force(where, bundle, data, rec, tmp_path):
    """Not an input of this command, but a folder whose files gfe owns: --force is needed."""
    import shutil

    points, _ = rec
    folder = tmp_path / where.replace(" ", "-")
    if where == "bundle":
        shutil.copytree(bundle, folder)
    elif where == "run folder":
        folder.mkdir()
        (folder / "run.json").write_text("{}")
    else:
        write_dataset(folder, n_frames=30, expressions=("affirmative",))
    out = folder / "labels.csv"
    refused(invoke("predict", bundle, points, "--out", out), f"inside a {where}", "--force")
    assert not out.exists()
    res = invoke("predict", bundle, points, "--out", out, "--force")
    assert res.exit_code == 0, res.output
    assert out.is_file()


def test_an_earlier_output_elsewhere_is_replaced_atomically(bundle, rec, tmp_path):
    points, _ = rec
    out = tmp_path / "labels.json"
    assert invoke("predict", bundle, points, "--out", out).exit_code == 0
    first = out.read_bytes()
    assert invoke("predict", bundle, points, "--out", out, "--threshold", "0.01").exit_code == 0
    assert out.read_bytes() != first and not list(tmp_path.glob(".*.part"))
