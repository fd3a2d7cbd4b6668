"""`theorybench validate --predictor`: every failure kind is flagged, per benchmark, before
anything is trained; a good predictor (``+inf`` and abstentions included) passes; so does the
template predictor of docs/, as it is, on the committed benchmarks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.cli import main

from .conftest import REPO, TINY_SPECS, write_project

PREDICTORS = '''
import time

import numpy as np

from harness.predictor import Abstain, Forecast


class Base:
    """A test predictor."""

    version = "1"
    quantities = ("test_mse",)

    def predict(self, problem):
        return Forecast(mean=1.0)


class Good(Base):
    """Forecasts +inf at one point and abstains at another: both allowed."""

    name = "good"

    def predict(self, problem):
        n = problem.get("train_size")
        if n == 8:
            return Abstain("too few samples for this theory")
        return Forecast(mean=float("inf") if n == 24 else 0.5)


class WrongShape(Base):
    name = "wrong-shape"

    def predict(self, problem):
        return Forecast(mean=np.ones(3))


class Nan(Base):
    name = "nan"

    def predict(self, problem):
        return Forecast(mean=float("nan"))


class Random(Base):
    name = "random"

    def predict(self, problem):
        return Forecast(mean=float(np.random.default_rng().random()))


class Slow(Base):
    name = "slow"

    def predict(self, problem):
        time.sleep(3)
        return Forecast(mean=1.0)


class Raises(Base):
    name = "raises"

    def predict(self, problem):
        raise ZeroDivisionError("division by zero in my formula")


class BadFields(Base):
    name = "Bad_Name"
    kind = "oracle"
    quantities = "test_mse"
    fitted_on = ("tiny-kr",)


class Taken(Base):
    name = "eigenlearning"


class Nothing(Base):
    name = "nothing"
    quantities = ("sharpness",)
'''


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("validate")
    spec = TINY_SPECS["tiny-krr"] + "budget: {predict_seconds: 0.5}\n"
    root = write_project(folder / "project", {"tiny-krr": spec, "tiny-dln": TINY_SPECS["tiny-dln"]})
    predictors = folder / "preds.py"
    predictors.write_text(textwrap.dedent(PREDICTORS), encoding="utf-8")
    return root, predictors


def validate(root: Path, reference: str, capsys) -> tuple[int, str]:
    status = main(["--root", str(root), "validate", "-p", reference])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_a_good_predictor_passes_with_inf_and_abstentions(setup, capsys) -> None:
    root, file = setup
    status, out = validate(root, f"{file}:Good", capsys)
    assert status == 0, out
    assert "✓ tiny-krr: 2 point(s) [default]: 1 forecast(s), 1 abstention(s), 0 problem(s)" in out
    assert "of the 0.5 s budget; same forecast twice" in out
    assert "abstains [default, train_size=8] too few samples for this theory" in out
    assert "not covered (other quantities): tiny-dln (mode_half_times)" in out
    assert "predictor good: 1 benchmark(s) checked: ok" in out


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        ("WrongShape", "forecast has shape (3,), the target has shape ()"),
        ("Nan", "forecast contains NaN"),
        ("Random", "not deterministic: two calls gave different forecasts"),
        ("Slow", "exceeded the time budget of 0.5 s"),
        ("Raises", "ZeroDivisionError: division by zero in my formula"),
        ("Taken", "name 'eigenlearning' is taken by a built-in predictor"),
        ("Nothing", "forecasts sharpness, which no benchmark asks for"),
        ("Missing", "has no 'Missing'"),
    ],
)
def test_each_failure_kind_is_flagged(setup, capsys, cls: str, expected: str) -> None:
    root, file = setup
    status, out = validate(root, f"{file}:{cls}", capsys)
    assert status == 1, out
    assert expected in out
    if cls in ("WrongShape", "Nan", "Random", "Slow", "Raises"):
        assert "✗ tiny-krr: 2 point(s)" in out and "2 problem(s)" in out


def test_bad_fields_are_flagged(setup, capsys) -> None:
    root, file = setup
    status, out = validate(root, f"{file}:BadFields", capsys)
    assert status == 1
    assert "name 'Bad_Name': use lowercase letters, digits and hyphens" in out
    assert "kind 'oracle': must be 'theory' or 'baseline'" in out
    assert "quantities is the string 'test_mse': write a tuple, ('test_mse',)" in out
    assert "fitted_on: unknown benchmark 'tiny-kr' (did you mean 'tiny-krr'" in out


def test_the_template_predictor_runs_as_it_is(capsys) -> None:
    status, out = validate(REPO, f"{REPO / 'docs' / 'predictor_template.py'}:MyTheory", capsys)
    assert status == 0, out
    assert "✓ krr-learning-curves:" in out and "✓ krr-learning-curves-digits:" in out
