"""Model bundles: a trained model saved as a self-describing folder, and its inference engine.

A bundle folder holds two files:

* ``weights.safetensors`` — the module's tensors (float32), no pickled code;
* ``config.json`` — everything else: model name and hyper-parameters, the feature spec (with its
  ``version``), the normalisation statistics (per training signer and pooled), the scale of the
  delta inputs, the decision threshold, the expression, what the model was trained on (files and
  their sha256, frames used, validation part, training history), package versions, and the sha256
  of the weights file.

:func:`load_bundle` validates all of it and raises :class:`BundleError` (one line naming the
problem) for a missing field, a feature spec that differs from this gfe's spec of the same name, a
weights file that does not match its checksum (corrupt, truncated or replaced), tensors of the
wrong name or shape, or a bundle for another expression than the one asked for.

**Inference.** :meth:`Bundle.engine` turns the weights into a float64 NumPy mirror of the module
(``paper-lstm`` — with float32 gate non-linearities, see :class:`FrameLSTMEngine` —, ``mlp``,
``seq-lstm``, ``gru``) or a float64 copy of the torch module (``tcn``, ``bilstm``). The same engine
labels whole recordings (:mod:`gfe.labelling`) and steps frame by frame (:mod:`gfe.stream`), so
streamed and offline outputs agree to ~1e-12 (~1e-7 for ``paper-lstm``). The mirrors differ from
the float32 torch modules used in training by float32 rounding only (~1e-7).

**Inputs.** Features are z-scored with the chosen statistics (unknown zero-depth values → 0, the
mean); temporal models trained with ``deltas`` also get ``(s_t - s_{t-1}) / delta_scale``, zero on
the first frame and wherever frame t or t-1 is unusable (:func:`model_inputs`), exactly as in
training (:func:`gfe.temporal.delta_features`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gfe import EXPRESSIONS
from gfe.errors import GfeError
from gfe.features import N_FEATURES, SPECS, FeatureSpec

FORMAT = "gfe-bundle"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
FRAME_MODELS = ("paper-lstm", "mlp")
STEP_MODELS = ("seq-lstm", "gru")  # causal RNNs with a NumPy step
TORCH_MODELS = ("tcn", "bilstm")  # run through a float64 copy of the torch module
BUNDLE_MODELS = FRAME_MODELS + STEP_MODELS + TORCH_MODELS
ONNX_MODELS = ("paper-lstm", "mlp", "seq-lstm", "gru")

REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "format_version": int,
    "expression": str,
    "model": str,
    "params": dict,
    "causal": bool,
    "n_features": int,
    "n_inputs": int,
    "deltas": bool,
    "delta_scale": (list, type(None)),
    "feature_spec": dict,
    "normalisation": dict,
    "threshold": (int, float),
    "seed": int,
    "training": dict,
    "weights": dict,
    "versions": dict,
}


class BundleError(GfeError):
    """A bundle cannot be used: missing, malformed, corrupt, or made for something else."""


# --------------------------------------------------------------------------------------- inputs
def scale_features(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """z-score with given statistics; unknown values (nan: lost depth in the clean spec, or a
    masked frame) become 0, the fitted mean — as :meth:`gfe.features.Standardizer.transform`."""
    s = np.subtract(features, mean)
    s /= std
    np.copyto(s, 0.0, where=np.isnan(s))
    return s


def usable_frames(features: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """:func:`gfe.features.frame_mask`, and no infinite feature (e.g. an ``inf`` coordinate)."""
    from gfe.features import frame_mask

    return frame_mask(features, spec) & ~np.isinf(features).any(axis=1)


def model_inputs(scaled: np.ndarray, usable: np.ndarray, delta_scale: np.ndarray | None) -> np.ndarray:
    """Scaled features, plus scaled deltas when the model was trained with them (float64)."""
    if delta_scale is None:
        return scaled
    d = np.zeros_like(scaled)
    if len(scaled) > 1:
        np.subtract(scaled[1:], scaled[:-1], out=d[1:])
        d[1:][~(usable[1:] & usable[:-1])] = 0.0
    d /= delta_scale
    return np.concatenate([scaled, d], axis=1)


def _sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function via tanh (no overflow warnings): σ(x) = ½ tanh(x/2) + ½."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _sigmoid_scalar(z: float) -> float:
    return 0.5 * math.tanh(0.5 * float(z)) + 0.5


def _probability_head(weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, float]:
    """softmax(W h + b)[1] = σ((w₁ - w₀)·h + b₁ - b₀): one dot product instead of two logits."""
    return weight[1] - weight[0], float(bias[1] - bias[0])


# -------------------------------------------------------------------------------------- engines
class Engine:
    """Float64 inference of one bundle's model.

    ``run(x)`` labels a whole sequence of model inputs (n, n_inputs) from the zero state;
    ``step(x, state)`` labels one frame and returns ``(probability, new_state)``. For causal
    models, stepping through a sequence gives ``run``'s outputs.
    """

    causal: bool = True
    n_inputs: int = 0

    def run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def initial_state(self) -> Any:
        return None

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


_CHUNK = 4096


class FrameLSTMEngine(Engine):
    """The paper's LSTM: each frame its own length-1 sequence from the zero state, so the forget
    gate and the recurrent weights never matter: c = i·g, h = o·tanh(c).

    The input projection is float64; the gate non-linearities run in float32 (the precision the
    model was trained in; ~1e-7), which makes batch labelling ~15 % faster. They are
    element-wise, so one frame and a whole recording still give the same values."""

    def __init__(self, w: dict[str, np.ndarray], hidden: int) -> None:
        h = hidden
        wih = w["lstm.weight_ih_l0"].astype(np.float64)
        b = w["lstm.bias_ih_l0"].astype(np.float64) + w["lstm.bias_hh_l0"]
        rows = np.r_[0:h, 3 * h : 4 * h, 2 * h : 3 * h]  # torch's gate order is i, f, g, o → i, o, g
        scale = np.r_[np.full(2 * h, 0.5), np.ones(h)]  # σ(x) = ½ tanh(x/2) + ½ for i and o
        self.w_t = np.ascontiguousarray((wih[rows] * scale[:, None]).T)
        self.b = b[rows] * scale
        head_w, self.head_b = _probability_head(w["fc.weight"].astype(np.float64), w["fc.bias"])
        self.head_w = 0.5 * head_w  # h = ½ (tanh_o + 1) tanh(c): the ½ is folded in here
        self.h = h
        self.n_inputs = wih.shape[1]

    def run(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        h, n = self.h, min(len(x), _CHUNK)
        g64 = np.empty((n, 3 * h))
        t = np.empty((n, 3 * h), dtype=np.float32)
        c = np.empty((n, h), dtype=np.float32)
        for lo in range(0, len(x), _CHUNK):
            m = min(_CHUNK, len(x) - lo)
            gm, tm, cm = g64[:m], t[:m], c[:m]
            np.matmul(x[lo : lo + m], self.w_t, out=gm)
            gm += self.b
            np.tanh(gm, out=tm, dtype=np.float32, casting="same_kind")
            np.add(tm[:, :h], 1.0, out=cm)  # 2 σ(i)
            cm *= tm[:, 2 * h :]
            cm *= 0.5  # c = σ(i) tanh(g)
            np.tanh(cm, out=cm)
            to = tm[:, h : 2 * h]
            to += 1.0  # 2 σ(o)
            cm *= to
            _sigmoid(cm @ self.head_w + self.head_b, out=out[lo : lo + m])
        return out

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:
        return float(self.run(x[None])[0]), None


class MLPEngine(Engine):
    """One hidden layer (sigmoid, tanh or relu) and the probability head."""

    def __init__(self, w: dict[str, np.ndarray], activation: str) -> None:
        self.w_t = np.ascontiguousarray(w["hidden.weight"].astype(np.float64).T)
        self.b = w["hidden.bias"].astype(np.float64)
        self.activation = activation
        self.head_w, self.head_b = _probability_head(w["out.weight"].astype(np.float64), w["out.bias"])
        self.n_inputs = self.w_t.shape[0]

    def run(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for lo in range(0, len(x), _CHUNK):
            z = x[lo : lo + _CHUNK] @ self.w_t
            z += self.b
            if self.activation == "sigmoid":
                _sigmoid(z, out=z)
            elif self.activation == "tanh":
                np.tanh(z, out=z)
            else:
                np.maximum(z, 0.0, out=z)
            _sigmoid(z @ self.head_w + self.head_b, out=out[lo : lo + _CHUNK])
        return out

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:
        return float(self.run(x[None])[0]), None


class LSTMEngine(Engine):
    """A (multi-layer) unidirectional LSTM and the probability head, state ``[(h, c)] per layer``.

    Gates are reordered to (i, f, o, g) and the i, f, o rows pre-multiplied by ½, so one ``tanh``
    over all four gates gives the sigmoids as ½ tanh + ½ (exact: halving is exact in floating
    point)."""

    def __init__(self, w: dict[str, np.ndarray], hidden: int, layers: int, prefix: str = "rnn") -> None:
        h = hidden
        rows = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]  # i, f, g, o → i, f, o, g
        scale = np.r_[np.full(3 * h, 0.5), np.ones(h)]
        self.layers = []
        for k in range(layers):
            wih = w[f"{prefix}.weight_ih_l{k}"].astype(np.float64)[rows] * scale[:, None]
            whh = w[f"{prefix}.weight_hh_l{k}"].astype(np.float64)[rows] * scale[:, None]
            b = (w[f"{prefix}.bias_ih_l{k}"].astype(np.float64) + w[f"{prefix}.bias_hh_l{k}"])[rows] * scale
            self.layers.append((np.ascontiguousarray(wih), np.ascontiguousarray(wih.T), whh, b))
        self.head_w, self.head_b = _probability_head(w["head.weight"].astype(np.float64), w["head.bias"])
        self.h = h
        self.n_inputs = self.layers[0][0].shape[1]

    def initial_state(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.zeros(self.h), np.zeros(self.h)) for _ in self.layers]

    def _cell(self, g: np.ndarray, c: np.ndarray, h_out: np.ndarray) -> None:
        """g: pre-activations (4H,) → updates c in place, writes h into h_out."""
        n = self.h
        np.tanh(g, out=g)
        s = g[: 3 * n]
        s *= 0.5
        s += 0.5
        c *= s[n : 2 * n]
        c += s[:n] * g[3 * n :]
        np.tanh(c, out=h_out)
        h_out *= s[2 * n : 3 * n]

    def run(self, x: np.ndarray) -> np.ndarray:
        seq = x
        for _wih, wih_t, whh, b in self.layers:
            hs = np.empty((len(seq), self.h))
            h, c = np.zeros(self.h), np.zeros(self.h)
            g = np.empty(4 * self.h)
            for lo in range(0, len(seq), _CHUNK):
                pre = seq[lo : lo + _CHUNK] @ wih_t
                pre += b
                for t in range(len(pre)):
                    np.add(pre[t], whh @ h, out=g)
                    h = hs[lo + t]
                    self._cell(g, c, h)
            seq = hs
        return _sigmoid(seq @ self.head_w + self.head_b)

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:
        new = []
        inp = x
        for (wih, _, whh, b), (h, c) in zip(self.layers, state, strict=True):
            g = wih @ inp
            g += b
            g += whh @ h
            c = c.copy()
            h = np.empty(self.h)
            self._cell(g, c, h)
            new.append((h, c))
            inp = h
        return _sigmoid_scalar(inp @ self.head_w + self.head_b), new


class GRUEngine(Engine):
    """A (multi-layer) GRU and the probability head, state ``[h] per layer``. torch's gates:
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h. The r and z rows are pre-multiplied by ½ (σ via tanh)."""

    def __init__(self, w: dict[str, np.ndarray], hidden: int, layers: int, prefix: str = "rnn") -> None:
        h = hidden
        scale = np.r_[np.full(2 * h, 0.5), np.ones(h)]
        self.layers = []
        for k in range(layers):
            wih = w[f"{prefix}.weight_ih_l{k}"].astype(np.float64) * scale[:, None]
            whh = w[f"{prefix}.weight_hh_l{k}"].astype(np.float64) * scale[:, None]
            bih = w[f"{prefix}.bias_ih_l{k}"].astype(np.float64) * scale
            bhh = w[f"{prefix}.bias_hh_l{k}"].astype(np.float64) * scale
            bx = bih.copy()
            bx[: 2 * h] += bhh[: 2 * h]  # r, z: both biases on the input side
            bh = np.zeros(3 * h)
            bh[2 * h :] = bhh[2 * h :]  # n: b_hn stays inside r · (W_hn h + b_hn)
            self.layers.append((np.ascontiguousarray(wih), np.ascontiguousarray(wih.T), whh, bx, bh))
        self.head_w, self.head_b = _probability_head(w["head.weight"].astype(np.float64), w["head.bias"])
        self.h = h
        self.n_inputs = self.layers[0][0].shape[1]

    def initial_state(self) -> list[np.ndarray]:
        return [np.zeros(self.h) for _ in self.layers]

    def _cell(self, px: np.ndarray, ph: np.ndarray, h: np.ndarray, h_out: np.ndarray) -> None:
        n = self.h
        rz = px[: 2 * n] + ph[: 2 * n]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        cand = rz[:n] * ph[2 * n :]
        cand += px[2 * n :]
        np.tanh(cand, out=cand)
        np.subtract(h, cand, out=h_out)
        h_out *= rz[n:]
        h_out += cand

    def run(self, x: np.ndarray) -> np.ndarray:
        seq = x
        for _, wih_t, whh, bx, bh in self.layers:
            hs = np.empty((len(seq), self.h))
            h = np.zeros(self.h)
            for lo in range(0, len(seq), _CHUNK):
                pre = seq[lo : lo + _CHUNK] @ wih_t
                pre += bx
                for t in range(len(pre)):
                    ph = whh @ h
                    ph += bh
                    out = hs[lo + t]
                    self._cell(pre[t], ph, h, out)
                    h = out
            seq = hs
        return _sigmoid(seq @ self.head_w + self.head_b)

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:
        new = []
        inp = x
        for (wih, _, whh, bx, bh), h in zip(self.layers, state, strict=True):
            px = wih @ inp
            px += bx
            ph = whh @ h
            ph += bh
            out = np.empty(self.h)
            self._cell(px, ph, h, out)
            new.append(out)
            inp = out
        return _sigmoid_scalar(inp @ self.head_w + self.head_b), new


class TorchEngine(Engine):
    """Any temporal module of :mod:`gfe.temporal`, run as a float64 copy (TCN, BiLSTM)."""

    def __init__(self, module, causal: bool, n_inputs: int) -> None:
        self.module = module.double().eval()
        self.causal = causal
        self.n_inputs = n_inputs

    def run(self, x: np.ndarray) -> np.ndarray:
        import torch

        if len(x) == 0:
            return np.zeros(0)
        with torch.inference_mode():
            logits, _ = self.module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None])
            return torch.softmax(logits[0], dim=-1)[:, 1].numpy().copy()

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:
        import torch

        if not self.causal:
            raise BundleError("this model reads the whole recording (not causal): it cannot stream")
        with torch.inference_mode():
            step = torch.tensor(np.asarray(x, dtype=np.float64))[None, None]  # a copy: x is a reused buffer
            logits, state = self.module(step, state)
            return float(torch.softmax(logits[0, 0], dim=-1)[1]), state


# ---------------------------------------------------------------------------------------- bundle
@dataclass
class Bundle:
    """A trained model with everything needed to use it (see the module docstring)."""

    config: dict
    weights: dict[str, np.ndarray]  # name → float32 array, as stored
    path: Path | None = None
    _engine: Engine | None = field(default=None, init=False, repr=False)

    # -- what it is
    @property
    def expression(self) -> str:
        return self.config["expression"]

    @property
    def model(self) -> str:
        return self.config["model"]

    @property
    def params(self) -> dict:
        return self.config["params"]

    @property
    def causal(self) -> bool:
        return bool(self.config["causal"])

    @property
    def threshold(self) -> float:
        return float(self.config["threshold"])

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(**self.config["feature_spec"])

    @property
    def delta_scale(self) -> np.ndarray | None:
        ds = self.config["delta_scale"]
        return None if ds is None else np.asarray(ds, dtype=np.float64)

    @property
    def signers(self) -> list[str]:
        return list(self.config["normalisation"]["signers"])

    @property
    def name(self) -> str:
        return f"{self.expression}/{self.model}"

    def stats(self, signer: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of a training signer, or pooled over the training signers (``None``)."""
        norm = self.config["normalisation"]
        if signer is None:
            s = norm["pooled"]
        elif signer in norm["signers"]:
            s = norm["signers"][signer]
        else:
            raise BundleError(
                f"bundle {self.name} has no statistics for signer {signer!r}; it was trained on "
                f"signer(s) {', '.join(norm['signers'])} — omit the signer to use pooled statistics, "
                "or calibrate on the recording"
            )
        return np.asarray(s["mean"], dtype=np.float64), np.asarray(s["std"], dtype=np.float64)

    # -- running it
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = _make_engine(self)
        return self._engine

    def inputs(self, features: np.ndarray, usable: np.ndarray, mean: np.ndarray, std: np.ndarray):
        """Unscaled features (n, 118) → the model's float64 inputs (n, n_inputs)."""
        return model_inputs(scale_features(features, mean, std), usable, self.delta_scale)

    def torch_module(self):
        """The float32 torch module with the bundle's weights (for export and checks)."""
        import torch

        module = _build_module(self)
        state = {k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()}
        module.load_state_dict(state, strict=True)
        return module.eval()

    # -- files
    def save(self, folder: str | Path) -> Path:
        """Write ``weights.safetensors`` and ``config.json`` into ``folder`` (created)."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        weights_path = folder / WEIGHTS_NAME
        tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(self.weights.items())}
        save_file(tensors, str(weights_path), metadata={"format": FORMAT})
        self.config["weights"] = {
            "file": WEIGHTS_NAME,
            "sha256": _sha256(weights_path.read_bytes()),
            "format": "safetensors",
            "dtype": "float32",
            "tensors": {k: list(v.shape) for k, v in tensors.items()},
        }
        (folder / CONFIG_NAME).write_text(json.dumps(self.config, indent=2) + "\n")
        self.path = folder
        return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _build_module(bundle: Bundle):
    """A fresh torch module of the bundle's architecture (random weights)."""
    from gfe.estimators import make_estimator

    est = make_estimator(bundle.model, **bundle.params)
    if bundle.model in FRAME_MODELS:
        from gfe.models import build_model

        kwargs: dict[str, Any] = {"hidden": bundle.params["hidden"]}
        if bundle.model == "mlp":
            kwargs["activation"] = bundle.params.get("activation", "sigmoid")
        return build_model(bundle.model, n_features=bundle.config["n_inputs"], **kwargs)
    return est._build(bundle.config["n_inputs"])


