#!/usr/bin/env python3
"""Opens report pages in headless Chromium (Debian `chromium`), saves screenshots, and checks that every
image on each page loaded and that no local link or image reference is broken.

Usage: scripts/check_report_pages.py REPORT_DIR [PAGE ...] [--screenshots DIR]
Pages default to index.html and the first class page it links to. Exit code 0 when all is well;
otherwise the problems are printed, one per line. Python standard library only.
"""
import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path


class References(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images = [], []

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "img" and attributes.get("src"):
            self.images.append(attributes["src"])


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(arguments, timeout=120):
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
            "--hide-scrollbars", "--virtual-time-budget=15000"]
    return subprocess.run(base + arguments, capture_output=True, text=True, timeout=timeout)


def check_page(page, screenshots):
    problems = []
    parser = References()
    parser.feed(page.read_text(encoding="utf-8"))
    for reference in parser.links + parser.images:
        parsed = urllib.parse.urlparse(reference)
        if parsed.scheme or reference.startswith("#"):
            continue
        target = (page.parent / urllib.parse.unquote(parsed.path)).resolve()
        if not target.exists():
            problems.append(f"{page.name}: broken reference {reference}")
    # Load the page in an iframe of a wrapper that reports, once everything loaded, which images
    # have no pixels.
    with tempfile.TemporaryDirectory() as scratch:
        wrapper = Path(scratch) / "wrapper.html"
        wrapper.write_text(f"""<!DOCTYPE html><html><body>
<iframe id="page" src="{page.resolve().as_uri()}" style="width:1280px;height:1200px"></iframe>
<script>
document.getElementById('page').onload = function () {{
  var images = this.contentDocument.images, broken = [];
  for (var i = 0; i < images.length; i++) {{
    if (!(images[i].complete && images[i].naturalWidth > 0)) broken.push(images[i].getAttribute('src'));
  }}
  document.body.setAttribute('data-result', JSON.stringify({{images: images.length, broken: broken}}));
}};
</script></body></html>""")
        dump = run_chromium(["--dump-dom", wrapper.as_uri()])
        match = re.search(r"data-result=\"([^\"]*)\"", dump.stdout)
        if not match:
            problems.append(f"{page.name}: Chromium did not report on the page ({dump.stderr.strip()[-200:]})")
        else:
            result = json.loads(html.unescape(match.group(1)))
            problems += [f"{page.name}: image did not load: {source}" for source in result["broken"]]
            print(f"{page.name}: {result['images']} images, {len(result['broken'])} not loaded")
    if screenshots:
        screenshots.mkdir(parents=True, exist_ok=True)
        shot = screenshots / (page.stem + ".png")
        run_chromium([f"--screenshot={shot}", "--window-size=1280,1600", page.resolve().as_uri()])
        if not shot.exists() or shot.stat().st_size == 0:
            problems.append(f"{page.name}: no screenshot")
        else:
            print(f"screenshot: {shot}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("pages", nargs="*")
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    if not chromium():
        print("chromium is not installed (apt-get install chromium)")
        return 2
    report = Path(args.report)
    pages = [report / p for p in args.pages] or [report / "index.html"]
    if not args.pages:
        index = References()
        index.feed((report / "index.html").read_text(encoding="utf-8"))
        first = next((link for link in index.links if link.endswith(".html")), None)
        if first:
            pages.append(report / first)
    problems = []
    for page in pages:
        problems += check_page(page, Path(args.screenshots) if args.screenshots else None)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
