"""A dependency-free progress bar on standard error.

On a terminal it redraws one line; elsewhere (CI logs) it prints a line at every 10% so logs stay
short. ``THEORYBENCH_PROGRESS=0`` silences it.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Call with ``(done, total, note)``; pass it as ``on_progress`` to :func:`harness.measure.measure`."""

    def __init__(
        self, label: str, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = os.environ.get("THEORYBENCH_PROGRESS", "1") != "0"
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self.last_decile = -1
        self.drawn = False

    def __call__(self, done: int, total: int, note: str = "") -> None:
        if not self.enabled or total <= 0:
            return
        elapsed = time.perf_counter() - self.start
        fraction = done / total
        eta = f", ~{elapsed / fraction - elapsed:.0f} s left" if 0 < fraction < 1 else ""
        if self.tty:
            width = 24
            filled = int(round(width * fraction))
            line = f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {elapsed:.0f} s{eta} {note[:40]:<40}"
            self.stream.write(line)
            self.drawn = True
            if done >= total:
                self.stream.write("\n")
                self.drawn = False
            self.stream.flush()
        else:
            decile = int(fraction * 10)
            if decile != self.last_decile or done >= total:
                self.last_decile = decile
                self.stream.write(
                    f"{self.label}: {done}/{total} seeds ({100 * fraction:.0f}%), {elapsed:.0f} s{eta}\n"
                )
                self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
