"""Commands that use trained models: ``gfe train``, ``gfe predict``, ``gfe stream``, ``gfe export``.

:func:`register` adds them to the ``gfe`` app (``gfe.cli`` calls it). gfe.cli is imported inside
:func:`register` only, so this module can be imported first without an import cycle.
"""

# No `from __future__ import annotations`: typer reads the Annotated aliases defined in register().

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from gfe import EXPRESSIONS
from gfe.errors import GfeError

COMMANDS = ("train", "predict", "stream", "export")


def parse_model_params(items: list[str], model: str) -> dict:
    """``NAME=VALUE`` (or ``MODEL.NAME=VALUE``) strings → keyword parameters of ``model``."""
    from gfe.cli import parse_params

    fixed = [item if "." in item.partition("=")[0] else f"{model}.{item}" for item in items]
    params = parse_params(fixed)
    other = sorted(set(params) - {model})
    if other:
        raise GfeError(f"--param for model(s) {', '.join(other)}, but this trains {model!r}")
    return params.get(model, {})


def _norm(signer, calibrate, calibrate_seconds, calibrate_frames):
    from gfe.labelling import Normalisation

    return Normalisation(
        signer=signer,
        calibrate=calibrate,
        calibrate_seconds=calibrate_seconds,
        calibrate_frames=calibrate_frames,
    )


