"""Export a bundle's model to ONNX (``gfe export BUNDLE --onnx FILE``).

What the ONNX graph computes — the model only; feature extraction and normalisation stay outside
(their parameters are stored in the file's metadata, key ``gfe_bundle_config``):

* ``paper-lstm``, ``mlp``: input ``x`` (batch, 118) scaled features → output ``probability``
  (batch,).
* ``seq-lstm``: one step with explicit state: inputs ``x`` (batch, n_inputs), ``h`` and ``c``
  (layers, batch, hidden) → outputs ``probability`` (batch,), ``h_out``, ``c_out``. Start from
  zeros and feed each step's ``h_out``/``c_out`` back as the next ``h``/``c``.
* ``gru``: the same with ``h`` only.

``x`` is what :meth:`gfe.deploy.bundle.Bundle.inputs` computes: features z-scored with the chosen
statistics (unknown values → 0), followed — for models trained with deltas (``n_inputs`` = 236) —
by ``(s_t - s_{t-1}) / delta_scale`` (0 on the first frame and next to a masked frame). Masked
frames (unknown features) are not fed at all, so the state is not advanced through them.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

from gfe.deploy.bundle import Bundle, BundleError
from gfe.errors import GfeError

OPSET = 17
ONNX_MISSING = (
    "ONNX export needs the packages onnx (and onnxruntime to run the file): pip install onnx onnxruntime"
)


def _wrappers():
    import torch
    from torch import nn

    class FrameProb(nn.Module):
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.module(x), dim=-1)[:, 1]

    class LSTMStep(nn.Module):
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
            logits, (h_out, c_out) = self.module(x.unsqueeze(1), (h, c))
            return torch.softmax(logits[:, 0], dim=-1)[:, 1], h_out, c_out

    class GRUStep(nn.Module):
        def __init__(self, module: nn.Module) -> None:
            super().__init__()
            self.module = module

        def forward(self, x: torch.Tensor, h: torch.Tensor):
            logits, h_out = self.module(x.unsqueeze(1), h)
            return torch.softmax(logits[:, 0], dim=-1)[:, 1], h_out

    return FrameProb, LSTMStep, GRUStep


def step_module(bundle: Bundle):
    """The torch module that the ONNX file holds (float32), with its example inputs and names."""
    import torch

    form = bundle.model_class.tags.onnx
    if form is None:
        from gfe.models import model_names

        exportable = model_names(lambda c: c.tags.onnx is not None)
        raise BundleError(
            f"bundle {bundle.name}: ONNX export covers {', '.join(exportable)}, not {bundle.model!r}"
        )
    frame_prob, lstm_step, gru_step = _wrappers()
    module = bundle.torch_module()
    n_in = bundle.config["n_inputs"]
    x = torch.zeros(1, n_in)
    if form == "frame":
        return (
            frame_prob(module).eval(),
            (x,),
            ["x"],
            ["probability"],
            {"x": {0: "batch"}, "probability": {0: "batch"}},
        )
    hidden, layers = bundle.params["hidden"], bundle.params.get("layers", 1)
    h = torch.zeros(layers, 1, hidden)
    if form == "lstm-step":
        axes = {"x": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"}, "probability": {0: "batch"}}
        axes |= {"h_out": {1: "batch"}, "c_out": {1: "batch"}}
        return (
            lstm_step(module).eval(),
            (x, h, h.clone()),
            ["x", "h", "c"],
            ["probability", "h_out", "c_out"],
            axes,
        )
    if form != "gru-step":  # pragma: no cover - a tag names a form this module does not know
        raise BundleError(f"bundle {bundle.name}: unknown ONNX form {form!r}")
    axes = {"x": {0: "batch"}, "h": {1: "batch"}, "probability": {0: "batch"}, "h_out": {1: "batch"}}
    return gru_step(module).eval(), (x, h), ["x", "h"], ["probability", "h_out"], axes


def export_onnx(bundle: Bundle, path: str | Path, force: bool = False) -> dict:
    """Write the bundle's model as ONNX to ``path`` (atomically; never over a file of the bundle;
    inside a bundle, run or dataset folder only with ``force``; checked before the export, see
    :func:`gfe.outputs.check_output_file`); return a description of its inputs and outputs."""
    try:
        import onnx
    except ImportError:
        raise GfeError(ONNX_MISSING) from None
    import torch

    from gfe.outputs import atomic_write, check_output_file

    path = check_output_file(Path(path), [bundle.path], force, option="--onnx")
    module, args, inputs, outputs, axes = step_module(bundle)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw = Path(tmp) / "model.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and LSTM notes
            try:
                torch.onnx.export(
                    module, args, str(raw), dynamo=False, input_names=inputs, output_names=outputs,
                    dynamic_axes=axes, opset_version=OPSET,
                )  # fmt: skip
            except Exception as exc:
                raise GfeError(f"ONNX export of {bundle.name} failed: {type(exc).__name__}: {exc}") from None
        model = onnx.load(str(raw))
    description = _describe(bundle, inputs, outputs, args)
    config = {k: v for k, v in bundle.config.items() if k != "training"}
    config["training"] = {k: v for k, v in bundle.config["training"].items() if k != "history"}
    for key, value in (("gfe_bundle_config", json.dumps(config)), ("gfe_io", json.dumps(description))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "gfe"
    onnx.checker.check_model(model)
    atomic_write(path, lambda tmp: onnx.save(model, str(tmp)))
    return description


def _describe(bundle: Bundle, inputs, outputs, args) -> dict:
    return {
        "model": bundle.model,
        "expression": bundle.expression,
        "inputs": inputs,
        "outputs": outputs,
        "example_input_shapes": {name: list(a.shape) for name, a in zip(inputs, args, strict=True)},
        "x": "scaled features (and scaled deltas when n_inputs = 236); see gfe.deploy.onnx",
        "threshold": bundle.threshold,
    }
