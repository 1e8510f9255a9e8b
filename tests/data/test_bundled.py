"""The copy of the dataset bundled with gfe: found after --data-dir, $GFE_DATA_DIR and the download
cache; unpacked into an empty cache on first use (checked, atomically, saying so); told apart from
UCI's download by its marker; replaced by `gfe data download`; described by `gfe data check`."""

from __future__ import annotations

import hashlib
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gfe.data as gfe_data
from gfe import EXPRESSIONS, SIGNERS
from gfe.cli import app
from gfe.data import bundled
from gfe.data import download as dl
from gfe.errors import GfeError

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DATA = REPO / "src" / "gfe" / "data"
SHARED_SUMS = REPO.parent / "shared" / "data" / "gfe" / "SHA256SUMS"
runner = CliRunner()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    """No --data-dir, no $GFE_DATA_DIR, an empty per-user cache, and no network to download from."""
    monkeypatch.delenv("GFE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GFE_DATA_URL", "http://127.0.0.1:9/no-network.zip")
    assert not gfe_data.dataset_present(gfe_data.cache_dir())
    assert gfe_data.cache_dir().is_relative_to(tmp_path)
    return gfe_data.cache_dir()


# ---------------------------------------------------------------------------- what is shipped
def test_the_archive_and_its_checksums_are_the_uci_files():
    sums = bundled.bundled_checksums()
    needed = {gfe_data.datapoints_name(s, e) for e in EXPRESSIONS for s in SIGNERS}
    needed |= {gfe_data.targets_names(s, e)[0] for e in EXPRESSIONS for s in SIGNERS}
    assert set(sums) == needed | {"data_descriptions.txt"} and len(sums) == 37
    verbatim = dl.packaged_checksums()  # the 34 UCI files whose bytes downloads are checked against
    assert set(verbatim) == needed - set(bundled.RECONSTRUCTIONS)
    assert all(sums[name] == digest for name, digest in verbatim.items())
    if SHARED_SUMS.is_file():  # byte for byte the project's copy of the dataset
        shared = dl.parse_checksums(SHARED_SUMS.read_text())
        assert all(shared[name] == digest for name, digest in sums.items())
    with tarfile.open(PACKAGE_DATA / bundled.ARCHIVE) as tar:  # one flat archive of exactly those files
        members = tar.getmembers()
    assert sorted(m.name for m in members) == sorted(sums) and all(m.isfile() for m in members)
    assert (PACKAGE_DATA / bundled.ARCHIVE).stat().st_size < 16e6


def test_licence_and_attribution_ship_beside_the_data():
    text = (REPO / "LICENSE-data").read_text()
    assert (PACKAGE_DATA / "LICENSE-data").read_text() == text  # the installed copy is the same
    text = " ".join(text.split())
    for needle in ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/",
                   "https://archive.ics.uci.edu/dataset/317/grammatical+facial+expressions",
                   "Freitas, F. A., Peres, S. M., Lima, C. A. M., Barbosa, F. V. (2014)",
                   "Grammatical Facial Expressions Recognition with Machine Learning", "FLAIRS 2014",
                   *bundled.RECONSTRUCTIONS):  # fmt: skip
        assert needle in text, needle
    pyproject = (REPO / "pyproject.toml").read_text()
    package_data = re.search(r'"gfe\.data" = \[(.*)\]', pyproject).group(1)
    for name in (bundled.ARCHIVE, bundled.SUMS, "SHA256SUMS", "LICENSE-data"):
        assert f'"{name}"' in package_data, name


# ------------------------------------------------------------------------------------ lookup
def test_an_empty_cache_gets_the_bundled_copy_with_the_real_files(empty_cache, real_data):
    notices = []
    path = gfe_data.locate_dataset(notice=notices.append)
    assert path == empty_cache
    assert len(notices) == 1 and "\n" not in notices[0]
    assert "bundled with gfe" in notices[0] and str(empty_cache) in notices[0]
    assert gfe_data.is_bundled_copy(path)
    sums = bundled.bundled_checksums()
    assert {p.name for p in path.iterdir()} == {*sums, gfe_data.BUNDLED_MARKER}
    for name in sums:  # the unpacked files are byte for byte the real data folder's
        assert sha256(path / name) == sha256(real_data / name), name
    assert {p.name for p in empty_cache.parent.iterdir()} == {empty_cache.name}  # no temporary folder
    assert len(gfe_data.load_dataset(path)) == 18
    # Next time the cache is used as it is: nothing is unpacked again, nothing said.
    (path / gfe_data.BUNDLED_MARKER).write_text("touched")
    assert gfe_data.locate_dataset(notice=notices.append) == path and len(notices) == 1
    assert (path / gfe_data.BUNDLED_MARKER).read_text() == "touched"


