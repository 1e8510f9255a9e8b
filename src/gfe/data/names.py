"""Names of the dataset: expressions, signers and the UCI file names of a recording."""

from __future__ import annotations

from collections.abc import Sequence

from gfe import EXPRESSIONS, SIGNERS
from gfe.errors import DataError


def check_expression(name: str) -> str:
    """Return ``name`` if it is one of the nine expressions, else raise a clear error."""
    if name not in EXPRESSIONS:
        raise DataError(f"unknown expression {name!r}; choose one of: {', '.join(EXPRESSIONS)}")
    return name


def check_signer(name: str) -> str:
    if name not in SIGNERS:
        raise DataError(f"unknown signer {name!r}; choose one of: {', '.join(SIGNERS)}")
    return name


def parse_names(value: str | Sequence[str] | None, known: Sequence[str], what: str) -> list[str]:
    """Parse a comma-separated CLI value (or a list) into known names; ``None``/'all' → all."""
    if value is None:
        return list(known)
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [s.strip() for s in items if s.strip()]
    if items == ["all"] or not items:
        return list(known)
    unknown = [s for s in items if s not in known]
    if unknown:
        raise DataError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from: {', '.join(known)}")
    return items


def datapoints_name(signer: str, expression: str) -> str:
    return f"{signer}_{expression}_datapoints.txt"


def targets_names(signer: str, expression: str) -> list[str]:
    """Accepted label-file names, UCI's own spelling first."""
    names = [f"{signer}_{expression}_targets.txt"]
    if expression == "doubt_question":
        names.insert(0 if signer == "a" else 1, f"{signer}_doubts_question_targets.txt")
    return names
