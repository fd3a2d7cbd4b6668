"""Benchmark specs: YAML in, validated and resolved :class:`Benchmark` objects out.

A spec file ``benchmarks/<pillar>/<id>.yaml`` declares a training ``setting``, a ``sweep`` of
control variables, a ``target`` quantity, a ``tolerance``, a ``baseline`` predictor and ``tiers``
(``smoke``, ``default``, ``full``) that override parts of the spec. See ``docs/specs.md`` for the
field reference.

Loading is strict: every problem in the file is reported at once, each naming the file and the
dotted field, with "did you mean" for unknown names and a fix for YAML 1.1 traps. Resolving a tier
deep-merges its overrides into the spec (mappings merge key by key; lists and scalars replace),
expands the sweep into :class:`Point` objects and validates each point's complete setting.

Every point carries a content hash (:attr:`Point.key`) of everything that changes a measured
number: the benchmark id, the normalized setting, the target quantity, its parameters and grid.
Prose (title, claim, references), the seed count, the statistic and the tolerance are not part of
it, so tiers that share a setting share measurements.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .components import DATA, MODELS, OPTIMIZERS, QUANTITIES
from .derive import DERIVE, Derive
from .errors import Issue, SpecError
from .hashing import canonical_json, content_hash
from .registry import did_you_mean
from .schema import (
    Checker,
    Component,
    Enum,
    Float,
    Int,
    ListOf,
    OneOf,
    Param,
    Record,
    Str,
    is_missing,
    validate_params,
)
from .yamlio import load_yaml

__all__ = [
    "PILLARS",
    "TIERS",
    "Benchmark",
    "Group",
    "Point",
    "Target",
    "Tolerance",
    "find_spec_files",
    "load_benchmark",
    "load_benchmarks",
]

PILLARS = ("solvable", "limits", "laws", "hyperparameters", "universal")
PILLAR_TITLES = {
    "solvable": "Solvable idealized settings",
    "limits": "Tractable limits",
    "laws": "Simple mathematical laws",
    "hyperparameters": "Theories of hyperparameters",
    "universal": "Universal behaviors",
}
TIERS = ("smoke", "default", "full")
STATISTICS = ("mean", "median", "logmean", "mode", "quantiles")
METRICS = ("log_ratio", "rel_error", "abs_error", "mismatch", "regret", "discordance")
AGGREGATES = ("mean", "median", "max", "rms")
ID_PATTERN = r"[a-z0-9]+(-[a-z0-9]+)*"
OVERRIDABLE = ("setting", "sweep", "seeds", "target")

SETTING = {
    "data": Param(Component(DATA), doc="the population and how training data is drawn"),
    "model": Param(Component(MODELS), doc="the architecture and its initialization"),
    "loss": Param(Enum(("half_mse",)), "half_mse", doc="training loss: ½·mean‖f(x) − y‖²"),
    "optimizer": Param(Component(OPTIMIZERS), doc="the training procedure"),
    "train_size": Param(
        OneOf((Int(ge=1), Enum(("online",)))),
        doc="training examples, or 'online' (fresh each step)",
    ),
    "steps": Param(Int(ge=0), 0, doc="optimizer steps (0 for closed-form procedures)"),
    "dtype": Param(Enum(("float64", "float32")), "float64", doc="floating-point type of training"),
}
GRID = OneOf(
    (
        ListOf(Int(ge=0), min_len=1),
        Record(
            {
                "kind": Param(
                    Enum(("log", "linear", "last")),
                    doc="log: geometric spacing from step 1; linear: even spacing; last: the last "
                    "step only (whatever the point's steps)",
                ),
                "num": Param(
                    Int(ge=2),
                    None,
                    doc="log, linear: number of grid points, step 0 and the last step included",
                ),
            },
            what="grid",
        ),
    )
)
TOLERANCE = {
    "metric": Param(Enum(METRICS), "log_ratio", doc="per-cell error"),
    "value": Param(Float(gt=0), doc="the headline error must be at most this for a pass"),
    "aggregate": Param(
        Enum(AGGREGATES), "mean", doc="how per-cell errors combine into the headline error"
    ),
    "floor": Param(Float(ge=0), 0.0, doc="log_ratio only: compare ln((ŷ+floor)/(ȳ+floor))"),
    "z_floor": Param(Float(ge=0), 0.02, doc="relative floor τ in z = (ŷ−ȳ)/√(SE² + (τȳ)²)"),
    "rank_over": Param(
        Str(),
        None,
        doc="discordance only: rank cells of units that differ only in this swept value "
        "(default: the cells within each unit)",
    ),
}
BUDGET = {"predict_seconds": Param(Float(gt=0), 60.0, doc="wall-clock budget of one forecast")}
TOP_LEVEL = {
    "id": Param(Str(pattern=ID_PATTERN, pattern_doc="a lowercase slug (letters, digits, hyphens)")),
    "version": Param(Int(ge=1)),
    "pillar": Param(Enum(PILLARS)),
    "title": Param(Str()),
    "claim": Param(Str()),
    "references": Param(ListOf(Str(), min_len=1)),
    "open_directions": Param(ListOf(Int(ge=1, le=12)), []),
    "setting": Param(None),  # validated per sweep point
    "sweep": Param(None, None),
    "seeds": Param(Int(ge=1)),
    "target": Param(None),
    "tolerance": Param(Record(TOLERANCE, what="tolerance")),
    "baseline": Param(Str(pattern=ID_PATTERN, pattern_doc="a predictor name")),
    "tiers": Param(None, None),
    "budget": Param(Record(BUDGET, what="budget"), {"predict_seconds": 60.0}),
}


@dataclass(frozen=True)
class Target:
    """The quantity a benchmark measures and predictors forecast.

    Attributes:
        quantity: name in :data:`harness.components.QUANTITIES`.
        params: the quantity's normalized parameters.
        statistic: the across-seed statistic forecast: ``mean``, ``median``, ``logmean``
            (``exp(mean(ln y))``), ``mode`` (labels) or ``quantiles`` (a distribution, forecast by
            its quantiles at the levels ``quantiles``).
        grid: the grid spec as written (resolved per point into :attr:`Point.grid`).
        derive: a target derived across the sweep (:mod:`harness.derive`), or ``None``.
        quantiles: quantile levels for ``statistic: quantiles``.
    """

    quantity: str
    params: Mapping[str, Any]
    statistic: str
    grid: Any = None
    derive: Derive | None = None
    quantiles: tuple[float, ...] | None = None

    @property
    def quantity_class(self) -> type:
        return QUANTITIES.get(self.quantity)


@dataclass(frozen=True)
class Tolerance:
    """How forecasts are scored; see ``docs/statistics.md``."""

    metric: str
    value: float
    aggregate: str = "mean"
    floor: float = 0.0
    z_floor: float = 0.02
    rank_over: str | None = None


@dataclass(frozen=True)
class Point:
    """One sweep point of a resolved benchmark tier.

    Attributes:
        index: position in the sweep.
        coords: the swept values, as ``{dotted path relative to setting: value}``.
        label: a short human-readable form of ``coords``.
        setting: the complete, normalized setting at this point.
        grid: observation steps for curve targets, else ``None``.
        shape: the shape of the target at this point (per seed).
        key: content hash of everything that changes a measured number at this point.
    """

    index: int
    coords: Mapping[str, Any]
    label: str
    setting: Mapping[str, Any]
    grid: tuple[int, ...] | None
    shape: tuple[int, ...]
    key: str
    forecast_shape: tuple[int, ...] = ()

    @property
    def members(self) -> tuple[int, ...]:
        return (self.index,)


@dataclass(frozen=True)
class Group:
    """Sweep points that differ only in the derived target's ``x`` (see :mod:`harness.derive`).

    Attributes:
        index: position among the groups.
        label: the group's fixed sweep values in words (``"default"`` if nothing else is swept).
        coords: the group's fixed sweep values.
        members: indices of its points, sorted by ``x``.
        x: the ``x`` values of the members.
        forecast_shape: the shape of the derived value a predictor forecasts.
        key: content hash of the group's point keys and the derive block.
        anchor: for an anchored argmin, the points of the group's anchor, sorted by ``x``.
        anchor_x: their ``x`` values.
    """

    index: int
    label: str
    coords: Mapping[str, Any]
    members: tuple[int, ...]
    x: tuple[float, ...]
    forecast_shape: tuple[int, ...]
    key: str
    anchor: tuple[int, ...] = ()
    anchor_x: tuple[float, ...] = ()


@dataclass(frozen=True)
class Benchmark:
    """A benchmark spec resolved at one tier."""

    id: str
    version: int
    pillar: str
    title: str
    claim: str
    references: tuple[str, ...]
    open_directions: tuple[int, ...]
    tier: str
    seeds: int
    target: Target
    tolerance: Tolerance
    baseline: str
    budget_seconds: float
    points: tuple[Point, ...]
    path: str
    spec_hash: str = field(default="")
    groups: tuple[Group, ...] = ()

    @property
    def seed_indices(self) -> range:
        return range(self.seeds)

    @property
    def units(self) -> tuple[Point, ...] | tuple[Group, ...]:
        """What predictors forecast: the groups of a derived target, else the sweep points."""
        return self.groups if self.target.derive is not None else self.points

    def point(self, index: int) -> Point:
        return self.points[index]


# --------------------------------------------------------------------------------------------
# helpers


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else in ``override`` replaces ``base``."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(override)


def _set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set ``tree[a][b]... = value`` for the dotted ``path``; a numeric part indexes into a list
    (``model.widths.0`` is the first hidden width). Copies what it changes, so ``tree``'s values may be
    shared with the spec. Raises ``IndexError`` for an index beyond the list."""
    parts = path.split(".")
    node: Any = tree
    for i, part in enumerate(parts[:-1]):
        key: Any = int(part) if isinstance(node, list) else part
        child = node[key] if isinstance(node, list) else node.get(part)
        if isinstance(child, str):  # component shorthand "name" -> {"kind": name}
            child = {"kind": child}
        if isinstance(child, list) and parts[i + 1].isdigit():
            child = list(child)
        elif isinstance(child, dict):
            child = dict(child)
        else:
            child = {}
        node[key] = child
        node = child
    if isinstance(node, list):
        index = int(parts[-1])
        if index >= len(node):
            raise IndexError(f"index {index} is beyond the {len(node)} element(s) of the list")
        node[index] = copy.deepcopy(value)
    else:
        node[parts[-1]] = copy.deepcopy(value)


