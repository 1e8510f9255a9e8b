"""`gfe report`: run folders → one self-contained HTML report, and the same tables as Markdown.

:func:`load_run` reads a run folder of ``gfe reproduce``, ``gfe benchmark`` or ``gfe tune``;
:func:`build_report` turns the runs into a :class:`Report` — sections of headings, paragraphs,
tables, notes and figures (figures are drawn later, by :func:`render_figures`, so that a progress
bar can follow them); :func:`write_report` renders the Jinja2 templates shipped in
``gfe/templates`` (``report.html.j2`` with autoescape, ``report.md.j2``). Images are embedded as
``data:`` URIs, so the HTML needs no network and no other file.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS, SIGNERS
from gfe.errors import GfeError, mask_secrets
from gfe.experiments import RunFolder
from gfe.report import figures as figs
from gfe.report.blocks import (
    Code,
    Details,
    Figure,
    Heading,
    Note,
    Paragraph,
    Section,
    Table,
    md_code,
    md_text,
    walk,
)

KINDS = ("reproduce", "benchmark", "tune")
TIMELINE_PROTOCOLS = ("chrono", "paper-holdout")  # preferred default for the timelines, in order
MAX_TIMELINE_MODELS = 3
RERUN_HINT = "restore it or rerun the command that wrote it"
RESULT_COLUMNS = ("expression", "model", "protocol", "fold", "seed", "f1")  # what every section reads
COMPARISON_COLUMNS = ("config", "expression", "model", "protocol", "seed", "f1")
RUN_HINT = "pass a run folder written by `gfe reproduce`, `gfe benchmark` or `gfe tune` (it holds run.json)"


@dataclass
class Report:
    title: str
    generated: str
    version: str
    runs: list[Run]
    sections: list[Section]
    warnings: list[str]

    @property
    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in walk(s.blocks) if isinstance(b, Figure)]


# ------------------------------------------------------------------------------------ run folders
@dataclass
class Run:
    """One run folder and what it holds."""

    path: Path
    label: str  # the folder as the user named it
    info: dict
    kind: str
    results: pd.DataFrame | None
    missing: list[str]

    @property
    def threshold(self) -> float:
        return float(self.info.get("config", {}).get("threshold", 0.5))

    @cached_property
    def losses(self) -> pd.DataFrame | None:
        df = self.read_csv(RunFolder.LOSSES, needs=("expression", "model", "protocol", "seed", "epoch"))
        if df is None:
            return None
        df["fold"] = df["fold"].fillna("").astype(str) if "fold" in df else ""
        return df

    @cached_property
    def predictions(self) -> pd.DataFrame | None:
        """Per-frame predictions of the first seed of each protocol and model (or None)."""
        from gfe.experiments import predictions

        df = predictions.read(self.path)
        if df is None:
            return None
        first = df.groupby(["protocol", "model"])["seed"].transform("min")
        return df[df["seed"] == first]

    def read_csv(self, name: str, needs: Sequence[str] = ()) -> pd.DataFrame | None:
        """A CSV file of the run (None when absent); an unreadable one, or one without the
        columns ``needs``, is one clear error naming it."""
        path = self.path / name
        return _read_csv(path, needs) if path.is_file() else None


# What each kind of run should hold, and what the report loses without it.
EXPECTED = {
    "reproduce": (
        (RunFolder.RUN_JSON, "no command, versions or data checksums for this run"),
        (RunFolder.RESULTS, "no Table 3, F1 bars or confusion matrices from this run"),
        (RunFolder.LOSSES, "no loss curves from this run"),
        (f"{RunFolder.PREDICTIONS}/", "no timelines from this run (it kept no per-frame predictions)"),
    ),
    "benchmark": (
        (RunFolder.RUN_JSON, "no command, versions or data checksums for this run"),
        (RunFolder.RESULTS, "no benchmark tables, F1 bars or confusion matrices from this run"),
        (f"{RunFolder.PREDICTIONS}/", "no timelines from this run (it kept no per-frame predictions)"),
    ),
    "tune": (
        (RunFolder.RUN_JSON, "no command, versions or data checksums for this run"),
        (RunFolder.TRIALS, "no summary of the trials"),
        (RunFolder.BEST_CONFIG, "no table of the best parameters"),
        (RunFolder.COMPARISON_CSV, "no default-versus-tuned comparison"),
        (RunFolder.HISTORY_PNG, "no optimisation history figure"),
        (RunFolder.IMPORTANCE_PNG, "no parameter importance figure"),
    ),
}


def _read_run_json(path: Path) -> dict:
    """run.json, every text in it with passwords of URLs hidden (a folder written by an older gfe
    may hold a storage URL as typed)."""
    return _masked(RunFolder(path).info())


def _masked(value):
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _read_csv(path: Path, needs: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV file of a run folder, or one clear error when it is empty, not a CSV, not readable or
    lacks the columns ``needs``."""
    try:
        df = pd.read_csv(path, dtype={"fold": str})
    except (ValueError, UnicodeDecodeError, OSError) as exc:  # EmptyDataError and ParserError are ValueErrors
        raise GfeError(f"{path}: not a readable table ({type(exc).__name__}); {RERUN_HINT}") from None
    missing = [c for c in needs if c not in df.columns]
    if missing:
        raise GfeError(
            f"{path}: no column {', '.join(missing)}, so it is not a gfe {path.name}; {RERUN_HINT}"
        )
    return df


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise GfeError(f"{path}: not readable JSON ({type(exc).__name__}); {RERUN_HINT}") from None


