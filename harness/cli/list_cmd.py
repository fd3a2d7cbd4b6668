"""List benchmarks (id, pillar, sweep points and seeds per tier), predictors and quantities."""

from __future__ import annotations

import argparse

from tabulate import tabulate

from ..components import QUANTITIES
from ..errors import SpecError
from ..paths import Paths, find_root
from ..plugins import available_predictors, load_predictor
from ..spec import TIERS, find_spec_files, load_benchmark_tiers
from .common import add_json, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what", nargs="?", choices=("benchmarks", "predictors", "quantities", "all"), default="all"
    )
    add_json(parser)


def _benchmarks(root) -> list[dict]:
    out = []
    for path in find_spec_files([Paths(root).benchmarks]):
        try:
            tiers = load_benchmark_tiers(path)
        except SpecError as exc:
            out.append(
                {"id": path.stem, "path": str(path), "valid": False, "problems": len(exc.issues)}
            )
            continue
        default = tiers["default"]
        out.append(
            {
                "id": default.id,
                "pillar": default.pillar,
                "version": default.version,
                "title": default.title,
                "quantity": default.target.quantity,
                "baseline": default.baseline,
                "path": str(path),
                "valid": True,
                "tiers": {t: {"points": len(b.points), "seeds": b.seeds} for t, b in tiers.items()},
            }
        )
    return out


def _predictors() -> list[dict]:
    out = []
    for name, source in available_predictors().items():
        try:
            info = load_predictor(name).info
            out.append(
                {
                    "name": info.name,
                    "kind": info.kind,
                    "version": info.version,
                    "quantities": list(info.quantities),
                    "fitted_on": list(info.fitted_on),
                    "source": source,
                    "description": info.description,
                }
            )
        except Exception as exc:  # a broken plugin must not break listing
            out.append({"name": name, "kind": "?", "source": source, "error": str(exc)})
    return out


def _quantities() -> list[dict]:
    out = []
    for name in QUANTITIES.names():
        cls = QUANTITIES.get(name)
        out.append(
            {
                "name": name,
                "shape": cls.shape_kind,
                "statistic": cls.default_statistic,
                "description": (cls.__doc__ or "").strip().splitlines()[0],
            }
        )
    return out


def main(args: argparse.Namespace) -> int:
    root = find_root(args.root) if args.root else find_root()
    payload = {}
    if args.what in ("benchmarks", "all"):
        payload["benchmarks"] = _benchmarks(root)
    if args.what in ("predictors", "all"):
        payload["predictors"] = _predictors()
    if args.what in ("quantities", "all"):
        payload["quantities"] = _quantities()
    if args.json:
        print_json(payload)
        return 0
    if "benchmarks" in payload:
        rows = []
        for b in payload["benchmarks"]:
            if not b["valid"]:
                rows.append(
                    [
                        b["id"],
                        "",
                        "",
                        f"INVALID ({b['problems']} problems: theorybench validate {b['path']})",
                        "",
                    ]
                )
                continue
            tiers = "  ".join(
                f"{t} {b['tiers'][t]['points']}×{b['tiers'][t]['seeds']}"
                for t in TIERS
                if t in b["tiers"]
            )
            rows.append([b["id"], b["pillar"], b["quantity"], b["title"], tiers])
        print(
            tabulate(rows, headers=["benchmark", "pillar", "quantity", "title", "points × seeds"])
        )
        print()
    if "predictors" in payload:
        rows = [
            [
                p["name"],
                p.get("kind", ""),
                ", ".join(p.get("quantities", [])),
                p["source"],
                p.get("error") or p.get("description", ""),
            ]
            for p in payload["predictors"]
        ]
        print(tabulate(rows, headers=["predictor", "kind", "quantities", "source", "description"]))
        print()
    if "quantities" in payload:
        rows = [
            [q["name"], q["shape"], q["statistic"], q["description"]] for q in payload["quantities"]
        ]
        print(tabulate(rows, headers=["quantity", "shape", "default statistic", "description"]))
    return 0
