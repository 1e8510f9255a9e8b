"""Fixtures of the command-line failure and overwrite tests: a small synthetic dataset and a
bundle trained on it (module-scoped: each test module gets its own, so none sees another's files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gfe.data.synthetic import write_dataset
from gfe.deploy import train_bundle


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("gfe"), n_frames=100)


@pytest.fixture(scope="module")
def bundle(data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "negative"
    train_bundle(data, "negative", "mlp", params={"epochs": 2}).save(path)
    return path