def _read_results_csv(path: Path) -> pd.DataFrame:
    """A results.csv, or one clear error when it is empty, not a CSV or lacks the needed columns."""
    return _read_csv(path, RESULT_COLUMNS)


def _read_results(path: Path) -> pd.DataFrame | None:
    """results.csv, else the finished cells of an unfinished benchmark (cells.jsonl)."""
    if (path / RunFolder.RESULTS).is_file():
        df = _read_results_csv(path / RunFolder.RESULTS)
    elif (path / RunFolder.CELLS).is_file():
        cells = RunFolder(path).read_cells().values()
        rows = [r for cell in cells for r in cell["rows"]]
        if rows and not any(cell.get("losses") for cell in cells):  # a benchmark's cells: no loss curves
            rows = [{k: v for k, v in r.items() if k not in ("hidden_units", "n_unusable")} for r in rows]
        if not rows:
            return None
        df = pd.DataFrame(rows).astype({"fold": str})
    else:
        return None
    df["fold"] = df["fold"].fillna("").replace("nan", "")
    return df


def _infer_kind(path: Path, info: dict, results: pd.DataFrame | None) -> str:
    kind = info.get("kind")
    if kind in KINDS:
        return kind
    if any((path / f).is_file() for f in (RunFolder.TRIALS, RunFolder.COMPARISON_CSV, RunFolder.BEST_CONFIG)):
        return "tune"
    if results is not None and "hidden_units" in results.columns:
        return "reproduce"
    return "benchmark"


def _not_a_run(path: Path) -> GfeError:
    inner = sorted(p.parent.name for p in path.glob("*/run.json"))
    hint = (
        f"; it contains run folders: {', '.join(inner[:6])}{' …' if len(inner) > 6 else ''}" if inner else ""
    )
    return GfeError(f"{path}: holds no run.json or results.csv, so it is not a run folder — {RUN_HINT}{hint}")


def load_run(path: str | Path) -> Run:
    """Read a run folder; a missing folder or one that holds no run is a clear GfeError."""
    path = Path(path)
    if not path.exists():
        raise GfeError(f"{path}: folder not found — {RUN_HINT}")
    if not path.is_dir():
        raise GfeError(f"{path}: not a folder — {RUN_HINT}")
    info = _read_run_json(path)
    results = _read_results(path)
    tune_files = any((path / f).is_file() for f in (RunFolder.TRIALS, RunFolder.COMPARISON_CSV))
    if not info and results is None and not tune_files:
        raise _not_a_run(path)
    kind = _infer_kind(path, info, results)
    missing = [f"{path}: no {name} — {loses}" for name, loses in EXPECTED[kind] if not (path / name).exists()]
    if kind != "tune" and results is not None and not (path / RunFolder.RESULTS).is_file():
        missing.append(f"{path}: no results.csv — using the {len(results)} rows finished in cells.jsonl")
    return Run(path, str(path), info, kind, results, missing)


# ------------------------------------------------------------------------------- inline Markdown
INLINE = [
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
]


def inline_markdown(text: str):
    """Jinja filter: escape ``text``, then turn **bold** and `code` into tags (escape first: safe)."""
    from markupsafe import Markup, escape

    out = str(escape(text))
    for pattern, repl in INLINE:
        out = pattern.sub(repl, out)
    return Markup(out)


