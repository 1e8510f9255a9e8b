"""Writing outputs safely: atomic writes, and output paths that never replace a user's input.

Atomic: a temporary file is written beside the target, then renamed into place, so a crash or a
full disk never leaves half a file under the final name (the old file, if any, stays). A write
that fails (a full disk, a read-only folder) is one :class:`GfeError` naming the file.

Output paths are checked before the work starts (:func:`check_output_file` for a file,
:func:`check_output_folder` for a folder to fill): a folder that cannot be written is found by
creating (and removing) a probe file there, which also catches what permission bits do not show
(a read-only file system, /proc, an administrator who may write anywhere).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from gfe.errors import GfeError, os_error_message

UCI_FIRST_FILE = "a_affirmative_datapoints.txt"  # the first file of the UCI dataset's layout


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``. On any
    failure the temporary file is removed and ``path`` is left as it was; an OSError (a full disk)
    becomes one :class:`GfeError` naming ``path``."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GfeError(f"cannot write {os_error_message(exc, str(path))}") from None
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
    """What gfe folder ``path`` would be written into: "bundle", "run folder", "dataset folder" or None."""
    parent = path.parent
    try:
        if (parent / "config.json").is_file() and (parent / "weights.safetensors").exists():
            return "bundle"
        if (parent / "run.json").is_file() or (parent / "cells.jsonl").is_file():
            return "run folder"
        if (parent / UCI_FIRST_FILE).is_file():  # as gfe.data.dataset_present tells a dataset folder
            return "dataset folder"
    except OSError:
        return None
    return None


def check_writable(folder: Path, option: str, target: Path) -> None:
    """Refuse unless a file can be created in the existing ``folder``: a probe file is created
    there and removed at once."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GfeError(f"{option} {target}: the folder {folder} is not writable; choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=".gfe-probe-", dir=folder)
    except OSError as exc:
        raise GfeError(
            f"{option} {target}: cannot write in {folder} ({exc.strerror or exc}); choose another path"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output_file(path: Path, inputs=(), force: bool = False, option: str = "--out") -> Path:
    """Refuse an output file that is one of the ``inputs`` (files, or folders whose files it would
    replace), a folder, a device or other non-regular file, or whose parent folder is missing or not
    writable; a file inside a bundle, a run folder or a dataset folder is replaced only with
    ``force``. An earlier output elsewhere is replaced. Call it before the work starts."""
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
        what = "is a file, not a folder" if parent.exists() else "does not exist"
        raise GfeError(f"{option} {path}: the folder {parent} {what}; create it or choose another path")
    if (path.exists() or path.is_symlink()) and (not path.is_file() or path.is_symlink()):
        raise GfeError(f"{option} {path}: exists and is not a regular file; choose another path")
    check_writable(parent, option, path)
    inside = _in_gfe_folder(path)
    if inside and not force:
        raise GfeError(
            f"{option} {path}: inside a {inside}, whose files it could replace; write it elsewhere, or --force"
        )
    return path


def check_output_folder(path: Path, option: str = "--out", what: str = "run") -> Path:
    """A folder to be created or filled (a run folder, a bundle), checked before the work: not an
    existing file or device, not below a file, and in a place where files can be written (its
    missing parents are created later). Whether an existing folder's contents may be replaced is
    the caller's business."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GfeError(f"{option} {path}: exists and is not a folder; choose a folder name for the {what}")
    if path.is_symlink() and not path.exists():
        raise GfeError(f"{option} {path}: a broken symbolic link; choose another folder name")
    existing = path if path.exists() else next((a for a in path.absolute().parents if a.exists()), None)
    if existing is None or not existing.is_dir():
        raise GfeError(f"{option} {path}: {existing} is a file, not a folder; choose another {option}")
    check_writable(existing, option, path)
    return path
