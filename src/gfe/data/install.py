"""Put a dataset folder in place atomically: fill a staging folder beside it, then rename.

Both ways of getting the dataset use this: ``gfe data download`` (:mod:`gfe.data.download`) and
the first unpacking of the copy bundled with gfe (:mod:`gfe.data.bundled`). The staging folder
is a temporary folder beside ``dest`` (same parent, so the rename stays on one file system); only
when the caller's ``fill`` has written and checked every file is it renamed into place. A previous
dataset in ``dest`` is renamed away first and removed afterwards. On any failure the temporary
folder is removed, ``dest`` is left as it was (absent, or the previous dataset), and so are the
parent folders (those this call created are removed again).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from gfe.errors import GfeError


def check_dest(dest: Path, known: Iterable[str]) -> None:
    """Refuse to replace anything but nothing, an empty folder, or a folder of ``known`` files."""
    if not dest.exists() and not dest.is_symlink():
        return
    if dest.is_symlink() or not dest.is_dir():
        raise GfeError(
            f"{dest} exists and is not a folder; refusing to replace it — choose another folder (--data-dir)"
        )
    known = set(known)
    for entry in sorted(dest.iterdir()):
        if entry.name not in known or not entry.is_file() or entry.is_symlink():
            raise GfeError(
                f"{dest} holds {entry.name!r}, which is not a dataset file; refusing to replace it — "
                "choose a new or empty folder (--data-dir), or empty this one"
            )


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest first."""
    created = []
    probe = folder
    while not probe.exists():
        created.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GfeError(f"cannot create {folder}: {exc}; choose another folder (--data-dir)") from None
    return created


def _move_into_place(staging: Path, dest: Path, work: Path, keep: Callable[[Path], bool] | None) -> None:
    """Move ``staging`` to ``dest``; a previous ``dest`` goes into ``work`` (removed by the caller).
    With ``keep``: a ``dest`` for which ``keep(dest)`` holds (another process was quicker) stays."""
    if keep is not None and keep(dest):
        return
    old = work / "previous"
    if dest.exists():
        os.replace(dest, old)
    try:
        os.replace(staging, dest)
    except OSError:
        if keep is not None and keep(dest):
            return
        if old.exists():
            os.replace(old, dest)
        raise


def install_folder(
    dest: Path,
    fill: Callable[[Path, Path], None],
    purpose: str,
    keep: Callable[[Path], bool] | None = None,
) -> Path:
    """Create ``dest`` atomically: ``fill(staging, work)`` must create the folder ``staging`` and
    check its files (``work`` is scratch space beside it); then ``staging`` becomes ``dest``.

    ``purpose`` names the temporary folder (``.DEST.PURPOSE-…``). ``keep(dest)``: when it holds at
    the moment of the rename, the existing ``dest`` is kept and the staged copy discarded."""
    created = make_parents(dest.parent)
    work: Path | None = None
    done = False
    try:
        try:
            work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{purpose}-", dir=dest.parent))
        except OSError as exc:
            raise GfeError(
                f"cannot write in {dest.parent}: {exc}; choose another folder (--data-dir)"
            ) from None
        try:
            staging = work / "dataset"
            fill(staging, work)
            _move_into_place(staging, dest, work, keep)
        except OSError as exc:  # disk full, permissions, …
            raise GfeError(
                f"cannot unpack the dataset into {dest}: {exc}; free some space or choose another "
                "folder (--data-dir), then retry"
            ) from None
        done = True
        return dest
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        if not done:
            for folder in created:  # deepest first; only the ones this call made, only if empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
