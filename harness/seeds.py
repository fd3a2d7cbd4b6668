"""The seed schedule and named random streams.

Seeds are not chosen by benchmark authors: seed index ``k`` of benchmark ``id`` has root entropy
``(H(id), k)`` with ``H`` the first 8 bytes of SHA-256 of ``"theorybench:" + id``. Each seed is
split into *named streams* — ``data`` (teacher and training set), ``init`` (initial weights),
``sgd`` (minibatches and online samples), ``eval`` — so that changing, say, the batch schedule does
not change the initialization. All sweep points of a benchmark share a seed's streams (common
random numbers), which makes differences between points less noisy; the statistics resample seeds
jointly across points for that reason.

Predictors get a ``population`` stream that is not a function of any seed index, so a Monte Carlo
predictor sees fresh draws of the same distribution, never the training draws.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["STREAMS", "population_rng", "stream_rng"]

STREAMS = ("data", "init", "sgd", "eval")
_POPULATION = 0x9E3779B9  # a stream code no seed index uses


def _code(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def stream_rng(benchmark_id: str, seed_index: int, stream: str) -> np.random.Generator:
    """The numpy generator of one named stream of one seed of a benchmark."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; streams are {', '.join(STREAMS)}")
    if seed_index < 0:
        raise ValueError("seed index must be >= 0")
    entropy = [_code("theorybench:" + benchmark_id), int(seed_index), _code("stream:" + stream)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def population_rng(benchmark_id: str, purpose: str = "population") -> np.random.Generator:
    """A generator for predictors, independent of every training stream of the benchmark."""
    entropy = [_code("theorybench:" + benchmark_id), _POPULATION, _code("population:" + purpose)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