# --------------------------------------------------------------------------------- aggregation
def seed_scores(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of F1 (each seed's F1 averaged over the protocol's folds), models in
    the run's order and expressions in the dataset's."""
    from gfe.report.tables import seed_scores as per_seed

    stats = (
        per_seed(results)
        .groupby(["protocol", "model", "expression"])["f1"]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    models = list(dict.fromkeys(results["model"]))
    return stats.sort_values(
        ["model", "expression"],
        key=lambda col: col.map({m: i for i, m in enumerate(models if col.name == "model" else EXPRESSIONS)}),
        kind="stable",
    ).reset_index(drop=True)


def confusion_counts(results: pd.DataFrame, protocol: str) -> dict[str, tuple[int, int, int, int]]:
    """(tn, fp, fn, tp) per model, summed over expressions, seeds and folds of ``protocol``."""
    sub = results[results["protocol"] == protocol]
    sums = sub.groupby("model", sort=False)[["tn", "fp", "fn", "tp"]].sum()
    return {m: tuple(int(v) for v in row) for m, row in sums.iterrows()}


def _count_words(results: pd.DataFrame) -> str:
    n_e, n_s = results["expression"].nunique(), results["seed"].nunique()
    return f"{n_e} expression{'s' * (n_e != 1)}, {n_s} seed{'s' * (n_s != 1)}"


def _protocols(results: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(results["protocol"]))


def _heading_for(run: Run, runs: Sequence[Run], level: int = 3) -> list:
    """A per-run heading, only when more than one run feeds the section."""
    return [Heading(f"{run.kind} run `{run.label}`", level)] if len(runs) > 1 else []


# ------------------------------------------------------------------------------------- sections
def overview_section(runs: list[Run], absent: list[str]) -> Section:
    rows = []
    for r in runs:
        seeds = r.info.get("seeds") or (
            sorted(r.results["seed"].unique().tolist()) if r.results is not None else []
        )
        rows.append([f"`{r.label}`", r.kind, f"`{r.info.get('command', '–')}`",
                     str(len(seeds)) if seeds else "–", r.info.get("started") or _first_started(r.info)])  # fmt: skip
    blocks = [Table(["run folder", "kind", "command", "seeds", "started"], rows, "lllrl")]
    blocks += [Note(m) for r in runs for m in r.missing]
    blocks += [Note(a) for a in absent]
    return Section("runs", "Runs", blocks)


def _first_started(info: dict) -> str:
    inv = info.get("invocations") or [{}]
    return str(inv[0].get("started", "–"))


def table3_section(runs: list[Run]) -> Section | None:
    from gfe.report.tables import table3_blocks

    runs = [r for r in runs if r.kind == "reproduce"]
    blocks = []
    for run in runs:
        blocks += _heading_for(run, runs)
        if run.results is None:
            blocks.append(Note(f"{run.label}: no results.csv, so no Table 3."))
            continue
        base = 3 if len(runs) == 1 else 4
        for b in table3_blocks(run.results):
            if isinstance(b, Heading):
                b = Heading(b.text, b.level - 2 + base) if b.level > 1 else None  # the title is the section's
            if b is not None:
                blocks.append(b)
    if not runs:
        return None
    intro = Paragraph(
        "The seed paper's Table 3 (published F1 of the positive class) beside our reproduction: "
        "`paper` is the protocol the paper's code ran (signers pooled, frames shuffled, 80/20), "
        "`paper-holdout` the one its text describes (the last 20 % of the pooled frames held out)."
    )
    return Section("table3", "Table 3 reproduced", [intro, *blocks])


def _winloss_table(results: pd.DataFrame, protocol: str) -> list:
    """Wins and losses under ``protocol`` (:func:`gfe.report.tables.winloss_table`), if any opponent."""
    from gfe.report.tables import winloss_table

    table = winloss_table(results, protocol)
    if table is None or len(table.header) <= 1:
        return []
    tables = [table]
    text = "Wins–losses over expressions (mean F1 over seeds) against our PaperLSTM and the published results"
    return [Paragraph(f"{text} of the same protocol; in brackets the mean difference:"), *tables]


def benchmark_section(runs: list[Run]) -> Section | None:
    from gfe.report.tables import EVENTS_NOTE, benchmark_table, events_table, folds_table, has_events

    runs = [r for r in runs if r.kind == "benchmark" and r.results is not None]
    if not runs:
        return None
    blocks = [
        Paragraph("Mean ± std F1 over seeds per expression and protocol; the best model of each row in bold.")
    ]
    for run in runs:
        blocks += _heading_for(run, runs)
        level = 3 if len(runs) == 1 else 4
        for protocol in _protocols(run.results):
            blocks.append(Heading(f"protocol `{protocol}`", level))
            blocks.append(benchmark_table(run.results, protocol))
            if has_events(run.results, protocol):
                blocks += [Paragraph(EVENTS_NOTE), events_table(run.results, protocol)]
            if run.results[run.results["protocol"] == protocol]["fold"].nunique() > 1:
                blocks.append(Paragraph(f"Per fold (`{protocol}`), mean F1 over expressions and seeds:"))
                blocks.append(folds_table(run.results, protocol))
            blocks += _winloss_table(run.results, protocol)
    return Section("benchmark", "Benchmark", blocks)


def f1_section(runs: list[Run]) -> Section | None:
    from gfe.report.published import published_for

    runs = [r for r in runs if r.kind in ("reproduce", "benchmark") and r.results is not None]
    if not runs:
        return None
    blocks = []
    for run in runs:
        blocks += _heading_for(run, runs)
        scores = seed_scores(run.results)
        for protocol in _protocols(run.results):
            sub = scores[scores["protocol"] == protocol]
            anchors = published_for(protocol)
            n = int(sub["count"].max())
            caption = (
                f"F1 per expression under `{protocol}` (run `{run.label}`): bars = mean over {n} seed"
                f"{'s' * (n != 1)}, error bars = std over seeds (each seed's F1 averaged over the protocol's folds)."
                + (
                    " Hatched grey: published results from random frame splits (the seed paper's Table 3 and "
                    "Bhuvan et al. 2016, pooled signers) — quoted, no spread known; Freitas et al. report no "
                    "emphasis result."
                    if anchors
                    else " No published result uses this protocol."
                )
            )
            title = f"F1 per expression — {protocol}"
            blocks.append(
                Figure(caption, title, make=lambda s=sub, a=anchors, t=title: figs.f1_bars(s, a, t))
            )
    return Section("f1", "F1 per expression", blocks)


def confusion_section(runs: list[Run]) -> Section | None:
    runs = [r for r in runs if r.kind in ("reproduce", "benchmark") and r.results is not None]
    runs = [r for r in runs if {"tn", "fp", "fn", "tp"} <= set(r.results.columns)]
    if not runs:
        return None
    blocks = []
    for run in runs:
        blocks += _heading_for(run, runs)
        for protocol in _protocols(run.results):
            sub = run.results[run.results["protocol"] == protocol]
            caption = (
                f"Confusion matrices under `{protocol}` (run `{run.label}`), test frames summed over "
                f"{_count_words(sub)} and every fold. Colour and upper number: share of the true class "
                "(each row sums to 1); in brackets: frames."
            )
            title = f"Confusion matrices — {protocol}"
            counts = confusion_counts(run.results, protocol)
            blocks.append(
                Figure(caption, title, make=lambda c=counts, t=title: figs.confusion_matrices(c, t))
            )
    return Section("confusion", "Confusion matrices", blocks)


def loss_section(runs: list[Run]) -> Section | None:
    runs = [r for r in runs if r.kind == "reproduce" and r.losses is not None and len(r.losses)]
    if not runs:
        return None
    blocks = [
        Paragraph(
            "Train and test cross-entropy per epoch, as in the paper's Figs. 3–4 (for the pruned MLP: "
            "the retraining epochs after pruning)."
        )
    ]
    for run in runs:
        blocks += _heading_for(run, runs)
        losses = run.losses
        for (protocol, model), sub in losses.groupby(["protocol", "model"], sort=False):
            n = sub["seed"].nunique()
            caption = (
                f"Loss curves of `{model}` under `{protocol}` (run `{run.label}`): line = mean over {n} "
                f"seed{'s' * (n != 1)}, band = min–max over seeds."
            )
            title = f"{model} — {protocol}"
            blocks.append(Figure(caption, title, make=lambda s=sub, t=title: figs.loss_curves(s, t)))
    return Section("losses", "Loss curves", blocks)


# -------------------------------------------------------------------------------------- timelines
@dataclass
class TimelineChoice:
    protocol: str
    labels: list[str]  # model names shown (with the run folder when a name is in several runs)
    frames: pd.DataFrame  # expression, signer, model (label), frame, split, label, prob
    threshold: float
    ranking: list[tuple[str, float]]


def _candidates(runs: list[Run], protocol: str) -> list[tuple[Run, str, float]]:
    """(run, model, mean F1) of every model with predictions under ``protocol``, best first."""
    out = []
    for run in runs:
        pred = run.predictions
        if pred is None:
            continue
        for model in dict.fromkeys(pred.loc[pred["protocol"] == protocol, "model"]):
            res = run.results
            f1 = np.nan
            if res is not None:
                f1 = float(res[(res["protocol"] == protocol) & (res["model"] == model)]["f1"].mean())
            out.append((run, model, f1))
    return sorted(out, key=lambda c: -np.nan_to_num(c[2], nan=-1.0))


def choose_timelines(
    runs: list[Run], protocol: str | None, models: Sequence[str] | None
) -> TimelineChoice | None:
    """Which protocol and models the timelines show: ``protocol`` or chrono, paper-holdout, the
    first one with predictions; ``models`` or the (at most 3) best by mean F1 under it."""
    available = list(
        dict.fromkeys(p for r in runs if r.predictions is not None for p in r.predictions["protocol"])
    )
    if not available:
        if protocol or models:
            raise GfeError(
                "--protocol/--models choose timelines, but no run given holds per-frame predictions"
            )
        return None
    if protocol is None:
        protocol = next((p for p in TIMELINE_PROTOCOLS if p in available), available[0])
    elif protocol not in available:
        raise GfeError(
            f"--protocol {protocol}: no per-frame predictions for it; available: {', '.join(available)}"
        )
    cands = _candidates(runs, protocol)
    names = [m for _, m, _ in cands]
    if models:
        unknown = [m for m in models if m not in names]
        if unknown:
            raise GfeError(
                f"--models: no predictions of {', '.join(unknown)} under {protocol}; available: {', '.join(dict.fromkeys(names))}"
            )
        cands = [c for c in cands if c[1] in models]
    else:
        cands = cands[:MAX_TIMELINE_MODELS]
    label = {id(c): c[1] if names.count(c[1]) == 1 else f"{c[1]} ({c[0].label})" for c in cands}
    parts = []
    for c in cands:
        run, model, _ = c
        p = run.predictions
        parts.append(p[(p["protocol"] == protocol) & (p["model"] == model)].assign(model=label[id(c)]))
    frames = _tested_rows(pd.concat(parts, ignore_index=True))
    ranking = [(label[id(c)], c[2]) for c in cands]
    return TimelineChoice(protocol, [label[id(c)] for c in cands], frames, cands[0][0].threshold, ranking)


def _tested_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per model and frame: the fold in which the frame was a test frame, if any."""
    order = (df["split"] != "test").astype(int)
    df = df.assign(_order=order).sort_values(["_order", "fold"], kind="stable")
    keys = ["expression", "model", "signer", "frame"]
    return df.drop_duplicates(keys).drop(columns="_order").sort_values(keys, kind="stable")


def _ranked(model: str, f1: float) -> str:
    """A model of the timelines as --models names it (and its label, for a tuned configuration),
    with its mean F1."""
    from gfe.models import display_name

    score = f"{f1:.3f}" if np.isfinite(f1) else None
    if display_name(model) == model:
        return f"`{model}` ({score})" if score else f"`{model}`"
    inner = ", ".join(x for x in (f"`{model}`", score) if x)
    return f"{display_name(model)} ({inner})"


def timeline_section(choice: TimelineChoice | None) -> Section | None:
    if choice is None:
        return None
    ranked = ", ".join(_ranked(m, f1) for m, f1 in choice.ranking)
    blocks = [
        Paragraph(
            f"Every recording under `{choice.protocol}`, first seed only: ground truth (grey), each model's "
            f"probability on the test frames, and the predicted segments (probability ≥ {choice.threshold:g}, "
            f"test frames only) below the truth, so missed onsets and offsets show. Models (mean test F1 "
            f"under `{choice.protocol}`): {ranked}. Background: training frames blue, validation frames "
            "(early stopping) yellow, test frames white, unused frames (gaps, unknown features) grey. "
            "Where a protocol has several folds, each frame is shown from the fold that tested it. "
            "Choose others with `--protocol` and `--models`."
        )
    ]
    for expression in [e for e in EXPRESSIONS if e in set(choice.frames["expression"])]:
        sub = choice.frames[choice.frames["expression"] == expression]
        title = f"{figs.pretty(expression)} — {choice.protocol}"
        caption = (
            f"Timeline of {figs.pretty(expression)} (signers {', '.join(sorted(set(sub['signer'])))}) "
            f"under `{choice.protocol}`, seed {int(sub['seed'].min())}; dashed line: threshold {choice.threshold:g}."
        )
        make = lambda s=sub, t=title: figs.timeline(s, choice.labels, choice.threshold, t)  # noqa: E731
        blocks.append(Figure(caption, title, make=make))
    return Section("timelines", "Timelines", blocks)


# ------------------------------------------------------------------------------------------- tune
def _flatten(obj, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, dict):
        return [kv for k, v in obj.items() for kv in _flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), json.dumps(obj) if not isinstance(obj, str) else obj)]


