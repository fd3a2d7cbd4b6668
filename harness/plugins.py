"""Finding predictors: built-ins, installed plugins, and files given on the command line.

Three sources, one namespace:

1. the built-ins of the ``predictors`` package (:data:`predictors.BUILTIN`);
2. installed distributions that declare the entry-point group ``theorybench.predictors``::

       [project.entry-points."theorybench.predictors"]
       my-theory = "my_package.module:MyPredictor"

3. ``path/to/file.py:ClassName`` given to ``--predictor`` (no packaging needed).

Nothing is imported until a predictor is used. A name defined twice is an error that names both
sources. ``THEORYBENCH_DISABLE_PLUGINS=1`` ignores installed plugins (built-ins only).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import PredictorLoadError
from .predictor import PredictorInfo, info_of
from .registry import did_you_mean, import_string

__all__ = ["LoadedPredictor", "available_predictors", "load_predictor", "load_predictors"]

ENTRY_POINT_GROUP = "theorybench.predictors"


@dataclass(frozen=True)
class LoadedPredictor:
    """A predictor instance with its metadata, where it came from and a hash of its code."""

    predictor: Any
    info: PredictorInfo
    code_hash: str

    @property
    def name(self) -> str:
        return self.info.name


def _sources() -> dict[str, tuple[str, str]]:
    """``{name: (target "module:attr", source description)}`` of built-ins and installed plugins."""
    from predictors import BUILTIN

    found: dict[str, tuple[str, str]] = {
        name: (target, "built-in") for name, target in BUILTIN.items()
    }
    if os.environ.get("THEORYBENCH_DISABLE_PLUGINS"):
        return found
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry.dist.name if entry.dist is not None else "an installed package"
        if entry.name in found:
            raise PredictorLoadError(
                f"predictor {entry.name!r} is defined twice: by {found[entry.name][1]} and by {dist}; rename one"
            )
        found[entry.name] = (entry.value, f"plugin from {dist}")
    return found


def available_predictors() -> dict[str, str]:
    """``{name: source}`` of every built-in and installed predictor (imports none of them)."""
    return {name: source for name, (_, source) in sorted(_sources().items())}


def _instantiate(obj: Any, where: str) -> Any:
    try:
        return obj() if inspect.isclass(obj) else obj
    except Exception as exc:
        raise PredictorLoadError(
            f"{where}: constructing the predictor failed: {type(exc).__name__}: {exc}"
        ) from None


@cache
def _package_hash() -> str:
    """Hash of the built-in predictors' code and the harness code they build on."""
    import harness.components
    import predictors

    digest = hashlib.sha256()
    folders = [Path(predictors.__file__).parent, Path(harness.components.__file__).parent]
    files = [
        *sorted(p for folder in folders for p in folder.rglob("*.py")),
        Path(__file__).parent / "predictor.py",
    ]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _module_hash(obj: Any) -> str:
    try:
        source = inspect.getsourcefile(
            obj if inspect.isclass(obj) or inspect.ismodule(obj) else type(obj)
        )
        if source:
            return hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]
    except (TypeError, OSError):
        pass
    return "unknown"


def _load_file(reference: str) -> tuple[Any, str]:
    path_text, _, attribute = reference.rpartition(":")
    path = Path(path_text)
    if not attribute or not path_text:
        raise PredictorLoadError(f"--predictor {reference!r}: write path/to/file.py:ClassName")
    if not path.is_file():
        raise PredictorLoadError(f"--predictor {reference!r}: no such file {path}")
    module_name = (
        "theorybench_user_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    )
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PredictorLoadError(f"--predictor {reference!r}: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PredictorLoadError(f"{path}: importing failed: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, attribute):
        names = [n for n in dir(module) if not n.startswith("_")]
        raise PredictorLoadError(f"{path} has no {attribute!r}{did_you_mean(attribute, names)}")
    return getattr(module, attribute), str(path)


def load_predictor(reference: str) -> LoadedPredictor:
    """Load a predictor by registry name or by ``path/to/file.py:ClassName``."""
    from_file = reference.endswith(".py") or ".py:" in reference
    if from_file:
        obj, where = _load_file(reference)
        predictor = _instantiate(obj, where)
        code_hash = _module_hash(obj)
        source = f"file {where}"
    else:
        sources = _sources()
        if reference not in sources:
            raise PredictorLoadError(
                f"unknown predictor {reference!r}{did_you_mean(reference, sources)}; known: {', '.join(sorted(sources))}"
            )
        target, source = sources[reference]
        try:
            obj = import_string(target)
        except Exception as exc:
            raise PredictorLoadError(
                f"predictor {reference!r} ({source}, {target}): {type(exc).__name__}: {exc}"
            ) from None
        predictor = _instantiate(obj, f"predictor {reference!r}")
        code_hash = _package_hash() if source == "built-in" else _module_hash(obj)
    try:
        info = info_of(predictor, source)
    except TypeError as exc:
        raise PredictorLoadError(f"{reference}: {exc}") from None
    if not from_file and info.name != reference:
        raise PredictorLoadError(
            f"predictor registered as {reference!r} calls itself {info.name!r}"
        )
    return LoadedPredictor(predictor, info, code_hash)


def load_predictors(references: list[str] | None = None) -> list[LoadedPredictor]:
    """Load the given predictors, or every built-in and installed one."""
    names = references if references else list(available_predictors())
    loaded = [load_predictor(ref) for ref in names]
    seen: dict[str, str] = {}
    for item in loaded:
        if item.name in seen:
            raise PredictorLoadError(
                f"two predictors are named {item.name!r}: {seen[item.name]} and {item.info.source}"
            )
        seen[item.name] = item.info.source
    return loaded
