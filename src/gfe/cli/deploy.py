"""Commands that use trained models: ``gfe train``, ``gfe predict``, ``gfe stream``, ``gfe export``."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from gfe.cli.common import DataDir, Device, console, ensure_data, err_console, flag, notice, writing_stdout
from gfe.errors import GfeError
from gfe.experiments.configs import TRAIN_DEFAULT

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


def _bundle_models() -> str:
    from gfe.models import model_names

    return ", ".join(model_names(lambda c: c.tags.bundle))


def _default_model() -> str:
    model, _, params = TRAIN_DEFAULT
    return model + "".join(f", {k}={v}" for k, v in params.items())


def _norm(signer, calibrate, calibrate_seconds, calibrate_frames):
    from gfe.deploy import Normalisation

    return Normalisation(
        signer=signer,
        calibrate=calibrate,
        calibrate_seconds=calibrate_seconds,
        calibrate_frames=calibrate_frames,
    )


def train(
    out: Annotated[
        Path, typer.Option("--out", help="Bundle folder to write (with --all: one per expression).")
    ],
    expression: Annotated[str | None, typer.Option("--expression", help="Expression to detect.")] = None,
    all_: Annotated[
        bool,
        flag(
            "--all",
            help="Train all 9 expressions into OUT/<expression> (a multi-expression model: one bundle in OUT).",
        ),
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", help=f"{_bundle_models()} (default: {_default_model()}).")
    ] = None,
    signers: Annotated[
        str | None, typer.Option("--signers", help="Training signers, e.g. a,b (default: all).")
    ] = None,
    features: Annotated[
        str | None, typer.Option("--features", help=f"Feature spec (default: {TRAIN_DEFAULT[1]}).")
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
    force: Annotated[bool, flag("--force", help="Replace an existing bundle in --out.")] = False,
    device: Device = "cpu",
    data_dir: DataDir = None,
) -> None:
    """Train a model on the dataset and save it as a self-describing bundle."""
    from gfe.deploy.training import expressions_to_train, train_bundles
    from gfe.experiments.configs import train_settings
    from gfe.models.device import resolve_device

    model, features, params = train_settings(config, model, features, param or [])
    expressions, all_ = expressions_to_train(model, expression, all_)

    def report(e: str, bundle, seconds: float) -> None:
        tr = bundle.config["training"]
        early = f" ({tr['validation_frames']} for early stopping)" if tr["validation_frames"] else ""
        console.print(
            f"{e}: {model} trained on {tr['train_frames']} frames{early} in {seconds:.1f} s → {bundle.path}",
            highlight=False,
        )

    train_bundles(
        ensure_data(data_dir), expressions, model, out, one_folder_each=all_, force=force, report=report,
        signers=signers.split(",") if signers else None, features=features, seed=seed, params=params,
        threshold=threshold, device=resolve_device(device),
    )  # fmt: skip


def predict(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle folder, or a folder of bundles (gfe train --all).")
    ],
    recording: Annotated[Path, typer.Argument(help="A UCI-format *_datapoints.txt file.")],
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Output file (.csv or .json; its segments go beside a CSV), or - for standard output (the default).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="csv or json (default: from the suffix of --out; json on standard output)."
        ),
    ] = None,
    expression: Expression = None,
    signer: Signer = None,
    calibrate: Annotated[
        bool, flag("--calibrate", help="New signer: z-score the recording on all its own frames.")
    ] = False,
    calibrate_seconds: CalSeconds = None,
    calibrate_frames: CalFrames = None,
    threshold: Threshold = None,
    min_frames: Annotated[
        int, typer.Option("--min-frames", min=1, help="Drop segments shorter than this many frames.")
    ] = 1,
    targets: Annotated[
        Path | None, typer.Option("--targets", help="Labels of the recording: adds F1 etc. to the report.")
    ] = None,
    force: Annotated[
        bool, flag("--force", help="Write --out even inside a bundle, run or dataset folder.")
    ] = False,
) -> None:
    """Label every frame of a recording and list the segments of each expression.

    The frames go to --out (CSV or JSON, from its suffix or --format), else to standard output as
    JSON; the summary goes to standard error.
    """
    from gfe.deploy import load_bundles, predict_file
    from gfe.deploy.labelling import check_output

    target = check_output(out, fmt, inputs=[recording, targets, bundle], force=force)
    if target.path == "-" and sys.stdout is None:
        raise GfeError("standard output is closed; give --out FILE.csv (or .json), or somewhere to write")
    bundles = load_bundles(bundle, expression)
    norm = _norm(signer, calibrate, calibrate_seconds, calibrate_frames)
    timeline = predict_file(bundles, recording, norm, threshold, min_frames, targets)
    with writing_stdout():
        written = timeline.write(target.path, target.format)
    _print_summary(timeline, written)


def stream(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle folder (or a folder of bundles with --expression).")
    ],
    source: Annotated[
        str, typer.Argument(help="UCI-format frame lines: a file, or - for standard input.")
    ] = "-",
    follow: Annotated[
        bool, flag("--follow", help="Keep reading a file that is still being written.")
    ] = False,
    idle_exit: Annotated[
        float, typer.Option("--idle-exit", help="With --follow: stop after this many seconds without data.")
    ] = 10.0,
    expression: Expression = None,
    signer: Signer = None,
    calibrate_seconds: CalSeconds = None,
    calibrate_frames: CalFrames = None,
    threshold: Threshold = None,
    quiet: Annotated[bool, flag("--quiet", help="No summary on standard error.")] = False,
) -> None:
    """Label frames as they arrive: one JSON line per frame (probability, label, latency)."""
    import math

    from gfe.deploy import Detector
    from gfe.deploy.stream import read_lines, run_stream

    if follow and source == "-":
        raise GfeError("--follow reads a file that is being written; standard input is followed anyway")
    if sys.stdout is None:
        raise GfeError("standard output is closed; give gfe stream somewhere to write (e.g. > out.jsonl)")
    if source == "-" and sys.stdin is None:
        raise GfeError("standard input is closed; pipe frames in (e.g. < frames.txt), or give a file to read")
    if not (math.isfinite(idle_exit) and idle_exit >= 0):
        raise GfeError(f"--idle-exit {idle_exit}: give a number of seconds >= 0")
    det = Detector.from_bundle(
        bundle, expression=expression, signer=signer, calibrate_seconds=calibrate_seconds,
        calibrate_frames=calibrate_frames, threshold=threshold,
    )  # fmt: skip
    with writing_stdout():
        summary = run_stream(det, read_lines(source, follow=follow, idle_exit=idle_exit), sys.stdout)
    if not quiet:
        lat = summary["median_latency_us"]
        notice(
            f"{summary['frames']} frames, {summary['decisions']} decisions, {summary['bad_lines']} bad lines"
            + (f", median latency {lat:.0f} µs" if lat is not None else "")
        )


def export(
    bundle: Annotated[
        Path, typer.Argument(help="A bundle folder (or a folder of bundles with --expression).")
    ],
    onnx: Annotated[Path, typer.Option("--onnx", help="ONNX file to write.")],
    expression: Expression = None,
    force: Annotated[
        bool, flag("--force", help="Write --onnx even inside a bundle, run or dataset folder.")
    ] = False,
) -> None:
    """Export a bundle's model to ONNX (PaperLSTM, MLP; SeqLSTM and GRU as a stateful step)."""
    from gfe.deploy import BundleError, load_bundles
    from gfe.deploy.onnx import export_onnx

    bundles = load_bundles(bundle, expression)
    if len(bundles) > 1:
        raise BundleError(
            f"bundle {bundle}: a folder of {len(bundles)} bundles; choose one with --expression"
        )
    info = export_onnx(bundles[0], onnx, force=force)
    console.print(
        f"{onnx}: inputs {', '.join(info['inputs'])} → outputs {', '.join(info['outputs'])}", highlight=False
    )


