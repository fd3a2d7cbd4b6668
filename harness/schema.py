"""A small strict schema language for YAML specs.

Every validator checks one value, appends :class:`~harness.errors.Issue` objects (file, dotted
field, message) to a :class:`Checker` instead of raising, and returns the *normalized* value
(ints promoted to floats where a float is expected, defaults filled in), so that every problem in a
file is reported at once and the normalized spec hashes the same however it was written.

YAML 1.1 traps are caught where the expected type is known:

- ``1e-3`` is a string to PyYAML (an exponent float needs a dot): a float field that receives a
  numeric-looking string says "write 1.0e-3";
- ``yes``/``no``/``on``/``off`` are booleans: a text field that receives a boolean says "quote it";
- an integer field that receives ``1.0e4`` says "write 10000".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Issue, SpecError
from .registry import Registry, did_you_mean

__all__ = [
    "Bool",
    "Checker",
    "Component",
    "Enum",
    "Float",
    "Int",
    "ListOf",
    "MappingOf",
    "OneOf",
    "Param",
    "Record",
    "Str",
    "Validator",
    "validate_params",
]

_MISSING = object()
_FLOATLIKE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|nan)$", re.IGNORECASE)


class Checker:
    """Collects issues for one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []

    def issue(self, path: str, message: str) -> None:
        self.issues.append(Issue(self.file, path, message))

    def raise_if_any(self) -> None:
        if self.issues:
            raise SpecError(self.issues)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {value} (YAML reads yes/no/on/off/true/false as booleans)"
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


class Validator:
    """Base class: ``check(value, path, checker)`` returns the normalized value (or _MISSING on error)."""

    doc: str = ""

    def check(self, value: Any, path: str, checker: Checker) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__.lower()


