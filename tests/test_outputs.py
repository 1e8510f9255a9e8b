"""gfe.outputs: atomic writes that never leave half a file, and output paths checked before work."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from gfe.errors import GfeError
from gfe.outputs import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    check_output_file,
    check_output_folder,
)


def test_a_full_disk_keeps_the_previous_file_whole(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("the previous report")

    def half_then_full(tmp: Path) -> None:
        tmp.write_text("half of the new rep")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(GfeError) as info:
        atomic_write(target, half_then_full)
    message = str(info.value)
    assert "\n" not in message and str(target) in message and "No space left on device" in message
    assert "free some disk space" in message
    assert target.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_a_crash_mid_write_leaves_no_file_under_the_final_name(tmp_path):
    target = tmp_path / "results.csv"

    def killed(tmp: Path) -> None:
        tmp.write_text("expression,model\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, killed)
    assert list(tmp_path.iterdir()) == []


def test_writes_replace_atomically_with_the_mode_asked_for(tmp_path):
    old = os.umask(0o077)
    try:
        atomic_write_bytes(tmp_path / "w.bin", b"abc", mode=0o644)
        atomic_write_text(tmp_path / "t.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "w.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "t.txt").read_text() == "x"


def test_an_unwritable_folder_is_found_by_a_probe(tmp_path, monkeypatch):
    import tempfile

    real = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == tmp_path:
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(GfeError, match=r"cannot write in .*Read-only file system"):
        check_output_file(tmp_path / "x.csv")
    with pytest.raises(GfeError, match=r"cannot write in .*Read-only file system"):
        check_output_folder(tmp_path / "new" / "run")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: t / "f.txt", "exists and is not a folder"),
        (lambda t: t / "f.txt" / "run", "is a file, not a folder"),
    ],
)
def test_folder_targets_that_cannot_be_folders(tmp_path, make, message):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(GfeError, match=message):
        check_output_folder(make(tmp_path))
    assert (tmp_path / "f.txt").read_text() == "x"


def test_output_files_that_are_inputs_or_not_files(tmp_path):
    given = tmp_path / "in.txt"
    given.write_text("x")
    with pytest.raises(GfeError, match="overwrite the input"):
        check_output_file(given, [given], force=True)
    with pytest.raises(GfeError, match="overwrite the input"):
        check_output_file(tmp_path / "sub" / ".." / "in.txt", [given], force=True)
    link = tmp_path / "link.txt"
    link.symlink_to(given)
    with pytest.raises(GfeError, match="not a regular file"):
        check_output_file(link, [], force=True)
    with pytest.raises(GfeError, match="is a folder"):
        check_output_file(tmp_path)
    assert given.read_text() == "x"