def _trials_blocks(trials: pd.DataFrame) -> list:
    states = trials["state"].value_counts().to_dict() if "state" in trials else {}
    summary = ", ".join(f"{v} {k.lower()}" for k, v in states.items())
    blocks = [Paragraph(f"{len(trials)} trials ({summary}).")]
    done = trials[trials["state"] == "COMPLETE"] if "state" in trials else trials
    if "value" in done and done["value"].notna().any():
        best = done.loc[done["value"].idxmax()]
        params = [c for c in trials.columns if c.startswith("params_")]
        rows = [
            ["trial", str(int(best["number"])) if "number" in best else "–"],
            ["value", f"{best['value']:.4f}"],
        ]
        rows += [[c.removeprefix("params_"), str(best[c])] for c in params]
        blocks += [Paragraph("Best trial (highest value):"), Table(["", "best trial"], rows, "ll")]
    return blocks


def _comparison_blocks(comp: pd.DataFrame, source: str) -> list:
    blocks = []
    for (protocol, model), sub in comp.groupby(["protocol", "model"], sort=False):
        per = sub.groupby(["expression", "config", "seed"])["f1"].mean().groupby(["expression", "config"])
        stats = per.agg(["mean", "std"])
        rows = []
        for e in [x for x in EXPRESSIONS if x in set(sub["expression"])]:
            cell = {c: stats.loc[(e, c)] if (e, c) in stats.index else None for c in ("default", "tuned")}
            txt = [
                f"{v['mean']:.3f} ± {np.nan_to_num(v['std']):.3f}" if v is not None else "–"
                for v in cell.values()
            ]
            known = all(v is not None for v in cell.values())
            delta = cell["tuned"]["mean"] - cell["default"]["mean"] if known else np.nan
            rows.append([e, *txt, f"{delta:+.3f}" if np.isfinite(delta) else "–"])
        blocks += [Heading(f"`{model}` under `{protocol}`: default versus tuned", 4),
                   Table(["expression", "default", "tuned", "Δ tuned − default"], rows)]  # fmt: skip
        scores = stats.reset_index().rename(columns={"config": "model"})
        title = f"{model} — {protocol}: default vs tuned"
        caption = (
            f"Test F1 of `{model}` under `{protocol}` with its default and its tuned configuration "
            f"({source}): mean over seeds, error bars = std over seeds."
        )
        blocks.append(Figure(caption, title, make=lambda s=scores, t=title: figs.f1_bars(s, {}, t)))
    return blocks


