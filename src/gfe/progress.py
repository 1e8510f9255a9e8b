"""The progress bar of long work. It draws on standard error, so standard output holds results only."""

from __future__ import annotations


def progress_bar(enabled: bool = True):
    """A rich progress bar on standard error (``enabled=False``: nothing is drawn)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<45}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )
