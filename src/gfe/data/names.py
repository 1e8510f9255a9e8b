"""Names of the dataset: expressions, signers and the UCI file names of a recording.

A name a user types is matched to its one canonical form (``wh_question``, ``seq-lstm``) whatever
separator it is written with: ``wh_question``, ``wh-question`` and ``wh question`` (as the tables
print it) are the same expression; case does not matter. What is stored and printed afterwards is
the canonical form.
"""

from __future__ import annotations

from collections.abc import Sequence

from gfe import EXPRESSIONS, SIGNERS
from gfe.errors import DataError


def _key(name: str) -> str:
    """What two spellings of a name share: lower case, ``_``, ``-`` and spaces alike."""
    return "_".join(str(name).lower().replace("-", " ").replace("_", " ").split())


def canonical_name(name: str, known: Sequence[str]) -> str | None:
    """The name of ``known`` that ``name`` spells (``wh-question`` → ``wh_question``), else None."""
    if name in known:
        return name
    matches = [k for k in known if _key(k) == _key(name)]
    return matches[0] if len(matches) == 1 else None


def check_expression(name: str) -> str:
    """The canonical form of one of the nine expressions (``wh question`` → ``wh_question``), else
    a clear error."""
    found = canonical_name(name, EXPRESSIONS)
    if found is None:
        raise DataError(f"unknown expression {name!r}; choose one of: {', '.join(EXPRESSIONS)}")
    return found


def check_signer(name: str) -> str:
    if name not in SIGNERS:
        raise DataError(f"unknown signer {name!r}; choose one of: {', '.join(SIGNERS)}")
    return name


def parse_names(value: str | Sequence[str] | None, known: Sequence[str], what: str) -> list[str]:
    """Parse a comma-separated CLI value (or a list) into known names, each in its canonical form
    (:func:`canonical_name`); ``None``/'all' → all."""
    if value is None:
        return list(known)
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [s.strip() for s in items if s.strip()]
    if items == ["all"] or not items:
        return list(known)
    found = [canonical_name(s, known) for s in items]
    unknown = [s for s, f in zip(items, found, strict=True) if f is None]
    if unknown:
        raise DataError(f"unknown {what} {', '.join(map(repr, unknown))}; choose from: {', '.join(known)}")
    return list(dict.fromkeys(found))


def datapoints_name(signer: str, expression: str) -> str:
    return f"{signer}_{expression}_datapoints.txt"


def targets_names(signer: str, expression: str) -> list[str]:
    """Accepted label-file names, UCI's own spelling first."""
    names = [f"{signer}_{expression}_targets.txt"]
    if expression == "doubt_question":
        names.insert(0 if signer == "a" else 1, f"{signer}_doubts_question_targets.txt")
    return names
