"""Where the dataset lives: ``--data-dir``, ``$GFE_DATA_DIR``, then the per-user cache."""

from __future__ import annotations

import os
from pathlib import Path

from gfe import EXPRESSIONS, SIGNERS
from gfe.data.names import datapoints_name

DATA_ENV = "GFE_DATA_DIR"


def cache_dir() -> Path:
    """The per-user folder that ``gfe data download`` fills."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gfe")) / "uci-gfe"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """``--data-dir``, then ``$GFE_DATA_DIR``, then the download cache (which may not exist yet)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return cache_dir()


def dataset_present(data_dir: Path) -> bool:
    return (data_dir / datapoints_name(SIGNERS[0], EXPRESSIONS[0])).is_file()