def _expected_shapes(model: str, params: dict, n_inputs: int) -> dict[str, tuple[int, ...]] | None:
    """Tensor names and shapes of the NumPy-engine models (None: ask torch)."""
    h = int(params.get("hidden", 0))
    if model == "paper-lstm":
        return {
            "lstm.weight_ih_l0": (4 * h, n_inputs),
            "lstm.weight_hh_l0": (4 * h, h),
            "lstm.bias_ih_l0": (4 * h,),
            "lstm.bias_hh_l0": (4 * h,),
            "fc.weight": (2, h),
            "fc.bias": (2,),
        }
    if model == "mlp":
        return {"hidden.weight": (h, n_inputs), "hidden.bias": (h,), "out.weight": (2, h), "out.bias": (2,)}
    if model in STEP_MODELS:
        g = (4 if model == "seq-lstm" else 3) * h
        shapes: dict[str, tuple[int, ...]] = {}
        for k in range(int(params.get("layers", 1))):
            shapes[f"rnn.weight_ih_l{k}"] = (g, n_inputs if k == 0 else h)
            shapes[f"rnn.weight_hh_l{k}"] = (g, h)
            shapes[f"rnn.bias_ih_l{k}"] = (g,)
            shapes[f"rnn.bias_hh_l{k}"] = (g,)
        shapes["head.weight"] = (2, h)
        shapes["head.bias"] = (2,)
        return shapes
    return None


