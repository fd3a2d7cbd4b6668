"""Scoring statistics on synthetic measurements where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from harness.measure import Measurements
from harness.predict import PredictionRecord
from harness.scoring import aggregate, cell_errors, score_benchmark
from harness.spec import Benchmark, load_benchmark
from harness.stats import reduce, small_sample_factor

from .conftest import write_project


@pytest.fixture(scope="module")
def krr(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    root = write_project(tmp_path_factory.mktemp("scoring"))
    return load_benchmark(root / "benchmarks" / "solvable" / "tiny-krr.yaml")


@pytest.fixture(scope="module")
def dln(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    root = write_project(tmp_path_factory.mktemp("scoring-dln"))
    return load_benchmark(root / "benchmarks" / "solvable" / "tiny-dln.yaml")


def synthetic(
    benchmark: Benchmark, means: list[float], sd: float, seeds: int, rng: int = 0
) -> Measurements:
    """Per-seed values mean × (1 + sd·N(0,1)) for each point of a scalar benchmark."""
    generator = np.random.default_rng(rng)
    from dataclasses import replace

    benchmark = replace(benchmark, seeds=seeds)
    values = {
        p.index: (m * (1 + sd * generator.standard_normal(seeds))).reshape(seeds)
        for p, m in zip(benchmark.points, means)
    }
    return Measurements(benchmark, values, {i: 0 for i in values})


def forecast(name: str, values: list[float]) -> list[PredictionRecord]:
    return [
        PredictionRecord(name, i, "ok", np.asarray(v, dtype=float)) for i, v in enumerate(values)
    ]


def score(benchmark: Benchmark, measured: Measurements, predictions: dict) -> dict:
    return score_benchmark(measured.benchmark, measured, predictions)


def test_cell_errors() -> None:
    assert cell_errors(2.0, 1.0, "log_ratio") == pytest.approx(np.log(2))
    assert cell_errors(1.0, 2.0, "log_ratio") == pytest.approx(np.log(2))  # symmetric
    assert cell_errors(np.inf, np.inf, "log_ratio") == 0.0
    assert cell_errors(1.0, np.inf, "log_ratio") == np.inf
    assert cell_errors(-1.0, 1.0, "log_ratio") == np.inf
    assert cell_errors(0.0, 1.0, "log_ratio", floor=1.0) == pytest.approx(np.log(2))
    assert cell_errors(1.5, 1.0, "rel_error") == pytest.approx(0.5)
    assert cell_errors(1.5, 1.0, "abs_error") == pytest.approx(0.5)
    assert aggregate(np.array([0.1, 0.3]), "mean") == pytest.approx(0.2)
    assert aggregate(np.array([0.3, 0.4]), "rms") == pytest.approx(np.sqrt(0.125))


def test_statistics() -> None:
    v = np.array([[1.0, 4.0], [4.0, np.inf], [16.0, 1.0]])
    assert reduce(v, "mean")[0] == pytest.approx(7.0) and np.isinf(reduce(v, "mean")[1])
    assert list(reduce(v, "median")) == [4.0, 4.0]
    assert reduce(v[:, :1], "logmean")[0] == pytest.approx(4.0)
    assert small_sample_factor(8) == pytest.approx(np.sqrt(8 / 7) * 2.3646 / 1.95996, rel=1e-4)
    assert small_sample_factor(1000) == pytest.approx(1.0, abs=0.01)


def test_exact_predictor_passes_and_sits_at_the_noise_ceiling(krr: Benchmark) -> None:
    truth = [0.5, 0.1]
    measured = synthetic(krr, truth, sd=0.05, seeds=400)
    scores = score(
        krr,
        measured,
        {"exact": forecast("exact", truth), "no-learning": forecast("no-learning", [1.0, 1.0])},
    )
    exact = scores["exact"]
    assert exact.verdict == "pass"
    # for Gaussian noise, E|ln(ȳ/μ)| ≈ √(2/π)·sd/√S: the oracle's expected error
    expected = np.sqrt(2 / np.pi) * 0.05 / np.sqrt(400)
    assert exact.noise_ceiling == pytest.approx(expected, rel=0.2)
    assert exact.error < 4 * expected and exact.at_noise_ceiling
    assert exact.chi2_dof is not None and exact.chi2_dof < 10
    assert scores["no-learning"].verdict == "fail"
    assert exact.skill == pytest.approx(1 - exact.error / scores["no-learning"].error)


def test_wrong_predictor_fails_and_says_by_how_much(krr: Benchmark) -> None:
    measured = synthetic(krr, [0.5, 0.1], sd=0.02, seeds=20)
    scores = score(
        krr,
        measured,
        {
            "off": forecast("off", [0.5 * 2, 0.1 * 2]),
            "no-learning": forecast("no-learning", [1.0, 1.0]),
        },
    )
    off = scores["off"]
    assert off.verdict == "fail"
    assert off.error == pytest.approx(np.log(2), abs=0.02)
    assert f"> tolerance 0.5 by {off.error - 0.5:.4g}" in off.message


def test_noise_makes_a_borderline_call_inconclusive(krr: Benchmark) -> None:
    tol = krr.tolerance.value  # 0.5
    truth = [0.5, 0.1]
    measured = synthetic(krr, truth, sd=0.6, seeds=6, rng=3)
    off = [m * np.exp(tol) for m in truth]
    result = score(
        krr,
        measured,
        {"edge": forecast("edge", off), "no-learning": forecast("no-learning", [1.0, 1.0])},
    )["edge"]
    assert result.verdict == "inconclusive"
    assert "straddles" in result.message and "seeds would decide it" in result.message


def test_too_few_seeds_is_inconclusive(krr: Benchmark) -> None:
    measured = synthetic(krr, [0.5, 0.1], sd=0.01, seeds=2)
    result = score(
        krr,
        measured,
        {
            "exact": forecast("exact", [0.5, 0.1]),
            "no-learning": forecast("no-learning", [1.0, 1.0]),
        },
    )
    assert result["exact"].verdict == "inconclusive" and "at least 3" in result["exact"].message


def test_partial_abstention_and_errors(krr: Benchmark) -> None:
    measured = synthetic(krr, [0.5, 0.1], sd=0.01, seeds=10)
    partial = [
        PredictionRecord("p", 0, "abstain", message="n too small"),
        PredictionRecord("p", 1, "ok", np.asarray(0.1)),
    ]
    broken = [
        PredictionRecord("b", 0, "error", message="boom"),
        PredictionRecord("b", 1, "ok", np.asarray(0.1)),
    ]
    none = [PredictionRecord("n", i, "abstain", message="not my setting") for i in range(2)]
    scores = score(
        krr,
        measured,
        {"p": partial, "b": broken, "n": none, "no-learning": forecast("no-learning", [1.0, 1.0])},
    )
    assert scores["p"].coverage == 0.5 and scores["p"].verdict == "pass"
    assert scores["b"].verdict == "error" and "boom" in scores["b"].message
    assert scores["n"].verdict == "abstain" and scores["n"].coverage == 0


def test_missing_measurements(krr: Benchmark) -> None:
    measured = synthetic(krr, [0.5, 0.1], sd=0.01, seeds=4)
    measured.values[1][:] = np.nan
    measured.missing[1] = 4
    result = score(krr, measured, {"x": forecast("x", [0.5, 0.1])})["x"]
    assert result.verdict == "missing" and "not measured" in result.message


def test_censored_events(dln: Benchmark) -> None:
    """Event times beyond the horizon (150 steps) are scored as 'later than the horizon'."""
    from dataclasses import replace

    bench = replace(dln, seeds=5)
    values = np.tile([40.0, np.inf], (5, 1))
    measured = Measurements(bench, {0: values}, {0: 0})
    both_late = score(
        bench, measured, {"late": [PredictionRecord("late", 0, "ok", np.array([40.0, 1e6]))]}
    )["late"]
    assert both_late.error == pytest.approx(0.0) and both_late.verdict == "pass"
    early = score(
        bench, measured, {"early": [PredictionRecord("early", 0, "ok", np.array([40.0, 75.0]))]}
    )["early"]
    assert early.error == pytest.approx(np.log(150 / 75) / 2)


def test_scores_are_deterministic(krr: Benchmark) -> None:
    measured = synthetic(krr, [0.5, 0.1], sd=0.3, seeds=8)
    predictions = {"x": forecast("x", [0.45, 0.12])}
    a = score(krr, measured, predictions)["x"]
    b = score(krr, measured, predictions)["x"]
    assert (a.error, a.error_low, a.error_high, a.noise_ceiling) == (
        b.error,
        b.error_low,
        b.error_high,
        b.noise_ceiling,
    )


def test_interval_coverage_is_roughly_nominal(krr: Benchmark) -> None:
    """Over many synthetic experiments the true error lies inside the 95% interval about 95% of the time."""
    truth = np.array([0.5, 0.1])
    off = truth * 1.1
    true_error = float(np.mean(np.abs(np.log(off / truth))))
    inside = 0
    trials = 60
    for trial in range(trials):
        measured = synthetic(krr, list(truth), sd=0.2, seeds=8, rng=100 + trial)
        s = score(krr, measured, {"x": forecast("x", list(off))})["x"]
        inside += s.error_low <= true_error <= s.error_high
    assert inside / trials >= 0.8


@pytest.mark.parametrize("statistic", ["mean", "median", "logmean"])
def test_blockwise_replicates_equal_one_gather(
    monkeypatch: pytest.MonkeyPatch, statistic: str
) -> None:
    """Replicates computed a few columns at a time are bit-identical to one gather of the array."""
    from harness import stats

    rng = np.random.default_rng(5)
    values = np.exp(rng.standard_normal((9, 23)))
    values[2, 4] = np.inf  # a diverged run
    index = stats.bootstrap_index(9, rng, 50)
    whole = stats.reduce(values[index], statistic, axis=1)
    monkeypatch.setattr(stats, "GATHER_BLOCK", 50 * 9 * 4)  # four columns a block
    blocks = stats.replicate(values, index, statistic)
    np.testing.assert_array_equal(blocks, whole)
