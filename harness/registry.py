"""Lazy, string-addressed registries with "did you mean".

A :class:`Registry` maps a name to an object, or to a ``"module:attribute"`` string that is imported
only when the name is first used (the lm-eval lesson: ``import harness`` must not import torch or
every component). Lookups of unknown names raise :class:`~harness.errors.UnknownNameError` with the
closest known names.

Example:
    >>> reg = Registry("model")
    >>> reg.register("linear", "harness.components.models:Linear")
    >>> reg.names()
    ('linear',)
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")

__all__ = ["Registry", "did_you_mean", "import_string"]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest candidate, or ``""`` if none is close."""
    matches = difflib.get_close_matches(str(name), list(candidates), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"


def import_string(target: str) -> object:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise ValueError(f"expected 'module:attribute', got {target!r}")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attribute!r}") from None


class Registry(Generic[T]):
    """Names to objects, resolved lazily from ``"module:attr"`` strings.

    Args:
        what: what the registry holds, used in error messages ("data generator", "predictor", …).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T | str] = {}
        self._frozen = False

    def register(self, name: str, target: T | str, *, replace: bool = False) -> None:
        """Register ``target`` (an object or a ``"module:attr"`` string) under ``name``."""
        if self._frozen:
            raise RuntimeError(f"the {self.what} registry is frozen")
        if name in self._entries and not replace:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = target

    def freeze(self) -> None:
        """Refuse further registrations (after discovery)."""
        self._frozen = True

    def get(self, name: str) -> T:
        """Return the object registered under ``name``, importing it on first use."""
        try:
            entry = self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(
                f"unknown {self.what} {name!r}{did_you_mean(str(name), self._entries)}; "
                f"known: {', '.join(sorted(self._entries)) or 'none'}"
            ) from None
        if isinstance(entry, str):
            entry = import_string(entry)  # type: ignore[assignment]
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def names(self) -> tuple[str, ...]:
        """All registered names, sorted."""
        return tuple(sorted(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