def _make_engine(bundle: Bundle) -> Engine:
    p, w = bundle.params, bundle.weights
    if bundle.model == "paper-lstm":
        return FrameLSTMEngine(w, p["hidden"])
    if bundle.model == "mlp":
        return MLPEngine(w, p.get("activation", "sigmoid"))
    if bundle.model == "seq-lstm":
        return LSTMEngine(w, p["hidden"], p.get("layers", 1))
    if bundle.model == "gru":
        return GRUEngine(w, p["hidden"], p.get("layers", 1))
    return TorchEngine(bundle.torch_module(), bundle.causal, bundle.config["n_inputs"])


# ------------------------------------------------------------------------------------ training
def _parse_model_params(model: str, params: dict | None) -> dict:
    from gfe.estimators import make_estimator

    params = dict(params or {})
    make_estimator(model, **params)  # unknown names / bad values → GfeError now
    return params


def train_bundle(
    data_dir: str | Path,
    expression: str,
    model: str,
    *,
    signers: list[str] | tuple[str, ...] | None = None,
    features: str = "clean",
    seed: int = 0,
    params: dict | None = None,
    threshold: float = 0.5,
    val_fraction: float = 0.15,
    progress: Callable[[str], None] | None = None,
) -> Bundle:
    """Train ``model`` on every usable frame of the chosen signers' recordings of ``expression``.

    Normalisation: each training signer is z-scored on all frames of its own recording (features
    only, nan-aware), as in the benchmark protocols; the bundle keeps those per-signer statistics
    and statistics pooled over all training frames (the default for an unknown signer). Models
    that early-stop (``gfe.estimators.uses_validation``) get a validation part carved
    chronologically: the last ``val_fraction`` of each recording's usable frames.
    """
    from gfe import SIGNERS, runinfo
    from gfe.benchmark import carve_validation, make_sequences
    from gfe.data import check_expression, datapoints_name, find_targets, load_dataset, parse_names
    from gfe.estimators import make_estimator, uses_validation
    from gfe.features import Standardizer, spec_by_name
    from gfe.protocols import Fold, make_pool

    check_expression(expression)
    if model not in BUNDLE_MODELS:
        raise BundleError(f"model {model!r} cannot be bundled; choose one of: {', '.join(BUNDLE_MODELS)}")
    if not 0 < threshold < 1:
        raise BundleError(f"threshold must be between 0 and 1, got {threshold}")
    if not 0 <= val_fraction < 1:
        raise BundleError(f"val_fraction must be in [0, 1), got {val_fraction}")
    spec = spec_by_name(features)
    params = _parse_model_params(model, params)
    signers = parse_names(list(signers) if signers else None, SIGNERS, "signer")
    data_dir = Path(data_dir)
    recordings = load_dataset(data_dir, [expression], signers)
    pool = make_pool(recordings, spec)
    scaler = Standardizer().fit(pool.features, pool.signers)
    x = scaler.transform(pool.features, pool.signers)
    usable = np.flatnonzero(pool.usable)
    uses_val = uses_validation(model, params) and val_fraction > 0
    if uses_val:
        fold = Fold("train", "", train=usable, test=np.array([], dtype=int), norm_fit=np.arange(len(pool)))
        train, val = carve_validation(pool, fold, val_fraction, seed)
    else:
        train, val = usable, np.array([], dtype=int)
    est = make_estimator(model, **params)
    if progress:
        progress(f"training {model} on {expression} ({len(train)} frames, {len(val)} validation)")
    est.fit(make_sequences(pool, x, train), seed=seed, val=make_sequences(pool, x, val) if len(val) else None)

    weights = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in est.module_.state_dict().items()}
    n_features = pool.features.shape[1]
    delta_scale = getattr(est, "delta_scale_", None)
    deltas = delta_scale is not None
    files = []
    rec_info = []
    for r in recordings:
        sel = pool.signers == r.signer
        files += [
            data_dir / datapoints_name(r.signer, expression),
            find_targets(data_dir, r.signer, expression),
        ]
        rec_info.append(
            {
                "recording": r.name,
                "frames": r.n_frames,
                "usable_frames": int(pool.usable[sel].sum()),
                "unknown_frames": int((~pool.usable[sel]).sum()),
                "positives": r.n_positive,
                "train_frames": int(np.isin(np.flatnonzero(sel), train).sum()),
                "validation_frames": int(np.isin(np.flatnonzero(sel), val).sum()),
            }
        )
    history = getattr(est, "history_", None) or {"train_loss": getattr(est, "train_loss_", [])}
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "expression": expression,
        "model": model,
        "params": est.get_params(),
        "causal": bool(est.causal),
        "n_features": int(n_features),
        "n_inputs": int(n_features * (2 if deltas else 1)),
        "deltas": deltas,
        "delta_scale": None if not deltas else [float(v) for v in np.asarray(delta_scale, np.float32)],
        "feature_spec": spec.to_dict(),
        "normalisation": {
            "method": "z-score (population std), per signer, fitted on all frames of its training "
            "recording (features only, nan-aware); unknown values → 0 (the mean)",
            "default": "pooled",
            "signers": {g: {"mean": m.tolist(), "std": s.tolist()} for g, (m, s) in scaler.stats.items()},
            "pooled": {"mean": scaler.pooled[0].tolist(), "std": scaler.pooled[1].tolist()},
        },
        "threshold": float(threshold),
        "seed": int(seed),
        "training": {
            "data_dir": str(data_dir),
            "signers": list(signers),
            "recordings": rec_info,
            "frames_used": "usable frames of the recordings (unknown x/y masked out)",
            "train_frames": len(train),
            "validation_frames": len(val),
            "validation": (
                f"last {val_fraction:.0%} of each recording's usable frames (chronological), early stopping"
                if uses_val
                else "none (fixed number of epochs)"
            ),
            "history": _jsonable(history),
            "data_checksums": runinfo.data_checksums(files),
        },
        "weights": {},
        "versions": runinfo.package_versions(),
        "created": runinfo.timestamp(),
    }
    return Bundle(config=config, weights=weights)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ------------------------------------------------------------------------------------- loading
