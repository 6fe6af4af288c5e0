"""nnexp's public Python API: the same studies, records and models as the command line.

    import nnexp

    study = nnexp.search("experiments/quickstart.yaml", n_trials=10)
    study.best_value, study.best_trial.params
    study.trials(state="complete", sort="dev_accuracy", top=5)   # a DataFrame
    model = study.best_model()                                   # or nnexp.load_model(...)
    model.predict(rows)                                          # raw rows: a DataFrame

Every function takes the stores as ``nnexp search`` does: ``storage`` (default: the journal
``mlruns/optuna.journal``) and ``tracking_uri`` (default: ``MLFLOW_TRACKING_URI``, else
``mlruns/mlflow.db``), relative to the working directory. Mistakes raise
``nnexp.errors.NnexpError`` with the one-paragraph message the CLI prints. It works from a
notebook, a script (with or without an ``if __name__ == "__main__"`` guard) and code fed on
stdin: the worker processes never re-run the caller's main module.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def search(experiment: str | Path, *, n_trials: int | None = None,
           timeout: float | None = None, jobs: int | None = None, storage: str | None = None,
           tracking_uri: str | None = None, study_name: str | None = None,
           seed: int | None = None, quiet: bool = False,
           accept_data_change: bool = False, warm_start: str | None = None) -> Study:
    """Run (or resume) the study of an experiment file, as ``nnexp search`` does: the same
    defaults, progress display (``quiet`` for none), records and registered best model.
    ``warm_start``: an earlier study in the same storage whose finished trials inside this
    search space start the new study, as ``--warm-start`` (default: the experiment's
    ``warm_start``; ``nnexp.study.warm_start``). Returns the ``Study``; a study none of whose
    new trials completed raises ``NnexpError`` with the most common reason."""
    from nnexp.errors import NnexpError
    from nnexp.study.runner import SearchOptions, run_search

    result = run_search(experiment, SearchOptions(
        n_trials=n_trials, timeout=timeout, jobs=jobs, storage=storage,
        tracking_uri=tracking_uri, study_name=study_name, seed=seed, quiet=quiet,
        accept_data_change=accept_data_change, warm_start=warm_start))
    if result.exit_code == 130:
        raise KeyboardInterrupt
    if result.exit_code and result.failure:
        raise NnexpError(result.failure)
    return load_study(result.study_name, storage=result.storage, tracking_uri=result.tracking)


def load_study(name: str, *, storage: str | None = None,
               tracking_uri: str | None = None) -> Study:
    """The recorded study ``name`` (an unknown name lists the known ones)."""
    from nnexp.stores.queries import load_study as load

    return Study(load(name, storage), storage, tracking_uri)


def load_model(reference: str | Path, *, tracking_uri: str | None = None) -> Model:
    """A trained model, ready for raw rows: a model directory (``nnexp train -o DIR``, a
    downloaded ``model/``), a trial's run id or ``runs:/<run_id>``, or a registered model
    ``models:/<study>@champion`` / ``models:/<study>/<version>``."""
    from nnexp.serving.predict import load_model as load

    with tempfile.TemporaryDirectory(prefix="nnexp-model-") as tmp:
        return Model(load(reference, tracking_uri, Path(tmp)))


def train(run_file: str | Path, *, tracking_uri: str | None = None,
          output: str | Path | None = None, quiet: bool = True):
    """Train one configuration and record it as an MLflow run, as ``nnexp train`` does:
    ``run_file`` is a run file (``nnexp export``, a trial's ``config.yaml``), a run id or
    ``runs:/<run_id>``; ``output`` also writes a model directory (load it with
    ``load_model``). Returns the run's id, metrics and state (``TrainRunResult``)."""
    from nnexp.training.train import epoch_line, train_run

    def show(m, epochs: int) -> None:
        print(epoch_line(m, epochs), flush=True)

    return train_run(run_file, tracking_uri, Path(output) if output else None,
                     None if quiet else show)


@dataclass
class Model:
    """A trained network with its input preparation: raw rows of the original table (a
    DataFrame; extra columns ignored) in, predictions out."""

    saved: Any  # nnexp.serving.models.SavedModel

    @property
    def classes(self):
        """The class labels (C,), None for a regressor."""
        return self.saved.model.classes

    @property
    def network(self):
        """The ``nnexp.core.Model`` (arrays in, arrays out)."""
        return self.saved.model

    def predict(self, rows) -> Any:
        """rows: a DataFrame (m rows) -> labels (or values) (m,)."""
        return self.network.predict(self._X(rows))

    def predict_proba(self, rows) -> Any:
        """rows: a DataFrame (m rows) -> probabilities (m, C), columns as ``classes``."""
        return self.network.predict_proba(self._X(rows))

    def predictions(self, rows):
        """The DataFrame ``nnexp predict`` writes: ``prediction`` and ``proba_<label>``."""
        from nnexp.serving.predict import predict_frame

        return predict_frame(self.saved, _frame(rows))

    def _X(self, rows):
        from nnexp.serving.predict import frame_to_X

        return frame_to_X(_frame(rows), self.saved)


def _frame(rows):
    import pandas as pd

    return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)


class Study:
    """A recorded study: its Optuna study (``optuna``) and MLflow runs, and what the
    inspection commands show of it."""

    def __init__(self, study, storage: str | None, tracking_uri: str | None) -> None:
        self.optuna = study
        self.storage = storage
        self.tracking_uri = tracking_uri

    def __repr__(self) -> str:
        return f"<nnexp.Study {self.name!r}: {len(self.optuna.trials)} trials>"

    @property
    def name(self) -> str:
        return self.optuna.study_name

    @property
    def directions(self) -> list[str]:
        return [d.name.lower() for d in self.optuna.directions]

    @property
    def best_trial(self):
        """The best ``optuna.trial.FrozenTrial`` (one objective)."""
        return self.optuna.best_trial

    @property
    def best_value(self) -> float:
        """The best objective value (one objective)."""
        return self.optuna.best_value

    @property
    def best_trials(self) -> list:
        """The Pareto front (several objectives; the best trial for one)."""
        return self.optuna.best_trials

    def trials(self, state: str = "all", sort: str | None = None, top: int | None = None):
        """The ``nnexp trials`` table as a DataFrame (``nnexp.trials_dataframe``)."""
        from nnexp.inspection.tables import trials_dataframe

        return trials_dataframe(self.optuna, self.storage, self.tracking_uri, state=state,
                                sort=sort, top=top)

    def best_model(self) -> Model:
        """The study's registered best model (``models:/<study>@champion``)."""
        return load_model(f"models:/{self.name}@champion", tracking_uri=self.tracking_uri)

    def export(self, path: str | Path | None = None, top: int | None = None) -> list[Path]:
        """Write the best trial's (or ``top`` best, or the Pareto front's) run files, as
        ``nnexp export``; returns their paths."""
        from nnexp.export.configs import export_best

        written = export_best(self.optuna, self.storage, self.tracking_uri, top,
                              Path(path) if path is not None else None)
        return [w.path for w in written]

    def advise(self):
        """``nnexp advise``'s findings (``nnexp.insight.advice.Advice``; ``str()`` of it is
        the text the command prints)."""
        from nnexp.insight.advice import advise

        return advise(self.name, self.storage, self.tracking_uri)

    def report(self, path: str | Path) -> Path:
        """Write ``nnexp report``'s HTML page to ``path``; returns it."""
        from nnexp.insight.report import write_report

        write_report(self.name, path, self.storage, self.tracking_uri)
        return Path(path)
