"""Augmentation of training windows: deterministic, label-safe, and off unless asked for."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gfe.models import make_model, model_class, model_names
from gfe.models.augment import Augmentation, augment, dropout, person, stretch
from gfe.protocols import HIDDEN, Sequence


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 40, 10, generator=g)
    y = (torch.arange(40) // 8 % 2).repeat(6, 1)
    m = torch.ones(6, 40, dtype=torch.bool)
    m[:, 35:] = False  # right padding of a short window
    return x, y, m


def test_the_same_seed_gives_the_same_augmentations():
    x, y, m = _batch()
    a = Augmentation(p=1.0, p_channel=0.3)
    one = augment(x, y, m, 5, True, a, torch.Generator().manual_seed(7))
    two = augment(x, y, m, 5, True, a, torch.Generator().manual_seed(7))
    for u, v in zip(one, two, strict=True):
        assert torch.equal(u, v)
    other = augment(x, y, m, 5, True, a, torch.Generator().manual_seed(8))
    assert not torch.equal(one[0], other[0])


def test_person_shifts_static_channels_and_scales_all():
    x, _, _ = _batch()
    out = person(x, 5, Augmentation(p=1.0, gain_std=0.0), torch.Generator().manual_seed(1))
    assert torch.allclose(out[:, :, 5:], x[:, :, 5:])  # deltas: no offset (a gain of 1 here)
    shift = out[:, :, :5] - x[:, :, :5]
    assert torch.allclose(shift, shift[:, :1].expand_as(shift))  # one offset per window and channel


def test_stretching_never_invents_labels_or_learnable_padding():
    x, y, m = _batch()
    xs, ys, ms = stretch(
        x, y, m, 5, True, Augmentation(p=1.0, max_stretch=1.5), torch.Generator().manual_seed(3)
    )
    assert set(ys.unique().tolist()) <= {0, 1} and xs.shape == x.shape and ys.shape == y.shape
    # a stretch by at most 1.5 can at most stretch 35 learnable frames over 53: never onto padding
    # that reads past the window, and never more than 1.5× + 1 frames
    assert (ms.sum(1) <= torch.ceil(m.sum(1) * 1.5) + 1).all()
    same = stretch(x, y, m, 5, True, Augmentation(p=1.0, max_stretch=1.0), torch.Generator().manual_seed(3))
    assert all(torch.equal(u, v) for u, v in zip(same, (x, y, m), strict=True))  # factor 1: unchanged


def test_dropout_zeroes_spans_of_a_channel_and_its_delta():
    x, _, _ = _batch()
    out = dropout(x, 5, True, Augmentation(p_channel=1.0), torch.Generator().manual_seed(2))
    zero = out[:, :, :5] == 0
    assert zero.any() and torch.equal(zero, out[:, :, 5:10] == 0)


def _sequences():
    rng = np.random.default_rng(0)
    out = []
    for n, s in ((200, "a"), (180, "b")):
        y = (np.arange(n) // 15) % 2
        x = rng.normal(0, 0.3, (n, 6))
        x[:, 1] += y
        shown = np.where(np.arange(n) % 3 == 0, y, HIDDEN)
        out.append(Sequence(x, shown, s, np.ones(n, bool), "negative"))
    return out


AUGMENTED = model_names(lambda c: "augment" in c.PARAMS)


def test_the_temporal_and_shared_models_take_augmentation():
    assert {"seq-lstm", "bilstm", "shared-lstm", "shared-bilstm"} <= set(AUGMENTED)


@pytest.mark.parametrize("name", AUGMENTED)
def test_off_by_default_and_on_when_asked(name):
    """Every model declaring ``augment`` trains exactly as before with 0, and differently with it."""
    cls = model_class(name)
    small = {**cls.test_params(), "epochs": 2, "max_epochs": 2}
    train = _sequences()
    blind = [Sequence(s.x, np.full(len(s.y), HIDDEN), s.signer, s.usable, s.expression) for s in train]
    plain = make_model(name, **small).fit(train, seed=0).predict_proba(blind)
    zero = make_model(name, **small, augment=0.0).fit(train, seed=0).predict_proba(blind)
    for p, q in zip(plain, zero, strict=True):
        np.testing.assert_array_equal(p, q)  # augment=0 draws nothing: training is unchanged
    augmented = make_model(name, **small, augment=0.5).fit(train, seed=0).predict_proba(blind)
    assert not np.array_equal(augmented[0], plain[0]), f"{name} ignores augment"