def _short_name(path: str) -> str:
    """The last part of a dotted path for labels: ``optimizer.lr`` → ``lr``, ``model.widths.0`` → ``widths[0]``."""
    head, _, last = path.rpartition(".")
    if last.isdigit() and head:
        return f"{head.rsplit('.', 1)[-1]}[{last}]"
    return last


def _format_value(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}={_format_value(v)}" for k, v in value.items() if k != "kind")
        kind = value.get("kind", "")
        return f"{kind}({inner})" if inner else str(kind)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def point_label(coords: Mapping[str, Any]) -> str:
    """``{"optimizer.lr": 0.5, "model.depth": 2}`` → ``"lr=0.5, depth=2"``."""
    if not coords:
        return "default"
    return ", ".join(f"{_short_name(path)}={_format_value(v)}" for path, v in coords.items())


def resolve_grid(spec: Any, steps: int) -> tuple[int, ...]:
    """Observation steps from a grid spec: an explicit list, ``{kind: log|linear, num}`` over
    ``0..steps``, or ``{kind: last}`` (the last step, for sweeps whose points train for different
    numbers of steps)."""
    if isinstance(spec, list):
        return tuple(sorted({int(s) for s in spec}))
    if spec["kind"] == "last":
        return (int(steps),)
    num = spec["num"]
    if spec["kind"] == "linear" or steps < 2:
        values = np.linspace(0, steps, num)
    else:
        values = np.concatenate([[0.0], np.geomspace(1, steps, num - 1)])
    return tuple(sorted({int(round(v)) for v in values}))


