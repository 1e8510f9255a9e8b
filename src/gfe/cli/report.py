"""``gfe report``: run folders → one self-contained HTML report (and the same tables as Markdown)."""

from pathlib import Path
from typing import Annotated

import typer

from gfe.cli.common import NoProgress, console, flag, warn


def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Run folders of gfe reproduce, gfe benchmark or gfe tune.", show_default=False),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="The HTML file; the Markdown copy goes beside it (.md).")
    ] = Path("report.html"),
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Dataset for the landmark face when the runs' own data_dir is gone "
            "(default: $GFE_DATA_DIR, then the download cache).",
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="Protocol of the timelines (default: chrono, else paper-holdout, else the first).",
        ),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option("--models", help="Comma-separated models of the timelines (default: the 3 best)."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report.")] = None,
    force: Annotated[
        bool, flag("--force", help="Write --out even inside a bundle or dataset folder.")
    ] = False,
    no_progress: NoProgress = False,
) -> None:
    """Write one self-contained HTML report of run folders, and its tables as Markdown.

    It holds Table 3, benchmark tables, F1 bars, confusion matrices, loss curves, timelines, tuning,
    the features on the face, commands and versions.
    """
    from gfe.report import make_report

    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    result = make_report(
        run_dirs, out, progress=not no_progress, data_dir=data_dir, protocol=protocol, models=chosen, title=title,
        force=force,
    )  # fmt: skip
    for warning in result.warnings:
        warn(warning)
    size = out.stat().st_size / 1e6
    console.print(
        f"report: {out} ({size:.1f} MB, {len(result.figures)} figures); tables also in {out.with_suffix('.md')}",
        highlight=False,
    )
