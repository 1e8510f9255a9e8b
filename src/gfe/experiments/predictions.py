"""Per-frame predictions of a run, kept so that reports can draw timelines and confusion matrices.

One tidy table per trained cell (``predictions/<expression>_<protocol>_<model>_seed<seed>.csv.gz``
in the run folder): every frame of the expression's recordings, with its ground-truth label, the
model's probability, and which part of the fold it belonged to (``train``, ``val``, ``test`` or
``unused`` — frames in a gap, or with unknown features). By default only the first seed's cells are
kept, which is what a report shows; ``--predictions all`` keeps every seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gfe.errors import GfeError
from gfe.experiments.runfolder import RunFolder
from gfe.outputs import atomic_write
from gfe.protocols import Fold, Pool

FOLDER = RunFolder.PREDICTIONS
COLUMNS = ("expression", "protocol", "model", "seed", "fold", "signer", "frame", "split", "label", "prob")
KEEP = ("first", "all", "none")


def wanted(keep: str, seed: int, seeds: tuple[int, ...]) -> bool:
    """Whether the cell of ``seed`` keeps its predictions under the policy ``keep``."""
    return keep == "all" or (keep == "first" and bool(seeds) and seed == seeds[0])


def frame_table(
    pool: Pool,
    fold: Fold,
    prob: np.ndarray,
    *,
    model: str,
    seed: int,
    train: np.ndarray | None = None,
    val: np.ndarray | None = None,
) -> pd.DataFrame:
    """Every pool frame of one fold: label, probability and its part of the fold."""
    split = np.full(len(pool), "unused", dtype=object)
    split[np.asarray(fold.train if train is None else train, dtype=int)] = "train"
    if val is not None:
        split[np.asarray(val, dtype=int)] = "val"
    split[np.asarray(fold.test, dtype=int)] = "test"
    return pd.DataFrame(
        {
            "expression": pool.expression,
            "protocol": fold.protocol,
            "model": model,
            "seed": seed,
            "fold": fold.name,
            "signer": pool.signers,
            "frame": pool.frame,
            "split": split,
            "label": pool.labels,
            "prob": np.round(np.asarray(prob, dtype=np.float64), 6),
        },
        columns=list(COLUMNS),
    )


def file_name(expression: str, protocol: str, model: str, seed: int) -> str:
    return f"{expression}_{protocol}_{model}_seed{seed}.csv.gz"


def concat(tables: list[pd.DataFrame]) -> pd.DataFrame | None:
    """One cell's fold tables as one table (None when there are none)."""
    return pd.concat(tables, ignore_index=True) if tables else None


def write(run_dir: Path, tables: list[pd.DataFrame]) -> list[Path]:
    """Write one cell's fold tables: one file per expression (a multi-expression cell has several)."""
    if not tables:
        return []
    df = pd.concat(tables, ignore_index=True)
    folder = Path(run_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for expression, part in df.groupby("expression", sort=False):
        first = part.iloc[0]
        path = folder / file_name(expression, first["protocol"], first["model"], int(first["seed"]))
        written.append(atomic_write(path, lambda tmp, p=part: p.to_csv(tmp, index=False, compression="gzip")))
    return written


def read(run_dir: Path) -> pd.DataFrame | None:
    """All per-frame predictions of a run folder, or None when it kept none."""
    files = sorted((Path(run_dir) / FOLDER).glob("*.csv.gz"))
    if not files:
        return None
    parts = []
    for f in files:
        try:
            parts.append(pd.read_csv(f, dtype={"fold": str, "signer": str}))
        except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
            raise GfeError(
                f"{f}: unreadable per-frame predictions ({type(exc).__name__}: {exc}); delete the file "
                "(its run's timelines go with it) or rerun the command that wrote it"
            ) from None
    df = pd.concat(parts, ignore_index=True)
    df["fold"] = df["fold"].fillna("")
    return df
