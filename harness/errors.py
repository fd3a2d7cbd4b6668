"""Exceptions of theorybench. Every user-facing error names the file and the field it is about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in an input file.

    Attributes:
        file: the file the problem is in (as given by the user), or "" when there is none.
        field: dotted path of the offending field, e.g. ``setting.optimizer.lr``; "" for the whole file.
        message: what is wrong and, where possible, how to fix it.
    """

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class TheorybenchError(Exception):
    """Base class of errors that the CLI reports without a traceback."""


class SpecError(TheorybenchError):
    """A benchmark spec (or claims file) is invalid. Carries every issue found, not just the first."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class UnknownNameError(TheorybenchError, KeyError):
    """A name looked up in a registry does not exist; the message suggests close matches."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class PredictorLoadError(TheorybenchError):
    """A predictor could not be found or imported."""


class StoreError(TheorybenchError):
    """A stored result is unreadable or does not match its key."""
