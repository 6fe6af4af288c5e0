"""Ctrl-C at safe points. A SIGINT delivered at an arbitrary instruction can land inside
Optuna's journal lock or an MLflow transaction (Optuna's lock then raises a RuntimeError that
hides the interruption). Inside a worker, the first Ctrl-C only sets a flag; the trial checks
it after each epoch and between trials and raises ``KeyboardInterrupt`` there. A second
Ctrl-C interrupts at once."""

from __future__ import annotations

import signal
import threading


class Interrupt:
    """Context manager: SIGINT sets ``requested`` (the second one raises immediately)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt
