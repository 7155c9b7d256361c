"""The two ways a measurement ends early. Both become a record, never a traceback."""

from __future__ import annotations


class Skip(Exception):
    """This host cannot do it (a missing tool or interpreter): the record says `skipped` and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Failure(Exception):
    """It was tried and broke: the record says `failed`, why, and the last lines of the log."""

    def __init__(self, reason: str, log_tail: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail or []


class UsageError(Exception):
    """Bad input from the user (an unknown app, a results folder that cannot be written)."""
