"""Ctrl-C and SIGTERM at safe points. A signal delivered at an arbitrary instruction can land
inside Optuna's journal lock or an MLflow transaction (Optuna's lock then raises a RuntimeError
that hides the interruption). Inside a worker, the first SIGINT or SIGTERM only sets a flag;
the trial checks it after each epoch and between trials and raises ``KeyboardInterrupt``
there. A second one interrupts at once.

With ``--jobs N`` the main process forwards what it receives to its workers as ``SIGUSR1``
("stop at the next safe point", never immediate, so a terminal's Ctrl-C that reached the
workers too does not count twice), and a second signal as ``SIGTERM``. A worker whose main
process died (SIGKILL) stops at its next safe point too (``main_gone``: its end of a pipe
only the main process writes to reads end-of-file).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP = signal.SIGUSR1
"""What the main process sends its workers on the first Ctrl-C or SIGTERM."""

REASONS = {signal.SIGINT: "interrupted by the user (Ctrl-C)",
           signal.SIGTERM: "terminated (SIGTERM)",
           STOP: "the invocation was interrupted (Ctrl-C or SIGTERM)"}
ORPHANED = "the invocation's main process died"


class Interrupt:
    """Context manager: SIGINT or SIGTERM sets ``requested`` (a second one raises
    ``KeyboardInterrupt`` immediately); ``SIGUSR1`` only sets it. ``on_signal(signum, first)``
    runs on every one (the main process forwards them to its workers). ``main_gone()``: also
    requested once it returns True (a worker whose main process died)."""

    def __init__(self, on_signal: Callable[[int, bool], None] | None = None,
                 main_gone: Callable[[], bool] | None = None) -> None:
        self._requested = False
        self.reason = REASONS[signal.SIGINT]
        self._on_signal = on_signal
        self._main_gone = main_gone
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        if not self._requested and self._main_gone is not None and self._main_gone():
            self._requested, self.reason = True, ORPHANED
        return self._requested

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM, STOP):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def _handle(self, signum, frame) -> None:
        first = not self._requested
        if first:
            self._requested, self.reason = True, REASONS[signum]
        if self._on_signal is not None:
            self._on_signal(signum, first)
        if not first and signum != STOP:
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C (or SIGTERM) was received."""
        if self.requested:
            raise KeyboardInterrupt


def caused_by_interrupt(err: BaseException) -> bool:
    """Whether ``err`` is, or was raised while handling, a ``KeyboardInterrupt``: a Ctrl-C that
    lands while a compiled module initialises comes out as ``ImportError('initialization
    failed')`` raised from it, which is still the user's interruption."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


_signalled = threading.Event()


def _raise_interrupt(signum, frame) -> None:
    _signalled.set()
    raise KeyboardInterrupt


def terminate_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise ``KeyboardInterrupt`` in the main thread, as Ctrl-C does, outside
    ``Interrupt`` blocks (so the parent run is still ended), and remember that either came
    (``signalled``): Python only prints an exception raised where the garbage collector runs
    a callback (a thread pool's weakref, a ``__del__``), so an interruption that lands there
    is lost but for this record. Returns the function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _signalled.clear()
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _signalled.clear()

    return restore


def signalled() -> bool:
    """Whether Ctrl-C or SIGTERM came since ``terminate_as_interrupt`` or
    ``deferred_interrupts`` began (False again once it has ended)."""
    return _signalled.is_set()


def _defer_interrupt(signum, frame) -> None:
    if _signalled.is_set():
        raise KeyboardInterrupt  # the second one: at once
    _signalled.set()


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """In the main thread during the block, Ctrl-C and SIGTERM are only recorded
    (``signalled``, cleared as the block starts): the caller stops at its next safe point; a
    second one raises ``KeyboardInterrupt`` at once. A ``KeyboardInterrupt`` raised inside a
    library's code can leave it half done (a thread pool's worker started but not
    registered, which then holds the process at exit for ever: found after a SIGTERM in the
    summary)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _signalled.clear()
    previous = {s: signal.signal(s, _defer_interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _signalled.clear()
