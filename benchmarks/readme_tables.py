"""Copy generated tables from run folders into README.md between marker comments.

    python benchmarks/readme_tables.py [--reproduce RUN_DIR] [--benchmark RUN_DIR] [--tune RUN_DIR ...]

Markers: <!-- BEGIN name --> … <!-- END name -->, where name is table3 (from a reproduce run),
results / winloss (from a benchmark run) or tune (from `gfe tune` run folders). Nothing in those
sections is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def replace_section(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- BEGIN {name} --> … <!-- END {name} --> markers")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def provenance(run: Path) -> str:
    info = json.loads((run / "run.json").read_text())
    return f"\n_Generated from `{run}` — command: `{info['command']}`._\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reproduce", type=Path)
    ap.add_argument("--benchmark", type=Path)
    ap.add_argument("--tune", type=Path, nargs="+", help="gfe tune run folders (evaluated ones)")
    args = ap.parse_args()
    text = README.read_text()
    if args.reproduce:
        table = (args.reproduce / "table3.md").read_text()
        table = table.split("\n", 1)[1].replace("\n## ", "\n#### ")  # drop the file's own title
        text = replace_section(text, "table3", table + provenance(args.reproduce))
    if args.benchmark:
        tables = (args.benchmark / "tables.md").read_text().replace("\n### ", "\n#### ")
        text = replace_section(
            text, "results", "#### " + tables.removeprefix("### ") + provenance(args.benchmark)
        )
        winloss = (args.benchmark / "winloss.md").read_text().split("\n", 1)[1].replace("\n## ", "\n#### ")
        text = replace_section(text, "winloss", winloss)
    if args.tune:
        text = replace_section(text, "tune", tune_table(args.tune))
    README.write_text(text)


def tune_table(runs: list[Path]) -> str:
    """Default vs tuned test F1 (mean ± std over eval seeds) per tuned study, with the search cost."""
    import pandas as pd

    from gfe.report.blocks import markdown_table
    from gfe.report.tables import mean_std

    rows, commands = [], []
    for run in runs:
        info = json.loads((run / "run.json").read_text())
        comp = pd.read_csv(run / "comparison.csv")
        per_seed = comp.groupby(["config", "seed"], sort=False)["f1"].mean()
        default, tuned = per_seed["default"], per_seed["tuned"]
        cfg, t = info["config"], info["trials"]
        states = t.get("by_state", {})
        rows.append(
            [cfg["expression"], cfg["model"], f"`{cfg['protocol']}`",
             f"{t['finished']} ({states.get('PRUNED', 0)} pruned)",
             f"{info['best']['validation_f1']:.3f}", mean_std(default), mean_std(tuned),
             f"{tuned.mean() - default.mean():+.3f}"]
        )  # fmt: skip
        first = info.get("invocations", [{}])[0]
        commands.append(f"`{first.get('command', info['command'])}`")
    table = markdown_table(
        [
            "expression",
            "model",
            "protocol",
            "trials",
            "best val. F1",
            "default test F1",
            "tuned test F1",
            "Δ",
        ],
        rows,
        align="lllrrrrr",
    )
    seeds = sorted({json.loads((r / "run.json").read_text())["config"]["eval_seeds"] for r in runs})
    return (
        table.rstrip()
        + f"\n\nTest F1 is the mean ± std over {', '.join(map(str, seeds))} training seeds of the benchmark's own "
        "cell code; validation F1 is the search objective (training frames only).\n\n"
        + "_Generated from: "
        + "; ".join(commands)
        + "._\n"
    )


if __name__ == "__main__":
    main()
