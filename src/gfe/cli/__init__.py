"""The `gfe` command line: a thin layer over the library. Every command parses its options, calls
the library and prints; every user-facing failure is one clear line and exit status 2."""

import typer

from gfe.cli import data, deploy, experiments, report
from gfe.cli.common import friendly

app = typer.Typer(
    help="Recognise Grammatical Facial Expressions of Brazilian Sign Language from Kinect face landmarks: "
    "reproduce the seed paper, benchmark models honestly, tune them, and label new recordings offline "
    "or live.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
for module, names in (
    (experiments, ("reproduce", "benchmark", "tune")),
    (deploy, ("train", "predict", "stream", "export")),
    (report, ("report",)),
):
    for name in names:
        app.command(name)(friendly(getattr(module, name)))


def main() -> None:  # pragma: no cover - console entry point
    app()
