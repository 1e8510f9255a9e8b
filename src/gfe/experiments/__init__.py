"""Models → results: the experiments (:mod:`~gfe.experiments.reproduce`,
:mod:`~gfe.experiments.benchmark`, :mod:`~gfe.experiments.tune`), the runner they share
(:mod:`~gfe.experiments.runner`) and the run folders they write (:mod:`~gfe.experiments.runfolder`).
Each experiment module has a config class and one function of the same name as the module."""

from gfe.experiments.benchmark import BenchmarkConfig
from gfe.experiments.cells import Cell, CellSpec
from gfe.experiments.reproduce import ReproduceConfig
from gfe.experiments.runfolder import RunFolder
from gfe.experiments.runner import LocalExecutor, run_cell, run_cells
from gfe.experiments.tune import TuneConfig

__all__ = [
    "BenchmarkConfig",
    "Cell",
    "CellSpec",
    "LocalExecutor",
    "ReproduceConfig",
    "RunFolder",
    "TuneConfig",
    "run_cell",
    "run_cells",
]
