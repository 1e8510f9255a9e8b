"""`gfe data download`: a real HTTP server on 127.0.0.1 serves zips built from synthetic files."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import gfe.data as gfe_data
from gfe import EXPRESSIONS, SIGNERS
from gfe.data import download as dl
from gfe.data.synthetic import write_dataset
from gfe.errors import GfeError

RECONSTRUCTED = ("b_conditional_datapoints.txt", "a_relative_datapoints.txt")
SHARED_SUMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "gfe" / "SHA256SUMS"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, bytes]:
    """{name: bytes} of a small synthetic dataset in UCI's layout, plus the two extras."""
    folder = write_dataset(tmp_path_factory.mktemp("synthetic"), n_frames=30)
    out = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    out["data_descriptions.txt"] = b"Grammatical Facial Expressions (synthetic description)\r\n"
    out["view_points.png"] = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    return out


@pytest.fixture(scope="module")
def sums(files) -> dict[str, str]:
    """Checksums of every file except the two whose UCI checksums are unknown (→ structural check)."""
    return {n: sha256(b) for n, b in files.items() if n not in RECONSTRUCTED}


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        if route.get("stall"):
            route["stall"].wait(5)  # released by the test once the client has given up
        body = route["body"]
        self.send_response(200)
        self.send_header("Content-Type", route.get("type", "application/zip"))
        self.send_header("Content-Length", str(route.get("length", len(body))))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have given up already
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


class Server:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.routes = {}
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes, **route) -> str:
        self.httpd.routes[path] = {"body": body, **route}
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def close(self):
        for route in self.httpd.routes.values():
            if route.get("stall"):
                route["stall"].set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


def assert_clean(parent: Path, expected: set[str]) -> None:
    """Nothing but ``expected`` in ``parent``: no temporary folder, no archive, no partial dest."""
    assert {p.name for p in parent.iterdir()} == expected


def fail(server, tmp_path, sums, body: bytes, match: str, **route) -> Path:
    url = server.serve("/gfe.zip", body, **route)
    dest = tmp_path / "gfe"
    with pytest.raises(GfeError, match=match) as info:
        dl.download_dataset(dest, url=url, checksums=sums, progress=False, timeout=5)
    assert not dest.exists()
    assert_clean(tmp_path, set())
    assert "\n" not in str(info.value)  # one message
    return dest


