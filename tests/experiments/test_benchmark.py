"""`gfe benchmark`: test labels never reach an estimator; the grid resumes; tables are written."""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.data import load_dataset
from gfe.experiments import benchmark as bm
from gfe.experiments import runner as runner_module
from gfe.experiments.cells import Cell, CellSpec
from gfe.experiments.runner import run_cell
from gfe.features import CLEAN
from gfe.models import Tags
from gfe.protocols import HIDDEN, PROTOCOLS, Sequence, carve_validation, load_pool, make_pool


class Spy:
    """A model that records everything it is shown and predicts from feature 0."""

    name = "spy"
    tags = Tags(label="spy", colour="k")
    seen: ClassVar[list] = []
    validation = False

    def uses_validation(self) -> bool:
        return Spy.validation

    def fit(self, train: list[Sequence], seed: int, val=None, monitor=None):
        Spy.seen.append(("train", [s.y.copy() for s in train]))
        if val is not None:
            Spy.seen.append(("val", [s.y.copy() for s in val]))
        return self

    def predict_proba(self, seqs):
        Spy.seen.append(("predict", [s.y.copy() for s in seqs]))
        return [1 / (1 + np.exp(-s.x[:, 0])) for s in seqs]


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize("uses_val", [False, True])
@pytest.mark.parametrize("features", ["clean", "aligned-vel"])
def test_no_estimator_ever_sees_a_test_label(monkeypatch, synthetic_data, protocol, uses_val, features):
    monkeypatch.setattr(runner_module, "make_model", lambda name, **kw: Spy())
    Spy.seen, Spy.validation = [], uses_val
    load_pool.cache_clear()
    spec = CellSpec(
        data_dir=str(synthetic_data), features=features, decisions="validation" if uses_val else "threshold"
    )
    rows = run_cell(spec, Cell("topics", protocol, 0, "spy"))["rows"]
    pool = load_pool(str(synthetic_data), "topics", spec.features)
    folds = PROTOCOLS[protocol](pool, 0)
    assert len(rows) == len(folds)
    calls = iter(Spy.seen)
    for fold in folds:
        test = np.zeros(len(pool), bool)
        test[fold.test] = True
        shown = {}
        for kind in ("train", *(("val",) if uses_val else ()), "predict"):
            k, ys = next(calls)
            assert k == kind
            shown[kind] = np.concatenate(ys)
        assert (shown["train"][test] == HIDDEN).all()
        assert (shown["predict"] == HIDDEN).all()
        if uses_val:
            assert (shown["val"][test] == HIDDEN).all()
            assert not ((shown["val"] != HIDDEN) & (shown["train"] != HIDDEN)).any()
            assert (shown["val"] != HIDDEN).sum() > 0
        # What is visible is exactly the training labels.
        visible = shown["train"] != HIDDEN
        np.testing.assert_array_equal(shown["train"][visible], pool.labels[visible])


class SharedSpy(Spy):
    """The spy as a multi-expression model: one fit over the recordings of every expression."""

    name = "shared-spy"
    tags = Tags(label="shared-spy", colour="k", multi_expression=True)
    device = "cpu"


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_a_shared_model_never_sees_a_test_label_of_any_expression(monkeypatch, synthetic_data, protocol):
    from gfe.experiments import multi
    from gfe.protocols import get_protocol, signer_runs

    monkeypatch.setattr(multi, "make_model", lambda name, **kw: SharedSpy())
    monkeypatch.setattr(multi, "model_of", lambda m: m)
    Spy.seen, Spy.validation = [], True  # SharedSpy records into Spy.seen
    load_pool.cache_clear()
    expressions = ("topics", "negative")
    spec = CellSpec(data_dir=str(synthetic_data), features="aligned", expressions=expressions)
    rows = multi.run_multi_cell(spec, Cell("*", protocol, 0, "shared-spy"))["rows"]
    pools = {e: load_pool(str(synthetic_data), e, "aligned") for e in expressions}
    folds = {e: get_protocol(protocol)(p, 0) for e, p in pools.items()}
    assert len(rows) == sum(len(f) for f in folds.values())
    calls = iter(Spy.seen)
    for k in range(len(folds["topics"])):
        shown = {}
        for kind in ("train", "val"):
            got, shown[kind] = next(calls)
            assert got == kind and len(shown[kind]) == 2 * len(expressions)  # a recording per signer
        for j, (e, pool) in enumerate(pools.items()):  # each pool's sequences, in pool order
            idx = np.concatenate(list(signer_runs(pool).values()))
            test = np.zeros(len(pool), bool)
            test[folds[e][k].test] = True
            for kind in ("val", "train"):
                y = np.full(len(pool), -9)
                y[idx] = np.concatenate(shown[kind][2 * j : 2 * j + 2])
                assert (y[test] == HIDDEN).all(), f"{kind} labels of {e}'s test frames were shown"
            visible = y != HIDDEN  # the training labels shown are the pool's own
            assert visible.sum() > 0 and (pool.labels[visible] == y[visible]).all()
        for _ in expressions:
            kind, ys = next(calls)
            assert kind == "predict" and all((y == HIDDEN).all() for y in ys)


