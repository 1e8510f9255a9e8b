"""Cells on a Dask cluster (``--cluster tcp://scheduler:8786`` or ``--cluster local:N``).

The same :func:`gfe.experiments.runner.run_cell` runs on the cluster's workers, so results equal a
local run's (same seeds, one thread per cell). What makes that work without a shared file system:

* **The data travel with the work.** The dataset's files (the recordings the grid needs, ~58 MB
  for all 18) are read once here, checksummed, and scattered to every worker
  (``broadcast=True``). A worker writes them once into a private temporary folder, checks every
  file's sha256 against the client's, and runs its cells on that copy. Workers need gfe (the same
  version: checked) and its dependencies, not the data.
* **Results come back.** Rows, loss curves and per-frame predictions return to this process, which
  writes the run folder (``cells.jsonl`` as each cell arrives), so resume works across local and
  cluster runs alike.
* **Faults.** A worker that dies mid-cell loses only that cell's future: the scheduler runs it again
  on another worker (Dask's ``allowed-failures``). Ctrl-C cancels every pending cell on the
  cluster before returning; the cells already finished stay recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from gfe.errors import GfeError

CLUSTER_MISSING = "--cluster needs Dask distributed: pip install 'gfe[cluster]'"
_WORKER_COPIES: dict[str, str] = {}  # on a worker: digest of a shipment → its local folder


def ship_dataset(data_dir: Path, expressions) -> dict:
    """The files of ``expressions`` (datapoints and targets of both signers) as bytes, with sha256."""
    from gfe import SIGNERS
    from gfe.data import datapoints_name, find_targets

    files = {}
    for e in expressions:
        for s in SIGNERS:
            for path in (Path(data_dir) / datapoints_name(s, e), find_targets(Path(data_dir), s, e)):
                files[path.name] = path.read_bytes()
    sums = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    digest = hashlib.sha256("".join(f"{n}{h}" for n, h in sorted(sums.items())).encode()).hexdigest()
    return {"files": files, "sha256": sums, "digest": digest}


def materialise(shipment: dict) -> str:
    """On a worker: the shipment's files in a local folder (written once, checksums verified)."""
    if shipment["digest"] in _WORKER_COPIES:
        return _WORKER_COPIES[shipment["digest"]]
    folder = Path(tempfile.mkdtemp(prefix="gfe-data-"))
    for name, data in shipment["files"].items():
        if hashlib.sha256(data).hexdigest() != shipment["sha256"][name]:
            raise GfeError(f"{name}: its bytes reached the worker damaged (sha256 differs); rerun the grid")
        (folder / name).write_bytes(data)
    _WORKER_COPIES[shipment["digest"]] = str(folder)
    return str(folder)


def run_shipped(fn: Callable, shipment: dict, version: str, spec, *args):
    """On a worker: check gfe's version, point the spec at the local copy of the data, run."""
    from gfe import __version__

    if version != __version__:
        raise GfeError(
            f"a worker runs gfe {__version__}, the client {version}; install the same gfe everywhere"
        )
    return fn(replace(spec, data_dir=materialise(shipment)), *args)


def _parse(address: str) -> tuple[str, int | None]:
    if address.startswith("local:"):
        n = address.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise GfeError(f"--cluster {address}: write local:N with N ≥ 1 worker processes, e.g. local:2")
        return "local", int(n)
    if "://" not in address:
        raise GfeError(f"--cluster {address}: give a scheduler address such as tcp://HOST:8786, or local:N")
    return address, None


class DaskExecutor:
    """Cells on a Dask cluster: an existing scheduler's address, or ``local:N`` (a LocalCluster of
    N single-threaded worker processes on this machine, started and stopped here)."""

    def __init__(self, address: str, data_dir: Path, expressions, timeout: float = 30) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise GfeError(CLUSTER_MISSING) from None
        self.address, self.n_local = _parse(address)
        self.data_dir, self.expressions, self.timeout = Path(data_dir), tuple(expressions), timeout
        self._stack = contextlib.ExitStack()
        self.client = None

    def describe(self) -> str:
        if self.client is None:
            return f"dask cluster {self.address}"
        n = len(self.client.scheduler_info(n_workers=-1)["workers"])
        where = f"local cluster of {self.n_local}" if self.n_local else f"dask cluster {self.address}"
        return f"{where} ({n} workers)"

    def _connect(self):
        from distributed import Client, LocalCluster

        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
            if self.n_local:
                local = LocalCluster(
                    n_workers=self.n_local, threads_per_worker=1, processes=True, dashboard_address=None,
                    host="127.0.0.1",
                )  # fmt: skip
                return self._stack.enter_context(Client(self._stack.enter_context(local)))
            try:
                return self._stack.enter_context(Client(self.address, timeout=self.timeout))
            except (OSError, TimeoutError) as exc:
                raise GfeError(
                    f"--cluster {self.address}: no scheduler answers ({type(exc).__name__}); start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
                ) from None

    def map_unordered(self, fn: Callable, args: list[tuple]) -> Iterator:
        from gfe import __version__

        if not args:
            return
        from distributed import as_completed

        self.client = self.client or self._connect()
        shipment = self.client.scatter(ship_dataset(self.data_dir, self.expressions), broadcast=True)
        futures = [self.client.submit(run_shipped, fn, shipment, __version__, *a, pure=False) for a in args]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            self.client.cancel(futures)  # Ctrl-C or a failed cell: nothing keeps running out there
            raise

    def close(self) -> None:
        self._stack.close()
        self.client = None
