"""``gfe data``: find, check and download the UCI dataset."""

from pathlib import Path
from typing import Annotated

import typer

from gfe.cli.common import DataDir, console, error, friendly

app = typer.Typer(help="Find, check and download the UCI dataset.", no_args_is_help=True)


@app.command("check")
@friendly
def check(data_dir: DataDir = None) -> None:
    """Load every recording, print a table of it, and exit 1 if the dataset is broken."""
    from rich.table import Table

    from gfe.data import check_dataset, resolve_data_dir
    from gfe.report.tables import recordings_table

    path = resolve_data_dir(data_dir)
    summaries, problems = check_dataset(path)
    data = recordings_table(summaries)
    table = Table(title=f"UCI GFE dataset in {path}")
    for i, h in enumerate(data.header):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for i, r in enumerate(data.rows):
        table.add_row(*r, end_section=i == len(data.rows) - 2)
    console.print(table)
    console.print(
        f"{len(summaries)} recordings loaded. Unknown values (nan) are never filled in: frames with unknown "
        "x/y are masked out of training and scoring; z = 0 is Kinect's lost depth.",
        highlight=False,
    )
    for p in problems:
        error(p)
    if problems:
        raise typer.Exit(1)


@app.command("download")
@friendly
def download(
    url: Annotated[
        str | None, typer.Option(help="Archive URL (default: UCI dataset 317; env GFE_DATA_URL).")
    ] = None,
    dest: Annotated[Path | None, typer.Option(help="Where to unpack (default: the per-user cache).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Download the UCI archive, verify every file's sha256, and unpack it atomically."""
    from gfe.data.download import download_dataset

    path = download_dataset(dest=dest, url=url, progress=not quiet)
    console.print(f"dataset ready in {path}", highlight=False)
