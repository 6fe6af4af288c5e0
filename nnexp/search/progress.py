"""Progress of a running study: trials done / total, best so far, pruned and failed, ETA."""

from __future__ import annotations

import sys
import time

from nnexp.tracking.states import TrialState


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Prints one status line per change (rewritten in place on a terminal) to stderr.

    ``first_number``: trials numbered from here on belong to this invocation; ``total`` is
    how many it will run (None when only a timeout bounds it).
    """

    def __init__(self, first_number: int, total: int | None, timeout: float | None,
                 directions: list[str], quiet: bool = False, stream=None) -> None:
        self.first_number, self.total, self.timeout = first_number, total, timeout
        self.directions = directions
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._last = ""
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, trials) -> None:
        """Refresh from the study's trials (FrozenTrial list)."""
        if self.quiet:
            return
        line = self.line(trials)
        key = line.split(" | elapsed")[0]
        if key == self._last and not self._tty:
            return
        self._last = key
        if self._tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if not self.quiet and self._tty and self._last:
            self.stream.write("\n")
            self.stream.flush()

    def line(self, trials) -> str:
        mine = [t for t in trials if t.number >= self.first_number]
        finished = [t for t in mine if t.state.is_finished()]
        running = sum(t.state.name == "RUNNING" for t in mine)
        states = [t.user_attrs.get("state", t.state.name.lower()) for t in finished]
        pruned = states.count(TrialState.PRUNED)
        failed = sum(s in (TrialState.FAILED, TrialState.DIVERGED, "fail") for s in states)
        elapsed = time.monotonic() - self.start
        done = len(finished)
        total = f"/{self.total}" if self.total else ""
        parts = [f"trials {done}{total}", f"running {running}"]
        best = self._best(trials)
        if best:
            parts.append(best)
        parts.append(f"pruned {pruned}, failed {failed}")
        eta = None
        if self.total and done:
            eta = elapsed / done * (self.total - done)
        if self.timeout:
            eta = min(eta, self.timeout - elapsed) if eta is not None else self.timeout - elapsed
        parts.append(f"elapsed {_clock(elapsed)}" + (f", ETA {_clock(eta)}" if eta is not None
                                                      else ""))
        return " | ".join(parts)

    def _best(self, trials) -> str:
        complete = [t for t in trials if t.state.name == "COMPLETE" and t.values]
        if not complete:
            return ""
        if len(self.directions) > 1:
            return f"Pareto candidates {len(complete)}"
        pick = max if self.directions[0] == "maximize" else min
        best = pick(complete, key=lambda t: t.values[0])
        return f"best {best.values[0]:.4g} (trial {best.number})"