def _fail(where: Path | str, what: str) -> BundleError:
    return BundleError(f"bundle {where}: {what}")


def _check_config(cfg: Any, where: Path) -> None:
    if not isinstance(cfg, dict):
        raise _fail(where, "config.json does not hold a JSON object")
    if cfg.get("format") != FORMAT:
        raise _fail(where, f"config.json is not a gfe bundle config (format {cfg.get('format')!r})")
    for key, kind in REQUIRED.items():
        if key not in cfg:
            raise _fail(where, f"config.json is missing the field {key!r}; retrain with `gfe train`")
        if not isinstance(cfg[key], kind) or (kind is int and isinstance(cfg[key], bool)):
            raise _fail(where, f"config.json field {key!r} has the wrong type ({type(cfg[key]).__name__})")
    if cfg["format_version"] > FORMAT_VERSION:
        raise _fail(
            where,
            f"bundle format version {cfg['format_version']} is newer than this gfe reads "
            f"({FORMAT_VERSION}); upgrade gfe",
        )
    if cfg["expression"] not in EXPRESSIONS:
        raise _fail(where, f"unknown expression {cfg['expression']!r}")
    if cfg["model"] not in BUNDLE_MODELS:
        raise _fail(where, f"unknown model {cfg['model']!r}; this gfe runs {', '.join(BUNDLE_MODELS)}")
    if not 0 < cfg["threshold"] < 1:
        raise _fail(where, f"threshold {cfg['threshold']} is not between 0 and 1")
    spec = cfg["feature_spec"]
    name = spec.get("name")
    if name not in SPECS:
        raise _fail(
            where, f"made with feature spec {name!r}, which this gfe does not know ({', '.join(SPECS)})"
        )
    ours = SPECS[name].to_dict()
    if spec != ours:
        diff = ", ".join(
            f"{k}: bundle {spec.get(k)!r} vs this gfe {ours.get(k)!r}"
            for k in sorted(set(spec) | set(ours))
            if spec.get(k) != ours.get(k)
        )
        raise _fail(
            where,
            f"made with another version of feature spec {name!r} ({diff}); its inputs would be "
            "computed differently — retrain it with `gfe train`",
        )
    n = cfg["n_features"]
    if n != N_FEATURES:
        raise _fail(where, f"expects {n} features per frame; gfe computes {N_FEATURES}")
    if cfg["n_inputs"] != n * (2 if cfg["deltas"] else 1):
        raise _fail(where, "n_inputs does not match n_features and deltas")
    if cfg["deltas"] != (cfg["delta_scale"] is not None):
        raise _fail(where, "deltas and delta_scale disagree")
    if cfg["deltas"]:
        _check_vector(cfg["delta_scale"], n, where, "delta_scale", positive=True)
    norm = cfg["normalisation"]
    for key in ("pooled", "signers"):
        if key not in norm:
            raise _fail(where, f"config.json is missing the field 'normalisation.{key}'")
    groups = {"pooled": norm["pooled"], **{f"signers.{g}": s for g, s in norm["signers"].items()}}
    for g, stats in groups.items():
        if not isinstance(stats, dict) or "mean" not in stats or "std" not in stats:
            raise _fail(where, f"config.json is missing 'normalisation.{g}.mean' or '.std'")
        _check_vector(stats["mean"], n, where, f"normalisation.{g}.mean")
        _check_vector(stats["std"], n, where, f"normalisation.{g}.std", positive=True)
    for key in ("file", "sha256"):
        if key not in cfg["weights"]:
            raise _fail(where, f"config.json is missing the field 'weights.{key}'")


