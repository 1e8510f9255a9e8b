"""The 118 paper features: the author's own vectors are the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gfe.data.synthetic import make_recording
from gfe.features import (
    ANGLE_TRIPLES,
    CLEAN,
    DISTANCE_PAIRS,
    N_FEATURES,
    PAPER,
    Standardizer,
    compute_features,
    frame_mask,
)
from gfe.protocols import make_pool

ORACLE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "paper-author-features"
MATCHING = [
    "affirmative",
    "conditional",
    "doubt_question",
    "negative",
    "topics",
    "wh_question",
    "yn_question",
]


def _oracle(expression: str) -> np.ndarray:
    path = ORACLE / f"{expression}.npy"
    if not path.is_file():
        pytest.fail(f"oracle file missing: {path}")
    return np.load(path)


def _paper_scaled(recordings, expression):
    pool = make_pool([r for r in recordings if r.expression == expression], PAPER)
    scaled = Standardizer().fit(pool.features, pool.signers).transform(pool.features, pool.signers)
    return pool, scaled


@pytest.mark.parametrize("expression", MATCHING)
def test_paper_features_match_the_authors_vectors(real_recordings, expression):
    pool, ours = _paper_scaled(real_recordings, expression)
    oracle = _oracle(expression)
    assert oracle.shape == (len(pool), N_FEATURES + 1)
    np.testing.assert_array_equal(oracle[:, -1], pool.labels)
    np.testing.assert_allclose(ours, oracle[:, :N_FEATURES], atol=1e-9, rtol=0)


def test_emphasis_differs_only_by_the_authors_frame_count_bug(real_recordings):
    """The author used 1203 instead of 1403 as signer a's frame count: frames 1203–2546 were
    standardised as one group and the last 200 frames were left raw. Redoing that bug with our
    unscaled features gives the author's vectors exactly."""
    pool, ours = _paper_scaled(real_recordings, "emphasis")
    oracle = _oracle("emphasis")
    assert np.abs(ours - oracle[:, :N_FEATURES]).max() > 1.0  # our (correct) scaling differs
    x = pool.features
    buggy = x.copy()
    for lo, hi in ((0, 1203), (1203, 2547)):
        buggy[lo:hi] = (x[lo:hi] - x[lo:hi].mean(0)) / x[lo:hi].std(0)
    np.testing.assert_allclose(buggy, oracle[:, :N_FEATURES], atol=1e-9, rtol=0)


def test_relative_z_columns_match_and_geometry_is_unknown_for_588_frames(real_recordings):
    pool, ours = _paper_scaled(real_recordings, "relative")
    oracle = _oracle("relative")
    np.testing.assert_allclose(ours[:, 18:], oracle[:, 18:N_FEATURES], atol=1e-9, rtol=0)
    assert (~pool.usable).sum() == 588
    assert np.isnan(pool.features[~pool.usable, :18]).all()


def _slow_features(lm: np.ndarray, spec) -> np.ndarray:
    """Frame-by-frame reference written straight from the paper's formulas (1) and (3)."""
    out = []
    for frame in lm:
        f = frame.copy()
        if spec.zero_fill is not None:
            f[f == 0] = spec.zero_fill
        row = [np.hypot(*(f[a, :2] - f[b, :2])) for a, b in DISTANCE_PAIRS]
        for a, m, b in ANGLE_TRIPLES:
            u, v = f[a, :2] - f[m, :2], f[b, :2] - f[m, :2]
            row.append(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        row = list(np.round(row, spec.round_decimals)) if spec.round_decimals is not None else row
        out.append(row + list(f[:, 2]))
    return np.array(out)


def test_vectorised_features_equal_the_frame_by_frame_formulas():
    _, lm, _ = make_recording(2500, seed=5)  # more than one internal chunk
    lm[3, 17, 0] = 0.0  # a zero coordinate: the paper replaces it by 1e-5
    np.testing.assert_allclose(compute_features(lm, PAPER), _slow_features(lm, PAPER), atol=1e-9)
    z0 = lm[:, :, 2] == 0
    clean = compute_features(lm, CLEAN)
    assert np.isnan(clean[:, 18:][z0]).all() and not np.isnan(clean[:, 18:][~z0]).any()


def test_unknown_xy_masks_the_frame_and_clean_zero_depth_does_not():
    _, lm, _ = make_recording(20, seed=6)
    lm[4, 89, 0] = np.nan
    lm[7, 5, 2] = 0.0
    for spec in (PAPER, CLEAN):
        mask = frame_mask(compute_features(lm, spec), spec)
        assert not mask[4] and mask[7] and mask.sum() == 19


def test_standardizer_fits_only_given_frames_and_imputes_after_scaling():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 2, (100, 3))
    groups = np.array(["a"] * 50 + ["b"] * 50)
    s = Standardizer().fit(x[:40], groups[:40])  # only signer a's first 40 frames
    assert set(s.stats) == {"a"}
    mean, std = s.stats["a"]
    np.testing.assert_allclose(mean, x[:40].mean(0))
    np.testing.assert_allclose(std, x[:40].std(0))  # population std, as scipy.stats.zscore
    x[3, 1] = np.nan
    out = s.transform(x, groups)
    assert out[3, 1] == 0.0  # unknown → the fitted mean
    np.testing.assert_allclose(out[50:], (x[50:] - mean) / std)  # unseen group: pooled = a's stats


