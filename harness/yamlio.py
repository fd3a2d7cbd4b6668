"""YAML reading with PyYAML's safe loader, made strict.

``yaml.safe_load`` follows YAML 1.1, which has traps for numeric specs: ``1e-3`` loads as the
*string* ``"1e-3"`` (an exponent float needs a dot: ``1.0e-3``), ``no``/``off`` load as ``False``,
and a repeated key silently keeps the last value. The loader here is ``yaml.SafeLoader`` plus one
change: a repeated key is an error. The YAML 1.1 scalar traps are left to the schema
(:mod:`harness.schema`), which knows the expected type and explains the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Issue, SpecError


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys."""


def _construct_mapping(
    loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (line {line}); each key may appear once",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def load_yaml(path: str | Path) -> Any:
    """Read one YAML document safely and strictly.

    Raises:
        SpecError: the file is missing, is not valid YAML, or repeats a key; the issue names the file
            and the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            [Issue(str(path), "", f"cannot read file: {exc.strerror or exc}")]
        ) from None
    return load_yaml_text(text, str(path))


def load_yaml_text(text: str, filename: str = "<string>") -> Any:
    """Parse YAML text; see :func:`load_yaml`."""
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Issue(filename, "", f"invalid YAML: {where}{problem}")]) from None
