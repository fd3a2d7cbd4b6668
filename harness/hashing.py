"""Canonical JSON and content hashes.

A content hash is the SHA-256 of the *canonical JSON* of a value: keys sorted, no whitespace,
floats written with Python's shortest round-trip ``repr``, non-finite floats as the strings
``"inf"``, ``"-inf"`` and ``"nan"``. Specs are normalized by the schema before hashing (``lr: 1``
and ``lr: 1.0`` are the same float), so a hash changes only when a number would.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["canonical_json", "content_hash", "jsonable"]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see module docstring)."""
    return json.dumps(
        jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_hash(value: Any, length: int = 64) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``, truncated to ``length`` characters."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:length]