def _check_vector(v: Any, n: int, where: Path, what: str, positive: bool = False) -> None:
    ok = isinstance(v, list) and len(v) == n and all(isinstance(x, int | float) for x in v)
    if not ok:
        raise _fail(where, f"{what} must be a list of {n} numbers")
    arr = np.asarray(v, dtype=np.float64)
    if not np.isfinite(arr).all() or (positive and not (arr > 0).all()):
        raise _fail(where, f"{what} holds values that are not finite{' and positive' if positive else ''}")


def _load_weights(folder: Path, cfg: dict) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    name = cfg["weights"]["file"]
    if not isinstance(name, str) or Path(name).name != name:
        raise _fail(folder, f"weights.file {name!r} must be a file name inside the bundle folder")
    path = folder / name
    if not path.is_file():
        raise _fail(folder, f"weights file {name} is missing")
    data = path.read_bytes()
    if _sha256(data) != cfg["weights"]["sha256"]:
        raise _fail(
            folder,
            f"weights file {name} does not match the sha256 in config.json: it is corrupt, truncated "
            "or from another bundle — copy the bundle again or retrain",
        )
    try:
        weights = load(data)
    except Exception as exc:
        raise _fail(folder, f"weights file {name} cannot be read ({exc})") from None
    return weights


def _check_weights(bundle: Bundle, where: Path) -> None:
    expected = _expected_shapes(bundle.model, bundle.params, bundle.config["n_inputs"])
    if expected is None:
        try:
            module = _build_module(bundle)
        except GfeError as exc:
            raise _fail(where, f"bad model parameters: {exc}") from None
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in bundle.weights.items()}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        raise _fail(
            where,
            f"weights do not fit a {bundle.model} with these parameters (missing: "
            f"{', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'})",
        )
    for k, shape in expected.items():
        if got[k] != shape:
            raise _fail(where, f"tensor {k} has shape {list(got[k])}, expected {list(shape)}")
        if not np.isfinite(bundle.weights[k]).all():
            raise _fail(where, f"tensor {k} holds values that are not finite")


