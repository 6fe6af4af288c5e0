"""Progress of a running study: trials done / total, best so far, pruned and failed, ETA.

On a terminal it is a rich progress bar (``rich.progress``) rewritten in place; on a pipe or a
file, a plain line each time the counts change (the format scripts and tests read); with
``quiet``, nothing. rich is imported only when the bar is shown.
"""

from __future__ import annotations

import sys
import time

from nnexp.textfmt import terminal
from nnexp.tracking.states import TrialState, is_failed


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Shows the progress of this invocation's trials on ``stream`` (stderr by default).

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
        self._tty = terminal(self.stream)
        self._bar = None  # the rich display while it is shown (a terminal only)
        self.done, self.elapsed = 0, 0.0  # as of the last line
        self._seen: dict[int, tuple[str, str, list | None]] = {}  # number -> its summary

    def update(self, trials) -> None:
        """Refresh from trials of the study (FrozenTrial list): all of them, or only those
        that changed (the one that just finished, say); trials seen before are remembered,
        so a caller need not read the whole study for each update."""
        if self.quiet:
            return
        parts = self.parts(trials)
        if self._tty:
            self._show_bar(parts)
            return
        line = " | ".join(parts.values())
        key = line.split(" | elapsed")[0]
        if key == self._last:
            return
        self._last = key
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the display (the bar stays on screen, followed by a new line)."""
        if self._bar is not None:
            bar, self._bar = self._bar, None
            bar.stop()

    def remember(self, trials) -> None:
        """Take note of ``trials`` (all of the study's, or those that changed) without
        printing: the best so far counts every trial, the rest this invocation's."""
        for t in trials:
            state = t.state.name
            self._seen[t.number] = (
                state, t.user_attrs.get("state", state.lower()) if t.state.is_finished()
                else "", t.values if state == "COMPLETE" and t.values else None)

    def line(self, trials=()) -> str:
        """The plain line: ``trials 4/10 | running 1 | best 0.9 (trial 1) | pruned 1, failed
        2 | elapsed 0:00:40, ETA 0:01:00``."""
        return " | ".join(self.parts(trials).values())

    def parts(self, trials=()) -> dict[str, str]:
        """The pieces of the line by name (``trials``, ``running``, ``best`` when there is one,
        ``counts``, ``clock``), after remembering ``trials``."""
        self.remember(trials)
        mine = [v for number, v in self._seen.items() if number >= self.first_number]
        states = [s for state, s, _ in mine if s]
        running = sum(state == "RUNNING" for state, _, _ in mine)
        pruned = states.count(TrialState.PRUNED)
        failed = sum(is_failed(s) for s in states)
        elapsed = time.monotonic() - self.start
        self.done = done = len(states)
        self.elapsed = elapsed
        total = f"/{self.total}" if self.total else ""
        parts = {"trials": f"trials {done}{total}", "running": f"running {running}"}
        best = self._best()
        if best:
            parts["best"] = best
        parts["counts"] = f"pruned {pruned}, failed {failed}"
        eta = None
        if self.total and done:
            eta = elapsed / done * (self.total - done)
        if self.timeout:
            eta = min(eta, self.timeout - elapsed) if eta is not None else self.timeout - elapsed
        parts["clock"] = f"elapsed {_clock(elapsed)}" + (f", ETA {_clock(eta)}"
                                                         if eta is not None else "")
        return parts

    def _show_bar(self, parts: dict[str, str]) -> None:
        """Draw ``parts`` as a rich progress bar: filled by trials done of the total, else by
        time spent of the timeout, else moving back and forth (neither is known)."""
        if self.total:
            done, total = self.done, self.total
        elif self.timeout:
            done, total = min(self.elapsed, self.timeout), self.timeout
        else:
            done, total = 0, None
        count = parts["trials"].removeprefix("trials ")
        rest = " | ".join([parts["clock"], *(v for k, v in parts.items()
                                             if k not in ("trials", "clock"))])
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn
            from rich.progress import Progress as Bar
            from rich.table import Column

            fixed = Column(no_wrap=True)  # on a narrow terminal the description wraps
            self._bar = Bar("trials", BarColumn(bar_width=20, table_column=fixed),
                            TextColumn("{task.fields[count]}", markup=False,
                                       table_column=fixed),
                            TextColumn("| {task.description}", markup=False,
                                       table_column=Column()),
                            console=Console(file=self.stream, force_terminal=True,
                                            highlight=False),
                            auto_refresh=False, redirect_stdout=False, redirect_stderr=True)
            self._task = self._bar.add_task(rest, total=total, completed=done, count=count)
            self._bar.start()  # draws it
            return
        self._bar.update(self._task, completed=done, total=total, description=rest,
                         count=count)
        self._bar.refresh()

    def _best(self) -> str:
        complete = [(values, number) for number, (_, _, values) in self._seen.items() if values]
        if not complete:
            return ""
        if len(self.directions) > 1:
            return f"Pareto candidates {len(complete)}"
        pick = max if self.directions[0] == "maximize" else min
        values, number = pick(complete, key=lambda c: c[0][0])
        return f"best {values[0]:.4g} (trial {number})"
