"""``nnexp trials STUDY``: the trials table (text, CSV, Parquet, JSON or Markdown)."""

from __future__ import annotations

from pathlib import Path

import click

from nnexp.cli.options import storage_option, tracking_option
from nnexp.inspection.tables import FORMATS, STATES


@click.command()
@click.argument("study")
@storage_option
@tracking_option
@click.option("--state", type=click.Choice(STATES), default="all", show_default=True,
              help="Which trials (failed includes diverged).")
@click.option("--sort", "sort", metavar="METRIC", help="Sort best first by a column: value, "
              "a metric (final_dev_accuracy or dev_accuracy), a parameter (learning_rate).")
@click.option("--top", type=click.IntRange(min=1), help="Keep the first K rows (without "
              "--sort: the K best by objective).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: "
              "from -o's suffix, else table).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout (needed for parquet).")
def trials(study: str, storage: str | None, tracking_uri: str | None, state: str,
           sort: str | None, top: int | None, fmt: str | None, output: Path | None) -> None:
    """One row per trial of STUDY: parameters, objective value(s), final metrics from MLflow,
    state, epochs run, duration and MLflow run id. From Python: nnexp.trials_dataframe."""
    from nnexp.inspection.tables import format_for, trials_dataframe, write_table

    df = trials_dataframe(study, storage, tracking_uri, state=state, sort=sort, top=top)
    text = write_table(df, format_for(fmt, output), output)
    if text is not None:
        click.echo(text, nl=False)
    else:
        click.echo(f"{len(df)} trial(s) written to {output}", err=True)