def tune_section(runs: list[Run]) -> Section | None:
    runs = [r for r in runs if r.kind == "tune"]
    if not runs:
        return None
    blocks = []
    comps = [
        c
        for c in (r.read_csv(RunFolder.COMPARISON_CSV, COMPARISON_COLUMNS) for r in runs)
        if c is not None and len(c)
    ]
    if len(comps) > 1:  # every tuned expression of a model and protocol in one table and one figure
        blocks += [Heading("All tuning runs together", 3),
                   *_comparison_blocks(pd.concat(comps, ignore_index=True), "all tune runs given")]  # fmt: skip
    for run in runs:
        blocks += _heading_for(run, runs)
        best = run.path / RunFolder.BEST_CONFIG
        if best.is_file():
            rows = [[k, v] for k, v in _flatten(_masked(_read_json(best)))]
            blocks += [Heading("Best configuration", 4), Table(["parameter", "value"], rows, "ll")]
        trials = run.read_csv(RunFolder.TRIALS)
        if trials is not None:
            blocks += [Heading("Trials", 4), *_trials_blocks(trials)]
        comp = run.read_csv(RunFolder.COMPARISON_CSV, COMPARISON_COLUMNS)
        if comp is not None and len(comp):
            blocks += _comparison_blocks(comp, f"run `{run.label}`")
        for name, what in (
            (RunFolder.HISTORY_PNG, "Optimisation history"),
            (RunFolder.IMPORTANCE_PNG, "Parameter importance"),
        ):
            if (run.path / name).is_file():
                blocks.append(Figure(f"{what} (`{name}` of run `{run.label}`, drawn by `gfe tune`).", what,
                                     png=(run.path / name).read_bytes()))  # fmt: skip
    return Section("tune", "Tuning", blocks)


