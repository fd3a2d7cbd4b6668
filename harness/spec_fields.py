"""The spec's field schemas and the pure helpers of resolution: deep-merging tiers, expanding
sweeps, labelling points, resolving observation grids, and the content-hash view of a setting
(defaults left out)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from .components import DATA, MODELS, OPTIMIZERS
from .schema import Checker, Component, Enum, Float, Int, ListOf, OneOf, Param, Record, Str
from .spec_types import PILLARS

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
