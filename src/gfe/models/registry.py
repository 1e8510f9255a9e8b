"""The registry of models, built from the model classes themselves.

Every module of the :mod:`gfe.models` package is imported once; each concrete subclass of
:class:`~gfe.models.base.Model` registered itself when it was defined. Nothing here lists models
by name: a new model class in any module of the package is found.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

from gfe.errors import GfeError
from gfe.models.base import Model

_INFRASTRUCTURE = {"base", "registry"}


@cache
def model_classes() -> dict[str, type[Model]]:
    """Every model name → its class, in the classes' declared order."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name not in _INFRASTRUCTURE:
            importlib.import_module(f"gfe.models.{info.name}")
    ordered = sorted(Model._registry.values(), key=lambda c: (c.tags.order, c.name))
    return {c.name: c for c in ordered}


def model_names(where: Callable[[type[Model]], bool] | None = None) -> list[str]:
    """Names of the registered models (those for which ``where(cls)`` holds)."""
    return [n for n, c in model_classes().items() if where is None or where(c)]


def model_class(name: str, what: str = "model") -> type[Model]:
    """The class of ``name``, or a :class:`GfeError` listing the known names."""
    classes = model_classes()
    if name not in classes:
        raise GfeError(f"unknown {what} {name!r}; choose one of: {', '.join(classes)}")
    return classes[name]


def make_model(name: str, **params) -> Model:
    """A model of ``name`` with ``params`` (unknown names or bad values → one-line GfeError)."""
    cls = model_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise GfeError(f"bad parameters for model {name!r}: {exc}") from None


def default_grid() -> tuple[str, ...]:
    """The models of the default benchmark grid."""
    return tuple(model_names(lambda c: c.tags.default_grid))


def model_label(name: str) -> str:
    """Display label of a model name: its class's label (the name itself when unknown); a
    configuration ``MODEL@NAME`` of ``gfe benchmark --config`` reads "LABEL (tuned: NAME)"."""
    base, at, config = name.partition("@")
    if at:
        return f"{model_label(base)} (tuned: {config})"
    cls = model_classes().get(name.split(" (")[0])
    return cls.tags.label if cls else name


def display_name(name: str) -> str:
    """How benchmark tables and figures name a model: the model's name as typed on the command line
    (``seq-lstm``), and a configuration ``MODEL@NAME`` as :func:`model_label` reads it
    ("seq-lstm (tuned: NAME)")."""
    return model_label(name) if "@" in name else name


def model_colour(name: str) -> str | None:
    """The declared colour of a model name, or ``None`` when unknown."""
    cls = model_classes().get(name.split(" (")[0])
    return cls.tags.colour if cls else None
