"""The copy of the UCI dataset that ships with gfe, so that gfe works offline from a fresh clone.

UCI dataset 317, "Grammatical Facial Expressions" (Freitas, Peres, Lima, Barbosa, 2014;
https://archive.ics.uci.edu/dataset/317/grammatical+facial+expressions) is licensed under CC BY
4.0; gfe carries it with attribution (``LICENSE-data``). :data:`ARCHIVE` is one xz-compressed tar
of the 36 data files and ``data_descriptions.txt``, byte for byte as in the project's copy of the
dataset; :data:`SUMS` holds the sha256 of each of those 37 files.

Two of its files are reconstructions, not UCI's bytes (:data:`RECONSTRUCTIONS`): the public
copies the project could use omit files over 4 MiB, and these two were rebuilt from independent
public derived copies. Their unknown values are written ``nan`` and never filled in. The other 34
files are UCI's own (their sha256 are also the packaged ``SHA256SUMS`` that downloads are checked
against). ``gfe data download`` fetches UCI's own archive, which has no unknown values.

On first use, when neither ``--data-dir`` nor ``$GFE_DATA_DIR`` names a folder and the download
cache is empty, :func:`unpack_bundled` unpacks the archive into the cache, checks every file
against :data:`SUMS`, writes the marker file :data:`~gfe.data.location.BUNDLED_MARKER` and moves
the folder into place atomically (:func:`gfe.data.install.install_folder`).

The archive was made, from the folder of the 37 files, with::

    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2014-01-01 00:00Z' -cf - \\
        *_datapoints.txt *_targets.txt data_descriptions.txt \\
        | xz --lzma2=preset=9e,lc=4,pb=0,nice=273 > uci-gfe.tar.xz

(14.9 MB; the 37 files are 58 MB; plain ``xz -9e`` gives 15.0 MB.)
"""

from __future__ import annotations

import hashlib
import lzma
import tarfile
from importlib.resources import files
from pathlib import Path

from gfe import __version__
from gfe.data.download import CHUNK, PAGE_URL, known_names, parse_checksums
from gfe.data.install import check_dest, install_folder
from gfe.data.location import BUNDLED_MARKER, cache_dir, dataset_present
from gfe.errors import GfeError

ARCHIVE = "uci-gfe.tar.xz"
SUMS = "uci-gfe.SHA256SUMS"
LICENCE = "CC BY 4.0"
CITATION = (
    "Freitas, F. A., Peres, S. M., Lima, C. A. M., Barbosa, F. V. (2014). Grammatical Facial "
    "Expressions Recognition with Machine Learning. FLAIRS 2014. UCI Machine Learning Repository, "
    f"dataset 317, {PAGE_URL}"
)
RECONSTRUCTIONS = {
    "b_conditional_datapoints.txt": "timestamps unknown (nan), every coordinate original",
    "a_relative_datapoints.txt": "timestamps unknown (nan), x and y unknown (nan) in 588 frames, all labelled 0",
}
MARKER_TEXT = f"""This folder holds the copy of UCI's Grammatical Facial Expressions dataset (dataset 317)
that is bundled with gfe {{version}}, unpacked here on first use.

{CITATION}
Licence: {LICENCE} (https://creativecommons.org/licenses/by/4.0/); see LICENSE-data in gfe.

Two files are reconstructions, not UCI's bytes (unknown values are written nan):
{{reconstructions}}
`gfe data download` replaces this folder with UCI's own archive.
"""


def bundled_checksums() -> dict[str, str]:
    """The sha256 of each of the 37 files in the bundled archive."""
    resource = files("gfe.data") / SUMS
    return parse_checksums(resource.read_text(encoding="utf-8"), f"gfe/data/{SUMS}")


def _damaged(what: str) -> GfeError:
    return GfeError(
        f"gfe's bundled copy of the dataset (gfe/data/{ARCHIVE}) {what}; reinstall gfe, or fetch UCI's "
        "own archive with `gfe data download`, or pass --data-dir"
    )


def _copy(src, target: Path) -> str:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _extract(staging: Path, sums: dict[str, str]) -> dict[str, str]:
    """Unpack every member of the archive into ``staging``; return {name: sha256}. Only regular
    files with a listed name are accepted (nothing can land outside ``staging``)."""
    resource = files("gfe.data") / ARCHIVE
    if not resource.is_file():
        raise _damaged("is missing from this installation")
    hashes: dict[str, str] = {}
    try:
        with resource.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:xz") as tar:
            for member in tar:
                if not member.isfile() or member.name not in sums or member.name in hashes:
                    raise _damaged(f"holds an unexpected member {member.name!r}")
                source = tar.extractfile(member)
                hashes[member.name] = _copy(source, staging / member.name)
    except (tarfile.TarError, lzma.LZMAError, EOFError) as exc:
        raise _damaged(f"cannot be unpacked ({exc})") from None
    return hashes


def _fill(staging: Path, sums: dict[str, str]) -> None:
    staging.mkdir()
    hashes = _extract(staging, sums)
    if missing := sorted(set(sums) - set(hashes)):
        raise _damaged(f"lacks {len(missing)} file(s): {', '.join(missing[:4])}")
    for name, got in hashes.items():
        if got != sums[name]:
            raise _damaged(f"is damaged: {name} fails its checksum (sha256 {got}, expected {sums[name]})")
    lines = "".join(f"- {name}: {what}\n" for name, what in RECONSTRUCTIONS.items())
    text = MARKER_TEXT.format(version=__version__, reconstructions=lines)
    (staging / BUNDLED_MARKER).write_text(text, encoding="utf-8")


def unpack_bundled(dest: str | Path | None = None) -> Path:
    """Unpack the bundled copy into ``dest`` (default: the download cache), check every file
    against its sha256 and move the folder into place atomically; return ``dest``. A ``dest`` that
    already holds a dataset when the copy is ready (another process was quicker) is kept."""
    dest = Path(dest if dest is not None else cache_dir()).expanduser().absolute()
    check_dest(dest, known_names())
    sums = bundled_checksums()
    return install_folder(dest, lambda staging, _work: _fill(staging, sums), "unpack", keep=dataset_present)


def reconstructed_files(data_dir: str | Path) -> list[str]:
    """The files of ``data_dir`` that are the bundled reconstructions (same sha256), in the order
    of :data:`RECONSTRUCTIONS`; empty for UCI's own download."""
    sums = bundled_checksums()
    out = []
    for name in RECONSTRUCTIONS:
        path = Path(data_dir) / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
            if digest.hexdigest() == sums[name]:
                out.append(name)
    return out
