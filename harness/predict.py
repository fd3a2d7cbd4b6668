"""Running predictors safely: each in a child process with a time budget per forecast.

A predictor that raises, returns NaN, returns the wrong shape, returns something that is not a
forecast, or runs past the benchmark's ``budget.predict_seconds`` is recorded as an ``error`` for
that point; the run goes on with the next point and the next predictor. Forecasts are cached in
the store under (benchmark, problem key, predictor name, version, code hash), so a predictor is
re-run exactly when its code, its version or the problem changed. Time-outs are not cached (they
depend on the machine).

On platforms without ``fork`` the predictor runs in-process: an over-budget forecast is still
recorded as an error, but only after it returns.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .plugins import LoadedPredictor
from .predictor import Abstain, Forecast, Problem
from .spec import Benchmark
from .store import StoreChain, decode_array

__all__ = [
    "PredictionRecord",
    "predict_benchmark",
    "prediction_key",
    "problems_of",
    "record_from_stored",
]


@dataclass(frozen=True)
class PredictionRecord:
    """One predictor's outcome at one sweep point.

    Attributes:
        point: the index of the forecast unit (a sweep point, or a group of a derived target).
        status: ``ok`` (a forecast), ``abstain`` (not applicable here) or ``error``.
        mean / std: the forecast (``std`` optional), shaped like the target.
        message: the abstention reason, the error, or the forecast's notes.
    """

    predictor: str
    point: int
    status: str
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    message: str = ""
    seconds: float = 0.0
    cached: bool = False


def problems_of(benchmark: Benchmark) -> list[Problem]:
    """One problem per forecast unit: per sweep point, or per group of a derived target."""
    return [Problem.from_unit(benchmark, unit) for unit in benchmark.units]


def prediction_key(
    loaded: LoadedPredictor, benchmark: Benchmark, problem: Problem
) -> dict[str, Any]:
    return {
        "benchmark": benchmark.id,
        "problem": problem.key,
        "predictor": loaded.info.name,
        "predictor_version": loaded.info.version,
        "code_hash": loaded.code_hash,
    }


def _describe_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _one_blas_thread() -> Any:
    """A context limiting BLAS to one thread (a no-op without threadpoolctl, a scikit-learn
    dependency). Forecasts run one at a time, and on a shared machine BLAS's spin-waiting threads
    made dense eigendecompositions 3–20× slower than one thread (measured here)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _raw_forecast(predictor: Any, problem: Problem) -> tuple[str, Any, Any, str]:
    """Call the predictor; returns ``(kind, mean, std, text)`` with plain numpy arrays (picklable)."""
    try:
        with _one_blas_thread():
            out = predictor.predict(problem)
    except Exception as exc:
        return ("error", None, None, _describe_error(exc))
    if isinstance(out, Abstain):
        return ("abstain", None, None, str(out.reason))
    if isinstance(out, Forecast):
        mean, std, notes = out.mean, out.std, out.notes
    elif isinstance(out, (int, float, np.ndarray, list, tuple)):
        mean, std, notes = out, None, ""
    else:
        return (
            "error",
            None,
            None,
            f"predict() returned {type(out).__name__}, not a Forecast or an Abstain",
        )
    try:
        mean = np.asarray(mean, dtype=np.float64)
        std = None if std is None else np.asarray(std, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return ("error", None, None, f"forecast is not numeric: {exc}")
    return ("ok", mean, std, str(notes))


def _check_forecast(
    raw: tuple[str, Any, Any, str], shape: tuple[int, ...]
) -> tuple[str, Any, Any, str]:
    kind, mean, std, _ = raw
    if kind != "ok":
        return raw
    if mean.shape != shape:
        return (
            "error",
            None,
            None,
            f"forecast has shape {mean.shape}, the target has shape {shape}",
        )
    if np.isnan(mean).any():
        return (
            "error",
            None,
            None,
            f"forecast contains NaN at {np.argwhere(np.isnan(mean))[:3].tolist()}",
        )
    if std is not None:
        if std.shape != shape:
            return (
                "error",
                None,
                None,
                f"forecast std has shape {std.shape}, the target has shape {shape}",
            )
        if np.isnan(std).any() or (std < 0).any():
            return ("error", None, None, "forecast std must be >= 0 and not NaN")
    return raw


def _child(
    conn: Any, predictor: Any, problems: Sequence[Problem]
) -> None:  # pragma: no cover - runs in a child
    for i, problem in enumerate(problems):
        start = time.perf_counter()
        raw = _raw_forecast(predictor, problem)
        try:
            conn.send((i, raw, time.perf_counter() - start))
        except Exception as exc:
            conn.send(
                (
                    i,
                    ("error", None, None, f"forecast cannot be sent back: {exc}"),
                    time.perf_counter() - start,
                )
            )
    conn.close()


def _run_isolated(
    predictor: Any, problems: Sequence[Problem], budget: float
) -> list[tuple[tuple[str, Any, Any, str], float, bool]]:
    """Forecast every problem in child processes; a problem that exceeds ``budget`` seconds is an error."""
    out: list[Any] = [None] * len(problems)
    pending = list(range(len(problems)))
    context = multiprocessing.get_context("fork")
    while pending:
        parent, child = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(child, predictor, [problems[i] for i in pending]), daemon=True
        )
        process.start()
        child.close()
        remaining = list(pending)
        pending = []
        for position, index in enumerate(remaining):
            if parent.poll(budget):
                try:
                    _, raw, seconds = parent.recv()
                except EOFError:
                    process.join(1)
                    out[index] = (
                        (
                            "error",
                            None,
                            None,
                            f"the predictor's process died (exit code {process.exitcode})",
                        ),
                        0.0,
                        True,
                    )
                    pending = remaining[position + 1 :]
                    break
                out[index] = (raw, seconds, True)
            else:
                process.kill()
                out[index] = (
                    ("error", None, None, f"exceeded the time budget of {budget:g} s"),
                    budget,
                    False,
                )
                pending = remaining[position + 1 :]
                break
        process.join(5)
        parent.close()
    return out


