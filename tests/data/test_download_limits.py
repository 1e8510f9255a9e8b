"""`gfe data download` has limits: it never writes more than a sane archive size, whatever the URL
sends (a file:// URL of /dev/zero included), and refuses a zip bomb before unpacking (issue #14)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data import download as dl
from gfe.data.synthetic import write_dataset
from gfe.errors import GfeError

runner = CliRunner()


def _download(url: str, dest: Path):
    return dl.download_dataset(dest, url=url, checksums={}, progress=False, timeout=5)


def test_a_file_slightly_over_the_cap_is_refused_and_nothing_is_left(tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "MAX_ARCHIVE_BYTES", 4096)
    big = tmp_path / "src" / "big.zip"
    big.parent.mkdir()
    big.write_bytes(b"\0" * 4097)
    dest = tmp_path / "out" / "gfe"
    with pytest.raises(GfeError, match=r"sends 4,097 bytes or more.*refusing to download"):
        _download(big.as_uri(), dest)
    assert not (tmp_path / "out").exists()  # the parent it made is removed again


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_stops_at_the_cap(tmp_path, monkeypatch):
    """An endless source that announces no length: the stream stops at the cap (patched to 1 MB;
    256 MB in use), and the partial archive is removed."""
    monkeypatch.setattr(dl, "MAX_ARCHIVE_BYTES", 1 << 20)
    written = []
    real = dl._stream

    def counting(response, out, bar, url):
        try:
            return real(response, out, bar, url)
        finally:
            written.append(out.tell())

    monkeypatch.setattr(dl, "_stream", counting)
    with pytest.raises(GfeError, match="refusing to download"):
        _download("file:///dev/zero", tmp_path / "gfe")
    assert written and written[0] <= 1 << 20
    assert list(tmp_path.iterdir()) == []


def test_the_cli_says_it_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "MAX_ARCHIVE_BYTES", 1 << 16)
    res = runner.invoke(app, ["data", "download", "--url", "file:///dev/zero", "--dest", str(tmp_path / "d"),
                              "--quiet"], catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 2 and "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refusing to download" in errors[0]


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "synthetic", n_frames=20)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.writestr(p.name, p.read_bytes())
        zf.writestr("a_affirmative_datapoints.txt.bak", b"0" * 10)
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(buf.getvalue())
    unpacked = sum(p.stat().st_size for p in folder.iterdir())
    monkeypatch.setattr(dl, "MAX_UNPACKED_BYTES", unpacked - 1)  # the needed files are "too big"
    monkeypatch.setattr(dl, "_copy_member", lambda *a: pytest.fail("unpacked before the size was checked"))
    with pytest.raises(GfeError, match=r"would unpack to .* refusing to unpack"):
        _download(archive.as_uri(), tmp_path / "gfe")
    assert not (tmp_path / "gfe").exists()
