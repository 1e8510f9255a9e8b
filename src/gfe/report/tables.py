"""Results → tables: Table 3 beside the paper, benchmark tables, wins and losses, tuning.

Every function returns blocks (:mod:`gfe.report.blocks`): data first, rendered to Markdown for the
run folders and the README, and to HTML for the report, from the same objects.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gfe import EXPRESSIONS
from gfe.models import display_name, model_label
from gfe.report.blocks import Heading, Paragraph, Table
from gfe.report.published import TABLE3, TABLE3_AVERAGE, TABLE3_COLUMNS

PAPER_MODELS = ("paper-lstm", "mlp", "mlp-pruned")  # the order of Table 3's columns


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


def table3_blocks(results: pd.DataFrame) -> list:
    """Our F1 (mean ± std over seeds) beside the paper's three published columns, per protocol."""
    models = [m for m in PAPER_MODELS if m in set(results["model"])]
    models += sorted(set(results["model"]) - set(models))
    n = results["seed"].nunique()
    blocks: list = [
        Heading("Table 3, reproduced", 1),
        Paragraph(
            f"F1 of the positive class per expression, mean ± std over {n} seed{'s' * (n != 1)}. "
            "Published columns: the seed paper's Table 3."
        ),
    ]
    for protocol, df in results.groupby("protocol", sort=False):
        blocks += [Heading(f"protocol `{protocol}`", 2), _table3_protocol(df, models)]
    return blocks


def _table3_protocol(df: pd.DataFrame, models: list[str]) -> Table:
    pruned = "mlp-pruned" in df["model"].values
    header = ["expression", *[f"ours: {model_label(m)}" for m in models], *TABLE3_COLUMNS]
    if "paper-lstm" in models:
        header.append("Δ PaperLSTM − paper LSTM")
    if pruned:
        header.append("hidden units kept (pruned MLP)")
    rows = []
    for e in [e for e in EXPRESSIONS if e in set(df["expression"])]:
        sub = df[df["expression"] == e]
        row = [e.replace("_", " ")]
        row += [mean_std(sub[sub["model"] == m]["f1"]) for m in models]
        row += [_fmt(v) for v in TABLE3[e]]
        if "paper-lstm" in models:
            row.append(f"{sub[sub['model'] == 'paper-lstm']['f1'].mean() - TABLE3[e][1]:+.4f}")
        if pruned:
            kept = sub[sub["model"] == "mlp-pruned"]["hidden_units"].to_numpy(dtype=float)
            row.append(
                f"{kept.mean():.1f} ± {kept.std(ddof=1) if len(kept) > 1 else 0:.1f} of {int(sub['hidden_units'].max())}"
            )
        rows.append(row)
    # Average over expressions of each seed's F1, then mean ± std across seeds.
    avg = ["**average**", *[mean_std(df[df["model"] == m].groupby("seed")["f1"].mean()) for m in models]]
    avg += [_fmt(v) for v in TABLE3_AVERAGE]
    if "paper-lstm" in models:
        ours = df[df["model"] == "paper-lstm"].groupby("seed")["f1"].mean().mean()
        avg.append(f"{ours - TABLE3_AVERAGE[1]:+.4f}")
    if pruned:
        avg.append("")
    return Table(header, [*rows, avg])


def recordings_table(summaries: list[dict]) -> Table:
    """One row per recording of `gfe data check`, and the totals."""
    keys = ("frames", "positives", "unknown_frames", "unknown_timestamps", "zero_depth_values")
    header = ["recording", "frames", "positives", "unknown frames", "unknown timestamps", "zero-depth values"]
    rows = [[s["recording"], *[str(s[k]) for k in keys]] for s in summaries]
    total = ["total", *[str(int(np.sum([s[k] for s in summaries]))) for k in keys]]
    return Table(header, [*rows, total])


