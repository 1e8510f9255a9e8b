"""The `gfe` command line. Every user-facing failure is one clear message and exit status 2."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gfe import EXPRESSIONS, SIGNERS
from gfe.errors import GfeError

app = typer.Typer(
    help="Recognise Grammatical Facial Expressions of Brazilian Sign Language from Kinect landmarks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Find, check and download the UCI dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dataset folder (default: $GFE_DATA_DIR, then the download cache)."),
]


def friendly(fn):
    """Turn a GfeError into one line on stderr and exit status 2 — never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GfeError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def _ensure_data(data_dir: Path | None) -> Path:
    """Resolve the dataset folder; download into the cache when nothing was given or found."""
    from gfe.data import DATA_ENV, dataset_present, resolve_data_dir

    path = resolve_data_dir(data_dir)
    if dataset_present(path):
        return path
    import os

    if data_dir is not None or os.environ.get(DATA_ENV):
        raise GfeError(
            f"{path}: no UCI dataset there (expected files like a_affirmative_datapoints.txt); "
            f"fix --data-dir / {DATA_ENV}, or unset them to download into the cache"
        )
    from gfe.download import download_dataset

    err_console.print(f"No dataset found: downloading the UCI archive into {path} …")
    return download_dataset(dest=path)


@data_app.command("check")
@friendly
def data_check(data_dir: DataDir = None) -> None:
    """Load every recording, print a table of it, and exit non-zero if the dataset is broken."""
    from gfe.data import load_recording, resolve_data_dir
    from gfe.report import recordings_table

    path = resolve_data_dir(data_dir)
    if not path.is_dir():
        raise GfeError(
            f"{path}: data folder not found; pass --data-dir, set GFE_DATA_DIR or run `gfe data download`"
        )
    summaries, problems = [], []
    for e in EXPRESSIONS:
        for s in SIGNERS:
            try:
                summaries.append(load_recording(path, s, e).summary())
            except GfeError as exc:
                problems.append(str(exc))
    header, rows = recordings_table(summaries)
    table = Table(title=f"UCI GFE dataset in {path}")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for i, r in enumerate(rows):
        table.add_row(*r, end_section=i == len(rows) - 2)
    console.print(table)
    console.print(
        f"{len(summaries)} recordings loaded. Unknown values (nan) are never filled in: frames with unknown "
        "x/y are masked out of training and scoring; z = 0 is Kinect's lost depth."
    )
    if problems:
        for p in problems:
            err_console.print(f"[bold red]error:[/] {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@data_app.command("download")
@friendly
def data_download(
    url: Annotated[
        str | None, typer.Option(help="Archive URL (default: UCI dataset 317; env GFE_DATA_URL).")
    ] = None,
    dest: Annotated[Path | None, typer.Option(help="Where to unpack (default: the per-user cache).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Download the UCI archive, verify every file's sha256, and unpack it atomically."""
    from gfe.download import download_dataset

    path = download_dataset(dest=dest, url=url, progress=not quiet)
    console.print(f"dataset ready in {path}")


@app.command()
@friendly
def reproduce(
    out: Annotated[Path | None, typer.Option(help="Run folder (default: runs/reproduce-<time>).")] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds 0..N-1 (shuffle and initialisation).")] = 5,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs (the paper: 30).")] = 30,
    data_dir: DataDir = None,
    expressions: Annotated[str, typer.Option(help="Comma-separated expressions, or 'all'.")] = "all",
    models: Annotated[
        str, typer.Option(help="Comma-separated: paper-lstm, mlp, mlp-pruned.")
    ] = "paper-lstm,mlp,mlp-pruned",
    protocols: Annotated[
        str, typer.Option(help="Comma-separated: paper, paper-holdout.")
    ] = "paper,paper-holdout",
    lr: Annotated[float, typer.Option(help="Adam learning rate (the paper: 0.0099).")] = 0.0099,
    hidden: Annotated[int, typer.Option(min=1, help="Hidden units (the paper: 105).")] = 105,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Mini-batch size (default: full batch, as the paper).")
    ] = None,
    prune_similar: Annotated[
        float, typer.Option(help="Pruning: merge units closer than this angle (°).")
    ] = 15.0,
    prune_opposite: Annotated[
        float, typer.Option(help="Pruning: remove pairs further apart than this angle (°).")
    ] = 165.0,
    prune_retrain: Annotated[int, typer.Option(min=0, help="Pruning: retraining epochs afterwards.")] = 5,
    predictions: Annotated[
        str, typer.Option("--predictions", help="Keep per-frame predictions of: first (seed), all, none.")
    ] = "first",
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Reproduce the seed paper's Table 3 and loss curves with our code."""
    from gfe.data import parse_names
    from gfe.models import MODELS
    from gfe.protocols import PROTOCOLS
    from gfe.reproduce import ReproduceConfig
    from gfe.reproduce import reproduce as run
    from gfe.training import TrainConfig

    cfg = ReproduceConfig(
        expressions=tuple(parse_names(expressions, EXPRESSIONS, "expression")),
        models=tuple(parse_names(models, [*MODELS, "mlp-pruned"], "model")),
        protocols=tuple(parse_names(protocols, list(PROTOCOLS), "protocol")),
        seeds=tuple(range(seeds)),
        hidden=hidden,
        train=TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size),
        prune_similar_deg=prune_similar,
        prune_opposite_deg=prune_opposite,
        prune_retrain_epochs=prune_retrain,
        predictions=_keep(predictions),
    )
    path = _ensure_data(data_dir)
    out = out or Path("runs") / time.strftime("reproduce-%Y%m%d-%H%M%S")
    run(path, out, cfg, progress=not no_progress)
    console.print((out / "table3.md").read_text(), markup=False, highlight=False, soft_wrap=True)
    console.print(f"run folder: {out}")


@app.command("benchmark")
@friendly
def benchmark_cmd(
    out: Annotated[
        Path | None, typer.Option(help="Run folder; rerun with the same folder to resume.")
    ] = None,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated model names (default: the main set).")
    ] = None,
    protocols: Annotated[
        str | None, typer.Option(help="Comma-separated protocols (default: all but blocked-cv).")
    ] = None,
    expressions: Annotated[str, typer.Option(help="Comma-separated expressions, or 'all'.")] = "all",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds 0..N-1.")] = 5,
    features: Annotated[str, typer.Option(help="Feature spec: clean (z = 0 as unknown) or paper.")] = "clean",
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes (default: up to 2).")] = 2,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Model parameter, e.g. seq-lstm.hidden=128 (repeatable)."),
    ] = None,
    config: Annotated[
        list[Path] | None,
        typer.Option(
            "--config",
            help="Model config file from `gfe tune` (repeatable); without --models, runs the configs' models.",
        ),
    ] = None,
    predictions: Annotated[
        str, typer.Option("--predictions", help="Keep per-frame predictions of: first (seed), all, none.")
    ] = "first",
    data_dir: DataDir = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Models × protocols × expressions × seeds, with tables per protocol and wins/losses."""
    from gfe.benchmark import DEFAULT_MODELS, DEFAULT_PROTOCOLS, BenchmarkConfig, benchmark
    from gfe.data import parse_names
    from gfe.estimators import registry
    from gfe.features import spec_by_name
    from gfe.protocols import PROTOCOLS
    from gfe.tune import read_model_config

    spec_by_name(features)
    model_params: dict[str, dict] = {}
    for path in config or []:
        mc = read_model_config(path)
        if mc["model"] in model_params:
            raise GfeError(f"{path}: a second config for model {mc['model']!r}; give one per model")
        if mc["features"] != features:
            err_console.print(
                f"[yellow]warning:[/] {path} was tuned with --features {mc['features']}, "
                f"this benchmark uses {features}",
                highlight=False,
            )
        model_params[mc["model"]] = dict(mc["params"])
    for m, p in parse_params(param or []).items():
        model_params.setdefault(m, {}).update(p)
    if models:
        chosen = tuple(parse_names(models, list(registry()), "model"))
    else:
        chosen = tuple(model_params) if config else DEFAULT_MODELS
    cfg = BenchmarkConfig(
        models=chosen,
        protocols=tuple(parse_names(protocols, list(PROTOCOLS), "protocol"))
        if protocols
        else DEFAULT_PROTOCOLS,
        expressions=tuple(parse_names(expressions, EXPRESSIONS, "expression")),
        seeds=tuple(range(seeds)),
        features=features,
        model_params=model_params,
        predictions=_keep(predictions),
    )
    path = _ensure_data(data_dir)
    out = out or Path("runs") / time.strftime("benchmark-%Y%m%d-%H%M%S")
    benchmark(path, out, cfg, jobs=jobs, progress=not no_progress)
    console.print((out / "tables.md").read_text(), markup=False, highlight=False, soft_wrap=True)
    console.print(f"run folder: {out}")


@app.command("tune")
@friendly
def tune_cmd(
    expression: Annotated[str, typer.Option("--expression", help="Expression to tune for.")],
    model: Annotated[
        str,
        typer.Option("--model", help="paper-lstm, mlp, seq-lstm, gru, bilstm, tcn, logreg or extra-trees."),
    ],
    protocol: Annotated[
        str, typer.Option("--protocol", help="Protocol whose training frames the search uses.")
    ] = "chrono",
    trials: Annotated[
        int, typer.Option("--trials", min=1, help="Finished trials the study should hold (its total).")
    ] = 30,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Optuna storage URL, e.g. postgresql://user:pw@host/db to share a study between "
            "machines (default: sqlite file in the run folder).",
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name (default: EXPRESSION-MODEL-PROTOCOL-FEATURES).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: runs/tune/<study>); rerun to resume.")
    ] = None,
    features: Annotated[str, typer.Option(help="Feature spec: clean or paper.")] = "clean",
    seed: Annotated[int, typer.Option(help="Training seed of the trials and the sampler's seed.")] = 0,
    eval_seeds: Annotated[
        int, typer.Option("--eval-seeds", min=1, help="Seeds for the final test F1 of default vs tuned.")
    ] = 5,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, help="Worker processes on this machine sharing the study.")
    ] = 1,
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction",
            min=0.05,
            max=0.5,
            help="Share of each fold's training frames the search validates on (the last in time; random under paper).",
        ),
    ] = 0.15,
    evaluate: Annotated[
        bool,
        typer.Option(
            "--evaluate/--no-evaluate",
            help="After the search, score default and best config on the test split (once).",
        ),
    ] = True,
    data_dir: DataDir = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Search hyper-parameters with Optuna on validation frames carved from training frames."""
    from gfe.data import check_expression
    from gfe.features import spec_by_name
    from gfe.tune import TuneConfig, tune

    spec_by_name(features)
    cfg = TuneConfig(
        expression=check_expression(expression),
        model=model,
        protocol=protocol,
        trials=trials,
        features=features,
        seed=seed,
        eval_seeds=eval_seeds,
        study=study,
        jobs=jobs,
        val_fraction=val_fraction,
    )
    path = _ensure_data(data_dir)
    out = out or Path("runs") / "tune" / cfg.study_name
    summary = tune(path, out, cfg, storage=storage, evaluate_test=evaluate, progress=not no_progress)
    t = summary["trials"]
    console.print(
        f"study {cfg.study_name}: {t['finished']} finished trials ({t['ran_now']} run now); "
        f"best validation F1 {summary['best']['validation_f1']:.4f} (trial {summary['best']['trial']})",
        highlight=False,
    )
    if "test_f1" in summary:
        console.print((out / "comparison.md").read_text(), markup=False, highlight=False, soft_wrap=True)
    console.print(f"best config: {out / 'best_config.json'}\nrun folder: {out}", highlight=False)


def _keep(value: str) -> str:
    from gfe.predictions import KEEP

    if value not in KEEP:
        raise GfeError(f"--predictions {value!r}: choose one of {', '.join(KEEP)}")
    return value


def parse_params(items: list[str]) -> dict[str, dict]:
    """``model.name=value`` strings → {model: {name: value}} with numbers and booleans parsed."""
    import json as _json

    params: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        model, dot, name = key.partition(".")
        if not sep or not dot or not model or not name:
            raise GfeError(f"--param {item!r}: write it as MODEL.NAME=VALUE, e.g. seq-lstm.hidden=128")
        try:
            value = _json.loads(raw.lower() if raw.lower() in ("true", "false", "null") else raw)
        except ValueError:
            value = raw
        params.setdefault(model, {})[name] = value
    return params


# Commands that use trained models (train, predict, stream, export) live in gfe.cli_use.
from gfe import cli_use  # noqa: E402

cli_use.register(app)
from gfe import cli_report  # noqa: E402

cli_report.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
