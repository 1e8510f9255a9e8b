"""Multi-expression bundles: one shared network (``shared-lstm``) labels all nine expressions of a
recording in one pass, offline and streamed; ``--expression`` keeps one head."""

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
from gfe.deploy import Detector, load_bundle, load_bundles, predict_file, train_bundle
from gfe.deploy.bundle import CONFIG_NAME, BundleError
from gfe.deploy.labelling import label_features, label_recording
from gfe.features import usable_frames
from gfe.models import model_class

SMALL = {"hidden": 8, "chunk_len": 32, "epochs": 2, "max_epochs": 2}
runner = CliRunner()


@pytest.fixture(scope="module")
def multi(synthetic_data_session, tmp_path_factory):
    b = train_bundle(synthetic_data_session, None, "shared-lstm", params=SMALL, seed=1, features="aligned")
    return load_bundle(b.save(tmp_path_factory.mktemp("multi") / "all"))


def _torch_probabilities(bundle, features):
    usable = usable_frames(features, bundle.spec)
    mean, std = bundle.stats()
    x = bundle.inputs(features, usable, mean, std)[usable]
    with torch.no_grad():
        logits, _ = bundle.torch_module()(torch.as_tensor(x, dtype=torch.float32)[None])
    return usable, torch.sigmoid(logits[0].double()).numpy()


def test_a_multi_bundle_holds_every_expression_and_says_so(multi):
    cfg = json.loads((multi.path / CONFIG_NAME).read_text())
    assert cfg["expression"] == "*" and cfg["expressions"] == list(EXPRESSIONS)
    assert multi.multi and multi.expressions == EXPRESSIONS and multi.expression == "*"
    assert multi.name == "all/shared-lstm" and multi.causal
    recs = {r["recording"] for r in cfg["training"]["recordings"]}
    assert len(recs) == 18 and cfg["training"]["train_frames"] > 0  # both signers × nine expressions
    assert cfg["feature_state"] is not None  # one aligned-face template for all the recordings
    assert "training recordings" in cfg["normalisation"]["method"]


def test_one_pass_labels_all_nine_and_matches_the_torch_module(multi, synthetic_data_session):
    path = synthetic_data_session / "b_topics_datapoints.txt"
    timeline = predict_file([multi], path)
    assert [lab.expression for lab in timeline.labellings] == list(EXPRESSIONS)
    ts, lm = load_datapoints(path)
    features = multi.spec.compute(lm, multi.feature_state)
    usable, expected = _torch_probabilities(multi, features)
    got = np.stack([lab.probability for lab in timeline.labellings], axis=1)
    np.testing.assert_allclose(got[usable], expected, atol=1e-5)
    frames = timeline.frames_table()
    assert {f"{e}_probability" for e in EXPRESSIONS} <= set(frames.columns)
    # one head chosen: the same numbers as that column of the one pass
    topics = load_bundle(multi.path, "topics")
    assert topics.expressions == ("topics",) and topics.expression == "topics"
    alone = label_features(topics, features, ts)
    np.testing.assert_allclose(
        alone.probability, timeline.labellings[EXPRESSIONS.index("topics")].probability, equal_nan=True
    )
    with pytest.raises(Exception, match="label_all"):
        label_recording(multi, ts, lm)


def test_streaming_a_multi_bundle_equals_offline_labelling_for_every_expression(
    multi, synthetic_data_session
):
    path = synthetic_data_session / "a_negative_datapoints.txt"
    ts, lm = load_datapoints(path)
    offline = {lab.expression: lab.probability for lab in predict_file([multi], path).labellings}
    det = Detector(multi)
    streamed = [det.update(lm[i], ts[i]) for i in range(len(lm))]
    for e in EXPRESSIONS:
        got = np.array([np.nan if s is None else s[e] for s in streamed])
        np.testing.assert_allclose(got, offline[e], atol=1e-9, equal_nan=True)
    one = Detector.from_bundle(multi.path, expression="wh-question")  # spelled either way
    p = one.update(lm[0], ts[0])
    assert isinstance(p, float) and p == pytest.approx(offline["wh_question"][0], abs=1e-9)


def test_a_multi_bundle_runs_on_the_numpy_engine():
    assert model_class("shared-lstm").tags.engine == "lstm-multi"
    assert model_class("shared-bilstm").tags.engine is None  # offline: its torch module


def test_an_absent_head_and_a_crafted_config_are_one_line_errors(multi, tmp_path):
    with pytest.raises(BundleError, match="not 'nonsense'"):
        multi.select("nonsense")
    for change, msg in (
        ({"expressions": None}, "needs the list 'expressions'"),
        ({"expressions": ["negative", "negative"]}, "distinct expressions"),
        ({"expressions": ["negative", "smile"]}, "distinct expressions"),
        ({"expression": "negative"}, "detects every expression"),
    ):
        folder = tmp_path / f"b{len(list(tmp_path.iterdir()))}"
        shutil.copytree(multi.path, folder)
        cfg = json.loads((folder / CONFIG_NAME).read_text())
        cfg.update(change)
        (folder / CONFIG_NAME).write_text(json.dumps(cfg))
        with pytest.raises(BundleError, match=msg):
            load_bundle(folder)


def test_a_folder_may_mix_a_multi_bundle_with_others_but_never_twice_an_expression(
    multi, synthetic_data_session, tmp_path
):
    shutil.copytree(multi.path, tmp_path / "all")
    assert [b.expressions for b in load_bundles(tmp_path)] == [EXPRESSIONS]
    assert load_bundles(tmp_path, "emphasis")[0].expressions == ("emphasis",)
    single = train_bundle(synthetic_data_session, "negative", "mlp", params={"epochs": 1})
    single.save(tmp_path / "negative")
    with pytest.raises(BundleError, match="two bundles detect 'negative'"):
        load_bundles(tmp_path)


def test_gfe_train_a_multi_model_writes_one_bundle_and_predict_lists_every_expression(
    synthetic_data_session, tmp_path
):
    """`gfe train` with neither --model nor --expression: the default (the ablation's causal pick,
    a multi-expression model) in one bundle for all nine expressions."""
    from gfe.experiments.configs import TRAIN_DEFAULT

    out = tmp_path / "shared"
    params = [a for k, v in SMALL.items() for a in ("--param", f"{k}={v}")]
    r = runner.invoke(app, ["train", "--out", str(out), "--data-dir", str(synthetic_data_session), *params])
    assert r.exit_code == 0, r.output
    assert f"{TRAIN_DEFAULT[0]} trained on" in r.output and not (out / "negative").exists()
    bundle = load_bundle(out)
    assert bundle.expressions == EXPRESSIONS
    assert (bundle.config["model"], bundle.config["feature_spec"]["name"]) == TRAIN_DEFAULT[:2]
    assert {k: bundle.config["params"][k] for k in TRAIN_DEFAULT[2]} == TRAIN_DEFAULT[2]
    rec = synthetic_data_session / "a_topics_datapoints.txt"
    r = runner.invoke(app, ["predict", str(out), str(rec), "--out", str(tmp_path / "all.json")])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "all.json").read_text())
    assert set(doc["segments"]) == set(EXPRESSIONS)
    r = runner.invoke(
        app, ["predict", str(out), str(rec), "--targets", str(rec).replace("datapoints", "targets")]
    )
    assert r.exit_code != 0 and "--targets scores one expression" in r.output
    r = runner.invoke(app, ["train", "--model", "seq-lstm", "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "give --expression E, or --all" in r.output