def _expand_sweep(sweep: Any, path: str, checker: Checker) -> list[dict[str, Any]]:
    """The sweep as a list of ``{dotted path: value}`` points (product of lists, or an explicit list)."""
    if sweep is None:
        return [{}]
    if isinstance(sweep, Mapping):
        axes = []
        for key, values in sweep.items():
            if not isinstance(key, str) or not key:
                checker.issue(
                    f"{path}.{key}", "sweep keys are dotted paths into setting, e.g. optimizer.lr"
                )
                return [{}]
            if not isinstance(values, list) or not values:
                checker.issue(f"{path}.{key}", "expected a non-empty list of values to sweep over")
                return [{}]
            axes.append([(key, v) for v in values])
        return [dict(combo) for combo in itertools.product(*axes)]
    if isinstance(sweep, list):
        points = []
        for i, entry in enumerate(sweep):
            if not isinstance(entry, Mapping) or not entry:
                checker.issue(
                    f"{path}[{i}]", "each sweep point is a non-empty mapping {dotted path: value}"
                )
                continue
            points.append(dict(entry))
        return points or [{}]
    checker.issue(path, "expected a mapping {path: [values]} (product) or a list of points")
    return [{}]


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


def _strip(values: Mapping[str, Any], params: Mapping[str, Param]) -> dict[str, Any]:
    """``values`` without the fields equal to their declared default (recursively for components)."""
    out = {}
    for name, value in values.items():
        param = params.get(name)
        if param is not None and not param.required and value == param.default:
            continue
        if (
            param is not None
            and isinstance(param.validator, Component)
            and isinstance(value, Mapping)
        ):
            value = {
                "kind": value["kind"],
                **_strip(
                    {k: v for k, v in value.items() if k != "kind"},
                    param.validator.registry.get(value["kind"]).PARAMS,
                ),
            }
        out[name] = value
    return out


