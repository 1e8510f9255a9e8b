"""The README works as written.

1. Its first line's `gfe` command (`.venv/bin/gfe reproduce`) succeeds on a fresh machine without
   network access: no $GFE_DATA_DIR, an empty per-user cache, no way to download anything.
2. Its tour runs: the ```bash blocks marked by a line ``<!-- tour -->`` just above them are run
   in order, as written, in a temporary folder, and each command must exit 0 and create what its
   trailing ``# → path, path`` comment lists.

The tour's convention (the README follows it):

- a tour block is a ```bash fenced block whose opening fence is the line right after a line
  ``<!-- tour -->``;
- in it, every non-empty line that does not start with ``#`` is one shell command; a line ending
  in ``\\`` continues on the next line;
- a trailing comment ``# → path1, path2`` lists the files or folders the command must create,
  relative to the working folder;
- commands may use ``$DATA``: the real dataset's folder (``$GFE_DATA_DIR`` is set to it too).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TOUR_MARK = "<!-- tour -->"
BIN = Path(sys.executable).parent  # the virtual environment's bin folder, with `gfe` in it
TIMEOUT = float(os.environ.get("GFE_TOUR_TIMEOUT", 3600))  # seconds per command

_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_CREATES = re.compile(r"^#\s*(?:→|->)\s*(?P<paths>.*?)\s*$")


# ------------------------------------------------------------------------------------ the parser
@dataclass
class TourCommand:
    command: str  # what bash runs (the `# → …` comment removed, continuation lines joined)
    creates: list[str] = field(default_factory=list)
    line: int = 0  # the README line it starts on (1-based)


def fenced_blocks(text: str) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """(line of the opening fence, info string, [(line number, line)]) of every fenced block."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start, body = m.group("fence"), i + 1, []
        i += 1
        while i < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[i]):
            body.append((i + 1, lines[i]))
            i += 1
        if i == len(lines):
            raise ValueError(f"README line {start}: the fenced block opened here is never closed")
        blocks.append((start, m.group("info"), body))
        i += 1
    return blocks


def _logical_lines(body: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join continuation lines (ending in a backslash); drop blank lines and comment lines."""
    out, pending, first = [], [], 0
    for number, raw in body:
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not pending:
            first = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line.strip())
        out.append((first, " ".join(p for p in pending if p)))
        pending = []
    if pending:
        raise ValueError(f"README line {first}: the command continues (\\) past the end of its block")
    return out


def comment_start(text: str) -> int | None:
    """Where the shell comment of a command line starts: the first ``#`` outside quotes (and not
    escaped) that begins a word; None without one."""
    quote, i = None, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "'":
            i += 2
            continue
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return i
        i += 1
    return None


def parse_command(line: int, text: str) -> TourCommand:
    """One command; a trailing ``# → path, path`` comment says what it creates (and is removed)."""
    at = comment_start(text)
    m = _CREATES.match(text[at:]) if at is not None else None
    if not m:
        return TourCommand(text, [], line)
    paths = [p.strip().strip("`'\"") for p in m.group("paths").split(",")]
    return TourCommand(text[:at].rstrip(), [p for p in paths if p], line)


def tour_blocks(text: str) -> list[list[TourCommand]]:
    """The commands of every tour block, in order. A tour mark that is not followed at once by a
    ```bash block is an error (so that a block is never skipped silently)."""
    lines = text.splitlines()
    openings = {start: (info, body) for start, info, body in fenced_blocks(text)}
    tour = []
    for i, line in enumerate(lines):
        if line.strip() != TOUR_MARK:
            continue
        block = openings.get(i + 2)  # the fence must be the very next line (1-based numbers)
        if block is None or block[0] not in ("bash", "sh", "shell"):
            raise ValueError(f"README line {i + 1}: {TOUR_MARK} must be followed on the next line by ```bash")
        tour.append([parse_command(n, t) for n, t in _logical_lines(block[1])])
    return tour


def first_gfe_command(text: str) -> str:
    """The `gfe` command of the README's first line (the first ```bash block's first line): the
    part after ``.venv/bin/`` of its `.venv/bin/gfe …` step."""
    start, _, body = next(b for b in fenced_blocks(text) if b[1] == "bash")
    first = next(line for _, line in body if line.strip())
    steps = [s.strip() for s in first.split("&&")]
    step = next((s for s in steps if ".venv/bin/gfe" in s), None)
    if step is None:
        raise ValueError(f"README line {start + 1}: no `.venv/bin/gfe …` step in {first!r}")
    return step.split(".venv/bin/", 1)[1]


# ------------------------------------------------------------------------------------ running
def environment(tmp: Path, data: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GFE_DATA_DIR"}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg", COLUMNS="100",
               XDG_CACHE_HOME=str(tmp / "cache"))  # fmt: skip
    if data is not None:
        env.update(DATA=str(data), GFE_DATA_DIR=str(data))
    return env


def run(command: str, cwd: Path, env: dict[str, str], line: int) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"README line {line}: `{command}` did not finish within {TIMEOUT:g} s")
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-6000:]
        pytest.fail(f"README line {line}: `{command}` exited {done.returncode}; its output:\n{output}")
    return done


def walk(blocks: list[list[TourCommand]], work: Path, env: dict[str, str]) -> None:
    """Run every command in ``work``, in order; fail at the first that exits non-zero or does not
    create what it lists."""
    for command in [c for block in blocks for c in block]:
        run(command.command, work, env, command.line)
        missing = [p for p in command.creates if not (work / os.path.expandvars(p)).exists()]
        if missing:
            pytest.fail(
                f"README line {command.line}: `{command.command}` did not create {', '.join(missing)}"
            )


