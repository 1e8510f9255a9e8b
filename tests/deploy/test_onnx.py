"""ONNX export: the file runs in onnxruntime and matches PyTorch (and gfe's own labelling)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data.synthetic import make_recording
from gfe.deploy.bundle import load_bundle
from gfe.deploy.onnx import export_onnx, step_module
from gfe.deploy.training import train_bundle
from gfe.features import compute_features, usable_frames

if os.environ.get("CI"):  # in CI the export test must run, never be skipped
    import onnx
    import onnxruntime as ort
else:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

runner = CliRunner()
MODELS = {
    "paper-lstm": {"epochs": 2},
    "mlp": {"epochs": 2, "activation": "tanh"},
    "seq-lstm": {"hidden": 12, "layers": 2, "max_epochs": 1},
    "gru": {"hidden": 8, "max_epochs": 1},
}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def exported(synthetic_data_session, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for model, params in MODELS.items():
        b = train_bundle(synthetic_data_session, "yn_question", model, params=params)
        b.save(root / model)
        res = invoke("export", root / model, "--onnx", root / f"{model}.onnx")
        assert res.exit_code == 0, res.output
        out[model] = (load_bundle(root / model), root / f"{model}.onnx")
    return out


@pytest.mark.parametrize("model", list(MODELS))
def test_onnx_matches_pytorch(exported, model):
    bundle, path = exported[model]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    module, args, inputs, outputs, _ = step_module(bundle)
    assert [i.name for i in sess.get_inputs()] == inputs and [o.name for o in sess.get_outputs()] == outputs
    x = (
        np.random.default_rng(1).normal(size=(40, 3, bundle.config["n_inputs"])).astype(np.float32)
    )  # time, batch
    if model in ("paper-lstm", "mlp"):
        flat = x.reshape(-1, x.shape[-1])
        got = sess.run(None, {"x": flat})[0]
        with torch.no_grad():
            want = module(torch.from_numpy(flat)).numpy()
        assert got.shape == (120,) and np.abs(got - want).max() <= 1e-5
        return
    # a stateful step: carry h (and c) from each step to the next, batch of 3
    state = [np.zeros((a.shape[0], 3, a.shape[2]), np.float32) for a in args[1:]]
    tstate = [torch.from_numpy(s.copy()) for s in state]
    worst = 0.0
    for t in range(len(x)):
        res = sess.run(None, {"x": x[t], **dict(zip(inputs[1:], state, strict=True))})
        with torch.no_grad():
            tres = module(torch.from_numpy(x[t]), *tstate)
        worst = max(worst, float(np.abs(res[0] - tres[0].numpy()).max()))
        for a, b in zip(res[1:], tres[1:], strict=True):
            worst = max(worst, float(np.abs(a - b.numpy()).max()))
        state, tstate = res[1:], list(tres[1:])
    assert worst <= 1e-5


def test_onnx_steps_reproduce_gfe_labelling(exported):
    """Stepping the ONNX file through a recording (masked frames skipped) gives gfe's offline
    probabilities — float32 against float64, to 1e-5."""
    from gfe.deploy.labelling import label_recording

    bundle, path = exported["seq-lstm"]
    ts, lm, _ = make_recording(120, seed=4)
    lm[50:53, 17, 0] = np.nan
    offline = label_recording(bundle, ts, lm).probability
    f = compute_features(lm, bundle.spec)
    u = usable_frames(f, bundle.spec)
    x = bundle.inputs(f, u, *bundle.stats()).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    h = np.zeros((2, 1, 12), np.float32)
    c = h.copy()
    got = np.full(len(x), np.nan)
    for t in np.flatnonzero(u):
        p, h, c = sess.run(None, {"x": x[t : t + 1], "h": h, "c": c})
        got[t] = p[0]
    assert np.array_equal(np.isnan(got), np.isnan(offline))
    assert np.nanmax(np.abs(got - offline)) <= 1e-5


def test_the_onnx_file_carries_the_bundle_config(exported):
    bundle, path = exported["seq-lstm"]
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    cfg = json.loads(meta["gfe_bundle_config"])
    assert cfg["expression"] == "yn_question" and cfg["model"] == "seq-lstm"
    assert cfg["normalisation"]["pooled"] == bundle.config["normalisation"]["pooled"]
    assert cfg["delta_scale"] == bundle.config["delta_scale"]
    io = json.loads(meta["gfe_io"])
    assert io["inputs"] == ["x", "h", "c"] and io["outputs"] == ["probability", "h_out", "c_out"]


def test_models_without_an_onnx_step_are_refused(synthetic_data_session, tmp_path):
    train_bundle(
        synthetic_data_session, "yn_question", "tcn", params={"channels": 4, "levels": 1, "max_epochs": 1}
    ).save(tmp_path / "tcn")
    res = invoke("export", tmp_path / "tcn", "--onnx", tmp_path / "t.onnx")
    assert res.exit_code == 2 and "ONNX export covers paper-lstm, mlp, seq-lstm, gru, not 'tcn'" in res.output
    assert not (tmp_path / "t.onnx").exists()
    b = load_bundle(tmp_path / "tcn")
    with pytest.raises(Exception, match="not 'tcn'"):
        export_onnx(b, tmp_path / "t.onnx")
