"""The report's figures, drawn with matplotlib (Agg) and returned as PNG bytes.

Every function takes tidy data (already aggregated by :mod:`gfe.report.html`) and returns the PNG of
one figure; nothing is written to disk. Widths are the same everywhere (:data:`WIDTH` inches at
:data:`DPI`), so the figures line up in the report.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gfe.features import ANGLE_TRIPLES, DISTANCE_PAIRS

WIDTH = 12.0  # inches; at DPI this is the report's figure width in pixels
DPI = 100
# Models declare their colour (gfe.models.Tags); other names get the OTHER_COLOURS in turn.
OTHER_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d")
ANCHOR_STYLES = (("#bdbdbd", "//"), ("#969696", "\\\\"), ("#737373", "xx"), ("#525252", ".."))
SPLIT_COLOURS = {"train": "#dfe7f2", "val": "#fbe9b7", "test": "#ffffff", "unused": "#f6d5d5"}
SPLIT_CODES = tuple(SPLIT_COLOURS)

# Outlines of the 100 landmarks in the UCI layout (0–7 and 8–15 the eyes, 16–25 and 26–35 the
# eyebrows, 36–47 the nose, 48–59 and 60–67 the lips, 68–86 the face contour, 90–99 the lines above
# the eyebrows; 87, 88 the irises, 89 the nose tip), to draw a recognisable face: (landmarks, closed).
FACE_OUTLINES: tuple[tuple[range, bool], ...] = (
    (range(0, 8), True), (range(8, 16), True), (range(16, 26), True), (range(26, 36), True),
    (range(36, 48), False), (range(48, 60), True), (range(60, 68), True), (range(68, 87), False),
    (range(90, 95), False), (range(95, 100), False),
)  # fmt: skip


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plain_text():
    """A matplotlib context in which every text is drawn as given: no ``$…$`` mathtext, no TeX.
    Model names, study names and titles come from run folders; one like ``$\\frac`` must be
    shown, not parsed (and fail)."""
    import matplotlib

    return matplotlib.rc_context({"text.parse_math": False, "text.usetex": False})


def to_png(fig) -> bytes:
    """Render ``fig`` to PNG bytes in memory and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    pyplot().close(fig)
    return buf.getvalue()


def model_colour(model: str, models: Sequence[str] = ()) -> str:
    """The same colour for a model in every figure (the one its class declares); ``models``: the
    figure's names, for those without one (configurations ``MODEL@NAME`` and unknown names)."""
    from gfe.models import model_colour as declared

    if "@" not in model and (colour := declared(model)) is not None:
        return colour
    others = [m for m in dict.fromkeys(models) if "@" in m or declared(m) is None]
    i = others.index(model) if model in others else len(others)
    return OTHER_COLOURS[i % len(OTHER_COLOURS)]


def shown(model: str) -> str:
    """A model's name in a legend or panel title ("seq-lstm (tuned: NAME)" for ``seq-lstm@NAME``)."""
    from gfe.models import display_name

    return display_name(model)


def pretty(expression: str) -> str:
    return expression.replace("_", " ")


