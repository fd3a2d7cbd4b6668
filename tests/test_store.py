"""The store: atomic writes, key checks, and a measurement killed with SIGKILL that resumes losing nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from harness.store import Store, StoreChain, decode_array, write_json_atomic

from .conftest import write_project

KEY = {
    "benchmark": "b",
    "point": "0123456789abcdef0123",
    "seed": 3,
    "engine": "torch",
    "engine_version": "2.13.0+cpu",
    "device_class": "cpu",
    "dtype": "float64",
    "measure_version": 1,
}


def test_write_read_roundtrip_with_infinities(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_measurement(KEY, {"status": "ok", "value": np.array([1.0, np.inf, -np.inf])})
    found = store.read_measurement(KEY)
    assert found is not None and found["schema_version"] == 1
    assert np.array_equal(decode_array(found["value"]), [1.0, np.inf, -np.inf])
    assert not list(tmp_path.rglob("*.tmp"))


def test_key_mismatch_and_corrupt_files_read_as_missing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = store.write_measurement(KEY, {"status": "ok", "value": [1.0]})
    assert (
        store.read_measurement({**KEY, "dtype": "float32"}) is None
    )  # a different key never matches
    raw = json.loads(path.read_text())
    raw["key"]["seed"] = 4
    path.write_text(json.dumps(raw))
    assert store.read_measurement(KEY) is None
    path.write_text('{"schema_version": 1, "kind": "meas')  # truncated
    assert store.read_measurement(KEY) is None


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    import pytest

    from harness.errors import StoreError

    with pytest.raises(StoreError, match="read-only"):
        Store(tmp_path, writable=False).write_measurement(KEY, {"status": "ok", "value": [1.0]})


def test_atomic_write_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


SLOW_SPEC = {
    "many-points": """
        id: many-points
        version: 1
        pillar: solvable
        title: t
        claim: c
        references: [r]
        setting:
          data: {kind: gaussian_linear, d: 30, spectrum_exponent: 1.2, target_exponent: 1.2, noise_std: 0.1}
          model: {kind: linear}
          optimizer: {kind: sgd, lr: 0.1, batch_size: 8}
          train_size: online
          steps: 1500
        sweep:
          optimizer.lr: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
        seeds: 2
        target: {quantity: population_loss, grid: {kind: log, num: 10}}
        tolerance: {value: 0.1}
        baseline: gd-population
        """
}


def _measure(root: Path, store: Path) -> subprocess.Popen:
    env = {**os.environ, "THEORYBENCH_PROGRESS": "0", "THEORYBENCH_STORE": str(store)}
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "measure", "--jobs", "1"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _snapshot(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*.json")}


def test_sigkill_mid_measurement_loses_nothing_and_resumes(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", SLOW_SPEC)
    store = tmp_path / "killed"
    process = _measure(root, store)
    deadline = time.monotonic() + 120
    while (
        len(list(store.rglob("*.json"))) < 4
        and time.monotonic() < deadline
        and process.poll() is None
    ):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = _snapshot(store)
    assert 4 <= len(before) < 16, "the kill should land mid-run; make the spec slower if this fails"
    for name, data in before.items():  # nothing corrupt: every file is complete and keyed
        record = json.loads(data)
        assert record["status"] == "ok" and record["key"]["benchmark"] == "many-points", name

    resumed = _measure(root, store)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    after = _snapshot(store)
    assert len(after) == 16
    assert all(
        after[name] == data for name, data in before.items()
    )  # nothing finished was redone or lost

    reference_store = tmp_path / "uninterrupted"
    reference = _measure(root, reference_store)
    assert reference.wait(timeout=300) == 0
    clean = _snapshot(reference_store)
    assert set(clean) == set(after)
    for name in clean:  # the same bits as a run that was never interrupted
        assert json.loads(clean[name])["value"] == json.loads(after[name])["value"], name


def test_chain_remembers_hits_not_misses(tmp_path: Path) -> None:
    """A run reads each record twice (planning, then scoring): the chain keeps what it found, never
    a miss (this run may measure it), and forgets a key it writes."""
    chain = StoreChain([Store(tmp_path / "published")], Store(tmp_path / "local"))
    assert chain.read_measurement(KEY) is None
    chain.write_measurement(KEY, {"status": "ok", "value": np.array([1.0])})
    first = chain.read_measurement(KEY)
    assert first is not None and decode_array(first["value"]).tolist() == [1.0]
    for path in (tmp_path / "local").rglob("*.json"):
        path.unlink()  # a remembered hit is served without touching the disk again
    assert chain.read_measurement(KEY) is first
    chain.write_measurement(KEY, {"status": "ok", "value": np.array([2.0])})
    assert decode_array(chain.read_measurement(KEY)["value"]).tolist() == [2.0]
