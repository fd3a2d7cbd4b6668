"""The command line end to end on a tiny project: list, run, score, show, leaderboard, check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, run_cli, write_project


def test_list_json(measured_project: Path) -> None:
    result = run_cli(["list", "--json"], measured_project)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    ids = {b["id"]: b for b in payload["benchmarks"]}
    assert set(ids) == {"tiny-linreg", "tiny-krr", "tiny-dln"}
    assert ids["tiny-krr"]["pillar"] == "solvable" and ids["tiny-krr"]["tiers"]["default"] == {
        "points": 2,
        "seeds": 4,
    }
    assert {"eigenlearning", "sgd-recursion", "saxe-discrete"} <= {
        p["name"] for p in payload["predictors"]
    }


def test_run_json_has_verdicts_and_errors(measured_project: Path) -> None:
    result = run_cli(["run", "--json"], measured_project)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    keys = {"benchmark", "predictor", "verdict", "error", "tolerance", "noise_ceiling", "skill"}
    assert rows and all(keys <= set(r) for r in rows)
    verdicts = {(r["benchmark"], r["predictor"]): r["verdict"] for r in rows}
    assert verdicts[("tiny-dln", "saxe-discrete")] == "pass"
    assert verdicts[("tiny-dln", "shallow-regression")] == "fail"
    assert (
        "measured 0 seed(s)" not in result.stderr
    )  # nothing to measure: no measuring report at all


def test_score_reads_the_store_only(measured_project: Path) -> None:
    result = run_cli(["score", "--json", "-b", "tiny-dln"], measured_project)
    rows = json.loads(result.stdout)
    assert {r["predictor"] for r in rows} == {
        "saxe-discrete",
        "saxe-gradient-flow",
        "shallow-regression",
    }
    empty = run_cli(
        [
            "score",
            "--json",
            "-b",
            "tiny-dln",
            "--store",
            str(measured_project / "nothing"),
            "--ignore-published",
        ],
        measured_project,
    )
    assert {r["verdict"] for r in json.loads(empty.stdout)} == {"missing"}


def test_show(measured_project: Path) -> None:
    text = run_cli(["show", "tiny-dln"], measured_project)
    assert text.returncode == 0, text.stderr
    assert (
        "Claim: Saxe's solution" in text.stdout
        and "saxe-discrete" in text.stdout
        and "± " in text.stdout
    )
    data = json.loads(run_cli(["show", "tiny-krr", "--json"], measured_project).stdout)
    assert len(data["points"]) == 2 and "eigenlearning" in data["points"][0]["forecasts"]


def test_show_plot_writes_the_figure(measured_project: Path, tmp_path: Path) -> None:
    png, svg = tmp_path / "dln.png", tmp_path / "linreg.svg"
    result = run_cli(["show", "tiny-dln", "--plot", str(png)], measured_project)
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "✓ pass" in result.stdout
    result = run_cli(["show", "tiny-linreg", "--plot", str(svg), "--json"], measured_project)
    assert result.returncode == 0, result.stderr
    assert svg.read_text().lstrip().startswith("<?xml") and json.loads(result.stdout)["points"]
    bad = run_cli(["show", "tiny-dln", "--plot", str(tmp_path / "x.jpg")], measured_project)
    assert bad.returncode == 2 and ".png, .svg or .pdf" in bad.stderr


def test_unknown_benchmark_is_a_usage_error(measured_project: Path) -> None:
    result = run_cli(["show", "tiny-dnl"], measured_project)
    assert (
        result.returncode == 2
        and "did you mean 'tiny-dln'" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_outside_a_project(tmp_path: Path) -> None:
    result = run_cli(["list"], tmp_path)
    assert result.returncode == 2 and "no benchmarks/ folder" in result.stderr


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, measured_project: Path) -> Path:
    """A copy of the measured project whose smoke and default tiers are published and rendered."""
    root = tmp_path_factory.mktemp("published") / "project"
    shutil.copytree(measured_project, root)
    for args in (
        ["run", "--tier", "smoke", "--publish", "--jobs", "1"],
        ["run", "--publish", "--jobs", "1"],
        ["leaderboard"],
    ):
        result = run_cli(args, root)
        assert result.returncode == 0, (args, result.stderr)
    return root


def test_leaderboard_renders_and_detects_staleness(published: Path) -> None:
    folder = published / "leaderboard"
    readme = (folder / "README.md").read_text()
    assert (
        "<!-- BEGIN LEADERBOARD -->" in readme
        and "`tiny-dln`" in readme
        and "Solvable idealized settings" in readme
    )
    board = json.loads((folder / "leaderboard.json").read_text())
    assert set(board["tiers"]) == {"default", "smoke"}
    figures = sorted((folder / "figures").glob("*.png"))
    assert len(figures) == 3
    assert {b["figure"] for b in board["tiers"]["default"]["benchmarks"]} == {
        f"figures/{f.name}" for f in figures
    }
    assert all(f"figures/{f.name}" in readme for f in figures)
    html = (folder / "index.html").read_text()
    assert all(f'src="figures/{f.name}"' in html for f in figures)
    assert run_cli(["leaderboard", "--check"], published).returncode == 0
    # the render is deterministic: the same bytes for the text files and the figures
    before = {
        p.name: p.read_bytes()
        for p in (
            folder / "README.md",
            folder / "leaderboard.json",
            folder / "index.html",
            *figures,
        )
    }
    assert run_cli(["leaderboard", "--redraw"], published).returncode == 0
    assert {
        p.name: p.read_bytes()
        for p in (
            folder / "README.md",
            folder / "leaderboard.json",
            folder / "index.html",
            *figures,
        )
    } == before

    (folder / "index.html").write_text(html.replace("✓ pass", "✗ fail", 1))
    stale = run_cli(["leaderboard", "--check"], published)
    assert stale.returncode == 1 and "index.html differs" in stale.stderr
    (folder / "index.html").write_text(html)

    figure = figures[0].read_bytes()
    figures[0].unlink()
    (folder / "figures" / "tiny-krr-0123456789ab.png").write_bytes(figure)
    stale = run_cli(["leaderboard", "--check"], published)
    assert stale.returncode == 1 and f"{figures[0].name} is missing" in stale.stderr
    assert "tiny-krr-0123456789ab.png is no longer on the board" in stale.stderr
    assert run_cli(["leaderboard"], published).returncode == 0  # redraws, removes the orphan
    assert not (folder / "figures" / "tiny-krr-0123456789ab.png").exists()
    assert figures[0].read_bytes() == figure

    (published / "leaderboard" / "README.md").write_text(readme.replace("✓ pass", "✗ fail", 1))
    stale = run_cli(["leaderboard", "--check"], published)
    assert stale.returncode == 1 and "README.md tables differ" in stale.stderr
    (published / "leaderboard" / "README.md").write_text(readme)

    victim = next(
        (published / "leaderboard" / "results" / "measurements" / "tiny-krr").rglob(
            "seed-0001.json"
        )
    )
    victim.unlink()
    missing = run_cli(["leaderboard", "--check"], published)
    assert missing.returncode == 1 and "measurement(s) missing" in missing.stderr


CLAIMS = """claims:
  - {predictor: saxe-discrete, benchmark: tiny-dln, tier: smoke, expect: pass}
  - {predictor: shallow-regression, benchmark: tiny-dln, tier: smoke, expect: fail}
