"""``gfe reproduce``, ``gfe benchmark`` and ``gfe tune``: each parses its options, runs one
experiment of :mod:`gfe.experiments`, renders the run folder (:func:`gfe.report.render_run`) and
prints its main table."""

import time
from pathlib import Path
from typing import Annotated

import typer

from gfe import EXPRESSIONS
from gfe.cli.common import (
    DataDir,
    Device,
    Force,
    NoProgress,
    ensure_data,
    flag,
    names,
    notice,
    print_text,
    warn,
)
from gfe.errors import GfeError
from gfe.models.device import resolve_device

PREDICTIONS_KEEP = ("first", "all", "none")
Cluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run the cells on a Dask cluster: tcp://SCHEDULER:8786, or local:N to start N local workers.",
    ),
]
Predictions = Annotated[
    str, typer.Option("--predictions", help="Keep per-frame predictions of: first (seed), all, none.")
]


def _keep(value: str) -> str:
    if value not in PREDICTIONS_KEEP:
        raise GfeError(f"--predictions {value!r}: choose one of {', '.join(PREDICTIONS_KEEP)}")
    return value


def _model_help(what: str, where=None) -> str:
    from gfe.models import model_names

    return f"{what}: {', '.join(model_names(where))}."


def _protocol_help(what: str) -> str:
    from gfe.protocols import PROTOCOLS

    return f"{what}: {', '.join(PROTOCOLS)}."


def _spec_help() -> str:
    from gfe.features import SPECS

    return f"Feature spec: {', '.join(SPECS)}."


def _run_folder(out: Path | None, kind: str) -> Path:
    return out or Path("runs") / time.strftime(f"{kind}-%Y%m%d-%H%M%S")


def _run_and_show(
    run, cfg, data_dir: Path | None, out: Path, where: dict, no_progress: bool, table: str
) -> None:
    """Check the config, run the experiment into ``out``, render the folder, print its main table."""
    from gfe.report import render_run

    cfg.check()
    run(ensure_data(data_dir), out, cfg, progress=not no_progress, **where)
    render_run(out)
    print_text((out / table).read_text())
    notice(f"run folder: {out}")


Expressions = Annotated[str, typer.Option(help="Comma-separated expressions, or 'all'.")]
Seeds = Annotated[int, typer.Option(min=1, help="Seeds 0..N-1 (shuffle and initialisation).")]
ReproduceModels = Annotated[str, typer.Option(help="Comma-separated: paper-lstm, mlp, mlp-pruned.")]
ReproduceProtocols = Annotated[str, typer.Option(help="Comma-separated, e.g. paper, paper-holdout.")]
BatchSize = Annotated[
    int | None, typer.Option(min=1, help="Mini-batch size (default: full batch, as the paper).")
]
PruneSimilar = Annotated[float, typer.Option(help="Pruning: merge units closer than this angle (°).")]
PruneOpposite = Annotated[
    float, typer.Option(help="Pruning: remove pairs further apart than this angle (°).")
]
PruneRetrain = Annotated[int, typer.Option(min=0, help="Pruning: retraining epochs afterwards.")]
ReproduceJobs = Annotated[
    int, typer.Option(min=1, help="Worker processes (default 1: the paper's runs in order).")
]
ReproduceOut = Annotated[
    Path | None, typer.Option(help="Run folder (default: runs/reproduce-<time>); rerun to resume.")
]


def reproduce(
    out: ReproduceOut = None,
    seeds: Seeds = 5,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs (the paper: 30).")] = 30,
    data_dir: DataDir = None,
    expressions: Expressions = "all",
    models: ReproduceModels = "paper-lstm,mlp,mlp-pruned",
    protocols: ReproduceProtocols = "paper,paper-holdout",
    lr: Annotated[float, typer.Option(help="Adam learning rate (the paper: 0.0099).")] = 0.0099,
    hidden: Annotated[int, typer.Option(min=1, help="Hidden units (the paper: 105).")] = 105,
    batch_size: BatchSize = None,
    prune_similar: PruneSimilar = 15.0,
    prune_opposite: PruneOpposite = 165.0,
    prune_retrain: PruneRetrain = 5,
    predictions: Predictions = "first",
    jobs: ReproduceJobs = 1,
    cluster: Cluster = None,
    device: Device = "cpu",
    force: Force = False,
    no_progress: NoProgress = False,
) -> None:
    """Reproduce the seed paper's Table 3 and loss curves with our code."""
    from gfe.experiments import ReproduceConfig
    from gfe.experiments.reproduce import reproduce as run
    from gfe.protocols import PROTOCOLS

    cfg = ReproduceConfig(
        expressions=names(expressions, EXPRESSIONS, "expression"),
        models=names(models, ("paper-lstm", "mlp", "mlp-pruned"), "model"),
        protocols=names(protocols, PROTOCOLS, "protocol"),
        seeds=tuple(range(seeds)), hidden=hidden, epochs=epochs, lr=lr, batch_size=batch_size,
        prune_similar_deg=prune_similar, prune_opposite_deg=prune_opposite, prune_retrain_epochs=prune_retrain,
        predictions=_keep(predictions),
    )  # fmt: skip
    where = {"jobs": jobs, "cluster": cluster, "device": resolve_device(device), "force": force}
    _run_and_show(run, cfg, data_dir, _run_folder(out, "reproduce"), where, no_progress, "table3.md")