def workspace(tmp_path: Path) -> Path:
    """An empty working folder; `.venv` in it is the running virtual environment, so that a
    command written `.venv/bin/gfe …` works there as in a checkout."""
    work = tmp_path / "work"
    work.mkdir()
    if sys.prefix != sys.base_prefix:
        (work / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return work


# ------------------------------------------------------------------------ the parser's own test
MADE_UP = """# A tool

```bash
gfe not-in-the-tour
```

Some text.

<!-- tour -->
```bash
# a comment line, and a blank line

gfe reproduce --out runs/r --seeds 1   # → runs/r/table3.md, runs/r/run.json
gfe benchmark --data-dir "$DATA" \\
    --models logreg \\
    --out runs/b        # → runs/b
echo "no # → here" > x.txt
gfe report runs/r runs/b --out report.html  # makes the report → report.html
```

<!-- tour -->
```bash
gfe data check   # -> `cache`
```
"""


def test_the_tour_parser_on_a_made_up_readme():
    blocks = tour_blocks(MADE_UP)
    assert len(blocks) == 2
    first, second = blocks
    assert [c.command for c in first] == [
        "gfe reproduce --out runs/r --seeds 1",
        'gfe benchmark --data-dir "$DATA" --models logreg --out runs/b',
        'echo "no # → here" > x.txt',
        "gfe report runs/r runs/b --out report.html  # makes the report → report.html",
    ]
    assert [c.creates for c in first] == [["runs/r/table3.md", "runs/r/run.json"], ["runs/b"], [], []]
    assert [c.line for c in first] == [13, 14, 17, 18]
    assert second[0].command == "gfe data check" and second[0].creates == ["cache"]
    assert (
        first_gfe_command("```bash\npython -m venv .venv && .venv/bin/gfe reproduce\n```\n")
        == "gfe reproduce"
    )
    assert tour_blocks("no tour here\n```bash\ngfe x\n```\n") == []
    with pytest.raises(ValueError, match=r"line 1: <!-- tour --> must be followed on the next line"):
        tour_blocks("<!-- tour -->\n\n```bash\ngfe x\n```\n")
    with pytest.raises(ValueError, match="never closed"):
        tour_blocks("<!-- tour -->\n```bash\ngfe x\n")
    with pytest.raises(ValueError, match="continues"):
        tour_blocks("<!-- tour -->\n```bash\ngfe x \\\n```\n")
    assert parse_command(1, 'echo "a \\" # b" \\# c # → y').creates == ["y"]
    assert parse_command(1, "echo 'it''s # not' # → z, ").creates == ["z"]


def test_the_walk_runs_commands_in_order_and_stops_at_the_first_failure(tmp_path):
    tour = tour_blocks(
        '<!-- tour -->\n```bash\nmkdir -p out && echo "$DATA" > out/data.txt  # → out/data.txt, out\n'
        "cat out/data.txt   # → out/data.txt\n```\n"
    )
    work = workspace(tmp_path)
    walk(tour, work, environment(tmp_path, tmp_path / "the-data"))
    assert (work / "out" / "data.txt").read_text().strip() == str(tmp_path / "the-data")
    failing = tour_blocks("<!-- tour -->\n```bash\necho one\nls missing-file\ntouch never\n```\n")
    with pytest.raises(
        pytest.fail.Exception, match=r"README line 4: `ls missing-file` exited 2; its output:\n.*missing-file"
    ):
        walk(failing, work, environment(tmp_path, None))
    assert not (work / "never").exists()
    lying = tour_blocks("<!-- tour -->\n```bash\ntrue  # → promised.txt\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"`true` did not create promised\.txt"):
        walk(lying, work, environment(tmp_path, None))


# ------------------------------------------------------------------------------ the README itself
def test_the_readme_walks(real_data, tmp_path):
    """Every command of the README's tour, in order, as written: exit 0, and what it says it writes
    is there. Stops at the first failure, with the command and its output."""
    assert (BIN / "gfe").is_file(), f"no gfe beside {sys.executable}: pip install -e '.[test]'"
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert blocks, (
        f"README.md has no tour: expected ```bash blocks, each right after a line {TOUR_MARK}, with the "
        "commands a new user runs in order (see the convention in tests/test_readme.py)"
    )
    walk(blocks, workspace(tmp_path), environment(tmp_path, real_data))


def test_the_readme_first_line_works_offline_from_a_fresh_clone(tmp_path):
    """`gfe reproduce`, as the README's first line runs it, with no $GFE_DATA_DIR, an empty cache
    and no network (downloads point at a closed port): it unpacks the bundled copy and runs."""
    command = first_gfe_command(README.read_text(encoding="utf-8"))
    assert command.startswith("gfe "), command
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    work = workspace(tmp_path)
    env = environment(tmp_path, None)
    env["GFE_DATA_URL"] = f"http://127.0.0.1:{port}/no-network.zip"
    done = run(command, work, env, line=0)
    assert "unpacking the copy of UCI's dataset bundled with gfe" in done.stderr
    assert (tmp_path / "cache" / "gfe" / "uci-gfe" / "BUNDLED-COPY.txt").is_file()
    tables = list((work / "runs").glob("*/table3.md"))
    assert len(tables) == 1 and done.stdout.strip() == tables[0].read_text().strip()
    shutil.rmtree(work / "runs")