def _features_before_issue_15(lm: np.ndarray, spec) -> np.ndarray:
    """The vectorised implementation this one replaced (verbatim but for names): the new code must
    give the same bits, nan included."""
    pairs, triples = np.array(DISTANCE_PAIRS), np.array(ANGLE_TRIPLES)
    used = np.unique(np.concatenate([pairs.ravel(), triples.ravel()]))
    xy_cols, nu = np.concatenate([3 * used, 3 * used + 1]), len(used)
    d0, d1 = np.searchsorted(used, pairs[:, 0]), np.searchsorted(used, pairs[:, 1])
    ta, tm, tb = (np.searchsorted(used, triples[:, i]) for i in range(3))
    flat = np.asarray(lm, dtype=np.float64).reshape(len(lm), 300)
    out = np.empty((len(lm), N_FEATURES))
    for lo in range(0, len(lm), 1024):
        f, o = flat[lo : lo + 1024], out[lo : lo + 1024]
        xy = f.take(xy_cols, axis=1)
        if spec.zero_fill is not None:
            np.copyto(xy, spec.zero_fill, where=xy == 0)
        x, y = xy[:, :nu], xy[:, nu:]
        dx, dy = x[:, d0] - x[:, d1], y[:, d0] - y[:, d1]
        np.sqrt(dx * dx + dy * dy, out=o[:, :11])
        ux, uy, vx, vy = x[:, ta] - x[:, tm], y[:, ta] - y[:, tm], x[:, tb] - x[:, tm], y[:, tb] - y[:, tm]
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(ux * vx + uy * vy, np.sqrt((ux * ux + uy * uy) * (vx * vx + vy * vy)), out=o[:, 11:18])
        if spec.round_decimals is not None:
            np.round(o[:, :18], spec.round_decimals, out=o[:, :18])
        z = o[:, 18:]
        np.copyto(z, f[:, 2::3])
        if spec.zero_depth_unknown:
            np.copyto(z, np.nan, where=z == 0)
        elif spec.zero_fill is not None:
            np.copyto(z, spec.zero_fill, where=z == 0)
    return out


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


@pytest.mark.parametrize("spec", [PAPER, CLEAN], ids=["paper", "clean"])
def test_features_are_bit_identical_to_the_previous_implementation(real_recordings, spec):
    lm = np.concatenate([r.landmarks for r in real_recordings])  # nan x/y, nan-free z, zero depth
    assert _same_bits(compute_features(lm, spec), _features_before_issue_15(lm, spec))
    odd = lm[:2100].copy()  # several blocks, the last one short
    odd[5, 17, 0] = odd[7, 2, 1] = 0.0  # zero x, y: filled by the paper spec
    odd[9, 3, 2] = odd[11, 89, :] = -0.0
    odd[13, 10, 0], odd[15, 48, 1], odd[17, 54, 2] = np.inf, -np.inf, np.inf
    odd[19, 51] = odd[19, 48]  # a zero-length side: nan cosine
    with np.errstate(all="ignore"):
        expected = _features_before_issue_15(odd, spec)
        assert _same_bits(compute_features(odd, spec), expected)
        assert _same_bits(compute_features(np.asfortranarray(odd), spec), expected)
        assert _same_bits(compute_features(odd[:1], spec), expected[:1])
    assert compute_features(odd[:0], spec).shape == (0, N_FEATURES)


def test_the_one_frame_path_of_the_stream_gives_the_same_bits(real_recordings):
    from gfe.features import FrameFeatures

    lm = np.concatenate([r.landmarks for r in real_recordings])[::7]
    for spec in (PAPER, CLEAN):
        whole, one = compute_features(lm, spec), FrameFeatures(spec)
        with np.errstate(all="ignore"):
            assert all(_same_bits(one(frame.reshape(300)), row) for frame, row in zip(lm, whole, strict=True))
