"""What the rest of gfe needs of a model, declared by the model class itself.

A model is one class (a subclass of :class:`Model`) with a ``name`` and :class:`Tags` that say
what it can do — causal or offline, streamable, whether it early-stops on validation frames,
which fast inference engine and which ONNX form a bundle of it uses, its display label and
colour, whether it is in the default benchmark grid — and, if it can be tuned, a
:class:`SearchSpace`. Defining the class registers it (:mod:`gfe.models.registry` builds the
registry from the classes), so adding a model is one class in one file; one contract test
(``tests/models/test_contract.py``) runs every registered model through fit → predict → bundle →
stream → ONNX as its tags declare.

A model learns from the frames of its training :class:`~gfe.protocols.Sequence` objects whose
label is not :data:`~gfe.protocols.HIDDEN` and gives the probability of the positive class for
every frame of every recording. Training needs both classes among the learnable frames: a fit
where every label is hidden, or all are one class, raises :class:`GfeError` rather than returning
a constant predictor that would silently score as a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from gfe.errors import GfeError
from gfe.protocols import HIDDEN, Sequence, frames_of

# Called after each training epoch as monitor(epoch, module) with the model's torch module in eval
# mode (experiments record loss curves there; the model never sees what the monitor computes).
Monitor = Callable[[int, Any], None]


@dataclass(frozen=True)
class Tags:
    """What a model class declares about itself (read by experiments, bundles, reports, CLI)."""

    label: str  # display name in tables and figures
    colour: str  # one colour per model in every figure (a matplotlib colour)
    causal: bool = True  # the output at frame t depends on frames <= t only
    streamable: bool = False  # a bundle of it labels a live stream frame by frame (gfe stream)
    uses_validation: bool = False  # early-stops on validation frames carved from training frames
    bundle: bool = False  # can be saved as a bundle (gfe train): it has a torch module
    engine: str | None = None  # the fast float64 engine of gfe.deploy.engines; None: torch in float64
    onnx: str | None = None  # ONNX form of gfe.deploy.onnx ("frame", "lstm-step", "gru-step"); None: none
    default_grid: bool = False  # in the default grid of `gfe benchmark`
    tunable: bool = False  # declares a search space for `gfe tune` (the contract test checks both agree)
    requires: tuple[str, ...] = ()  # optional packages it needs (checked when it is built)
    multi_expression: bool = False  # one model for every expression (a head each), trained on all recordings
    order: int = 100  # position in listings (help texts, tables)
    about: str = ""  # one line for listings


@dataclass(frozen=True)
class SearchSpace:
    """What `gfe tune` searches for a model: Optuna distributions and fixed parameters."""

    search: dict  # parameter → optuna distribution
    fixed: dict = field(default_factory=dict)
    warmup_steps: int = 5  # epochs before the median pruner may stop a trial
    report_every: int = 1  # report the validation F1 to the pruner every N epochs
    epochs_from_early_stopping: bool = False  # final config: epochs = the trial's best epoch, no patience


class Model:
    """Base class of every model. Subclasses set ``name`` and ``tags``, take their
    hyper-parameters as keyword arguments (declared in :attr:`PARAMS`: type, range, size cap —
    checked at construction with a :class:`GfeError` naming the parameter), list them in
    ``_params`` (or override :meth:`get_params`) and implement
    :meth:`fit` and :meth:`predict_proba`. Bundle models also implement :meth:`build_module` and
    :meth:`bundle_inputs`."""

    name: ClassVar[str] = ""
    tags: ClassVar[Tags]
    _params: ClassVar[tuple[str, ...]] = ()
    PARAMS: ClassVar[dict[str, Param]] = {}  # what each parameter may be (checked at construction)
    _registry: ClassVar[dict[str, type[Model]]] = {}
    # Where torch models train ("cpu", "cuda", "cuda:N"; see gfe.models.device). Not a parameter:
    # results and bundles do not depend on it (weights always come back to the CPU).
    device: str = "cpu"

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):  # a concrete model (abstract bases have no name)
            if cls.name in Model._registry and Model._registry[cls.name] is not cls:
                raise TypeError(f"two model classes are named {cls.name!r}")
            Model._registry[cls.name] = cls

    # -- declared facts
    @classmethod
    def search_space(cls) -> SearchSpace | None:
        """The space `gfe tune` searches; ``None``: not tunable."""
        return None

    @classmethod
    def test_params(cls) -> dict:
        """Small parameters that train in well under a second on a few hundred frames (for the
        contract test and quick smoke runs), as aeon's and sktime's ``get_test_params``."""
        return {}

    def uses_validation(self) -> bool:
        """Whether this configuration early-stops on validation frames (the benchmark, tune and
        train then carve a validation part from the training frames)."""
        return self.tags.uses_validation

    @classmethod
    def check(cls, **values) -> None:
        """Check parameter values against :attr:`PARAMS` (a :class:`GfeError` naming the parameter)."""
        check_params(cls.name, cls.PARAMS, values)

    def get_params(self) -> dict:
        """The keyword parameters that rebuild this model: ``type(m)(**m.get_params())``."""
        return {k: getattr(self, k) for k in self._params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}[{self.name}]({args})"

    # -- learning
    def fit(
        self,
        train: list[Sequence],
        seed: int,
        val: list[Sequence] | None = None,
        monitor: Monitor | None = None,
    ) -> Model:
        """Learn from the frames with ``y != HIDDEN``. ``val`` (same recordings, other frames
        labelled) may drive early stopping; it is carved from training frames only. ``monitor``
        is called after each training epoch (models trained by epochs). Returns the model."""
        self._fit(train, seed, val, monitor)
        return self

    def _fit(self, train: list[Sequence], seed: int, val, monitor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_proba(self, seqs: list[Sequence]) -> list[np.ndarray]:  # pragma: no cover - abstract
        """Probability of the positive class for every frame of every recording."""
        raise NotImplementedError

    # -- bundles (models with tags.bundle)
    def build_module(self, n_inputs: int):  # pragma: no cover - abstract
        """A fresh torch module of this configuration taking ``n_inputs`` inputs per frame."""
        raise GfeError(f"model {self.name!r} cannot be saved as a bundle")

    def bundle_inputs(self) -> dict:
        """What a bundle stores about the inputs beyond the scaled features: ``{"delta_scale":
        list or None}`` (models trained with frame-to-frame deltas store their scale)."""
        return {"delta_scale": None}


# ------------------------------------------------------------------------------------ helpers
# Size caps of every model parameter: far above anything that trains here (the search spaces stay
# well inside them), far below what would exhaust a machine's memory when a module is built.
MAX_UNITS = 4096  # hidden units, channels
MAX_LAYERS = 8
MAX_FRAMES = 100_000  # chunk length, burn-in (a recording has ~1 500-5 000 frames)
MAX_EPOCHS = 100_000
MAX_COUNT = 1_000_000  # batch sizes, iterations, trees, leaves


@dataclass(frozen=True)
class Param:
    """What a model parameter may be. ``kind``: "int" (an integer, never a bool), "float" (a
    finite number), "bool", "choice" (one of ``choices``) or "any" (one of ``alternatives``);
    ``low``/``high`` bound numbers (``low_open``/``high_open``: the bound itself excluded);
    ``optional``: ``None`` is allowed too."""

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    optional: bool = False
    alternatives: tuple[Param, ...] = ()

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if self.kind == "any":
            return any(a.accepts(value) for a in self.alternatives)
        if self.kind == "bool":
            return isinstance(value, bool | np.bool_)
        if self.kind == "choice":
            return (
                isinstance(value, str | int | float) and not isinstance(value, bool) and value in self.choices
            )
        integer = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
        number = integer or isinstance(value, float | np.floating)
        if not (integer if self.kind == "int" else number) or not (integer or math.isfinite(value)):
            return False
        low_ok = self.low is None or (value > self.low if self.low_open else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return bool(low_ok and high_ok)

    def describe(self) -> str:
        if self.kind == "any":
            text = " or ".join(a.describe() for a in self.alternatives)
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = "an integer" if self.kind == "int" else "a number"
            closed = not (self.low_open or self.high_open)
            if self.low is not None and self.high is not None and closed:
                text += f" from {self.low:g} to {self.high:g}"
            else:
                lo = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
                hi = None if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
                text += "".join(f" {b}" for b in (lo, hi) if b)
        return text + (" (or null)" if self.optional else "")


def check_params(model: str, specs: dict[str, Param], values: dict[str, Any]) -> None:
    """A :class:`GfeError` naming the first parameter of ``values`` that its spec refuses."""
    for name, spec in specs.items():
        if name in values and not spec.accepts(values[name]):
            raise GfeError(f"{model}: parameter {name} must be {spec.describe()}, got {values[name]!r}")


def check_positive(value: Any, what: str, integer: bool = True) -> None:
    """A :class:`GfeError` unless ``value`` is a positive (finite) integer (or number)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    integral = isinstance(value, int | np.integer)
    ok = not isinstance(value, bool) and isinstance(value, kinds) and (integral or math.isfinite(value))
    ok = ok and value > 0
    if not ok:
        raise GfeError(f"{what} must be a positive {'integer' if integer else 'number'}, got {value!r}")