def test_chronological_validation_lies_after_what_it_validates(synthetic_data):
    pool = make_pool(load_dataset(synthetic_data, ["topics"]), CLEAN)
    (fold,) = PROTOCOLS["chrono"](pool, 0)
    train, val = carve_validation(pool, fold, 0.15, 0)
    for s in ("a", "b"):
        assert (
            pool.frame[train[pool.signers[train] == s]].max() < pool.frame[val[pool.signers[val] == s]].min()
        )
    assert not set(val) & set(fold.test) and not set(val) & set(train)


def test_benchmark_resumes_and_writes_tables(tmp_path, synthetic_data):
    runner = CliRunner()
    args = ["benchmark", "--data-dir", str(synthetic_data), "--models", "logreg,paper-lstm",
            "--protocols", "chrono,cross-signer", "--expressions", "topics,negative", "--seeds", "1",
            "--jobs", "1", "--no-progress", "--param", "paper-lstm.epochs=3", "--out", str(tmp_path / "b")]  # fmt: skip
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = tmp_path / "b"
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 2 * 2 * (1 + 2)  # expressions × models × (chrono 1 fold + cross-signer 2)
    for name in ("table_chrono.md", "table_cross-signer.md", "winloss.md", "tables.md", "run.json"):
        assert (out / name).is_file()
    assert "**mean of 9**" not in (out / "table_chrono.md").read_text()
    assert "b→a" in (out / "tables.md").read_text()
    assert "vs PaperLSTM (ours)" in (out / "winloss.md").read_text()
    cells = (out / "cells.jsonl").read_text().splitlines()
    assert len(cells) == 8
    # Second run: nothing left to do, the same numbers come back.
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0
    assert len((out / "cells.jsonl").read_text().splitlines()) == 8
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), results)
    assert json.loads((out / "run.json").read_text())["config"]["model_params"] == {
        "paper-lstm": {"epochs": 3}
    }


def test_bad_param_and_unknown_model_are_clear(tmp_path, synthetic_data):
    runner = CliRunner()
    res = runner.invoke(app, ["benchmark", "--data-dir", str(synthetic_data), "--models", "svm"])
    assert res.exit_code == 2 and "unknown model 'svm'" in res.output
    res = runner.invoke(app, ["benchmark", "--data-dir", str(synthetic_data), "--param", "hidden=3"])
    assert res.exit_code == 2 and "MODEL.NAME=VALUE" in res.output


@pytest.mark.realdata
def test_quick_benchmark_on_real_data_with_two_workers(tmp_path, real_data):
    """Integration: the real grid machinery (process pool, every table) on 2 expressions."""
    args = ["benchmark", "--data-dir", str(real_data), "--out", str(tmp_path / "q"),
            "--models", "logreg,extra-trees,seq-lstm", "--protocols", "chrono,cross-signer-calibrated",
            "--expressions", "wh_question,negative", "--seeds", "1", "--jobs", "2", "--no-progress",
            "--param", "seq-lstm.max_epochs=4", "--param", "extra-trees.n_estimators=50"]  # fmt: skip
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    r = pd.read_csv(tmp_path / "q" / "results.csv")
    assert len(r) == 2 * 3 * (1 + 2)
    assert set(r[r.protocol == "cross-signer-calibrated"]["fold"]) == {"b→a", "a→b"}
    assert (r["f1"] > 0.3).all()  # every model learns something real on every fold
    assert (r[r.model == "seq-lstm"]["n_val"] > 0).all() and (r[r.model == "logreg"]["n_val"] == 0).all()


