"""``nnexp show STUDY``: the best trial (or Pareto front) of one study, in detail."""

from __future__ import annotations

import click

from nnexp.cli.options import fmt, storage_option, tracking_option


@click.command()
@click.argument("study")
@storage_option
@tracking_option
@click.option("--ui-url", default="http://127.0.0.1:5000", show_default=True,
              help="Base URL of the MLflow UI for the run links (where nnexp ui serves).")
def show(study: str, storage: str | None, tracking_uri: str | None, ui_url: str) -> None:
    """Show STUDY: its best trial (or Pareto front) with parameters and final dev and test
    metrics, trials by state, parameter importances and the MLflow runs with UI links."""
    from nnexp.inspection.studies import show_study

    r = show_study(study, storage, tracking_uri, ui_url)
    objective = ", ".join(f"{m} ({d})" for m, d in zip(r.metrics, r.directions))
    click.echo(f"study {r.name}: {objective}")
    if r.experiment_file:
        click.echo(f"  experiment file  {r.experiment_file}")
    click.echo(f"  Optuna storage   {r.storage}")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(r.counts.items())) or "none"
    click.echo(f"  trials           {sum(r.counts.values())}: {counts}")
    if r.experiment_name:
        click.echo(f"  MLflow           {r.experiment_name}: {r.experiment_url}")
    title = "best trial" if len(r.directions) == 1 else f"Pareto front ({len(r.best)} trials)"
    click.echo(f"\n{title}:" if r.best else "\nno complete trial yet")
    for b in r.best:
        values = ", ".join(f"{m} = {fmt(v)}" for m, v in zip(r.metrics, b.values))
        click.echo(f"  trial {b.number}: {values}")
        click.echo("    params   " + ", ".join(f"{k}={fmt(v)}" for k, v in b.params.items()))
        if b.metrics:
            click.echo("    metrics  " + ", ".join(f"{k}={fmt(v)}" for k, v in b.metrics.items()))
        click.echo(f"    run      {b.run_id or '- (no MLflow run found)'}"
                   + (f"  {b.url}" if b.url else ""))
    click.echo("\nparameter importances (PED-ANOVA):")
    for name, score in r.importances.items():
        click.echo(f"  {name:<24} {score:.3f}")
    if r.importance_note:
        click.echo(f"  ({r.importance_note})")
    if r.parent_runs:
        click.echo("\nsearch invocations (MLflow parent runs):")
        for name, run_id, url in r.parent_runs:
            click.echo(f"  {name}  {run_id}  {url}")
