"""The aligned-face feature specs: invariant to where the face is, streaming equals batch, the
template comes from training frames and travels in bundles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gfe.data.synthetic import make_recording
from gfe.errors import GfeError
from gfe.features import ALIGNED, ALIGNED_VEL, CLEAN, spec_by_name
from gfe.features.aligned import POSE_NAMES, Template


@pytest.fixture(scope="module")
def recording():
    ts, lm, y = make_recording(150, seed=3)
    lm = lm.copy()
    lm[40, 17, 0] = np.nan  # a frame with unknown x/y
    lm[41:43, :, 2] = 0.0  # lost depth
    return ts, lm, y


def _moved(lm: np.ndarray, angle: float, scale: float, shift=(35.0, -20.0)) -> np.ndarray:
    """The same faces, rotated, scaled and shifted in the image (depth untouched)."""
    out = lm.copy()
    z = (lm[:, :, 0] + 1j * lm[:, :, 1]) * scale * np.exp(1j * angle) + complex(*shift)
    out[:, :, 0], out[:, :, 1] = z.real, z.imag
    return out


def test_the_face_is_aligned_whatever_its_place_size_and_roll(recording):
    _, lm, _ = recording
    template = ALIGNED.fit(lm)
    a = ALIGNED.compute(lm, template)
    b = ALIGNED.compute(_moved(lm, 0.3, 1.4), template)
    xy = slice(0, 200)  # aligned x and y of the 100 landmarks
    np.testing.assert_allclose(b[:, xy], a[:, xy], atol=1e-9, equal_nan=True)
    size = ALIGNED.feature_names().index("log_size")
    assert np.nanmax(np.abs(b[:, size] - a[:, size] - np.log(1.4))) < 1e-9  # the pose channels keep it


def test_unknown_values_stay_unknown(recording):
    _, lm, _ = recording
    f = ALIGNED.compute(lm, ALIGNED.fit(lm))
    assert f.shape == (150, ALIGNED.n_features) == (150, 300 + len(POSE_NAMES))
    usable = ALIGNED.usable(f)
    assert not usable[40] and usable[39] and usable[41]  # unknown x/y: the frame is unusable
    assert np.isnan(f[41:43, 200:300]).all()  # lost depth: unknown relative depth, not a number
    assert (usable == CLEAN.usable(CLEAN.compute(lm))).all()  # the same frames as the paper's features


@pytest.mark.parametrize("spec", [ALIGNED, ALIGNED_VEL], ids=lambda s: s.name)
def test_streaming_gives_the_batch_values(recording, spec):
    _, lm, _ = recording
    template = spec.fit(lm)
    batch = spec.compute(lm, template)
    frames = spec.frames(template)
    streamed = np.stack([frames(lm[i].reshape(300)).copy() for i in range(len(lm))])
    np.testing.assert_allclose(streamed, batch, atol=1e-12, equal_nan=True)
    frames.reset()
    np.testing.assert_allclose(frames(lm[0].reshape(300)), batch[0], atol=1e-12, equal_nan=True)


def test_velocities_are_frame_differences_and_unknown_after_a_gap(recording):
    _, lm, _ = recording
    template = ALIGNED_VEL.fit(lm)
    f = ALIGNED_VEL.compute(lm, template)
    k = ALIGNED_VEL.n_static
    np.testing.assert_allclose(f[10, k:], f[10, :k] - f[9, :k], atol=1e-12)
    assert np.isnan(f[0, k:]).all() and np.isnan(f[41, k:]).all()  # first frame, frame after the unknown one
    frames = ALIGNED_VEL.frames(template)
    frames(lm[0].reshape(300))
    frames.gap()
    assert np.isnan(frames(lm[1].reshape(300))[k:]).all()


def test_the_template_is_fitted_without_labels_and_round_trips(recording):
    _, lm, _ = recording
    t1, t2 = ALIGNED.fit(lm), ALIGNED.fit(lm)
    np.testing.assert_array_equal(t1.points, t2.points)  # deterministic
    again = ALIGNED.state_from_dict(json.loads(json.dumps(ALIGNED.state_to_dict(t1))))
    np.testing.assert_array_equal(again.points, t1.points)
    with pytest.raises(GfeError, match="face template"):
        ALIGNED.state_from_dict({"x": [0.0] * 3, "y": [0.0] * 3, "rigid": list(t1.rigid)})
    with pytest.raises(GfeError, match="cannot fit"):
        ALIGNED.fit(np.full((5, 100, 3), np.nan))
    assert isinstance(t1, Template) and spec_by_name("aligned-vel") is ALIGNED_VEL


def test_folds_refit_the_template_on_their_training_frames(synthetic_data):
    from gfe.data import load_dataset
    from gfe.protocols import chrono, make_pool, pool_features

    pool = make_pool(load_dataset(synthetic_data, ["topics"]), ALIGNED)
    (fold,) = chrono(pool, 0)
    features, template = pool_features(pool, fold.train)
    expected = ALIGNED.fit(pool.landmarks[fold.train])
    np.testing.assert_array_equal(template.points, expected.points)
    assert features.shape == pool.features.shape and (ALIGNED.usable(features) == pool.usable).all()
    x = fold.scaled_features(pool)
    assert np.isfinite(x).all()  # unknown values imputed with the mean after scaling


def test_a_bundle_keeps_its_template_and_streams_like_it_predicts(synthetic_data, tmp_path):
    from gfe.deploy import Detector, label_recording, load_bundle, train_bundle

    bundle = train_bundle(synthetic_data, "negative", "seq-lstm", features="aligned-vel",
                          params={"hidden": 6, "max_epochs": 2})  # fmt: skip
    loaded = load_bundle(bundle.save(tmp_path / "b"))
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    assert cfg["feature_spec"]["name"] == "aligned-vel" and len(cfg["feature_state"]["x"]) == 100
    ts, lm, _ = make_recording(80, seed=9)
    offline = label_recording(loaded, ts, lm).probability
    det = Detector(loaded)
    streamed = np.array([det.update(lm[i], ts[i]) for i in range(len(lm))], dtype=float)
    np.testing.assert_allclose(streamed, offline, atol=1e-6)
    cfg["feature_state"] = {"x": [1.0], "y": [1.0], "rigid": []}
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(GfeError, match="feature_state"):
        load_bundle(tmp_path / "b")


@pytest.mark.realdata
def test_real_recordings_align(real_recordings):
    lm = np.concatenate([r.landmarks for r in real_recordings if r.expression == "relative"])
    f = ALIGNED.compute(lm, ALIGNED.fit(lm))
    usable = ALIGNED.usable(f)
    assert usable.sum() == len(lm) - 588  # a_relative's 588 frames of unknown x/y
    rms = np.sqrt(np.nanmean(f[usable][:, :200] ** 2))
    assert 0.5 < rms < 2.0  # face-size-free units: the template has unit RMS radius over its rigid points


@pytest.mark.parametrize("spec", [ALIGNED, ALIGNED_VEL], ids=lambda s: s.name)
def test_blocks_give_the_bits_of_one_whole_array(spec):
    """compute works in blocks of BLOCK frames (speed); the result is bit for bit that of the
    whole array at once, whatever the length (a last block of one frame is joined to the one before)."""
    from gfe.features import aligned

    _, lm, _ = make_recording(2 * aligned.BLOCK + 1, seed=3)
    lm[7, 3, 0] = np.nan  # an unknown frame inside the first block
    template = spec.fit(lm)
    for n in (1, 2, aligned.BLOCK, aligned.BLOCK + 1, aligned.BLOCK + 2, 2 * aligned.BLOCK + 1):
        static = aligned._static_features(lm[:n], template, spec)
        whole = np.concatenate([static, aligned.velocities(static)], 1) if spec.velocities else static
        got = spec.compute(lm[:n], template)
        assert got.shape == whole.shape and np.array_equal(got.view(np.int64), whole.view(np.int64)), n
