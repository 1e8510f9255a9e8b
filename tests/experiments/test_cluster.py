"""Grids on a Dask cluster: a real LocalCluster of 2 worker processes over TCP gives the same
results as a local run, resumes across both, survives a worker killed mid-cell and cancels its
pending cells on Ctrl-C. And ``--device``: auto is the CPU here; cuda without a GPU is one line."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.errors import GfeError
from gfe.experiments import BenchmarkConfig
from gfe.experiments.benchmark import benchmark
from gfe.experiments.cluster import DaskExecutor, ship_dataset
from gfe.models.device import resolve_device

distributed = pytest.importorskip("distributed")  # an install without gfe[cluster] skips (CI has it)

SCORES = ["expression", "model", "protocol", "fold", "seed", "n_train", "n_val", "n_test", "f1", "tp", "fp"]


def _cfg(**kw) -> BenchmarkConfig:
    base = dict(
        models=("logreg", "seq-lstm"), protocols=("chrono", "cross-signer"), expressions=("topics", "negative"),
        seeds=(0,), model_params={"seq-lstm": {"hidden": 8, "max_epochs": 3}},
    )  # fmt: skip
    return BenchmarkConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as c:
        assert c.scheduler_address.startswith("tcp://")
        yield c


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, synthetic_data_session):
    out = tmp_path_factory.mktemp("local") / "run"
    return benchmark(synthetic_data_session, out, _cfg(), jobs=1, progress=False), out


def test_the_cluster_gives_the_local_results(tmp_path, synthetic_data_session, cluster, local_run):
    local, _ = local_run
    out = tmp_path / "dask"
    remote = benchmark(synthetic_data_session, out, _cfg(), cluster=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(remote[SCORES], local[SCORES])
    info = json.loads((out / "run.json").read_text())
    assert "dask cluster" in info["invocations"][-1]["executor"]
    assert len(list((out / "predictions").glob("*.csv.gz"))) == len(local) // 3 * 2  # 2 protocols' cells
    # resume across both: drop two finished cells, rerun on the cluster — only they are computed
    cells = (out / "cells.jsonl").read_text().splitlines()
    (out / "cells.jsonl").write_text("\n".join(cells[:-2]) + "\n")
    again = benchmark(synthetic_data_session, out, _cfg(), cluster=cluster.scheduler_address, progress=False)
    assert json.loads((out / "run.json").read_text())["invocations"][-1]["cells_computed"] == 2
    pd.testing.assert_frame_equal(again[SCORES], local[SCORES])


def test_local_n_starts_and_stops_its_own_cluster(tmp_path, synthetic_data_session, local_run):
    local, _ = local_run
    cfg = _cfg(models=("logreg",), protocols=("chrono",), model_params={})
    remote = benchmark(synthetic_data_session, tmp_path / "r", cfg, cluster="local:2", progress=False)
    expected = local[(local["model"] == "logreg") & (local["protocol"] == "chrono")].reset_index(drop=True)
    pd.testing.assert_frame_equal(remote[SCORES], expected[SCORES])


def test_a_worker_killed_mid_cell_has_its_cell_rerun(tmp_path, synthetic_data_session, cluster, local_run):
    local, _ = local_run
    client = distributed.Client(cluster.scheduler_address)
    killed = []

    def kill_a_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    thread = threading.Thread(target=kill_a_busy_worker)
    thread.start()
    try:
        remote = benchmark(
            synthetic_data_session, tmp_path / "k", _cfg(), cluster=cluster.scheduler_address, progress=False
        )
    finally:
        thread.join()
        client.close()
    assert killed, "a worker should have been killed while it ran a cell"
    pd.testing.assert_frame_equal(remote[SCORES], local[SCORES])


def test_ctrl_c_cancels_the_pending_cells(tmp_path, synthetic_data_session, cluster):
    from gfe.experiments.cells import grid
    from gfe.experiments.runfolder import RunFolder
    from gfe.experiments.runner import run_cells

    cfg = _cfg(seeds=(0, 1, 2), model_params={"seq-lstm": {"hidden": 8, "max_epochs": 6}})
    folder = RunFolder(tmp_path / "c")
    folder.open("benchmark", {"test": 1})
    executor = DaskExecutor(cluster.scheduler_address, synthetic_data_session, cfg.expressions)

    def interrupt(record):
        raise KeyboardInterrupt

    cells = grid(cfg.expressions, cfg.protocols, cfg.seeds, cfg.models)
    with pytest.raises(KeyboardInterrupt):
        run_cells(cfg.cell_spec(synthetic_data_session), cells, folder, executor, False, on_record=interrupt)
    watcher = distributed.Client(cluster.scheduler_address)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(watcher.processing().values()):
            time.sleep(0.1)
        assert not any(watcher.processing().values()), "cancelled cells should not keep running"
    finally:
        watcher.close()
        executor.close()
    assert len(folder.read_cells()) == 1  # the cell that finished is kept


def test_the_data_travel_with_their_checksums(synthetic_data_session):
    shipped = ship_dataset(synthetic_data_session, ["topics"])
    assert set(shipped["files"]) == {"a_topics_datapoints.txt", "a_topics_targets.txt",
                                     "b_topics_datapoints.txt", "b_topics_targets.txt"}  # fmt: skip
    from gfe.experiments.cluster import materialise

    damaged = {**shipped, "digest": "x", "files": {**shipped["files"], "a_topics_targets.txt": b"0\n1"}}
    with pytest.raises(GfeError, match="damaged"):
        materialise(damaged)


def test_bad_cluster_addresses_are_one_line(synthetic_data):
    runner = CliRunner()
    for address, needle in (("local:0", "local:N"), ("nowhere", "scheduler address"),
                            ("tcp://127.0.0.1:1", "no scheduler answers")):  # fmt: skip
        res = runner.invoke(app, ["benchmark", "--data-dir", str(synthetic_data), "--models", "logreg",
                                  "--expressions", "topics", "--seeds", "1", "--cluster", address,
                                  "--no-progress", "--out", str(synthetic_data.parent / "x")])  # fmt: skip
        assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output, res.output


def test_device_choice():
    assert resolve_device("auto") in ("cpu", "cuda") and resolve_device("cpu") == "cpu"
    import torch

    if not torch.cuda.is_available():
        assert resolve_device("auto") == "cpu"
        with pytest.raises(GfeError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(GfeError, match="choose one of"):
        resolve_device("tpu")
    res = CliRunner().invoke(app, ["train", "--expression", "topics", "--out", "x", "--device", "tpu"])
    assert res.exit_code == 2 and "--device 'tpu'" in res.output
