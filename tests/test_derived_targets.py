"""Targets derived across the sweep (slopes, optima scored by regret) and distributional targets
(quantiles), scored on synthetic measurements whose right answer is known."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.cells import build_cells
from harness.derive import Derive, argmin_log2, crossing_steps, regret, slope
from harness.errors import SpecError
from harness.measure import Measurements
from harness.predict import PredictionRecord, problems_of
from harness.scoring import score_benchmark
from harness.spec import Benchmark, load_benchmark

SPEC = """
id: derived
version: 1
pillar: solvable
title: t
claim: c
references: [r]
setting:
  data: {kind: sphere_relu_teacher, d: 4, pool_size: 50}
  model: {kind: kernel_machine, kernel: relu_ntk}
  optimizer: {kind: ridge_solve, ridge: 0.01}
  train_size: 8
sweep:
  train_size: [8, 16, 32, 64, 128]
  optimizer.ridge: [0.01, 0.1]
seeds: 20
target:
  quantity: test_mse
TARGET_EXTRA
tolerance: TOLERANCE
baseline: no-learning
"""


def load(tmp_path: Path, extra: str, tolerance: str) -> Benchmark:
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "derived.yaml"
    path.write_text(
        textwrap.dedent(SPEC).replace("TARGET_EXTRA", extra).replace("TOLERANCE", tolerance)
    )
    return load_benchmark(path)


def synthetic(
    benchmark: Benchmark, mean_of: callable, sd: float = 0.05, seed: int = 0
) -> Measurements:
    rng = np.random.default_rng(seed)
    values = {}
    for p in benchmark.points:
        mu = mean_of(p.setting["train_size"], p.setting["optimizer"]["ridge"])
        values[p.index] = mu * (1 + sd * rng.standard_normal(benchmark.seeds))
    return Measurements(benchmark, values, {i: 0 for i in values})


def records(name: str, values: list) -> list[PredictionRecord]:
    return [
        PredictionRecord(name, i, "ok", np.asarray(v, dtype=float)) for i, v in enumerate(values)
    ]


def test_slope_groups_and_scores(tmp_path: Path) -> None:
    b = load(tmp_path, "  derive: {kind: slope, x: train_size}", "{metric: abs_error, value: 0.05}")
    assert [g.label for g in b.groups] == ["ridge=0.01", "ridge=0.1"]
    assert b.groups[0].x == (8.0, 16.0, 32.0, 64.0, 128.0) and b.units == b.groups
    problems = problems_of(b)
    assert (
        problems[0].shape == ()
        and list(problems[0].x) == [8, 16, 32, 64, 128]
        and len(problems[0].members) == 5
    )
    measured = synthetic(b, lambda n, r: 3.0 * n**-0.5 * (1 + r))
    scores = score_benchmark(
        b,
        measured,
        {"right": records("right", [-0.5, -0.5]), "wrong": records("wrong", [-1.0, -1.0])},
    )
    assert scores["right"].verdict == "pass" and scores["right"].error < 0.02
    assert scores["wrong"].verdict == "fail" and scores["wrong"].error == pytest.approx(
        0.5, abs=0.02
    )


def test_slope_range_restricts_the_fit(tmp_path: Path) -> None:
    b = load(
        tmp_path,
        "  derive: {kind: slope, x: train_size, range: [32, 128]}",
        "{metric: abs_error, value: 0.05}",
    )
    kinked = synthetic(b, lambda n, r: 1.0 if n < 32 else (32 / n) ** 1.0, sd=0.0)
    score = score_benchmark(b, kinked, {"asymptotic": records("asymptotic", [-1.0, -1.0])})[
        "asymptotic"
    ]
    assert score.error == pytest.approx(0.0, abs=1e-9)


def test_argmin_with_regret(tmp_path: Path) -> None:
    b = load(tmp_path, "  derive: {kind: argmin, x: train_size}", "{metric: regret, value: 0.05}")
    # loss is a parabola in log2 n with its minimum at n = 32 (log2 = 5)
    measured = synthetic(b, lambda n, r: 1.0 + 0.5 * (np.log2(n) - 5.0) ** 2, sd=0.02)
    scores = score_benchmark(
        b, measured, {"on": records("on", [5.0, 5.0]), "off": records("off", [7.0, 7.0])}
    )
    assert scores["on"].verdict == "pass" and scores["on"].error < 0.01
    assert scores["off"].verdict == "fail"
    assert scores["off"].error == pytest.approx(np.log(3.0), rel=0.05)  # ȳ(n=128) / ȳ(n=32) = 3


def test_quantile_targets(tmp_path: Path) -> None:
    b = load(
        tmp_path,
        "  statistic: quantiles\n  quantiles: [0.25, 0.5, 0.75]",
        "{metric: log_ratio, value: 0.1}",
    )
    assert b.points[0].forecast_shape == (3,)
    b = replace(b, seeds=400)
    rng = np.random.default_rng(1)
    values = {p.index: np.exp(rng.standard_normal(400)) for p in b.points}  # log-normal spread
    measured = Measurements(b, values, {i: 0 for i in values})
    truth = np.exp(np.array([-0.6745, 0.0, 0.6745]))
    scores = score_benchmark(
        b,
        measured,
        {"spread": records("spread", [truth] * 10), "point": records("point", [np.ones(3)] * 10)},
    )
    assert scores["spread"].verdict == "pass"
    assert scores["point"].verdict == "fail"  # a point forecast misses the spread


@pytest.mark.parametrize(
    ("extra", "tolerance", "words"),
    [
        ("  derive: {kind: slope, x: model.width}", "{value: 0.1}", "is not swept"),
        (
            "  derive: {kind: argmin, x: train_size}",
            "{value: 0.1, metric: mismatch}",
            "mismatch is for label quantities",
        ),
        (
            "  derive: {kind: slope, x: train_size}",
            "{value: 0.1, metric: regret}",
            "regret scores a derive",
        ),
        (
            "  derive: {kind: slope, x: train_size, range: [1000, 2000]}",
            "{value: 0.1}",
            "has 0 point(s) in range",
        ),
        ("  statistic: quantiles", "{value: 0.1}", "target.quantiles"),
        ("  statistic: mode", "{value: 0.1}", "mode is for label quantities"),
    ],
)
def test_derived_spec_errors(tmp_path: Path, extra: str, tolerance: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path, extra, tolerance)
    assert words in str(info.value)


def test_derive_functions() -> None:
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = (3 * x**-0.7)[:, None]
    assert slope(x, y, Derive("slope", "x"))[0] == pytest.approx(-0.7)
    curve = (np.log2(x) - 1.3) ** 2 + 1
    assert argmin_log2(x, curve[:, None])[0] == pytest.approx(1.3)
    assert (
        argmin_log2(x, np.array([1.0, 2, 3, 4])[:, None])[0] == 0.0
    )  # minimum at the edge: not refined
    # near the minimum the curve is the parabola through (0, 2), (1, 1), (2, 4): 2t² − 3t + 2, whose
    # vertex (t = 0.75, value 0.875) is the measured optimum: regret 0 there, ln(P(t)/0.875) nearby
    curve = np.array([2.0, 1.0, 4.0, 8.0])
    assert argmin_log2(x, curve[:, None])[0] == pytest.approx(0.75)
    assert regret(0.75, x, curve) == pytest.approx(0.0, abs=1e-12)
    assert regret(0.5, x, curve) == pytest.approx(np.log(1.0 / 0.875))
    assert regret(np.log2(4.0), x, curve) == pytest.approx(np.log(4.0 / 0.875))
    assert regret(-5.0, x, curve) == pytest.approx(np.log(2.0 / 0.875))  # clamped to the grid
    # beyond the bracket: ln ȳ linear in log2 x
    assert regret(2.5, x, curve) == pytest.approx(
        0.5 * np.log(4.0) + 0.5 * np.log(8.0) - np.log(0.875)
    )
    # a minimum at the edge is not refined: regret against the grid minimum
    assert regret(0.5, x, np.array([1.0, 2.0, 4.0, 8.0])) == pytest.approx(0.5 * np.log(2.0))


# --------------------------------------------------------------------------------------------
# anchored optima (transfer targets), minima, and orders scored by discordance


def test_anchored_argmin_scores_the_shift(tmp_path: Path) -> None:
    b = load(
        tmp_path,
        "  derive: {kind: argmin, x: train_size, anchor: {optimizer.ridge: 0.01}}",
        "{metric: regret, value: 0.05}",
    )
    # the anchor group (ridge 0.01) is a reference, not a forecast unit
    assert [g.label for g in b.groups] == ["ridge=0.1"]
    group = b.groups[0]
    assert [b.points[i].coords["optimizer.ridge"] for i in group.anchor] == [0.01] * 5
    problem = problems_of(b)[0]
    assert list(problem.anchor_x) == [8, 16, 32, 64, 128] and len(problem.anchor_members) == 5
    # optimum at log2 n = 5 for the anchor, 6 for ridge 0.1: the true shift is +1
    measured = synthetic(
        b, lambda n, r: 1.0 + 0.5 * (np.log2(n) - (5.0 if r == 0.01 else 6.0)) ** 2, sd=0.02
    )
    scores = score_benchmark(
        b, measured, {"shift": records("shift", [1.0]), "flat": records("flat", [0.0])}
    )
    assert scores["shift"].verdict == "pass" and scores["shift"].error < 0.01
    assert scores["flat"].verdict == "fail"
    # transferring the anchor's optimum (n = 32) to ridge 0.1 costs ȳ(32)/ȳ(64) = 1.5
    assert scores["flat"].error == pytest.approx(np.log(1.5), rel=0.05)


def test_min_derive(tmp_path: Path) -> None:
    b = load(tmp_path, "  derive: {kind: min, x: train_size}", "{metric: log_ratio, value: 0.05}")
    measured = synthetic(b, lambda n, r: (1.0 + r) * (1.0 + 0.5 * (np.log2(n) - 5.0) ** 2), sd=0.0)
    score = score_benchmark(b, measured, {"m": records("m", [1.01, 1.1])})["m"]
    assert score.error == pytest.approx(0.0, abs=1e-12)


def test_discordance_across_units_with_rank_over(tmp_path: Path) -> None:
    """ "The loss at the optimal ridge falls with n": an ordinal target across groups."""
    b = load(
        tmp_path,
        "  derive: {kind: min, x: optimizer.ridge}",
        "{metric: discordance, value: 0.1, rank_over: train_size}",
    )
    assert len(b.groups) == 5
    measured = synthetic(b, lambda n, r: (1.0 + r) * n**-0.5, sd=0.05)
    falls = [float(n) ** -1 for n in (8, 16, 32, 64, 128)]  # right order, wrong values
    scores = score_benchmark(
        b,
        measured,
        {
            "falls": records("falls", falls),
            "rises": records("rises", falls[::-1]),
            "flat": records("flat", [1.0] * 5),
        },
    )
    assert scores["falls"].verdict == "pass" and scores["falls"].error == 0.0
    assert scores["rises"].verdict == "fail" and scores["rises"].error == pytest.approx(1.0)
    assert scores["flat"].error == pytest.approx(0.5)  # a predicted tie counts ½
    assert scores["falls"].chi2_dof is None  # no scale, no z-scores


MODES_SPEC = """
id: modes
version: 1
pillar: solvable
title: t
claim: c
references: [r]
setting:
  data: {kind: whitened_linear_teacher, d_in: 4, d_out: 4, singular_values: [3.0, 2.0, 1.0, 1.0]}
  model: {kind: deep_linear, depth: 2, width: 8, init: {kind: aligned, mode_strength: 0.001}}
  optimizer: {kind: gd, lr: 0.05}
  train_size: 16
  steps: 1000
