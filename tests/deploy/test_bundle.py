"""Model bundles: training, saving, loading with validation, and the float64 engines."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gfe import EXPRESSIONS
from gfe.cli import app
from gfe.data import load_datapoints
from gfe.deploy.bundle import CONFIG_NAME, WEIGHTS_NAME, BundleError, load_bundle, load_bundles
from gfe.deploy.training import train_bundle
from gfe.features import compute_features, usable_frames
from gfe.models import model_names

BUNDLE_MODELS = model_names(lambda c: c.tags.bundle and not c.tags.multi_expression)

runner = CliRunner()

SMALL = {
    "paper-lstm": {"epochs": 3},
    "mlp": {"epochs": 3},
    "seq-lstm": {"hidden": 12, "max_epochs": 2},
    "gru": {"hidden": 10, "max_epochs": 2},
    "tcn": {"channels": 8, "levels": 2, "max_epochs": 1},
    "bilstm": {"hidden": 8, "max_epochs": 1},
}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def seq_bundle(synthetic_data_session, tmp_path_factory):
    b = train_bundle(synthetic_data_session, "negative", "seq-lstm", params=SMALL["seq-lstm"], seed=3)
    b.save(tmp_path_factory.mktemp("bundle") / "negative")
    return b


def test_a_bundle_describes_itself_and_round_trips(seq_bundle, synthetic_data_session):
    cfg = json.loads((seq_bundle.path / CONFIG_NAME).read_text())
    assert cfg["model"] == "seq-lstm" and cfg["expression"] == "negative" and cfg["causal"]
    assert cfg["params"]["hidden"] == 12 and cfg["params"]["max_epochs"] == 2
    assert cfg["feature_spec"] == {
        "name": "clean", "zero_fill": None, "round_decimals": None, "zero_depth_unknown": True, "version": 1,
    }  # fmt: skip
    assert (
        set(cfg["normalisation"]["signers"]) == {"a", "b"}
        and len(cfg["normalisation"]["pooled"]["mean"]) == 118
    )
    assert cfg["threshold"] == 0.5 and cfg["seed"] == 3 and cfg["deltas"] and cfg["n_inputs"] == 236
    tr = cfg["training"]
    assert sorted(tr["data_checksums"]) == sorted(
        [
            "a_negative_datapoints.txt",
            "a_negative_targets.txt",
            "b_negative_datapoints.txt",
            "b_negative_targets.txt",
        ]
    )
    assert tr["validation_frames"] > 0 and "chronological" in tr["validation"]
    assert tr["train_frames"] + tr["validation_frames"] == sum(r["usable_frames"] for r in tr["recordings"])
    assert {"torch", "numpy", "gfe", "python"} <= set(cfg["versions"])
    assert cfg["weights"]["file"] == WEIGHTS_NAME and len(cfg["weights"]["sha256"]) == 64

    loaded = load_bundle(seq_bundle.path, expression="negative")
    assert loaded.config == cfg
    for k, v in seq_bundle.weights.items():
        assert np.array_equal(v, loaded.weights[k])
    x = np.random.default_rng(0).normal(size=(50, 236))
    assert np.array_equal(seq_bundle.engine().run(x), loaded.engine().run(x))


def test_the_engine_is_the_torch_module_in_float64(synthetic_data_session, tmp_path):
    _, lm = load_datapoints(synthetic_data_session / "b_negative_datapoints.txt")
    for model in BUNDLE_MODELS:
        layers = {"layers": 2} if model == "seq-lstm" else {}
        b = train_bundle(synthetic_data_session, "negative", model, params={**SMALL[model], **layers})
        f = compute_features(lm, b.spec)
        u = usable_frames(f, b.spec)
        x = b.inputs(f, u, *b.stats())[u]
        module = b.torch_module()
        with torch.no_grad():
            xt = torch.tensor(x, dtype=torch.float32)
            logits = module(xt) if model in ("paper-lstm", "mlp") else module(xt[None])[0][0]
            expected = torch.softmax(logits, -1)[:, 1].numpy()
        got = b.engine().run(x)
        assert np.abs(got - expected).max() < 1e-5, model
        if b.causal:  # stepping gives the whole-sequence outputs
            state, steps = b.engine().initial_state(), []
            for row in x[:40]:
                p, state = b.engine().step(row, state)
                steps.append(p)
            assert np.abs(np.array(steps) - got[:40]).max() < 1e-12, model


def test_same_command_and_seed_give_the_same_weights(synthetic_data_session, tmp_path):
    out = []
    for i, seed in enumerate((5, 5, 6)):
        b = train_bundle(synthetic_data_session, "topics", "seq-lstm", params=SMALL["seq-lstm"], seed=seed)
        out.append((b.save(tmp_path / str(i)) / WEIGHTS_NAME).read_bytes())
    assert out[0] == out[1]
    assert out[0] != out[2]


def _copy(bundle, tmp_path, name="copy"):
    dest = tmp_path / name
    shutil.copytree(bundle.path, dest)
    return dest


def _edit_config(folder, fn):
    cfg = json.loads((folder / CONFIG_NAME).read_text())
    fn(cfg)
    (folder / CONFIG_NAME).write_text(json.dumps(cfg))


def test_a_bundle_made_with_another_feature_spec_is_refused(seq_bundle, tmp_path):
    folder = _copy(seq_bundle, tmp_path)
    _edit_config(folder, lambda c: c["feature_spec"].update(version=0))
    with pytest.raises(
        BundleError, match=r"another version of feature spec 'clean' \(version: bundle 0 vs this gfe 1\)"
    ):
        load_bundle(folder)
    _edit_config(folder, lambda c: c["feature_spec"].update(name="fancy"))
    with pytest.raises(BundleError, match="feature spec 'fancy', which this gfe does not know"):
        load_bundle(folder)
    _edit_config(folder, lambda c: c["feature_spec"].update(name="clean", version=1, zero_fill=1e-5))
    with pytest.raises(BundleError, match="zero_fill: bundle 1e-05 vs this gfe None"):
        load_bundle(folder)


def test_corrupt_truncated_or_missing_weights_are_refused(seq_bundle, tmp_path):
    folder = _copy(seq_bundle, tmp_path)
    w = folder / WEIGHTS_NAME
    data = w.read_bytes()
    w.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(
        BundleError, match=r"does not match the sha256 in config\.json: it is corrupt, truncated"
    ):
        load_bundle(folder)
    w.write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="corrupt, truncated"):
        load_bundle(folder)
    # a truncated file whose checksum was updated too: safetensors itself refuses it
    _edit_config(
        folder, lambda c: c["weights"].update(sha256=__import__("hashlib").sha256(w.read_bytes()).hexdigest())
    )
    with pytest.raises(BundleError, match=f"weights file {WEIGHTS_NAME} cannot be read"):
        load_bundle(folder)
    w.unlink()
    with pytest.raises(BundleError, match=f"weights file {WEIGHTS_NAME} is missing"):
        load_bundle(folder)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("threshold"), "missing the field 'threshold'"),
        (lambda c: c.pop("feature_spec"), "missing the field 'feature_spec'"),
        (lambda c: c["normalisation"].pop("pooled"), "missing the field 'normalisation.pooled'"),
        (
            lambda c: c["normalisation"]["pooled"].update(std=[1.0] * 3),
            "normalisation.pooled.std must be a list of 118",
        ),
        (lambda c: c.update(threshold="high"), "field 'threshold' has the wrong type"),
        (lambda c: c.update(model="logreg"), "cannot be bundled 'logreg'"),
        (lambda c: c.update(expression="happy"), "unknown expression 'happy'"),
        (lambda c: c.update(format_version=99), "newer than this gfe reads"),
        (lambda c: c["params"].update(hidden=13), "tensor rnn.weight_ih_l0 has shape"),
        (lambda c: c["params"].update(layers=2), "missing: rnn.bias_hh_l1"),
    ],
)
def test_a_malformed_config_names_the_problem(seq_bundle, tmp_path, edit, message):
    folder = _copy(seq_bundle, tmp_path)
    _edit_config(folder, edit)
    with pytest.raises(BundleError, match=message):
        load_bundle(folder)


def test_not_a_bundle_and_another_expression(seq_bundle, tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "nowhere")
    with pytest.raises(BundleError, match=r"no config\.json there"):
        load_bundle(tmp_path)
    (tmp_path / CONFIG_NAME).write_text("{not json")
    with pytest.raises(BundleError, match=r"config\.json is not valid JSON"):
        load_bundle(tmp_path)
    with pytest.raises(BundleError, match="detects 'negative', not 'affirmative'"):
        load_bundle(seq_bundle.path, expression="affirmative")
    # the CLI says it in one line, exit status 2
    res = invoke("predict", seq_bundle.path, tmp_path / "x.txt", "--expression", "affirmative")
    assert res.exit_code == 2 and "detects 'negative', not 'affirmative'" in res.output
    assert "Traceback" not in res.output


def test_a_folder_of_bundles(seq_bundle, tmp_path):
    _copy(seq_bundle, tmp_path / "all", "negative")
    other = train_bundle(
        seq_bundle.config["training"]["data_dir"], "affirmative", "mlp", params={"epochs": 2}
    )
    other.save(tmp_path / "all" / "affirmative")
    bundles = load_bundles(tmp_path / "all")
    assert [b.expression for b in bundles] == ["affirmative", "negative"]  # in EXPRESSIONS order
    assert [b.model for b in load_bundles(tmp_path / "all", "negative")] == ["seq-lstm"]
    with pytest.raises(BundleError, match="holds no bundle for 'topics'"):
        load_bundles(tmp_path / "all", "topics")
    _copy(seq_bundle, tmp_path / "all", "negative-again")
    with pytest.raises(BundleError, match="two bundles detect 'negative'"):
        load_bundles(tmp_path / "all")


def test_gfe_train_one_expression_and_all(synthetic_data_session, tmp_path):
    res = invoke(
        "train", "--expression", "wh_question", "--model", "mlp", "--signers", "a", "--param", "epochs=2",
        "--data-dir", synthetic_data_session, "--out", tmp_path / "wh",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    b = load_bundle(tmp_path / "wh")
    assert b.model == "mlp" and b.signers == ["a"] and b.params["epochs"] == 2
    assert b.config["training"]["validation_frames"] == 0  # the MLP does not early-stop

    res = invoke(
        "train", "--all", "--model", "paper-lstm", "--param", "paper-lstm.epochs=1", "--seed", "1",
        "--data-dir", synthetic_data_session, "--out", tmp_path / "all",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    bundles = load_bundles(tmp_path / "all")
    assert [b.expression for b in bundles] == list(EXPRESSIONS)
    assert all(b.model == "paper-lstm" and b.config["seed"] == 1 for b in bundles)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "mlp"], "give --expression E, or --all"),
        (["--all", "--expression", "negative"], "give --expression E, or --all"),
        (["--expression", "negative", "--model", "logreg"], "model 'logreg' cannot be bundled"),
        (
            ["--expression", "negative", "--model", "mlp", "--param", "depth=3"],
            "bad parameters for model 'mlp'",
        ),
        (
            ["--expression", "negative", "--model", "mlp", "--param", "gru.hidden=3"],
            "--param for model(s) gru",
        ),
        (["--expression", "negative", "--signers", "c"], "unknown signer 'c'"),
        (["--expression", "happy"], "unknown expression 'happy'"),
        (["--expression", "negative", "--features", "fancy"], "unknown feature spec 'fancy'"),
    ],
)
def test_gfe_train_errors_are_one_line(synthetic_data_session, tmp_path, args, message):
    res = invoke("train", *args, "--data-dir", synthetic_data_session, "--out", tmp_path / "b")
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
