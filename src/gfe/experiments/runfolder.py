"""A run folder: what `gfe reproduce`, `gfe benchmark` and `gfe tune` write, and what reports read.

:class:`RunFolder` owns every file name of a run folder, for its writers and its readers alike.
A folder holds **one configuration**: its ``run.json`` records the run's *identity* (the kind of
run, everything in its configuration that changes a result, the data's checksums and gfe's
version) and a hash of it. Opening a folder for writing

* creates it when it is absent or empty;
* resumes it when it holds a run of the same identity (finished cells are kept);
* refuses it, with one line naming the folder and the differences, when it holds a run of
  another identity or files that are not a run's — unless ``force``, which replaces a run folder
  whole (never a folder that holds anything but a run).

Every file is written through a temporary file in the same folder and renamed into place, so a
crash or a full disk never leaves half a file under the final name. ``cells.jsonl`` is appended
one line per finished cell; a torn last line (a crash mid-write) is dropped with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gfe.errors import GfeError, os_error_message
from gfe.outputs import atomic_write, atomic_write_text, check_output_folder

KINDS = ("reproduce", "benchmark", "tune")


def identity_hash(identity: dict) -> str:
    """A short, stable hash of an identity (a JSON-able dict)."""
    text = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Where two identities differ, as ``key: old → new`` lines (nested keys joined by dots)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _differences(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    if old == new:
        return []
    show = lambda v: json.dumps(v, default=str)[:60]  # noqa: E731
    return [f"{prefix.rstrip('.')}: {show(old)} → {show(new)}"]


class RunFolder:
    """The files of one run folder (see the module docstring)."""

    RUN_JSON = "run.json"
    RESULTS = "results.csv"
    CELLS = "cells.jsonl"
    LOSSES = "losses.csv"
    PREDICTIONS = "predictions"
    LOSS_CURVES = "loss_curves"
    TABLE3 = "table3.md"
    TABLES = "tables.md"
    WINLOSS = "winloss.md"
    TRIALS = "trials.csv"
    BEST_CONFIG = "best_config.json"
    COMPARISON_CSV = "comparison.csv"
    COMPARISON_MD = "comparison.md"
    HISTORY_PNG = "history.png"
    IMPORTANCE_PNG = "importance.png"
    STUDY_DB = "study.db"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @staticmethod
    def table_name(protocol: str) -> str:
        return f"table_{protocol}.md"

    # -- reading
    def exists(self, name: str) -> bool:
        return (self.path / name).exists()

    def info(self) -> dict:
        """run.json as a dict ({} when absent); a broken one is a clear error."""
        file = self.path / self.RUN_JSON
        if not file.is_file():
            return {}
        try:
            info = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise GfeError(
                f"{file}: not valid JSON ({exc}); restore it or rerun the command that wrote it"
            ) from None
        if not isinstance(info, dict):
            raise GfeError(f"{file}: expected a JSON object; restore it or rerun the command that wrote it")
        return info

    def read_cells(self) -> dict[str, dict]:
        """Finished cells (``cells.jsonl``): key → record. A torn or unreadable last line — a crash
        mid-write — is dropped with a warning; a bad line before it is an error."""
        path = self.path / self.CELLS
        done: dict[str, dict] = {}
        if not path.is_file():
            return done
        lines = path.read_bytes().split(b"\n")
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
                key = rec["key"]
                rec["rows"]
            except (ValueError, KeyError, TypeError):
                if any(x.strip() for x in lines[i + 1 :]):
                    raise GfeError(
                        f"{path}, line {i + 1}: not a finished cell; the file is damaged — move it away "
                        "to recompute every cell, or rerun with --force"
                    ) from None
                warnings.warn(
                    f"{path}: dropped a torn last line (a run stopped while writing it)", stacklevel=2
                )
                continue
            done[key] = rec
        return done

    # -- writing
    def write_text(self, name: str, text: str) -> Path:
        return atomic_write_text(self.path / name, text)

    def write_json(self, name: str, obj: dict) -> Path:
        return self.write_text(name, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")

    def write_csv(self, name: str, df) -> Path:
        return atomic_write(self.path / name, lambda tmp: df.to_csv(tmp, index=False))

    def write_bytes(self, name: str, data: bytes) -> Path:
        return atomic_write(self.path / name, lambda tmp: tmp.write_bytes(data))

    @contextlib.contextmanager
    def cell_sink(self) -> Iterator[Callable[[dict], None]]:
        """Append finished cells to cells.jsonl, one flushed and synced line each. A torn last line
        left by a crash is cut off first, so the next line starts clean. A failed write (a full
        disk) is one GfeError; the lines written before it stay, and a rerun resumes from them."""
        path = self.path / self.CELLS
        try:
            if path.is_file():
                data = path.read_bytes()
                if data and not data.endswith(b"\n"):
                    with open(path, "r+b") as f:
                        f.truncate(data.rfind(b"\n") + 1)
            sink = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise GfeError(f"cannot write {os_error_message(exc, str(path))}") from None

        def write(record: dict) -> None:
            line = json.dumps(record, default=str) + "\n"
            try:
                sink.write(line)
                sink.flush()
                os.fsync(sink.fileno())
            except OSError as exc:
                raise GfeError(
                    f"cannot write {os_error_message(exc, str(path))}; the cells finished so far are kept"
                ) from None

        try:
            yield write
        finally:
            with contextlib.suppress(OSError):
                sink.close()

    # -- opening for a run
    def open(self, kind: str, identity: dict, force: bool = False) -> bool:
        """Make the folder ready for a run of ``kind`` with ``identity``; return True when it resumes
        a run of the same identity (see the module docstring for what is refused)."""
        if kind not in KINDS:
            raise ValueError(kind)
        digest = identity_hash(identity)
        self._check_writable_place()
        if self.path.is_dir() and any(self.path.iterdir()):
            info = self._run_info_or_refuse()
            same = info.get("identity_hash") == digest and info.get("kind") == kind
            if same and not force:
                return True
            if not force:
                raise GfeError(self._mismatch(kind, info, identity))
            self._replace()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GfeError(f"--out {self.path}: cannot create it ({os_error_message(exc)})") from None
        self.write_json(
            self.RUN_JSON, {"kind": kind, "status": "running", "identity_hash": digest, "identity": identity}
        )
        return False

    def _check_writable_place(self) -> None:
        check_output_folder(self.path, "--out", "run")

    def _run_info_or_refuse(self) -> dict:
        info = self.info() if (self.path / self.RUN_JSON).is_file() else {}
        if not info.get("identity_hash"):
            what = "a run of an older gfe (no identity recorded)" if info else "files that are not a gfe run"
            raise GfeError(
                f"--out {self.path}: holds {what}; choose a new or empty --out folder"
                + (", or --force to replace that run" if info else "")
            )
        return info

    def _mismatch(self, kind: str, info: dict, identity: dict) -> str:
        if info.get("kind") != kind:
            return (
                f"--out {self.path}: holds a `gfe {info.get('kind')}` run, not a `gfe {kind}` run; choose "
                "another --out, or --force to replace it"
            )
        diff = _differences(info.get("identity", {}), identity)
        shown = "; ".join(diff[:4]) + (f"; and {len(diff) - 4} more" if len(diff) > 4 else "")
        return (
            f"--out {self.path}: holds a {kind} run of another configuration ({shown or 'identity differs'}); "
            "a folder holds one configuration — choose another --out, or --force to replace it"
        )

    def _replace(self) -> None:
        """Remove a run folder's contents (only called for a folder that holds a gfe run)."""
        for entry in self.path.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def finish(self, info: dict) -> Path:
        """Write the final run.json: ``info`` plus the kind, identity and status recorded at opening."""
        opened = self.info()
        keep = {k: opened[k] for k in ("kind", "identity_hash", "identity") if k in opened}
        return self.write_json(self.RUN_JSON, {**info, **keep, "status": "complete"})