def without_defaults(setting: Mapping[str, Any]) -> dict[str, Any]:
    """The setting as hashed: fields equal to their default are left out, so that adding an optional
    field (with a default that keeps the old behaviour) to a component changes no existing key."""
    return _strip(setting, SETTING)


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
        shape = () if derive.kind == "argmin" else members[0].shape
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


def load_benchmark(
    path: str | Path,
    tier: str = "default",
    *,
    known_predictors: Iterable[str] | None = None,
) -> Benchmark:
    """Load, validate and resolve one spec file at ``tier``.

    All tiers are validated, so an error in any tier's overrides is reported whichever tier is
    asked for.

    Args:
        path: the YAML file.
        tier: ``smoke``, ``default`` or ``full``.
        known_predictors: if given, ``baseline`` must be one of them.

    Raises:
        SpecError: with every problem found, each naming the file and the field.
    """
    return load_benchmark_tiers(path, known_predictors=known_predictors)[tier]


def load_benchmark_tiers(
    path: str | Path, *, known_predictors: Iterable[str] | None = None
) -> dict[str, Benchmark]:
    """Load one spec file and resolve every tier; see :func:`load_benchmark`."""
    file = str(path)
    raw = load_yaml(path)
    checker = Checker(file)
    if not isinstance(raw, Mapping):
        raise SpecError([Issue(file, "", "a benchmark spec is a YAML mapping (key: value lines)")])
    for key in raw:
        if key not in TOP_LEVEL:
            checker.issue(
                str(key),
                f"unknown field{did_you_mean(str(key), TOP_LEVEL)}; known fields: {', '.join(TOP_LEVEL)}",
            )
    tiers_raw = raw.get("tiers") or {}
    if not isinstance(tiers_raw, Mapping):
        checker.issue("tiers", "expected a mapping {smoke: {...}, default: {...}, full: {...}}")
        tiers_raw = {}
    for tier, override in tiers_raw.items():
        if tier not in TIERS:
            checker.issue(
                f"tiers.{tier}",
                f"unknown tier{did_you_mean(str(tier), TIERS)}; tiers are {', '.join(TIERS)}",
            )
        elif override is not None and not isinstance(override, Mapping):
            checker.issue(f"tiers.{tier}", "expected a mapping of overrides")
        else:
            for key in override or {}:
                if key not in OVERRIDABLE:
                    checker.issue(
                        f"tiers.{tier}.{key}",
                        f"a tier may override only {', '.join(OVERRIDABLE)}{did_you_mean(str(key), OVERRIDABLE)}",
                    )
    stem = Path(file).stem
    if isinstance(raw.get("id"), str) and raw["id"] != stem:
        checker.issue(
            "id",
            f"{raw['id']!r} must match the file name {stem!r} (ids are immutable; rename the file)",
        )
    parent = Path(file).parent.name
    if raw.get("pillar") in PILLARS and parent in PILLARS and raw["pillar"] != parent:
        checker.issue("pillar", f"{raw['pillar']!r} but the file is in benchmarks/{parent}/")
    if known_predictors is not None and isinstance(raw.get("baseline"), str):
        names = list(known_predictors)
        if raw["baseline"] not in names:
            checker.issue(
                "baseline",
                f"unknown predictor {raw['baseline']!r}{did_you_mean(raw['baseline'], names)}",
            )
    resolved: dict[str, Benchmark] = {}
    base_messages: set[tuple[str, str]] = set()
    issues: list[Issue] = list(checker.issues)
    for tier in ("default", *[t for t in TIERS if t != "default"]):
        merged = {k: v for k, v in raw.items() if k != "tiers" and k in TOP_LEVEL}
        override = tiers_raw.get(tier) if isinstance(tiers_raw.get(tier), Mapping) else {}
        override = {k: v for k, v in override.items() if k in OVERRIDABLE}
        merged = deep_merge(merged, override)
        tier_checker = Checker(file)
        benchmark = _validate_tier(merged, tier, file, tier_checker)
        for issue in tier_checker.issues:
            signature = (issue.field, issue.message)
            if tier == "default":
                base_messages.add(signature)
                issues.append(issue)
            elif signature not in base_messages:
                issues.append(Issue(file, f"tiers.{tier}: {issue.field}", issue.message))
        if benchmark is not None:
            resolved[tier] = benchmark
    if issues:
        raise SpecError(_dedupe(issues))
    return resolved


