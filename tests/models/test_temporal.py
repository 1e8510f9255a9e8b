"""Temporal models: shapes, causality, streaming, the sequence trainer and early stopping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from gfe.errors import GfeError
from gfe.models import Model as Estimator
from gfe.models import model_classes
from gfe.models.recurrent import BiLSTM, GRUNet, SeqLSTM
from gfe.models.recurrent import BiLSTMModel as BiLSTMEstimator
from gfe.models.recurrent import GRUModel as GRUEstimator
from gfe.models.recurrent import SeqLSTMModel as SeqLSTMEstimator
from gfe.models.tcn import TCN, tcn_receptive_field
from gfe.models.tcn import TCNModel as TCNEstimator
from gfe.models.windowed import delta_features
from gfe.protocols import HIDDEN, Sequence

ESTIMATORS = {n: c for n, c in model_classes().items() if n in ("seq-lstm", "bilstm", "gru", "tcn")}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


N_FEAT = 6
MODULES = {
    "seq-lstm": lambda: SeqLSTM(N_FEAT, hidden=8, layers=2, dropout=0.1),
    "gru": lambda: GRUNet(N_FEAT, hidden=8, layers=2, dropout=0.1),
    "bilstm": lambda: BiLSTM(N_FEAT, hidden=8, layers=2, dropout=0.1),
    "tcn": lambda: TCN(N_FEAT, channels=8, levels=3, kernel=3, dropout=0.1),
}
CAUSAL = ("seq-lstm", "gru", "tcn")
# Small and quick settings for the synthetic tasks (1000 training frames).
SMALL = {
    "seq-lstm": {"hidden": 32},
    "gru": {"hidden": 32},
    "bilstm": {"hidden": 32},
    "tcn": {"channels": 16, "levels": 3},
}


def _module(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return MODULES[name]().eval()


def spike_seq(n: int, seed: int, n_feat: int = N_FEAT) -> Sequence:
    """Noise, with a spike in feature 0 every 18–44 frames; label 1 for the 10 frames after each
    spike. A frame's own features say nothing about its label: only memory of the past does."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_feat)).astype(np.float32)
    y = np.zeros(n, dtype=np.int64)
    t = int(rng.integers(5, 30))
    while t < n:
        x[t, 0] = 6.0
        y[t + 1 : t + 11] = 1
        t += int(rng.integers(18, 45))
    return Sequence(x=x, y=y, signer=f"s{seed}", usable=np.ones(n, dtype=bool))


def hide(seq: Sequence, frames: np.ndarray, y: np.ndarray | None = None) -> Sequence:
    y = np.array(seq.y if y is None else y)
    y[frames] = HIDDEN
    return Sequence(x=seq.x, y=y, signer=seq.signer, usable=seq.usable)


def fit_small(name: str, train, seed: int = 0, val=None, **params):
    params = {**SMALL[name], "epochs": 30, "batch_size": 4, **params}
    return ESTIMATORS[name](**params).fit(train, seed=seed, val=val)


# ------------------------------------------------------------------------------------ modules
@pytest.mark.parametrize("name", list(MODULES))
def test_module_shapes(name):
    m = _module(name)
    logits, state = m(torch.randn(3, 17, N_FEAT))
    assert logits.shape == (3, 17, 2)
    if name in ("seq-lstm", "bilstm"):
        h, c = state
        dirs = 2 if name == "bilstm" else 1
        assert h.shape == c.shape == (2 * dirs, 3, 8)
    elif name == "gru":
        assert state.shape == (2, 3, 8)
    else:
        assert state.shape == (3, min(17, m.receptive_field - 1), N_FEAT)  # the recent input frames
        _, state = m(torch.randn(3, 50, N_FEAT))
        assert state.shape == (3, m.receptive_field - 1, N_FEAT)
    one, _ = m(torch.randn(1, 1, N_FEAT))
    assert one.shape == (1, 1, 2)