sweep:
  optimizer.lr: [0.05, 0.1]
seeds: 12
target: {quantity: mode_half_times}
tolerance: {metric: discordance, value: 0.1}
baseline: shallow-regression
"""


def test_discordance_within_units_counts_only_significant_pairs(tmp_path: Path) -> None:
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True)
    (folder / "modes.yaml").write_text(textwrap.dedent(MODES_SPEC))
    b = load_benchmark(folder / "modes.yaml")
    rng = np.random.default_rng(2)
    strengths = np.array([3.0, 2.0, 1.0, 1.0])  # the last two modes tie: their order is noise
    values = {
        p.index: (20.0 / strengths / p.setting["optimizer"]["lr"])
        * (1 + 0.03 * rng.standard_normal((b.seeds, 4)))
        for p in b.points
    }
    measured = Measurements(b, values, {i: 0 for i in values})
    order = [1.0, 2.0, 3.0, 4.0]  # strongest first; orders the tied pair arbitrarily
    swapped = [1.0, 2.0, 4.0, 3.0]  # the other arbitrary order of the tied pair
    scores = score_benchmark(
        b,
        measured,
        {
            "order": records("order", [order, order]),
            "swapped": records("swapped", [swapped, swapped]),
            "reversed": records("reversed", [order[::-1], order[::-1]]),
            "one-timescale": records("one-timescale", [[5.0] * 4, [5.0] * 4]),
        },
    )
    # the tied pair is not significant, so neither arbitrary order is penalized
    assert scores["order"].verdict == "pass" and scores["order"].error == 0.0
    assert scores["swapped"].error == 0.0
    assert scores["reversed"].verdict == "fail" and scores["reversed"].error == pytest.approx(1.0)
    assert scores["one-timescale"].verdict == "fail"
    assert scores["one-timescale"].error == pytest.approx(0.5)
    cells = build_cells(b, measured)
    assert cells is not None and cells.ranking is not None
    assert cells.ranking.first.size == 2 * 5  # 5 of the 6 pairs per point are significant


@pytest.mark.parametrize(
    ("extra", "tolerance", "words"),
    [
        (
            "  derive: {kind: slope, x: train_size, anchor: {optimizer.ridge: 0.01}}",
            "{value: 0.1, metric: abs_error}",
            "only an argmin can be anchored",
        ),
        (
            "  derive: {kind: argmin, x: train_size, anchor: {model.width: 8}}",
            "{value: 0.1, metric: regret}",
            "is not a swept value other than train_size",
        ),
        (
            "  derive: {kind: argmin, x: train_size, anchor: {optimizer.ridge: 0.5}}",
            "{value: 0.1, metric: regret}",
            "has no anchor group",
        ),
        ("", "{value: 0.1, rank_over: train_size}", "only with metric: discordance"),
        (
            "  derive: {kind: min, x: train_size}",
            "{value: 0.1, metric: discordance, rank_over: train_size}",
            "is not a swept value of every forecast unit",
        ),
    ],
)
def test_anchor_and_rank_spec_errors(
    tmp_path: Path, extra: str, tolerance: str, words: str
) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path, extra, tolerance)
    assert words in str(info.value)


# --------------------------------------------------------------------------------------------
# steps to a level (the fewest steps over a swept axis for a curve to reach it)


def test_crossing_steps_against_a_loop() -> None:
    rng = np.random.default_rng(3)
    grid = np.array([0, 3, 7, 12, 20, 33])
    curves = np.exp(-rng.uniform(0.02, 0.2, (50, 1)) * grid) + 0.05 * rng.standard_normal((50, 6))
    level = 0.4
    got = crossing_steps(grid, curves, level)[:, 0]
    for curve, steps in zip(curves, got, strict=True):
        expected = float(grid[-1])  # never: the horizon
        for i, value in enumerate(curve):
            if value <= level:
                if i == 0:
                    expected = float(grid[0])
                else:
                    a, b = curve[i - 1], value
                    expected = grid[i - 1] + (grid[i] - grid[i - 1]) * (a - level) / (a - b)
                break
        assert steps == pytest.approx(expected)
    # NaN is above every level: nothing to interpolate from, the crossing is the step below it
    assert crossing_steps(grid, np.array([1.0, np.nan, 0.1, 0, 0, 0]), 0.5)[0] == 7.0


CURVE_SPEC = """
id: steps
version: 1
pillar: hyperparameters
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_linear, d: 8, spectrum_exponent: 1.5, target_exponent: 1.5, noise_std: 0.1}
  model: {kind: linear, init: zeros}
  optimizer: {kind: sgd, lr: 0.1, batch_size: 1}
  train_size: online
  steps: 40