def training_frames(train: list[Sequence], name: str) -> tuple[np.ndarray, np.ndarray]:
    """The learnable frames of ``train`` as (x, y), or a :class:`GfeError` saying why none fit."""
    if not train:
        raise GfeError(f"{name}: no training recordings given")
    if not any(s.train_mask.any() for s in train):
        raise GfeError(f"{name}: every training label is hidden ({HIDDEN}); there is nothing to learn from")
    x, y = frames_of(train)
    classes = np.unique(y)
    if not set(classes.tolist()) <= {0, 1}:
        raise GfeError(f"{name}: training labels must be 0, 1 or hidden ({HIDDEN}); got {classes.tolist()}")
    if len(classes) < 2:
        raise GfeError(
            f"{name}: all {len(y)} learnable frames are of class {int(classes[0])}; "
            "a classifier needs frames of both classes to learn from"
        )
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise GfeError(
            f"{name}: {int(bad.sum())} learnable frames have unknown (non-finite) features; "
            "hide their labels or impute their features"
        )
    return x, y


def frame_inputs(seq: Sequence, n_features: int, name: str) -> np.ndarray:
    """A recording's features as float64, checked for width; non-finite values read as 0 (the mean
    in z-scored units — such frames are never scored)."""
    x = np.asarray(seq.x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise GfeError(f"{name}: fitted on {n_features} features, got frames of shape {x.shape}")
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def validation_frames(val: list[Sequence], n_features: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The labelled, usable frames of the validation sequences as (x, y); empty when none."""
    xs, ys = [], []
    for s in val:
        m = s.train_mask & (np.ones(len(s.y), bool) if s.usable is None else np.asarray(s.usable, bool))
        xs.append(frame_inputs(s, n_features, name)[m])
        ys.append(np.asarray(s.y)[m])
    if not xs:
        return np.empty((0, n_features)), np.empty(0, dtype=np.int64)
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


class FrameModel(Model):
    """A classifier of single frames: fitted state check and per-recording output."""

    def _check_fitted(self) -> int:
        n = getattr(self, "n_features_", None)
        if n is None:
            raise GfeError(f"{self.name}: call fit before predict_proba")
        return n

    def predict_proba(self, seqs: list[Sequence]) -> list[np.ndarray]:
        n = self._check_fitted()
        out = []
        for s in seqs:
            if len(s.x) == 0:
                out.append(np.empty(0, dtype=np.float64))
                continue
            p = np.asarray(self._sequence_proba(s, n), dtype=np.float64)
            out.append(np.clip(p, 0.0, 1.0))
        return out

    def _sequence_proba(self, seq: Sequence, n_features: int) -> np.ndarray:
        """Frame classifiers read each frame alone; window models override this."""
        return self._proba(frame_inputs(seq, n_features, self.name))

    def _proba(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
