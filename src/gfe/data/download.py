"""Download the UCI Grammatical Facial Expressions archive, check it, and unpack it atomically.

``gfe data download`` calls :func:`download_dataset`. The archive's address is a setting:
:data:`DEFAULT_URL`, overridden by ``$GFE_DATA_URL``, overridden by the ``url`` argument
(``--url`` on the command line). Only the standard library speaks HTTP (``urllib.request``)
and unpacks (``zipfile``); rich draws the progress bar.

What is needed from the archive: for every signer × expression, the datapoints file and the
targets file (signer a's doubt-question labels may be spelled ``a_doubts_question_targets.txt``,
UCI's own spelling, or ``a_doubt_question_targets.txt``). Files are found by name anywhere in
the archive, also inside a ``.zip`` nested one level deep (UCI's archives sometimes nest). The
extras ``data_descriptions.txt`` and ``view_points.png`` are copied when present, never required.

Checksums. The packaged ``SHA256SUMS`` holds the sha256 of the 34 datapoints/targets files
that are verbatim UCI files: the 36 datapoints/targets files minus ``b_conditional_datapoints.txt``
and ``a_relative_datapoints.txt``, whose only local copies are reconstructions (not UCI's bytes),
so their UCI checksums are unknown. A needed file with an entry in the checksum mapping must
match it; a recording with a file that has no entry is checked by structure instead: its
datapoints file parses and has exactly one frame per label in its targets file. The extras are
not listed in the packaged file; they are verified only when a caller's mapping lists them.

Atomicity. The archive is streamed into a temporary folder beside ``dest``, unpacked and checked
there, and only then renamed into place (:func:`gfe.data.install.install_folder`). On any failure
``dest`` is left as it was (absent, or the previous dataset), and a :class:`~gfe.errors.GfeError`
says in one message what went wrong, naming the URL or the file, and what to do. A download
replaces the copy bundled with gfe (:mod:`gfe.data.bundled`) when that copy is in ``dest``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from importlib.resources import files
from pathlib import Path, PurePosixPath

from gfe import EXPRESSIONS, SIGNERS, __version__
from gfe.data.files import load_datapoints, load_targets
from gfe.data.install import check_dest, install_folder
from gfe.data.location import BUNDLED_MARKER, DATA_ENV, cache_dir
from gfe.data.names import datapoints_name, targets_names
from gfe.errors import GfeError, mask_secrets

DEFAULT_URL = "https://archive.ics.uci.edu/static/public/317/grammatical+facial+expressions.zip"
URL_ENV = "GFE_DATA_URL"
PAGE_URL = "https://archive.ics.uci.edu/dataset/317/grammatical+facial+expressions"
EXTRA_FILES: tuple[str, ...] = ("data_descriptions.txt", "view_points.png")
CHUNK = 1 << 20
EXPECTED_ARCHIVE_MB = 16  # UCI's archive of the dataset
MAX_ARCHIVE_BYTES = 256 << 20  # 16× that: anything larger is not the dataset
MAX_UNPACKED_BYTES = 512 << 20  # the 36 files unpack to 58 MB; a zip bomb is refused before unpacking

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


# ------------------------------------------------------------------------------------ settings
def resolve_url(url: str | None = None) -> str:
    """The archive URL: the argument, then ``$GFE_DATA_URL``, then :data:`DEFAULT_URL`."""
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def parse_checksums(text: str, source: str = "SHA256SUMS") -> dict[str, str]:
    """Parse ``sha256sum`` output (``HASH  NAME`` or ``HASH *NAME`` per line) → {name: hash}."""
    sums: dict[str, str] = {}
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not _SHA256.match(parts[0]):
            raise GfeError(f"{source}, line {i}: expected 'SHA256  FILENAME', found {raw!r}")
        sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def packaged_checksums() -> dict[str, str]:
    """The sha256 of the 34 verbatim UCI datapoints/targets files shipped with gfe."""
    resource = files("gfe.data") / "SHA256SUMS"
    return parse_checksums(resource.read_text(encoding="utf-8"), "gfe/data/SHA256SUMS")


def _manual(url: str) -> str:
    """The way out when downloading fails (the message itself already names ``url``)."""
    return (
        f"download the archive by hand from {PAGE_URL}, unzip it, and pass --data-dir "
        f"(or set {DATA_ENV}) to the folder that holds its files"
    )


# --------------------------------------------------------------------------------- downloading
def _fetch(url: str, target: Path, timeout: float, progress: bool) -> int:
    """Stream ``url`` into ``target``; return the byte count. Raise GfeError on any failure; never
    write more than :data:`MAX_ARCHIVE_BYTES`."""
    shown = mask_secrets(url)
    try:
        with contextlib.ExitStack() as stack:
            request = urllib.request.Request(url, headers={"User-Agent": f"gfe/{__version__}"})
            response = stack.enter_context(urllib.request.urlopen(request, timeout=timeout))
            header = response.headers.get("Content-Length")
            expected = int(header) if header and header.strip().isdigit() else None
            if expected is not None and expected > MAX_ARCHIVE_BYTES:
                raise GfeError(_too_big(shown, expected))
            out = stack.enter_context(target.open("wb"))
            bar = stack.enter_context(_progress_bar(progress, shown, expected))
            got = _stream(response, out, bar, shown)
    except GfeError:
        raise
    except Exception as exc:
        raise _download_error(exc, shown, timeout) from None
    if expected is not None and got != expected:
        raise GfeError(
            f"incomplete download from {shown}: got {got:,} of {expected:,} bytes (partial download, "
            f"the connection closed early); retry, or {_manual(shown)}"
        )
    if got == 0:
        raise GfeError(
            f"{shown} sent an empty response; check the URL (--url or {URL_ENV}), or {_manual(shown)}"
        )
    return got


def _too_big(url: str, size: int) -> str:
    return (
        f"{url} sends {size:,} bytes or more, far more than the UCI archive (~{EXPECTED_ARCHIVE_MB} MB); "
        f"refusing to download it — check the URL (--url or {URL_ENV})"
    )


def _stream(response, out, bar, url: str) -> int:
    """Copy the response into ``out`` in chunks, at most MAX_ARCHIVE_BYTES; return the byte count."""
    got = 0
    while True:
        try:
            chunk = response.read(CHUNK)
        except http.client.IncompleteRead as exc:
            out.write(exc.partial)
            return got + len(exc.partial)
        if not chunk:
            return got
        got += len(chunk)
        if got > MAX_ARCHIVE_BYTES:
            raise GfeError(_too_big(url, got))
        out.write(chunk)
        bar(len(chunk))


def _download_error(exc: Exception, url: str, timeout: float) -> GfeError:
    """One clear message for whatever went wrong while downloading ``url`` (shown without secrets)."""
    what = f"could not download {url}"
    if isinstance(exc, urllib.error.HTTPError):
        return GfeError(
            f"{what}: HTTP {exc.code} {exc.reason}; check the URL (--url or {URL_ENV}), retry later, or {_manual(url)}"
        )
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, TimeoutError):
            return GfeError(f"{what}: no answer within {timeout:g} s (timed out); retry, or {_manual(url)}")
        return GfeError(
            f"{what}: {mask_secrets(str(exc.reason))}; check your network connection and the URL "
            f"(--url or {URL_ENV}), retry, or {_manual(url)}"
        )
    if isinstance(exc, TimeoutError):
        return GfeError(
            f"{what}: the server sent no data for {timeout:g} s (timed out); retry, or {_manual(url)}"
        )
    if isinstance(exc, http.client.HTTPException | ConnectionError):
        return GfeError(f"{what}: the connection failed ({type(exc).__name__}); retry, or {_manual(url)}")
    if isinstance(exc, ValueError):  # e.g. "unknown url type"
        return GfeError(
            f"{what}: {mask_secrets(str(exc))}; give a full http(s):// or file:// URL with --url or {URL_ENV}"
        )
    if isinstance(exc, OSError):
        return GfeError(f"{what}: {mask_secrets(str(exc))}; retry, or {_manual(url)}")
    raise exc


@contextlib.contextmanager
def _progress_bar(enabled: bool, url: str, total: int | None) -> Iterator:
    """Yield ``advance(n)``; a rich download bar on stderr when ``enabled``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        name = PurePosixPath(urllib.parse.urlsplit(url).path).name or "download"
        task = bar.add_task(escape(urllib.parse.unquote(name)), total=total)
        yield lambda n: bar.advance(task, n)