# -------------------------------------------------------------------------------------- success
LAYOUTS = {
    "flat": lambda f: make_zip(f),
    "folder": lambda f: make_zip({f"Grammatical Facial Expressions/data/{n}": b for n, b in f.items()}),
    "nested-zip": lambda f: make_zip(
        {
            "readme.txt": b"UCI",
            "gfe/grammatical_facial_expression.zip": make_zip({f"gfe_data/{n}": b for n, b in f.items()}),
        }
    ),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_download_unpacks_and_verifies(server, tmp_path, files, sums, layout):
    url = server.serve("/gfe.zip", LAYOUTS[layout](files))
    dest = tmp_path / "cache" / "uci-gfe"
    got = dl.download_dataset(dest, url=url, checksums=sums, progress=layout == "flat", timeout=5)
    assert got == dest
    assert {p.name for p in dest.iterdir()} == set(files)
    for name, digest in sums.items():
        assert sha256((dest / name).read_bytes()) == digest, name
    assert (dest / "a_doubts_question_targets.txt").is_file()
    assert_clean(tmp_path / "cache", {"uci-gfe"})
    recordings = gfe_data.load_dataset(dest)
    assert len(recordings) == len(EXPRESSIONS) * len(SIGNERS)


def test_extras_are_optional_and_other_targets_spelling_accepted(server, tmp_path, files, sums):
    members = {n: b for n, b in files.items() if n not in dl.EXTRA_FILES}
    members["a_doubt_question_targets.txt"] = members.pop("a_doubts_question_targets.txt")
    url = server.serve("/gfe.zip", make_zip(members))
    dest = dl.download_dataset(tmp_path / "gfe", url=url, checksums=sums, progress=False)
    assert {p.name for p in dest.iterdir()} == set(members)
    assert len(gfe_data.load_dataset(dest)) == 18


def test_url_setting_argument_then_env_then_default(server, tmp_path, files, sums, monkeypatch):
    monkeypatch.delenv(dl.URL_ENV, raising=False)
    assert dl.resolve_url() == dl.DEFAULT_URL
    assert (
        dl.DEFAULT_URL == "https://archive.ics.uci.edu/static/public/317/grammatical+facial+expressions.zip"
    )
    url = server.serve("/env.zip", make_zip(files))
    monkeypatch.setenv(dl.URL_ENV, url)
    assert dl.resolve_url() == url
    assert dl.resolve_url("http://example.invalid/x.zip") == "http://example.invalid/x.zip"
    # dest defaults to the cache folder, the URL to $GFE_DATA_URL
    monkeypatch.setattr(dl, "cache_dir", lambda: tmp_path / "user-cache" / "uci-gfe")
    dest = dl.download_dataset(checksums=sums, progress=False)
    assert dest == tmp_path / "user-cache" / "uci-gfe"
    assert gfe_data.dataset_present(dest)


def test_existing_dataset_is_replaced(server, tmp_path, files, sums):
    dest = tmp_path / "gfe"
    dest.mkdir()
    (dest / "a_affirmative_datapoints.txt").write_bytes(b"old")
    (dest / "view_points.png").write_bytes(b"old")
    url = server.serve("/gfe.zip", make_zip(files))
    dl.download_dataset(dest, url=url, checksums=sums, progress=False)
    assert (dest / "a_affirmative_datapoints.txt").read_bytes() == files["a_affirmative_datapoints.txt"]
    assert (dest / "view_points.png").read_bytes() == files["view_points.png"]
    assert_clean(tmp_path, {"gfe"})


# -------------------------------------------------------------------------------------- failures
def test_checksum_mismatch_names_the_file(server, tmp_path, files, sums):
    bad = dict(files)
    bad["a_emphasis_targets.txt"] = files["a_emphasis_targets.txt"].replace(b"0", b"1", 1)
    fail(server, tmp_path, sums, make_zip(bad), r"a_emphasis_targets\.txt .*fails its checksum.*retry")


def test_truncated_download(server, tmp_path, files, sums):
    body = make_zip(files)
    fail(
        server,
        tmp_path,
        sums,
        body[: len(body) // 2],
        rf"incomplete download from http://127\.0\.0\.1:\d+/gfe\.zip: "
        rf"got [\d,]+ of {len(body) // 2 + 5000:,} bytes \(partial",
        length=len(body) // 2 + 5000,
    )


def test_not_a_zip(server, tmp_path, sums):
    html = b"<!DOCTYPE html><html><body>Dataset moved</body></html>"
    fail(server, tmp_path, sums, html, r"gfe\.zip did not send a zip archive \(it looks like a web page\)")


def test_404_names_the_url(server, tmp_path, sums):
    url = server.serve("/other.zip", b"")  # the server is up, but /missing.zip is not there
    url = url.replace("other.zip", "missing.zip")
    dest = tmp_path / "gfe"
    with pytest.raises(GfeError, match=rf"could not download {re.escape(url)}: HTTP 404 .*--data-dir"):
        dl.download_dataset(dest, url=url, checksums=sums, progress=False, timeout=5)
    assert_clean(tmp_path, set())


def test_connection_refused(tmp_path, sums):
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/gfe.zip"
    with pytest.raises(GfeError, match=rf"could not download {re.escape(url)}: .*refused.*retry"):
        dl.download_dataset(tmp_path / "gfe", url=url, checksums=sums, progress=False, timeout=5)
    assert_clean(tmp_path, set())


def test_timeout(server, tmp_path, files, sums):
    url = server.serve("/slow.zip", make_zip(files), stall=threading.Event())
    with pytest.raises(GfeError, match=r"could not download .*slow\.zip: .*timed out"):
        dl.download_dataset(tmp_path / "gfe", url=url, checksums=sums, progress=False, timeout=0.3)
    assert_clean(tmp_path, set())


def test_missing_file_in_archive(server, tmp_path, files, sums):
    members = {n: b for n, b in files.items() if n != "b_topics_targets.txt"}
    fail(server, tmp_path, sums, make_zip(members), r"lacks 1 needed file\(s\): b_topics_targets\.txt;")


def test_corrupt_member(server, tmp_path, files, sums):
    body = bytearray(make_zip(files))  # the first member is a_affirmative_datapoints.txt
    start = 30 + len("a_affirmative_datapoints.txt") + 50  # inside its compressed data
    body[start : start + 20] = bytes(20)
    fail(server, tmp_path, sums, bytes(body), r"corrupt: a_affirmative_datapoints\.txt cannot be unpacked")


def test_bad_structure_without_checksum(server, tmp_path, files, sums):
    bad = dict(files)
    lines = files["b_conditional_datapoints.txt"].split(b"\r\n")
    bad["b_conditional_datapoints.txt"] = b"\r\n".join(lines[:-3])  # 3 frames short of its labels
    fail(server, tmp_path, sums, make_zip(bad), r"b_conditional_datapoints\.txt .*frames but .*labels")
    bad["b_conditional_datapoints.txt"] = b"\r\n".join([*lines[:-1], b"1 2 3"])
    fail(
        server,
        tmp_path,
        sums,
        make_zip(bad),
        r"malformed: b_conditional_datapoints\.txt, line \d+: expected 301",
    )


def test_failed_download_keeps_existing_dataset(server, tmp_path, files, sums):
    dest = tmp_path / "gfe"
    good = server.serve("/good.zip", make_zip(files))
    dl.download_dataset(dest, url=good, checksums=sums, progress=False)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    bad = dict(files)
    bad["b_yn_question_targets.txt"] = b"1\r\n" + files["b_yn_question_targets.txt"][3:]
    url = server.serve("/bad.zip", make_zip(bad))
    with pytest.raises(GfeError, match=r"b_yn_question_targets\.txt .*checksum"):
        dl.download_dataset(dest, url=url, checksums=sums, progress=False)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert_clean(tmp_path, {"gfe"})


def test_refuses_to_replace_a_folder_of_other_files(server, tmp_path, files, sums):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    url = server.serve("/gfe.zip", make_zip(files))
    with pytest.raises(GfeError, match=r"holds 'notes\.txt', which is not a dataset file; refusing"):
        dl.download_dataset(dest, url=url, checksums=sums, progress=False)
    assert (dest / "notes.txt").read_text() == "keep me"
    assert_clean(tmp_path, {"mine"})


def test_created_parent_folders_are_removed_on_failure(server, tmp_path, sums):
    url = server.serve("/gfe.zip", b"not a zip at all")
    with pytest.raises(GfeError, match="did not send a zip archive"):
        dl.download_dataset(tmp_path / "a" / "b" / "gfe", url=url, checksums=sums, progress=False)
    assert_clean(tmp_path, set())


# ------------------------------------------------------------------------------- packaged sums
def test_packaged_checksums():
    sums = dl.packaged_checksums()
    assert len(sums) == 34
    assert "a_doubts_question_targets.txt" in sums
    assert "a_doubt_question_targets.txt" not in sums
    for name in RECONSTRUCTED:
        assert name not in sums
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in sums.values())
    needed = {gfe_data.datapoints_name(s, e) for e in EXPRESSIONS for s in SIGNERS}
    needed |= {gfe_data.targets_names(s, e)[0] for e in EXPRESSIONS for s in SIGNERS}
    assert set(sums) == needed - set(RECONSTRUCTED)
    if SHARED_SUMS.is_file():  # the same lines as the local copy of UCI's files
        shared = dl.parse_checksums(SHARED_SUMS.read_text())
        assert all(shared[n] == h for n, h in sums.items())


def test_parse_checksums_rejects_garbage():
    assert dl.parse_checksums("# c\n\n" + "a" * 64 + " *x.txt\n") == {"x.txt": "a" * 64}
    with pytest.raises(GfeError, match="line 1: expected 'SHA256  FILENAME'"):
        dl.parse_checksums("nothex  x.txt")


@pytest.mark.realdata
def test_real_files_pass_packaged_checksums(server, tmp_path, real_data):
    """UCI's files (and the two reconstructions, checked by structure) unpack with the packaged sums."""
    names = [*dl.packaged_checksums(), *RECONSTRUCTED]
    body = make_zip({f"gfe/{n}": (real_data / n).read_bytes() for n in names}, zipfile.ZIP_STORED)
    url = server.serve("/uci.zip", body)
    dest = dl.download_dataset(tmp_path / "gfe", url=url, progress=False)
    assert sorted(p.name for p in dest.iterdir()) == sorted(names)


def test_reproduce_on_a_fresh_machine_uses_the_bundled_copy_not_the_network(tmp_path, monkeypatch):
    """The README's first command on a machine without network: no dataset anywhere → `gfe
    reproduce` unpacks the copy bundled with gfe into the per-user cache (saying so, on standard
    error) and runs; nothing is downloaded (the archive URL points at a port nobody listens on)."""
    from typer.testing import CliRunner

    from gfe.cli import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("GFE_DATA_DIR", raising=False)
    monkeypatch.setenv("GFE_DATA_URL", f"http://127.0.0.1:{port}/gfe.zip")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert not gfe_data.dataset_present(gfe_data.cache_dir())
    args = ["reproduce", "--out", str(tmp_path / "run"), "--seeds", "1", "--epochs", "2",
            "--expressions", "affirmative", "--models", "mlp", "--no-progress"]  # fmt: skip
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "unpacking the copy of UCI's dataset bundled with gfe" in res.stderr
    assert "unpacking" not in res.stdout and "download" not in res.stdout
    assert gfe_data.is_bundled_copy(gfe_data.cache_dir())
    assert str(tmp_path / "cache") in str(gfe_data.cache_dir())
    assert (tmp_path / "run" / "table3.md").is_file()
