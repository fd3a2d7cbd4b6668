"""Predictors: discovery three ways, and misbehaving predictors recorded while the run goes on."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.errors import PredictorLoadError
from harness.pipeline import Session
from harness.plugins import available_predictors, load_predictor
from harness.predictor import Problem
from harness.spec import load_benchmark

from .conftest import run_cli, write_project

BAD_PREDICTORS = """
import time
import numpy as np
from harness.predictor import Abstain, Forecast

class _Base:
    version = "1"
    quantities = ("test_mse",)

class Raises(_Base):
    name = "raises"
    def predict(self, problem):
        raise ValueError("the theory does not converge")

class ReturnsNaN(_Base):
    name = "returns-nan"
    def predict(self, problem):
        return Forecast(mean=float("nan"))

class WrongShape(_Base):
    name = "wrong-shape"
    def predict(self, problem):
        return Forecast(mean=np.zeros(3))

class Slow(_Base):
    name = "slow"
    def predict(self, problem):
        time.sleep(30)
        return Forecast(mean=1.0)

class NotAForecast(_Base):
    name = "not-a-forecast"
    def predict(self, problem):
        return {"mean": 1.0}

class Dies(_Base):
    name = "dies"
    def predict(self, problem):
        import os
        os._exit(3)

class Picky(_Base):
    name = "picky"
    def predict(self, problem):
        if problem.get("train_size") < 20:
            return Abstain("only for n >= 20")
        return Forecast(mean=0.1)