@pytest.mark.parametrize("name", CAUSAL)
def test_causal_modules_ignore_the_future(name):
    m = _module(name)
    x = torch.randn(2, 40, N_FEAT)
    t = 22
    x2 = x.clone()
    x2[:, t + 1 :] = torch.randn(2, 40 - t - 1, N_FEAT) * 3
    with torch.no_grad():
        a, _ = m(x)
        b, _ = m(x2)
    assert torch.equal(a[:, : t + 1], b[:, : t + 1])  # exactly
    assert not torch.equal(a[:, t + 1 :], b[:, t + 1 :])
    assert m.causal


def test_bilstm_is_not_causal():
    m = _module("bilstm")
    x = torch.randn(1, 30, N_FEAT)
    x2 = x.clone()
    x2[:, 20:] += 1.0
    with torch.no_grad():
        a, _ = m(x)
        b, _ = m(x2)
    assert not torch.allclose(a[:, :20], b[:, :20])
    assert not m.causal and not BiLSTMEstimator.tags.causal


@pytest.mark.parametrize("name", CAUSAL)
def test_streamed_equals_offline(name):
    m = _module(name)
    x = torch.randn(2, 90, N_FEAT)
    with torch.no_grad():
        offline, _ = m(x)
        state, steps = None, []
        for t in range(x.shape[1]):
            out, state = m(x[:, t : t + 1], state)
            steps.append(out)
        streamed = torch.cat(steps, dim=1)
        # pieces of uneven length stream as well
        state, parts = None, []
        for lo, hi in ((0, 7), (7, 8), (8, 50), (50, 90)):
            out, state = m(x[:, lo:hi], state)
            parts.append(out)
    assert (streamed - offline).abs().max() < 1e-6
    assert (torch.cat(parts, dim=1) - offline).abs().max() < 1e-6


def test_tcn_receptive_field():
    assert tcn_receptive_field(4, 3) == 61
    m = _module("tcn")  # 3 levels, kernel 3
    rf = m.receptive_field
    assert rf == 1 + 2 * 2 * (1 + 2 + 4)
    x = torch.randn(1, 80, N_FEAT)
    x2 = x.clone()
    t = 70
    x2[:, t - rf] += 5.0  # just outside frame t's field
    with torch.no_grad():
        a, _ = m(x)
        b, _ = m(x2)
    assert torch.equal(a[:, t], b[:, t])
    x2[:, t - rf + 1] += 5.0  # just inside
    with torch.no_grad():
        c, _ = m(x2)
    assert not torch.equal(a[:, t], c[:, t])


def test_bilstm_padding_is_packed_away():
    m = _module("bilstm")
    x = torch.randn(2, 25, N_FEAT)
    x[1, 15:] = 0.0
    with torch.no_grad():
        batched, _ = m(x, lengths=torch.tensor([25, 15]))
        alone, _ = m(x[1:, :15])
    assert torch.allclose(batched[1, :15], alone[0], atol=1e-6)


def test_delta_features_are_causal_and_skip_unusable_frames():
    x = np.arange(12, dtype=np.float32).reshape(6, 2) ** 2
    usable = np.array([True, True, False, True, True, True])
    d = delta_features(x, usable)
    assert np.all(d[0] == 0)
    assert np.allclose(d[1], x[1] - x[0])
    assert np.all(d[2] == 0) and np.all(d[3] == 0)  # frame 2 unusable: no delta into or out of it
    assert np.allclose(d[5], x[5] - x[4])
    assert np.allclose(delta_features(x[:4]), delta_features(x)[:4])


# --------------------------------------------------------------------------------- estimators
def test_registry_and_params():
    assert set(ESTIMATORS) == {"seq-lstm", "bilstm", "gru", "tcn"}
    for name, cls in ESTIMATORS.items():
        est = cls()
        assert est.name == name
        assert isinstance(est, Estimator)
        params = est.get_params()
        assert "history_" not in params and "module_" not in params
        assert cls(**params).get_params() == params
    assert {n for n, c in ESTIMATORS.items() if c.tags.causal} == set(CAUSAL)
    assert SeqLSTMEstimator().get_params()["hidden"] == 64
    assert TCNEstimator().get_params()["channels"] == 64
    with pytest.raises(TypeError):
        SeqLSTMEstimator(64)  # keyword parameters only
    with pytest.raises(GfeError):
        GRUEstimator(chunk_len=0)
    with pytest.raises(GfeError):
        TCNEstimator(class_weight="sometimes")


