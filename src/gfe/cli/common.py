"""What every command shares: the consoles, one-line errors, common options, the dataset folder.

Standard output carries results only (tables, the labelled frames, JSON lines); progress bars,
notices and errors go to standard error.
"""

# No `from __future__ import annotations`: typer reads the Annotated types of the commands.

import contextlib
import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gfe.errors import GfeError, os_error_message

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def flag(*names: str, help: str):
    """A boolean option that takes no value (``--force``, or ``--evaluate/--no-evaluate``): shown in
    ``--help`` without a value type, since ``--force true`` is not how it is written."""
    return typer.Option(*names, help=help, metavar="")


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Dataset folder (default: $GFE_DATA_DIR, then the cache: UCI's download, else the copy bundled with gfe).",
    ),
]
NoProgress = Annotated[bool, flag("--no-progress", help="No progress bar.")]
Device = Annotated[
    str,
    typer.Option("--device", help="Where torch models train: auto (CUDA when there is a GPU), cpu or cuda."),
]
Force = Annotated[
    bool, flag("--force", help="Replace an existing run folder (or bundle) of another configuration.")
]


def error(message: str) -> None:
    """One line on standard error, markup-free."""
    err_console.print(f"[bold red]error:[/] {_escape(message)}", highlight=False)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {_escape(message)}", highlight=False)


def notice(message: str) -> None:
    err_console.print(_escape(message), highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))


def friendly(fn):
    """Turn a GfeError into one line on stderr and exit status 2 — never a traceback; Ctrl-C is one
    line and status 130; a closed standard output (``| head``) ends quietly; any other error of the
    operating system (a full disk, a closed stream) is one line naming the file, and status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                return fn(*args, **kwargs)
        except GfeError as exc:
            error(str(exc))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:
            on_stdout = not _flush_stdout()
            error(os_error_message(exc, "standard output" if on_stdout and not exc.filename else None))
            raise typer.Exit(2) from None

    return wrapper


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (e.g. a torn last line of cells.jsonl dropped) as one ``warning:`` line."""
    warn(str(message))


def _flush_stdout() -> bool:
    """Flush standard output; when that fails too (a full disk behind it), silence it so that the
    interpreter's own flush at exit adds no second message. True when standard output is fine."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
        return True
    except (OSError, ValueError):
        silence_stdout()
        return False


@contextlib.contextmanager
def writing_stdout():
    """Around code that writes results to standard output: an error of the stream itself (a full
    disk behind ``> file``) is one line that says so. A reader that went away (``| head``) is left
    to :func:`friendly`, which ends quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.filename is not None:
            raise
        silence_stdout()
        raise GfeError(os_error_message(exc, "standard output")) from None


def silence_stdout() -> None:
    """Point standard output at /dev/null (after the reader of a pipe went away)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. under a test runner)
        pass


def ensure_data(data_dir: Path | None) -> Path:
    """The dataset folder to use (see :func:`gfe.data.locate_dataset`), saying which copy is used."""
    from gfe.data import locate_dataset

    located = locate_dataset(data_dir, notice=notice)
    return located


def print_text(text: str) -> None:
    """Plain text (a Markdown table, JSON) to standard output, as is."""
    console.print(text, markup=False, highlight=False)


def names(value: str | None, known, what: str) -> tuple[str, ...] | None:
    """A comma-separated option → the chosen names (or None when the option was not given)."""
    from gfe.data import parse_names

    return None if value is None else tuple(parse_names(value, list(known), what))