# ------------------------------------------------------------------------------------- landmarks
def find_data_dir(runs: list[Run], data_dir: str | Path | None) -> Path | None:
    """The runs' own dataset folder (run.json) if it still exists, else --data-dir/$GFE_DATA_DIR."""
    from gfe.data import dataset_present, resolve_data_dir

    for run in runs:
        d = run.info.get("data_dir")
        if d and dataset_present(Path(d)):
            return Path(d)
    path = resolve_data_dir(data_dir)
    return path if dataset_present(path) else None


def mean_face(data_dir: Path, signer: str) -> tuple[np.ndarray, int, int]:
    """Mean (x, y) of each landmark over every known frame of ``signer`` → (xy, frames, recordings)."""
    from gfe.data import load_recording

    parts = []
    for e in EXPRESSIONS:
        try:
            parts.append(load_recording(data_dir, signer, e).landmarks[:, :, :2])
        except GfeError:
            continue
    if not parts:
        raise GfeError(f"{data_dir}: no recording of signer {signer} could be loaded")
    xy = np.concatenate(parts)
    return np.nanmean(xy, axis=0), len(xy), len(parts)


def features_section(runs: list[Run], data_dir: str | Path | None, warnings: list[str]) -> Section:
    from gfe.features import ANGLE_TRIPLES, DISTANCE_PAIRS

    blocks = [
        Paragraph(
            "The paper's 118 features per frame (its §2.1 and Table 1): 11 distances D1–D11 between pairs "
            "of landmarks and the cosines A1–A7 of the angle at the middle landmark of 7 triples, both from "
            "x and y only, plus the 100 raw depths z."
        )
    ]
    folder = find_data_dir(runs, data_dir)
    signer = SIGNERS[0]
    if folder is None:
        msg = (
            "no dataset found (the runs' data_dir, --data-dir, $GFE_DATA_DIR): the landmark face is left "
            "out; pass --data-dir to draw it"
        )
        warnings.append(msg)
        blocks.append(Note(msg))
    else:
        try:
            xy, n_frames, n_rec = mean_face(folder, signer)
        except GfeError as exc:
            warnings.append(f"landmark face left out: {exc}")
            blocks.append(Note(f"The landmark face is left out: {exc}"))
        else:
            caption = (
                f"Mean landmark positions of signer {signer} over {n_frames:,} frames of {n_rec} recordings in "
                f"`{folder}` (x, y in pixels, y downward as in the image; frames with unknown x, y left out). "
                "Left: the distances D1–D11; right: the angles A1–A7. Numbers: landmark indices."
            )
            title = f"Table 1 on the mean face of signer {signer}"
            blocks.append(Figure(caption, title, make=lambda: figs.landmark_face(xy, title)))
    rows = [[f"D{i + 1}", "distance", f"{a} – {b}"] for i, (a, b) in enumerate(DISTANCE_PAIRS)]
    rows += [[f"A{i + 1}", "cosine of the angle at the middle", f"{a} – **{m}** – {b}"]
             for i, (a, m, b) in enumerate(ANGLE_TRIPLES)]  # fmt: skip
    blocks.append(Table(["feature", "kind", "landmarks"], rows, "lll"))
    return Section("features", "The paper's features on the face", blocks)


