"""One validator for load, predict, stream and export: every field a bundle's engines use is
checked for type, range, dtype and size, and a crafted bundle is one line, exit 2 (issue #14)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load, save
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data.synthetic import format_datapoints, make_recording
from gfe.deploy.bundle import BundleError, load_bundle
from gfe.deploy.training import train_bundle

runner = CliRunner()
SMALL = {
    "mlp": {"epochs": 2},
    "seq-lstm": {"hidden": 6, "max_epochs": 1},
    "tcn": {"channels": 4, "levels": 2, "max_epochs": 1},
}


@pytest.fixture(scope="module")
def bundles(synthetic_data_session, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    for model, params in SMALL.items():
        train_bundle(synthetic_data_session, "negative", model, params=params).save(root / model)
    return {m: root / m for m in SMALL}


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    ts, lm, _ = make_recording(40, seed=2)
    path = tmp_path_factory.mktemp("rec") / "rec.txt"
    path.write_text(format_datapoints(ts, lm))
    return path


def crafted(bundle: Path, tmp_path: Path, edit=None, weights=None) -> Path:
    """A copy of ``bundle`` with its config edited and/or its weights replaced (checksum updated,
    as a careful forger would)."""
    folder = tmp_path / "crafted"
    shutil.copytree(bundle, folder)
    cfg = json.loads((folder / "config.json").read_text())
    if weights is not None:
        tensors = weights(load((folder / "weights.safetensors").read_bytes()))
        data = save(tensors)
        (folder / "weights.safetensors").write_bytes(data)
        cfg["weights"]["sha256"] = hashlib.sha256(data).hexdigest()
    if edit is not None:
        edit(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def params(**values):
    return lambda cfg: cfg["params"].update(values)


CASES = {
    "activation evil": ("mlp", params(activation="evil"), None, "parameter activation must be one of"),
    "int8 weights": ("mlp", None, lambda w: {k: v.astype(np.int8) for k, v in w.items()}, "not float32"),
    "float64 weights": ("seq-lstm", None, lambda w: {k: v.astype(np.float64) for k, v in w.items()}, "not float32"),
    "layers as text": ("seq-lstm", params(layers="1"), None, "parameter layers must be an integer"),
    "hidden 8.5": ("seq-lstm", params(hidden=8.5), None, "parameter hidden must be an integer"),
    "hidden 8.5 (frame model)": ("mlp", params(hidden=8.5), None, "parameter hidden must be an integer"),
    "hidden true": ("seq-lstm", params(hidden=True), None, "parameter hidden must be an integer"),
    "hidden 200000": ("seq-lstm", params(hidden=200_000), None, "parameter hidden must be an integer from 1 to 4096"),
    "hidden 200000 (frame model)": ("mlp", params(hidden=200_000), None, "parameter hidden must be an integer"),
    "chunk_len huge": ("seq-lstm", params(chunk_len=10**9), None, "parameter chunk_len must be"),
    "dropout as text": ("seq-lstm", params(dropout="0.2"), None, "parameter dropout must be a number"),
    "deltas as text": ("seq-lstm", params(deltas="yes"), None, "parameter deltas must be true or false"),
    "channels 5000": ("tcn", params(channels=5000), None, "parameter channels must be"),
    "levels 11": ("tcn", params(levels=11), None, "parameter levels must be"),
    "unknown parameter": ("mlp", params(depth=3), None, "bad parameters for model 'mlp'"),
    "weights for a bigger model": ("seq-lstm", params(hidden=4096, layers=8), None, "more than gfe loads"),
    "non-finite weights": (
        "mlp", None, lambda w: {k: np.full_like(v, np.inf) for k, v in w.items()}, "not finite",
    ),
    "weights of another shape": ("mlp", params(hidden=9), None, "has shape"),
    "threshold nan": ("mlp", lambda c: c.update(threshold=float("nan")), None, "threshold nan"),
    "weights file outside": ("mlp", lambda c: c["weights"].update(file="../config.json"), None, "inside the bundle"),
    "weights file with NUL": ("mlp", lambda c: c["weights"].update(file="w\x00.bin"), None, "inside the bundle"),
    "causal lie": ("mlp", lambda c: c.update(causal=False), None, "causal is False"),
    "n_inputs lie": ("seq-lstm", lambda c: c.update(n_inputs=118), None, "n_inputs does not match"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_crafted_bundle_is_refused_by_load_predict_stream_and_export(case, bundles, recording, tmp_path):
    model, edit, weights, message = CASES[case]
    folder = crafted(bundles[model], tmp_path, edit, weights)
    with pytest.raises(BundleError) as info:
        load_bundle(folder)
    assert message in str(info.value) and "\n" not in str(info.value)
    for args in (["predict", folder, recording], ["stream", folder, recording], ["export", folder, "--onnx",
                 tmp_path / "m.onnx"]):  # fmt: skip
        res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert res.exit_code == 2, (args[0], res.output)
        errors = [line for line in res.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0] and "Traceback" not in res.output, (
            args[0],
            res.output,
        )
    assert not (tmp_path / "m.onnx").exists()


def test_weights_and_config_are_both_readable_by_everyone(synthetic_data_session, tmp_path):
    old = os.umask(0o077)  # a private umask: 0600 files if the mode were left to it
    try:
        train_bundle(synthetic_data_session, "negative", "mlp", params={"epochs": 1}).save(tmp_path / "b")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "b").iterdir()}
    assert modes == {"config.json": 0o644, "weights.safetensors": 0o644}


def test_a_huge_weights_file_is_refused_before_it_is_read(bundles, tmp_path, monkeypatch):
    folder = crafted(bundles["mlp"], tmp_path)
    with open(folder / "weights.safetensors", "r+b") as f:
        f.truncate(300 << 20)  # sparse: 300 MB long, no disk used; read whole it would cost 300 MB
    real, read = Path.read_bytes, []
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or real(self))
    with pytest.raises(BundleError, match="far larger than any bundle"):
        load_bundle(folder)
    assert read == ["config.json"]