def _run_inline(
    predictor: Any, problems: Sequence[Problem], budget: float
) -> list[tuple[tuple[str, Any, Any, str], float, bool]]:
    out = []
    for problem in problems:
        start = time.perf_counter()
        raw = _raw_forecast(predictor, problem)
        seconds = time.perf_counter() - start
        if seconds > budget:
            out.append(
                (
                    (
                        "error",
                        None,
                        None,
                        f"exceeded the time budget of {budget:g} s ({seconds:.1f} s)",
                    ),
                    seconds,
                    False,
                )
            )
        else:
            out.append((raw, seconds, True))
    return out


def predict_benchmark(
    loaded: LoadedPredictor,
    benchmark: Benchmark,
    stores: StoreChain | None,
    *,
    isolate: bool = True,
    on_point: Callable[[PredictionRecord], None] | None = None,
) -> list[PredictionRecord]:
    """Forecasts of one predictor at every sweep point of a benchmark (cached ones reused).

    Returns an empty list if the predictor does not forecast the benchmark's quantity.
    """
    if benchmark.target.quantity not in loaded.info.quantities:
        return []
    problems = problems_of(benchmark)
    records: list[PredictionRecord | None] = [None] * len(problems)
    todo = []
    for i, problem in enumerate(problems):
        stored = (
            stores.read_prediction(prediction_key(loaded, benchmark, problem)) if stores else None
        )
        if stored is not None:
            records[i] = record_from_stored(loaded.info.name, i, stored)
        else:
            todo.append(i)
    if todo:
        runner = (
            _run_isolated
            if isolate and "fork" in multiprocessing.get_all_start_methods()
            else _run_inline
        )
        results = runner(loaded.predictor, [problems[i] for i in todo], benchmark.budget_seconds)
        for i, (raw, seconds, cacheable) in zip(todo, results):
            kind, mean, std, text = _check_forecast(raw, tuple(problems[i].shape))
            record = PredictionRecord(loaded.info.name, i, kind, mean, std, text, seconds)
            records[i] = record
            if stores is not None and cacheable:
                stores.write_prediction(
                    prediction_key(loaded, benchmark, problems[i]),
                    {
                        "point": i,
                        "label": problems[i].label,
                        "status": kind,
                        "mean": mean,
                        "std": std,
                        "message": text,
                        "seconds": round(seconds, 4),
                    },
                )
    final = [r for r in records if r is not None]
    if on_point is not None:
        for record in final:
            on_point(record)
    return final


def record_from_stored(name: str, index: int, stored: dict[str, Any]) -> PredictionRecord:
    mean = None if stored.get("mean") is None else decode_array(stored["mean"])
    std = None if stored.get("std") is None else decode_array(stored["std"])
    return PredictionRecord(
        name,
        index,
        stored["status"],
        mean,
        std,
        stored.get("message", ""),
        stored.get("seconds", 0.0),
        cached=True,
    )
