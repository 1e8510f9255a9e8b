"""Results → reports: Markdown tables, loss-curve PNGs and the progress bar of long work."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS
from gfe.published import TABLE3, TABLE3_AVERAGE, TABLE3_COLUMNS

MODEL_LABELS = {"paper-lstm": "PaperLSTM", "mlp": "MLP", "mlp-pruned": "MLP + pruning"}


def progress_bar(enabled: bool = True):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<45}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )


def markdown_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _fmt(x: float, digits: int = 4) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def mean_std(values: pd.Series) -> str:
    v = values.to_numpy(dtype=float)
    if len(v) == 0:
        return "–"
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"


def f1_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (over seeds and folds) of F1 per protocol, model and expression."""
    g = results.groupby(["protocol", "model", "expression"])["f1"]
    return g.agg(["mean", "std", "count"]).reset_index()


def table3_markdown(results: pd.DataFrame) -> str:
    """Our F1 (mean ± std over seeds) beside the paper's three published columns, per protocol."""
    models = [m for m in MODEL_LABELS if m in set(results["model"])]
    models += sorted(set(results["model"]) - set(models))
    parts = [
        "# Table 3, reproduced\n",
        "F1 of the positive class per expression, mean ± std over "
        f"{results['seed'].nunique()} seeds. Published columns: the seed paper's Table 3.\n",
    ]
    for protocol, df in results.groupby("protocol", sort=False):
        header = ["expression", *[f"ours: {MODEL_LABELS.get(m, m)}" for m in models], *TABLE3_COLUMNS]
        if "paper-lstm" in models:
            header.append("Δ PaperLSTM − paper LSTM")
        if "mlp-pruned" in df["model"].values:
            header.append("hidden units kept (pruned MLP)")
        rows = []
        expressions = [e for e in EXPRESSIONS if e in set(df["expression"])]
        for e in expressions:
            sub = df[df["expression"] == e]
            row = [e.replace("_", " ")]
            row += [mean_std(sub[sub["model"] == m]["f1"]) for m in models]
            row += [_fmt(v) for v in TABLE3[e]]
            if "paper-lstm" in models:
                row.append(f"{sub[sub['model'] == 'paper-lstm']['f1'].mean() - TABLE3[e][1]:+.4f}")
            if "mlp-pruned" in df["model"].values:
                kept = sub[sub["model"] == "mlp-pruned"]["hidden_units"].to_numpy(dtype=float)
                row.append(
                    f"{kept.mean():.1f} ± {kept.std(ddof=1) if len(kept) > 1 else 0:.1f} of {int(sub['hidden_units'].max())}"
                )
            rows.append(row)
        # Average over expressions of each seed's F1, then mean ± std across seeds.
        avg = ["**average**"]
        for m in models:
            per_seed = df[df["model"] == m].groupby("seed")["f1"].mean()
            avg.append(mean_std(per_seed))
        avg += [_fmt(v) for v in TABLE3_AVERAGE]
        if "paper-lstm" in models:
            ours = df[df["model"] == "paper-lstm"].groupby("seed")["f1"].mean().mean()
            avg.append(f"{ours - TABLE3_AVERAGE[1]:+.4f}")
        if "mlp-pruned" in df["model"].values:
            avg.append("")
        rows.append(avg)
        parts.append(f"\n## protocol `{protocol}`\n\n" + markdown_table(header, rows))
    return "".join(parts)