def register(app: typer.Typer) -> None:
    """Add train, predict, stream and export to ``app`` (a second call changes nothing)."""
    if {c.name for c in app.registered_commands} & set(COMMANDS):
        return
    from gfe.cli import DataDir, _ensure_data, console, err_console, friendly

    Expression = Annotated[
        str | None, typer.Option("--expression", help="Expression; with a folder of bundles, picks one.")
    ]
    Signer = Annotated[
        str | None,
        typer.Option("--signer", help="Use a training signer's normalisation (default: pooled statistics)."),
    ]
    CalSeconds = Annotated[
        float | None,
        typer.Option(
            "--calibrate-seconds",
            help="New signer: z-score on the first N seconds of the recording (no labels used).",
        ),
    ]
    CalFrames = Annotated[
        int | None, typer.Option("--calibrate-frames", help="As --calibrate-seconds, counted in frames.")
    ]
    Threshold = Annotated[
        float | None, typer.Option("--threshold", help="Decision threshold (default: the bundle's).")
    ]

    @app.command("train")
    @friendly
    def train(
        out: Annotated[
            Path, typer.Option("--out", help="Bundle folder to write (with --all: one per expression).")
        ],
        expression: Annotated[str | None, typer.Option("--expression", help="Expression to detect.")] = None,
        all_: Annotated[
            bool, typer.Option("--all", help="Train all 9 expressions into OUT/<expression>.")
        ] = False,
        model: Annotated[
            str | None,
            typer.Option(
                "--model", help="paper-lstm, mlp, seq-lstm, gru, tcn or bilstm (default: seq-lstm)."
            ),
        ] = None,
        signers: Annotated[
            str | None, typer.Option("--signers", help="Training signers, e.g. a,b (default: all).")
        ] = None,
        features: Annotated[
            str | None, typer.Option("--features", help="Feature spec: clean or paper (default: clean).")
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of initialisation, shuffling and noise.")] = 0,
        threshold: Annotated[
            float, typer.Option("--threshold", help="Decision threshold stored in the bundle.")
        ] = 0.5,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", help="Model parameter NAME=VALUE, e.g. hidden=128 (repeatable)."),
        ] = None,
        config: Annotated[
            Path | None,
            typer.Option(
                "--config", help="Model config file (best_config.json of `gfe tune`); --param overrides."
            ),
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Train a model on the dataset and save it as a self-describing bundle."""
        from gfe.bundle import train_bundle
        from gfe.tune import read_model_config

        if all_ == (expression is not None):
            raise GfeError("give --expression E, or --all for all 9 expressions")
        params: dict = {}
        if config is not None:
            cfg = read_model_config(config)
            if model is not None and model != cfg["model"]:
                raise GfeError(f"{config}: the config is for model {cfg['model']!r}, not --model {model}")
            model, features, params = cfg["model"], features or cfg["features"], dict(cfg["params"])
        model, features = model or "seq-lstm", features or "clean"
        params.update(parse_model_params(param or [], model))
        path = _ensure_data(data_dir)
        targets = list(EXPRESSIONS) if all_ else [expression]
        for e in targets:
            t0 = time.perf_counter()
            bundle = train_bundle(
                path, e, model, signers=signers.split(",") if signers else None, features=features,
                seed=seed, params=params, threshold=threshold,
            )  # fmt: skip
            folder = bundle.save(out / e if all_ else out)
            tr = bundle.config["training"]
            console.print(
                f"{e}: {model} trained on {tr['train_frames']} frames"
                + (f" ({tr['validation_frames']} for early stopping)" if tr["validation_frames"] else "")
                + f" in {time.perf_counter() - t0:.1f} s → {folder}",
                highlight=False,
                soft_wrap=True,
            )

    @app.command("predict")
    @friendly
    def predict(
        bundle: Annotated[
            Path, typer.Argument(help="A bundle folder, or a folder of bundles (gfe train --all).")
        ],
        recording: Annotated[Path, typer.Argument(help="A UCI-format *_datapoints.txt file.")],
        out: Annotated[
            str | None,
            typer.Option("--out", help="Output file (.csv or .json), or - for standard output."),
        ] = None,
        fmt: Annotated[
            str | None, typer.Option("--format", help="csv or json (default: from --out).")
        ] = None,
        expression: Expression = None,
        signer: Signer = None,
        calibrate: Annotated[
            bool, typer.Option("--calibrate", help="New signer: z-score the recording on all its own frames.")
        ] = False,
        calibrate_seconds: CalSeconds = None,
        calibrate_frames: CalFrames = None,
        threshold: Threshold = None,
        min_frames: Annotated[
            int, typer.Option("--min-frames", min=1, help="Drop segments shorter than this many frames.")
        ] = 1,
        targets: Annotated[
            Path | None,
            typer.Option("--targets", help="Labels of the recording: adds F1 etc. to the report."),
        ] = None,
    ) -> None:
        """Label every frame of a recording, and list the segments of each expression."""
        from gfe.bundle import load_bundles
        from gfe.labelling import predict_file

        bundles = load_bundles(bundle, expression)
        norm = _norm(signer, calibrate, calibrate_seconds, calibrate_frames)
        timeline = predict_file(bundles, recording, norm, threshold, min_frames, targets)
        written = timeline.write(out, fmt) if out is not None else []
        show = err_console if out == "-" else console
        _print_summary(show, timeline, written)

    @app.command("stream")
    @friendly
    def stream(
        bundle: Annotated[
            Path, typer.Argument(help="A bundle folder (or a folder of bundles with --expression).")
        ],
        source: Annotated[
            str, typer.Argument(help="UCI-format frame lines: a file, or - for standard input.")
        ] = "-",
        follow: Annotated[
            bool, typer.Option("--follow", help="Keep reading a file that is still being written.")
        ] = False,
        idle_exit: Annotated[
            float,
            typer.Option("--idle-exit", help="With --follow: stop after this many seconds without data."),
        ] = 10.0,
        expression: Expression = None,
        signer: Signer = None,
        calibrate_seconds: CalSeconds = None,
        calibrate_frames: CalFrames = None,
        threshold: Threshold = None,
        quiet: Annotated[bool, typer.Option("--quiet", help="No summary on standard error.")] = False,
    ) -> None:
        """Label frames as they arrive: one JSON line per frame (probability, label, latency)."""
        from gfe.stream import Detector, read_lines, run_stream

        det = Detector.from_bundle(
            bundle, expression=expression, signer=signer, calibrate_seconds=calibrate_seconds,
            calibrate_frames=calibrate_frames, threshold=threshold,
        )  # fmt: skip
        if follow and source == "-":
            raise GfeError("--follow reads a file that is being written; standard input is followed anyway")
        try:
            summary = run_stream(det, read_lines(source, follow=follow, idle_exit=idle_exit), sys.stdout)
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            _silence_stdout()
            raise typer.Exit(0) from None
        if not quiet:
            lat = summary["median_latency_us"]
            err_console.print(
                f"{summary['frames']} frames, {summary['decisions']} decisions, "
                f"{summary['bad_lines']} bad lines"
                + (f", median latency {lat:.0f} µs" if lat is not None else ""),
                highlight=False,
            )

    @app.command("export")
    @friendly
    def export(
        bundle: Annotated[
            Path, typer.Argument(help="A bundle folder (or a folder of bundles with --expression).")
        ],
        onnx: Annotated[Path, typer.Option("--onnx", help="ONNX file to write.")],
        expression: Expression = None,
    ) -> None:
        """Export a bundle's model to ONNX (PaperLSTM, MLP; SeqLSTM and GRU as a stateful step)."""
        from gfe.bundle import BundleError, load_bundles
        from gfe.export import export_onnx

        bundles = load_bundles(bundle, expression)
        if len(bundles) > 1:
            raise BundleError(
                f"bundle {bundle}: a folder of {len(bundles)} bundles; choose one with --expression"
            )
        info = export_onnx(bundles[0], onnx)
        console.print(
            f"{onnx}: inputs {', '.join(info['inputs'])} → outputs {', '.join(info['outputs'])}",
            highlight=False,
        )


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. under a test runner)
        pass


def _describe_norm(info: dict) -> str:
    if info["method"] == "pooled":
        return f"pooled statistics of training signer(s) {', '.join(info['signers'])}"
    if info["method"] == "training signer":
        return f"training signer {info['signer']}'s statistics"
    return f"calibrated on the recording's {info.get('window', 'frames')} ({info['frames']} frames)"


def _print_summary(console, timeline, written: list[Path]) -> None:
    import json

    from rich.table import Table

    rep = timeline.report
    console.print(
        f"{timeline.recording}: {rep['frames']} frames; masked (unknown features) {rep['masked_frames']}; "
        f"unknown timestamps {rep['unknown_timestamps']}; timestamps going backwards "
        f"{rep['timestamps_backwards']}; zero-depth values {rep['zero_depth_values']}",
        highlight=False,
        soft_wrap=True,
    )
    for w in timeline.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    labs = timeline.labellings
    norms = {json.dumps(lab.normalisation, sort_keys=True) for lab in labs}
    console.print(
        f"model(s): {', '.join(sorted({lab.model for lab in labs}))}; normalisation: "
        + ("; ".join(sorted(norms)) if len(norms) > 1 else _describe_norm(labs[0].normalisation)),
        highlight=False,
        soft_wrap=True,
    )
    table = Table(title=f"segments (runs of ≥ {labs[0].min_frames} positive frames)")
    for col in ("expression", "positive frames", "segments", "first segments (frames)"):
        table.add_column(col, justify="left" if col == "expression" else "right")
    for lab in labs:
        first = ", ".join(f"{s['start_frame']}–{s['end_frame']}" for s in lab.segments[:3])
        more = f" … +{len(lab.segments) - 3}" if len(lab.segments) > 3 else ""
        table.add_row(lab.expression, str(lab.n_positive), str(len(lab.segments)), first + more)
    console.print(table)
    if timeline.metrics:
        m = timeline.metrics
        console.print(
            f"against the targets ({m['scored_frames']} frames): F1 {m['f1']:.4f}, precision "
            f"{m['precision']:.4f}, recall {m['recall']:.4f}, accuracy {m['accuracy']:.4f}",
            highlight=False,
            soft_wrap=True,
        )
    for p in written:
        console.print(f"wrote {p}", highlight=False)
