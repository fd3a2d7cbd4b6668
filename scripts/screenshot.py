"""Render leaderboard/index.html with headless Chromium to a PNG screenshot.

    python scripts/screenshot.py [--html leaderboard/index.html] [--out leaderboard.png]
    python scripts/screenshot.py --install      # install Debian's chromium if absent (root only)

Used by ``tox -e html`` (tests/test_html_screenshot.py). Chromium is Debian's ``chromium`` package:
``--install`` runs ``apt-get install -y chromium`` when it is missing and this is root, and
otherwise says how to install it and exits 0, so the env skips rather than fails on a machine
without it. The browser runs with networking, sync and component updates off and a throwaway
profile: the page must render from local files alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SIZE = (1400, 3000)


def find_chromium() -> str | None:
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def install() -> str | None:
    """Install Debian's chromium when absent and root; returns its path or None (with a message)."""
    found = find_chromium()
    if found:
        print(f"chromium: {found}")
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        print(
            "skip: chromium is not installed and this is not root on Debian; "
            "install it with `sudo apt-get install chromium` to run the screenshot test"
        )
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=True, env=env)
    return find_chromium()


def png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def screenshot(
    html: Path, out: Path, size: tuple[int, int] = SIZE, chromium: str | None = None
) -> Path:
    """Render ``html`` to ``out`` at ``size`` (width, height) pixels; raises if it did not work."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(
            "chromium is not installed (python scripts/screenshot.py --install)"
        )
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    with tempfile.TemporaryDirectory(prefix="theorybench-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size={size[0]},{size[1]}",
            html.resolve().as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    if not out.exists():
        raise RuntimeError(
            f"chromium wrote no screenshot (exit {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "leaderboard" / "index.html")
    parser.add_argument("--out", type=Path, default=Path("leaderboard-screenshot.png"))
    parser.add_argument("--width", type=int, default=SIZE[0])
    parser.add_argument("--height", type=int, default=SIZE[1])
    parser.add_argument(
        "--install", action="store_true", help="only make sure chromium is installed (root)"
    )
    args = parser.parse_args(argv)
    if args.install:
        install()
        return 0
    path = screenshot(args.html, args.out, (args.width, args.height))
    print(f"wrote {path} ({'×'.join(map(str, png_size(path)))} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