# ------------------------------------------------------------------------------------ loss curves
def loss_curves(losses: pd.DataFrame, title: str) -> bytes:
    """Small multiples, one panel per expression: train and test loss per epoch, mean over seeds
    (and folds) with the min–max band. ``losses``: expression, seed, fold, epoch, train/test_loss."""
    plt = pyplot()
    expressions = list(dict.fromkeys(losses["expression"]))
    ncols = min(3, len(expressions))
    nrows = math.ceil(len(expressions) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH, 2.4 * nrows + 0.7), squeeze=False, sharex=True)
    for ax, expression in zip(axes.flat, expressions, strict=False):
        sub = losses[losses["expression"] == expression]
        for col, colour, label in (("train_loss", "tab:blue", "train"), ("test_loss", "tab:orange", "test")):
            curves = sub.pivot_table(index="epoch", columns=["seed", "fold"], values=col)
            epochs = curves.index.to_numpy()
            ax.plot(epochs, curves.mean(axis=1), color=colour, label=label)
            ax.fill_between(epochs, curves.min(axis=1), curves.max(axis=1), color=colour, alpha=0.2, lw=0)
        ax.set_title(pretty(expression), fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(expressions) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("cross-entropy")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return to_png(fig)


def loss_curves_by_protocol(losses: pd.DataFrame, title: str) -> bytes:
    """One model on one expression: a panel per protocol with train and test loss per epoch (the
    paper's Figs. 3–4), mean over seeds (and folds) with the min–max band."""
    plt = pyplot()
    protocols = list(dict.fromkeys(losses["protocol"]))
    fig, axes = plt.subplots(1, len(protocols), figsize=(5 * len(protocols), 3.6), squeeze=False)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        sub = losses[losses["protocol"] == protocol]
        for col, colour, label in (("train_loss", "tab:blue", "train"), ("test_loss", "tab:orange", "test")):
            curves = sub.pivot_table(index="epoch", columns=["seed", "fold"], values=col)
            epochs = curves.index.to_numpy()
            ax.plot(epochs, curves.mean(axis=1), color=colour, label=label)
            ax.fill_between(epochs, curves.min(axis=1), curves.max(axis=1), color=colour, alpha=0.2)
        ax.set_title(f"{protocol}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return to_png(fig)


# ------------------------------------------------------------------------------- F1 grouped bars
def f1_bars(scores: pd.DataFrame, anchors: Mapping[str, Mapping[str, float]], title: str) -> bytes:
    """Grouped bars per expression: our models (mean F1, error bar = std over seeds) and the
    published anchors of the same protocol (hatched grey, no error bars).

    ``scores``: columns model, expression, mean, std (one row per model and expression).
    """
    plt = pyplot()
    expressions = list(dict.fromkeys(scores["expression"]))
    models = list(dict.fromkeys(scores["model"]))
    series = [(m, "model") for m in models] + [(a, "anchor") for a in anchors]
    width = 0.85 / max(1, len(series))
    inches = min(WIDTH, 3.0 + len(expressions) * (0.35 * len(series) + 0.3))  # few bars: a narrower figure
    fig, ax = plt.subplots(figsize=(inches, 4.4), layout="constrained")
    x = np.arange(len(expressions))
    lows = []
    for i, (name, kind) in enumerate(series):
        pos = x - 0.425 + width * (i + 0.5)
        if kind == "model":
            sub = scores[scores["model"] == name].set_index("expression").reindex(expressions)
            heights, err = sub["mean"].to_numpy(float), sub["std"].fillna(0).to_numpy(float)
            style = {"color": model_colour(name, models), "yerr": err, "capsize": 2, "ecolor": "#333333"}
        else:
            heights = np.array([anchors[name].get(e, np.nan) for e in expressions], dtype=float)
            colour, hatch = ANCHOR_STYLES[(i - len(models)) % len(ANCHOR_STYLES)]
            style = {"color": colour, "hatch": hatch, "edgecolor": "white", "linewidth": 0}
        ax.bar(pos, np.nan_to_num(heights), width, label=shown(name) if kind == "model" else name, **style)
        lows.append(np.nanmin(heights) if np.isfinite(heights).any() else 1.0)
    bottom = max(0.0, math.floor((min(lows) - 0.05) * 10) / 10)
    ax.set_ylim(bottom, 1.0)
    ax.set_xticks(x, [pretty(e) for e in expressions])
    ax.set_ylabel("F1 (positive class)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.suptitle(title, fontsize=11)
    _legend_above(fig, ax, max_cols=7)
    return to_png(fig)


def _legend_above(fig, ax, max_cols: int) -> None:
    """The axes' legend above them, inside the figure: in one row when the figure can be widened
    (up to :data:`WIDTH`) to hold it, else in as few rows as fit; the layout (constrained) makes
    room for it under the title."""
    handles, labels = ax.get_legend_handles_labels()
    renderer = fig.canvas.get_renderer()
    margin = 0.3  # inches left free beside the legend
    for ncols in range(min(len(handles), max_cols), 0, -1):
        legend = ax.legend(
            handles, labels, ncols=ncols, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.01)
        )
        needed = legend.get_window_extent(renderer).width / fig.dpi + margin
        if needed <= fig.get_figwidth() or ncols == 1:
            return
        if needed <= WIDTH:
            fig.set_figwidth(needed)
            return
        legend.remove()


# --------------------------------------------------------------------------- confusion matrices
def confusion_matrices(counts: Mapping[str, Sequence[int]], title: str) -> bytes:
    """One 2×2 matrix per model from summed (tn, fp, fn, tp): colour and number = share of the
    true class (rows sum to 1), the frame count below it."""
    plt = pyplot()
    models = list(counts)
    ncols = min(6, len(models))
    nrows = math.ceil(len(models) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH, 2.5 * nrows + 0.6), squeeze=False)
    for ax, model in zip(axes.flat, models, strict=False):
        tn, fp, fn, tp = (int(v) for v in counts[model])
        matrix = np.array([[tn, fp], [fn, tp]], dtype=float)
        share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for (r, c), v in np.ndenumerate(share):
            ax.text(c, r, f"{v:.2f}\n({int(matrix[r, c]):,})", ha="center", va="center",
                    fontsize=8, color="white" if v > 0.6 else "black")  # fmt: skip
        ax.set_xticks([0, 1], ["0", "1"])
        ax.set_yticks([0, 1], ["0", "1"])
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
        ax.set_title(shown(model), fontsize=9)
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return to_png(fig)


# ------------------------------------------------------------------------------------- timelines
def _runs(mask: np.ndarray, frames: np.ndarray) -> list[tuple[float, float]]:
    """(start, width) of every run of True in ``mask`` (frames consecutive)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(frames[s] - 0.5, frames[e - 1] - frames[s] + 1) for s, e in zip(starts, ends, strict=True)]


def _gapped(frames: np.ndarray, values: np.ndarray, max_gap: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Insert nan where consecutive frames are more than ``max_gap`` apart, so a line breaks there."""
    if len(frames) < 2:
        return frames.astype(float), values
    cut = np.flatnonzero(np.diff(frames) > max_gap) + 1
    return np.insert(frames.astype(float), cut, np.nan), np.insert(values.astype(float), cut, np.nan)


def _shade_splits(ax, split: np.ndarray, frames: np.ndarray) -> None:
    codes = np.array([SPLIT_CODES.index(s) for s in split])[None, :]
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(list(SPLIT_COLOURS.values()))
    ax.imshow(codes, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(SPLIT_CODES) - 0.5,
              extent=(frames[0] - 0.5, frames[-1] + 0.5, -0.05, 1.05), interpolation="nearest", zorder=0)  # fmt: skip


def _test_window(rec: pd.DataFrame, context: float = 0.15) -> tuple[float, float]:
    """Frames to show: the test frames and, before them, ``context`` of their span (the whole
    recording when every frame is tested or the test frames are spread over it)."""
    frames = rec["frame"].to_numpy()
    tested = frames[(rec["split"] == "test").to_numpy()]
    if not len(tested):
        return frames.min() - 0.5, frames.max() + 0.5
    lo, hi = tested.min(), tested.max()
    lo = max(frames.min(), lo - context * (hi - lo + 1))
    return lo - 0.5, hi + 0.5


def _timeline_rows(ax_p, ax_s, rec: pd.DataFrame, models: Sequence[str], threshold: float) -> None:
    """Top axis: truth (grey fill) and each model's probability on test frames; bottom axis: truth
    and each model's predicted segments (probability ≥ threshold, test frames only)."""
    first = rec[rec["model"] == models[0]].sort_values("frame")
    frames = first["frame"].to_numpy()
    split = rec.groupby("frame")["split"].agg(_combined_split).reindex(frames).to_numpy()
    _shade_splits(ax_p, split, frames)
    ax_p.fill_between(frames, 0, first["label"].to_numpy(), step="mid", color="#555555", alpha=0.25,
                      lw=0, label="ground truth", zorder=1)  # fmt: skip
    ax_p.axhline(threshold, color="#444444", lw=0.7, ls="--", zorder=2)
    rows = [("truth", _runs(first["label"].to_numpy() == 1, frames), "#444444")]
    for model in models:
        m = rec[rec["model"] == model].sort_values("frame")
        test = (m["split"] == "test").to_numpy()
        colour = model_colour(model, models)
        xs, ys = _gapped(m["frame"].to_numpy()[test], m["prob"].to_numpy()[test])
        ax_p.plot(xs, ys, color=colour, lw=0.9, label=shown(model), zorder=3)
        positive = test & (m["prob"].to_numpy() >= threshold)
        rows.append((shown(model), _runs(positive, m["frame"].to_numpy()), colour))
    for i, (_, runs, colour) in enumerate(rows):
        ax_s.broken_barh(runs, (len(rows) - 1 - i + 0.15, 0.7), color=colour)
    ax_s.set_yticks(np.arange(len(rows)) + 0.5, [r[0] for r in reversed(rows)], fontsize=7)
    ax_s.set_ylim(0, len(rows))
    ax_p.set_ylim(-0.05, 1.05)
    ax_p.set_xlim(*_test_window(rec))
    ax_p.set_ylabel("probability", fontsize=8)
    ax_s.set_xlabel("frame", fontsize=8)


def _combined_split(values: pd.Series) -> str:
    """A frame's part of the fold over models: test, else validation if any model used it."""
    present = set(values)
    return next((s for s in ("test", "val", "train") if s in present), "unused")


def timeline(frames: pd.DataFrame, models: Sequence[str], threshold: float, title: str) -> bytes:
    """One recording per row pair (signers of one expression), zoomed to its test frames.
    ``frames``: signer, model, frame, split, label, prob — one row per model and frame (from the
    fold in which the frame was tested)."""
    plt = pyplot()
    signers = sorted(set(frames["signer"]))
    strip, gap = 0.26 * (len(models) + 1), 0.45
    ratios = [r for _ in signers for r in (gap, 1.7, strip)][1:]  # a gap row between recordings
    height = sum(ratios) + 0.9
    fig, axes = plt.subplots(len(ratios), 1, figsize=(WIDTH, height), squeeze=False,
                             gridspec_kw={"height_ratios": ratios, "hspace": 0.06})  # fmt: skip
    axes = [None, *axes[:, 0]]  # so that signer i's axes are 3i+1 and 3i+2; 3i is its gap row
    for i, signer in enumerate(signers):
        if axes[3 * i] is not None:
            axes[3 * i].set_visible(False)
        ax_p, ax_s = axes[3 * i + 1], axes[3 * i + 2]
        ax_s.sharex(ax_p)
        rec = frames[frames["signer"] == signer]
        _timeline_rows(ax_p, ax_s, rec, models, threshold)
        tested = "" if (rec["split"] == "test").any() else ", none of them tested"
        ax_p.set_title(f"signer {signer} ({rec['frame'].nunique():,} frames{tested})", fontsize=9, loc="left")
        ax_p.tick_params(labelbottom=False)
    axes[1].legend(*_legend_handles(models), ncols=len(models) + 5, fontsize=7, loc="lower right",
                   bbox_to_anchor=(1.0, 1.0), frameon=False)  # fmt: skip
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    fig.subplots_adjust(left=0.09, right=0.99, top=1 - 0.7 / height, bottom=0.45 / height)
    return to_png(fig)


def _legend_handles(models: Sequence[str]):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color="#555555", alpha=0.25, label="ground truth")]
    handles += [Line2D([], [], color=model_colour(m, models), label=shown(m)) for m in models]
    handles += [Patch(facecolor=c, edgecolor="#999999", label=s) for s, c in SPLIT_COLOURS.items()]
    return handles, [h.get_label() for h in handles]


