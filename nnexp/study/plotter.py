"""The study plots drawn by a helper process, so that they cost the command little time.

Importing matplotlib, Optuna's plotting module and ``optuna.importance`` (which imports
scikit-learn) takes about as long as drawing the five plots, and both come after the last
trial. A thread cannot hide them: the trials hold the GIL (importing in a thread beside a
training run slowed both by 2-4x when measured). So ``Plotter`` starts a small process when
the trials start: it imports the plotting stack on another core while the trials run and
waits. Once the trials are over, ``draw`` hands it the storage, the study and a folder (the
runner asks as soon as its workers have ended, while the main process is still performing
their MLflow writes; the summary asks otherwise); it loads the study, draws the plots into the
folder (``nnexp.tracking.summary._plots``) while the main process writes the trials table and
registers the model, and ``result`` collects the files. ``directory`` is a folder of its
own for the plots, removed by ``close``.

Anything that goes wrong with the helper (it could not start, died, timed out, answered
nonsense, or drawing failed there) makes ``result`` return None: the summary then draws the
plots itself, as it did before (so a plot that cannot be drawn is still one warning). The
helper runs in its own session, so Ctrl-C stops the study, not it; it ends when it has
answered, when its input closes (its main process ended or died) or when ``close`` kills it.
It runs at the same priority as the study: measured on 2 cores, the quickstart took longer
with the helper at nice 5 or 10 in the command's session (its imports then wait for the
trials, and the summary for its plots).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from nnexp.execution.interrupt import signalled

WAIT_SECONDS = 300.0


class Plotter:
    """A helper process that draws the study plots of ``storage_url`` (see the module
    docstring)."""

    def __init__(self, storage_url: str) -> None:
        self.storage_url = storage_url
        self.failure: str | None = None
        self._requested = False
        self._lock = threading.Lock()
        self.directory = Path(tempfile.mkdtemp(prefix="nnexp-plots-"))
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", "nnexp.study.plotter"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True)
        except OSError:
            self._process = None

    def draw(self, study_name: str, directory: Path, metrics: list[str] | None) -> bool:
        """Ask for the plots of ``study_name`` in ``directory``; False if the helper is gone.
        Asked once: a later call (the summary's, after the runner asked as soon as the
        workers ended) is answered by the first request, whose files ``result`` gives."""
        with self._lock:
            if self._requested:
                return True
            process = self._process
            if process is None or process.poll() is not None:
                return False
            request = {"storage": self.storage_url, "study": study_name,
                       "directory": str(directory), "metrics": metrics}
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
            except OSError:
                return False
            self._requested = True
            return True

    def result(self, timeout: float = WAIT_SECONDS) -> list[Path] | None:
        """The files the helper wrote (after ``draw``), or None if it could not draw them
        (``failure`` then says why)."""
        process = self._process
        if process is None or not self._requested:
            self.failure = "no plots were asked for"
            return None
        deadline = time.monotonic() + timeout
        try:
            while True:  # in slices: an interruption lost on the way still ends the wait
                try:
                    out, err = process.communicate(
                        timeout=max(0.0, min(0.5, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if signalled():
                        raise KeyboardInterrupt from None
                    if time.monotonic() >= deadline:
                        self.close()
                        self.failure = f"no answer within {timeout:g} s"
                        return None
        finally:
            self._process = None if process.poll() is not None else process
        lines = out.strip().splitlines()
        try:
            reply = json.loads(lines[-1])
        except (IndexError, ValueError):
            self.failure = (err.strip().splitlines() or [f"exit code {process.returncode}"])[-1]
            return None
        if "error" in reply:
            self.failure = reply["error"]
            return None
        return [Path(p) for p in reply["written"]]

    def close(self) -> None:
        """Stop the helper if it still runs."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.communicate()
        shutil.rmtree(self.directory, ignore_errors=True)


def _serve() -> None:
    """The helper: import, wait for one request on stdin, draw, answer one JSON line."""
    import warnings

    from nnexp.startup import paused_gc

    with paused_gc(), warnings.catch_warnings():
        import matplotlib

        matplotlib.use("Agg")
        warnings.simplefilter("ignore")
        import matplotlib.pyplot  # noqa: F401 - the slow imports, done while trials run
        import optuna
        import optuna.importance  # noqa: F401
        import optuna.visualization.matplotlib  # noqa: F401
    line = sys.stdin.readline()
    if not line:
        return  # the main process ended without asking
    try:
        from nnexp.errors import first_line
        from nnexp.stores.study_storage import open_storage
        from nnexp.tracking.summary import _plots

        request = json.loads(line)
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study = optuna.load_study(study_name=request["study"],
                                  storage=open_storage(request["storage"]))
        written = _plots(study, Path(request["directory"]), request["metrics"])
        reply = {"written": [str(p) for p in written]}
    except Exception as err:  # noqa: BLE001 - answered; the summary draws in-process
        reply = {"error": f"{type(err).__name__}: {first_line(err)}"}
    print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    _serve()