"""


@pytest.fixture
def budget_project(tmp_path: Path) -> Path:
    """The tiny KRR benchmark with a 2-second forecast budget, and a file of bad predictors."""
    root = write_project(tmp_path / "project")
    spec = root / "benchmarks" / "solvable" / "tiny-krr.yaml"
    spec.write_text(spec.read_text() + "budget: {predict_seconds: 2.0}\n")
    (root / "bad.py").write_text(textwrap.dedent(BAD_PREDICTORS))
    return root


def test_misbehaving_predictors_are_recorded_and_the_run_completes(budget_project: Path) -> None:
    refs = [
        f"{budget_project / 'bad.py'}:{name}"
        for name in ("Raises", "ReturnsNaN", "WrongShape", "Slow", "NotAForecast", "Dies", "Picky")
    ]
    session = Session(
        budget_project,
        "default",
        benchmark_ids=["tiny-krr"],
        predictor_refs=["eigenlearning", *refs],
        workers=1,
    )
    results = session.run()
    scores = results.scores["tiny-krr"]
    expected = {
        "raises": "ValueError: the theory does not converge",
        "returns-nan": "NaN",
        "wrong-shape": "shape (3,)",
        "slow": "time budget of 2 s",
        "not-a-forecast": "not a Forecast",
        "dies": "process died",
    }
    for name, words in expected.items():
        assert scores[name].verdict == "error", (name, scores[name])
        assert words in scores[name].message, (name, scores[name].message)
    assert scores["picky"].verdict in ("pass", "fail", "inconclusive")
    assert scores["picky"].coverage == 0.5 and "abstained at 1 point" in scores["picky"].message
    assert scores["eigenlearning"].verdict in ("pass", "fail", "inconclusive")
    assert scores["no-learning"].verdict == "fail"  # the baseline is always scored


def test_errors_are_cached_but_timeouts_are_not(budget_project: Path) -> None:
    refs = [f"{budget_project / 'bad.py'}:Raises", f"{budget_project / 'bad.py'}:Slow"]
    session = Session(budget_project, "default", benchmark_ids=["tiny-krr"], predictor_refs=refs)
    session.predict()
    stored = list(
        (budget_project / ".theorybench" / "store" / "predictions" / "tiny-krr").glob("*/*.json")
    )
    names = {p.parent.name for p in stored}
    assert "raises" in names and "slow" not in names
    assert (
        json.loads(next(p for p in stored if p.parent.name == "raises").read_text())["status"]
        == "error"
    )


def test_run_cli_reports_a_failing_predictor_and_exits_zero(budget_project: Path) -> None:
    result = run_cli(
        ["run", "-b", "tiny-krr", "-p", "bad.py:Raises", "--jobs", "1"], budget_project
    )
    assert result.returncode == 0, result.stderr
    assert "! error" in result.stdout and "raises" in result.stdout
    assert "ValueError: the theory does not converge" in result.stderr


def test_builtin_and_file_discovery(tmp_path: Path) -> None:
    builtins = available_predictors()
    assert {"sgd-recursion", "eigenlearning", "saxe-gradient-flow", "no-learning"} <= set(builtins)
    loaded = load_predictor("eigenlearning")
    assert loaded.info.kind == "theory" and loaded.info.zero_shot and loaded.code_hash
    path = tmp_path / "mine.py"
    path.write_text(
        "class Mine:\n    name = 'mine'\n    version = '2'\n    quantities = ('test_mse',)\n    fitted_on = ('krr-learning-curves',)\n    def predict(self, p):\n        return 1.0\n"
    )
    mine = load_predictor(f"{path}:Mine")
    assert (
        mine.info.name == "mine" and not mine.info.zero_shot and mine.info.source.startswith("file")
    )
    with pytest.raises(PredictorLoadError, match="did you mean 'eigenlearning'"):
        load_predictor("eigenlearnin")
    with pytest.raises(PredictorLoadError, match=r"has no 'Mien'.*did you mean 'Mine'"):
        load_predictor(f"{path}:Mien")
    with pytest.raises(PredictorLoadError, match="no such file"):
        load_predictor(f"{tmp_path / 'missing.py'}:X")


def test_entry_point_plugins_are_found(tmp_path: Path, project: Path) -> None:
    """A third-party distribution registers a predictor through the entry-point group."""
    site = tmp_path / "site"
    (site / "my_theory").mkdir(parents=True)
    (site / "my_theory" / "__init__.py").write_text(
        "class Constant:\n    name = 'constant-guess'\n    version = '1'\n    kind = 'baseline'\n"
        "    quantities = ('test_mse',)\n    def predict(self, problem):\n        return 0.5\n"
    )
    dist = site / "my_theory-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-theory\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[theorybench.predictors]\nconstant-guess = my_theory:Constant\n"
    )
    result = run_cli(["list", "predictors", "--json"], project, env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    found = {p["name"]: p for p in json.loads(result.stdout)["predictors"]}
    assert found["constant-guess"]["source"] == "plugin from my-theory"
    (dist / "entry_points.txt").write_text(
        "[theorybench.predictors]\neigenlearning = my_theory:Constant\n"
    )
    clash = run_cli(["list", "predictors"], project, env={"PYTHONPATH": str(site)})
    assert clash.returncode == 2 and "defined twice" in clash.stderr and "my-theory" in clash.stderr


def test_problem_gives_setting_grid_and_a_population_apart_from_training(project: Path) -> None:
    from harness.components import DATA
    from harness.seeds import stream_rng

    benchmark = load_benchmark(project / "benchmarks" / "solvable" / "tiny-dln.yaml")
    point = benchmark.points[0]
    problem = Problem.from_point(benchmark, point)
    assert problem.get("optimizer.lr") == 0.05 and problem.get("missing.path", None) is None
    assert problem.shape == (2,) and problem.horizon == 150
    with pytest.raises(KeyError):
        problem.get("model.nothing")
    training = DATA.get(point.setting["data"]["kind"])(point.setting["data"]).draw(
        stream_rng(benchmark.id, 0, "data")
    )
    assert not np.allclose(
        problem.population().teacher, training.teacher
    )  # seeded apart from training
    problem.setting["optimizer"]["lr"] = 1.0  # a predictor cannot change the benchmark
    assert point.setting["optimizer"]["lr"] == 0.05
