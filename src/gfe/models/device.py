"""Where torch models run: ``--device auto|cpu|cuda``.

``auto`` is CUDA when PyTorch sees a GPU, else the CPU; ``cuda`` without a GPU is one clear error.
Models train and predict on the chosen device and hand back NumPy arrays; bundles always store
their weights from the CPU, so a bundle trained on a GPU is the same file format and loads anywhere.
"""

from __future__ import annotations

from gfe.errors import GfeError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> str:
    """``auto``/``cpu``/``cuda`` (or ``cuda:N``) → the device to use, checked."""
    import torch

    name = str(name).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GfeError(
                f"--device {name}: PyTorch sees no CUDA GPU here (torch {torch.__version__}); "
                "use --device cpu, or auto to take a GPU only when there is one"
            )
        index = name.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise GfeError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices (cuda:0 …)")
        return name
    raise GfeError(f"--device {name!r}: choose one of {', '.join(DEVICES)}")
