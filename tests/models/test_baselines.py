"""Frame-level estimators: they learn, never read hidden labels, are causal and deterministic."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score

from gfe.errors import GfeError
from gfe.models import Model, make_model, model_classes
from gfe.models import rocket as rocket_module
from gfe.models.base import training_frames
from gfe.models.frame import MLPModel
from gfe.models.rocket import ROCKET_MISSING, MiniRocketModel, causal_windows
from gfe.models.sklearn import ExtraTreesModel, SkMLPModel
from gfe.protocols import HIDDEN, Sequence

CORE = ["paper-lstm", "mlp", "logreg", "extra-trees", "random-forest", "sk-mlp"]
ESTIMATORS = {n: c for n, c in model_classes().items() if n in (*CORE, "minirocket")}
STOCHASTIC = ["paper-lstm", "mlp", "extra-trees", "random-forest", "sk-mlp"]
N_FEATURES = 118


def _truth(seed: int = 0, lengths=(400, 340)) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per recording: features, true labels (blocks of 20 frames), visible mask (half the frames,
    in blocks of 10, so both classes are visible and hidden). Feature 3 separates the classes; the
    other 117 are weak noise (with unit noise the paper's Adam settings fit the noise of so few
    frames and score ~0.7 on hidden frames)."""
    rng = np.random.default_rng(seed)
    out = []
    for n in lengths:
        y = (np.arange(n) // 20) % 2
        x = rng.normal(0.0, 0.2, size=(n, N_FEATURES))
        x[:, 3] = np.where(y == 1, 2.0, -2.0) + rng.normal(0.0, 0.5, n)
        visible = (np.arange(n) // 10) % 2 == 0
        out.append((x, y, visible))
    return out


def _seqs(truth, visible=True) -> list[Sequence]:
    """Sequences as an estimator sees them: labels outside the visible mask are HIDDEN."""
    return [
        Sequence(x=x, y=np.where(vis if visible else np.zeros_like(vis), y, HIDDEN), signer=s)
        for (x, y, vis), s in zip(truth, "ab", strict=True)
    ]


def _blind(truth) -> list[Sequence]:
    return _seqs(truth, visible=False)


def _make(name: str):
    return ESTIMATORS[name]()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One thread, as in the benchmark; on a busy 2-core machine threads only wait on each other."""
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:  # the optional-model tests may run where torch is absent
        torch = None
    old = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    if torch:
        torch.set_num_threads(old)


@pytest.fixture(scope="module")
def truth():
    return _truth()


_FITTED: dict[str, list[np.ndarray]] = {}


def _fit_predict(name, truth, seed=0):
    est = _make(name).fit(_seqs(truth), seed=seed)
    return est, est.predict_proba(_blind(truth))


def _reference(name, truth) -> list[np.ndarray]:
    """Probabilities of the default estimator fitted with seed 0 (cached: several tests use it)."""
    if name not in _FITTED:
        _FITTED[name] = _fit_predict(name, truth)[1]
    return _FITTED[name]


# --------------------------------------------------------------------------------- interface
def test_registry_names_params_and_protocol():
    assert set(ESTIMATORS) == {*CORE, "minirocket"}
    for name in CORE:
        est = _make(name)
        assert est.name == name and est.tags.causal is True
        assert isinstance(est, Model)
        params = est.get_params()
        assert ESTIMATORS[name](**params).get_params() == params
    assert _make("paper-lstm").get_params() == {
        "hidden": 105,
        "epochs": 30,
        "lr": 0.0099,
        "batch_size": None,
        "optimizer": "adam",
        "patience": None,
    }
    assert _make("mlp").get_params()["activation"] == "sigmoid"
    assert _make("extra-trees").get_params()["n_estimators"] == 300
    assert _make("sk-mlp").get_params()["early_stopping"] is False


def test_bad_parameters_are_clear_errors():
    with pytest.raises(GfeError, match="unknown model 'cnn'"):
        make_model("cnn")
    with pytest.raises(GfeError, match="bad parameters for model 'paper-lstm'"):
        make_model("paper-lstm", activation="tanh")
    with pytest.raises(TypeError):  # make_model turns this into "bad parameters for model"
        ESTIMATORS["paper-lstm"](activation="tanh")
    with pytest.raises(GfeError, match="mlp: parameter epochs must be an integer from 1 to 100000, got 0"):
        ESTIMATORS["mlp"](epochs=0)
    with pytest.raises(GfeError, match="n_estimators"):
        ExtraTreesModel(n_estimators=0)
    with pytest.raises(GfeError, match=r"parameter activation must be one of 'relu'.*got 'swish'"):
        SkMLPModel(activation="swish")


@pytest.mark.parametrize("name", CORE)
def test_learns_and_scores_every_frame(name, truth):
    probs = _reference(name, truth)
    assert len(probs) == len(truth)
    for p, (x, _, _) in zip(probs, truth, strict=True):
        assert p.shape == (len(x),) and p.dtype == np.float64
        assert np.all((p >= 0) & (p <= 1))
    y_hidden = np.concatenate([y[~vis] for _, y, vis in truth])
    p_hidden = np.concatenate([p[~vis] for p, (_, _, vis) in zip(probs, truth, strict=True)])
    assert f1_score(y_hidden, p_hidden >= 0.5) > 0.9


@pytest.mark.parametrize("name", CORE)
def test_hidden_frames_cannot_change_the_model_and_seeds_are_reproducible(name, truth):
    p1 = _reference(name, truth)
    _, p2 = _fit_predict(name, truth, seed=0)
    # The hidden frames' true labels flipped *and* their features made to leak those labels:
    # an estimator that only learns from visible frames cannot tell the difference.
    leaky = []
    for x, y, vis in truth:
        x2 = x.copy()
        x2[~vis, 7] = 100.0 * (1 - y[~vis])
        leaky.append((x2, np.where(vis, y, 1 - y), vis))
    est = _make(name).fit(_seqs(leaky), seed=0)
    p3 = est.predict_proba(_blind(truth))
    for a, b, c in zip(p1, p2, p3, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    if name in STOCHASTIC:
        _, p4 = _fit_predict(name, truth, seed=1)
        assert any(not np.array_equal(a, d) for a, d in zip(p1, p4, strict=True))


def test_training_frames_are_exactly_the_visible_ones(truth):
    x, y = training_frames(_seqs(truth), "t")
    vis = np.concatenate([v for _, _, v in truth])
    np.testing.assert_array_equal(x, np.concatenate([x for x, _, _ in truth])[vis])
    np.testing.assert_array_equal(y, np.concatenate([y for _, y, _ in truth])[vis])


@pytest.mark.parametrize("name", ["logreg", "extra-trees", "mlp"])
def test_frame_models_are_causal(name, truth):
    est = _make(name).fit(_seqs(truth), seed=0)
    x = truth[0][0]
    changed = x.copy()
    changed[100:] = -changed[100:]
    before = est.predict_proba([Sequence(x, np.full(len(x), HIDDEN), "a")])[0]
    after = est.predict_proba([Sequence(changed, np.full(len(x), HIDDEN), "a")])[0]
    np.testing.assert_array_equal(before[:100], after[:100])
    assert not np.array_equal(before[100:], after[100:])


# ---------------------------------------------------------------------------- failures, edges
@pytest.mark.parametrize("name", CORE)
def test_unlearnable_training_sets_raise(name, truth):
    with pytest.raises(GfeError, match="every training label is hidden"):
        _make(name).fit(_blind(truth), seed=0)
    one_class = [Sequence(x, np.where(vis & (y == 1), y, HIDDEN), "a") for x, y, vis in truth]
    n_pos = sum(int((vis & (y == 1)).sum()) for _, y, vis in truth)
    with pytest.raises(GfeError, match=f"all {n_pos} learnable frames are of class 1"):
        _make(name).fit(one_class, seed=0)
    with pytest.raises(GfeError, match="no training recordings"):
        _make(name).fit([], seed=0)
    with pytest.raises(GfeError, match="call fit before predict_proba"):
        _make(name).predict_proba(_blind(truth))


def test_bad_labels_and_unknown_features(truth):
    x, y, vis = truth[0]
    with pytest.raises(GfeError, match="must be 0, 1 or hidden"):
        training_frames([Sequence(x, np.where(vis, y * 2, HIDDEN), "a")], "t")
    x_nan = x.copy()
    x_nan[0, 5] = np.nan  # frame 0 is visible
    with pytest.raises(GfeError, match="1 learnable frames have unknown"):
        training_frames([Sequence(x_nan, np.where(vis, y, HIDDEN), "a")], "t")
    # Unknown features on hidden frames are fine; they are scored as the mean (0).
    x_nan[10, 5] = np.nan  # frame 10 is hidden
    x_nan[0, 5] = 0.0
    est = _make("logreg").fit([Sequence(x_nan, np.where(vis, y, HIDDEN), "a")], seed=0)
    p = est.predict_proba([Sequence(x_nan, np.full(len(x), HIDDEN), "a")])[0]
    assert np.isfinite(p).all()
    assert est.predict_proba([Sequence(x[:0], y[:0], "a")])[0].shape == (0,)
    with pytest.raises(GfeError, match="fitted on 118 features"):
        est.predict_proba([Sequence(x[:, :50], y, "a")])


def test_convergence_warnings_become_an_attribute(truth):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = SkMLPModel(max_iter=2).fit(_seqs(truth), seed=0)
    assert est.converged_ is False
    assert _make("logreg").fit(_seqs(truth), seed=0).converged_ is True


def test_paper_models_record_their_training_loss(truth):
    est = MLPModel(epochs=5).fit(_seqs(truth), seed=0)
    assert len(est.history_["train_loss"]) == 5


# ------------------------------------------------------------------------------ MiniRocket
def test_causal_windows_end_at_each_frame():
    x = np.arange(12, dtype=float).reshape(6, 2)
    w = causal_windows(x, 3)
    assert w.shape == (6, 2, 3)
    np.testing.assert_array_equal(w[5], x[3:6].T)  # oldest first, ending at frame 5
    np.testing.assert_array_equal(w[0], np.repeat(x[:1].T, 3, axis=1))  # padded with frame 0
    np.testing.assert_array_equal(w[1], x[[0, 0, 1]].T)


def test_minirocket_without_aeon_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(rocket_module, "rocket_available", lambda: False)
    with pytest.raises(GfeError) as err:
        ESTIMATORS["minirocket"]()
    assert str(err.value) == ROCKET_MISSING
    assert "pip install 'gfe[rocket]'" in ROCKET_MISSING


@pytest.mark.rocket
def test_minirocket_learns_causally_and_deterministically(truth):
    est = MiniRocketModel(window=9)
    assert est.name == "minirocket" and est.tags.causal is True
    assert MiniRocketModel(**est.get_params()).get_params() == est.get_params()
    with pytest.raises(GfeError, match="at least 9"):
        MiniRocketModel(window=5)
    with pytest.raises(GfeError, match="every training label is hidden"):
        est.fit(_blind(truth), seed=0)
    p1 = est.fit(_seqs(truth), seed=0).predict_proba(_blind(truth))
    p2 = MiniRocketModel(window=9).fit(_seqs(truth), seed=0).predict_proba(_blind(truth))
    for a, b, (x, _, _) in zip(p1, p2, truth, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.shape == (len(x),) and np.all((a >= 0) & (a <= 1))
    y_hidden = np.concatenate([y[~vis] for _, y, vis in truth])
    p_hidden = np.concatenate([p[~vis] for p, (_, _, vis) in zip(p1, truth, strict=True)])
    assert f1_score(y_hidden, p_hidden >= 0.5) > 0.9
    x = truth[0][0]
    changed = x.copy()
    changed[100:] = -changed[100:]
    before = est.predict_proba([Sequence(x, np.full(len(x), HIDDEN), "a")])[0]
    after = est.predict_proba([Sequence(changed, np.full(len(x), HIDDEN), "a")])[0]
    np.testing.assert_array_equal(before[:100], after[:100])
