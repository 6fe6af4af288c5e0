"""Progress of a running study: trials done / total, best so far, pruned and failed, ETA."""

from __future__ import annotations

import sys
import time

from nnexp.tracking.states import TrialState, is_failed


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
        self._seen: dict[int, tuple[str, str, list | None]] = {}  # number -> its summary

    def update(self, trials) -> None:
        """Refresh from trials of the study (FrozenTrial list): all of them, or only those
        that changed (the one that just finished, say); trials seen before are remembered,
        so a caller need not read the whole study for each update."""
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

    def remember(self, trials) -> None:
        """Take note of ``trials`` (all of the study's, or those that changed) without
        printing: the best so far counts every trial, the rest this invocation's."""
        for t in trials:
            state = t.state.name
            self._seen[t.number] = (
                state, t.user_attrs.get("state", state.lower()) if t.state.is_finished()
                else "", t.values if state == "COMPLETE" and t.values else None)

    def line(self, trials=()) -> str:
        self.remember(trials)
        mine = [v for number, v in self._seen.items() if number >= self.first_number]
        states = [s for state, s, _ in mine if s]
        running = sum(state == "RUNNING" for state, _, _ in mine)
        pruned = states.count(TrialState.PRUNED)
        failed = sum(is_failed(s) for s in states)
        elapsed = time.monotonic() - self.start
        done = len(states)
        total = f"/{self.total}" if self.total else ""
        parts = [f"trials {done}{total}", f"running {running}"]
        best = self._best()
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

    def _best(self) -> str:
        complete = [(values, number) for number, (_, _, values) in self._seen.items() if values]
        if not complete:
            return ""
        if len(self.directions) > 1:
            return f"Pareto candidates {len(complete)}"
        pick = max if self.directions[0] == "maximize" else min
        values, number = pick(complete, key=lambda c: c[0][0])
        return f"best {values[0]:.4g} (trial {number})"
