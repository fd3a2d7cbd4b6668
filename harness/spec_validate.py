"""Validation of one tier of a spec: every sweep point's complete setting, the target, the metric,
and the groups of a derived target. Problems are collected in a :class:`~harness.schema.Checker`,
never raised one at a time."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .components import DATA, MODELS, OPTIMIZERS, QUANTITIES
from .derive import DERIVE, Derive
from .errors import Issue
from .hashing import canonical_json, content_hash
from .registry import did_you_mean
from .schema import Checker, Enum, Float, ListOf, Record, is_missing, validate_params
from .spec_fields import (
    GRID,
    SETTING,
    STATISTICS,
    TOP_LEVEL,
    _expand_sweep,
    _set_path,
    _strip,
    point_label,
    resolve_grid,
    without_defaults,
)
from .spec_types import Benchmark, Group, Point, Target, Tolerance


def _check_setting(setting: dict[str, Any], path: str, checker: Checker) -> None:
    """Rules that involve more than one component."""
    optimizer = OPTIMIZERS.get(setting["optimizer"]["kind"])
    model = MODELS.get(setting["model"]["kind"])
    data = DATA.get(setting["data"]["kind"])
    finite = setting["train_size"] != "online"
    if not optimizer.iterative:
        if "closed_form" not in model.capabilities:
            checker.issue(
                f"{path}.optimizer.kind",
                f"{optimizer.kind!r} is closed-form and needs a model fitted in closed form "
                f"({', '.join(k for k in MODELS.names() if 'closed_form' in MODELS.get(k).capabilities)}), "
                f"not {model.kind!r}",
            )
        if setting["steps"] != 0:
            checker.issue(
                f"{path}.steps", f"must be 0 for the closed-form optimizer {optimizer.kind!r}"
            )
        if not finite:
            checker.issue(f"{path}.train_size", f"{optimizer.kind!r} needs a finite training set")
    else:
        if "closed_form" in model.capabilities:
            checker.issue(
                f"{path}.optimizer.kind",
                f"model {model.kind!r} is fitted in closed form: use optimizer ridge_solve",
            )
        full_batch = optimizer.full_batch or setting["optimizer"].get("batch_size") == "full"
        if full_batch and not finite:
            checker.issue(
                f"{path}.train_size",
                f"full-batch {optimizer.kind} needs a finite training set, not 'online'",
            )
    init = setting["model"].get("init")
    if init is not None and init["kind"] == "aligned" and "teacher_svd" not in data.capabilities:
        checker.issue(
            f"{path}.model.init.kind",
            f"aligned init needs a data generator with a linear teacher (teacher_svd); {data.kind!r} has none",
        )


def _validate_target(
    raw: Any, path: str, setting: dict[str, Any], checker: Checker
) -> tuple[Target | None, Any]:
    if not isinstance(raw, Mapping):
        checker.issue(path, "expected a mapping with 'quantity'")
        return None, None
    known = ("quantity", "params", "statistic", "grid", "derive", "quantiles")
    for key in raw:
        if key not in known:
            checker.issue(
                f"{path}.{key}",
                f"unknown field for target{did_you_mean(str(key), known)}; known fields: {', '.join(known)}",
            )
    name = raw.get("quantity")
    if name not in QUANTITIES:
        checker.issue(
            f"{path}.quantity",
            f"unknown quantity {name!r}{did_you_mean(str(name), QUANTITIES.names())}; known: {', '.join(QUANTITIES.names())}",
        )
        return None, None
    cls = QUANTITIES.get(name)
    params_raw = raw.get("params", {}) or {}
    if not isinstance(params_raw, Mapping):
        checker.issue(f"{path}.params", "expected a mapping")
        params_raw = {}
    params = validate_params(
        cls.PARAMS, params_raw, f"{path}.params", checker, what=f"quantity {name!r}"
    )
    statistic = raw.get("statistic", cls.default_statistic)
    statistic = Enum(STATISTICS).check(statistic, f"{path}.statistic", checker)
    labels = cls.shape_kind == "label"
    if not is_missing(statistic) and (statistic == "mode") != labels:
        checker.issue(
            f"{path}.statistic",
            f"{'label quantities need statistic mode' if labels else 'mode is for label quantities'}; got {statistic!r}",
        )
    quantiles = raw.get("quantiles")
    if statistic == "quantiles":
        quantiles = ListOf(Float(gt=0, lt=1), min_len=1).check(
            quantiles, f"{path}.quantiles", checker
        )
        if not is_missing(quantiles) and list(quantiles) != sorted(set(quantiles)):
            checker.issue(f"{path}.quantiles", "must be increasing and distinct")
    elif quantiles is not None:
        checker.issue(f"{path}.quantiles", "only with statistic: quantiles")
    derive = raw.get("derive")
    if derive is not None:
        derive = DERIVE.check(derive, f"{path}.derive", checker)
        if not is_missing(derive):
            derive = Derive.from_spec(derive)
            if statistic in ("quantiles", "mode"):
                checker.issue(f"{path}.derive", f"cannot derive from statistic {statistic!r}")
    grid = raw.get("grid")
    if cls.needs_grid and grid is None:
        checker.issue(
            f"{path}.grid",
            f"quantity {name!r} is a curve: give grid: {{kind: log, num: 30}} or a list of steps",
        )
    elif not cls.needs_grid and grid is not None:
        checker.issue(f"{path}.grid", f"quantity {name!r} is not a curve and takes no grid")
    elif grid is not None:
        grid = GRID.check(grid, f"{path}.grid", checker)
        if isinstance(grid, Mapping) and grid["kind"] != "last" and grid["num"] is None:
            checker.issue(f"{path}.grid.num", f"grid kind {grid['kind']!r} needs num")
    model = MODELS.get(setting["model"]["kind"])
    data = DATA.get(setting["data"]["kind"])
    for need in sorted(cls.requires_model - model.capabilities):
        checker.issue(
            f"{path}.quantity",
            f"{name!r} needs a model with {need!r}; model {model.kind!r} lacks it",
        )
    for need in sorted(cls.requires_data - data.capabilities):
        checker.issue(
            f"{path}.quantity", f"{name!r} needs data with {need!r}; data {data.kind!r} lacks it"
        )
    if is_missing(statistic) or is_missing(grid) or is_missing(derive) or is_missing(quantiles):
        return None, None
    return Target(
        name, params, statistic, grid, derive, None if quantiles is None else tuple(quantiles)
    ), cls


# --------------------------------------------------------------------------------------------
# loading


def _validate_tier(
    raw: Mapping[str, Any], tier: str, file: str, checker: Checker
) -> Benchmark | None:
    top = {k: v for k, v in raw.items() if k in TOP_LEVEL}
    head = validate_params(
        {k: p for k, p in TOP_LEVEL.items() if p.validator is not None},
        {k: v for k, v in top.items() if TOP_LEVEL[k].validator is not None},
        "",
        checker,
        what="a benchmark spec",
    )
    for key in ("setting", "target"):
        if key not in raw:
            checker.issue(key, "required field of a benchmark spec is missing")
    if not isinstance(raw.get("setting"), Mapping):
        if "setting" in raw:
            checker.issue("setting", "expected a mapping")
        return None
    coords_list = _expand_sweep(raw.get("sweep"), "sweep", checker)
    points: list[Point] = []
    target: Target | None = None
    setting_record = Record(SETTING, what="setting")
    per_point: list[list[Issue]] = []
    resolved = []
    for index, coords in enumerate(coords_list):
        tree = copy.deepcopy(dict(raw["setting"]))
        sub = Checker(file)
        for path_, value in coords.items():
            head_ = path_.split(".")[0]
            if head_ not in SETTING:
                sub.issue(
                    f"sweep.{path_}",
                    f"sweep paths are relative to setting; {head_!r} is not a setting field{did_you_mean(head_, SETTING)}",
                )
                continue
            try:
                _set_path(tree, path_, value)
            except (IndexError, ValueError) as exc:
                sub.issue(f"sweep.{path_}", str(exc))
        setting = setting_record.check(tree, "setting", sub)
        if not sub.issues:
            _check_setting(setting, "setting", sub)
        point_target, quantity_cls = (None, None)
        if not sub.issues and "target" in raw:
            point_target, quantity_cls = _validate_target(raw["target"], "target", setting, sub)
        per_point.append(sub.issues)
        resolved.append((index, coords, setting, point_target, quantity_cls))
    # a problem found at every point is the spec's own; one found at some points comes from the sweep
    common = (
        set.intersection(*({(i.field, i.message) for i in issues} for issues in per_point))
        if per_point
        else set()
    )
    for field_, message in sorted(
        common, key=lambda fm: [(i.field, i.message) for i in per_point[0]].index(fm)
    ):
        checker.issue(field_, message)
    for (index, coords, *_), issues in zip(resolved, per_point):
        for issue in issues:
            if (issue.field, issue.message) in common:
                continue
            swept = next((p for p in coords if issue.field.startswith(f"setting.{p}")), None)
            field_ = (
                f"sweep.{swept}"
                if swept
                else f"{issue.field} (at sweep point {index}: {point_label(coords)})"
            )
            checker.issue(field_, issue.message)
    for (index, coords, setting, point_target, quantity_cls), issues in zip(resolved, per_point):
        if issues or point_target is None:
            continue
        target = point_target
        grid = resolve_grid(target.grid, setting["steps"]) if target.grid is not None else None
        if grid is not None and grid[-1] > setting["steps"]:
            checker.issue("target.grid", f"step {grid[-1]} is beyond steps={setting['steps']}")
            continue
        quantity = quantity_cls(target.params, setting, grid)
        key = content_hash(
            {
                "benchmark": raw.get("id"),
                "setting": without_defaults(setting),
                "target": {
                    "quantity": target.quantity,
                    "params": _strip(target.params, quantity_cls.PARAMS),
                    "grid": grid,
                },
            }
        )
        shape = quantity.shape()
        forecast_shape = (*shape, len(target.quantiles)) if target.quantiles else shape
        points.append(
            Point(index, coords, point_label(coords), setting, grid, shape, key, forecast_shape)
        )
    # identical points would be measured twice and weigh twice in the score
    seen: dict[str, int] = {}
    for p in points:
        if p.key in seen:
            checker.issue(
                "sweep", f"points {seen[p.key]} and {p.index} have the same setting ({p.label})"
            )
        seen.setdefault(p.key, p.index)
    if checker.issues or target is None:
        return None
    _check_metric(head["tolerance"], target, checker)
    groups = _groups(points, target, checker) if target.derive is not None else ()
    if not checker.issues:
        _check_rank_over(
            head["tolerance"], groups if target.derive is not None else points, checker
        )
    if checker.issues:
        return None
    benchmark = Benchmark(
        id=head["id"],
        version=head["version"],
        pillar=head["pillar"],
        title=head["title"],
        claim=head["claim"],
        references=tuple(head["references"]),
        open_directions=tuple(head["open_directions"]),
        tier=tier,
        seeds=head["seeds"],
        target=target,
        tolerance=Tolerance(**head["tolerance"]),
        baseline=head["baseline"],
        budget_seconds=head["budget"]["predict_seconds"],
        points=tuple(points),
        path=file,
        groups=tuple(groups),
    )
    spec_hash = content_hash(
        {
            "points": [p.key for p in points],
            "seeds": benchmark.seeds,
            "target": {
                "statistic": target.statistic,
                "quantiles": target.quantiles,
                "derive": None if target.derive is None else target.derive.hashed(),
            },
            # optional fields left unset (None) are not hashed, so adding one changes no hash
            "tolerance": {k: v for k, v in head["tolerance"].items() if v is not None},
            "baseline": benchmark.baseline,
        }
    )
    return replace(benchmark, spec_hash=spec_hash)


def _check_metric(tolerance: Mapping[str, Any], target: Target, checker: Checker) -> None:
    metric = tolerance["metric"]
    labels = target.quantity_class.shape_kind == "label"
    if labels and metric != "mismatch":
        checker.issue(
            "tolerance.metric", f"label quantities are scored by mismatch, not {metric!r}"
        )
    if metric == "mismatch" and not labels:
        checker.issue("tolerance.metric", "mismatch is for label quantities")
    if metric == "regret" and (target.derive is None or target.derive.kind != "argmin"):
        checker.issue("tolerance.metric", "regret scores a derive: {kind: argmin} target")
    if tolerance.get("rank_over") is not None and metric != "discordance":
        checker.issue("tolerance.rank_over", "only with metric: discordance")
    if metric == "discordance" and labels:
        checker.issue("tolerance.metric", "labels have no order; discordance needs numbers")


def _check_rank_over(
    tolerance: Mapping[str, Any], units: Sequence[Point] | Sequence[Group], checker: Checker
) -> None:
    over = tolerance.get("rank_over")
    if over is not None and any(over not in unit.coords for unit in units):
        checker.issue(
            "tolerance.rank_over",
            f"{over!r} is not a swept value of every forecast unit (the derive's x is not one)",
        )


def _groups(points: Sequence[Point], target: Target, checker: Checker) -> list[Group]:
    """Partition the points by every swept value but ``derive.x``; sort each group by ``x``.

    For an anchored argmin, each group is tied to its anchor (the group whose swept values equal its
    own with the anchor's substituted); anchor groups are references and are not returned.
    """
    derive = target.derive
    assert derive is not None
    buckets: dict[str, list[Point]] = {}
    for point in points:
        if derive.x not in point.coords:
            checker.issue(
                "target.derive.x",
                f"{derive.x!r} is not swept at point {point.index} ({point.label})",
            )
            return []
        rest = {k: v for k, v in point.coords.items() if k != derive.x}
        buckets.setdefault(canonical_json(rest), []).append(point)
    anchor = derive.anchor
    if anchor is not None:
        for path in anchor:
            if path == derive.x or not any(path in p.coords for p in points):
                checker.issue(
                    "target.derive.anchor", f"{path!r} is not a swept value other than {derive.x}"
                )
                return []
    groups = []
    for members in buckets.values():
        members = sorted(members, key=lambda p: float(p.coords[derive.x]))
        coords = {k: v for k, v in members[0].coords.items() if k != derive.x}
        label = point_label(coords)
        x = tuple(float(p.coords[derive.x]) for p in members)
        if len(set(x)) != len(x):
            checker.issue("target.derive.x", f"group [{label}] repeats a value of {derive.x}")
        cells = int(np.prod(members[0].shape)) if members[0].shape else 1
        derive.check(x, cells, "target.derive", checker, label)
        ref: list[Point] = []
        if anchor is not None:
            target_coords = {k: anchor.get(k, v) for k, v in coords.items()}
            if target_coords == coords:
                continue  # an anchor: the reference of other groups, not a forecast unit
            found = buckets.get(canonical_json(target_coords))
            if found is None:
                checker.issue(
                    "target.derive.anchor",
                    f"group [{label}] has no anchor group [{point_label(target_coords)}]",
                )
                continue
            ref = sorted(found, key=lambda p: float(p.coords[derive.x]))
        if derive.kind == "steps_to" and members[0].grid is None:
            checker.issue("target.derive.kind", "steps_to needs a curve quantity (target.grid)")
        shape = () if derive.kind in ("argmin", "steps_to") else members[0].shape
        key_of: dict[str, Any] = {"points": [p.key for p in members], "derive": derive.hashed()}
        if ref:
            key_of["anchor"] = [p.key for p in ref]
        groups.append(
            Group(
                len(groups),
                label,
                coords,
                tuple(p.index for p in members),
                x,
                shape,
                content_hash(key_of),
                tuple(p.index for p in ref),
                tuple(float(p.coords[derive.x]) for p in ref),
            )
        )
    if anchor is not None and not groups and not checker.issues:
        checker.issue("target.derive.anchor", "every group is an anchor: nothing to forecast")
    return groups
