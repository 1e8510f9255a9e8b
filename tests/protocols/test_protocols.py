"""The two paper protocols: who trains, who tests, what the z-score saw."""

from __future__ import annotations

import numpy as np

from gfe.data import load_dataset
from gfe.features import PAPER
from gfe.protocols import make_pool, paper, paper_holdout


def _pool(folder, expression="topics"):
    return make_pool(load_dataset(folder, [expression]), PAPER)


def test_paper_split_is_a_seeded_shuffled_80_20(synthetic_data):
    pool = _pool(synthetic_data)
    (f0,) = paper(pool, 0)
    (f0b,) = paper(pool, 0)
    (f1,) = paper(pool, 1)
    n = len(pool)
    assert len(f0.test) == int(np.ceil(0.2 * n)) and len(f0.train) + len(f0.test) == n
    assert not set(f0.train) & set(f0.test)
    np.testing.assert_array_equal(f0.test, f0b.test)
    assert not np.array_equal(f0.test, f1.test)
    assert (np.diff(f0.test) > 1).any()  # shuffled, not a block
    np.testing.assert_array_equal(f0.norm_fit, np.arange(n))  # documented transductive z-score


def test_paper_holdout_holds_out_the_last_20_percent(synthetic_data):
    pool = _pool(synthetic_data)
    (f,) = paper_holdout(pool, 0)
    n = len(pool)
    n_test = int(np.ceil(0.2 * n))
    np.testing.assert_array_equal(f.test, np.arange(n - n_test, n))
    np.testing.assert_array_equal(f.train, np.arange(n - n_test))
    assert set(pool.signers[f.test]) == {"b"}  # pooled a then b: the end of b's recording


def test_unusable_frames_are_neither_trained_nor_scored(real_data):
    pool = _pool(real_data, "relative")
    assert pool.n_unusable == 588
    for fold in paper(pool, 3) + paper_holdout(pool, 0):
        used = np.concatenate([fold.train, fold.test])
        assert pool.usable[used].all()
        assert len(used) == len(pool) - 588
        assert np.isfinite(fold.scaled_features(pool)[used]).all()


# ----------------------------------------------------------------- honest protocols: no leakage
from gfe.features import Standardizer  # noqa: E402
from gfe.protocols import PROTOCOLS, blocked_cv, chrono, cross_signer, cross_signer_calibrated  # noqa: E402


def test_every_protocol_keeps_train_and_test_disjoint(synthetic_data):
    pool = _pool(synthetic_data)
    for name, split in PROTOCOLS.items():
        for fold in split(pool, 0):
            assert not set(fold.train) & set(fold.test), name
            assert len(fold.test) > 0 and len(fold.train) > 0, name


def test_chrono_tests_the_last_20_percent_of_each_signer_and_fits_on_training_frames(synthetic_data):
    pool = _pool(synthetic_data)
    (fold,) = chrono(pool, 0)
    for s in ("a", "b"):
        idx = np.flatnonzero(pool.signers == s)
        n_test = int(np.ceil(0.2 * len(idx)))
        np.testing.assert_array_equal(fold.test[pool.signers[fold.test] == s], idx[-n_test:])
        np.testing.assert_array_equal(fold.train[pool.signers[fold.train] == s], idx[:-n_test])
    assert not set(fold.norm_fit) & set(fold.test)
    # The z-score really is fitted on the frames it names: recompute it by hand.
    x = fold.scaled_features(pool)
    a_train = fold.train[pool.signers[fold.train] == "a"]
    mu, sd = pool.features[a_train].mean(0), pool.features[a_train].std(0)
    a_test = fold.test[pool.signers[fold.test] == "a"]
    np.testing.assert_allclose(x[a_test], (pool.features[a_test] - mu) / sd)


def test_cross_signer_never_sees_the_test_signer_unless_calibrated(synthetic_data):
    pool = _pool(synthetic_data)
    folds = cross_signer(pool, 0)
    assert [f.name for f in folds] == ["b→a", "a→b"]
    for f in folds:
        test_signer = f.name[-1]
        assert set(pool.signers[f.test]) == {test_signer}
        assert test_signer not in set(pool.signers[f.train])
        assert test_signer not in set(pool.signers[f.norm_fit])
    for f in cross_signer_calibrated(pool, 0):
        test_signer = f.name[-1]
        own = np.flatnonzero(pool.signers == test_signer)
        x = f.scaled_features(pool)
        expected = (
            Standardizer()
            .fit(pool.features[own], pool.signers[own])
            .transform(pool.features[own], pool.signers[own])
        )
        np.testing.assert_allclose(x[own], expected)  # calibrated on its own (unlabelled) frames


def test_blocked_cv_respects_gaps_and_covers_every_frame_once(synthetic_data):
    pool = _pool(synthetic_data)
    folds = blocked_cv(pool, 0, k=4, gap=10)
    assert len(folds) == 4
    tested = np.concatenate([f.test for f in folds])
    np.testing.assert_array_equal(np.sort(tested), np.arange(len(pool)))
    for f in folds:
        for s in ("a", "b"):
            tr = pool.frame[f.train[pool.signers[f.train] == s]]
            te = pool.frame[f.test[pool.signers[f.test] == s]]
            assert np.abs(tr[:, None] - te[None, :]).min() > 10
        assert not set(f.norm_fit) & set(f.test)
