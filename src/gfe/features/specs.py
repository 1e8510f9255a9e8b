"""Feature specs: how landmarks become the 118 features. A spec's ``version`` changes whenever its
outputs would, so a bundle made with another version is refused rather than fed other numbers.

- ``paper`` reproduces the paper author's code exactly: every coordinate equal to 0 is replaced by
  1e-5 before anything is computed, distances and cosines are rounded to 4 decimals. Its output
  matches the author's published feature vectors to ~1e-12 (see tests/features/test_oracle.py).
- ``clean`` keeps full precision and treats ``z = 0`` (Kinect's lost depth) as unknown: after
  standardisation those values become 0, i.e. the fitted mean (mean imputation, done in
  :meth:`gfe.features.scaling.Standardizer.transform`, never before the statistics are fitted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gfe.errors import GfeError


@dataclass(frozen=True)
class FeatureSpec:
    """How landmarks become the 118 features. ``version`` changes whenever outputs would."""

    name: str = "paper"
    zero_fill: float | None = 1e-5  # replace coordinates equal to 0 by this before computing
    round_decimals: int | None = 4  # round distances and cosines
    zero_depth_unknown: bool = False  # treat z == 0 as unknown (mean-imputed after scaling)
    version: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


PAPER = FeatureSpec()
CLEAN = FeatureSpec(name="clean", zero_fill=None, round_decimals=None, zero_depth_unknown=True)
SPECS = {s.name: s for s in (PAPER, CLEAN)}


def spec_by_name(name: str) -> FeatureSpec:
    if name not in SPECS:
        raise GfeError(f"unknown feature spec {name!r}; choose one of: {', '.join(SPECS)}")
    return SPECS[name]
