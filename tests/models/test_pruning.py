"""Distinctiveness pruning on small hand-built MLPs whose unit relations are known exactly."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gfe.errors import GfeError
from gfe.models.nets import MLP
from gfe.models.pruning import PruneReport, prune_distinctiveness


def _set(model: MLP, w_in, b_in, w_out, b_out) -> MLP:
    with torch.no_grad():
        model.hidden.weight.copy_(torch.as_tensor(np.asarray(w_in, dtype=np.float32)))
        model.hidden.bias.copy_(torch.as_tensor(np.asarray(b_in, dtype=np.float32)))
        model.out.weight.copy_(torch.as_tensor(np.asarray(w_out, dtype=np.float32)))
        model.out.bias.copy_(torch.as_tensor(np.asarray(b_out, dtype=np.float32)))
    return model


def _inputs(n: int = 300, seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).normal(size=(n, 4)), dtype=torch.float32)


def _logits(model: MLP, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x).double().numpy()


def _five_unit_net(activation: str = "sigmoid") -> MLP:
    """Unit 1 copies unit 0, unit 3 is the negation of unit 2, unit 4 is independent."""
    w0 = [1.5, 0.0, 0.0, 0.0]
    w2 = [0.0, 1.2, 0.0, 0.0]
    w4 = [0.0, 0.0, 1.0, -1.0]
    w_in = [w0, w0, w2, [-v for v in w2], w4]
    b_in = [0.3, 0.3, -0.4, 0.4, 0.1]
    w_out = [[0.7, -0.2, 1.1, 0.5, -0.9], [-0.4, 0.8, -0.6, 0.3, 0.45]]
    return _set(MLP(n_features=4, hidden=5, activation=activation), w_in, b_in, w_out, [0.05, -0.1])


def _independent_three_unit_net() -> MLP:
    """Units 0, 1 and 2 read different inputs: no pair crosses the default thresholds."""
    w_in = [[1.5, 0, 0, 0], [0, 1.2, 0, 0], [0, 0, 1.0, -1.0]]
    w_out = [[0.7, 1.1, -0.9], [-0.4, -0.6, 0.45]]
    return _set(MLP(n_features=4, hidden=3), w_in, [0.3, -0.4, 0.1], w_out, [0.05, -0.1])


def test_duplicate_merged_and_opposite_pair_removed():
    x = _inputs()
    model = _five_unit_net()
    before = _logits(model, x)
    with torch.no_grad():
        acts = model.hidden_activations(x).double().numpy()
    out = model.out.weight.detach().double().numpy().copy()
    hidden_w = model.hidden.weight.detach().clone()

    report = prune_distinctiveness(model, x)

    assert isinstance(report, PruneReport)
    assert report.hidden_before == 5
    assert report.hidden_after == 2
    assert report.merged == [(0, 1)]
    assert report.opposite_removed == [(2, 3)]
    assert report.constant_removed == []
    assert report.kept_last is None
    # Shapes and surviving units (0 and 4).
    assert model.hidden.weight.shape == (2, 4)
    assert model.hidden.bias.shape == (2,)
    assert model.out.weight.shape == (2, 2)
    assert model.out.bias.shape == (2,)
    assert torch.equal(model.hidden.weight, hidden_w[[0, 4]])
    np.testing.assert_allclose(model.out.weight.detach().double().numpy()[:, 0], out[:, 0] + out[:, 1])
    # Removing the complementary pair (with its mean folded into the bias) changes the logits by
    # exactly minus their non-constant contribution; since a_3 = 1 - a_2 that is
    # -(out_2 - out_3) * (a_2 - mean(a_2)). The merge of the duplicate adds nothing.
    a2 = acts[:, 2]
    expected = before - np.outer(a2 - a2.mean(), out[:, 2] - out[:, 3])
    np.testing.assert_allclose(_logits(model, x), expected, atol=1e-5)
    # Same thing, written from the general rule (both units' own centred contributions).
    a3 = acts[:, 3]
    general = before - np.outer(a2 - a2.mean(), out[:, 2]) - np.outer(a3 - a3.mean(), out[:, 3])
    np.testing.assert_allclose(_logits(model, x), general, atol=1e-5)


def test_identical_units_merge_leaves_outputs_unchanged():
    x = _inputs()
    w_in = [[1.5, 0, 0, 0], [1.5, 0, 0, 0], [0, 0, 1.0, -1.0]]
    w_out = [[0.7, -0.2, -0.9], [-0.4, 0.8, 0.45]]
    model = _set(MLP(n_features=4, hidden=3), w_in, [0.3, 0.3, 0.1], w_out, [0.05, -0.1])
    before = _logits(model, x)

    report = prune_distinctiveness(model, x)

    assert report.merged == [(0, 1)]
    assert report.opposite_removed == [] and report.constant_removed == []
    assert report.hidden_after == 2
    np.testing.assert_allclose(_logits(model, x), before, atol=1e-6)


def test_thresholds_at_extremes_prune_nothing():
    x = _inputs()
    model = _five_unit_net()
    reference = copy.deepcopy(model)

    report = prune_distinctiveness(model, x, similar_deg=0.0, opposite_deg=180.0)

    assert (report.hidden_before, report.hidden_after) == (5, 5)
    assert report.merged == [] and report.opposite_removed == [] and report.constant_removed == []
    for name, p in reference.state_dict().items():
        assert torch.equal(model.state_dict()[name], p), name
    np.testing.assert_array_equal(_logits(model, x), _logits(reference, x))


def _pair_at_about_21_degrees() -> tuple[MLP, torch.Tensor, float]:
    """Two sigmoid units reading directions 20° apart of inputs spread evenly on a circle."""
    phi = np.linspace(0.0, 2.0 * np.pi, 360, endpoint=False)
    x_np = np.zeros((360, 4))
    x_np[:, 0], x_np[:, 1] = 3.0 * np.cos(phi), 3.0 * np.sin(phi)
    x = torch.as_tensor(x_np, dtype=torch.float32)
    t = np.radians(20.0)
    w_in = [[1.0, 0, 0, 0], [np.cos(t), np.sin(t), 0, 0]]
    model = _set(MLP(n_features=4, hidden=2), w_in, [0.0, 0.0], [[0.5, 0.3], [-0.2, 0.6]], [0.0, 0.0])
    with torch.no_grad():
        c = model.hidden_activations(x).double().numpy() - 0.5
    angle = float(
        np.degrees(np.arccos(c[:, 0] @ c[:, 1] / np.linalg.norm(c[:, 0]) / np.linalg.norm(c[:, 1])))
    )
    return model, x, angle


def test_pair_at_known_angle_respects_similar_threshold():
    model, x, angle = _pair_at_about_21_degrees()
    assert 17.0 < angle < 23.0

    strict = copy.deepcopy(model)
    report = prune_distinctiveness(strict, x, similar_deg=15.0)
    assert report.merged == [] and report.hidden_after == 2

    report = prune_distinctiveness(model, x, similar_deg=25.0)
    assert report.merged == [(0, 1)] and report.hidden_after == 1
    assert model.hidden.weight.shape == (1, 4) and model.out.weight.shape == (2, 1)
    np.testing.assert_allclose(model.out.weight.detach().numpy()[:, 0], [0.8, 0.4], atol=1e-6)


def test_constant_unit_removed_with_mean_folded_into_bias():
    x = _inputs()
    w_in = [[1.5, 0, 0, 0], [0, 1.2, 0, 0], [0, 0, 0, 0]]  # unit 2: constant sigmoid(0.7)
    w_out = [[0.7, 1.1, -0.9], [-0.4, -0.6, 0.45]]
    model = _set(MLP(n_features=4, hidden=3), w_in, [0.3, -0.4, 0.7], w_out, [0.05, -0.1])
    before = _logits(model, x)

    kept_model = copy.deepcopy(model)
    report = prune_distinctiveness(kept_model, x, constant_std=0.0)
    assert report.constant_removed == [] and report.hidden_after == 3

    report = prune_distinctiveness(model, x)
    assert report.constant_removed == [2]
    assert report.merged == [] and report.opposite_removed == []
    assert report.hidden_after == 2
    assert model.hidden.weight.shape == (2, 4) and model.out.weight.shape == (2, 2)
    np.testing.assert_allclose(_logits(model, x), before, atol=1e-6)


def test_zero_norm_unit_is_not_compared_by_angle():
    """A sigmoid unit stuck at exactly 0.5 has no direction: kept with constant_std=0, no NaNs."""
    x = _inputs()
    w_in = [[1.5, 0, 0, 0], [0, 0, 0, 0], [0, 1.2, 0, 0]]
    w_out = [[0.7, 1.1, -0.9], [-0.4, -0.6, 0.45]]
    model = _set(MLP(n_features=4, hidden=3), w_in, [0.3, 0.0, -0.4], w_out, [0.05, -0.1])
    before = _logits(model, x)

    loose = copy.deepcopy(model)
    report = prune_distinctiveness(loose, x, similar_deg=89.0, opposite_deg=91.0, constant_std=0.0)
    touched = {u for pair in report.merged + report.opposite_removed for u in pair}
    assert report.constant_removed == [] and 1 not in touched
    assert torch.isfinite(loose(x)).all()
    assert any(torch.equal(row, torch.zeros(4)) for row in loose.hidden.weight)  # unit 1 survives

    report = prune_distinctiveness(model, x)
    assert report.constant_removed == [1] and report.hidden_after == 2
    np.testing.assert_allclose(_logits(model, x), before, atol=1e-6)


def test_tanh_opposite_pair_and_relu_duplicate():
    x = _inputs()
    model = _five_unit_net("tanh")
    before = _logits(model, x)
    with torch.no_grad():
        acts = model.hidden_activations(x).double().numpy()
    out = model.out.weight.detach().double().numpy().copy()
    report = prune_distinctiveness(model, x)
    assert report.merged == [(0, 1)] and report.opposite_removed == [(2, 3)] and report.hidden_after == 2
    a2 = acts[:, 2]  # tanh: a_3 = -a_2, so the non-constant part is (out_2 - out_3) * (a_2 - mean)
    expected = before - np.outer(a2 - a2.mean(), out[:, 2] - out[:, 3])
    np.testing.assert_allclose(_logits(model, x), expected, atol=1e-5)

    model = _five_unit_net("relu")
    before = _logits(model, x)
    report = prune_distinctiveness(model, x)
    assert report.merged == [(0, 1)]
    assert report.opposite_removed == []  # relu(z) and relu(-z) are not mean-centred opposites
    assert model(x).shape == (300, 2)


def test_never_prunes_to_zero_units():
    x = _inputs()
    # The only two units are exact complements: one is kept and the other folded exactly.
    model = _set(
        MLP(n_features=4, hidden=2),
        [[0, 1.2, 0, 0], [0, -1.2, 0, 0]],
        [-0.4, 0.4],
        [[1.1, 0.5], [-0.6, 0.3]],
        [0.05, -0.1],
    )
    before = _logits(model, x)
    report = prune_distinctiveness(model, x)
    assert report.hidden_after == 1 and report.kept_last == 0 and report.opposite_removed == [(0, 1)]
    assert model.hidden.weight.shape == (1, 4) and model.out.weight.shape == (2, 1)
    np.testing.assert_allclose(_logits(model, x), before, atol=1e-5)

    # Every unit constant: the least constant one survives.
    model = _set(MLP(n_features=4, hidden=3), np.zeros((3, 4)), [0.1, 0.2, 0.3], np.ones((2, 3)), [0.0, 0.0])
    with torch.no_grad():
        model.hidden.weight[1, 0] = 1e-4  # tiny but non-zero spread
    before = _logits(model, x)
    report = prune_distinctiveness(model, x)
    assert report.hidden_after == 1 and report.kept_last == 1 and report.constant_removed == [0, 2]
    np.testing.assert_allclose(_logits(model, x), before, atol=1e-6)


def test_deterministic_accepts_numpy_and_keeps_dtype():
    x = _inputs()
    first, second = _five_unit_net(), _five_unit_net()
    r1 = prune_distinctiveness(first, x)
    r2 = prune_distinctiveness(second, x.numpy().astype(np.float64))
    assert r1 == r2
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
        assert a.dtype == torch.float32 and a.requires_grad

    model = _five_unit_net().double()
    prune_distinctiveness(model, x.double())
    assert model.hidden.weight.dtype == torch.float64 and model.out.weight.dtype == torch.float64
    assert model(x.double()).shape == (300, 2)


def test_no_pair_crosses_thresholds_keeps_independent_units():
    x = _inputs()
    model = _independent_three_unit_net()
    before = _logits(model, x)
    report = prune_distinctiveness(model, x)
    assert report.hidden_after == 3
    np.testing.assert_array_equal(_logits(model, x), before)


@pytest.mark.parametrize(
    ("kwargs", "x"),
    [
        ({}, np.zeros((10, 3))),
        ({}, np.zeros((0, 4))),
        ({"similar_deg": -1.0}, np.zeros((10, 4))),
        ({"opposite_deg": 181.0}, np.zeros((10, 4))),
        ({"constant_std": -1.0}, np.zeros((10, 4))),
    ],
)
def test_bad_arguments_raise(kwargs, x):
    with pytest.raises(GfeError):
        prune_distinctiveness(_five_unit_net(), x, **kwargs)