# ----------------------------------------------------------------------------------- unpacking
def _needed() -> list[tuple[str, str, str, list[str]]]:
    """(signer, expression, datapoints name, accepted targets names) for every recording."""
    return [(s, e, datapoints_name(s, e), targets_names(s, e)) for e in EXPRESSIONS for s in SIGNERS]


def known_names() -> set[str]:
    """What a dataset folder may hold: the dataset's files, the extras, and the marker of the copy
    bundled with gfe (which a download replaces)."""
    names = {*EXTRA_FILES, BUNDLED_MARKER}
    for _, _, points, targets in _needed():
        names.add(points)
        names.update(targets)
    return names


def _member_name(info: zipfile.ZipInfo) -> str | None:
    """The basename of a regular file member, or None for folders and macOS metadata."""
    if info.is_dir():
        return None
    path = PurePosixPath(info.filename.replace("\\", "/"))
    if "__MACOSX" in path.parts or path.name.startswith("._"):
        return None
    return path.name or None


class _Archive:
    """Index an archive's members by basename, outer members first, then nested zips' members."""

    def __init__(self, path: Path, work: Path, url: str):
        self.url = url
        self.work = work
        self.stack = contextlib.ExitStack()
        self.index: dict[str, tuple[zipfile.ZipFile, zipfile.ZipInfo]] = {}
        outer = self.stack.enter_context(zipfile.ZipFile(path))
        self.outer = outer
        self.nested = [i for i in outer.infolist() if not i.is_dir() and i.filename.lower().endswith(".zip")]
        self._add(outer)

    def _add(self, zf: zipfile.ZipFile) -> None:
        for info in zf.infolist():
            name = _member_name(info)
            if name and name not in self.index:
                self.index[name] = (zf, info)

    def open_nested(self) -> None:
        """Add the members of every .zip inside the archive (one level deep)."""
        for k, info in enumerate(self.nested):
            inner_path = self.work / f"nested-{k}.zip"
            _copy_member(self.outer, info, inner_path, self.url)
            try:
                inner = self.stack.enter_context(zipfile.ZipFile(inner_path))
            except zipfile.BadZipFile:
                continue  # a file that merely ends in .zip; the missing-file check will speak
            self._add(inner)

    def close(self) -> None:
        self.stack.close()


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, url: str) -> str:
    """Extract one member to ``target`` (CRC checked by zipfile); return its sha256."""
    digest = hashlib.sha256()
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise GfeError(
            f"the archive from {url} is corrupt: {info.filename} cannot be unpacked ({exc}); "
            f"retry, or {_manual(url)}"
        ) from None
    return digest.hexdigest()


