"""`gfe tune`: hyper-parameter search with Optuna, on validation frames carved from training frames.

The paper chose its settings by hand over the ranges of its Table 2 (hidden units 15–200, learning
rate 0.0005–0.03, epochs 5–1500, SGD or Adam). Here a study searches those ranges (and sensible
ones for the temporal models) as follows:

* **Objective.** For every fold of the protocol, the fold's *training* frames are split into
  train and validation exactly as the benchmark does for early-stopping models
  (:func:`gfe.benchmark.carve_validation`: a random part under the shuffled ``paper`` protocol,
  the chronologically last part of each signer's training frames under every other protocol).
  The model trains on the rest and the objective is the F1 on the validation frames (mean over
  folds). Test labels are hidden from the estimator as in the benchmark; the test frames play no
  part in the search.
* **Epochs** are not searched blindly: every trial trains up to a maximum (1500 for the paper's
  models, as Table 2) with early stopping on the validation loss, reports the validation F1 after
  each epoch and is stopped early by Optuna's median pruner when it is behind. For the paper's
  frame models the best configuration's ``epochs`` is the epoch that early stopping kept, so the
  final model trains on all training frames for that many epochs; the temporal models keep their
  own early stopping (the benchmark gives them a validation part).
* **After the search** the test split is touched once: the default and the best configuration are
  trained on the protocol's training frames for several seeds by :func:`gfe.benchmark.run_cell`
  — the same code the benchmark runs — and their test F1 written side by side.
* **Storage.** A SQLite file in the run folder by default: a rerun of the same command resumes the
  study and only runs the trials still missing (``--trials`` is the study's total), so reruns are
  idempotent. Trials of a crashed or killed local worker are marked failed on the next start;
  shared storages (``postgresql://…``) also get Optuna's heartbeat, so trials of a lost machine
  are failed and retried. Each study records its search space; opening it with another one is an
  error.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS
from gfe.errors import GfeError

SPACE_VERSION = 1
CONFIG_FORMAT = "gfe-model-config/1"
FRAME_MODELS = ("paper-lstm", "mlp")  # epochs chosen by early stopping, then fixed


# ---------------------------------------------------------------------------------- spaces
def search_space(model: str) -> dict:
    """The Optuna distributions searched for ``model`` (name → distribution), plus fixed params.

    Returns ``{"search": {param: distribution}, "fixed": {param: value}}``.
    """
    from optuna.distributions import CategoricalDistribution as Cat
    from optuna.distributions import FloatDistribution as Float
    from optuna.distributions import IntDistribution as Int

    rnn = {
        "hidden": Int(16, 256, log=True),
        "layers": Int(1, 3),
        "dropout": Float(0.0, 0.5),
        "chunk_len": Cat([16, 32, 64, 128, 256]),
        "lr": Float(3e-4, 1e-2, log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "noise": Float(0.0, 0.2),
    }
    spaces = {
        # The paper's Table 2: hidden units 15–200, learning rate 0.0005–0.03, SGD or Adam; epochs
        # (5–1500) by early stopping on validation frames, up to 1500.
        "paper-lstm": (
            {"hidden": Int(15, 200), "lr": Float(5e-4, 0.03, log=True), "optimizer": Cat(["sgd", "adam"])},
            {"epochs": 1500, "patience": 50},
        ),
        "mlp": (
            {
                "hidden": Int(15, 200),
                "lr": Float(5e-4, 0.03, log=True),
                "optimizer": Cat(["sgd", "adam"]),
                "activation": Cat(["sigmoid", "tanh", "relu"]),
            },
            {"epochs": 1500, "patience": 50},
        ),
        "seq-lstm": (rnn, {"max_epochs": 80, "patience": 8}),
        "gru": (rnn, {"max_epochs": 80, "patience": 8}),
        "bilstm": (rnn, {"max_epochs": 80, "patience": 8}),
        "tcn": (
            {
                "channels": Int(16, 128, log=True),
                "levels": Int(2, 6),
                "kernel": Cat([2, 3, 5]),
                "dropout": Float(0.0, 0.5),
                "chunk_len": Cat([16, 32, 64, 128, 256]),
                "lr": Float(3e-4, 1e-2, log=True),
                "weight_decay": Float(1e-6, 1e-2, log=True),
            },
            {"max_epochs": 80, "patience": 8},
        ),
        "logreg": ({"C": Float(1e-4, 1e2, log=True)}, {}),
        "extra-trees": (
            {
                "n_estimators": Int(100, 600, step=100),
                "max_features": Cat(["sqrt", "log2", 0.3, 0.6]),
                "min_samples_leaf": Int(1, 20, log=True),
            },
            {},
        ),
    }
    if model not in spaces:
        raise GfeError(f"no search space for model {model!r}; tunable models: {', '.join(spaces)}")
    search, fixed = spaces[model]
    return {"search": dict(search), "fixed": dict(fixed)}


def tunable_models() -> list[str]:
    return ["paper-lstm", "mlp", "seq-lstm", "gru", "bilstm", "tcn", "logreg", "extra-trees"]


def space_signature(model: str) -> dict:
    """What identifies a study's search space: stored on the study, compared on every open."""
    from optuna.distributions import distribution_to_json

    space = search_space(model)
    return {
        "version": SPACE_VERSION,
        "model": model,
        "search": {k: json.loads(distribution_to_json(d)) for k, d in sorted(space["search"].items())},
        "fixed": space["fixed"],
    }


