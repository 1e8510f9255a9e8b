"""The report's figures: legends stay inside the figure; tuned configurations read readably."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gfe import EXPRESSIONS
from gfe.report import figures as figs
from gfe.report.published import published_for


@pytest.fixture
def drawn(monkeypatch):
    """Every figure a drawing function makes, drawn (layout done) just before it becomes a PNG, with
    the renderer that drew it (to measure its parts)."""
    out = []
    to_png = figs.to_png

    def keep(fig):
        fig.canvas.draw()
        fig.gfe_test_renderer = fig.canvas.get_renderer()
        out.append(fig)
        return to_png(fig)

    monkeypatch.setattr(figs, "to_png", keep)
    return out


def scores(models, expressions) -> pd.DataFrame:
    rows = [{"model": m, "expression": e, "mean": 0.8 + 0.01 * i, "std": 0.02}
            for i, m in enumerate(models) for e in expressions]  # fmt: skip
    return pd.DataFrame(rows)


def inside(box, figure_box) -> bool:
    return (box.x0 >= figure_box.x0 - 0.5 and box.x1 <= figure_box.x1 + 0.5
            and box.y0 >= figure_box.y0 - 0.5 and box.y1 <= figure_box.y1 + 0.5)  # fmt: skip


def legend_texts(fig) -> list[str]:
    legends = [*fig.legends, *[ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


@pytest.mark.parametrize(
    "n_expressions, models, protocol",
    [
        (2, ["paper-lstm", "mlp", "mlp-pruned"], "paper"),  # the clipped case: 3 models, 4 anchors
        (1, ["mlp"], "paper-holdout"),
        (2, ["logreg", "extra-trees", "seq-lstm", "gru", "tcn", "seq-lstm@topics-seq-lstm-chrono"], "paper"),
        (9, ["paper-lstm", "mlp"], "chrono"),
    ],
)
def test_f1_bars_legend_lies_inside_the_figure(drawn, n_expressions, models, protocol):
    png = figs.f1_bars(scores(models, EXPRESSIONS[:n_expressions]), published_for(protocol), "F1 — x")
    assert png.startswith(b"\x89PNG")
    (fig,) = drawn
    renderer = fig.gfe_test_renderer
    legend = fig.axes[0].get_legend()
    assert legend is not None and len(legend.get_texts()) == len(models) + len(published_for(protocol))
    assert inside(legend.get_window_extent(renderer), fig.bbox)
    title = fig._suptitle.get_window_extent(renderer)  # the title is not hidden by the legend
    assert inside(title, fig.bbox) and not title.overlaps(legend.get_window_extent(renderer))


def test_a_tuned_configuration_reads_as_tuned_in_legends_and_titles(drawn):
    tuned = "seq-lstm@topics-seq-lstm-chrono"
    label = "seq-lstm (tuned: topics-seq-lstm-chrono)"
    figs.f1_bars(scores(["seq-lstm", tuned], ["topics"]), {}, "F1")
    figs.confusion_matrices({"seq-lstm": (5, 1, 2, 4), tuned: (6, 0, 1, 5)}, "confusion")
    frames = pd.DataFrame(
        [{"signer": "a", "model": m, "frame": f, "split": "test" if f > 5 else "train", "label": f % 2,
          "prob": float(np.clip(0.1 * f, 0, 1))} for m in ("seq-lstm", tuned) for f in range(12)]
    )  # fmt: skip
    figs.timeline(frames, ["seq-lstm", tuned], 0.5, "timeline")
    bars, confusion, timeline = drawn
    assert legend_texts(bars) == ["seq-lstm", label]
    assert [ax.get_title() for ax in confusion.axes if ax.get_visible()] == ["seq-lstm", label]
    assert label in legend_texts(timeline) and tuned not in legend_texts(timeline)
    strip_labels = [t.get_text() for ax in timeline.axes for t in ax.get_yticklabels()]
    assert label in strip_labels
    # the same colour for a name in every figure, and another one for the tuned configuration
    assert figs.model_colour(tuned, ["seq-lstm", tuned]) != figs.model_colour("seq-lstm", ["seq-lstm", tuned])