# ---------------------------------------------------------------------------------- landmark face
def _face_points(ax, xy: np.ndarray) -> None:
    """The mean face: outlines and every landmark in grey, Table 1's landmarks black and numbered."""
    for idx, closed in FACE_OUTLINES:
        pts = xy[[*idx, idx[0]] if closed else list(idx)]
        ax.plot(pts[:, 0], pts[:, 1], color="#c8c8c8", lw=0.8, zorder=1)
    ax.scatter(xy[:, 0], xy[:, 1], s=5, color="#a0a0a0", zorder=1)
    used = sorted({i for pair in DISTANCE_PAIRS for i in pair} | {i for t in ANGLE_TRIPLES for i in t})
    ax.scatter(xy[used, 0], xy[used, 1], s=16, color="black", zorder=3)
    for i in used:
        ax.annotate(str(i), xy[i], xytext=(3, 3), textcoords="offset points", fontsize=7, color="#333333")
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_yticks([])


class _Placer:
    """Puts each label at the first candidate point not too close to the labels already placed."""

    def __init__(self, min_dist: float):
        self.min_dist, self.placed = min_dist, []

    def place(self, candidates: list[np.ndarray]) -> np.ndarray:
        def clearance(p):
            return min((float(np.hypot(*(p - q))) for q in self.placed), default=math.inf)

        best = next((c for c in candidates if clearance(c) >= self.min_dist), None)
        best = max(candidates, key=clearance) if best is None else best
        self.placed.append(best)
        return best


