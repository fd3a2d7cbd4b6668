"""Where things live: the project root (the folder with ``benchmarks/``), stores and the board."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TheorybenchError

__all__ = ["Paths", "find_root"]


def find_root(start: str | Path | None = None) -> Path:
    """The theorybench checkout: ``$THEORYBENCH_ROOT``, or the nearest folder above ``start`` (the
    working directory) that holds ``benchmarks/``."""
    env = os.environ.get("THEORYBENCH_ROOT")
    if env:
        root = Path(env)
        if not (root / "benchmarks").is_dir():
            raise TheorybenchError(f"THEORYBENCH_ROOT={env} has no benchmarks/ folder")
        return root.resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "benchmarks").is_dir():
            return folder
    raise TheorybenchError(
        f"no benchmarks/ folder in {here} or above: run theorybench inside a checkout, or pass --root or set THEORYBENCH_ROOT"
    )


class Paths:
    """The standard locations under a project root."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def benchmarks(self) -> Path:
        return self.root / "benchmarks"

    @property
    def leaderboard(self) -> Path:
        return self.root / "leaderboard"

    @property
    def published(self) -> Path:
        """Committed measurements and predictions of the smoke and default tiers."""
        return self.leaderboard / "results"

    @property
    def claims(self) -> Path:
        return self.leaderboard / "claims.yaml"

    @property
    def local_store(self) -> Path:
        """The git-ignored store of local runs (``$THEORYBENCH_STORE`` overrides it)."""
        env = os.environ.get("THEORYBENCH_STORE")
        return Path(env) if env else self.root / ".theorybench" / "store"
