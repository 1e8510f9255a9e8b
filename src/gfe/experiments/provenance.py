"""What a run folder records about how it was made: command, versions, data checksums."""

from __future__ import annotations

import hashlib
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gfe.errors import DataError, mask_secrets

PACKAGES = ("gfe", "torch", "numpy", "pandas", "scikit-learn", "matplotlib", "typer", "rich")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def sha256(path: Path) -> str:
    """The file's sha256; a file that cannot be read is one :class:`DataError` naming it."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from None
    return h.hexdigest()


def data_checksums(paths: list[Path]) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(set(paths))}


def machine() -> dict[str, str | int | None]:
    import os

    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()}


def command_line() -> str:
    """The command that is running, as typed (passwords in URLs hidden)."""
    return mask_secrets(" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