BenchmarkOut = Annotated[Path | None, typer.Option(help="Run folder; rerun with the same folder to resume.")]
BenchmarkModels = Annotated[
    str | None, typer.Option(help=_model_help("Comma-separated models (default: the default grid)"))
]
BenchmarkProtocols = Annotated[
    str | None, typer.Option(help=_protocol_help("Comma-separated protocols (default: all but blocked-cv)"))
]
Features = Annotated[str, typer.Option(help=_spec_help())]
Params = Annotated[
    list[str] | None, typer.Option("--param", help="Model parameter, e.g. seq-lstm.hidden=128 (repeatable).")
]
Decisions = Annotated[
    str,
    typer.Option(
        "--decisions",
        help="threshold (the probability ≥ 0.5), or validation: smoothing, hysteresis and minimum "
        "segment length chosen on the validation part of the training frames.",
    ),
]
ConfigFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--config",
        help="Model config from `gfe tune` (repeatable), run as MODEL@NAME; without --models, only the configs run.",
    ),
]


def benchmark(
    out: BenchmarkOut = None,
    models: BenchmarkModels = None,
    protocols: BenchmarkProtocols = None,
    expressions: Expressions = "all",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds 0..N-1.")] = 5,
    features: Features = "clean",
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes (default: 2).")] = 2,
    param: Params = None,
    config: ConfigFiles = None,
    predictions: Predictions = "first",
    decisions: Decisions = "threshold",
    data_dir: DataDir = None,
    cluster: Cluster = None,
    device: Device = "cpu",
    force: Force = False,
    no_progress: NoProgress = False,
) -> None:
    """Models × protocols × expressions × seeds, with tables per protocol and wins/losses."""
    from gfe.experiments import BenchmarkConfig
    from gfe.experiments.benchmark import DEFAULT_PROTOCOLS
    from gfe.experiments.benchmark import benchmark as run
    from gfe.experiments.configs import merge_configs
    from gfe.features import spec_by_name
    from gfe.models import default_grid, model_names
    from gfe.protocols import PROTOCOLS

    spec_by_name(features)
    entries, sources, warnings = merge_configs(config or [], param or [], features)
    for w in warnings:
        warn(w)
    chosen = names(models, model_names(), "model") or (() if config else default_grid())
    grid = (*chosen, *[e for e in entries if "@" in e])
    cfg = BenchmarkConfig(
        models=grid, protocols=names(protocols, PROTOCOLS, "protocol") or DEFAULT_PROTOCOLS,
        expressions=names(expressions, EXPRESSIONS, "expression"), seeds=tuple(range(seeds)), features=features,
        model_params={e: p for e, p in entries.items() if e in grid}, predictions=_keep(predictions),
        model_sources=sources, decisions=decisions,
    )  # fmt: skip
    where = {"jobs": jobs, "cluster": cluster, "device": resolve_device(device), "force": force}
    _run_and_show(run, cfg, data_dir, _run_folder(out, "benchmark"), where, no_progress, "tables.md")


Storage = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Optuna storage URL, e.g. postgresql://user:pw@host/db to share a study between machines "
        "(default: sqlite file in the run folder).",
    ),
]
ValFraction = Annotated[
    float,
    typer.Option(
        "--val-fraction", min=0.05, max=0.5,
        help="Share of each fold's training frames the search validates on (the last in time; random under paper).",
    ),
]  # fmt: skip
Evaluate = Annotated[
    bool,
    flag(
        "--evaluate/--no-evaluate",
        help="After the search, score default and best config on the test split (once).",
    ),
]


def tune(
    expression: Annotated[str, typer.Option("--expression", help="Expression to tune for.")],
    model: Annotated[str, typer.Option("--model", help=_model_help("Model to tune", lambda c: c.tags.tunable))],
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol whose training frames the search uses.")] = "chrono",
    trials: Annotated[int, typer.Option("--trials", min=1, help="Finished trials the study should hold (its total).")] = 30,
    storage: Storage = None,
    study: Annotated[str | None, typer.Option("--study", help="Study name (default: EXPRESSION-MODEL-PROTOCOL-FEATURES).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run folder (default: runs/tune/<study>); rerun to resume.")] = None,
    features: Annotated[str, typer.Option(help=_spec_help())] = "clean",
    seed: Annotated[int, typer.Option(help="Training seed of the trials and the sampler's seed.")] = 0,
    eval_seeds: Annotated[int, typer.Option("--eval-seeds", min=1, help="Seeds for the final test F1 of default vs tuned.")] = 5,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes on this machine sharing the study.")] = 1,
    val_fraction: ValFraction = 0.15,
    evaluate: Evaluate = True,
    data_dir: DataDir = None,
    device: Device = "cpu",
    force: Force = False,
    no_progress: NoProgress = False,
) -> None:  # fmt: skip
    """Search hyper-parameters with Optuna on validation frames carved from training frames."""
    from gfe.data import check_expression
    from gfe.experiments import TuneConfig
    from gfe.experiments.tune import search_space
    from gfe.experiments.tune import tune as run
    from gfe.features import spec_by_name
    from gfe.report import render_run

    spec_by_name(features)
    search_space(model)
    cfg = TuneConfig(
        expression=check_expression(expression), model=model, protocol=protocol, trials=trials, features=features,
        seed=seed, eval_seeds=eval_seeds, study=study, jobs=jobs, val_fraction=val_fraction,
        device=resolve_device(device),
    )  # fmt: skip
    path = ensure_data(data_dir)
    out = out or Path("runs") / "tune" / cfg.study_name
    summary = run(
        path, out, cfg, storage=storage, evaluate_test=evaluate, progress=not no_progress, force=force
    )
    render_run(out)
    t = summary["trials"]
    print_text(
        f"study {cfg.study_name}: {t['finished']} finished trials ({t['ran_now']} run now); "
        f"best validation F1 {summary['best']['validation_f1']:.4f} (trial {summary['best']['trial']})"
    )
    if "test_f1" in summary:
        print_text((out / "comparison.md").read_text())
    notice(f"best config: {out / 'best_config.json'}\nrun folder: {out}")