def suggest(trial, search: dict) -> dict:
    """Sample every distribution of ``search`` through the trial's suggest API."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, d in search.items():
        if isinstance(d, FloatDistribution):
            out[name] = trial.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, IntDistribution):
            out[name] = trial.suggest_int(name, d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, CategoricalDistribution):
            out[name] = trial.suggest_categorical(name, d.choices)
        else:  # pragma: no cover - only the three kinds are used
            raise TypeError(d)
    return out


# ---------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TuneConfig:
    expression: str
    model: str
    protocol: str = "chrono"
    trials: int = 30
    features: str = "clean"
    seed: int = 0  # training seed of every trial, and the sampler's seed
    val_fraction: float = 0.15
    threshold: float = 0.5
    eval_seeds: int = 5
    study: str | None = None
    jobs: int = 1  # local worker processes sharing the study

    @property
    def study_name(self) -> str:
        return self.study or f"{self.expression}-{self.model}-{self.protocol}-{self.features}"

    def to_dict(self) -> dict:
        return {**asdict(self), "study": self.study_name}


def model_config(model: str, params: dict, features: str, source: dict | None = None) -> dict:
    """The config file that `gfe train --config` and `gfe benchmark --config` read."""
    return {
        "format": CONFIG_FORMAT,
        "model": model,
        "features": features,
        "params": params,
        "source": source or {},
    }


def read_model_config(path: str | Path) -> dict:
    """Load and check a model config file; a clear error names the file and what is wrong."""
    from gfe.estimators import make_estimator

    path = Path(path)
    if not path.is_file():
        raise GfeError(f"{path}: config file not found; pass the best_config.json that `gfe tune` wrote")
    try:
        cfg = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise GfeError(
            f"{path}: not a JSON config file ({exc}); pass the best_config.json of `gfe tune`"
        ) from None
    if not isinstance(cfg, dict) or cfg.get("format") != CONFIG_FORMAT:
        raise GfeError(f'{path}: not a gfe model config (expected "format": "{CONFIG_FORMAT}")')
    for key, kind in (("model", str), ("params", dict), ("features", str)):
        if not isinstance(cfg.get(key), kind):
            raise GfeError(f"{path}: field {key!r} missing or not a {kind.__name__}")
    try:
        make_estimator(cfg["model"], **cfg["params"])
    except GfeError as exc:
        raise GfeError(f"{path}: {exc}") from None
    return cfg


# --------------------------------------------------------------------------------- storage
def default_storage(out: Path) -> str:
    return f"sqlite:///{(out / 'study.db').resolve()}"


def _display_url(url: str) -> str:
    """The storage URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL is shown as given
        return url


def _driver_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg://`` (psycopg 3, the `gfe[postgres]` extra)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_storage(url: str):
    """An Optuna RDB storage, or a GfeError that names the URL and the fix."""
    import optuna
    import sqlalchemy.exc

    shown = _display_url(url)
    kwargs: dict = {}
    if url.startswith("sqlite:"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    else:
        # Shared storage: a heartbeat lets other workers fail (and retry) the trials of a lost machine.
        kwargs["heartbeat_interval"] = 30
        kwargs["grace_period"] = 120
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            kwargs["heartbeat_stale_trial_callback"] = optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=2
            )
        if url.startswith("postgres"):
            kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    try:
        return _rdb_storage(_driver_url(url), kwargs)
    except ModuleNotFoundError as exc:
        raise GfeError(
            f"storage {shown}: its database driver is not installed ({exc.name}); "
            "for PostgreSQL run: pip install 'gfe[postgres]'"
        ) from None
    except sqlalchemy.exc.ArgumentError as exc:
        raise GfeError(
            f"storage {shown!r}: not a database URL ({exc}); use e.g. sqlite:///study.db"
        ) from None
    except sqlalchemy.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise GfeError(
            f"storage {shown}: cannot connect ({reason}); check that the server runs and the URL, "
            "user and password are right"
        ) from None


