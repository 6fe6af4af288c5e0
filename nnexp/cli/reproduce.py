"""``nnexp reproduce RUN_ID`` or ``nnexp reproduce STUDY TRIAL``: retrain a recorded trial and
compare its metrics exactly."""

from __future__ import annotations

import click


@click.command()
@click.argument("target", nargs=-1, required=True, metavar="RUN_ID | STUDY TRIAL")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Train this run file instead of the trial's own config.yaml (e.g. to see "
              "what an edit changes); the trial's metrics, seed and threads are compared.")
@click.option("--log", is_flag=True, help="Record the retraining as a new MLflow run (tag "
              "nnexp.reproduces); without it nothing is written.")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or "
              "sqlite:///mlruns/mlflow.db).")
def reproduce(target: tuple[str, ...], config_file: str | None, log: bool,
              tracking_uri: str | None) -> None:
    """Retrain a recorded trial from its config.yaml and seed, with BLAS pinned to its recorded
    thread count, and compare the metrics bit for bit.

    A complete trial is compared on its final metrics, objective and last epoch; a pruned
    trial is retrained with its full configuration, stopped after its pruned epoch, and
    compared on the per-epoch metrics recorded at that epoch. Timings are not compared.

    \b
    Exit codes:
      0  exact match
      1  some metrics differ (listed: metric, recorded, reproduced)
      2  bad input: unknown run or trial, not an nnexp trial, a missing file
    """
    from nnexp.cli.display import echo_table
    from nnexp.training.reproduce import reproduce as run_reproduce

    if len(target) > 2:
        raise click.UsageError("give RUN_ID (or runs:/RUN_ID), or STUDY TRIAL.")
    out = run_reproduce(target, tracking_uri, config_file, log)
    what = f"trial {out.trial} of study {out.study!r} (run {out.run_id}), " \
           f"{out.threads} BLAS thread(s)" + \
           (f", pruned: retrained to epoch {out.stop_epoch}" if out.stop_epoch else "")
    if out.fingerprint_changed:
        click.echo("warning: the data differs from the trial's (dataset fingerprint); the "
                   "metrics cannot be expected to match.", err=True)
    if out.logged_run_id:
        click.echo(f"recorded as MLflow run {out.logged_run_id}")
    if out.exact:
        click.echo(f"exact match: {len(out.compared)} metrics ({what})")
        return
    if not out.compared:
        click.echo(f"nothing to compare: the trial's run records none of the metrics ({what})")
        raise SystemExit(1)
    click.echo(f"mismatch: {len(out.differences)} of {len(out.compared)} metrics differ ({what})")
    echo_table([("metric", "recorded", "reproduced"),
                *((key, repr(recorded), "(missing)" if mine is None else repr(float(mine)))
                  for key, recorded, mine in out.differences)],
               indent=2, right=(1, 2), min_width=24)
    raise SystemExit(1)
