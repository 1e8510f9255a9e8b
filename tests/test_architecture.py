"""Guard rails of the layout: data flows one way through the stages, no import cycles, no module
imports another module's private names, and no function is longer than a screen."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# The stages, upstream first: a module may import its own stage and the stages before it. Shared
# leaves (errors, outputs, progress, metrics and the package root) come first; report and deploy
# are siblings that both read results and must not import each other.
STAGES = {
    "gfe": 0, "gfe.errors": 0, "gfe.outputs": 0, "gfe.progress": 0, "gfe.metrics": 0,
    "gfe.data": 1, "gfe.features": 2, "gfe.protocols": 3, "gfe.models": 4, "gfe.experiments": 5,
    "gfe.report": 6, "gfe.deploy": 6, "gfe.cli": 7,
}  # fmt: skip
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    mods = {}
    for p in SRC.rglob("*.py"):
        name = ".".join(p.relative_to(SRC).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    return mods


MODULES = _modules()


def _imports(name: str, path: Path | str) -> list[tuple[str, str]]:
    """(imported module, imported name) for every gfe import in the module, lazy ones included."""
    out = []
    text = path if isinstance(path, str) else path.read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gfe"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.append((full, "") if full in MODULES else (node.module, alias.name))
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.startswith("gfe")]
    return [(m, n) for m, n in out if m != name]


def _stage(module: str) -> str:
    parts = module.split(".")
    return next(".".join(parts[:k]) for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in STAGES)


def test_every_module_belongs_to_a_stage():
    assert all(_stage(m) in STAGES for m in MODULES)


def test_data_flows_one_way_through_the_stages():
    wrong = []
    for m, p in MODULES.items():
        here = _stage(m)
        for target, _ in _imports(m, p):
            there = _stage(target)
            leaves = STAGES[there] == STAGES[here] == 0  # shared leaves may use each other
            upstream = STAGES[there] < STAGES[here] or there == here or leaves
            if not upstream:
                wrong.append(f"{m} imports {target} ({there} is not upstream of {here})")
    assert not wrong, "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    seen, on_path, cycles = set(), [], []

    def visit(m: str) -> None:
        if m in on_path:
            cycles.append(" -> ".join([*on_path[on_path.index(m) :], m]))
            return
        if m in seen:
            return
        seen.add(m)
        on_path.append(m)
        for t in sorted(graph.get(m, ())):
            visit(t)
        on_path.pop()

    for m in sorted(graph):
        visit(m)
    return cycles


def test_no_import_cycles():
    graph = {m: {t for t, _ in _imports(m, p) if t in MODULES} for m, p in MODULES.items()}
    cycles = _cycles(graph)
    assert not cycles, "\n".join(cycles)


def test_no_module_imports_another_modules_private_names():
    private = [
        f"{m} imports {t}.{n}"
        for m, p in MODULES.items()
        for t, n in _imports(m, p)
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not private, "\n".join(private)


def test_no_function_is_longer_than_a_screen():
    long = []
    for m, p in MODULES.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{m}.{node.name}: {n} lines")
    assert not long, "\n".join(long)


def test_the_checks_find_what_they_look_for():
    """On made-up modules: a lazy private import is seen, and so is a cycle."""
    text = "def f():\n    from gfe.data.files import _read_lines\n    import gfe.models\n"
    assert _imports("gfe.x", text) == [("gfe.data.files", "_read_lines"), ("gfe.models", "")]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _stage("gfe.cli.deploy") == "gfe.cli" and _stage("gfe.deploy.stream") == "gfe.deploy"