def _describe_norm(info: dict) -> str:
    if info["method"] == "pooled":
        return f"pooled statistics of training signer(s) {', '.join(info['signers'])}"
    if info["method"] == "training signer":
        return f"training signer {info['signer']}'s statistics"
    return f"calibrated on the recording's {info.get('window', 'frames')} ({info['frames']} frames)"


def _print_summary(timeline, written: list[Path]) -> None:
    """What `gfe predict` found, on standard error (standard output may hold the frames)."""
    import json

    from rich.table import Table

    show = err_console
    rep = timeline.report
    notice(
        f"{timeline.recording}: {rep['frames']} frames; masked (unknown features) {rep['masked_frames']}; "
        f"unknown timestamps {rep['unknown_timestamps']}; timestamps going backwards "
        f"{rep['timestamps_backwards']}; zero-depth values {rep['zero_depth_values']}"
    )
    for w in timeline.warnings:
        show.print(f"[yellow]warning:[/] {w}", highlight=False)
    labs = timeline.labellings
    norms = {json.dumps(lab.normalisation, sort_keys=True) for lab in labs}
    notice(
        f"model(s): {', '.join(sorted({lab.model for lab in labs}))}; normalisation: "
        + ("; ".join(sorted(norms)) if len(norms) > 1 else _describe_norm(labs[0].normalisation))
    )
    table = Table(title=f"segments (runs of ≥ {labs[0].min_frames} positive frames)")
    for col in ("expression", "positive frames", "segments", "first segments (frames)"):
        table.add_column(col, justify="left" if col == "expression" else "right")
    for lab in labs:
        first = ", ".join(f"{s['start_frame']}–{s['end_frame']}" for s in lab.segments[:3])
        more = f" … +{len(lab.segments) - 3}" if len(lab.segments) > 3 else ""
        table.add_row(lab.expression, str(lab.n_positive), str(len(lab.segments)), first + more)
    show.print(table)
    if timeline.metrics:
        m = timeline.metrics
        notice(
            f"against the targets ({m['scored_frames']} frames): F1 {m['f1']:.4f}, precision "
            f"{m['precision']:.4f}, recall {m['recall']:.4f}, accuracy {m['accuracy']:.4f}"
        )
    for p in written:
        notice(f"wrote {p}")
    if not written:
        notice("wrote the frames to standard output (choose a file with --out FILE.csv or FILE.json)")