def test_data_dir_and_env_come_first_and_are_never_replaced(
    empty_cache, synthetic_data, tmp_path, monkeypatch
):
    assert gfe_data.locate_dataset(synthetic_data) == synthetic_data
    monkeypatch.setenv("GFE_DATA_DIR", str(synthetic_data))
    assert gfe_data.locate_dataset() == synthetic_data
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GfeError, match="no UCI dataset there"):
        gfe_data.locate_dataset(empty)
    monkeypatch.setenv("GFE_DATA_DIR", str(empty))
    with pytest.raises(GfeError, match="no UCI dataset there"):
        gfe_data.locate_dataset()
    assert not empty_cache.exists() and list(empty.iterdir()) == []  # nothing unpacked anywhere


def test_a_downloaded_cache_is_used_as_it_is(empty_cache, synthetic_data):
    synthetic_data.rename(empty_cache.parent.mkdir(parents=True) or empty_cache)
    assert gfe_data.locate_dataset(notice=pytest.fail) == empty_cache
    assert not gfe_data.is_bundled_copy(empty_cache)


def test_a_cache_folder_of_other_files_is_refused(empty_cache):
    empty_cache.mkdir(parents=True)
    (empty_cache / "notes.txt").write_text("mine")
    with pytest.raises(GfeError, match=r"holds 'notes\.txt', which is not a dataset file; refusing"):
        gfe_data.locate_dataset()
    assert [p.name for p in empty_cache.iterdir()] == ["notes.txt"]


def test_a_damaged_bundled_copy_is_one_clear_error_and_leaves_nothing(empty_cache, monkeypatch):
    sums = bundled.bundled_checksums()
    sums["b_topics_targets.txt"] = "0" * 64
    monkeypatch.setattr(bundled, "bundled_checksums", lambda: sums)
    with pytest.raises(GfeError, match=r"b_topics_targets\.txt fails its checksum.*reinstall gfe") as info:
        gfe_data.locate_dataset()
    assert "\n" not in str(info.value) and "gfe data download" in str(info.value)
    assert not empty_cache.exists() and not empty_cache.parent.exists()  # the folders made are gone
    monkeypatch.setattr(bundled, "ARCHIVE", "missing.tar.xz")
    with pytest.raises(GfeError, match="missing from this installation"):
        gfe_data.locate_dataset()


# --------------------------------------------------------------------------- the command line
def test_data_check_says_which_copy_and_names_the_reconstructions(empty_cache):
    res = runner.invoke(app, ["data", "check"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "unpacking the copy of UCI's dataset bundled with gfe" in res.stderr
    assert f"Copy in use: {empty_cache} — the copy of UCI's dataset bundled with gfe" in res.stdout
    assert "`gfe data download` replaces it" in res.stdout
    assert "2 of its files are reconstructions" in res.stdout
    assert "b_conditional_datapoints.txt" in res.stdout and "a_relative_datapoints.txt" in res.stdout
    assert "18 recordings loaded" in res.stdout


def test_data_download_replaces_the_bundled_copy(empty_cache, real_data, tmp_path):
    """UCI's own archive (here: the real files in a zip, served from a file:// URL) takes the
    bundled copy's place; `gfe data check` then says so."""
    gfe_data.locate_dataset()
    assert gfe_data.is_bundled_copy(empty_cache)
    names = [*dl.packaged_checksums(), *bundled.RECONSTRUCTIONS, "view_points.png"]
    archive = tmp_path / "uci.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for name in names:
            zf.write(real_data / name, f"gfe/{name}")
    res = runner.invoke(
        app, ["data", "download", "--quiet", "--url", archive.as_uri()], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    assert not gfe_data.is_bundled_copy(empty_cache)
    assert sorted(p.name for p in empty_cache.iterdir()) == sorted(names)
    res = runner.invoke(app, ["data", "check"], catch_exceptions=False)
    assert res.exit_code == 0 and "unpacking" not in res.output
    assert "UCI's own archive, downloaded into the cache by `gfe data download`" in res.stdout


def test_data_check_of_a_named_folder(synthetic_data, real_data):
    res = runner.invoke(app, ["data", "check", "--data-dir", str(synthetic_data)], catch_exceptions=False)
    assert "Copy in use:" in res.stdout and "the folder given with --data-dir" in res.stdout
    assert "reconstructions" not in res.stdout
    res = runner.invoke(app, ["data", "check", "--data-dir", str(real_data)], catch_exceptions=False)
    assert "2 of its files are reconstructions" in res.stdout  # the project's copy: the same two files
