"""docs/guarantees.md names the test behind each promise: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "guarantees.md"


def test_every_test_the_guarantees_name_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", DOC.read_text())
    assert len(named) >= 40
    missing = []
    for path, name in named:
        file = REPO / path
        functions = (
            {n.name for n in ast.walk(ast.parse(file.read_text())) if isinstance(n, ast.FunctionDef)}
            if file.is_file()
            else set()
        )
        if name not in functions:
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/guarantees.md names tests that do not exist: {missing}"
