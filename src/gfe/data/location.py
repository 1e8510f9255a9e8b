"""Where the dataset lives: ``--data-dir``, ``$GFE_DATA_DIR``, then the per-user cache.

The cache holds either UCI's own archive, unpacked by ``gfe data download``, or the copy of the
dataset bundled with gfe (:mod:`gfe.data.bundled`), unpacked there on first use. The bundled
copy is told apart by a marker file, :data:`BUNDLED_MARKER`, that only its unpacking writes; a
download replaces the whole folder, marker included.
"""

from __future__ import annotations

import os
from pathlib import Path

from gfe import EXPRESSIONS, SIGNERS
from gfe.data.names import datapoints_name
from gfe.errors import DataError

DATA_ENV = "GFE_DATA_DIR"
BUNDLED_MARKER = "BUNDLED-COPY.txt"


def cache_dir() -> Path:
    """The per-user folder that ``gfe data download`` fills (and the bundled copy is unpacked into)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gfe")) / "uci-gfe"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """``--data-dir``, then ``$GFE_DATA_DIR``, then the download cache (which may not exist yet)."""
    if explicit:
        return _expand(explicit, "--data-dir")
    env = os.environ.get(DATA_ENV)
    if env:
        return _expand(env, f"${DATA_ENV}")
    return cache_dir()


def data_dir_source(explicit: str | Path | None = None) -> str:
    """Where :func:`resolve_data_dir` found its folder: ``"option"``, ``"env"`` or ``"cache"``."""
    if explicit:
        return "option"
    return "env" if os.environ.get(DATA_ENV) else "cache"


def _expand(path: str | Path, what: str) -> Path:
    """``~`` and ``~user`` expanded; a user without a home folder is a clear error."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        user = str(path).split("/", 1)[0]
        raise DataError(
            f"{what} {path}: {user} names no user with a home folder; give the full path of the data folder"
        ) from None


def dataset_present(data_dir: Path) -> bool:
    return (data_dir / datapoints_name(SIGNERS[0], EXPRESSIONS[0])).is_file()


def is_bundled_copy(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds the copy bundled with gfe (its marker file is there)."""
    return (Path(data_dir) / BUNDLED_MARKER).is_file()
