"""`gfe report`: run folders → one self-contained HTML file (and the same tables as Markdown)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe.cli import app
from gfe.report import html as htmlreport

PNG = b"\x89PNG\r\n\x1a\n"
SECTIONS = ("runs", "table3", "f1", "benchmark", "confusion", "losses", "timelines", "features", "provenance")


def invoke(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env or {}, catch_exceptions=False)


def images(html: str) -> list[bytes]:
    """The decoded PNG of every <img> of the page."""
    srcs = re.findall(r'<img src="([^"]*)"', html)
    prefix = "data:image/png;base64,"
    assert all(s.startswith(prefix) for s in srcs), "every image must be embedded"
    return [base64.b64decode(s[len(prefix) :]) for s in srcs]


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def runs(tmp_path_factory, synthetic_data_session):
    """A tiny reproduce run and a tiny benchmark run on synthetic data (1 seed, 2 expressions)."""
    root = tmp_path_factory.mktemp("runs")
    data = synthetic_data_session
    res = invoke("reproduce", "--data-dir", data, "--out", root / "reproduce", "--seeds", 1, "--epochs", 3,
                 "--expressions", "affirmative,negative", "--models", "paper-lstm,mlp", "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output
    res = invoke("benchmark", "--data-dir", data, "--out", root / "benchmark", "--models", "logreg,paper-lstm",
                 "--protocols", "chrono,cross-signer", "--expressions", "affirmative,negative", "--seeds", 1,
                 "--jobs", 1, "--param", "paper-lstm.epochs=3", "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output
    return {"reproduce": root / "reproduce", "benchmark": root / "benchmark", "data": data}


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    """`gfe report` of both runs: (html text, Markdown text, CLI result)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    res = invoke("report", runs["reproduce"], runs["benchmark"], "--out", out, "--no-progress")
    assert res.exit_code == 0, res.output
    return out.read_text(), out.with_suffix(".md").read_text(), res


def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


def fake_tune_run(folder):
    """A `gfe tune` run folder as the tune command writes it (made by hand, a few trials)."""
    from gfe.report.figures import pyplot, to_png

    folder.mkdir(parents=True)
    run = {"command": "gfe tune --expression negative --model seq-lstm --trials 3", "kind": "tune",
           "config": {"expression": "negative", "model": "seq-lstm", "protocol": "chrono", "threshold": 0.5},
           "versions": {"python": "3.11", "optuna": "5.0.0"}, "data_dir": "/nowhere",
           "trials": {"finished": 3, "by_state": {"COMPLETE": 2, "PRUNED": 1}}}  # fmt: skip
    (folder / "run.json").write_text(json.dumps(run))
    pd.DataFrame(
        {"number": [0, 1, 2], "value": [0.71, 0.78, None], "state": ["COMPLETE", "COMPLETE", "PRUNED"],
         "params_hidden": [32, 96, 64], "params_lr": [0.01, 0.003, 0.02], "duration": ["0 days 00:00:03"] * 3}
    ).to_csv(folder / "trials.csv", index=False)  # fmt: skip
    best = {"format": "gfe-model-config/1", "model": "seq-lstm", "features": "clean",
            "params": {"hidden": 96, "lr": 0.003}, "source": {"trial": 1, "validation_f1": 0.78}}  # fmt: skip
    (folder / "best_config.json").write_text(json.dumps(best))
    rows = [{"config": c, "expression": "negative", "model": "seq-lstm", "protocol": "chrono", "fold": "",
             "seed": s, "f1": f + 0.01 * s} for c, f in (("default", 0.76), ("tuned", 0.80)) for s in range(3)]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "comparison.csv", index=False)
    plt = pyplot()
    for name in ("history.png", "importance.png"):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [0.71, 0.78, 0.78])
        (folder / name).write_bytes(to_png(fig))
    return folder


# ------------------------------------------------------------------------------- the full report
def test_report_has_every_section_with_embedded_images(report):
    html, _, res = report
    for section in SECTIONS:
        assert f'<section id="{section}">' in html and f'href="#{section}"' in html
    pngs = images(html)
    n = html.count("data:image/png;base64,")
    # F1 bars and confusion matrices: 2 + 2 protocols; loss curves: 2 models × 2 protocols;
    # timelines (chrono): 2 expressions; the landmark face: 1
    assert n == len(pngs) == 4 + 4 + 4 + 2 + 1
    assert all(p.startswith(PNG) for p in pngs)
    assert "Table 1 on the mean face of signer a" in html
    assert html.count('<figure id="figure-') == n and "Figure 15." in html
    assert "report:" in res.stdout and "15 figures" in res.stdout


def test_report_loads_nothing_from_anywhere(report):
    html, _, _ = report
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    srcs = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert srcs and all(s.startswith(("data:image/png;base64,", "#")) for s in srcs)


