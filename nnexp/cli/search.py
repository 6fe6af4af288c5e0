"""``nnexp search EXPERIMENT.yaml``: run (or resume) a study and log it to MLflow."""

from __future__ import annotations

import click


@click.command()
@click.argument("experiment", type=click.Path(dir_okay=False))
@click.option("--n-trials", type=click.IntRange(min=1), help="Trials to add (default: the "
              "experiment's study.n_trials).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Stop starting trials after this many seconds.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes on this machine, "
              "each with its share of BLAS threads (default: study.jobs or 1).")
@click.option("--storage", help="Optuna storage URL (default: journal file in mlruns/).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or "
              "sqlite:///mlruns/mlflow.db).")
@click.option("--study-name", help="Study name (default: study.name or the experiment's name).")
@click.option("--seed", type=int, help="Study seed (sampler and trial seeds).")
@click.option("--dask", metavar="ADDRESS", help="Run the --jobs study workers (default: one per "
              "worker thread) as tasks on the Dask cluster whose scheduler is at ADDRESS "
              "(tcp://host:8786); needs a --storage every worker reaches (postgresql://...) "
              "and pip install -e '.[dask]'.")
@click.option("--accept-data-change", is_flag=True, help="Resume the study although its data "
              "differ from what its trials trained on (an edited file, other column roles); "
              "recorded on the parent run. Without it such a resume stops with exit code 2.")
@click.option("--warm-start", metavar="STUDY", help="Start from an earlier study's finished "
              "trials that lie inside this search space (same storage, same data; once per "
              "study). Default: the experiment's warm_start.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display, only the summary.")
def search(experiment: str, n_trials: int | None, timeout: float | None, jobs: int | None,
           storage: str | None, tracking_uri: str | None, study_name: str | None,
           seed: int | None, quiet: bool, dask: str | None, accept_data_change: bool,
           warm_start: str | None) -> None:
    """Run an Optuna study over EXPERIMENT's search space; every trial is an MLflow run.

    Re-running the same command resumes the study and adds --n-trials more trials.

    \b
    Exit codes:
      0    at least one trial completed (or was pruned), or nothing was left to do
      1    none of this run's trials completed: all failed or diverged
           (the most common reason and a trial to look at are printed)
      2    bad input, or a storage or tracking store that cannot be used
      130  interrupted (Ctrl-C or SIGTERM); the same command resumes
    """
    from nnexp.cli.display import print_search_result
    from nnexp.study.runner import SearchOptions, run_search

    result = run_search(experiment, SearchOptions(n_trials, timeout, jobs, storage, tracking_uri,
                                                  study_name, seed, quiet, dask=dask,
                                                  accept_data_change=accept_data_change,
                                                  warm_start=warm_start))
    print_search_result(result)
    if result.failure:
        click.echo(f"Error: {result.failure}", err=True)
    if result.exit_code:
        raise SystemExit(result.exit_code)
