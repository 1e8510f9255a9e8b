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
  error. Workers that start together on a new database (SQLite or PostgreSQL) race to create its
  tables; the loser retries. Every trial is sampled from (``seed``, trial number)
  (:class:`TrialSeededSampler`), so workers sharing a study — `--jobs`, separate commands, other
  machines — never replay one random stream, and one process resumes deterministically. Storage
  URLs are shown and recorded without their password.
"""

from __future__ import annotations

import contextlib
import functools
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

from gfe import EXPRESSIONS, __version__
from gfe.errors import GfeError, mask_secrets
from gfe.experiments import provenance
from gfe.experiments.cells import Cell, CellSpec
from gfe.experiments.configs import model_config
from gfe.experiments.runfolder import RunFolder
from gfe.experiments.runner import LocalExecutor, run_cells
from gfe.models import SearchSpace, make_model, model_classes, model_names

SPACE_VERSION = 1


# ---------------------------------------------------------------------------------- spaces
def search_space(model: str) -> SearchSpace:
    """The space `gfe tune` searches for ``model``, as its class declares it."""
    known = model_classes()
    if model not in known or not known[model].tags.tunable:
        what = "unknown model" if model not in known else "model with no search space:"
        raise GfeError(f"{what} {model!r}; tunable models: {', '.join(tunable_models())}")
    return known[model].search_space()


def tunable_models() -> list[str]:
    return model_names(lambda c: c.tags.tunable)


def space_signature(model: str) -> dict:
    """What identifies a study's search space: stored on the study, compared on every open."""
    from optuna.distributions import distribution_to_json

    space = search_space(model)
    return {
        "version": SPACE_VERSION,
        "model": model,
        "search": {k: json.loads(distribution_to_json(d)) for k, d in sorted(space.search.items())},
        "fixed": space.fixed,
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
    device: str = "cpu"  # where the trials' torch models train (not part of the study's identity)

    @property
    def study_name(self) -> str:
        return self.study or f"{self.expression}-{self.model}-{self.protocol}-{self.features}"

    def to_dict(self) -> dict:
        return {**asdict(self), "study": self.study_name}


# --------------------------------------------------------------------------------- storage
def default_storage(out: Path) -> str:
    return f"sqlite:///{(out / 'study.db').resolve()}"


def _display_url(url: str) -> str:
    """The storage URL without its password, for messages and files (everything between the
    user's ``:`` and the *last* ``@`` is hidden, so a password holding ``@`` is hidden whole)."""
    return mask_secrets(url)


def _password(url: str) -> str | None:
    """The password as typed in ``scheme://user:password@host/…`` (up to the last ``@`` before the
    path), or None."""
    import re

    rest = url.split("://", 1)[1] if "://" in url else ""
    userinfo, at, _ = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.partition(":")[2] or None


def _without_password(text: str, url: str) -> str:
    """``text`` (a driver's message) with the URL's password, whole or in pieces, hidden."""
    text = mask_secrets(text)
    password = _password(url)
    if password:
        from urllib.parse import unquote

        for piece in sorted({password, unquote(password), *password.split("@")}, key=len, reverse=True):
            if len(piece) >= 3:
                text = text.replace(piece, "***")
    return text


def _driver_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg://`` (psycopg 3, the `gfe[postgres]` extra)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///FILE`` URL (None for an in-memory database)."""
    path = url.split("sqlite:///", 1)[-1] if url.startswith("sqlite:///") else ""
    return path if path and path != ":memory:" else None


def _storage_kwargs(url: str) -> dict:
    import optuna

    if url.startswith("sqlite:"):
        return {"engine_kwargs": {"connect_args": {"timeout": 60}}}
    # Shared storage: a heartbeat lets other workers fail (and retry) the trials of a lost machine.
    kwargs: dict = {"heartbeat_interval": 30, "grace_period": 120}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        kwargs["heartbeat_stale_trial_callback"] = optuna.storages.RetryHeartbeatStaleTrialCallback(
            max_retry=2
        )
    if url.startswith("postgres"):
        kwargs["engine_kwargs"] = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    return kwargs


def check_storage_url(url: str) -> None:
    """What can be told about a storage URL without connecting: a password holding ``@`` (which a
    URL must spell ``%40``), and a SQLite file whose folder cannot be made."""
    shown = _display_url(url)
    if "@" in (_password(url) or ""):
        raise GfeError(
            f"storage {shown}: the password holds '@', which ends the password in a URL; write it as %40"
        )
    path = _sqlite_path(url)
    if path is not None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GfeError(
                f"storage {shown}: cannot create the folder {Path(path).parent} for the SQLite file "
                f"({exc.strerror or exc}); choose a writable path, e.g. sqlite:///study.db"
            ) from None


def _connect_fix(url: str) -> str:
    if url.startswith("sqlite:"):
        return "check that the SQLite file's folder exists and is writable, and that the file is a SQLite database"
    return "check that the server runs and the URL, user and password are right"


def open_storage(url: str):
    """An Optuna RDB storage, or a GfeError that names the URL (never its password) and the fix."""
    import sqlalchemy.exc

    shown = _display_url(url)
    check_storage_url(url)
    try:
        return _rdb_storage(_driver_url(url), _storage_kwargs(url))
    except ImportError as exc:
        fix = (
            "for PostgreSQL run: pip install 'gfe[postgres]'"
            if url.startswith("postgres")
            else "gfe is tested with sqlite:/// and postgresql:// storages; for another database install "
            "its SQLAlchemy driver (e.g. pip install pymysql, then mysql+pymysql://…)"
        )
        raise GfeError(f"storage {shown}: its database driver is not installed ({exc}); {fix}") from None
    except sqlalchemy.exc.ArgumentError as exc:
        raise GfeError(
            f"storage {shown!r}: not a database URL ({_without_password(str(exc), url)}); use e.g. sqlite:///study.db"
        ) from None
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.DatabaseError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise GfeError(
            f"storage {shown}: cannot connect ({_without_password(reason, url)}); {_connect_fix(url)}"
        ) from None


def _racing(exc: Exception) -> bool:
    """Whether a database error is one that workers starting together on a new database cause:
    a table another worker created first, a duplicate row, a locked SQLite file."""
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.ProgrammingError):
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    return isinstance(exc, sqlalchemy.exc.OperationalError) and ("already exists" in text or "locked" in text)


