"""Results → reports: tables and figures of run folders, and the self-contained HTML report."""

from gfe.report.artifacts import render_run
from gfe.report.html import make_report

__all__ = ["make_report", "render_run"]
