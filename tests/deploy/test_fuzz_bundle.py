"""Fuzzing bundle configs: a config.json of any content loads (and then runs), or fails with one
BundleError line — never another exception (issue #14)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gfe.deploy.bundle import BundleError, load_bundle
from gfe.deploy.training import train_bundle
from gfe.errors import GfeError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
odd_scalar = st.sampled_from([0, -1, 1, 2**31, 10**9, 8.5, -0.0, True, False, None, "1", "", "evil", [], {}])


@pytest.fixture(scope="module")
def bundles(synthetic_data_session, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    small = {"mlp": {"epochs": 1}, "seq-lstm": {"hidden": 4, "max_epochs": 1}}
    for model, params in small.items():
        train_bundle(synthetic_data_session, "negative", model, params=params).save(root / model)
    return {m: root / m for m in small}


def _paths(obj, prefix=()):
    """Every path (tuple of keys/indices) into a JSON value, lists sampled at their first items."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:2]):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_config(draw, config: dict):
    cfg = json.loads(json.dumps(config))
    paths = [p for p in _paths(cfg) if p]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = cfg
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(st.one_of(odd_scalar, odd_scalar, json_value))
        except (KeyError, IndexError, TypeError):  # an earlier mutation changed the path
            continue
    return cfg


def _check(folder: Path) -> None:
    try:
        bundle = load_bundle(folder)
    except GfeError as exc:
        assert isinstance(exc, BundleError) and "\n" not in str(exc)
        return
    x = np.zeros((3, bundle.config["n_inputs"]))
    assert bundle.engine().run(x).shape == (3,)


@FUZZ
@given(data=st.data(), model=st.sampled_from(["mlp", "seq-lstm"]))
def test_a_mutated_config_loads_or_is_one_bundle_error(bundles, data, model):
    base = json.loads((bundles[model] / "config.json").read_text())
    cfg = data.draw(mutated_config(base))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "b"
        shutil.copytree(bundles[model], folder)
        (folder / "config.json").write_text(json.dumps(cfg))
        _check(folder)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), json_value.map(lambda v: json.dumps(v).encode())))
def test_a_config_of_any_bytes_is_one_bundle_error(bundles, raw):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "b"
        shutil.copytree(bundles["mlp"], folder)
        (folder / "config.json").write_bytes(raw)
        with pytest.raises(BundleError):
            load_bundle(folder)