sweep:
  optimizer.batch_size: [1, 4]
  optimizer.lr: [0.25, 0.5, 1.0]
seeds: 16
target:
  quantity: population_loss
  grid: {kind: linear, num: 11}
  derive: DERIVE
tolerance: {metric: log_ratio, value: 0.05}
baseline: gd-population
"""


def load_curve(tmp_path: Path, derive: str) -> Benchmark:
    folder = tmp_path / "benchmarks" / "hyperparameters"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "steps.yaml"
    path.write_text(textwrap.dedent(CURVE_SPEC).replace("DERIVE", derive))
    return load_benchmark(path)


def test_steps_to_derive_scores_the_fewest_steps(tmp_path: Path) -> None:
    b = load_curve(tmp_path, "{kind: steps_to, x: optimizer.lr, level: 0.5}")
    assert [g.label for g in b.groups] == ["batch_size=1", "batch_size=4"]
    # synthetic curves exp(−r t) with r = lr·batch_size/4: the level 0.5 is reached at ln 2/r,
    # fewest at the largest learning rate; on the linear grid (every 4 steps) the crossing is linear
    values = {}
    for p in b.points:
        rate = p.setting["optimizer"]["lr"] * p.setting["optimizer"]["batch_size"] / 4
        curve = np.exp(-rate * np.asarray(p.grid, dtype=float))
        values[p.index] = np.tile(curve, (b.seeds, 1))
    measured = Measurements(b, values, {i: 0 for i in values})
    expected = [
        float(
            crossing_steps(np.asarray(b.points[g.members[-1]].grid), values[g.members[-1]][0], 0.5)[
                0
            ]
        )
        for g in b.groups
    ]
    assert expected[1] < expected[0] < 40
    right = records("right", expected)
    slow = records("slow", [2 * e for e in expected])
    scores = score_benchmark(b, measured, {"right": right, "slow": slow})
    assert scores["right"].error == pytest.approx(0.0, abs=1e-12)
    assert scores["right"].verdict == "pass"
    assert scores["slow"].error == pytest.approx(np.log(2.0)) and scores["slow"].verdict == "fail"


@pytest.mark.parametrize(
    ("derive", "words"),
    [
        ("{kind: steps_to, x: optimizer.lr}", "steps_to needs a level"),
        ("{kind: min, x: optimizer.lr, level: 0.5}", "only steps_to takes one"),
    ],
)
def test_steps_to_spec_errors(tmp_path: Path, derive: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        load_curve(tmp_path, derive)
    assert words in str(info.value)