def test_report_tables_and_captions(report):
    html, _, _ = report
    assert "0.9022" in html  # the paper's Table 3 beside ours
    assert "hidden units kept" not in html  # no pruned MLP in this run
    assert "<strong>" in html and "protocol <code>chrono</code>" in html
    assert "b→a" in html  # cross-signer per-fold table
    assert "error bars = std over seeds" in html and "mean over 1 seed," in html
    assert "Hatched grey: published results" in html  # anchors under `paper` only
    assert "Timeline of affirmative" in html and "under <code>chrono</code>" in html
    assert re.search(r"Data checksums \(\d+ files\)", html)


def test_markdown_copy_has_the_same_tables(report):
    _, md, _ = report
    for text in ("## Table 3 reproduced", "| expression | ours: PaperLSTM | ours: MLP |", "### protocol `chrono`",
                 "| model | b→a | a→b | mean |", "| D1 | distance | 17 – 27 |", "_Figure 1 (in the HTML report)"):  # fmt: skip
        assert text in md, text
    assert "data:image" not in md


def test_html_is_escaped(runs, tmp_path):
    run = copy_run(runs["reproduce"], tmp_path / "run")
    info = json.loads((run / "run.json").read_text())
    info["command"] = "gfe reproduce <script>alert(1)</script> & more"
    (run / "run.json").write_text(json.dumps(info))
    out = tmp_path / "r.html"
    assert invoke("report", run, "--out", out, "--no-progress").exit_code == 0
    html = out.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