def _rdb_storage(url: str, kwargs: dict, attempts: int = 5):
    """Optuna's RDBStorage. Workers that start together on an empty database race to create its
    tables; the loser's CREATE fails (IntegrityError / ProgrammingError) and simply tries again,
    finding the tables made."""
    import optuna
    import sqlalchemy.exc

    for attempt in range(1, attempts + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts:
                raise
            time.sleep(0.3 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def open_study(cfg: TuneConfig, storage_url: str, worker: int = 0):
    """Create or load the study; refuse one whose search space (or task) differs. ``worker``
    numbers the local worker processes of one `gfe tune --jobs N` (their samplers differ)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # states go to trials.csv
    storage = open_storage(storage_url)
    signature = {
        "space": space_signature(cfg.model),
        "task": {
            "expression": cfg.expression,
            "protocol": cfg.protocol,
            "features": cfg.features,
            "val_fraction": cfg.val_fraction,
            "seed": cfg.seed,
        },
    }
    sampler = optuna.samplers.TPESampler(
        seed=_sampler_seed(cfg, storage_url, storage, worker),
        n_startup_trials=min(10, max(3, cfg.trials // 3)),
        constant_liar=worker > 0 or cfg.jobs > 1 or not storage_url.startswith("sqlite:"),
    )
    # Frame models take up to 1500 cheap full-batch epochs, temporal models up to 80 costly ones.
    warmup = 50 if cfg.model in FRAME_MODELS else 5
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    study = optuna.create_study(
        storage=storage,
        study_name=cfg.study_name,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    stored = study.user_attrs.get("gfe")
    if stored is None:
        study.set_user_attr("gfe", signature)
    elif stored != signature:
        diff = [k for k in ("space", "task") if stored.get(k) != signature[k]]
        raise GfeError(
            f"study {cfg.study_name!r} in {_display_url(storage_url)} was created with a different "
            f"{' and '.join('search space' if k == 'space' else 'task' for k in diff)} "
            f"(stored: {json.dumps(stored.get(diff[0]), sort_keys=True)[:300]}); "
            "choose another --study name or --out folder"
        )
    return study


def _sampler_seed(cfg: TuneConfig, url: str, storage, worker: int = 0) -> int:
    """A local study resumes deterministically (seed + trials so far, per local worker); workers
    sharing a server each get their own stream so their random start-up trials differ."""
    import optuna

    try:
        study_id = storage.get_study_id_from_name(cfg.study_name)
        n = len(storage.get_all_trials(study_id, deepcopy=False))
    except KeyError:
        n = 0
    except optuna.exceptions.OptunaError:  # pragma: no cover
        n = 0
    if url.startswith("sqlite:"):
        return cfg.seed + n + 100_003 * worker
    return (cfg.seed * 1_000_003 + n * 7919 + os.getpid() + hash(socket.gethostname())) % 2**31


def fail_dead_local_trials(study) -> int:
    """Mark RUNNING trials whose worker (this machine, a pid no longer alive) died as FAIL."""
    from optuna.trial import TrialState

    host, failed = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get("host") != host:
            continue
        pid = t.user_attrs.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and not _alive(pid):
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            failed += 1
    return failed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, owned by another user
        return True
    return True


def finished_trials(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


# ------------------------------------------------------------------------------- objective
@dataclass
class _FoldData:
    pool: object
    fold: object
    train: list
    val: list
    blind: list
    val_idx: np.ndarray
    runs: list


def prepare_folds(data_dir: Path, cfg: TuneConfig) -> list[_FoldData]:
    """Every fold's (train, validation) sequences — test labels hidden — computed once per study."""
    from gfe.benchmark import _pool, carve_validation, make_sequences
    from gfe.protocols import get_protocol, signer_runs

    pool = _pool(str(data_dir), cfg.expression, cfg.features)
    out = []
    for fold in get_protocol(cfg.protocol)(pool, cfg.seed):
        x = fold.scaled_features(pool)
        train, val = carve_validation(pool, fold, cfg.val_fraction, cfg.seed)
        if len(val) == 0:
            raise GfeError(f"{cfg.protocol}: fold {fold.name!r} leaves no validation frames to tune on")
        out.append(
            _FoldData(
                pool=pool,
                fold=fold,
                train=make_sequences(pool, x, train),
                val=make_sequences(pool, x, val),
                blind=make_sequences(pool, x, np.array([], dtype=int)),
                val_idx=val,
                runs=list(signer_runs(pool).values()),
            )
        )
    return out


def trial_params(model: str, trial) -> dict:
    space = search_space(model)
    return {**space["fixed"], **suggest(trial, space["search"])}


def make_objective(folds: list[_FoldData], cfg: TuneConfig) -> Callable:
    """Validation F1 (mean over folds) of the trial's configuration; prunes on per-epoch F1."""
    import optuna

    from gfe.estimators import make_estimator
    from gfe.metrics import binary_metrics

    def objective(trial) -> float:
        import torch

        torch.set_num_threads(1)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        params = trial_params(cfg.model, trial)
        scores, best_epochs = [], []
        for k, fd in enumerate(folds):
            est = make_estimator(cfg.model, **params)
            if hasattr(est, "epoch_callback"):
                est.epoch_callback = _reporter(trial, k)
            est.fit(fd.train, seed=cfg.seed, val=fd.val)
            prob = np.empty(len(fd.pool.labels))
            for idx, p in zip(fd.runs, est.predict_proba(fd.blind), strict=True):
                prob[idx] = p
            scores.append(binary_metrics(fd.pool.labels[fd.val_idx], prob[fd.val_idx] >= cfg.threshold)["f1"])
            history = getattr(est, "history_", {}) or {}
            if history.get("best_epoch"):
                best_epochs.append(int(history["best_epoch"]))
        if best_epochs:
            trial.set_user_attr("best_epoch", round(float(np.mean(best_epochs))))
        trial.set_user_attr("fold_f1", [round(s, 6) for s in scores])
        return float(np.mean(scores))

    def _reporter(trial, fold_index: int):
        offset = fold_index * 100_000  # one step axis per fold, so folds never compare to each other

        # Each report is a write to the storage: every 10th epoch for the fast frame models.
        every = 10 if cfg.model in FRAME_MODELS else 1

        def report(epoch: int, history) -> None:
            f1s = history.val_f1 if hasattr(history, "val_f1") else history.get("val_f1", [])
            if not f1s or epoch % every:
                return
            trial.report(float(f1s[-1]), offset + epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: validation F1 {f1s[-1]:.3f} behind the median")

        return report

    return objective


def best_params(study, model: str) -> dict:
    """The best trial's estimator parameters, as the final model trains them (no validation)."""
    best = study.best_trial
    space = search_space(model)
    params = {**space["fixed"], **best.params}
    if model in FRAME_MODELS:  # early stopping chose the epochs; the final model trains that many
        params["epochs"] = int(best.user_attrs.get("best_epoch") or params["epochs"])
        params.pop("patience", None)
    return params


def default_params(model: str) -> dict:
    from gfe.estimators import make_estimator

    return make_estimator(model).get_params()


# --------------------------------------------------------------------------------- the run
def run_search(study, folds, cfg: TuneConfig, progress: bool = True) -> int:
    """Run trials until the study holds ``cfg.trials`` finished ones; return how many this ran."""
    import optuna

    from gfe.report import progress_bar

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # states go to trials.csv
    missing = cfg.trials - finished_trials(study)
    if missing <= 0:
        return 0
    objective = make_objective(folds, cfg)
    stop = optuna.study.MaxTrialsCallback(
        cfg.trials, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    )
    ran = 0
    with progress_bar(progress) as bar:
        task = bar.add_task(f"study {cfg.study_name}", total=cfg.trials, completed=cfg.trials - missing)

        def tick(study, trial) -> None:
            nonlocal ran
            ran += 1
            done = finished_trials(study)
            try:
                best = f"best {study.best_value:.3f}"
            except ValueError:
                best = "no complete trial yet"
            bar.update(task, completed=min(done, cfg.trials), description=f"study {cfg.study_name}: {best}")

        study.optimize(objective, callbacks=[stop, tick], catch=(), gc_after_trial=False)
    return ran


def search_worker(data_dir: str, cfg: TuneConfig, url: str, worker: int, results) -> None:
    """One extra local worker of `gfe tune --jobs N` (a separate process): search until the study
    is done and put ``(worker, "ran", n)`` on ``results`` — or ``(worker, "error", message)``.
    It ignores Ctrl-C: the main process handles it and stops the workers."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        study = open_study(cfg, url, worker)
        results.put(
            (worker, "ran", run_search(study, prepare_folds(Path(data_dir), cfg), cfg, progress=False))
        )
    except GfeError as exc:
        results.put((worker, "error", str(exc)))


def run_parallel_search(study, folds, cfg: TuneConfig, data_dir: Path, url: str, progress: bool) -> int:
    """``cfg.jobs`` processes on this machine share the study (the main one shows the bar). On
    Ctrl-C or an error the workers are terminated; their unfinished trials are marked failed by
    the next run (:func:`fail_dead_local_trials`)."""
    if cfg.jobs <= 1:
        return run_search(study, folds, cfg, progress=progress)
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=search_worker, args=(str(data_dir), cfg, url, w, results), daemon=True)
        for w in range(1, cfg.jobs)
    ]
    for p in procs:
        p.start()
    try:
        ran = run_search(study, folds, cfg, progress=progress)
        reports = [results.get() for _ in procs]  # each worker reports once, when the study is done
        for p in procs:
            p.join()
    except BaseException:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(10)
        raise
    errors = [value for _, kind, value in reports if kind == "error"]
    if errors:
        raise GfeError(f"a worker process stopped: {errors[0]}")
    return ran + sum(value for _, kind, value in reports if kind == "ran")


def evaluate(
    data_dir: Path, cfg: TuneConfig, configs: dict[str, dict], progress: bool = True
) -> pd.DataFrame:
    """Test F1 of each named configuration, trained as the benchmark trains it, per eval seed."""
    from gfe.report import progress_bar

    rows = []
    with progress_bar(progress) as bar:
        task = bar.add_task("test F1 (touched once)", total=len(configs) * cfg.eval_seeds)
        for label, params in configs.items():
            for seed in range(cfg.eval_seeds):
                rows.extend({"config": label, **r} for r in _evaluate_cell(data_dir, cfg, params, seed))
                bar.update(task, advance=1, description=f"test F1: {label} seed {seed}")
    return pd.DataFrame(rows)


def _evaluate_cell(data_dir: Path, cfg: TuneConfig, params: dict, seed: int) -> list[dict]:
    from gfe.benchmark import BenchmarkConfig, run_cell

    bcfg = BenchmarkConfig(
        models=(cfg.model,),
        protocols=(cfg.protocol,),
        expressions=(cfg.expression,),
        seeds=tuple(range(cfg.eval_seeds)),
        features=cfg.features,
        val_fraction=cfg.val_fraction,
        threshold=cfg.threshold,
        model_params={cfg.model: params},
    )
    return run_cell(str(data_dir), bcfg, cfg.expression, cfg.protocol, seed, cfg.model)[1]


def tune(
    data_dir: Path,
    out: Path,
    cfg: TuneConfig,
    storage: str | None = None,
    evaluate_test: bool = True,
    progress: bool = True,
) -> dict:
    """Search (or resume), then write the run folder; return the summary written to run.json."""
    from gfe import runinfo
    from gfe.estimators import make_estimator
    from gfe.protocols import get_protocol

    if cfg.expression not in EXPRESSIONS:
        raise GfeError(f"unknown expression {cfg.expression!r}; choose one of: {', '.join(EXPRESSIONS)}")
    make_estimator(cfg.model)
    search_space(cfg.model)
    get_protocol(cfg.protocol)
    started, t0 = runinfo.timestamp(), time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    url = storage or default_storage(out)
    study = open_study(cfg, url)
    revived = fail_dead_local_trials(study)
    folds = prepare_folds(data_dir, cfg)
    before = finished_trials(study)
    t_search = time.perf_counter()
    ran = run_parallel_search(study, folds, cfg, data_dir, url, progress)
    search_seconds = time.perf_counter() - t_search
    trials = study.trials_dataframe(attrs=("number", "value", "state", "params", "duration", "user_attrs"))
    trials.to_csv(out / "trials.csv", index=False)
    try:
        study.best_trial  # noqa: B018 - raises when nothing completed
    except ValueError:
        raise GfeError(
            f"study {cfg.study_name!r}: no trial completed ({len(trials)} ran); see {out / 'trials.csv'}"
        ) from None
    tuned = best_params(study, cfg.model)
    source = {
        "study": cfg.study_name,
        "storage": _display_url(url),
        "expression": cfg.expression,
        "protocol": cfg.protocol,
        "trial": study.best_trial.number,
        "validation_f1": study.best_value,
    }
    runinfo.write_json(out / "best_config.json", model_config(cfg.model, tuned, cfg.features, source))
    figures = write_plots(study, out)
    summary = {
        "command": runinfo.command_line(),
        "kind": "tune",
        "started": started,
        "config": cfg.to_dict(),
        "storage": _display_url(url),
        "data_dir": str(data_dir),
        "data_checksums": runinfo.data_checksums(sorted(Path(data_dir).glob(f"*_{cfg.expression}_*.txt"))),
        "versions": {**runinfo.package_versions(), "optuna": _version("optuna")},
        "machine": runinfo.machine(),
        "trials": {
            "finished_before": before,
            "ran_now": ran,
            "finished": finished_trials(study),
            "failed_dead_workers": revived,
            "by_state": trials["state"].value_counts().to_dict() if len(trials) else {},
        },
        "search_seconds": round(search_seconds, 2),
        "trials_per_minute": round(60 * ran / search_seconds, 2) if ran and search_seconds > 0 else None,
        "best": {"trial": study.best_trial.number, "validation_f1": study.best_value, "params": tuned},
        "default_params": default_params(cfg.model),
        "files": ["trials.csv", "best_config.json", *figures],
    }
    if evaluate_test:
        comparison = evaluate(data_dir, cfg, {"default": default_params(cfg.model), "tuned": tuned}, progress)
        comparison.to_csv(out / "comparison.csv", index=False)
        table = comparison_markdown(comparison)
        (out / "comparison.md").write_text(table)
        summary["test_f1"] = {
            label: round(float(g.groupby("seed")["f1"].mean().mean()), 4)
            for label, g in comparison.groupby("config", sort=False)
        }
        summary["files"] += ["comparison.csv", "comparison.md"]
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    previous = json.loads((out / "run.json").read_text()) if (out / "run.json").is_file() else {}
    summary["invocations"] = [
        *previous.get("invocations", []),
        {"command": summary["command"], "started": started, "trials_ran": ran, "seconds": summary["seconds"]},
    ]
    runinfo.write_json(out / "run.json", summary)
    return summary


def comparison_markdown(comparison: pd.DataFrame) -> str:
    """Default vs tuned test F1: mean ± std over seeds (folds averaged within a seed)."""
    from gfe.report import markdown_table, mean_std

    per_seed = comparison.groupby(["config", "seed"], sort=False)["f1"].mean().reset_index()
    rows = [[label, str(len(g)), mean_std(g["f1"])] for label, g in per_seed.groupby("config", sort=False)]
    first = comparison.iloc[0]
    head = f"Test F1, {first['expression']} · {first['model']} · `{first['protocol']}` (mean ± std over seeds)\n\n"
    return head + markdown_table(["configuration", "seeds", "test F1"], rows, align="lrr")


def write_plots(study, out: Path) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNG (matplotlib backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. "importances will be equal" on few trials
        ax = ovm.plot_optimization_history(study)
        _retitle(ax, f"Optimisation history — {study.study_name}")
        ax.set_ylabel("validation F1")
        ax.figure.set_size_inches(8, 4.5)
        ax.figure.tight_layout()
        ax.figure.savefig(out / "history.png", dpi=110)
        plt.close(ax.figure)
        written.append("history.png")
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if len(complete) >= 2 and len(study.best_trial.params) >= 1:
            try:
                ax = ovm.plot_param_importances(study)
            except (RuntimeError, ValueError):  # e.g. every trial the same value
                ax = None
            if ax is not None:
                _retitle(ax, f"Parameter importance — {study.study_name}")
                ax.figure.set_size_inches(8, 4.5)
                ax.figure.tight_layout()
                ax.figure.savefig(out / "importance.png", dpi=110)
                plt.close(ax.figure)
                written.append("importance.png")
    return written


def _retitle(ax, title: str) -> None:
    """Replace Optuna's own titles (any position) with ours."""
    for loc in ("left", "right"):
        ax.set_title("", loc=loc)
    ax.set_title(title)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover
        return "not installed"
