"""The ablation of issue #13: what each step adds — representation, shared training across the
nine expressions, augmentation, decisions chosen on validation frames — per protocol, in frame F1
and event F1 (mean ± std over seeds), with the validation F1 that choices are made on.

    python benchmarks/ablation.py [--seeds 5] [--jobs 2] [--out runs/ablation] [--quick] [--write-docs]

Runs (each a `gfe benchmark` run folder under --out, per-frame predictions of every seed kept):

* ``clean``: seq-lstm and bilstm on the paper's features (the `clean` spec) — the baseline;
* ``aligned``: the same models on the aligned face, z-scored per signer (person normalisation);
* ``shared``: one network for all nine expressions on the aligned face — causal shared-lstm (and
  with augmentation, shared-lstm@aug) and offline shared-bilstm — on every protocol but the
  shuffled `paper` one (its windows cover every frame: 4–8 minutes a seed; the four honest
  protocols are what the step is for);
* ``frame``: extra-trees on the aligned face with velocities (a frame model for reference).

"+ decisions" rows re-score the kept predictions of a temporal model with smoothing, hysteresis
and minimum segment length chosen on each fold's validation frames, per expression ("decisions")
or once for the nine expressions of a shared model ("one set of decisions") (the same training: these
models carve that validation part anyway). Results go to ``--out/ablation.csv`` and
``benchmarks/results/ablation.json``; ``--write-docs`` puts the tables into docs/ablation.md
(between marker comments). Every choice — which configuration a protocol's "gfe pick" is, and
which one `gfe train` trains by default (the causal one with the best validation F1 over the four
honest protocols; `gfe.experiments.configs.TRAIN_DEFAULT`, checked against ablation.json by
tests/test_ablation.py) — is made on validation F1; test F1 is only reported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ALL5 = ("paper", "paper-holdout", "chrono", "cross-signer", "cross-signer-calibrated")
HONEST = ALL5[1:]


@dataclass(frozen=True)
class Run:
    name: str
    features: str
    models: tuple[str, ...]
    protocols: tuple[str, ...]
    params: dict = field(default_factory=dict)


RUNS = (
    Run("clean", "clean", ("seq-lstm", "bilstm"), ALL5),
    Run("aligned", "aligned", ("seq-lstm", "bilstm"), ALL5),
    Run(
        "shared",
        "aligned",
        ("shared-lstm", "shared-lstm@aug", "shared-bilstm"),
        HONEST,
        {"shared-lstm@aug": {"augment": 0.5}},
    ),
    Run("frame", "aligned-vel", ("extra-trees",), ALL5),
)
# Variant name → (run, model entry, decisions), in the order of the ablation table.
VARIANTS = {
    "seq-lstm · clean": ("clean", "seq-lstm", "threshold"),
    "seq-lstm · aligned": ("aligned", "seq-lstm", "threshold"),
    "shared-lstm · aligned": ("shared", "shared-lstm", "threshold"),
    "shared-lstm · aligned · augmented": ("shared", "shared-lstm@aug", "threshold"),
    "shared-lstm · aligned · decisions": ("shared", "shared-lstm", "validation"),
    "shared-lstm · aligned · one set of decisions": ("shared", "shared-lstm", "validation-shared"),
    "bilstm · clean": ("clean", "bilstm", "threshold"),
    "bilstm · aligned": ("aligned", "bilstm", "threshold"),
    "shared-bilstm · aligned": ("shared", "shared-bilstm", "threshold"),
    "shared-bilstm · aligned · decisions": ("shared", "shared-bilstm", "validation"),
    "shared-bilstm · aligned · one set of decisions": ("shared", "shared-bilstm", "validation-shared"),
    "extra-trees · aligned-vel": ("frame", "extra-trees", "threshold"),
}
CAUSAL = {v for v in VARIANTS if not v.startswith(("bilstm", "shared-bilstm"))}


def quick(run: Run) -> Run:
    """Seconds, not hours: two expressions, two protocols, tiny networks (the code path CI checks)."""
    small = {"seq-lstm": {"hidden": 8, "max_epochs": 2}, "bilstm": {"hidden": 8, "max_epochs": 2},
             "shared-lstm": {"hidden": 8, "max_epochs": 2}, "shared-lstm@aug": {"hidden": 8, "max_epochs": 2, "augment": 0.5},
             "shared-bilstm": {"hidden": 8, "max_epochs": 2}, "extra-trees": {"n_estimators": 20}}  # fmt: skip
    protocols = tuple(p for p in ("chrono", "cross-signer-calibrated") if p in run.protocols)
    return Run(run.name, run.features, run.models, protocols, {m: small[m] for m in run.models})


def run_all(data_dir: Path, out: Path, seeds: int, jobs: int, is_quick: bool) -> pd.DataFrame:
    from gfe import EXPRESSIONS
    from gfe.experiments import BenchmarkConfig
    from gfe.experiments.benchmark import benchmark

    expressions = ("negative", "topics") if is_quick else EXPRESSIONS
    frames = []
    for run in RUNS:
        run = quick(run) if is_quick else run
        cfg = BenchmarkConfig(
            models=run.models, protocols=run.protocols, expressions=expressions, seeds=tuple(range(seeds)),
            features=run.features, model_params=run.params, predictions="all",
        )  # fmt: skip
        print(f"run {run.name}: {len(run.models)} models × {len(run.protocols)} protocols", file=sys.stderr)
        results = benchmark(data_dir, out / run.name, cfg, jobs=jobs, progress=sys.stderr.isatty())
        frames.append(results.assign(run=run.name, decisions="threshold"))
        frames.append(rescored(out / run.name, results).assign(run=run.name, decisions="validation"))
        if run.name == "shared":
            shared = rescored_shared(out / run.name)
            frames.append(shared.assign(run=run.name, decisions="validation-shared"))
    return pd.concat(frames, ignore_index=True)


def rescored_shared(folder: Path) -> pd.DataFrame:
    """Every kept fold of the run's shared models with one set of decisions for all its
    expressions, chosen on the validation frames of all of them together."""
    from gfe.experiments import predictions
    from gfe.experiments.cells import model_of
    from gfe.experiments.scoring import rescore_shared
    from gfe.models import model_class

    kept = predictions.read(folder)
    rows = []
    for (p, m, s, f), part in kept.groupby(["protocol", "model", "seed", "fold"], sort=False):
        cls = model_class(model_of(m))
        by_expression = dict(tuple(part.groupby("expression", sort=False)))
        scores = rescore_shared(list(by_expression.values()), cls.tags.causal)
        rows += [{"expression": e, "protocol": p, "model": m, "seed": s, "fold": f, **sc}
                 for e, sc in zip(by_expression, scores, strict=True)]  # fmt: skip
    return pd.DataFrame(rows)


def rescored(folder: Path, results: pd.DataFrame) -> pd.DataFrame:
    """Every kept cell fold of the run's temporal models, with decisions chosen on validation."""
    from gfe.experiments import predictions
    from gfe.experiments.cells import model_of
    from gfe.experiments.scoring import rescore
    from gfe.models import model_class

    kept = predictions.read(folder)
    rows = []
    for (e, p, m, s, f), part in kept.groupby(
        ["expression", "protocol", "model", "seed", "fold"], sort=False
    ):
        cls = model_class(model_of(m))
        if not cls.tags.uses_validation:
            continue
        rows.append({"expression": e, "protocol": p, "model": m, "seed": s, "fold": f,
                     **rescore(part, "validation", cls.tags.causal)})  # fmt: skip
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per variant and protocol: mean ± std over seeds (of the mean over expressions and folds)."""
    out = []
    for variant, (run, model, decisions) in VARIANTS.items():
        sub = rows[(rows["run"] == run) & (rows["model"] == model) & (rows["decisions"] == decisions)]
        for protocol, g in sub.groupby("protocol", sort=False):
            per_seed = g.groupby("seed")[["f1", "event_f1", "val_f1"]].mean()
            out.append({"variant": variant, "protocol": protocol, "causal": variant in CAUSAL,
                        **{f"{c}_{k}": float(getattr(per_seed[c], k)()) for c in per_seed for k in ("mean", "std")},
                        "seeds": len(per_seed)})  # fmt: skip
    return pd.DataFrame(out)


def _cell(mean: float, std: float) -> str:
    return "–" if not np.isfinite(mean) else f"{mean:.3f} ± {np.nan_to_num(std):.3f}"


def ablation_markdown(s: pd.DataFrame) -> str:
    protocols = [p for p in ALL5 if p in set(s["protocol"])]
    lines = []
    for metric, what in (
        ("f1", "frame F1"),
        ("event_f1", "event F1 (IoU ≥ 0.5)"),
        ("val_f1", "validation F1"),
    ):
        lines += [f"#### {what}", "", "| variant | " + " | ".join(f"`{p}`" for p in protocols) + " |",
                  "| --- |" + " ---: |" * len(protocols)]  # fmt: skip
        for variant in VARIANTS:
            cells = []
            for p in protocols:
                r = s[(s["variant"] == variant) & (s["protocol"] == p)]
                cells.append(
                    _cell(r[f"{metric}_mean"].iloc[0], r[f"{metric}_std"].iloc[0]) if len(r) else "–"
                )
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def picks(s: pd.DataFrame) -> pd.DataFrame:
    """Per protocol, the variant with the best validation F1 (all, and causal only) and its test.
    Variants with decisions chosen on validation are left out of the choice: their validation F1
    is measured on the very frames their decisions were fitted to, so it is not comparable."""
    out = []
    chosen = {v for v, (_, _, how) in VARIANTS.items() if how == "threshold"}
    for protocol in [p for p in ALL5 if p in set(s["protocol"])]:
        sub = s[(s["protocol"] == protocol) & s["variant"].isin(chosen)]
        for scope, cand in (("any", sub), ("causal", sub[sub["causal"]])):
            if cand.empty:
                continue
            best = cand.loc[cand["val_f1_mean"].idxmax()]
            top = cand.loc[cand["f1_mean"].idxmax()]
            out.append({"protocol": protocol, "scope": scope, "pick": best["variant"], "val_f1": best["val_f1_mean"],
                        "f1": best["f1_mean"], "f1_std": best["f1_std"], "event_f1": best["event_f1_mean"],
                        "event_f1_std": best["event_f1_std"], "best_on_test": top["variant"], "best_test_f1": top["f1_mean"]})  # fmt: skip
    return pd.DataFrame(out)


def train_default(s: pd.DataFrame) -> dict:
    """`gfe train`'s default: among causal variants without fitted decisions, the best mean
    validation F1 over the honest protocols (a new session or a new person, streamable)."""
    chosen = [v for v, (_, _, how) in VARIANTS.items() if how == "threshold" and v in CAUSAL]
    sub = s[s["variant"].isin(chosen) & s["protocol"].isin(HONEST)]
    val = sub.groupby("variant")["val_f1_mean"].mean()
    variant = str(val.idxmax())
    run_name, entry, _ = VARIANTS[variant]
    run = next(r for r in RUNS if r.name == run_name)
    model = entry.partition("@")[0]
    test = sub[sub["variant"] == variant].set_index("protocol")
    return {"variant": variant, "model": model, "features": run.features,
            "params": run.params.get(entry, {}), "val_f1": float(val[variant]),
            "test_f1": {p: float(test.loc[p, "f1_mean"]) for p in test.index},
            "test_event_f1": {p: float(test.loc[p, "event_f1_mean"]) for p in test.index}}  # fmt: skip


def picks_markdown(p: pd.DataFrame) -> str:
    lines = ["| protocol | which | gfe's pick (best validation F1) | validation F1 | test frame F1 | test event F1 | best on test (reported only) |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]  # fmt: skip
    for _, r in p.iterrows():
        lines.append(f"| `{r['protocol']}` | {r['scope']} | {r['pick']} | {r['val_f1']:.3f} | {_cell(r['f1'], r['f1_std'])} "
                     f"| {_cell(r['event_f1'], r['event_f1_std'])} | {r['best_on_test']} ({r['best_test_f1']:.3f}) |")  # fmt: skip
    return "\n".join(lines) + "\n"


def replace_section(path: Path, name: str, body: str) -> None:
    text = path.read_text()
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no <!-- BEGIN {name} --> … <!-- END {name} --> markers")
    path.write_text(pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text))


def main(argv: list[str] | None = None) -> None:
    from gfe.data import resolve_data_dir

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "ablation")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="seconds-long settings (CI checks this path)")
    ap.add_argument("--write-docs", action="store_true", help="update docs/ablation.md and docs/results.md")
    args = ap.parse_args(argv)
    rows = run_all(resolve_data_dir(args.data_dir), args.out, args.seeds, args.jobs, args.quick)
    rows.to_csv(args.out / "ablation.csv", index=False)
    s = summary(rows)
    p = picks(s)
    (args.out / "ablation.md").write_text(ablation_markdown(s) + "\n" + picks_markdown(p))
    if not args.quick:
        results = ROOT / "benchmarks" / "results" / "ablation.json"
        results.write_text(json.dumps({"summary": s.to_dict("records"), "picks": p.to_dict("records"),
                                       "train_default": train_default(s), "seeds": args.seeds}, indent=1) + "\n")  # fmt: skip
    if args.write_docs:
        replace_section(ROOT / "docs" / "ablation.md", "ablation", ablation_markdown(s))
        replace_section(ROOT / "docs" / "ablation.md", "picks", picks_markdown(p))
    print(ablation_markdown(s) + "\n" + picks_markdown(p))
    print(f"gfe train's default by this evidence: {train_default(s)}")


if __name__ == "__main__":
    main()
