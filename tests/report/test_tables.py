"""Result tables: a configuration of `gfe benchmark --config` (``MODEL@NAME``) reads readably."""

from __future__ import annotations

import pandas as pd

from gfe.models import display_name, model_label
from gfe.report.tables import benchmark_table, folds_table, winloss_table

TUNED = "seq-lstm@topics-seq-lstm-chrono"
LABEL = "seq-lstm (tuned: topics-seq-lstm-chrono)"


def results(protocol: str, folds=("",)) -> pd.DataFrame:
    rows = [{"protocol": protocol, "model": m, "expression": e, "seed": s, "fold": f, "f1": 0.7 + 0.05 * i + 0.01 * s}
            for i, m in enumerate(("paper-lstm", "seq-lstm", TUNED)) for e in ("topics", "negative")
            for s in range(2) for f in folds]  # fmt: skip
    return pd.DataFrame(rows)


def test_model_labels():
    assert model_label(TUNED) == LABEL and display_name(TUNED) == LABEL
    assert model_label("paper-lstm@mine") == "PaperLSTM (tuned: mine)"
    assert display_name("paper-lstm") == "paper-lstm" and model_label("paper-lstm") == "PaperLSTM"
    assert display_name("nonesuch") == "nonesuch"


def test_benchmark_folds_and_winloss_tables_name_the_tuned_configuration():
    table = benchmark_table(results("chrono"), "chrono")
    assert table.header == ["expression", "paper-lstm", "seq-lstm", LABEL]
    cross = results("cross-signer", folds=("a→b", "b→a"))
    assert [r[0] for r in folds_table(cross, "cross-signer").rows] == ["paper-lstm", "seq-lstm", LABEL]
    wins = winloss_table(results("paper"), "paper")
    assert [r[0] for r in wins.rows] == ["paper-lstm", "seq-lstm", LABEL]
    assert TUNED not in wins.markdown and LABEL in wins.markdown
