"""Headless Chromium renders the committed leaderboard/index.html (``tox -e html`` only).

Skipped unless ``THEORYBENCH_SCREENSHOT`` names the PNG to write (the html env sets it) and
chromium is installed (``python scripts/screenshot.py --install`` installs Debian's package as
root), so ``tox -e py`` and CI never need a browser.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO

TARGET = os.environ.get("THEORYBENCH_SCREENSHOT")


def _script():
    spec = importlib.util.spec_from_file_location("screenshot", REPO / "scripts" / "screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not TARGET, reason="set THEORYBENCH_SCREENSHOT=FILE.png (tox -e html)")
def test_chromium_renders_the_board() -> None:
    script = _script()
    chromium = script.find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (python scripts/screenshot.py --install, as root)")
    out = script.screenshot(REPO / "leaderboard" / "index.html", Path(TARGET), chromium=chromium)
    assert script.png_size(out) == script.SIZE
    import matplotlib.image

    pixels = np.asarray(matplotlib.image.imread(out))[..., :3]
    ink = pixels.min(axis=-1) < 0.6
    assert ink.mean() > 0.02, "the screenshot is (nearly) blank"
    # text at the top (the title and the predictors table) and a figure further down
    assert ink[:400].mean() > 0.01
    colourful = (pixels.max(axis=-1) - pixels.min(axis=-1)) > 0.3
    assert colourful[800:].mean() > 0.001, "no coloured plot lines below the tables"
    print(f"screenshot: {out}")
