"""Published numbers the seed paper compares against (its Table 3: F1 of the positive class).

These are public facts quoted for comparison only; nothing in gfe is tuned to them.
Source: Y. Xu, "Implement Long Short-Term Memory Recurrent Neural Network on Grammatical Facial
Expression Recognition" (ANU), Table 3. Protocol as coded: signers pooled, frames shuffled, 80/20.
"""

from __future__ import annotations

import math

NAN = math.nan

# expression: (Freitas et al. MLP, seed paper LSTM, seed paper's earlier 1-hidden-layer MLP)
TABLE3: dict[str, tuple[float, float, float]] = {
    "affirmative": (0.8773, 0.9022, 0.8979),
    "conditional": (0.9534, 0.8784, 0.9470),
    "doubt_question": (0.9700, 0.9416, 0.9411),
    "emphasis": (NAN, 0.8696, 0.9338),
    "negative": (0.9582, 0.8816, 0.8939),
    "relative": (0.9759, 0.9339, 0.9634),
    "topics": (0.9544, 0.9246, 0.9665),
    "wh_question": (0.8988, 0.9211, 0.9320),
    "yn_question": (0.9412, 0.9222, 0.9343),
}
TABLE3_AVERAGE = (0.9412, 0.9084, 0.9344)  # as printed in the paper
TABLE3_COLUMNS = ("Freitas et al. MLP", "paper LSTM", "paper's earlier MLP")

# Bhuvan et al. 2016 (TENSYMP), best of ten Weka classifiers per cell, both signers pooled,
# frames shuffled and split 50/25/25 (the raw timestamp was one of the inputs).
BHUVAN_POOLED: dict[str, float] = {
    "affirmative": 0.8987,
    "conditional": 0.9272,
    "doubt_question": 0.9289,
    "emphasis": 0.9325,
    "negative": 0.9091,
    "relative": 0.9461,
    "topics": 0.8741,
    "wh_question": 0.9251,
    "yn_question": 0.9226,
}


def published_for(protocol: str) -> dict[str, dict[str, float]]:
    """Published per-expression F1 whose protocol matches ours (random frame splits ≈ `paper`).
    No public work reports a chronological or cross-signer result, so the others get none."""
    if protocol != "paper":
        return {}
    cols = {name: {e: v[i] for e, v in TABLE3.items()} for i, name in enumerate(TABLE3_COLUMNS)}
    cols["Bhuvan et al. (pooled)"] = dict(BHUVAN_POOLED)
    return cols