def load_bundle(path: str | Path, expression: str | None = None) -> Bundle:
    """Load and validate a bundle folder (or its config.json). With ``expression``, a bundle for
    another expression is an error."""
    path = Path(path)
    folder = path.parent if path.name == CONFIG_NAME and path.is_file() else path
    if not folder.exists():
        raise _fail(folder, "not found; train one with `gfe train --out FOLDER`")
    cfg_path = folder / CONFIG_NAME
    if not cfg_path.is_file():
        raise _fail(folder, f"no {CONFIG_NAME} there — not a bundle folder (made by `gfe train --out`)")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(folder, f"{CONFIG_NAME} is not valid JSON ({exc})") from None
    _check_config(cfg, folder)
    weights = _load_weights(folder, cfg)
    bundle = Bundle(config=cfg, weights=weights, path=folder)
    _check_weights(bundle, folder)
    if expression is not None and bundle.expression != expression:
        raise _fail(
            folder,
            f"detects {bundle.expression!r}, not {expression!r} — use the bundle trained for {expression!r}",
        )
    return bundle


def is_bundle(path: Path) -> bool:
    return (Path(path) / CONFIG_NAME).is_file()


def load_bundles(path: str | Path, expression: str | None = None) -> list[Bundle]:
    """One bundle folder → [bundle]; a folder of bundle folders (``gfe train --all``) → all of
    them in the order of :data:`gfe.EXPRESSIONS`. ``expression`` selects one (error if absent)."""
    path = Path(path)
    if is_bundle(path) or (path.name == CONFIG_NAME and path.is_file()):
        return [load_bundle(path, expression)]
    if not path.is_dir():
        raise _fail(path, "not found; train one with `gfe train --out FOLDER`")
    subs = sorted(p for p in path.iterdir() if p.is_dir() and is_bundle(p))
    if not subs:
        raise _fail(path, f"neither a bundle folder nor a folder of bundles (no {CONFIG_NAME} found)")
    bundles = [load_bundle(p) for p in subs]
    seen: dict[str, Path] = {}
    for b in bundles:
        if b.expression in seen:
            raise _fail(
                path,
                f"two bundles detect {b.expression!r} ({seen[b.expression].name}, {b.path.name}); "
                "keep one per expression",
            )
        seen[b.expression] = b.path
    bundles.sort(key=lambda b: EXPRESSIONS.index(b.expression))
    if expression is not None:
        chosen = [b for b in bundles if b.expression == expression]
        if not chosen:
            raise _fail(
                path,
                f"holds no bundle for {expression!r} (it has: {', '.join(b.expression for b in bundles)})",
            )
        return chosen
    return bundles
