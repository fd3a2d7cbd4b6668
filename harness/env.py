"""Versions and the machine description recorded with every measurement.

``MEASURE_VERSION`` is part of every measurement key: bump it whenever a change to the harness
changes measured numbers (data generation, initialization, training loop, observables). The golden
test ``tests/test_golden.py`` re-measures committed smoke results and fails, bit for bit, when a
change does so without a bump.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from functools import cache
from typing import Any

__all__ = ["MEASURE_VERSION", "harness_version", "machine"]

MEASURE_VERSION = 1


@cache
def harness_version() -> str:
    try:
        return importlib.metadata.version("theorybench")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "0+source"


@cache
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What ran a measurement (no host name)."""
    import numpy

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "platform": f"{sys.platform}-{platform.machine()}",
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "harness": harness_version(),
    }