# ------------------------------------------------------------------------------------ provenance
PROVENANCE_SHOWN_ELSEWHERE = (
    "command",
    "kind",
    "config",
    "versions",
    "data_checksums",
    "invocations",
    "files",
)


def _facts(run: Run) -> list[list[str]]:
    """Every other entry of run.json, nested ones flattened (machine.cpus, timings_seconds.total …)."""
    rows = [["kind", run.kind], ["folder", f"`{run.path.resolve()}`"]]
    for key, value in run.info.items():
        if key in PROVENANCE_SHOWN_ELSEWHERE:
            continue
        if _is_counts(value):
            rows.append([key, _summarise_counts(value)])
        else:
            rows += [[k, f"`{v}`" if k == "data_dir" else v] for k, v in _flatten(value, f"{key}.")]
    return rows


def _is_counts(value) -> bool:
    """A long mapping of counts (e.g. unusable frames per recording), shown on one line."""
    return isinstance(value, dict) and len(value) > 6 and all(isinstance(v, int) for v in value.values())


def _summarise_counts(counts: dict) -> str:
    nonzero = [f"{k} {v:,}" for k, v in counts.items() if v]
    zero = len(counts) - len(nonzero)
    return ", ".join([*nonzero, *([f"{zero} others 0" if nonzero else f"all {zero}: 0"] if zero else [])])


def _run_provenance(run: Run) -> list:
    from gfe.models import display_name

    info = run.info
    if not info:
        return [Note(f"{run.label}: no run.json, so no command, versions or checksums are known.")]
    blocks = [Paragraph("Command:"), Code(str(info.get("command", "–")))]
    inv = info.get("invocations") or []
    if inv:
        rows = [[f"`{i.get('command', '')}`", str(i.get("started", "")), str(i.get("seconds", "")),
                 str(i.get("cells_computed", ""))] for i in inv]  # fmt: skip
        blocks.append(Table(["invocation", "started", "seconds", "cells computed"], rows, "llrr"))
    blocks.append(Table(["", "value"], _facts(run), "ll"))
    versions = info.get("versions") or {}
    if versions:
        blocks.append(Table(["package", "version"], [[k, str(v)] for k, v in versions.items()], "ll"))
    sources = (info.get("config") or {}).get("model_sources") or {}
    if sources:
        rows = [[display_name(m), f"`{m}`", f"`{path}`"] for m, path in sources.items()]
        blocks.append(Table(["tuned configuration", "name", "config file"], rows, "lll"))
    if info.get("config") is not None:
        blocks.append(Details("Configuration (run.json)", [Code(json.dumps(info["config"], indent=2))]))
    sums = info.get("data_checksums") or {}
    if sums:
        table = Table(["data file", "sha256"], [[k, f"`{v}`"] for k, v in sums.items()], "ll")
        blocks.append(Details(f"Data checksums ({len(sums)} files)", [table]))
    return blocks


def provenance_section(runs: list[Run]) -> Section:
    blocks = []
    for run in runs:
        blocks += [Heading(f"{run.kind} run `{run.label}`", 3), *_run_provenance(run)]
    return Section("provenance", "Commands, versions and data", blocks)


# ----------------------------------------------------------------------------------------- report
def _absent(runs: list[Run]) -> list[str]:
    kinds = {r.kind for r in runs}
    out = []
    if "reproduce" not in kinds:
        out.append("No `gfe reproduce` run given: no Table 3 and no loss curves.")
    if "benchmark" not in kinds:
        out.append("No `gfe benchmark` run given: no benchmark tables.")
    return out


