"""Results → a run folder's own tables and figures, rendered from its data files.

`gfe reproduce`, `gfe benchmark` and `gfe tune` write data (results.csv, losses.csv,
comparison.csv …); :func:`render_run` turns a run folder's data into its Markdown tables and PNG
figures. Rerunning it on a folder rewrites them from the same data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gfe.experiments import RunFolder
from gfe.models import model_label
from gfe.report import figures
from gfe.report.blocks import to_markdown
from gfe.report.tables import (
    benchmark_blocks,
    benchmark_table,
    comparison_blocks,
    table3_blocks,
    winloss_blocks,
)


def _read(folder: RunFolder, name: str) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        return None
    df = pd.read_csv(path, dtype={"fold": str})
    if "fold" in df:
        df["fold"] = df["fold"].fillna("")
    return df


def render_reproduce(folder: RunFolder) -> list[Path]:
    """table3.md and one loss-curve PNG per expression and model (both protocols side by side)."""
    written = []
    results = _read(folder, RunFolder.RESULTS)
    if results is not None and len(results):
        written.append(folder.write_text(RunFolder.TABLE3, to_markdown(table3_blocks(results))))
    losses = _read(folder, RunFolder.LOSSES)
    if losses is not None and len(losses):
        (folder / RunFolder.LOSS_CURVES).mkdir(exist_ok=True)
        for (expression, model), df in losses.groupby(["expression", "model"], sort=False):
            n = df["seed"].nunique()
            title = (
                f"{expression.replace('_', ' ')} — {model_label(model)} (mean of {n} seeds, band = min–max)"
            )
            name = f"{RunFolder.LOSS_CURVES}/{expression}_{model}.png"
            written.append(folder.write_bytes(name, figures.loss_curves_by_protocol(df, title)))
    return written


def render_benchmark(folder: RunFolder) -> list[Path]:
    """table_<protocol>.md per protocol, tables.md (all of them) and winloss.md."""
    results = _read(folder, RunFolder.RESULTS)
    if results is None or not len(results):
        return []
    written = [
        folder.write_text(RunFolder.table_name(p), benchmark_table(results, p).markdown)
        for p in dict.fromkeys(results["protocol"])
    ]
    written.append(folder.write_text(RunFolder.TABLES, to_markdown(benchmark_blocks(results))))
    written.append(folder.write_text(RunFolder.WINLOSS, to_markdown(winloss_blocks(results))))
    return written


def render_tune(folder: RunFolder) -> list[Path]:
    """comparison.md: default versus tuned test F1."""
    comparison = _read(folder, RunFolder.COMPARISON_CSV)
    if comparison is None or not len(comparison):
        return []
    return [folder.write_text(RunFolder.COMPARISON_MD, to_markdown(comparison_blocks(comparison)))]


RENDERERS = {"reproduce": render_reproduce, "benchmark": render_benchmark, "tune": render_tune}


def render_run(path: str | Path) -> list[Path]:
    """Render a run folder's tables and figures from its data; return the files written."""
    folder = RunFolder(path)
    kind = folder.info().get("kind")
    if kind not in RENDERERS:
        return []
    with figures.plain_text():
        return RENDERERS[kind](folder)
