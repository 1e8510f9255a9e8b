"""`--help` and the messages a new user reads first: complete sentences at 80 columns, model and
protocol names listed, flags that take no value shown as such, tunable models only."""

from __future__ import annotations

import inspect
import itertools
import re

import pytest
import typer
from typer.testing import CliRunner

from gfe.cli import app
from gfe.models import model_names
from gfe.protocols import PROTOCOLS

runner = CliRunner()


def help_text(*command: str, columns: int = 80) -> str:
    res = runner.invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def commands(group=None, prefix=()):
    """(name path, click command) of every command of the CLI."""
    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def panel_rows(text: str, title: str) -> dict[str, tuple[int, list[str]]]:
    """Each row of a help panel ("╭─ Commands ─…"): (the column its description starts at, the
    description's lines, without the borders)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title} "))
    rows: dict[str, tuple[int, list[str]]] = {}
    current = None
    for line in lines[start + 1 :]:
        if line.startswith("╰"):
            break
        m = re.match(r"│ (\S+)(\s{2,})(.*?)\s*│$", line)
        if m:
            current = m.group(1)
            rows[current] = (m.start(3), [m.group(3)])
        elif current and line.strip("│ "):
            rows[current][1].append(line.strip("│ "))
    return rows


def first_paragraph(cmd) -> str:
    return " ".join(inspect.cleandoc(cmd.help or "").split("\n\n")[0].split())


def test_top_level_help_is_complete_sentences_at_80_columns():
    text = help_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    intro = " ".join(text.split("╭─")[0].split("Usage: ")[1].split("\n", 1)[1].split())
    assert intro == " ".join(app.info.help.split()) and intro.endswith(".")
    rows = panel_rows(text, "Commands")
    group = typer.main.get_command(app)
    assert set(rows) == set(group.commands)
    for name, (column, lines) in rows.items():
        shown = " ".join(lines)
        assert shown == first_paragraph(group.commands[name]) and shown.endswith("."), name
        # no line broken early: the next line's first word would not have fitted on it
        room = 80 - 2 - column  # the panel's right border and the space before it
        for line, following in itertools.pairwise(lines):
            assert len(line) + 1 + len(following.split()[0]) > room, (name, line)


@pytest.mark.parametrize("path", [p for p, _ in commands()], ids=" ".join)
def test_every_command_explains_itself_in_one_sentence_and_flags_take_no_value(path):
    cmd = dict(commands())[path]
    summary = first_paragraph(cmd)
    assert summary.endswith(".") and len(summary) < 160, summary
    text = help_text(*path, columns=200)
    typed_bools = [line for line in text.splitlines() if "<bool>" in line and "--help" not in line]
    assert not typed_bools, "a flag takes no value; its help must not show <bool>"
    for param in cmd.params:
        if getattr(param, "is_flag", False) and param.name != "help":
            assert re.search(rf"{re.escape(param.opts[0])}\s", text), param.opts


def test_a_flag_is_written_without_a_value():
    res = runner.invoke(app, ["data", "download", "--quiet", "true"])
    assert res.exit_code == 2 and "unexpected extra argument" in res.output.lower()


def test_benchmark_help_lists_every_model_and_protocol():
    text = help_text("benchmark", columns=250)
    models = re.search(r"--models .*", text).group(0)
    for name in model_names():
        assert re.search(rf"\b{re.escape(name)}\b", models), name
    protocols = re.search(r"--protocols .*", text).group(0)
    for name in PROTOCOLS:
        assert re.search(rf"\b{re.escape(name)}\b", protocols), name


def test_tune_lists_only_models_it_can_tune():
    from gfe.experiments.tune import search_space, tunable_models

    for model in ("random-forest", "svm"):
        res = runner.invoke(app, ["tune", "--expression", "topics", "--model", model])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        listed = res.output.split("tunable models: ")[1].strip().split(", ")
        assert listed == tunable_models() and model not in listed
        for name in listed:  # every model offered has a search space
            assert search_space(name).search
    untunable = set(model_names()) - set(tunable_models())
    assert {"random-forest", "mlp-pruned"} <= untunable
    model_help = re.search(r"--model .*", help_text("tune", columns=250)).group(0)
    assert all(re.search(rf"\b{m}\b", model_help) for m in tunable_models())
    assert not any(re.search(rf"[ ,:]{re.escape(m)}[,.]", model_help) for m in untunable)
