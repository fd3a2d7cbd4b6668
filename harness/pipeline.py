"""The four stages wired together: predict → measure → score (→ render, in :mod:`.leaderboard`).

Each stage talks to the others only through the store, so each can be rerun on its own, and
``run`` computes only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TheorybenchError
from .measure import Measurements, MeasureReport, load_measurements, measure
from .paths import Paths
from .plugins import LoadedPredictor, load_predictors
from .predict import (
    PredictionRecord,
    predict_benchmark,
    prediction_key,
    problems_of,
    record_from_stored,
)
from .scoring import Score, score_benchmark
from .spec import Benchmark, load_benchmarks
from .store import Store, StoreChain

__all__ = ["Results", "Session"]


@dataclass
class Results:
    """Everything known about some benchmark tiers: forecasts, measurements and scores."""

    benchmarks: list[Benchmark]
    predictions: dict[str, dict[str, list[PredictionRecord]]] = field(default_factory=dict)
    measurements: dict[str, Measurements] = field(default_factory=dict)
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)
    measure_report: MeasureReport | None = None

    def all_scores(self) -> list[Score]:
        return [score for b in self.benchmarks for score in self.scores.get(b.id, {}).values()]


class Session:
    """One command's view of the project: its benchmarks at a tier, predictors and stores.

    Args:
        root: the project root.
        tier: ``smoke``, ``default`` or ``full``.
        benchmark_ids: restrict to these benchmarks (default: all).
        predictor_refs: restrict to these predictors (names or ``file.py:Class``); the benchmarks'
            baselines are always added, since skill is measured against them.
        device: ``cpu`` or ``cuda``.
        publish: write to the committed results (``leaderboard/results``) instead of the local store.
        use_published: read the committed results.
        use_local: read the local store (the leaderboard reads only the committed results).
        store: the local store folder (default ``.theorybench/store`` or ``$THEORYBENCH_STORE``).
    """

    def __init__(
        self,
        root: str | Path,
        tier: str = "default",
        *,
        benchmark_ids: Sequence[str] | None = None,
        predictor_refs: Sequence[str] | None = None,
        device: str = "cpu",
        engine: str = "torch",
        publish: bool = False,
        use_published: bool = True,
        use_local: bool = True,
        store: str | Path | None = None,
        workers: int | None = None,
        strict_env: bool = False,
    ) -> None:
        self.paths = Paths(root)
        self.tier = tier
        self.device = device
        self.engine = engine
        self.workers = workers
        self.strict_env = strict_env
        from .plugins import available_predictors

        known = set(available_predictors())
        everything = load_benchmarks(self.paths.benchmarks, tier, known_predictors=known)
        if benchmark_ids:
            by_id = {b.id: b for b in everything}
            unknown = [b for b in benchmark_ids if b not in by_id]
            if unknown:
                from .registry import did_you_mean

                raise TheorybenchError(
                    f"unknown benchmark {unknown[0]!r}{did_you_mean(unknown[0], by_id)}; known: {', '.join(sorted(by_id))}"
                )
            everything = [by_id[b] for b in benchmark_ids]
        self.benchmarks: list[Benchmark] = everything
        refs = list(predictor_refs or [])
        if refs:
            names = {r for r in refs if ".py" not in r}
            refs += sorted({b.baseline for b in self.benchmarks} - names)
        self.predictors: list[LoadedPredictor] = load_predictors(refs or None)
        local = Store(store or self.paths.local_store, writable=use_local)
        published = Store(self.paths.published, writable=publish)
        write_to = published if publish or not use_local else local
        stores = [
            s for s, used in ((local, use_local), (published, use_published or publish)) if used
        ]
        self.stores = StoreChain(stores, write_to, promote=publish)

    # stages -----------------------------------------------------------------------------------
    def predict(
        self,
        results: Results | None = None,
        on_point: Callable[[PredictionRecord], None] | None = None,
    ) -> Results:
        results = results or Results(self.benchmarks)
        for benchmark in self.benchmarks:
            per = results.predictions.setdefault(benchmark.id, {})
            for loaded in self.predictors:
                records = predict_benchmark(loaded, benchmark, self.stores, on_point=on_point)
                if records:
                    per[loaded.name] = records
        return results

    def measure(
        self,
        results: Results | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> Results:
        results = results or Results(self.benchmarks)
        results.measure_report = measure(
            self.benchmarks,
            self.stores,
            engine=self.engine,
            device=self.device,
            workers=self.workers,
            strict_env=self.strict_env,
            on_progress=on_progress,
        )
        return results

    def load(self, results: Results | None = None) -> Results:
        """Read stored forecasts and measurements; computes nothing."""
        results = results or Results(self.benchmarks)
        for benchmark in self.benchmarks:
            per = results.predictions.setdefault(benchmark.id, {})
            problems = problems_of(benchmark)
            for loaded in self.predictors:
                if benchmark.target.quantity not in loaded.info.quantities:
                    continue
                stored = [
                    self.stores.read_prediction(prediction_key(loaded, benchmark, p))
                    for p in problems
                ]
                per[loaded.name] = [
                    record_from_stored(loaded.name, i, s)
                    for i, s in enumerate(stored)
                    if s is not None
                ]
            results.measurements[benchmark.id] = load_measurements(
                benchmark,
                self.stores,
                engine=self.engine,
                device=self.device,
                strict_env=self.strict_env,
            )
        return results

    def score(self, results: Results) -> Results:
        for benchmark in self.benchmarks:
            measurements = results.measurements.get(benchmark.id)
            if measurements is None:
                measurements = results.measurements[benchmark.id] = load_measurements(
                    benchmark,
                    self.stores,
                    engine=self.engine,
                    device=self.device,
                    strict_env=self.strict_env,
                )
            results.scores[benchmark.id] = score_benchmark(
                benchmark, measurements, results.predictions.get(benchmark.id, {})
            )
        return results

    def run(
        self,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_point: Callable[[PredictionRecord], None] | None = None,
    ) -> Results:
        """Predict, measure what is missing, and score."""
        results = self.predict(on_point=on_point)
        self.measure(results, on_progress=on_progress)
        results.measurements.clear()
        return self.score(results)
