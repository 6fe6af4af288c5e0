"""``nnexp studies``: every study in a storage, one line each."""

from __future__ import annotations

import click

from nnexp.cli.options import fmt, storage_option, tracking_option


@click.command()
@storage_option
@tracking_option
def studies(storage: str | None, tracking_uri: str | None) -> None:
    """List every study: its experiment, direction(s), trials by state, best value and last
    activity (the latest trial to finish)."""
    from nnexp.inspection.studies import list_studies
    from nnexp.stores.study_storage import default_storage_url, shown_storage

    found = list_studies(storage, tracking_uri)
    if not found:
        click.echo("no studies in this storage yet: run one with nnexp search EXPERIMENT.yaml.")
        return
    click.echo(f"Optuna storage {shown_storage(storage or default_storage_url())}")
    for info in found:
        objective = ", ".join(f"{m} ({d})" for m, d in zip(info.metrics, info.directions))
        counts = ", ".join(f"{n} {s}" for s, n in sorted(info.counts.items())) or "no trials"
        if info.best is not None:
            best = "best " + ", ".join(fmt(v) for v in info.best)
        elif info.pareto_size:
            best = f"Pareto front of {info.pareto_size}"
        else:
            best = "no complete trial"
        when = info.last_activity.strftime("%Y-%m-%d %H:%M:%S") if info.last_activity else "-"
        click.echo(f"{info.name}")
        click.echo(f"  objective   {objective}")
        click.echo(f"  trials      {info.n_trials}: {counts}; {best}")
        click.echo(f"  last        {when}")
        click.echo(f"  experiment  MLflow {info.mlflow_experiment or '-'}; file "
                   f"{info.experiment_file or '-'}")