def _retrying(fn: Callable, attempts: int = 8):
    """``fn()``, tried again (after a short, random wait) while it fails as racing workers do."""
    import random

    import sqlalchemy.exc

    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            if attempt == attempts or not _racing(exc):
                raise
            time.sleep(0.1 * attempt + 0.2 * random.random())
    raise AssertionError("unreachable")  # pragma: no cover


def _rdb_storage(url: str, kwargs: dict, attempts: int = 8):
    """Optuna's RDBStorage. Workers that start together on an empty database race to create its
    tables (PostgreSQL: IntegrityError / ProgrammingError; SQLite: "table … already exists",
    "database is locked"); the loser simply tries again and finds the tables made."""
    import optuna

    def make():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, **kwargs)

    return _retrying(make, attempts)


class TrialSeededSampler:
    """Optuna's TPE sampler, seeded afresh for every trial from (``seed``, trial number).

    The storage numbers a study's trials once each, whichever process runs them, so every worker
    sharing a study — the processes of one `gfe tune --jobs N`, independent `gfe tune` commands on
    one SQLite file or server — samples from its own stream (their random start-up trials differ),
    and one process resuming a study samples exactly what the same command samples again. With
    ``constant_liar`` the running trials of other workers count as bad, so TPE does not propose
    their configurations again."""

    def __init__(self, seed: int, **tpe_options) -> None:
        self.seed = int(seed)
        self.options = {"constant_liar": True, **tpe_options}
        self._by_trial: dict[int, object] = {}

    def _sampler(self, trial):
        import optuna

        sampler = self._by_trial.get(trial.number)
        if sampler is None:
            state = np.random.SeedSequence([self.seed, trial.number]).generate_state(1)[0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.TPESampler(seed=int(state), **self.options)
            self._by_trial[trial.number] = sampler
        return sampler

    def infer_relative_search_space(self, study, trial):
        return self._sampler(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._sampler(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self._sampler(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self._sampler(trial).after_trial(study, trial, state, values)
        self._by_trial.pop(trial.number, None)

    def reseed_rng(self) -> None:
        """Nothing to reseed: each trial's stream is fixed by its number."""


@functools.cache
def _sampler_class():
    """:class:`TrialSeededSampler` as a subclass of Optuna's BaseSampler (imported lazily)."""
    import optuna

    return type("TrialSeededSampler", (TrialSeededSampler, optuna.samplers.BaseSampler), {})


def open_study(cfg: TuneConfig, storage_url: str, worker: int = 0):
    """Create or load the study; refuse one whose search space (or task) differs. Every process
    that opens it samples its trials from (seed, trial number) (:class:`TrialSeededSampler`), so
    ``worker`` (the number of a local worker process) changes nothing but is kept for callers."""
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
    sampler = _sampler_class()(cfg.seed, n_startup_trials=min(10, max(3, cfg.trials // 3)))
    warmup = search_space(cfg.model).warmup_steps  # e.g. 50 cheap full-batch epochs, 5 costly windowed ones
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    study = _retrying(
        lambda: optuna.create_study(
            storage=storage, study_name=cfg.study_name, direction="maximize", sampler=sampler, pruner=pruner,
            load_if_exists=True,
        )
    )  # fmt: skip
    stored = study.user_attrs.get("gfe")
    if stored is None:
        _retrying(lambda: study.set_user_attr("gfe", signature))
    elif stored != signature:
        diff = [k for k in ("space", "task") if stored.get(k) != signature[k]]
        raise GfeError(
            f"study {cfg.study_name!r} in {_display_url(storage_url)} was created with a different "
            f"{' and '.join('search space' if k == 'space' else 'task' for k in diff)} "
            f"(stored: {json.dumps(stored.get(diff[0]), sort_keys=True)[:300]}); "
            "choose another --study name or --out folder"
        )
    return study


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
    from gfe.protocols import carve_validation, get_protocol, load_pool, make_sequences, signer_runs

    pool = load_pool(str(data_dir), cfg.expression, cfg.features)
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
    return {**space.fixed, **suggest(trial, space.search)}


def make_objective(folds: list[_FoldData], cfg: TuneConfig) -> Callable:
    """Validation F1 (mean over folds) of the trial's configuration; prunes on per-epoch F1."""
    import optuna

    from gfe.metrics import binary_metrics

    def objective(trial) -> float:
        import torch

        torch.set_num_threads(1)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        params = trial_params(cfg.model, trial)
        scores, best_epochs = [], []
        for k, fd in enumerate(folds):
            est = make_model(cfg.model, **params)
            est.device = cfg.device
            est.fit(fd.train, seed=cfg.seed, val=fd.val, monitor=_reporter(trial, k))
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

        # Each report is a write to the storage: e.g. every 10th epoch for the fast frame models.
        every = search_space(cfg.model).report_every

        def report(epoch: int, module, history: dict) -> None:
            f1s = history.get("val_f1", [])
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
    params = {**space.fixed, **best.params}
    if space.epochs_from_early_stopping:  # early stopping chose the epochs; the final model trains that many
        params["epochs"] = int(best.user_attrs.get("best_epoch") or params["epochs"])
        params.pop("patience", None)
    return params


def default_params(model: str) -> dict:
    return make_model(model).get_params()


# --------------------------------------------------------------------------------- the run
def run_search(study, folds, cfg: TuneConfig, progress: bool = True) -> int:
    """Run trials until the study holds ``cfg.trials`` finished ones; return how many this ran."""
    import optuna

    from gfe.progress import progress_bar

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
    data_dir: Path, cfg: TuneConfig, configs: dict[str, dict], folder: RunFolder, progress: bool = True
) -> pd.DataFrame:
    """Test F1 of each named configuration, trained by the benchmark's cell code, per eval seed
    (the cells go to the run folder's cells.jsonl, so a rerun does not retrain them)."""
    labels = {f"{cfg.model}@{name}": name for name in configs}
    spec = CellSpec(
        data_dir=str(data_dir), features=cfg.features, val_fraction=cfg.val_fraction, threshold=cfg.threshold,
        model_params={label: configs[name] for label, name in labels.items()}, predictions="none",
        device=cfg.device,
    )  # fmt: skip
    cells = [Cell(cfg.expression, cfg.protocol, s, label) for label in labels for s in range(cfg.eval_seeds)]
    records = run_cells(spec, cells, folder, LocalExecutor(1), progress, "test F1 (touched once)")
    rows = [
        {"config": labels[c.model], **r, "model": cfg.model} for c in cells for r in records[c.key]["rows"]
    ]
    columns = ["config", "expression", "model", "protocol", "fold", "seed", "n_train", "n_val", "n_test",
               "f1", "precision", "recall", "accuracy", "tn", "fp", "fn", "tp", "fit_seconds"]  # fmt: skip
    return pd.DataFrame(rows)[columns]


def tune_identity(cfg: TuneConfig, storage: str, data_dir: Path) -> dict:
    """What a tune folder is: the task and search space (not the number of trials, which a rerun
    may raise to extend the study), the storage, the data and gfe's version."""
    from gfe.experiments.benchmark import data_files_checksums

    task = {k: v for k, v in cfg.to_dict().items() if k not in ("trials", "jobs", "device")}
    return {
        "task": task, "space": space_signature(cfg.model), "storage": _display_url(storage),
        "data": data_files_checksums(data_dir, [cfg.expression]), "gfe": __version__,
    }  # fmt: skip


def tune(
    data_dir: Path,
    out: Path,
    cfg: TuneConfig,
    storage: str | None = None,
    evaluate_test: bool = True,
    progress: bool = True,
    force: bool = False,
) -> dict:
    """Search (or resume), then write the run folder; return the summary written to run.json."""
    _check_task(cfg, storage)
    started, t0 = provenance.timestamp(), time.perf_counter()
    folder = RunFolder(out)
    url = storage or default_storage(out)
    ident = tune_identity(cfg, url, data_dir)
    folder.open("tune", ident, force=force)
    previous = folder.info()
    with _database_errors(url):
        study, counts = _search(data_dir, cfg, url, progress)
        tuned = _write_best(study, cfg, folder, url)
    summary = {
        "command": provenance.command_line(),
        "kind": "tune",
        "started": started,
        "config": cfg.to_dict(),
        "storage": _display_url(url),
        "data_dir": str(data_dir),
        "data_checksums": ident["data"],
        "versions": {**provenance.package_versions(), "optuna": _version("optuna")},
        "machine": provenance.machine(),
        **counts,
        "best": {"trial": study.best_trial.number, "validation_f1": study.best_value, "params": tuned},
        "default_params": default_params(cfg.model),
        "files": [RunFolder.TRIALS, RunFolder.BEST_CONFIG, *write_plots(study, folder)],
    }
    if evaluate_test:
        comparison = evaluate(
            data_dir, cfg, {"default": default_params(cfg.model), "tuned": tuned}, folder, progress
        )
        folder.write_csv(RunFolder.COMPARISON_CSV, comparison)
        summary["test_f1"] = {
            label: round(float(g.groupby("seed")["f1"].mean().mean()), 4)
            for label, g in comparison.groupby("config", sort=False)
        }
        summary["files"] += [RunFolder.COMPARISON_CSV]
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["invocations"] = [
        *previous.get("invocations", []),
        {"command": summary["command"], "started": started, "trials_ran": counts["trials"]["ran_now"],
         "seconds": summary["seconds"]},
    ]  # fmt: skip
    folder.finish(summary)
    return summary


def _check_task(cfg: TuneConfig, storage: str | None) -> None:
    """Names, model and storage checked before the run folder is made (a bad or unreachable
    storage, too, is refused before anything is written)."""
    from gfe.protocols import get_protocol

    if cfg.expression not in EXPRESSIONS:
        raise GfeError(f"unknown expression {cfg.expression!r}; choose one of: {', '.join(EXPRESSIONS)}")
    make_model(cfg.model)
    search_space(cfg.model)
    get_protocol(cfg.protocol)
    if storage is not None:
        open_storage(storage).engine.dispose()


@contextlib.contextmanager
def _database_errors(url: str):
    """A database error while the study runs (the server went away, the disk filled) → one line
    naming the storage, without its password."""
    import sqlalchemy.exc

    try:
        yield
    except sqlalchemy.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise GfeError(
            f"storage {_display_url(url)}: the database failed while the study ran ({_without_password(reason, url)}); "
            "the finished trials are kept — fix it and rerun the same command to resume"
        ) from None


def _search(data_dir: Path, cfg: TuneConfig, url: str, progress: bool):
    """Open the study, fail a dead local worker's trials, run the missing trials → (study, counts)."""
    study = open_study(cfg, url)
    revived = fail_dead_local_trials(study)
    before = finished_trials(study)
    t0 = time.perf_counter()
    ran = run_parallel_search(study, prepare_folds(data_dir, cfg), cfg, data_dir, url, progress)
    seconds = time.perf_counter() - t0
    states = study.trials_dataframe(attrs=("state",))
    counts = {
        "trials": {
            "finished_before": before, "ran_now": ran, "finished": finished_trials(study),
            "failed_dead_workers": revived,
            "by_state": states["state"].value_counts().to_dict() if len(states) else {},
        },
        "search_seconds": round(seconds, 2),
        "trials_per_minute": round(60 * ran / seconds, 2) if ran and seconds > 0 else None,
    }  # fmt: skip
    return study, counts


def _write_best(study, cfg: TuneConfig, folder: RunFolder, url: str) -> dict:
    """trials.csv and best_config.json; the best parameters (a clear error if no trial completed)."""
    trials = study.trials_dataframe(attrs=("number", "value", "state", "params", "duration", "user_attrs"))
    folder.write_csv(RunFolder.TRIALS, trials)
    try:
        study.best_trial  # noqa: B018 - raises when nothing completed
    except ValueError:
        raise GfeError(
            f"study {cfg.study_name!r}: no trial completed ({len(trials)} ran); see {folder / RunFolder.TRIALS}"
        ) from None
    tuned = best_params(study, cfg.model)
    source = {
        "study": cfg.study_name, "storage": _display_url(url), "expression": cfg.expression,
        "protocol": cfg.protocol, "trial": study.best_trial.number, "validation_f1": study.best_value,
    }  # fmt: skip
    folder.write_json(RunFolder.BEST_CONFIG, model_config(cfg.model, tuned, cfg.features, source))
    return tuned


def write_plots(study, folder: RunFolder) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNG (matplotlib backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    written = []
    # Study and parameter names are drawn as given (no $…$ mathtext to fail on).
    with warnings.catch_warnings(), matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. "importances will be equal" on few trials
        ax = ovm.plot_optimization_history(study)
        _retitle(ax, f"Optimisation history — {study.study_name}")
        ax.set_ylabel("validation F1")
        ax.figure.set_size_inches(8, 4.5)
        ax.figure.tight_layout()
        _save(ax.figure, folder, RunFolder.HISTORY_PNG)
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
                _save(ax.figure, folder, RunFolder.IMPORTANCE_PNG)
                plt.close(ax.figure)
                written.append("importance.png")
    return written


def _save(fig, folder: RunFolder, name: str) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    folder.write_bytes(name, buf.getvalue())


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
