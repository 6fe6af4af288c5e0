"""``nnexp export``: the best configuration(s) of a study as train-ready run files.

Each file is complete: every ``TrainConfig`` setting with the trial's seed, the dataset section
(split sizes, split seed, scaling, generator parameters), the objective and the BLAS thread
count the trial trained with (``source.blas_threads``, which ``nnexp train`` pins), so
``nnexp train FILE`` reproduces the trial's final metrics exactly. A data file's path is
written relative to the exported file, with the data's fingerprint: the file and the data
can move together, and different data is refused (``nnexp.data.prepare``).

The configuration comes from the trial's own ``config.yaml`` artifact in MLflow (what the trial
trained, with its provenance), and the fingerprint from its ``nnexp.dataset_fingerprint`` tag.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from nnexp.errors import NnexpError, first_line


@dataclass
class Exported:
    """One written run file."""

    path: Path
    trial: int
    values: dict[str, float]  # objective metric -> the trial's value
    run_id: str


def export_best(study, storage: str | None = None, tracking_uri: str | None = None,
                top: int | None = None, output: Path | None = None) -> list[Exported]:
    """Write the best trial (one objective; ``top`` K: the K best) or the Pareto front
    (several objectives; ``top`` K: K of it) of ``study`` as run files.

    output : for one file, its path (default ``<study>-trial-<n>.yaml`` in the working
        directory; an existing directory puts it there); for several, a directory
        (default: the working directory).
    """
    from nnexp.config.run import dataset_section, load_run_config, run_file, write_run_file
    from nnexp.stores.queries import (
        objective_metrics,
        require_client,
        resolve_study,
        study_runs,
        top_trials,
    )
    from nnexp.tracking.runs import TAG_PREFIX

    study = resolve_study(study, storage)
    chosen = top_trials(study, top)
    client = require_client(tracking_uri)
    runs = study_runs(client, study.study_name)
    metrics = objective_metrics(study, runs)
    directions = [d.name.lower() for d in study.directions]
    paths = _paths(study.study_name, [t.number for t in chosen], output)
    written = []
    for trial, path in zip(chosen, paths):
        run = runs.trials.get(trial.number)
        if run is None:
            raise NnexpError(
                f"trial {trial.number} of study {study.study_name!r} has no MLflow run in this "
                "tracking store, so its configuration cannot be read. Give the store the study "
                "logged to with --tracking-uri (or MLFLOW_TRACKING_URI).")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                local = client.download_artifacts(run.info.run_id, "config.yaml", tmp)
            except Exception as err:  # noqa: BLE001 - a missing or unreadable artifact
                raise NnexpError(
                    f"cannot read config.yaml of trial {trial.number} (MLflow run "
                    f"{run.info.run_id}): {first_line(err)}. Check that the artifact store "
                    "is reachable and the run's artifacts were written.") from None
            rc = load_run_config(local)
        values = dict(zip(metrics, trial.values))
        fingerprint = run.data.tags.get(TAG_PREFIX + "dataset_fingerprint")
        content = run_file(
            f"{study.study_name}-trial-{trial.number}", rc.dataset, rc.train.to_dict(),
            rc.objective, source={**rc.source, "study": study.study_name,
                                  "trial": trial.number, "mlflow_run_id": run.info.run_id,
                                  **values},
            tracking={"experiment_name": rc.tracking.experiment_name}
            if rc.tracking.experiment_name else None,
            dataset=dataset_section(rc.dataset, relative_to=path.parent,
                                    fingerprint=fingerprint))
        described = ", ".join(f"{m} = {v:.6g} ({d})"
                              for (m, v), d in zip(values.items(), directions))
        header = (f"nnexp export: study {study.study_name!r}, trial {trial.number}: {described}"
                  f"\nMLflow run {run.info.run_id}. Retrain it exactly: nnexp train {path.name}")
        write_run_file(path, content, header)
        written.append(Exported(path, trial.number, values, run.info.run_id))
    return written


def _paths(study_name: str, numbers: list[int], output: Path | None) -> list[Path]:
    names = [f"{study_name}-trial-{n}.yaml" for n in numbers]
    if len(numbers) == 1 and output is not None and not output.is_dir():
        if output.suffix.lower() not in (".yaml", ".yml"):
            raise NnexpError(f"-o {str(output)!r}: a run file is YAML; give a path ending in "
                             ".yaml (or an existing directory to write into).")
        return [output]
    directory = output if output is not None else Path.cwd()
    if directory.suffix.lower() in (".yaml", ".yml") and not directory.is_dir():
        raise NnexpError(f"-o {str(directory)!r} names one file, but {len(numbers)} run files "
                         "are exported (--top, or a Pareto front): give a directory.")
    if directory.exists() and not directory.is_dir():
        raise NnexpError(f"-o {str(directory)!r} is a file, but {len(numbers)} run files are "
                         "exported: give a directory to write them into.")
    return [directory / name for name in names]
