"""Report blocks: headings, paragraphs, notes, code, tables, figures — data first, rendered twice.

Tables and text are built as these blocks (:mod:`gfe.report.tables` makes them from results), then
rendered to Markdown (:func:`to_markdown`, the run folders' ``.md`` files and ``report.md``) and to
HTML (the Jinja2 templates of :mod:`gfe.report.html`). Nothing is parsed back from Markdown.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def md_text(text: str) -> str:
    """Text for Markdown with HTML made inert: ``&``, ``<`` and ``>`` become entities outside code
    spans (inside them a renderer shows them as they are), so a ``<script>`` that came from a run
    folder (a model name, a command) is shown, never run, wherever the Markdown is rendered."""
    out, last = [], 0
    text = str(text)
    for m in _CODE_SPAN.finditer(text):
        out += [html.escape(text[last : m.start()], quote=False), m.group(0)]
        last = m.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def md_cell(text: str) -> str:
    """A Markdown table cell: :func:`md_text`, with ``|`` and line breaks that would end the cell escaped."""
    return md_text(str(text)).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


@dataclass
class Heading:
    text: str
    level: int
    kind: str = "heading"


@dataclass
class Paragraph:
    text: str
    kind: str = "paragraph"


@dataclass
class Note:
    """Something the reader should know (a missing file, a skipped figure)."""

    text: str
    kind: str = "note"


@dataclass
class Code:
    text: str
    kind: str = "code"


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    align: str | None = None
    kind: str = "table"

    @property
    def markdown(self) -> str:
        return markdown_table(self.header, self.rows, self.align)

    @property
    def alignments(self) -> list[str]:
        align = self.align or "l" + "r" * (len(self.header) - 1)
        return ["right" if a == "r" else "left" for a in align]


@dataclass
class Figure:
    caption: str
    alt: str
    make: Callable[[], bytes] | None = None  # draws the PNG (None when ``png`` is given)
    png: bytes | None = None
    number: int = 0
    kind: str = "figure"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png or b"").decode("ascii")

    def render(self) -> None:
        if self.png is None and self.make is not None:
            self.png = self.make()


@dataclass
class Details:
    """Blocks shown folded (HTML ``<details>``): long configurations, checksums."""

    summary: str
    blocks: list
    kind: str = "details"


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)


def md_code(text: str) -> str:
    """A fenced code block that the text cannot close early (its fence is longer than any run of
    backticks in it): whatever a run folder's command holds stays inside the block."""
    runs = [len(m) for m in re.findall(r"`+", str(text))]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}\n{text}\n{fence}\n"


def walk(blocks: Iterable) -> Iterable:
    """Every block, folded ones (:class:`Details`) included."""
    for b in blocks:
        yield b
        if isinstance(b, Details):
            yield from walk(b.blocks)


def to_markdown(blocks: Iterable) -> str:
    """Headings, paragraphs, notes, code and tables as Markdown (figures are left out)."""
    parts = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"{'#' * b.level} {md_text(b.text)}\n")
        elif isinstance(b, Paragraph | Note):
            parts.append(f"{md_text(b.text)}\n")
        elif isinstance(b, Code):
            parts.append(md_code(b.text))
        elif isinstance(b, Table):
            parts.append(b.markdown)
        elif isinstance(b, Details):
            parts.append(to_markdown(b.blocks))
    return "\n".join(parts)
