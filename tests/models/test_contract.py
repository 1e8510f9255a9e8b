"""One contract for every registered model (in the spirit of scikit-learn's
``parametrize_with_checks``): what a model class declares in its tags is what it does.

fit → predict (shapes, range, determinism, causality) → for bundle models: save → load (the
engine reproduces the torch module) → for streamable ones: streaming equals offline labelling →
for ONNX ones: onnxruntime reproduces the engine.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from gfe.errors import GfeError
from gfe.models import Model, Tags, make_model, model_classes
from gfe.protocols import HIDDEN, Sequence

CLASSES = model_classes()
N_FEATURES = 118


def _available(cls) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in cls.tags.requires)


def _sequences(seed: int = 0, visible: bool = True) -> list[Sequence]:
    """Two recordings: feature 3 carries the label (blocks of 16 frames), half the labels hidden."""
    rng = np.random.default_rng(seed)
    seqs = []
    for n, signer in ((240, "a"), (200, "b")):
        y = ((np.arange(n) // 16) % 2).astype(np.int64)
        x = rng.normal(0, 0.3, (n, N_FEATURES))
        x[:, 3] += 2.0 * y
        shown = np.where((np.arange(n) // 8) % 2 == 0, y, HIDDEN) if visible else np.full(n, HIDDEN)
        seqs.append(Sequence(x=x, y=shown, signer=signer, usable=np.ones(n, bool), expression="negative"))
    return seqs


@pytest.fixture(params=list(CLASSES), ids=list(CLASSES))
def cls(request):
    cls = CLASSES[request.param]
    if not _available(cls):
        with pytest.raises(GfeError, match="pip install"):
            cls(**cls.test_params())
        pytest.skip(f"{cls.name} needs {', '.join(cls.tags.requires)} (its clear error is checked)")
    return cls


def test_the_class_declares_itself(cls):
    t = cls.tags
    assert isinstance(t, Tags) and t.label and t.colour and cls.name and t.about
    assert issubclass(cls, Model) and CLASSES[cls.name] is cls
    space = cls.search_space()
    assert t.tunable == (space is not None), "tags.tunable must say whether a search space is declared"
    assert not t.streamable or (t.causal and t.bundle), "streaming needs a causal bundle model"
    assert not (t.onnx or t.engine) or t.bundle, "an engine or ONNX form is for bundle models"
    m = cls(**cls.test_params())
    assert type(m)(**m.get_params()).get_params() == m.get_params()
    assert make_model(cls.name, **m.get_params()).get_params() == m.get_params()
    assert isinstance(m.uses_validation(), bool)


def test_fit_predict_is_deterministic_and_sees_only_learnable_labels(cls):
    train, blind = _sequences(), _sequences(visible=False)
    val = _sequences(seed=1) if cls(**cls.test_params()).uses_validation() else None
    p1 = cls(**cls.test_params()).fit(train, seed=0, val=val).predict_proba(blind)
    p2 = cls(**cls.test_params()).fit(train, seed=0, val=val).predict_proba(blind)
    for p, q, s in zip(p1, p2, blind, strict=True):
        assert p.shape == (len(s.x),) and np.all((p >= 0) & (p <= 1))
        np.testing.assert_array_equal(p, q)
    with pytest.raises(GfeError):
        cls(**cls.test_params()).fit(blind, seed=0)  # nothing learnable: an error, not a constant model


def test_a_causal_model_does_not_read_the_future(cls):
    if not cls.tags.causal:
        pytest.skip("declared offline (not causal)")
    model = cls(**cls.test_params()).fit(_sequences(), seed=0)
    blind = _sequences(visible=False)
    changed = [
        Sequence(x=s.x.copy(), y=s.y, signer=s.signer, usable=s.usable, expression=s.expression)
        for s in blind
    ]
    for s in changed:
        s.x[120:] += 5.0
    for p, q in zip(model.predict_proba(blind), model.predict_proba(changed), strict=True):
        np.testing.assert_allclose(p[:120], q[:120], atol=1e-9)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from gfe.data.synthetic import write_dataset

    return write_dataset(tmp_path_factory.mktemp("contract"), n_frames=160, expressions=("negative",))


def test_bundle_round_trip_stream_and_onnx_as_declared(cls, data, tmp_path):
    from gfe.data.synthetic import make_recording
    from gfe.deploy import Detector, label_recording, load_bundle, train_bundle

    if not cls.tags.bundle:
        with pytest.raises(GfeError, match="cannot be bundled"):
            train_bundle(data, "negative", cls.name, params=cls.test_params())
        return
    bundle = train_bundle(data, "negative", cls.name, params=cls.test_params())
    loaded = load_bundle(bundle.save(tmp_path / "b"))
    assert loaded.model == cls.name and loaded.causal == cls.tags.causal
    ts, lm, _ = make_recording(70, seed=5)
    offline = label_recording(loaded, ts, lm).probability
    x = np.ascontiguousarray(_inputs(loaded, lm))
    import torch

    with torch.no_grad():
        out = loaded.torch_module()(torch.as_tensor(x, dtype=torch.float32)[None] if _temporal(cls) else
                                    torch.as_tensor(x, dtype=torch.float32))  # fmt: skip
    logits = (out[0][0] if _temporal(cls) else out).double()
    if cls.tags.multi_expression:  # one sigmoid head per expression: here the one of "negative"
        assert loaded.multi and loaded.expressions == ("negative",)
        expected = torch.sigmoid(logits)[:, 0]
    else:
        expected = torch.softmax(logits, -1)[:, 1]
    np.testing.assert_allclose(offline, expected.numpy(), atol=1e-5)
    if cls.tags.streamable:
        det = Detector(loaded)
        streamed = [det.update(lm[i], ts[i]) for i in range(len(lm))]
        np.testing.assert_allclose(np.array(streamed, float), offline, atol=1e-6)
    else:
        with pytest.raises(GfeError, match="cannot stream"):
            Detector(loaded)
    if cls.tags.onnx:
        _check_onnx(loaded, x, offline, tmp_path)


def _temporal(cls) -> bool:
    from gfe.models.windowed import WindowedModel

    return issubclass(cls, WindowedModel)


def _inputs(bundle, landmarks):
    from gfe.features import compute_features, usable_frames

    f = compute_features(landmarks, bundle.spec)
    mean, std = bundle.stats()
    return bundle.inputs(f, usable_frames(f, bundle.spec), mean, std)


def _check_onnx(bundle, x, offline, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from gfe.deploy.onnx import export_onnx

    info = export_onnx(bundle, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    if info["inputs"] == ["x"]:
        got = sess.run(["probability"], {"x": x.astype(np.float32)})[0]
    else:  # a stateful step: feed the state back
        layers, hidden = bundle.params.get("layers", 1), bundle.params["hidden"]
        state = {n: np.zeros((layers, 1, hidden), np.float32) for n in info["inputs"][1:]}
        got = []
        for row in x.astype(np.float32):
            res = sess.run(None, {"x": row[None], **state})
            got.append(res[0][0])
            state = dict(zip(info["inputs"][1:], res[1:], strict=True))
    np.testing.assert_allclose(np.asarray(got, float), offline, atol=1e-5)