def default_title(runs: list[Run]) -> str:
    """The run folders' names, or what kinds of run there are when there are more than three."""
    if len(runs) <= 3:
        return "gfe report — " + ", ".join(Path(r.label).name for r in runs)
    kinds = {k: sum(r.kind == k for r in runs) for k in dict.fromkeys(r.kind for r in runs)}
    return "gfe report — " + ", ".join(f"{n} {k} run{'s' if n > 1 else ''}" for k, n in kinds.items())


def build_report(
    run_dirs: Sequence[str | Path],
    *,
    data_dir: str | Path | None = None,
    protocol: str | None = None,
    models: Sequence[str] | None = None,
    title: str | None = None,
) -> Report:
    """Read the run folders and lay out every section; figures are drawn by :func:`render_figures`."""
    from gfe import __version__

    if not run_dirs:
        raise GfeError(f"no run folder given — {RUN_HINT}")
    runs = [load_run(d) for d in run_dirs]
    warnings = [m for r in runs for m in r.missing]
    choice = choose_timelines(runs, protocol, models)
    if choice is None:
        note = "No run given holds per-frame predictions (a predictions/ folder): no timelines."
        warnings.append(note)
    sections = [
        overview_section(runs, _absent(runs) + ([note] if choice is None else [])),
        table3_section(runs),
        f1_section(runs),
        benchmark_section(runs),
        confusion_section(runs),
        loss_section(runs),
        timeline_section(choice),
        tune_section(runs),
        features_section(runs, data_dir, warnings),
        provenance_section(runs),
    ]
    sections = [s for s in sections if s is not None]
    report = Report(
        title=title or default_title(runs),
        generated=time.strftime("%Y-%m-%d %H:%M:%S %z"),
        version=__version__,
        runs=runs,
        sections=sections,
        warnings=warnings,
    )
    for i, fig in enumerate(report.figures, start=1):
        fig.number = i
    return report


def render_figures(report: Report, progress: bool = True) -> None:
    from rich.markup import escape

    from gfe.progress import progress_bar

    """Draw the figures not drawn yet. The bar counts the figures drawn now (its description names
    the one being drawn, not its number in the report, which may count figures drawn before)."""
    todo = [f for f in report.figures if f.png is None]
    with progress_bar(progress) as bar:
        task = bar.add_task("drawing figures", total=len(todo))
        for fig in todo:
            bar.update(task, description=f"drawing: {escape(fig.alt[:36])}")
            with figs.plain_text():
                fig.render()
            bar.advance(task)


def template_environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gfe.report", "templates"),
        autoescape=lambda name: name is None or not name.endswith(".md.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = inline_markdown
    env.filters["mdtext"] = md_text
    env.filters["mdcode"] = md_code
    return env


def render_html(report: Report) -> str:
    return template_environment().get_template("report.html.j2").render(report=report)


def render_markdown(report: Report) -> str:
    return template_environment().get_template("report.md.j2").render(report=report)


def check_report_target(
    out: str | Path, run_dirs: Sequence[str | Path], force: bool = False
) -> tuple[Path, Path]:
    """The HTML file and its Markdown copy, checked before any work: neither may be a file of a run
    folder given (or inside one), and existing ones are replaced only with ``force``."""
    from gfe.outputs import check_output_file

    out = Path(out)
    if out.is_dir():
        raise GfeError(f"--out {out}: is a folder; give a file name such as {out / 'report.html'}")
    md = out.with_suffix(".md")
    if md == out:
        raise GfeError(
            f"--out {out}: the Markdown copy is written beside it as .md; name the HTML file .html"
        )
    runs = [Path(d) for d in run_dirs]
    for path in (out, md):
        if any(_inside(path, d) for d in runs):
            raise GfeError(
                f"--out {path}: inside a run folder given; write the report outside the run folders"
            )
        check_output_file(path, runs, force)
    return out, md


def _inside(path: Path, folder: Path) -> bool:
    try:
        return folder.is_dir() and path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def write_report(report: Report, out: Path, md: Path) -> tuple[Path, Path]:
    """Write the HTML to ``out`` and the Markdown to ``md``, atomically."""
    from gfe.outputs import atomic_write_text

    atomic_write_text(out, render_html(report))
    atomic_write_text(md, render_markdown(report))
    return out, md


def make_report(
    run_dirs: Sequence[str | Path], out: str | Path, progress: bool = True, force: bool = False, **options
) -> Report:
    """Build, draw and write the report; return it (its ``warnings`` list what is missing)."""
    report = build_report(run_dirs, **options)
    out, md = check_report_target(out, run_dirs, force)  # before the figures, the long part
    render_figures(report, progress=progress)
    write_report(report, out, md)
    return report
