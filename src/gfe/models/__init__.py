"""Folds → models: every model class, its declared tags, and the registry built from them.

``make_model(name, **params)`` builds a model; ``model_classes()`` lists them. Families, one
module each: :mod:`~gfe.models.frame` (the paper's LSTM, MLP and pruned MLP), :mod:`~gfe.models.sklearn`
(classic baselines), :mod:`~gfe.models.rocket` (MiniRocket), :mod:`~gfe.models.recurrent`
(seq-lstm, gru, bilstm) and :mod:`~gfe.models.tcn`.
"""

from gfe.models.base import FrameModel, Model, SearchSpace, Tags
from gfe.models.registry import (
    default_grid,
    display_name,
    make_model,
    model_class,
    model_classes,
    model_colour,
    model_label,
    model_names,
)

__all__ = [
    "FrameModel",
    "Model",
    "SearchSpace",
    "Tags",
    "default_grid",
    "display_name",
    "make_model",
    "model_class",
    "model_classes",
    "model_colour",
    "model_label",
    "model_names",
]