def test_deterministic_training():
    train = [spike_seq(300, 1), spike_seq(260, 2)]
    for name in ("seq-lstm", "tcn", "bilstm"):
        a = fit_small(name, train, seed=3, epochs=4).predict_proba(train)
        b = fit_small(name, train, seed=3, epochs=4).predict_proba(train)
        c = fit_small(name, train, seed=4, epochs=4).predict_proba(train)
        assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
        assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


@pytest.mark.parametrize("name", ["seq-lstm", "tcn"])
def test_learns_a_temporal_task(name):
    train = [spike_seq(500, 1), spike_seq(500, 2)]
    test = spike_seq(600, 99)
    est = fit_small(name, train, seed=0)
    prob = est.predict_proba([test])[0]
    assert prob.shape == (600,) and np.all((prob >= 0) & (prob <= 1))
    assert f1_score(test.y, prob >= 0.5) > 0.8
    h = est.history_
    assert len(h["train_loss"]) == h["epochs_run"] == 30 and h["best_epoch"] == 30
    assert h["train_loss"][-1] < 0.5 * h["train_loss"][0]


def test_hidden_labels_are_never_read():
    base = [spike_seq(300, 1), spike_seq(260, 2)]
    rng = np.random.default_rng(0)
    hidden = [rng.random(len(s.y)) < 0.4 for s in base]
    # the same recordings with the labels of the frames to hide flipped
    flipped = [
        Sequence(s.x, np.where(h, 1 - s.y, s.y), s.signer, s.usable)
        for s, h in zip(base, hidden, strict=True)
    ]
    assert not all(np.array_equal(s.y, f.y) for s, f in zip(base, flipped, strict=True))
    a = [hide(s, h) for s, h in zip(base, hidden, strict=True)]
    b = [hide(s, h) for s, h in zip(flipped, hidden, strict=True)]  # other labels, same mask
    # Labels on unusable frames are not learnt from either, whatever they are.
    unusable = [Sequence(s.x, s.y, s.signer, s.usable & ~h) for s, h in zip(a, hidden, strict=True)]
    shown = [Sequence(s.x, s.y, s.signer, s.usable & ~h) for s, h in zip(base, hidden, strict=True)]
    shown_flipped = [
        Sequence(s.x, s.y, s.signer, s.usable & ~h) for s, h in zip(flipped, hidden, strict=True)
    ]
    for name in ("seq-lstm", "tcn"):
        pa = fit_small(name, a, epochs=3).predict_proba(base)
        pb = fit_small(name, b, epochs=3).predict_proba(base)
        assert all(np.array_equal(p, q) for p, q in zip(pa, pb, strict=True))
        pu = fit_small(name, unusable, epochs=3).predict_proba(base)
        ps = fit_small(name, shown, epochs=3).predict_proba(base)
        pf = fit_small(name, shown_flipped, epochs=3).predict_proba(base)
        assert all(np.array_equal(p, q) for p, q in zip(pu, ps, strict=True))
        assert all(np.array_equal(p, q) for p, q in zip(pu, pf, strict=True))


def test_all_hidden_raises():
    s = spike_seq(100, 1)
    with pytest.raises(GfeError, match="hidden"):
        SeqLSTMEstimator().fit([hide(s, np.arange(100))], seed=0)
    with pytest.raises(GfeError, match="hidden"):
        TCNEstimator().fit([Sequence(s.x, s.y, s.signer, np.zeros(100, dtype=bool))], seed=0)
    with pytest.raises(GfeError):
        SeqLSTMEstimator().fit([], seed=0)


def test_predict_errors_and_unusable_frames():
    est = GRUEstimator(hidden=8, epochs=1)
    s = spike_seq(120, 1)
    with pytest.raises(GfeError, match="fit"):
        est.predict_proba([s])
    est.fit([s], seed=0)
    usable = np.ones(120, dtype=bool)
    usable[40:50] = False
    x = s.x.copy()
    x[40:50] = 0.0  # imputed by the caller
    p = est.predict_proba([Sequence(x, np.full(120, HIDDEN), "s", usable)])[0]
    assert p.shape == (120,) and np.isfinite(p).all()
    with pytest.raises(GfeError, match="features"):
        est.predict_proba([Sequence(np.zeros((5, N_FEAT + 1)), np.full(5, HIDDEN), "s")])


