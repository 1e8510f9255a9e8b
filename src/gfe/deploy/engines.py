"""Fast inference engines: a bundle's weights as float64 NumPy mirrors of its torch module.

``paper-lstm`` (:class:`FrameLSTMEngine`, with float32 gate non-linearities), ``mlp``
(:class:`MLPEngine`), ``seq-lstm`` (:class:`LSTMEngine`) and ``gru`` (:class:`GRUEngine`) run in
NumPy; any other bundle model runs as a float64 copy of its torch module (:class:`TorchEngine`).
A model class names its engine in its tags (``Tags.engine``). The same engine labels whole
recordings (:mod:`gfe.deploy.labelling`) and steps frame by frame (:mod:`gfe.deploy.stream`), so
streamed and offline outputs agree to ~1e-12 (~1e-7 for ``paper-lstm``). The mirrors differ from
the float32 torch modules used in training by float32 rounding only (~1e-7).

**Inputs.** Features z-scored with the chosen statistics (unknown zero-depth values → 0, the
mean); temporal models trained with ``deltas`` also get ``(s_t - s_{t-1}) / delta_scale``, zero on
the first frame and wherever frame t or t-1 is unusable (:func:`model_inputs`), exactly as in
training (:func:`gfe.models.windowed.delta_features`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gfe.errors import GfeError


class EngineError(GfeError):
    """A model cannot run as asked (e.g. an offline model asked to stream)."""


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

    name: str = ""
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

    name = "frame-lstm"

    def __init__(self, w: dict[str, np.ndarray], params: dict) -> None:
        h = params["hidden"]
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

    name = "mlp"

    def __init__(self, w: dict[str, np.ndarray], params: dict) -> None:
        activation = params.get("activation", "sigmoid")
        if activation not in ("sigmoid", "tanh", "relu"):
            raise EngineError(f"unknown activation {activation!r}; the MLP engine runs sigmoid, tanh or relu")
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

    name = "lstm"

    def __init__(self, w: dict[str, np.ndarray], params: dict, prefix: str = "rnn") -> None:
        h, layers = params["hidden"], params.get("layers", 1)
        rows = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]  # i, f, g, o → i, f, o, g
        scale = np.r_[np.full(3 * h, 0.5), np.ones(h)]
        self.layers = []
        for k in range(layers):
            wih = w[f"{prefix}.weight_ih_l{k}"].astype(np.float64)[rows] * scale[:, None]
            whh = w[f"{prefix}.weight_hh_l{k}"].astype(np.float64)[rows] * scale[:, None]
            b = (w[f"{prefix}.bias_ih_l{k}"].astype(np.float64) + w[f"{prefix}.bias_hh_l{k}"])[rows] * scale
            self.layers.append((np.ascontiguousarray(wih), np.ascontiguousarray(wih.T), whh, b))
        self._head(w)
        self.h = h
        self.n_inputs = self.layers[0][0].shape[1]

    def _head(self, w: dict[str, np.ndarray]) -> None:
        self.head_w, self.head_b = _probability_head(w["head.weight"].astype(np.float64), w["head.bias"])

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

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        """The last layer's hidden states (n, H) of a whole sequence from the zero state."""
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
        return seq

    def _step_hidden(self, x: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
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
        return inp, new

    def run(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(self._hidden(x) @ self.head_w + self.head_b)

    def step(self, x: np.ndarray, state: Any) -> tuple[float, Any]:
        h, new = self._step_hidden(x, state)
        return _sigmoid_scalar(h @ self.head_w + self.head_b), new


class MultiLSTMEngine(LSTMEngine):
    """A multi-expression LSTM (``shared-lstm``): the same recurrence, one sigmoid head per
    expression — ``run`` gives (n, k) probabilities, ``step`` a (k,) array."""

    name = "lstm-multi"

    def _head(self, w: dict[str, np.ndarray]) -> None:
        self.heads_w = np.ascontiguousarray(w["heads.weight"].astype(np.float64).T)  # (H, k)
        self.heads_b = w["heads.bias"].astype(np.float64)

    def _heads(self, h: np.ndarray) -> np.ndarray:
        z = h @ self.heads_w
        z += self.heads_b
        return _sigmoid(z, out=z)

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._heads(self._hidden(x))

    def step(self, x: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        h, new = self._step_hidden(x, state)
        return self._heads(h), new


class GRUEngine(Engine):
    """A (multi-layer) GRU and the probability head, state ``[h] per layer``. torch's gates:
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h. The r and z rows are pre-multiplied by ½ (σ via tanh)."""

    name = "gru"

    def __init__(self, w: dict[str, np.ndarray], params: dict, prefix: str = "rnn") -> None:
        h, layers = params["hidden"], params.get("layers", 1)
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
    """Any other bundle model's torch module, run as a float64 copy (e.g. TCN, BiLSTM).

    A single-expression module gives two logits per frame (probability: their softmax); a
    multi-expression one (``outputs=k``) one logit per expression (probabilities: their sigmoids),
    so ``run`` returns (n, k) and ``step`` a (k,) array."""

    def __init__(self, module, causal: bool, n_inputs: int, outputs: int | None = None) -> None:
        self.module = module.double().eval()
        self.causal = causal
        self.n_inputs = n_inputs
        self.outputs = outputs
        self.multi = outputs is not None

    def _probability(self, logits):
        import torch

        return torch.sigmoid(logits) if self.multi else torch.softmax(logits, dim=-1)[..., 1]

    def run(self, x: np.ndarray) -> np.ndarray:
        import torch

        if len(x) == 0:
            return np.zeros((0, self.outputs) if self.multi else 0)
        with torch.inference_mode():
            logits, _ = self.module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))[None])
            return self._probability(logits[0]).numpy().copy()

    def step(self, x: np.ndarray, state: Any) -> tuple[Any, Any]:
        import torch

        if not self.causal:
            raise EngineError("this model reads the whole recording (not causal): it cannot stream")
        with torch.inference_mode():
            step = torch.tensor(np.asarray(x, dtype=np.float64))[None, None]  # a copy: x is a reused buffer
            logits, state = self.module(step, state)
            p = self._probability(logits[0, 0])
            return (p.numpy().copy() if self.multi else float(p)), state


ENGINES: dict[str, type[Engine]] = {
    c.name: c for c in (FrameLSTMEngine, MLPEngine, LSTMEngine, MultiLSTMEngine, GRUEngine)
}


def make_engine(
    engine: str | None,
    weights: dict[str, np.ndarray],
    params: dict,
    module=None,
    causal=True,
    n_inputs: int = 0,
    outputs: int | None = None,
) -> Engine:
    """The engine a model class names (``Tags.engine``), or the float64 torch copy of ``module()``."""
    if engine is None:
        return TorchEngine(module(), causal, n_inputs, outputs)
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; this gfe has {', '.join(ENGINES)}")
    return ENGINES[engine](weights, params)
