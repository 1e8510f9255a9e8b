"""Report blocks rendered as Markdown: text that came from run folders is made inert (issue #14)."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
from typer.testing import CliRunner

from gfe.cli import app
from gfe.report.blocks import Code, Heading, Paragraph, Table, md_text, to_markdown

runner = CliRunner()
SCRIPT = "<script>alert(1)</script>"


def test_html_in_text_is_escaped_outside_code_spans():
    assert md_text(f"model {SCRIPT} & co") == "model &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
    assert md_text(f"run `{SCRIPT}`") == f"run `{SCRIPT}`"  # a code span shows it as text already
    assert "<script>" not in md_text(f"`a`{SCRIPT}`b`")  # a name holding backticks cannot break out


def test_blocks_render_inert_markdown():
    text = to_markdown(
        [Heading(SCRIPT, 2), Paragraph(SCRIPT), Table(["model", "f1"], [[SCRIPT, "0.5"], ["a|b", "1"]]),
         Code(f"gfe benchmark ``` {SCRIPT}")]
    )  # fmt: skip
    outside_code = text.split("````")[0]
    assert "<script>" not in outside_code and outside_code.count("&lt;script&gt;") == 3
    assert "| a\\|b | 1 |" in text  # a | in a cell does not split the row
    assert "````\ngfe benchmark ``` <script>" in text  # the fence is longer than any run of backticks in it


def test_the_markdown_report_carries_no_live_html(synthetic_data, tmp_path):
    out = tmp_path / "b"
    res = runner.invoke(app, ["benchmark", "--data-dir", str(synthetic_data), "--models", "logreg", "--protocols",
                              "chrono", "--expressions", "topics", "--seeds", "1", "--jobs", "1", "--no-progress",
                              "--out", str(out)], catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    run = tmp_path / "evil"
    shutil.copytree(out, run)
    for path in [run / "results.csv", *(run / "predictions").glob("*.csv.gz")]:
        df = pd.read_csv(path)
        df["model"] = SCRIPT
        df.to_csv(path, index=False)
    info = json.loads((run / "run.json").read_text())
    info["started"] = SCRIPT
    (run / "run.json").write_text(json.dumps(info))
    res = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "r.html"), "--title", SCRIPT,
                              "--no-progress"], catch_exceptions=False)  # fmt: skip
    assert res.exit_code == 0, res.output
    md = (tmp_path / "r.md").read_text()
    prose = re.sub(r"(`+)(.+?)\1", "", re.sub(r"(?ms)^(`{3,})\n.*?^\1$", "", md))  # code is shown as is
    assert "<script" not in prose and "&lt;script&gt;" in prose
    assert "<script>alert" not in (tmp_path / "r.html").read_text()
