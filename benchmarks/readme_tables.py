"""Copy generated tables from run folders into README.md between marker comments.

    python benchmarks/readme_tables.py [--reproduce RUN_DIR] [--benchmark RUN_DIR]

Markers: <!-- BEGIN name --> … <!-- END name -->, where name is table3 (from a reproduce run) or
results / winloss (from a benchmark run). Nothing in those sections is typed by hand.
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
    README.write_text(text)


if __name__ == "__main__":
    main()
