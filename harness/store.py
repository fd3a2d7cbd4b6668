"""Content-addressed JSON storage of measurements and predictions.

One file per unit of work, written atomically (temporary file in the same folder, ``fsync``,
``os.replace``), so a run killed at any moment leaves either the whole file or none of it, and a
rerun resumes with nothing lost. Every file carries ``schema_version`` and the full key it was
stored under; a read re-checks the key and ignores files that do not match.

Layout under a store root (``.theorybench/store`` for local runs, ``leaderboard/results`` for the
committed tiers)::

    measurements/<benchmark>/<point key[:16]>/<environment>/seed-<k>.json
    predictions/<benchmark>/<predictor>/<problem key[:16]>.json

``<environment>`` is ``<engine>-<engine version>-<device class>-<dtype>-m<measure version>``. The
file formats are documented in ``docs/formats.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError
from .hashing import canonical_json, jsonable

__all__ = [
    "SCHEMA_VERSION",
    "Store",
    "StoreChain",
    "decode_array",
    "environment_slug",
    "read_record",
    "write_json_atomic",
]

SCHEMA_VERSION = 1
_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def environment_slug(env: Mapping[str, Any]) -> str:
    """The folder name of a measurement environment."""
    text = f"{env['engine']}-{env['engine_version']}-{env['device_class']}-{env['dtype']}-m{env['measure_version']}"
    return _SAFE.sub("_", text)


def write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    """Write JSON so that readers see the old file or the complete new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(jsonable(payload), indent=1, sort_keys=True, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def decode_array(value: Any) -> np.ndarray:
    """Inverse of :func:`harness.hashing.jsonable` for numeric arrays ("inf"/"nan" strings back to floats)."""

    def convert(v: Any) -> Any:
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, str):
            return float(v)
        return v

    return np.asarray(convert(value), dtype=np.float64)


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable: treated as missing, so it is recomputed and replaced
    return data if isinstance(data, dict) and data.get("schema_version") == SCHEMA_VERSION else None


class Store:
    """One store root.

    Args:
        root: the folder.
        writable: whether results may be written here.
    """

    def __init__(self, root: str | Path, *, writable: bool = True) -> None:
        self.root = Path(root)
        self.writable = writable

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}, writable={self.writable})"

    # measurements ---------------------------------------------------------------------------
    def measurement_path(self, key: Mapping[str, Any]) -> Path:
        env = environment_slug(key)
        return (
            self.root
            / "measurements"
            / key["benchmark"]
            / key["point"][:16]
            / env
            / f"seed-{int(key['seed']):04d}.json"
        )

    def read_measurement(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        data = read_record(self.measurement_path(key))
        if (
            data is None
            or data.get("kind") != "measurement"
            or data.get("key") != jsonable(dict(key))
        ):
            return None
        return data

    def _check_writable(self) -> None:
        if not self.writable:
            raise StoreError(
                f"the store {self.root} is read-only here (use --publish to write the committed results)"
            )

    def write_measurement(self, key: Mapping[str, Any], record: Mapping[str, Any]) -> Path:
        self._check_writable()
        path = self.measurement_path(key)
        write_json_atomic(
            path,
            {"schema_version": SCHEMA_VERSION, "kind": "measurement", "key": dict(key), **record},
        )
        return path

    # predictions ----------------------------------------------------------------------------
    def prediction_path(self, benchmark: str, predictor: str, problem: str) -> Path:
        return (
            self.root
            / "predictions"
            / benchmark
            / _SAFE.sub("_", predictor)
            / f"{problem[:16]}.json"
        )

    def read_prediction(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        data = read_record(self.prediction_path(key["benchmark"], key["predictor"], key["problem"]))
        if (
            data is None
            or data.get("kind") != "prediction"
            or data.get("key") != jsonable(dict(key))
        ):
            return None
        return data

    def read_prediction_any_version(
        self, benchmark: str, predictor: str, problem: str
    ) -> dict[str, Any] | None:
        """The stored forecast of a predictor for a problem, whatever version made it."""
        data = read_record(self.prediction_path(benchmark, predictor, problem))
        if (
            data is None
            or data.get("kind") != "prediction"
            or data.get("key", {}).get("problem") != problem
        ):
            return None
        return data

    def write_prediction(self, key: Mapping[str, Any], record: Mapping[str, Any]) -> Path:
        self._check_writable()
        path = self.prediction_path(key["benchmark"], key["predictor"], key["problem"])
        write_json_atomic(
            path,
            {"schema_version": SCHEMA_VERSION, "kind": "prediction", "key": dict(key), **record},
        )
        return path

    def predictors(self, benchmark: str) -> list[str]:
        """Names of predictors with stored forecasts for ``benchmark``."""
        folder = self.root / "predictions" / benchmark
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def files(self) -> Iterator[Path]:
        yield from (p for p in self.root.rglob("*.json")) if self.root.is_dir() else ()


class StoreChain:
    """Stores read in order (local first, then the committed results); writes go to ``write_to``.

    With ``promote=True`` (publishing), a record found in another store is copied into ``write_to``,
    so that publishing a tier puts everything it needs into the committed results.
    """

    def __init__(self, stores: Sequence[Store], write_to: Store, *, promote: bool = False) -> None:
        self.stores = list(stores)
        self.write_to = write_to
        self.promote = promote
        if write_to not in self.stores:
            self.stores.insert(0, write_to)
        # measurements found, by key: planning a run and scoring it read the same records; only
        # hits are kept (a miss may be written by this run), and a write drops its key
        self._found: dict[str, dict[str, Any]] = {}

    def promoted(self, store: Store, record: dict[str, Any], kind: str) -> dict[str, Any]:
        """Return ``record`` (found in ``store``), copying it into ``write_to`` first when promoting."""
        if self.promote and store is not self.write_to:
            body = {k: v for k, v in record.items() if k not in ("schema_version", "kind", "key")}
            write = (
                self.write_to.write_measurement
                if kind == "measurement"
                else self.write_to.write_prediction
            )
            write(record["key"], body)
        return record

    def read_measurement(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        memo = canonical_json(key)
        if memo in self._found:
            return self._found[memo]
        for store in self.stores:
            found = store.read_measurement(key)
            if found is not None:
                self._found[memo] = self.promoted(store, found, "measurement")
                return self._found[memo]
        return None

    def write_measurement(self, key: Mapping[str, Any], record: Mapping[str, Any]) -> Path:
        self._found.pop(canonical_json(key), None)
        return self.write_to.write_measurement(key, record)

    def read_prediction(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        for store in self.stores:
            found = store.read_prediction(key)
            if found is not None:
                return self.promoted(store, found, "prediction")
        return None

    def write_prediction(self, key: Mapping[str, Any], record: Mapping[str, Any]) -> Path:
        return self.write_to.write_prediction(key, record)