def loss_curve_plots(losses: pd.DataFrame, folder: Path) -> list[Path]:
    """One PNG per expression and model: train and test loss per epoch (the paper's Figs. 3–4),
    one panel per protocol, mean over seeds with the min–max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (expression, model), df in losses.groupby(["expression", "model"], sort=False):
        protocols = list(dict.fromkeys(df["protocol"]))
        fig, axes = plt.subplots(1, len(protocols), figsize=(5 * len(protocols), 3.6), squeeze=False)
        for ax, protocol in zip(axes[0], protocols, strict=True):
            sub = df[df["protocol"] == protocol]
            for col, colour, label in (
                ("train_loss", "tab:blue", "train"),
                ("test_loss", "tab:orange", "test"),
            ):
                curves = sub.pivot_table(index="epoch", columns=["seed", "fold"], values=col)
                epochs = curves.index.to_numpy()
                ax.plot(epochs, curves.mean(axis=1), color=colour, label=label)
                ax.fill_between(epochs, curves.min(axis=1), curves.max(axis=1), color=colour, alpha=0.2)
            ax.set_title(f"{protocol}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("cross-entropy loss")
            ax.grid(alpha=0.3)
            ax.legend()
        n = df["seed"].nunique()
        fig.suptitle(
            f"{expression.replace('_', ' ')} — {MODEL_LABELS.get(model, model)} (mean of {n} seeds, band = min–max)"
        )
        fig.tight_layout()
        path = folder / f"{expression}_{model}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def recordings_table(summaries: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["recording", "frames", "positives", "unknown frames", "unknown timestamps", "zero-depth values"]
    rows = [
        [s["recording"], str(s["frames"]), str(s["positives"]), str(s["unknown_frames"]),
         str(s["unknown_timestamps"]), str(s["zero_depth_values"])]
        for s in summaries
    ]  # fmt: skip
    total = ["total", *[str(int(np.sum([s[k] for s in summaries]))) for k in
             ("frames", "positives", "unknown_frames", "unknown_timestamps", "zero_depth_values")]]  # fmt: skip
    return header, [*rows, total]


# ------------------------------------------------------------------------------ benchmark tables
def _seed_scores(results: pd.DataFrame) -> pd.DataFrame:
    """F1 per protocol, model, expression and seed (mean over the protocol's folds)."""
    return results.groupby(["protocol", "model", "expression", "seed"], as_index=False)["f1"].mean()


def benchmark_table(results: pd.DataFrame, protocol: str) -> str:
    """Mean ± std F1 (over seeds) per expression and overall; the best model of each row bold."""
    s = _seed_scores(results[results["protocol"] == protocol])
    models = list(dict.fromkeys(results["model"]))
    expressions = [e for e in EXPRESSIONS if e in set(s["expression"])]
    stats = s.groupby(["model", "expression"])["f1"].agg(["mean", "std"])
    overall = s.groupby(["model", "seed"])["f1"].mean().groupby("model").agg(["mean", "std"])
    rows = []
    for e in [*expressions, None]:
        table = overall if e is None else stats.xs(e, level="expression")
        best = table["mean"].max()
        cells = []
        for m in models:
            if m not in table.index:
                cells.append("–")
                continue
            mean, std = table.loc[m, "mean"], table.loc[m, "std"]
            txt = f"{mean:.3f} ± {0 if np.isnan(std) else std:.3f}"
            cells.append(f"**{txt}**" if np.isclose(mean, best) else txt)
        rows.append([("**mean of 9**" if len(expressions) == 9 else "**mean**") if e is None else e, *cells])
    return markdown_table(["expression", *models], rows)


def folds_table(results: pd.DataFrame, protocol: str) -> str:
    """Per-fold mean F1 over expressions (e.g. both cross-signer directions) and their mean."""
    sub = results[results["protocol"] == protocol]
    folds = list(dict.fromkeys(sub["fold"]))
    per = sub.groupby(["model", "fold", "seed"])["f1"].mean().groupby(["model", "fold"]).mean()
    rows = []
    for m in dict.fromkeys(sub["model"]):
        vals = [per.get((m, f), np.nan) for f in folds]
        rows.append([m, *[_fmt(v, 3) for v in vals], _fmt(float(np.nanmean(vals)), 3)])
    return markdown_table(["model", *[str(f) for f in folds], "mean"], rows)


def winloss_markdown(results: pd.DataFrame, reference: str = "paper-lstm") -> str:
    """Per protocol: expressions won/lost by each model against PaperLSTM and against the
    published numbers of the matching protocol (mean F1 over seeds per expression)."""
    from gfe.published import published_for

    parts = ["# Wins and losses\n\nCounted over expressions, on mean F1 over seeds.\n"]
    means = _seed_scores(results).groupby(["protocol", "model", "expression"])["f1"].mean()
    for protocol in dict.fromkeys(results["protocol"]):
        m = means.xs(protocol, level="protocol")
        models = list(dict.fromkeys(results[results["protocol"] == protocol]["model"]))
        published = published_for(protocol)
        opponents = ([reference] if reference in models else []) + list(published)
        rows = []
        for model in models:
            mine = m.xs(model, level="model")
            row = [model]
            for opp in opponents:
                theirs = m.xs(opp, level="model") if opp == reference else pd.Series(published[opp])
                common = [e for e in mine.index if e in theirs.index and not np.isnan(theirs[e])]
                d = np.array([mine[e] - theirs[e] for e in common])
                row.append(f"{int((d > 0).sum())}–{int((d < 0).sum())} ({d.mean():+.3f})" if len(d) else "–")
            rows.append(row)
        header = ["model", *[f"vs {'PaperLSTM (ours)' if o == reference else o}" for o in opponents]]
        note = "" if published else "\nNo published result uses this protocol.\n"
        parts.append(
            f"\n## `{protocol}`\n{note}\n" + markdown_table(header, rows, "l" + "l" * len(opponents))
        )
    return "".join(parts)
