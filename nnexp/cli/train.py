"""``nnexp train CONFIG``: train one configuration (a run file, or a recorded run's
config.yaml) as a single MLflow run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("config")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or "
              "sqlite:///mlruns/mlflow.db).")
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path),
              help="Also write a model directory here (model, feature names, the table's "
              "preparation, class labels) for nnexp predict.")
@click.option("--quiet", "-q", is_flag=True, help="No per-epoch lines.")
def train(config: str, tracking_uri: str | None, output: Path | None, quiet: bool) -> None:
    """Train CONFIG as one MLflow run: a run file (e.g. a trial's exported config.yaml), or a
    recorded run's id or runs:/<run_id> URI, whose config.yaml is downloaded."""
    from nnexp.training.train import epoch_line, train_run

    def show(m, epochs: int) -> None:
        click.echo(epoch_line(m, epochs))

    result = train_run(config, tracking_uri, output, None if quiet else show)
    shown = {k: v for k, v in result.metrics.items()
             if k.startswith(("final_dev", "test_")) or k in ("epochs_run", "train_seconds")}
    click.echo(f"run {result.run_id} finished: " +
               ", ".join(f"{k}={v:.4g}" for k, v in sorted(shown.items())))
    if result.model_path:
        click.echo(f"model saved to {result.model_path} "
                   f"(nnexp predict {result.model_path} ROWS.csv)")
