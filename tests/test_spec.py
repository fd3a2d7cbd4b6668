"""Benchmark specs: strict validation (every problem names file and field), tiers, sweeps, hashing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.spec import load_benchmark, load_benchmark_tiers, resolve_grid

from .conftest import run_cli

VALID = """
id: spec-test
version: 1
pillar: solvable
title: A spec for tests
claim: Something holds.
references: ["a paper"]
setting:
  data: {kind: gaussian_linear, d: 10, spectrum_exponent: 1.5, target_exponent: 1.5, noise_std: 0.1}
  model: {kind: linear, init: zeros}
  optimizer: {kind: sgd, lr: 0.2, batch_size: 4}
  train_size: online
  steps: 50
sweep:
  optimizer.lr: [0.1, 0.2]
seeds: 4
target:
  quantity: population_loss
  grid: {kind: log, num: 8}
tolerance: {metric: log_ratio, value: 0.1}
baseline: gd-population
tiers:
  smoke: {seeds: 3}
"""


def write(tmp_path: Path, text: str, name: str = "spec-test") -> Path:
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def edit(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new)


# (description, spec text, expected field, expected words in the message)
BAD_SPECS = [
    (
        "unknown top-level key",
        edit("seeds: 4", "seeds: 4\nseed: 3"),
        "seed",
        "did you mean 'seeds'",
    ),
    (
        "YAML 1.1 exponent float read as text",
        edit("noise_std: 0.1}", "noise_std: 1e-1}"),
        "setting.data.noise_std",
        "write 1.0e-1",
    ),
    ("duplicate key", edit("seeds: 4", "seeds: 4\nseeds: 5"), "", "duplicate key 'seeds'"),
    ("version below 1", edit("version: 1", "version: 0"), "version", ">= 1"),
    (
        "version not an integer",
        edit("version: 1", "version: 1.5"),
        "version",
        "expected an integer",
    ),
    (
        "misspelled pillar",
        edit("pillar: solvable", "pillar: solveable"),
        "pillar",
        "did you mean 'solvable'",
    ),
    (
        "unknown data generator",
        edit("kind: gaussian_linear", "kind: gaussian_linaer"),
        "setting.data.kind",
        "did you mean 'gaussian_linear'",
    ),
    (
        "unknown model field",
        edit("{kind: linear, init: zeros}", "{kind: linear, init: zeros, bias: true}"),
        "setting.model.bias",
        "unknown field",
    ),
    (
        "missing required optimizer field",
        edit("{kind: sgd, lr: 0.2, batch_size: 4}", "{kind: sgd, lr: 0.2}"),
        "setting.optimizer.batch_size",
        "missing",
    ),
    (
        "train_size neither integer nor online",
        edit("train_size: online", "train_size: offline"),
        "setting.train_size",
        "online",
    ),
    ("negative steps", edit("steps: 50", "steps: -5"), "setting.steps", ">= 0"),
    (
        "full-batch gd on an online stream",
        edit("{kind: sgd, lr: 0.2, batch_size: 4}", "{kind: gd, lr: 0.2}"),
        "setting.train_size",
        "full-batch gd needs a finite training set",
    ),
    (
        "unknown quantity",
        edit("quantity: population_loss", "quantity: population_los"),
        "target.quantity",
        "did you mean 'population_loss'",
    ),
    (
        "curve quantity without a grid",
        edit("  grid: {kind: log, num: 8}\n", ""),
        "target.grid",
        "is a curve",
    ),
    (
        "misspelled metric",
        edit("metric: log_ratio", "metric: log-ratio"),
        "tolerance.metric",
        "did you mean 'log_ratio'",
    ),
    ("negative tolerance", edit("value: 0.1}", "value: -0.1}"), "tolerance.value", "> 0"),
    (
        "unknown tier",
        edit("  smoke: {seeds: 3}", "  smok: {seeds: 3}"),
        "tiers.smok",
        "did you mean 'smoke'",
    ),
    (
        "tier overrides an immutable field",
        edit("  smoke: {seeds: 3}", "  smoke: {id: other}"),
        "tiers.smoke.id",
        "may override only",
    ),
    (
        "tier override with a bad value",
        edit("  smoke: {seeds: 3}", "  smoke: {seeds: 0}"),
        "tiers.smoke: seeds",
        ">= 1",
    ),
    (
        "sweep path outside setting",
        edit("  optimizer.lr: [0.1, 0.2]", "  optimiser.lr: [0.1, 0.2]"),
        "sweep.optimiser.lr",
        "did you mean 'optimizer'",
    ),
    (
        "sweep value of the wrong type",
        edit("  optimizer.lr: [0.1, 0.2]", "  optimizer.lr: [0.1, fast]"),
        "sweep.optimizer.lr",
        "expected a number",
    ),
    (
        "boolean where a number is expected (YAML no)",
        edit("noise_std: 0.1}", "noise_std: no}"),
        "setting.data.noise_std",
        "boolean",
    ),
    (
        "id differs from the file name",
        edit("id: spec-test", "id: other-name"),
        "id",
        "must match the file name",
    ),
    (
        "quantity needs capabilities the setting lacks",
        edit(
            "  quantity: population_loss\n  grid: {kind: log, num: 8}",
            "  quantity: mode_half_times",
        ),
        "target.quantity",
        "teacher_svd",
    ),
    (
        "identical sweep points",
        edit("  optimizer.lr: [0.1, 0.2]", "  optimizer.lr: [0.1, 0.1]"),
        "sweep",
        "same setting",
    ),
    (
        "empty references",
        edit('references: ["a paper"]', "references: []"),
        "references",
        "at least 1",
    ),
    (
        "aligned init without a linear teacher",
        edit(
            "{kind: linear, init: zeros}",
            "{kind: deep_linear, depth: 2, width: 4, init: {kind: aligned, mode_strength: 0.01}}",
        ),
        "setting.model.init.kind",
        "teacher_svd",
    ),
    (
        "grid beyond the training steps",
        edit("  grid: {kind: log, num: 8}", "  grid: [0, 10, 500]"),
        "target.grid",
        "beyond steps=50",
    ),
]


@pytest.mark.parametrize(
    ("description", "text", "field", "words"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS]
)
def test_bad_spec_is_rejected_with_file_and_field(
    tmp_path: Path, description: str, text: str, field: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_benchmark(path)
    issues = info.value.issues
    assert all(issue.file == str(path) for issue in issues)
    matching = [i for i in issues if i.field == field and words in i.message]
    assert matching, (
        f"{description}: expected field {field!r} with {words!r}, got {[str(i) for i in issues]}"
    )


def test_not_a_mapping_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="a YAML mapping"):
        load_benchmark(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(SpecError, match="invalid YAML: line 3"):
        load_benchmark(write(tmp_path, "id: x\nsetting: {data: [\n"))


def test_unknown_baseline_is_reported_when_predictors_are_known(tmp_path: Path) -> None:
    path = write(tmp_path, edit("baseline: gd-population", "baseline: gd-populaton"))
    with pytest.raises(SpecError) as info:
        load_benchmark(path, known_predictors=["gd-population", "sgd-recursion"])
    assert any(
        i.field == "baseline" and "did you mean 'gd-population'" in i.message
        for i in info.value.issues
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = (
        edit("version: 1", "version: 0")
        .replace("pillar: solvable", "pillar: nope")
        .replace("seeds: 4", "seeds: 4\nextra: 1")
    )
    with pytest.raises(SpecError) as info:
        load_benchmark(write(tmp_path, text))
    fields = {i.field for i in info.value.issues}
    assert {"version", "pillar", "extra"} <= fields


def test_validate_cli_names_file_and_field_without_traceback(tmp_path: Path) -> None:
    write(tmp_path, edit("noise_std: 0.1}", "noise_std: 1e-3}"))
    result = run_cli(["validate"], tmp_path)
    assert result.returncode == 1
    assert (
        "spec-test.yaml: setting.data.noise_std: expected a number, got the text '1e-3'"
        in result.stderr
    )
    assert "write 1.0e-3" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_validate_cli_accepts_good_specs(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    result = run_cli(["validate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


# --- tiers, sweeps and hashing ---------------------------------------------------------------


def test_tiers_override_by_deep_merge(tmp_path: Path) -> None:
    text = edit(
        "  smoke: {seeds: 3}",
        "  smoke: {seeds: 3, setting: {steps: 20, data: {d: 5}}, sweep: {optimizer.lr: [0.3]}}",
    )
    tiers = load_benchmark_tiers(write(tmp_path, text))
    smoke, default = tiers["smoke"], tiers["default"]
    assert smoke.seeds == 3 and default.seeds == 4
    assert [p.setting["optimizer"]["lr"] for p in smoke.points] == [0.3]
    assert smoke.points[0].setting["data"]["d"] == 5
    assert smoke.points[0].setting["data"]["noise_std"] == 0.1  # untouched keys survive the merge
    assert smoke.points[0].setting["steps"] == 20 and default.points[0].setting["steps"] == 50


def test_sweep_product_and_list(tmp_path: Path) -> None:
    product = load_benchmark(
        write(
            tmp_path,
            edit(
                "  optimizer.lr: [0.1, 0.2]",
                "  optimizer.lr: [0.1, 0.2]\n  optimizer.batch_size: [1, 8]",
            ),
        )
    )
    assert [
        (p.setting["optimizer"]["lr"], p.setting["optimizer"]["batch_size"]) for p in product.points
    ] == [
        (0.1, 1),
        (0.1, 8),
        (0.2, 1),
        (0.2, 8),
    ]
    listed = load_benchmark(
        write(
            tmp_path,
            edit(
                "  optimizer.lr: [0.1, 0.2]",
                "  - {optimizer.lr: 0.1, optimizer.batch_size: 2}\n  - {optimizer.lr: 0.4}",
            ),
        )
    )
    assert [
        (p.setting["optimizer"]["lr"], p.setting["optimizer"]["batch_size"]) for p in listed.points
    ] == [(0.1, 2), (0.4, 4)]
    assert listed.points[0].label == "lr=0.1, batch_size=2"


def test_point_keys_ignore_prose_and_spelling_but_not_numbers(tmp_path: Path) -> None:
    base = load_benchmark(write(tmp_path, VALID))
    prose = load_benchmark(
        write(
            tmp_path,
            edit("title: A spec for tests", "title: Another title").replace(
                "claim: Something holds.", "claim: Other."
            ),
        )
    )
    spelled = load_benchmark(
        write(
            tmp_path,
            edit("d: 10, spectrum_exponent: 1.5", "spectrum_exponent: 1.5, d: 10").replace(
                "steps: 50", "steps: 50\n  loss: half_mse"
            ),
        )
    )
    changed = load_benchmark(write(tmp_path, edit("noise_std: 0.1", "noise_std: 0.2")))
    seeds = load_benchmark(write(tmp_path, edit("seeds: 4", "seeds: 8")))
    keys = [p.key for p in base.points]
    assert [p.key for p in prose.points] == keys
    assert [p.key for p in spelled.points] == keys
    assert [p.key for p in seeds.points] == keys  # more seeds reuse the measured ones
    assert not set(p.key for p in changed.points) & set(keys)
    assert seeds.spec_hash != base.spec_hash


def test_integers_are_normalized_to_floats_before_hashing(tmp_path: Path) -> None:
    a = load_benchmark(write(tmp_path, edit("noise_std: 0.1", "noise_std: 1")))
    b = load_benchmark(write(tmp_path, edit("noise_std: 0.1", "noise_std: 1.0")))
    assert [p.key for p in a.points] == [p.key for p in b.points]
    assert isinstance(a.points[0].setting["data"]["noise_std"], float)


def test_grid_resolution() -> None:
    assert resolve_grid({"kind": "linear", "num": 5}, 100) == (0, 25, 50, 75, 100)
    log = resolve_grid({"kind": "log", "num": 10}, 1000)
    assert log[0] == 0 and log[1] == 1 and log[-1] == 1000 and list(log) == sorted(set(log))
    assert resolve_grid([30, 0, 10, 10], 50) == (0, 10, 30)


def test_repository_specs_are_valid() -> None:
    from harness.plugins import available_predictors
    from harness.spec import load_benchmarks

    from .conftest import REPO

    benchmarks = load_benchmarks(REPO / "benchmarks", known_predictors=available_predictors())
    assert len(benchmarks) >= 3