def test_a_patience_makes_the_paper_models_early_stop_on_carved_validation(synthetic_data):
    """`--param paper-lstm.patience=N` is not silently ignored: the cell carves validation frames
    from the training frames and training stops early on them."""
    cfg = bm.BenchmarkConfig(
        models=("paper-lstm",), protocols=("chrono",), expressions=("topics",), seeds=(0,),
        model_params={"paper-lstm": {"epochs": 500, "patience": 5}},
    )  # fmt: skip
    row = run_cell(cfg.cell_spec(synthetic_data), Cell("topics", "chrono", 0, "paper-lstm"))["rows"][0]
    plain_spec = bm.BenchmarkConfig().cell_spec(synthetic_data)
    plain = run_cell(plain_spec, Cell("topics", "chrono", 0, "paper-lstm"))["rows"][0]
    assert row["n_val"] > 0 and plain["n_val"] == 0
    assert row["n_train"] + row["n_val"] == plain["n_train"]


@pytest.mark.parametrize("protocol", ["chrono", "cross-signer", "paper"])
def test_decisions_chosen_on_validation_never_read_a_test_label(synthetic_data, protocol):
    """The post-processing rule and the training are the same whatever the test labels are."""
    from gfe.experiments.scoring import fold_decisions

    pool = load_pool(str(synthetic_data), "topics", "clean")
    (fold, *_) = PROTOCOLS[protocol](pool, 0)
    _, val = carve_validation(pool, fold, 0.15, 0)
    prob = np.clip(0.5 + 0.3 * np.sin(np.arange(len(pool)) / 7.0), 0, 1)
    labels, rule = fold_decisions(pool, fold, prob, val, "validation", True, 0.5)
    flipped = dataclasses.replace(
        pool, labels=np.where(np.isin(np.arange(len(pool)), fold.test), 1 - pool.labels, pool.labels)
    )
    labels2, rule2 = fold_decisions(flipped, fold, prob, val, "validation", True, 0.5)
    assert rule == rule2 and (labels == labels2).all()


def test_event_scores_are_in_every_row(synthetic_data):
    spec = CellSpec(data_dir=str(synthetic_data), decisions="validation")
    rows = run_cell(spec, Cell("topics", "chrono", 0, "logreg"))["rows"]
    row = rows[0]
    assert 0 <= row["event_f1"] <= 1 and row["n_events"] > 0 and row["decision"].startswith("on ")
    paper = run_cell(spec, Cell("topics", "paper", 0, "logreg"))["rows"][0]
    assert np.isnan(paper["event_f1"])  # a shuffled split has no stretches of test frames


def test_a_config_file_is_labelled_as_tuned_everywhere_and_its_source_recorded(tmp_path, synthetic_data):
    """`gfe benchmark --config mine.json` runs the config as MODEL@NAME; tables, wins and losses and
    the HTML report call it "logreg (tuned: mine)"; run.json records the file it came from."""
    from gfe.experiments.configs import model_config

    config = tmp_path / "mine.json"
    config.write_text(json.dumps(model_config("logreg", {"C": 0.5}, "clean")))
    out = tmp_path / "b"
    args = ["benchmark", "--data-dir", str(synthetic_data), "--models", "paper-lstm", "--config", str(config),
            "--protocols", "paper,chrono", "--expressions", "topics", "--seeds", "1", "--jobs", "1",
            "--no-progress", "--param", "paper-lstm.epochs=2", "--out", str(out)]  # fmt: skip
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out / "results.csv")["model"]) == {"paper-lstm", "logreg@mine"}
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["model_sources"] == {"logreg@mine": str(config)}
    assert run["config"]["model_params"]["logreg@mine"] == {"C": 0.5}
    for name in ("tables.md", "table_chrono.md", "winloss.md"):
        text = (out / name).read_text()
        assert "logreg (tuned: mine)" in text and "logreg@mine" not in text, name
    assert "| expression | paper-lstm | logreg (tuned: mine) |" in res.stdout
    report = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["report", str(out), "--out", str(report), "--no-progress"])
    assert res.exit_code == 0, res.output
    html = report.read_text()
    assert "logreg (tuned: mine)" in html and str(config) in html
