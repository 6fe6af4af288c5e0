"""An inter-process lock on a file (``fcntl.flock``) with a bounded wait.

Used around first-time creation that races when several ``nnexp`` processes start at once on
a fresh ``mlruns/`` (MLflow's database migrations). The kernel releases a ``flock`` when its
holder exits, even when killed, so a crashed process never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nnexp.errors import NnexpError

LOCK_TIMEOUT = 120.0  # seconds: MLflow's migrations of a new database take a few seconds


@contextmanager
def file_lock(path: Path, what: str, timeout: float = LOCK_TIMEOUT,
              poll: float = 0.05) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the block.

    Waits at most ``timeout`` seconds, then raises ``NnexpError`` naming ``what`` is being
    protected and the lock file. A lock file that cannot be created raises ``NnexpError`` too.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise NnexpError(
            f"cannot create the lock file {str(path)!r} for {what}: {err.strerror or err}. "
            f"Make {str(path.parent)!r} a writable directory with free space (or choose "
            "another location), then re-run the same command.") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise NnexpError(
                        f"waited {timeout:g} s for the lock {str(path)!r} guarding {what}: "
                        "another nnexp process holds it. Wait for that process to finish (or "
                        "stop it), then re-run the same command.") from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