# ----------------------------------------------------------------------------------- options
def test_timeline_protocol_and_models_can_be_chosen(runs, tmp_path):
    out = tmp_path / "r.html"
    res = invoke("report", runs["benchmark"], "--out", out, "--protocol", "cross-signer", "--models",
                 "logreg", "--title", "Cross-signer <check>", "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "<title>Cross-signer &lt;check&gt;</title>" in html
    assert "Timeline of negative" in html and "under <code>cross-signer</code>" in html
    assert "Models (mean test F1 under <code>cross-signer</code>): <code>logreg</code>" in html


def test_default_timelines_prefer_chrono_and_the_best_models(runs):
    choice = htmlreport.choose_timelines(
        [htmlreport.load_run(runs["reproduce"]), htmlreport.load_run(runs["benchmark"])], None, None
    )
    assert choice.protocol == "chrono" and set(choice.labels) == {"logreg", "paper-lstm"}
    assert [f1 for _, f1 in choice.ranking] == sorted((f1 for _, f1 in choice.ranking), reverse=True)
    frames = choice.frames
    assert set(frames["expression"]) == {"affirmative", "negative"} and set(frames["signer"]) == {"a", "b"}
    assert not frames.duplicated(["expression", "model", "signer", "frame"]).any()
    choice = htmlreport.choose_timelines([htmlreport.load_run(runs["reproduce"])], None, None)
    assert choice.protocol == "paper-holdout"


# ------------------------------------------------------------------------------------- errors
def test_clear_errors_name_the_folder_and_the_fix(runs, tmp_path):
    cases = [
        ((tmp_path / "missing",), "folder not found — pass a run folder written by `gfe reproduce`"),
        ((runs["reproduce"] / "results.csv",), "not a folder"),
        ((tmp_path,), "holds no run.json or results.csv"),
        ((runs["reproduce"], "--protocol", "blocked-cv"), "--protocol blocked-cv: no per-frame predictions"),
        ((runs["reproduce"], "--models", "bilstm"), "--models: no predictions of bilstm under paper-holdout"),
    ]
    for args, message in cases:
        res = invoke("report", *args, "--out", tmp_path / "r.html", "--no-progress")
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output and "Traceback" not in res.output, res.output
    parent = tmp_path / "all"
    copy_run(runs["benchmark"], parent / "bench")
    res = invoke("report", parent, "--out", tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 2 and "it contains run folders: bench" in res.output
    (parent / "run.json").write_text("{not json")
    res = invoke("report", parent, "--out", tmp_path / "r.html", "--no-progress")
    assert res.exit_code == 2 and "run.json: not valid JSON" in res.output
    assert not (tmp_path / "r.html").exists()


def test_partial_folder_shows_what_is_there(runs, tmp_path):
    run = copy_run(runs["reproduce"], tmp_path / "partial")
    (run / "losses.csv").unlink()
    shutil.rmtree(run / "predictions")
    out = tmp_path / "r.html"
    res = invoke("report", run, "--out", out, "--no-progress")
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert 'id="table3"' in html and 'id="losses"' not in html and 'id="timelines"' not in html
    assert "no losses.csv — no loss curves from this run" in html
    assert "no predictions/ — no timelines from this run" in html
    assert 'class="note"' in html
    assert "warning:" in res.stderr and "no losses.csv" in res.stderr


def test_unfinished_benchmark_uses_its_finished_cells(runs, tmp_path):
    run = copy_run(runs["benchmark"], tmp_path / "unfinished")
    (run / "results.csv").unlink()
    (run / "run.json").unlink()
    out = tmp_path / "r.html"
    res = invoke("report", run, "--out", out, "--no-progress")
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert 'id="benchmark"' in html and "protocol <code>cross-signer</code>" in html
    assert "using the 12 rows finished in cells.jsonl" in html
    assert "no run.json, so no command, versions or checksums are known" in html


def test_no_dataset_leaves_out_the_face_with_a_note(runs, tmp_path):
    run = copy_run(runs["benchmark"], tmp_path / "moved")
    info = json.loads((run / "run.json").read_text())
    info["data_dir"] = str(tmp_path / "gone")
    (run / "run.json").write_text(json.dumps(info))
    out = tmp_path / "r.html"
    res = invoke("report", run, "--out", out, "--no-progress", env={"GFE_DATA_DIR": str(tmp_path / "none")})
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "no dataset found" in html and "mean face" not in html
    assert "no dataset found" in res.stderr
    res = invoke("report", run, "--out", out, "--no-progress", "--data-dir", runs["data"])
    assert res.exit_code == 0 and "Table 1 on the mean face" in out.read_text()


def test_tune_run_section(tmp_path):
    run = fake_tune_run(tmp_path / "tune")
    out = tmp_path / "r.html"
    res = invoke("report", run, "--out", out, "--no-progress", env={"GFE_DATA_DIR": str(tmp_path / "none")})
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert '<section id="tune">' in html and "Best configuration" in html
    assert "params.hidden" in html and "3 trials (2 complete, 1 pruned)" in html
    assert "default versus tuned" in html and "+0.040" in html
    assert base64.b64encode((run / "history.png").read_bytes()).decode() in html
    assert len(images(html)) == 3  # history, importance, default-vs-tuned bars
    assert 'id="table3"' not in html and 'id="timelines"' not in html


# ---------------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_report_of_small_real_runs(real_data, tmp_path):
    run = tmp_path / "reproduce"
    res = invoke("reproduce", "--data-dir", real_data, "--out", run, "--seeds", 1, "--epochs", 3,
                 "--expressions", "negative,relative", "--models", "paper-lstm", "--protocols", "paper-holdout",
                 "--no-progress")  # fmt: skip
    assert res.exit_code == 0, res.output
    out = tmp_path / "real.html"
    res = invoke("report", run, "--out", out, "--no-progress")
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert re.search(r"Mean landmark positions of signer a over [\d,]+ frames of 9 recordings", html)
    assert "Timeline of negative (signers a, b)" in html and "Timeline of relative (signers a, b)" in html
    assert "unknown x, y left out" in html
    assert len(images(html)) == 1 + 1 + 1 + 2 + 1  # F1, confusion, loss curves, 2 timelines, face
    assert str(real_data) in html  # provenance: the run's data folder


# ------------------------------------------------------------------------------------- browser
@pytest.mark.browser
def test_report_renders_in_headless_chromium(report, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(report[0])
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
    console, errors, requests = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri(), wait_until="load")
            imgs = page.evaluate(
                "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
            )
            toc = page.evaluate("Array.from(document.querySelectorAll('nav.toc a')).map(a => a.hash)")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(imgs) == 15 and all(complete and width > 0 for complete, width, _ in imgs), imgs
    assert not [m for m in console if m[0] == "error"], console
    assert not errors, errors
    assert all(not u.startswith(("http:", "https:")) for u in requests), requests
    assert toc == [f"#{s}" for s in SECTIONS]
    assert (tmp_path / "report.png").read_bytes().startswith(PNG)
    assert os.path.getsize(tmp_path / "report.png") > 50_000


def test_the_progress_bar_counts_the_figures_it_draws(runs, tmp_path, monkeypatch):
    """Figures drawn before (a tune run's PNGs) are not counted, and the bar never names a figure
    number beyond its own count ("figure 26 … 24/24")."""
    import gfe.progress

    report = htmlreport.build_report([runs["reproduce"], fake_tune_run(tmp_path / "tune")])
    ready = [f for f in report.figures if f.png is not None]
    todo = [f for f in report.figures if f.png is None]
    assert ready and todo and max(f.number for f in todo) > len(todo)
    seen = {"total": None, "advanced": 0, "descriptions": []}

    class Bar:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def add_task(self, description, total):
            seen["total"] = total
            return 0

        def update(self, task, description):
            seen["descriptions"].append(description)

        def advance(self, task):
            seen["advanced"] += 1

    monkeypatch.setattr(gfe.progress, "progress_bar", lambda enabled=True: Bar())
    monkeypatch.setattr(htmlreport.Figure, "render", lambda self: setattr(self, "png", PNG))
    htmlreport.render_figures(report)
    assert seen["total"] == seen["advanced"] == len(todo) == len(seen["descriptions"])
    for description, fig in zip(seen["descriptions"], todo, strict=True):
        assert fig.alt[:20] in description and not re.search(r"figure \d", description), description
