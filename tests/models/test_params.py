"""Every parameter of every registered model is declared (type, range, size cap) and checked at
construction: a wrong type or an absurd size is a GfeError naming the parameter, never a
TypeError from deep inside, never an attempt to allocate it (issue #14)."""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest

from gfe.errors import GfeError
from gfe.models import make_model, model_classes
from gfe.models.base import MAX_LAYERS, MAX_UNITS, Param

CLASSES = {
    n: c for n, c in model_classes().items() if all(importlib.util.find_spec(p) for p in c.tags.requires)
}


def _bad_values(spec: Param) -> list:
    """Values a parameter of this spec must refuse: other types, non-finite numbers, out of range."""
    if spec.kind == "any":
        wrong = ["sqrt?", True, [1], {"a": 1}]
        return [v for v in wrong if not spec.accepts(v)]
    bad: list = [[1], {"a": 1}]
    if spec.kind == "bool":
        bad += ["yes", "true", 1, 0, None if not spec.optional else "no"]
    elif spec.kind == "choice":
        bad += ["evil", 3.5, True]
    else:
        bad += ["1", True, float("nan"), float("inf"), -float("inf")]
        if spec.kind == "int":
            bad += [2.5, 8.0]
        if spec.low is not None:
            bad.append(
                spec.low
                if spec.low_open
                else spec.low - (1 if spec.kind == "int" else 1e-9 * max(1, spec.low))
            )
        if spec.high is not None:
            bad.append(
                spec.high
                if spec.high_open
                else (spec.high + 1 if spec.kind == "int" else spec.high * 1.5 + 1)
            )
    if not spec.optional:
        bad.append(None)
    return bad


def _cases():
    for name, cls in CLASSES.items():
        for param, spec in cls.PARAMS.items():
            for value in _bad_values(spec):
                yield pytest.param(name, param, value, id=f"{name}-{param}={value!r}")


def test_every_constructor_parameter_is_declared():
    for name, cls in CLASSES.items():
        params = set(cls(**cls.test_params()).get_params())
        assert params == set(cls.PARAMS), f"{name}: declare every parameter in PARAMS (type, range, cap)"
        signature = inspect.signature(cls)
        for p, spec in cls.PARAMS.items():
            default = signature.parameters[p].default if p in signature.parameters else cls().get_params()[p]
            assert spec.accepts(default), f"{name}.{p}: its default {default!r} must be allowed"


@pytest.mark.parametrize(("model", "param", "value"), list(_cases()))
def test_a_bad_value_is_a_clear_error_naming_the_parameter(model, param, value):
    with pytest.raises(GfeError) as info:
        make_model(model, **{**CLASSES[model].test_params(), param: value})
    message = str(info.value)
    assert f"parameter {param} must be" in message and "\n" not in message


def test_sizes_are_capped_before_anything_is_allocated():
    for model, sizes in {
        "seq-lstm": {"hidden": 200_000},
        "gru": {"layers": MAX_LAYERS + 1},
        "bilstm": {"hidden": MAX_UNITS + 1},
        "tcn": {"channels": 10**9},
        "paper-lstm": {"hidden": 200_000},
        "mlp": {"hidden": 10**7},
        "sk-mlp": {"hidden": 10**7},
        "extra-trees": {"n_estimators": 10**9},
    }.items():
        with pytest.raises(GfeError, match=f"parameter {next(iter(sizes))} must be"):
            make_model(model, **sizes)


def test_what_the_issue_listed():
    with pytest.raises(GfeError, match="parameter activation must be one of"):
        make_model("mlp", activation="evil")
    with pytest.raises(GfeError, match="parameter layers must be an integer"):
        make_model("seq-lstm", layers="1")
    with pytest.raises(GfeError, match="parameter hidden must be an integer"):
        make_model("seq-lstm", hidden=8.5)
    with pytest.raises(GfeError, match="parameter hidden must be an integer"):
        make_model("paper-lstm", hidden=True)


def test_numpy_numbers_and_optional_values_are_accepted():
    make_model("seq-lstm", hidden=np.int64(8), dropout=np.float32(0.1), burn_in=None, grad_clip=None)
    make_model("extra-trees", max_features=0.3)
    make_model("extra-trees", max_features="log2")
    make_model("extra-trees", max_features=None)
    make_model("paper-lstm", batch_size=None, patience=None)
