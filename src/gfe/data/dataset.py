"""Recordings of the UCI layout: find a recording's two files, load one recording or all of them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gfe import EXPRESSIONS, SIGNERS
from gfe.data.files import load_datapoints, load_targets
from gfe.data.location import DATA_ENV, dataset_present, resolve_data_dir
from gfe.data.names import check_expression, check_signer, datapoints_name, targets_names
from gfe.data.recording import Recording
from gfe.errors import DataError, GfeError


def read_file(load, path: Path):
    """``load(path)`` — a file that cannot be read (permissions, a folder, an I/O error) is one
    :class:`DataError` naming it; so is any other failure of the parser to say what is wrong (a
    safety net: the parser's own errors name the line and value)."""
    try:
        return load(path)
    except OSError as exc:
        raise DataError(
            f"{path}: cannot be read ({exc.strerror or type(exc).__name__}); check its permissions"
        ) from None
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise DataError(
            f"{path}: not a UCI-format file ({type(exc).__name__}: {str(exc)[:120]}); every line must hold "
            "a timestamp and 300 numbers (targets: one 0 or 1 per line)"
        ) from None


def find_targets(data_dir: Path, signer: str, expression: str) -> Path:
    for name in targets_names(signer, expression):
        if (data_dir / name).is_file():
            return data_dir / name
    raise DataError(
        f"{data_dir / targets_names(signer, expression)[0]}: file not found; "
        "check the data folder or run `gfe data download`"
    )


def load_recording(data_dir: str | Path, signer: str, expression: str) -> Recording:
    """Load one labelled recording of the UCI layout."""
    data_dir = Path(data_dir)
    check_signer(signer)
    check_expression(expression)
    points = data_dir / datapoints_name(signer, expression)
    timestamps, landmarks = read_file(load_datapoints, points)
    targets = find_targets(data_dir, signer, expression)
    labels = read_file(load_targets, targets)
    if len(labels) != len(landmarks):
        raise DataError(
            f"{targets}: {len(labels)} labels but {points.name} has {len(landmarks)} frames; "
            "each frame needs exactly one label — use the targets file of the same recording"
        )
    return Recording(
        signer, expression, timestamps, landmarks, labels, source=points, meta={"targets": targets}
    )


def load_dataset(
    data_dir: str | Path,
    expressions: Iterable[str] | None = None,
    signers: Iterable[str] | None = None,
) -> list[Recording]:
    """Load every (signer, expression) recording, signer-major within each expression."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"{data_dir}: data folder not found; pass --data-dir, set {DATA_ENV}, or run `gfe data download`"
        )
    exprs = [check_expression(e) for e in (expressions or EXPRESSIONS)]
    sigs = [check_signer(s) for s in (signers or SIGNERS)]
    return [load_recording(data_dir, s, e) for e in exprs for s in sigs]


def check_dataset(data_dir: str | Path) -> tuple[list[dict], list[str]]:
    """Load every recording of the folder: (one summary per loaded recording, one message per
    recording that failed to load). ``gfe data check`` prints both."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(
            f"{data_dir}: data folder not found; pass --data-dir, set {DATA_ENV} or run `gfe data download`"
        )
    summaries, problems = [], []
    for e in EXPRESSIONS:
        for s in SIGNERS:
            try:
                summaries.append(load_recording(data_dir, s, e).summary())
            except GfeError as exc:
                problems.append(str(exc))
    return summaries, problems


def locate_dataset(explicit: str | Path | None = None, notice=None) -> Path:
    """The dataset folder to use: ``explicit`` (``--data-dir``), ``$GFE_DATA_DIR``, else the download
    cache — where the copy bundled with gfe is unpacked first when the cache is empty (saying so
    through ``notice``). Nothing is downloaded here: only ``gfe data download`` downloads. A folder
    that was named but holds no dataset is an error that says so."""
    path = resolve_data_dir(explicit)
    if dataset_present(path):
        return path
    if explicit is not None or os.environ.get(DATA_ENV):
        raise DataError(
            f"{path}: no UCI dataset there (expected files like a_affirmative_datapoints.txt); "
            f"fix --data-dir / {DATA_ENV}, or unset them to use the cache"
        )
    from gfe.data.bundled import unpack_bundled

    if notice is not None:
        notice(
            f"No dataset found: unpacking the copy of UCI's dataset bundled with gfe into {path} "
            "(CC BY 4.0; 2 of its files are reconstructions, see `gfe data check`; "
            "`gfe data download` fetches UCI's own archive)"
        )
    return unpack_bundled(path)
