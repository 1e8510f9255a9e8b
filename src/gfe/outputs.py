"""Writing outputs safely: atomic writes, and output paths that never replace a user's input.

Atomic: a temporary file is written beside the target, then renamed into place, so a crash or a
full disk never leaves half a file under the final name (the old file, if any, stays).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from gfe.errors import GfeError


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> Path:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        if mode is not None:
            os.chmod(tmp, mode)

    return atomic_write(path, write)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _in_gfe_folder(path: Path) -> str | None:
    """What gfe folder ``path`` would be written into: "bundle", "run folder" or None."""
    parent = path.parent
    if (parent / "config.json").is_file() and (parent / "weights.safetensors").exists():
        return "bundle"
    if (parent / "run.json").is_file() or (parent / "cells.jsonl").is_file():
        return "run folder"
    return None


def check_output_file(path: Path, inputs=(), force: bool = False, option: str = "--out") -> Path:
    """Refuse an output file that is one of the ``inputs`` (files, or folders whose files it would
    replace), a folder, a device or other non-regular file, or whose parent folder is missing or not
    writable; a file inside a bundle or a run folder is replaced only with ``force``. An earlier
    output elsewhere is replaced. Call it before the work starts."""
    path = Path(path)
    for given in inputs:
        if given is None:
            continue
        given = Path(given)
        inside = given.is_dir() and _same_file(path.parent, given)
        if _same_file(path, given) or inside:
            raise GfeError(
                f"{option} {path}: that would overwrite the input {given}; write the output elsewhere"
            )
    if path.is_dir():
        raise GfeError(f"{option} {path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise GfeError(
            f"{option} {path}: the folder {parent} does not exist; create it or choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GfeError(f"{option} {path}: the folder {parent} is not writable; choose another path")
    if (path.exists() or path.is_symlink()) and (not path.is_file() or path.is_symlink()):
        raise GfeError(f"{option} {path}: exists and is not a regular file; choose another path")
    inside = _in_gfe_folder(path)
    if inside and not force:
        raise GfeError(
            f"{option} {path}: inside a {inside}, whose files it could replace; write it elsewhere, or --force"
        )
    return path