def test_early_stopping_restores_best_epoch():
    """Validation labels follow the training rule 3 frames late, so the validation loss falls
    while the model learns roughly where labels are 1 and rises once it learns exactly where:
    training stops early and the best epoch's weights come back."""
    full = [spike_seq(400, 1), spike_seq(400, 2)]
    rng = np.random.default_rng(1)
    val_frames = [rng.random(400) < 0.3 for _ in full]
    train = [hide(s, v) for s, v in zip(full, val_frames, strict=True)]
    val = [
        Sequence(s.x, np.where(v, np.roll(s.y, 3), HIDDEN), s.signer, s.usable)
        for s, v in zip(full, val_frames, strict=True)
    ]
    est = fit_small("seq-lstm", train, val=val, max_epochs=40, patience=3)
    h = est.history_
    assert h["stopped_early"] and h["epochs_run"] < 40
    assert h["epochs_run"] == h["best_epoch"] + 3
    assert len(h["val_loss"]) == len(h["train_loss"]) == h["epochs_run"]
    assert h["best_epoch"] == int(np.argmin(h["val_loss"])) + 1
    assert h["best_epoch"] > 1 and h["val_loss"][0] > min(h["val_loss"]) < h["val_loss"][-1]
    # The restored model is exactly the one trained for best_epoch epochs without validation.
    ref = fit_small("seq-lstm", train, epochs=h["best_epoch"])
    for p, q in zip(est.predict_proba(full), ref.predict_proba(full), strict=True):
        assert np.array_equal(p, q)


def test_validation_without_labels_means_fixed_epochs():
    s = spike_seq(150, 1)
    est = fit_small("tcn", [s], val=[hide(s, np.arange(150))], epochs=2, max_epochs=9)
    assert est.history_["epochs_run"] == 2 and est.history_["val_loss"] == []


def test_training_windows_count_each_learnable_frame_once():
    seqs = [spike_seq(300, 1), spike_seq(130, 2)]
    seqs[0] = hide(seqs[0], np.arange(64, 200))  # chunks 1–2 have no label: no window for them
    for cls in (SeqLSTMEstimator, BiLSTMEstimator, TCNEstimator):
        est = cls(chunk_len=64, deltas=False)
        masks = [s.y != HIDDEN for s in seqs]
        x, _, m, lens = est._windows([s.x for s in seqs], [np.maximum(s.y, 0) for s in seqs], masks)
        assert int(m.sum()) == sum(int(k.sum()) for k in masks)
        assert len(x) == 5 + 3 - 2
        for i in range(len(x)):  # loss frames lie inside the window's real frames
            assert not m[i, int(lens[i]) :].any()


def test_tcn_windows_reproduce_the_whole_recording():
    """With burn-in = receptive field − 1 a training window computes, for its chunk, exactly what
    the whole-recording pass computes."""
    est = TCNEstimator(channels=8, levels=3, chunk_len=16, deltas=False)
    s = spike_seq(100, 3)
    torch.manual_seed(0)
    m = est.build_module(N_FEAT).eval()
    x, _, mask, _ = est._windows([s.x], [s.y], [np.ones(100, dtype=bool)])
    with torch.no_grad():
        whole = m(torch.from_numpy(s.x)[None])[0][0]
        windows = m(x)[0]
    got = windows[mask]  # chunk frames, in order
    assert torch.allclose(got, whole, atol=1e-5)


@pytest.mark.parametrize("name", CAUSAL)
def test_causal_estimators_predict_causally(name):
    s = spike_seq(200, 5)
    est = fit_small(name, [s], epochs=2)
    x2 = s.x.copy()
    x2[120:] = np.random.default_rng(0).normal(size=(80, N_FEAT))
    a = est.predict_proba([s])[0]
    b = est.predict_proba([Sequence(x2, s.y, s.signer, s.usable)])[0]
    assert np.array_equal(a[:120], b[:120]) and not np.array_equal(a[120:], b[120:])
