"""Expression names: the spelling the tables print ("wh question") is accepted wherever a name is
parsed, like wh_question and wh-question, and the canonical form is what is stored and printed."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from gfe import EXPRESSIONS, SIGNERS
from gfe.cli import app
from gfe.data import check_expression, parse_names
from gfe.errors import DataError


@pytest.mark.parametrize(
    "spelling", ["wh_question", "wh-question", "wh question", "WH Question", " wh  question "]
)
def test_every_spelling_of_an_expression_is_its_canonical_name(spelling):
    assert check_expression(spelling) == "wh_question"
    assert parse_names(spelling, EXPRESSIONS, "expression") == ["wh_question"]


def test_parse_names_keeps_order_drops_repeats_and_still_refuses_unknown_names():
    value = "yn question, wh-question,wh_question, doubt question"
    assert parse_names(value, EXPRESSIONS, "expression") == ["yn_question", "wh_question", "doubt_question"]
    assert parse_names("all", EXPRESSIONS, "expression") == list(EXPRESSIONS)
    assert parse_names("A", SIGNERS, "signer") == ["a"]
    with pytest.raises(DataError, match=r"unknown expression 'wh'; choose from: affirmative"):
        parse_names("wh", EXPRESSIONS, "expression")
    with pytest.raises(DataError, match=r"unknown expression 'whquestion'; choose one of: affirmative"):
        check_expression("whquestion")
    assert parse_names("seq_lstm, paper lstm", ["paper-lstm", "seq-lstm"], "model") == [
        "seq-lstm",
        "paper-lstm",
    ]


def test_table_3_spelling_works_on_the_command_line(tmp_path, synthetic_data):
    out = tmp_path / "run"
    args = ["reproduce", "--data-dir", str(synthetic_data), "--out", str(out), "--seeds", "1", "--epochs", "1",
            "--expressions", "wh question,yn-question", "--models", "mlp", "--protocols", "paper", "--no-progress"]  # fmt: skip
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(out / "results.csv")["expression"]) == {"wh_question", "yn_question"}
    assert json.loads((out / "run.json").read_text())["config"]["expressions"] == [
        "wh_question",
        "yn_question",
    ]
    assert "| wh question |" in res.stdout  # and the table prints what the command line accepts


def test_bundles_take_any_spelling_too(tmp_path, synthetic_data):
    from gfe.deploy import load_bundles
    from gfe.deploy.training import train_bundle

    bundle = train_bundle(synthetic_data, "wh question", "mlp", params={"epochs": 1})
    assert bundle.expression == "wh_question"
    bundle.save(tmp_path / "all" / "wh")
    assert [b.expression for b in load_bundles(tmp_path / "all", "wh-question")] == ["wh_question"]
    assert load_bundles(tmp_path / "all" / "wh", "WH question")[0].expression == "wh_question"
