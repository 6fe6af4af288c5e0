"""Who runs a trial or an invocation, and whether that process is still alive.

A worker is named ``host:pid:start``: the host name, the process id and the process's start
time in clock ticks since boot (psutil's ``create_time`` less its ``boot_time``; on Linux
exactly field 22 of ``/proc/<pid>/stat``, as recorded by earlier versions, and unmoved when the
clock is set). Pids are reused; the start time makes the name unique, so a new process that
happens to get a dead worker's pid is not mistaken for it. Older records are ``host:pid`` (no
start time): then only the pid is checked.

``alive(name)`` answers True (running), False (gone: same host, and the pid is absent, a
zombie, or has another start time) or None (another host: this machine cannot tell; on RDB
storage Optuna's heartbeat tells instead). The runner's orphan check and ``nnexp doctor`` both
ask here. ``available_cpus()`` is how many CPUs a worker of this machine (or container) may
use. psutil is imported by the functions that need it (``import nnexp`` stays light).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Worker:
    """One process: host name, pid and start time (None where it is unknown)."""

    host: str
    pid: int
    start: int | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}" + ("" if self.start is None else f":{self.start}")

    def tags(self, prefix: str) -> dict[str, str]:
        """MLflow tags naming this process (``<prefix>host``, ``pid``, ``pid_start``)."""
        tags = {prefix + "host": self.host, prefix + "pid": str(self.pid)}
        if self.start is not None:
            tags[prefix + "pid_start"] = str(self.start)
        return tags


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot, or None when there is no
    such process (or it cannot be looked at)."""
    import psutil

    try:
        return _ticks(psutil.Process(pid))
    except psutil.Error:
        return None


def _ticks(process) -> int:
    """``process``'s start in clock ticks since boot (``SC_CLK_TCK``, 100 on Linux)."""
    import psutil

    hertz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return round((process.create_time() - psutil.boot_time()) * hertz)


def current() -> Worker:
    """This process."""
    pid = os.getpid()
    return Worker(socket.gethostname(), pid, start_time(pid))


def parse(text: str | None) -> Worker | None:
    """A worker from ``host:pid:start`` or the older ``host:pid``; None if malformed."""
    parts = (text or "").split(":")
    if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
        return Worker(":".join(parts[:-2]), int(parts[-2]), int(parts[-1]))
    if len(parts) >= 2 and parts[-1].isdigit():
        return Worker(":".join(parts[:-1]), int(parts[-1]))
    return None


def from_tags(tags: dict[str, str], prefix: str) -> Worker | None:
    """The process recorded by ``Worker.tags`` (None when the tags are absent)."""
    host, pid = tags.get(prefix + "host"), tags.get(prefix + "pid", "")
    if not host or not pid.isdigit():
        return None
    start = tags.get(prefix + "pid_start", "")
    return Worker(host, int(pid), int(start) if start.isdigit() else None)


def alive(worker: Worker | str | None) -> bool | None:
    """True if the process is running, False if it is gone, None if this host cannot tell
    (another host, or no worker recorded)."""
    if isinstance(worker, str) or worker is None:
        worker = parse(worker)
    if worker is None or worker.host != socket.gethostname():
        return None
    import psutil

    try:
        process = psutil.Process(worker.pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return False  # killed, not yet reaped by its parent
        return worker.start is None or _ticks(process) == worker.start
    except psutil.NoSuchProcess:  # a zombie's details, on some systems, too
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True


def available_cpus() -> int:
    """CPUs this process may use: those it is pinned to (``sched_getaffinity``), bounded by a
    container's CPU quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), which
    ``os.cpu_count()`` ignores: in a Kubernetes pod it counts the node's cores, not the pod's
    limit. BLAS threads per worker are shared out from this."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cpus, quota) if quota else cpus)


def blas_threads(jobs: int, cpus: int | None = None) -> int:
    """BLAS threads of each of ``jobs`` local workers: the CPUs (``available_cpus``) less one,
    left to the main process, shared out; at least 1. The main process performs the workers'
    MLflow writes and draws the plots while they train, and a BLAS thread that has to wait
    for a busy core spins: on 2 cores with one of them busy, measured, 2 BLAS threads train a
    network 1.7-2x slower than 1."""
    cpus = available_cpus() if cpus is None else cpus
    return max(1, (cpus - 1) // max(1, jobs))


def _cgroup_quota() -> int | None:
    """Whole CPUs of this cgroup's quota (rounded up), or None when it has none."""
    import math
    from pathlib import Path

    candidates = ((Path("/sys/fs/cgroup/cpu.max"), None),
                  (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                   Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")))
    for first, second in candidates:
        try:
            parts = first.read_text().split()
            if second is not None:
                parts = [parts[0], second.read_text().strip()]
        except (OSError, IndexError):
            continue
        if len(parts) < 2 or parts[0] in ("max", "-1"):
            return None
        try:
            quota, period = int(parts[0]), int(parts[1])
        except ValueError:
            return None
        return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None
    return None
