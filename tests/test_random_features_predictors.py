"""The random-feature predictors on the shipped specs (plumbing: what each forecasts, where it
abstains), and list-index sweep paths (``model.widths.0``) used by the MLP scaling benchmark."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.derive import slope
from harness.errors import SpecError
from harness.predict import problems_of
from harness.predictor import Abstain, Forecast
from harness.spec import load_benchmark
from predictors.baselines_rf import ExponentHalf, NoPeak
from predictors.random_features import RFEigenframework, rf_eigenframework
from predictors.ridgeless import RidgelessExact, min_norm_risk
from predictors.scaling_laws import ExponentLaw

REPO = Path(__file__).resolve().parents[1]


def spec(name: str, tier: str = "default"):
    pillar = "solvable" if name.startswith("double") else "laws"
    return load_benchmark(REPO / "benchmarks" / pillar / f"{name}.yaml", tier)


def test_double_descent_forecasts() -> None:
    """ridgeless-exact and no-peak on the isotropic sweep are the two closed forms of the card."""
    bench = spec("double-descent")
    sigma2 = bench.points[0].setting["data"]["noise_std"] ** 2
    for problem in problems_of(bench):
        n = problem.get("train_size")
        exact = RidgelessExact().predict(problem)
        assert isinstance(exact, Forecast)
        assert exact.mean == pytest.approx(min_norm_risk(n, 100, 1.0, sigma2), rel=1e-12)
        base = NoPeak().predict(problem)
        assert base.mean == pytest.approx(sigma2 + max(0.0, 1 - n / 100), rel=1e-12)
        assert isinstance(RFEigenframework().predict(problem), Forecast)  # k = ∞ (eigenlearning)
    rf = spec("double-descent-rf")
    assert all(isinstance(RidgelessExact().predict(p), Abstain) for p in problems_of(rf))


def test_rf_eigenframework_forecasts_the_harness_slope() -> None:
    """For a derived slope the forecast is the harness's OLS slope of ln(forecast curve)."""
    bench = spec("scaling-law-exponents")
    for problem in problems_of(bench):
        forecast = RFEigenframework().predict(problem)
        curve = []
        for member in problem.members:
            lam = np.arange(1, 1025, dtype=np.float64) ** -member["data"]["spectrum_exponent"]
            curve.append(
                [rf_eigenframework(lam, lam, 2048, member["model"]["features"], 0.0)["test_mse"]]
            )
        expected = slope(problem.x, np.array(curve), bench.target.derive)[0]
        assert forecast.mean == pytest.approx(expected, rel=1e-12)
        assert -1.6 < forecast.mean < -0.9


@pytest.mark.parametrize(
    "name", ["scaling-law-exponents", "scaling-law-exponents-data", "scaling-law-exponents-mlp"]
)
def test_exponent_law_and_baseline(name: str) -> None:
    bench = spec(name)
    alphas = []
    for problem in problems_of(bench):
        alpha = problem.get("data.spectrum_exponent") - 1.0
        alphas.append(alpha)
        law = ExponentLaw().predict(problem)
        assert isinstance(law, Forecast) and law.mean == pytest.approx(-alpha)
        assert ExponentHalf().predict(problem).mean == -0.5
    assert sorted(alphas) == [1.0, 1.5]


def test_exponent_law_abstains_or_flattens_outside_its_regime(tmp_path: Path) -> None:
    """A range straddling the other bottleneck has no single exponent; beyond it the slope is 0."""
    text = (REPO / "benchmarks/laws/scaling-law-exponents.yaml").read_text()
    folder = tmp_path / "benchmarks" / "laws"
    folder.mkdir(parents=True)
    path = folder / "scaling-law-exponents.yaml"
    path.write_text(text.replace("train_size: 2048", "train_size: 64"))
    assert all(
        isinstance(ExponentLaw().predict(p), Abstain) for p in problems_of(load_benchmark(path))
    )
    path.write_text(text.replace("train_size: 2048", "train_size: 4"))
    assert all(ExponentLaw().predict(p).mean == 0.0 for p in problems_of(load_benchmark(path)))


SWEEP_SPEC = """
id: widths
version: 1
pillar: laws
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_linear, d: 4, spectrum_exponent: 1.0, target_exponent: 2.0}
  model: {kind: mlp, widths: [3, 5]}
  optimizer: {kind: adam, lr: 1.0e-3, batch_size: 4}
  train_size: online
  steps: 2
sweep:
  model.widths.INDEX: [8, 16]
seeds: 3
target:
  quantity: test_mse
  derive: {kind: slope, x: model.widths.INDEX}
tolerance: {metric: abs_error, value: 0.1}
baseline: exponent-half
"""


def test_sweep_path_can_index_a_list(tmp_path: Path) -> None:
    folder = tmp_path / "benchmarks" / "laws"
    folder.mkdir(parents=True)
    path = folder / "widths.yaml"
    path.write_text(textwrap.dedent(SWEEP_SPEC).replace("INDEX", "1"))
    bench = load_benchmark(path)
    assert [p.setting["model"]["widths"] for p in bench.points] == [[3, 8], [3, 16]]
    assert [p.label for p in bench.points] == ["widths[1]=8", "widths[1]=16"]
    assert bench.groups[0].x == (8.0, 16.0)
    path.write_text(textwrap.dedent(SWEEP_SPEC).replace("INDEX", "2"))
    with pytest.raises(SpecError, match="beyond the 2 element"):
        load_benchmark(path)


def test_rf_eigenframework_abstains_off_its_model() -> None:
    for problem in problems_of(spec("scaling-law-exponents-mlp")):
        assert isinstance(RFEigenframework().predict(problem), Abstain)
        assert isinstance(NoPeak().predict(problem), Abstain)
    for problem in problems_of(spec("double-descent")):
        assert isinstance(ExponentLaw().predict(problem), Abstain)
        assert math.isfinite(NoPeak().predict(problem).mean)
