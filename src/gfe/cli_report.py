"""``gfe report``: run folders → one self-contained HTML report (and the same tables as Markdown).

:func:`register` adds the command to the ``gfe`` app (``gfe.cli`` calls it). gfe.cli is imported
inside :func:`register` only, so this module can be imported first without an import cycle.
"""

# No `from __future__ import annotations`: typer reads the Annotated types of the command.

from pathlib import Path
from typing import Annotated

import typer

COMMAND = "report"


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app`` (a second call changes nothing)."""
    if COMMAND in {c.name for c in app.registered_commands}:
        return
    from gfe.cli import console, err_console, friendly

    @app.command(COMMAND)
    @friendly
    def report(
        run_dirs: Annotated[
            list[Path],
            typer.Argument(
                help="Run folders of gfe reproduce, gfe benchmark or gfe tune.", show_default=False
            ),
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
        no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    ) -> None:
        """One self-contained HTML report of run folders: Table 3, benchmark tables, F1 bars, confusion
        matrices, loss curves, timelines, tuning, the features on the face, commands and versions."""
        from rich.markup import escape

        from gfe.htmlreport import make_report

        chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
        result = make_report(
            run_dirs, out, progress=not no_progress, data_dir=data_dir, protocol=protocol,
            models=chosen, title=title,
        )  # fmt: skip
        for warning in result.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
        n = len(result.figures)
        size = out.stat().st_size / 1e6
        console.print(f"report: {out} ({size:.1f} MB, {n} figures); tables also in {out.with_suffix('.md')}",
                      highlight=False, soft_wrap=True)  # fmt: skip
