"""``gfe data``: check the dataset in use, or download UCI's own archive."""

from pathlib import Path
from typing import Annotated

import typer

from gfe.cli.common import DataDir, console, ensure_data, error, flag, friendly

app = typer.Typer(
    help="Check the dataset in use (the copy bundled with gfe, UCI's download or your folder), or download UCI's archive.",
    no_args_is_help=True,
)


@app.command("check")
@friendly
def check(data_dir: DataDir = None) -> None:
    """Load every recording, print a table of it and say which copy of the dataset is in use.

    Exits 1 if the dataset is broken. Without --data-dir or $GFE_DATA_DIR it checks the download
    cache, where the copy bundled with gfe is unpacked on first use.
    """
    from gfe.data import check_dataset, data_dir_source, resolve_data_dir

    source = data_dir_source(data_dir)
    path = resolve_data_dir(data_dir) if source != "cache" else ensure_data(None)
    summaries, problems = check_dataset(path)
    _print_recordings(path, summaries)
    console.print(
        f"{len(summaries)} recordings loaded. Unknown values (nan) are never filled in: frames with unknown "
        "x/y are masked out of training and scoring; z = 0 is Kinect's lost depth.",
        highlight=False,
    )
    for line in _copy_lines(path, source):
        console.print(line, highlight=False)
    for p in problems:
        error(p)
    if problems:
        raise typer.Exit(1)


def _print_recordings(path: Path, summaries: list[dict]) -> None:
    from rich.table import Table

    from gfe.report.tables import recordings_table

    data = recordings_table(summaries)
    table = Table(title=f"UCI GFE dataset in {path}")
    for i, h in enumerate(data.header):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for i, r in enumerate(data.rows):
        table.add_row(*r, end_section=i == len(data.rows) - 2)
    console.print(table)


COPIES = {
    "option": "the folder given with --data-dir",
    "env": "the folder in $GFE_DATA_DIR",
    "cache": "UCI's own archive, downloaded into the cache by `gfe data download`",
    "bundled": "the copy of UCI's dataset bundled with gfe (CC BY 4.0, see LICENSE-data), unpacked "
    "into the cache on first use; `gfe data download` replaces it with UCI's own archive",
}


def _copy_lines(path: Path, source: str) -> list[str]:
    """Which copy of the dataset ``path`` is, and which of its files are reconstructions."""
    from gfe.data import is_bundled_copy
    from gfe.data.bundled import RECONSTRUCTIONS, reconstructed_files

    kind = "bundled" if is_bundled_copy(path) else source
    lines = [f"Copy in use: {path} — {COPIES[kind]}."]
    rebuilt = reconstructed_files(path)
    if rebuilt:
        details = "; ".join(f"{name} — {RECONSTRUCTIONS[name]}" for name in rebuilt)
        lines.append(
            f"{len(rebuilt)} of its files are reconstructions, not UCI's bytes: {details}. "
            "`gfe data download` fetches UCI's complete files."
        )
    return lines


@app.command("download")
@friendly
def download(
    url: Annotated[
        str | None, typer.Option(help="Archive URL (default: UCI dataset 317; env GFE_DATA_URL).")
    ] = None,
    dest: Annotated[Path | None, typer.Option(help="Where to unpack (default: the per-user cache).")] = None,
    quiet: Annotated[bool, flag("--quiet", help="No progress bar.")] = False,
) -> None:
    """Download UCI's archive, verify every file's sha256, and unpack it atomically.

    It goes into the per-user cache by default, where it replaces the copy bundled with gfe.
    """
    from gfe.data.download import download_dataset

    path = download_dataset(dest=dest, url=url, progress=not quiet)
    console.print(f"dataset ready in {path}", highlight=False)