def _dedupe(issues: Sequence[Issue]) -> list[Issue]:
    out, seen = [], set()
    for issue in issues:
        if (issue.field, issue.message) not in seen:
            seen.add((issue.field, issue.message))
            out.append(issue)
    return out


def find_spec_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into spec files (``*.yaml``/``*.yml``, sorted, cards excluded)."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        else:
            out.append(path)
    return out


def load_benchmarks(
    root: str | Path, tier: str = "default", *, known_predictors: Iterable[str] | None = None
) -> list[Benchmark]:
    """Load every spec under ``root`` (``benchmarks/``) at ``tier``, reporting all problems at once."""
    benchmarks, issues = [], []
    ids: dict[str, str] = {}
    for path in find_spec_files([root]):
        try:
            benchmark = load_benchmark(path, tier, known_predictors=known_predictors)
        except SpecError as exc:
            issues.extend(exc.issues)
            continue
        if benchmark.id in ids:
            issues.append(
                Issue(str(path), "id", f"{benchmark.id!r} is also the id of {ids[benchmark.id]}")
            )
        ids[benchmark.id] = str(path)
        benchmarks.append(benchmark)
    if issues:
        raise SpecError(issues)
    return sorted(benchmarks, key=lambda b: (PILLARS.index(b.pillar), b.id))