"""


def test_check_claims(published: Path) -> None:
    (published / "leaderboard" / "claims.yaml").write_text(CLAIMS)
    ok = run_cli(["check", "--json"], published)
    assert ok.returncode == 0, ok.stderr
    rows = json.loads(ok.stdout)
    assert (
        [r["holds"] for r in rows] == [True, True]
        and rows[0]["verdict"] == "pass"
        and rows[0]["error"] is not None
    )
    broken = CLAIMS.replace(
        "shallow-regression, benchmark: tiny-dln, tier: smoke, expect: fail",
        "shallow-regression, benchmark: tiny-dln, tier: smoke, expect: pass",
    )
    (published / "leaderboard" / "claims.yaml").write_text(broken)
    result = run_cli(["check"], published)
    assert result.returncode == 1
    assert (
        "claim 1 broke: shallow-regression on tiny-dln [smoke]: expected pass, got fail"
        in result.stderr
    )
    assert "> tolerance 0.1 by" in result.stderr
    (published / "leaderboard" / "claims.yaml").write_text(
        "claims:\n  - {predictor: saxe-discrete, benchmark: tiny-dnl, expect: pass}\n"
    )
    bad = run_cli(["check"], published)
    assert (
        bad.returncode == 2
        and "claims[0].benchmark" in bad.stderr
        and "did you mean 'tiny-dln'" in bad.stderr
    )


def test_orphaned_results_are_reported_and_pruned(published: Path, tmp_path: Path) -> None:
    """Results nothing reads (a retired predictor's forecasts, an edited sweep's measurements) make
    --check fail and --prune removes exactly them."""
    root = tmp_path / "project"
    shutil.copytree(published, root)
    results = root / "leaderboard" / "results"
    kept = sorted(p for p in results.rglob("*.json"))
    bench = results / "measurements" / "tiny-linreg"
    old_point = bench / "0123456789abcdef" / "torch-env"
    old_point.mkdir(parents=True)
    (old_point / "seed-0000.json").write_text("{}")
    retired = results / "predictions" / "tiny-krr" / "retired-theory"
    retired.mkdir(parents=True)
    (retired / "0123456789abcdef.json").write_text("{}")
    stale_forecast = next((results / "predictions" / "tiny-dln").glob("*/"))
    (stale_forecast / "fedcba9876543210.json").write_text("{}")
    check = run_cli(["leaderboard", "--check"], root)
    assert check.returncode == 1 and "3 committed result path(s)" in check.stderr
    assert "theorybench leaderboard --prune" in check.stderr
    pruned = run_cli(["leaderboard", "--prune"], root)
    assert pruned.returncode == 0 and "pruned 3 result file(s)" in pruned.stdout
    assert not (bench / "0123456789abcdef").exists() and not retired.exists()
    assert sorted(p for p in results.rglob("*.json")) == kept
    # (other tests of this module may have left the shared project stale in other ways)
    assert "committed result path(s)" not in run_cli(["leaderboard", "--check"], root).stderr


def test_importing_the_harness_imports_no_framework() -> None:
    code = (
        "import sys, harness, harness.spec, harness.scoring, harness.leaderboard, harness.cli, harness.plugins, "
        "harness.plots, harness.board_html, "
        "predictors.eigenlearning, predictors.saxe, predictors.sgd_linreg; "
        "from harness.cli import main; main(['list', 'benchmarks']); main(['leaderboard', '--check']); "
        "print('FRAMEWORKS', sorted(m for m in ('torch', 'jax', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "FRAMEWORKS []" in result.stdout  # matplotlib only when a figure is drawn


def test_preview_board_with_a_predictor_file(published: Path, tmp_path: Path) -> None:
    template = REPO / "docs" / "predictor_template.py"
    committed = (published / "leaderboard" / "README.md").read_text()
    out = tmp_path / "board"
    result = run_cli(["leaderboard", "-p", f"{template}:MyTheory", "--out", str(out)], published)
    assert result.returncode == 0, result.stderr
    assert "tiny-krr: my-theory" in result.stdout
    board = json.loads((out / "leaderboard.json").read_text())
    assert "my-theory" in {p["name"] for p in board["tiers"]["default"]["predictors"]}
    assert "`my-theory`" in (out / "README.md").read_text()
    html = (out / "index.html").read_text()
    assert "my-theory" in html and all(
        (out / f).is_file() for f in re.findall(r'src="(figures/[^"]+)"', html)
    )
    assert (published / "leaderboard" / "README.md").read_text() == committed
    refused = run_cli(
        ["leaderboard", "-p", f"{template}:MyTheory", "--out", "leaderboard"], published
    )
    assert refused.returncode == 2 and "never written over leaderboard/" in refused.stderr


def test_python_dash_m_harness_is_the_cli(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    result = run_cli(["--help"], root)
    assert result.returncode == 0 and "predict, measure what is missing, score" in result.stdout
