"""Regenerate docs/report-screenshot.png: the top of a `gfe report` page in headless Chromium.

gfe report runs/reproduce-default runs/benchmark-default runs/tune/* --out report.html
python benchmarks/report_screenshot.py report.html [--out docs/report-screenshot.png] [--height 2200]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("report", type=Path)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "report-screenshot.png"
    )
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1800)
    ap.add_argument("--section", default=None, help="scroll to this section id first, e.g. timelines")
    args = ap.parse_args()
    chromium = os.environ.get("GFE_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(args.report.resolve().as_uri(), wait_until="load")
            if args.section:
                page.evaluate("id => document.getElementById(id).scrollIntoView()", args.section)
            page.screenshot(path=str(args.out))
        finally:
            browser.close()
    print(f"written {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