def _label(ax, at: np.ndarray, text: str, colour) -> None:
    ax.annotate(text, at, ha="center", va="center", fontsize=8, color=colour, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": colour, "lw": 0.6, "alpha": 0.9},
                zorder=5)  # fmt: skip


def _distances(ax, xy: np.ndarray, placer: _Placer) -> None:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    for k, (a, b) in enumerate(DISTANCE_PAIRS):
        colour = cmap(k % 10)
        ax.plot(*xy[[a, b]].T, color=colour, lw=1.8, zorder=2)
        at = placer.place([xy[a] + t * (xy[b] - xy[a]) for t in (0.5, 0.35, 0.65, 0.22, 0.78)])
        _label(ax, at, f"D{k + 1}", colour)


def _angles(ax, xy: np.ndarray, radius: float, placer: _Placer) -> None:
    import matplotlib
    from matplotlib.patches import Arc

    cmap = matplotlib.colormaps["Dark2"]
    for k, (a, m, b) in enumerate(ANGLE_TRIPLES):
        colour = cmap(k % 8)
        ax.plot(*xy[[a, m, b]].T, color=colour, lw=1.3, zorder=2)
        t1, t2 = (math.degrees(math.atan2(*(xy[p] - xy[m])[::-1])) for p in (a, b))
        if (t2 - t1) % 360 > 180:
            t1, t2 = t2, t1
        ax.add_patch(Arc(xy[m], 2 * radius, 2 * radius, theta1=t1, theta2=t2, color=colour, lw=2, zorder=4))
        mid = math.radians(t1 + ((t2 - t1) % 360) / 2)
        direction = np.array([math.cos(mid), math.sin(mid)])
        at = placer.place([xy[m] + f * radius * direction for f in (2.0, 3.0, 4.2, 5.4)])
        _label(ax, at, f"A{k + 1}", colour)


def landmark_face(xy: np.ndarray, title: str) -> bytes:
    """The mean face (x, y in pixels, y downward) twice: with the 11 distances D1–D11 of the
    paper's Table 1, and with the 7 angles A1–A7 (cosine of the angle at the middle landmark)."""
    plt = pyplot()
    fig, (ax_d, ax_a) = plt.subplots(1, 2, figsize=(WIDTH, 6.2))
    span = float(np.nanmax(xy[:, 0]) - np.nanmin(xy[:, 0]))
    for ax, name in ((ax_d, "11 distances D1–D11"), (ax_a, "7 angles A1–A7 (cosine at the middle landmark)")):
        _face_points(ax, xy)
        ax.set_title(name, fontsize=10)
    _distances(ax_d, xy, _Placer(span * 0.06))
    _angles(ax_a, xy, span * 0.035, _Placer(span * 0.06))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return to_png(fig)