@dataclass(frozen=True)
class Float(Validator):
    """A real number, optionally bounded: ``gt``/``ge`` below, ``lt``/``le`` above."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    finite: bool = True

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = ""
            if isinstance(value, str) and _FLOATLIKE.match(value.strip()):
                fixed = value.strip()
                if "e" in fixed.lower() and "." not in fixed.lower().split("e")[0]:
                    mantissa, _, exponent = fixed.lower().partition("e")
                    fixed = f"{mantissa}.0e{exponent}"
                hint = (
                    f"; YAML 1.1 reads it as text, not a number: write {fixed} "
                    "(an exponent float needs a dot)"
                )
            checker.issue(path, f"expected a number, got {_describe(value)}{hint}")
            return _MISSING
        value = float(value)
        if self.finite and not math.isfinite(value):
            checker.issue(path, f"expected a finite number, got {value}")
            return _MISSING
        for bound, ok, word in (
            (self.gt, lambda b: value > b, ">"),
            (self.ge, lambda b: value >= b, ">="),
            (self.lt, lambda b: value < b, "<"),
            (self.le, lambda b: value <= b, "<="),
        ):
            if bound is not None and not ok(bound):
                checker.issue(path, f"must be {word} {bound:g}, got {value:g}")
                return _MISSING
        return value

    def describe(self) -> str:
        bounds = [
            f"{w} {b:g}"
            for b, w in ((self.gt, ">"), (self.ge, ">="), (self.lt, "<"), (self.le, "<="))
            if b is not None
        ]
        return "number" + (f" ({', '.join(bounds)})" if bounds else "")


@dataclass(frozen=True)
class Int(Validator):
    """An integer, optionally bounded (inclusive ``ge``/``le``)."""

    ge: int | None = None
    le: int | None = None

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, float) and value.is_integer():
                hint = f"; write {int(value)} (no decimal point or exponent)"
            elif isinstance(value, str) and _FLOATLIKE.match(value.strip()):
                hint = "; YAML 1.1 reads an exponent number without a dot as text: write the integer out"
            checker.issue(path, f"expected an integer, got {_describe(value)}{hint}")
            return _MISSING
        if self.ge is not None and value < self.ge:
            checker.issue(path, f"must be >= {self.ge}, got {value}")
            return _MISSING
        if self.le is not None and value > self.le:
            checker.issue(path, f"must be <= {self.le}, got {value}")
            return _MISSING
        return value

    def describe(self) -> str:
        bounds = [f"{w} {b}" for b, w in ((self.ge, ">="), (self.le, "<=")) if b is not None]
        return "integer" + (f" ({', '.join(bounds)})" if bounds else "")


@dataclass(frozen=True)
class Str(Validator):
    """Text, optionally matching a regular expression."""

    pattern: str | None = None
    pattern_doc: str = ""
    nonempty: bool = True

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if not isinstance(value, str):
            hint = "; quote it" if isinstance(value, (bool, int, float)) else ""
            checker.issue(path, f"expected text, got {_describe(value)}{hint}")
            return _MISSING
        if self.nonempty and not value.strip():
            checker.issue(path, "must not be empty")
            return _MISSING
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            checker.issue(
                path, f"{value!r} is not {self.pattern_doc or 'of the form ' + self.pattern}"
            )
            return _MISSING
        return value

    def describe(self) -> str:
        return "text"


@dataclass(frozen=True)
class Bool(Validator):
    """true or false."""

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if not isinstance(value, bool):
            checker.issue(path, f"expected true or false, got {_describe(value)}")
            return _MISSING
        return value


@dataclass(frozen=True)
class Enum(Validator):
    """One of a fixed set of text values."""

    choices: tuple[str, ...]

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if isinstance(value, bool):
            checker.issue(
                path, f"expected one of {', '.join(self.choices)}; got {_describe(value)}; quote it"
            )
            return _MISSING
        if value not in self.choices:
            checker.issue(
                path,
                f"expected one of {', '.join(self.choices)}; got {_describe(value)}"
                f"{did_you_mean(str(value), self.choices)}",
            )
            return _MISSING
        return value

    def describe(self) -> str:
        return " | ".join(self.choices)


@dataclass(frozen=True)
class ListOf(Validator):
    """A list whose items all pass ``item``; optional length bounds."""

    item: Validator
    min_len: int = 0
    max_len: int | None = None

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if not isinstance(value, list):
            checker.issue(
                path, f"expected a list of {self.item.describe()}, got {_describe(value)}"
            )
            return _MISSING
        if len(value) < self.min_len:
            checker.issue(path, f"needs at least {self.min_len} item(s), got {len(value)}")
            return _MISSING
        if self.max_len is not None and len(value) > self.max_len:
            checker.issue(path, f"takes at most {self.max_len} item(s), got {len(value)}")
            return _MISSING
        out = [self.item.check(v, _join(path, i), checker) for i, v in enumerate(value)]
        return _MISSING if any(v is _MISSING for v in out) else out

    def describe(self) -> str:
        return f"list of {self.item.describe()}"


@dataclass(frozen=True)
class OneOf(Validator):
    """The first alternative that accepts the value wins; otherwise all alternatives are listed."""

    options: tuple[Validator, ...]

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        for option in self.options:
            trial = Checker(checker.file)
            out = option.check(value, path, trial)
            if not trial.issues:
                return out
        checker.issue(
            path,
            f"expected {' or '.join(o.describe() for o in self.options)}, got {_describe(value)}",
        )
        return _MISSING

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)


@dataclass(frozen=True)
class Param:
    """A named field of a record or component: its validator, default and documentation."""

    validator: Validator
    default: Any = _MISSING
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def validate_params(
    params: Mapping[str, Param], value: Mapping[str, Any], path: str, checker: Checker, *, what: str
) -> dict[str, Any]:
    """Validate a mapping against ``params``: unknown keys (with did-you-mean), missing keys, types."""
    out: dict[str, Any] = {}
    for key in value:
        if key not in params:
            known = ", ".join(params) or "none"
            checker.issue(
                _join(path, str(key)),
                f"unknown field for {what}{did_you_mean(str(key), params)}; known fields: {known}",
            )
    for name, param in params.items():
        if name in value:
            checked = param.validator.check(value[name], _join(path, name), checker)
            if checked is not _MISSING:
                out[name] = checked
        elif param.required:
            checker.issue(
                _join(path, name),
                f"required field of {what} is missing ({param.validator.describe()})",
            )
        else:
            out[name] = param.default
    return out


@dataclass(frozen=True)
class Record(Validator):
    """A mapping with a fixed set of fields."""

    params: Mapping[str, Param]
    what: str = "this section"

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if not isinstance(value, Mapping):
            checker.issue(path, f"expected a mapping for {self.what}, got {_describe(value)}")
            return _MISSING
        return validate_params(self.params, value, path, checker, what=self.what)

    def describe(self) -> str:
        return f"mapping ({self.what})"


@dataclass(frozen=True)
class MappingOf(Validator):
    """A mapping from text keys to values that all pass ``item``."""

    item: Validator
    key_pattern: str | None = None

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        if not isinstance(value, Mapping):
            checker.issue(path, f"expected a mapping, got {_describe(value)}")
            return _MISSING
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or (
                self.key_pattern and not re.fullmatch(self.key_pattern, key)
            ):
                checker.issue(_join(path, str(key)), f"invalid key {key!r}")
                continue
            checked = self.item.check(item, _join(path, key), checker)
            if checked is not _MISSING:
                out[key] = checked
        return out

    def describe(self) -> str:
        return f"mapping of {self.item.describe()}"


@dataclass(frozen=True)
class Component(Validator):
    """A registered component, written ``{kind: NAME, ...params}`` or just ``NAME``.

    The registry holds classes with a ``PARAMS: dict[str, Param]`` attribute (the component's schema)
    and an optional ``check_params(params, path, checker)`` classmethod for cross-field rules.
    """

    registry: Registry[Any]

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        registry = self.registry
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, Mapping):
            checker.issue(
                path,
                f"expected a {registry.what} (a name, or a mapping with 'kind'), got {_describe(value)}",
            )
            return _MISSING
        kind = value.get("kind")
        if kind is None:
            checker.issue(
                _join(path, "kind"),
                f"missing: which {registry.what}? known: {', '.join(registry.names())}",
            )
            return _MISSING
        if kind not in registry:
            checker.issue(
                _join(path, "kind"),
                f"unknown {registry.what} {kind!r}{did_you_mean(str(kind), registry.names())}; "
                f"known: {', '.join(registry.names())}",
            )
            return _MISSING
        cls = registry.get(kind)
        rest = {k: v for k, v in value.items() if k != "kind"}
        n_before = len(checker.issues)
        params = validate_params(cls.PARAMS, rest, path, checker, what=f"{registry.what} {kind!r}")
        if len(checker.issues) == n_before and hasattr(cls, "check_params"):
            cls.check_params(params, path, checker)
        return {"kind": kind, **params}

    def describe(self) -> str:
        return self.registry.what


def is_missing(value: Any) -> bool:
    """True if a validator rejected the value."""
    return value is _MISSING