def _list_names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _open_archive(archive: Path, work: Path, url: str) -> _Archive:
    try:
        return _Archive(archive, work, url)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        head = archive.read_bytes()[:512].lstrip().lower()
        looks = " (it looks like a web page)" if head.startswith((b"<!doctype", b"<html", b"<?xml")) else ""
        raise GfeError(
            f"{url} did not send a zip archive{looks}: {exc}; check the URL (--url or {URL_ENV}), "
            f"retry, or {_manual(url)}"
        ) from None


def _missing(zipped: _Archive) -> list[str]:
    needed = _needed()
    out = [p for _, _, p, _ in needed if p not in zipped.index]
    out += [t[0] for _, _, _, t in needed if not any(n in zipped.index for n in t)]
    return out


def _members(zipped: _Archive, url: str) -> list[str]:
    """The names to unpack (every recording's two files, the extras there are), after checking
    that none is missing and that together they unpack to a sane size (no zip bomb)."""
    if _missing(zipped) and zipped.nested:
        zipped.open_nested()
    if lost := _missing(zipped):
        raise GfeError(
            f"the archive from {url} lacks {len(lost)} needed file(s): {_list_names(lost)}; it is not "
            f"the complete UCI Grammatical Facial Expressions archive — check the URL (--url or "
            f"{URL_ENV}), or {_manual(url)}"
        )
    names = []
    for _, _, points, targets in _needed():
        names += [points, next(n for n in targets if n in zipped.index)]
    names += [n for n in EXTRA_FILES if n in zipped.index]
    size = sum(zipped.index[n][1].file_size for n in names)
    if size > MAX_UNPACKED_BYTES:
        raise GfeError(
            f"the archive from {url} would unpack to {size:,} bytes, far more than the dataset's ~58 MB; "
            f"refusing to unpack it — check the URL (--url or {URL_ENV}), or {_manual(url)}"
        )
    return names


