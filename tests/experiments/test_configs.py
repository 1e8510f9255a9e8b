"""What `gfe train` trains when the command line leaves things out: the recorded default
(`TRAIN_DEFAULT`, the ablation's causal validation pick), whose parameters apply only to its own
model; --features, --param and a config file override it."""

from __future__ import annotations

import json

import pytest

from gfe.errors import GfeError
from gfe.experiments.configs import TRAIN_DEFAULT, model_config, train_settings


def test_nothing_given_trains_the_default_with_its_parameters():
    model, features, params = TRAIN_DEFAULT
    assert train_settings(None, None, None, []) == (model, features, params)
    assert train_settings(None, None, None, [])[2] is not params  # a copy: the default stays as it is


def test_another_model_gets_the_default_features_but_not_the_default_parameters():
    assert train_settings(None, "seq-lstm", None, []) == ("seq-lstm", TRAIN_DEFAULT[1], {})
    assert train_settings(None, "mlp", "clean", ["hidden=8"]) == ("mlp", "clean", {"hidden": 8})


def test_params_override_the_default_ones():
    model, features, params = train_settings(None, None, None, ["augment=0", "hidden=16"])
    assert (model, features) == TRAIN_DEFAULT[:2]
    assert params == {**TRAIN_DEFAULT[2], "augment": 0.0, "hidden": 16}


def test_a_config_file_wins_over_the_default(tmp_path):
    path = tmp_path / "best_config.json"
    path.write_text(json.dumps(model_config("logreg", {"C": 0.5}, "clean")))
    assert train_settings(path, None, None, []) == ("logreg", "clean", {"C": 0.5})
    with pytest.raises(GfeError, match="not --model seq-lstm"):
        train_settings(path, "seq-lstm", None, [])
