"""theorybench: benchmarks that hold deep learning theory to account.

The public façade. Predictor authors need :class:`Problem`, :class:`Forecast` and
:class:`Abstain` (and may type-check against the :class:`Predictor` protocol); tools built on the
harness use :class:`Session` (predict → measure → score) and :func:`load_benchmark`. Everything else
is internal and may change. Importing this package imports neither torch nor jax.

Example:
    >>> from harness import Session
    >>> session = Session(".", "smoke")                  # doctest: +SKIP
    >>> results = session.run()                          # doctest: +SKIP
    >>> [(s.benchmark, s.predictor, s.verdict) for s in results.all_scores()]  # doctest: +SKIP
"""

from __future__ import annotations

from .env import harness_version
from .pipeline import Results, Session
from .predictor import Abstain, Forecast, Predictor, Problem
from .scoring import Score
from .spec import Benchmark, load_benchmark, load_benchmarks

__all__ = [
    "Abstain",
    "Benchmark",
    "Forecast",
    "Predictor",
    "Problem",
    "Results",
    "Score",
    "Session",
    "__version__",
    "load_benchmark",
    "load_benchmarks",
]

__version__ = harness_version()
