"""Models and the trainer: shapes, determinism, and that they really learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gfe.data import load_dataset
from gfe.data.synthetic import write_dataset
from gfe.errors import GfeError
from gfe.features import PAPER
from gfe.metrics import binary_metrics
from gfe.models.nets import MLP, PaperLSTM
from gfe.models.nets import build_net as build_model
from gfe.models.training import TrainConfig, fit, predict_proba
from gfe.protocols import make_pool, paper


def test_paper_lstm_is_one_layer_105_units_and_sees_one_frame_at_a_time():
    m = PaperLSTM()
    assert m.lstm.num_layers == 1 and m.lstm.hidden_size == 105 and m.lstm.input_size == 118
    assert m.fc.out_features == 2
    x = torch.randn(7, 118)
    out = m(x)
    assert out.shape == (7, 2)
    # No state flows between frames: each frame's output is independent of the others.
    torch.testing.assert_close(m(x[3:4]), out[3:4])
    torch.testing.assert_close(m(x.flip(0)).flip(0), out)


def test_mlp_shapes_and_unknown_names():
    assert MLP(hidden=12)(torch.randn(4, 118)).shape == (4, 2)
    with pytest.raises(GfeError, match="unknown network 'cnn'"):
        build_model("cnn")
    with pytest.raises(GfeError, match="unknown activation"):
        MLP(activation="swish")


def _data(folder):
    pool = make_pool(load_dataset(folder, ["negative"]), PAPER)
    (fold,) = paper(pool, 0)
    x = fold.scaled_features(pool)
    return x[fold.train], pool.labels[fold.train], x[fold.test], pool.labels[fold.test]


class _TestLoss:
    """A monitor recording the test loss after each epoch (what reproduce's loss curves do)."""

    def __init__(self, x, y):
        self.x, self.y, self.loss = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y), []

    def __call__(self, epoch, model, history):
        assert not model.training  # the monitor sees the model in eval mode
        with torch.no_grad():
            self.loss.append(float(torch.nn.functional.cross_entropy(model(self.x), self.y)))


@pytest.mark.parametrize("model", ["paper-lstm", "mlp"])
def test_training_is_deterministic_and_a_monitor_records_the_test_loss(synthetic_data, model):
    xtr, ytr, xte, yte = _data(synthetic_data)
    cfg = TrainConfig(epochs=5)
    runs = []
    for seed in (7, 7, 8):
        curve = _TestLoss(xte, yte)
        runs.append((fit(lambda: build_model(model), xtr, ytr, cfg, seed=seed, monitor=curve), curve.loss))
    (a, ta), (b, tb), (c, _) = runs
    assert len(a.train_loss) == len(ta) == 5
    assert a.train_loss == b.train_loss and ta == tb
    assert a.train_loss != c.train_loss
    np.testing.assert_array_equal(predict_proba(a.model, xte), predict_proba(b.model, xte))
    # The monitor only observes: training with or without it gives the same model.
    plain = fit(lambda: build_model(model), xtr, ytr, cfg, seed=7)
    np.testing.assert_array_equal(predict_proba(plain.model, xte), predict_proba(a.model, xte))


def test_paper_lstm_learns_the_synthetic_expression(tmp_path):
    xtr, ytr, xte, yte = _data(write_dataset(tmp_path, n_frames=800, expressions=("negative",)))
    res = fit(lambda: PaperLSTM(), xtr, ytr, TrainConfig(epochs=30), seed=0)
    assert res.train_loss[-1] < res.train_loss[0] * 0.5
    assert binary_metrics(yte, predict_proba(res.model, xte) >= 0.5)["f1"] > 0.9


def test_mini_batch_option_takes_more_steps_per_epoch(synthetic_data):
    xtr, ytr, _, _ = _data(synthetic_data)
    full = fit(lambda: MLP(), xtr, ytr, TrainConfig(epochs=3), seed=0)
    mini = fit(lambda: MLP(), xtr, ytr, TrainConfig(epochs=3, batch_size=16), seed=0)
    assert mini.train_loss[-1] < full.train_loss[-1]


def test_metrics_positive_class():
    m = binary_metrics(np.array([1, 1, 0, 0, 1]), np.array([1, 0, 0, 1, 1]))
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["accuracy"] == pytest.approx(3 / 5)


def test_fast_f1_agrees_with_binary_metrics():
    from gfe.metrics import f1

    rng = np.random.default_rng(3)
    for _ in range(50):
        y, p = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
        assert f1(y, p) == pytest.approx(binary_metrics(y, p)["f1"])
    assert f1(np.zeros(5), np.zeros(5)) == 0.0


def test_early_stopping_keeps_the_best_validation_epoch(synthetic_data):
    """With validation frames and a patience, training stops once the validation loss stops
    falling and the kept weights are those of the best epoch, whose loss they reproduce."""
    xtr, ytr, xte, yte = _data(synthetic_data)
    cfg = TrainConfig(epochs=400, lr=0.05, patience=5)
    seen = []
    res = fit(
        lambda: MLP(), xtr, ytr, cfg, seed=0, x_val=xte, y_val=yte, monitor=lambda e, m, h: seen.append(e)
    )
    n = len(res.val_loss)
    assert n < 400 and seen == list(range(1, n + 1)) and len(res.val_f1) == n
    assert res.best_epoch == int(np.argmin(res.val_loss)) + 1
    assert n - res.best_epoch >= cfg.patience  # it stopped after `patience` epochs without progress
    with torch.no_grad():
        kept = torch.nn.functional.cross_entropy(res.model(torch.as_tensor(xte, dtype=torch.float32)),
                                                 torch.as_tensor(yte))  # fmt: skip
    assert float(kept) == pytest.approx(res.val_loss[res.best_epoch - 1], rel=1e-5)
