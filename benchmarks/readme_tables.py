"""Copy generated tables from run folders into README.md and docs/ between marker comments.

    python benchmarks/readme_tables.py [--reproduce RUN_DIR] [--benchmark RUN_DIR] [--tune RUN_DIR ...]
        [--ablation] [--speed]

Markers: <!-- BEGIN name --> … <!-- END name -->. Nothing in those sections is typed by hand:

* ``table3`` (docs/results.md) — from a `gfe reproduce` run folder (its table3.md);
* ``results`` and ``winloss`` (docs/results.md) — from a `gfe benchmark` run folder (tables.md,
  winloss.md);
* ``headline`` (docs/results.md) — from the same benchmark's results.csv: the best
  model per protocol by mean F1 (mean over seeds of the mean over expressions), models within
  0.005 of it, the best causal model where the protocol asks for one, gfe's PaperLSTM, against the
  goals and the simple baselines measured before the work;
* ``goals`` (README.md and docs/results.md) — from ``benchmarks/results/ablation.json``
  (``--ablation``; written by benchmarks/ablation.py): per protocol the goal, the paper's features
  before issue #13 and gfe's configuration picked on validation F1 (any, and causal), each with its
  test frame F1 and event F1, and the best variant on test for reference;
* ``tune`` (docs/tuning.md) — from `gfe tune` run folders (evaluated ones);
* ``speed`` (README.md) — from the benchmark scripts' results, ``benchmarks/results/*.json``
  (``--speed``): whichever of them exist.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = Path("README.md")
RESULTS = Path("docs/results.md")
TUNING = Path("docs/tuning.md")

# The protocols of the headline table, in order: (label, simple baseline, goal text, goal on the
# mean, goal on every expression or None). The baselines are the reference points measured before
# this work (../shared/reference/anchors.md); the goals are the ones the project set itself.
GOALS = {
    "paper": ("`paper` (shuffled, as coded)", "0.925 (extra-trees)", "≥ 0.97, every expression ≥ 0.95", 0.97, 0.95),
    "paper-holdout": ("`paper-holdout` (last 20 % held out)", "0.798 (extra-trees)", "≥ 0.90", 0.90, None),
    "chrono": ("`chrono` (later frames, same signers)", "0.819 (extra-trees)", "≥ 0.90", 0.90, None),
    "cross-signer": ("`cross-signer` (a new signer)", "–", "≥ 0.85", 0.85, None),
    "cross-signer-calibrated": ("`cross-signer-calibrated`", "0.655 (MLP)", "≥ 0.85", 0.85, None),
}  # fmt: skip
CAUSAL_FOR = ("chrono",)  # protocols whose row also names the best causal (streamable) model
CLOSE = 0.005  # models this close to the best are named beside it
REFERENCE = "paper-lstm"


def replace_section(text: str, name: str, body: str, where: Path = README) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{where} has no <!-- BEGIN {name} --> … <!-- END {name} --> markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def provenance(run: Path) -> str:
    info = json.loads((run / "run.json").read_text())
    return f"\n_Generated from `{run}` — command: `{info['command']}`._\n"


def model_means(results, protocol: str):
    """Mean F1 per model under ``protocol``: per seed the mean over expressions (of the mean over
    the protocol's folds), then the mean over seeds — the benchmark tables' "mean" row. Best first."""
    from gfe.report.tables import seed_scores

    s = seed_scores(results[results["protocol"] == protocol])
    per_seed = s.groupby(["model", "seed"])["f1"].mean()
    return per_seed.groupby("model").mean().sort_values(ascending=False, kind="stable")


def is_causal(model: str) -> bool:
    from gfe.experiments.cells import model_of
    from gfe.models import model_classes

    cls = model_classes().get(model_of(model))
    return bool(cls and cls.tags.causal)


def best_cell(results, protocol: str, means) -> str:
    """The best model (bold), those within CLOSE of it, the best causal one where asked for, and
    the expressions below a per-expression goal."""
    best, top = means.index[0], means.iloc[0]
    text = f"**{top:.3f}** `{best}`"
    text += "".join(f", {v:.3f} `{m}`" for m, v in means.iloc[1:].items() if top - v <= CLOSE)
    if protocol in CAUSAL_FOR and not is_causal(best):
        causal = [m for m in means.index if is_causal(m)]
        if causal:
            text += f"; causal: {means[causal[0]]:.3f} `{causal[0]}`"
    per_expression = GOALS[protocol][4]
    if per_expression is not None:
        from gfe import EXPRESSIONS
        from gfe.report.tables import seed_scores

        s = seed_scores(results[(results["protocol"] == protocol) & (results["model"] == best)])
        by_expr = s.groupby("expression")["f1"].mean()
        low = [f"{e} {by_expr[e]:.3f}" for e in EXPRESSIONS if e in by_expr and by_expr[e] < per_expression]
        if low:
            text += f" (below {per_expression:.2f}: {', '.join(low)})"
    return text


def headline_table(results, source: str = "") -> str:
    """The README's headline: best model per protocol against the goals (Markdown)."""
    from gfe.report.blocks import markdown_table

    rows = []
    for protocol, (label, baseline, goal, _, _) in GOALS.items():
        if protocol not in set(results["protocol"]):
            continue
        means = model_means(results, protocol)
        ref = f"{means[REFERENCE]:.3f}" if REFERENCE in means else "–"
        rows.append([label, baseline, goal, best_cell(results, protocol, means), ref])
    header = ["protocol", "simple baseline", "goal", "best gfe model (mean F1)", "gfe's PaperLSTM"]
    table = markdown_table(header, rows, align="lllll")
    n_expr, n_seeds = results["expression"].nunique(), results["seed"].nunique()
    note = (
        f"\nMean frame F1 over {n_expr} expression{'s' * (n_expr != 1)} and {n_seeds} seed{'s' * (n_seeds != 1)}; "
        f"models within {CLOSE} of the best are "
        "named beside it. Simple baselines: measured before this work (`../shared/reference/anchors.md`)."
    )
    if source:
        note += f"\n\n_Generated from `{source}/results.csv` by `benchmarks/readme_tables.py`._"
    return table.rstrip() + "\n" + note + "\n"


# The goals of issue #13 (new people, later recordings), on mean test frame F1.
GOALS_13 = {
    "paper": "≥ 0.97, every expression ≥ 0.95",
    "paper-holdout": "≥ 0.90",
    "chrono": "≥ 0.90 (causal ≥ 0.88)",
    "cross-signer": "≥ 0.70",
    "cross-signer-calibrated": "≥ 0.85",
}


def _scores(row: dict) -> str:
    event = row["event_f1_mean"]
    return f"{row['f1_mean']:.3f} · " + ("–" if event != event else f"{event:.3f}")  # nan: no events


def goals_table(ablation: dict) -> str:
    """Per protocol: the goal, the best of the paper's features (`clean`, picked on validation),
    gfe's validation pick overall and among causal models — test frame F1 · event F1 — and, for
    reference only, the best variant on test."""
    from gfe.report.blocks import markdown_table

    summary = ablation["summary"]
    rows = []
    for protocol, goal in GOALS_13.items():
        cand = [r for r in summary if r["protocol"] == protocol and "decisions" not in r["variant"]]
        if not cand:  # rows with fitted decisions are no candidates: their validation F1 is fitted
            continue
        clean = max((r for r in cand if r["variant"].endswith("· clean")), key=lambda r: r["val_f1_mean"])
        picks = {p["scope"]: p for p in ablation["picks"] if p["protocol"] == protocol}
        cells = [GOALS[protocol][0], goal, f"{_scores(clean)} {clean['variant'].split(' · ')[0]}"]
        for scope in ("any", "causal"):
            pick = next(r for r in cand if r["variant"] == picks[scope]["pick"])
            cells.append(f"**{_scores(pick)}** {pick['variant']}")
        top = max(cand, key=lambda r: r["f1_mean"])
        cells.append(f"{top['f1_mean']:.3f} {top['variant']}")
        rows.append(cells)
    header = ["protocol", "goal (frame F1)", "paper's features", "gfe's pick", "gfe's causal pick",
              "best on test (not a pick)"]  # fmt: skip
    note = (
        f"\nTest frame F1 · event F1 (IoU ≥ 0.5), mean over 9 expressions and {ablation['seeds']} seeds; "
        "each configuration picked on validation F1 (training frames only) among the variants of "
        "[docs/ablation.md](docs/ablation.md); the paper's features (`clean`) picked the same way.\n\n"
        "_Generated from `benchmarks/results/ablation.json` by `benchmarks/readme_tables.py --ablation`._"
    )
    return markdown_table(header, rows, align="llllll").rstrip() + "\n" + note + "\n"


def benchmark_sections(run: Path) -> dict[str, str]:
    """The sections of docs/results.md (and the headline) that a benchmark run folder fills."""
    import pandas as pd

    tables = (run / "tables.md").read_text().replace("\n### ", "\n#### ")
    winloss = (run / "winloss.md").read_text().split("\n", 1)[1].replace("\n## ", "\n#### ")
    results = pd.read_csv(run / "results.csv", dtype={"fold": str})
    return {
        "results": "#### " + tables.removeprefix("### ") + provenance(run),
        "winloss": winloss,
        "headline": headline_table(results, str(run)),
    }


def update(root: Path, edits: dict[Path, dict[str, str]]) -> list[Path]:
    """Replace the named sections of each file (paths relative to ``root``); return files changed."""
    written = []
    for rel, sections in edits.items():
        if not sections:
            continue
        path = root / rel
        text = path.read_text()
        for name, body in sections.items():
            text = replace_section(text, name, body, rel)
        path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reproduce", type=Path)
    ap.add_argument("--benchmark", type=Path)
    ap.add_argument("--tune", type=Path, nargs="+", help="gfe tune run folders (evaluated ones)")
    ap.add_argument(
        "--ablation", action="store_true", help="the goals table from benchmarks/results/ablation.json"
    )
    ap.add_argument("--speed", action="store_true", help="the README's speed table from benchmarks/results")
    ap.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = ap.parse_args(argv)
    edits: dict[Path, dict[str, str]] = {README: {}, RESULTS: {}, TUNING: {}}
    if args.ablation:
        table = goals_table(json.loads((args.root / "benchmarks" / "results" / "ablation.json").read_text()))
        edits[README]["goals"] = table
        edits[RESULTS]["goals"] = table.replace("](docs/", "](")
    if args.speed:
        edits[README]["speed"] = speed_table(args.root / "benchmarks" / "results")
    if args.reproduce:
        table = (args.reproduce / "table3.md").read_text()
        table = table.split("\n", 1)[1].replace("\n## ", "\n#### ")  # drop the file's own title
        edits[RESULTS]["table3"] = table + provenance(args.reproduce)
    if args.benchmark:
        sections = benchmark_sections(args.benchmark)
        edits[RESULTS].update(sections)
    if args.tune:
        edits[TUNING]["tune"] = tune_table(args.tune)
    for path in update(args.root, edits):
        print(f"updated {path}")


def _json(folder: Path, name: str) -> dict | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _speed_rows(r: Path) -> list[tuple[str, str, str]]:
    """(what, median, script) rows from whichever results files exist."""
    rows = []
    if core := _json(r, "core"):
        rows.append(("`gfe reproduce`, end to end (9 × 3 models × 2 protocols × 5 seeds)",
                     f"{core['reproduce']['median_seconds']:.1f} s", "bench_core.py"))  # fmt: skip
    if cl := _json(r, "cluster"):
        c = cl["cells_per_minute"]
        rows.append((f"`gfe benchmark`, default grid with {cl['seeds']} seed: local pool / Dask `local:{cl['workers']}`",
                     f"{c['local']:.1f} / {c['dask']:.1f} cells/min", "bench_cluster.py"))  # fmt: skip
    if io := _json(r, "io"):
        d = io["datapoints"]["results"]
        new = d["gfe.data.load_datapoints"]
        old = d["load_datapoints before #15"]
        rows.append(("reading the 18 recordings (`load_datapoints`) vs raw `pandas.read_csv` in the same run",
                     f"{new['vs_reference']:.2f}× pandas (before: {old['vs_reference']:.2f}×); {new['frames_per_second']:,.0f} frames/s",
                     "bench_io.py"))  # fmt: skip
        pr = io["predict"]["results"]
        rows.append(("`gfe predict` from the text files, all 18", f"{pr['predict_file']['frames_per_second']:,.0f} frames/s "
                     f"({pr['predict_file']['vs_reference']:.2f}× before)", "bench_io.py"))  # fmt: skip
    if ft := _json(r, "features"):
        res = ft["results"]
        paper, aligned = res["compute_features (paper)"], res.get("aligned spec")
        text = f"paper {paper['frames_per_second_cpu'] / 1e6:.2f} M"
        if aligned:
            text += f", aligned {aligned['frames_per_second_cpu'] / 1e6:.3f} M"
        rows.append(
            ("feature extraction, 1 thread (CPU time, median of 7)", text + " frames/s", "bench_features.py")
        )
    if tu := _json(r, "tune"):
        t = tu["results"]
        rows.append((f"`gfe tune`, {tu['model']}, 1 / 2 workers", f"{t['jobs=1']['median_trials_per_minute']:.1f} / "
                     f"{t['jobs=2']['median_trials_per_minute']:.1f} trials/min", "bench_tune.py"))  # fmt: skip
    if st := _json(r, "stream"):
        s = st["streaming"]
        text = " · ".join(
            f"`{m}`{_how_timed(st, m)} {v['features_and_model_step']['median_us']:.0f} µs"
            for m, v in s.items()
            if m != "threads"
        )
        rows.append(("streaming one frame, features + model step, 1 thread", text, "bench_stream.py"))
        off = st["offline"]["threads_1"]
        text = " · ".join(f"`{m}`{_how_timed(st, m)} {v['frames_per_second']:,.0f}" for m, v in off.items())
        rows.append(
            ("offline labelling from landmarks in memory, 1 thread (frames/s)", text, "bench_stream.py")
        )
    return rows


def _how_timed(stream: dict, model: str) -> str:
    """The note " (aligned, 9 expressions)" for a bundle timed on a spec other than `clean` or with heads."""
    b = stream.get("bundles", {}).get(model, {})
    what = [b["features"]] if b.get("features", "clean") != "clean" else []
    what += [f"{len(b['expressions'])} expressions"] if len(b.get("expressions", ())) > 1 else []
    return f" ({', '.join(what)})" if what else ""


def speed_table(results: Path) -> str:
    """The README's speed table: one row per figure, each from a results file of benchmarks/."""
    from gfe.report.blocks import markdown_table

    rows = [[what, median, f"`{script}`"] for what, median, script in _speed_rows(results)]
    return (
        markdown_table(["what", "median", "script"], rows, align="lll").rstrip()
        + "\n\n_Generated from `benchmarks/results/*.json` by `benchmarks/readme_tables.py --speed`._\n"
    )


def tune_table(runs: list[Path]) -> str:
    """Default vs tuned test F1 (mean ± std over eval seeds) per tuned study, with the search cost."""
    import pandas as pd

    from gfe.report.blocks import markdown_table
    from gfe.report.tables import mean_std

    rows, commands = [], []
    for run in runs:
        info = json.loads((run / "run.json").read_text())
        comp = pd.read_csv(run / "comparison.csv")
        per_seed = comp.groupby(["config", "seed"], sort=False)["f1"].mean()
        default, tuned = per_seed["default"], per_seed["tuned"]
        cfg, t = info["config"], info["trials"]
        states = t.get("by_state", {})
        rows.append(
            [cfg["expression"], cfg["model"], f"`{cfg['protocol']}`",
             f"{t['finished']} ({states.get('PRUNED', 0)} pruned)",
             f"{info['best']['validation_f1']:.3f}", mean_std(default), mean_std(tuned),
             f"{tuned.mean() - default.mean():+.3f}"]
        )  # fmt: skip
        first = info.get("invocations", [{}])[0]
        commands.append(f"`{first.get('command', info['command'])}`")
    table = markdown_table(
        [
            "expression",
            "model",
            "protocol",
            "trials",
            "best val. F1",
            "default test F1",
            "tuned test F1",
            "Δ",
        ],
        rows,
        align="lllrrrrr",
    )
    seeds = sorted({json.loads((r / "run.json").read_text())["config"]["eval_seeds"] for r in runs})
    counted = f"{', '.join(map(str, seeds))} training seed{'s' * (seeds != [1])}"
    return (
        table.rstrip()
        + f"\n\nTest F1 is the mean ± std over {counted} of the benchmark's own cell code; validation F1 is "
        "the search objective (training frames only).\n\n_Generated from: " + "; ".join(commands) + "._\n"
    )


if __name__ == "__main__":
    main()