def _unpack_and_check(
    archive: Path, staging: Path, work: Path, url: str, checksums: Mapping[str, str]
) -> None:
    """Unpack the needed files (and extras) into ``staging`` and check every one of them."""
    zipped = _open_archive(archive, work, url)
    try:
        names = _members(zipped, url)
        staging.mkdir()
        hashes = {name: _copy_member(*zipped.index[name], staging / name, url) for name in names}
    finally:
        zipped.close()
    for name, got in hashes.items():
        want = checksums.get(name)
        if want is not None and got != want.lower():
            raise GfeError(
                f"{name} in the archive from {url} fails its checksum: sha256 {got}, expected {want}; "
                f"the download is corrupt or the archive has changed — retry, or {_manual(url)}"
            )
    for _, _, points, targets in _needed():
        label = next(n for n in targets if n in hashes)
        if points not in checksums or label not in checksums:
            _check_structure(staging, points, label, url)


def _check_structure(staging: Path, points: str, label: str, url: str) -> None:
    """A recording without checksums: the datapoints parse and there is one label per frame."""
    try:
        _, landmarks = load_datapoints(staging / points)
        labels = load_targets(staging / label)
    except GfeError as exc:
        message = str(exc).replace(str(staging) + os.sep, "")
        raise GfeError(
            f"a file in the archive from {url} is malformed: {message}; retry, or {_manual(url)}"
        ) from None
    if len(labels) != len(landmarks):
        raise GfeError(
            f"{points} in the archive from {url} has {len(landmarks)} frames but {label} has "
            f"{len(labels)} labels; the archive is damaged or not UCI's — retry, or {_manual(url)}"
        )


def download_dataset(
    dest: Path | None = None,
    url: str | None = None,
    checksums: dict[str, str] | None = None,
    progress: bool = True,
    timeout: float = 60,
) -> Path:
    """Download the UCI archive, check it and unpack its files into ``dest``; return ``dest``.

    ``dest`` defaults to :func:`gfe.data.location.cache_dir`; ``url`` to ``$GFE_DATA_URL``, then
    :data:`DEFAULT_URL`; ``checksums`` ({file name: sha256}) to the packaged ``SHA256SUMS``.
    ``timeout`` is in seconds, per network operation. ``dest`` is replaced only when every file
    checked out; on failure it is left as it was and a :class:`GfeError` explains what to do.
    """
    dest = Path(dest if dest is not None else cache_dir()).expanduser().absolute()
    url = resolve_url(url)
    sums = packaged_checksums() if checksums is None else dict(checksums)
    check_dest(dest, known_names())

    def fill(staging: Path, work: Path) -> None:
        archive = work / "archive.zip"
        _fetch(url, archive, timeout, progress)
        _unpack_and_check(archive, staging, work, mask_secrets(url), sums)
        archive.unlink()

    return install_folder(dest, fill, "download")