# ------------------------------------------------------------------------------ benchmark tables
def seed_scores(results: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """``metric`` per protocol, model, expression and seed (mean over the protocol's folds), in a
    column named ``f1`` whatever the metric (frame F1 unless told otherwise)."""
    keys = ["protocol", "model", "expression", "seed"]
    return results.groupby(keys, as_index=False)[metric].mean().rename(columns={metric: "f1"})


def has_events(results: pd.DataFrame, protocol: str | None = None) -> bool:
    """Whether the results hold event scores (for ``protocol``): a shuffled split has none."""
    sub = results if protocol is None else results[results["protocol"] == protocol]
    return "event_f1" in sub and bool(np.isfinite(sub["event_f1"].to_numpy(dtype=float)).any())


def benchmark_table(results: pd.DataFrame, protocol: str, metric: str = "f1") -> Table:
    """Mean ± std of ``metric`` (over seeds) per expression and overall; the best model of each row
    bold."""
    s = seed_scores(results[results["protocol"] == protocol], metric)
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
    return Table(["expression", *[display_name(m) for m in models]], rows)


def folds_table(results: pd.DataFrame, protocol: str) -> Table:
    """Per-fold mean F1 over expressions (e.g. both cross-signer directions) and their mean."""
    sub = results[results["protocol"] == protocol]
    folds = list(dict.fromkeys(sub["fold"]))
    per = sub.groupby(["model", "fold", "seed"])["f1"].mean().groupby(["model", "fold"]).mean()
    rows = []
    for m in dict.fromkeys(sub["model"]):
        vals = [per.get((m, f), np.nan) for f in folds]
        rows.append([display_name(m), *[_fmt(v, 3) for v in vals], _fmt(float(np.nanmean(vals)), 3)])
    return Table(["model", *[str(f) for f in folds], "mean"], rows)


def events_table(results: pd.DataFrame, protocol: str) -> Table:
    """Per model, mean over expressions and seeds: frame F1 beside event precision, recall, F1
    (IoU ≥ 0.5) and the mean onset and offset errors (frames) of the matched events."""
    sub = results[results["protocol"] == protocol]
    cols = ("f1", "event_precision", "event_recall", "event_f1", "onset_error", "offset_error")
    per_seed = sub.groupby(["model", "seed"], sort=False)[list(cols)].mean()
    means = per_seed.groupby("model", sort=False).mean()
    rows = [
        [
            display_name(m),
            *[_fmt(means.loc[m, c], 3) for c in cols[:4]],
            *[_fmt(means.loc[m, c], 1) for c in cols[4:]],
        ]
        for m in dict.fromkeys(sub["model"])
    ]
    header = [
        "model",
        "frame F1",
        "event precision",
        "event recall",
        "event F1",
        "onset error",
        "offset error",
    ]
    return Table(header, rows)


EVENTS_NOTE = (
    "Events (IoU ≥ 0.5, one-to-one) on the test stretches, mean over expressions and seeds; "
    "onset and offset errors in frames (mean absolute, matched events):"
)


def benchmark_blocks(results: pd.DataFrame, level: int = 3) -> list:
    """Every protocol's frame F1 table, its event table (where there are events), and per-fold
    tables for protocols with several folds."""
    blocks: list = []
    for protocol in dict.fromkeys(results["protocol"]):
        blocks += [Heading(f"`{protocol}`", level), benchmark_table(results, protocol)]
        if has_events(results, protocol):
            blocks += [Paragraph(EVENTS_NOTE), events_table(results, protocol)]
        if results[results["protocol"] == protocol]["fold"].nunique() > 1:
            blocks += [
                Paragraph(f"Per fold (`{protocol}`), mean F1 over expressions and seeds:"),
                folds_table(results, protocol),
            ]
    return blocks


def winloss_table(results: pd.DataFrame, protocol: str, reference: str = "paper-lstm") -> Table | None:
    """Expressions won–lost by each model under ``protocol`` against PaperLSTM and the published
    numbers of the matching protocol (mean F1 over seeds per expression); None without opponents."""
    from gfe.report.published import published_for

    sub = results[results["protocol"] == protocol]
    m = seed_scores(sub).groupby(["model", "expression"])["f1"].mean()
    ev = (
        seed_scores(sub, "event_f1").groupby(["model", "expression"])["f1"].mean()
        if has_events(sub)
        else None
    )
    models = list(dict.fromkeys(sub["model"]))
    published = published_for(protocol)
    opponents = ([reference] if reference in models else []) + list(published)
    if not opponents:
        return None
    rows = []
    for model in models:
        row = [
            display_name(model),
            *[_wins(m.xs(model, level="model"), _theirs(m, opp, reference, published)) for opp in opponents],
        ]
        if ev is not None and reference in models:
            row.append(_wins(ev.xs(model, level="model"), ev.xs(reference, level="model")))
        rows.append(row)
    header = ["model", *[f"vs {'PaperLSTM (ours)' if o == reference else o}" for o in opponents]]
    if ev is not None and reference in models:
        header.append("event F1 vs PaperLSTM (ours)")
    return Table(header, rows, "l" * len(header))


def _theirs(m: pd.Series, opp: str, reference: str, published: dict) -> pd.Series:
    return m.xs(opp, level="model") if opp == reference else pd.Series(published[opp])


def _wins(mine: pd.Series, theirs: pd.Series) -> str:
    """Expressions won–lost (mean difference) of ``mine`` against ``theirs``."""
    common = [
        e for e in mine.index if e in theirs.index and not np.isnan(theirs[e]) and not np.isnan(mine[e])
    ]
    d = np.array([mine[e] - theirs[e] for e in common])
    return f"{int((d > 0).sum())}–{int((d < 0).sum())} ({d.mean():+.3f})" if len(d) else "–"


def winloss_blocks(results: pd.DataFrame, reference: str = "paper-lstm") -> list:
    """Per protocol: the wins and losses table, or a note when there is nothing to compare with."""
    from gfe.report.published import published_for

    blocks: list = [
        Heading("Wins and losses", 1),
        Paragraph("Counted over expressions, on mean F1 over seeds."),
    ]
    for protocol in dict.fromkeys(results["protocol"]):
        blocks.append(Heading(f"`{protocol}`", 2))
        if not published_for(protocol):
            blocks.append(Paragraph("No published result uses this protocol."))
        table = winloss_table(results, protocol, reference)
        if table is not None:
            blocks.append(table)
    return blocks


def comparison_blocks(comparison: pd.DataFrame) -> list:
    """Default vs tuned test F1 of one tune run: mean ± std over seeds (folds averaged per seed)."""
    per_seed = comparison.groupby(["config", "seed"], sort=False)["f1"].mean().reset_index()
    rows = [[label, str(len(g)), mean_std(g["f1"])] for label, g in per_seed.groupby("config", sort=False)]
    first = comparison.iloc[0]
    head = (
        f"Test F1, {first['expression']} · {first['model']} · `{first['protocol']}` (mean ± std over seeds)"
    )
    return [Paragraph(head), Table(["configuration", "seeds", "test F1"], rows, align="lrr")]
