"""``nnexp predict MODEL INPUT``: predictions with the original labels for raw rows."""

from __future__ import annotations

import click


@click.command()
@click.argument("model")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Write the predictions here (.csv or .parquet); default: CSV on stdout.")
@click.option("--tracking-uri", help="MLflow tracking URI for a run id or models:/ URI "
              "(default: MLFLOW_TRACKING_URI or sqlite:///mlruns/mlflow.db).")
def predict(model: str, input_path: str, output: str | None, tracking_uri: str | None) -> None:
    """Predict the rows of INPUT (CSV or Parquet with the original columns) with MODEL.

    MODEL is a model directory (nnexp train -o DIR), a trial's run id or runs:/<run_id> (its
    model/ artifact), or a registered model: models:/<study>@champion, models:/<study>/<version>.
    The output has a prediction column with the original labels and, for classifiers, one
    proba_<label> column per class. The rows are raw, as in the training file: missing values,
    new dates and unseen categories are prepared as in training (see the model's column
    table); extra columns are ignored; a missing column is an error (exit 2).
    """
    from nnexp.serving.predict import check_output, write_predictions
    from nnexp.serving.predict import predict as run_predict

    check_output(output)
    frame = run_predict(model, input_path, tracking_uri)
    text = write_predictions(frame, output)
    if text is not None:
        click.echo(text, nl=False)
    else:
        click.echo(f"{len(frame)} prediction(s) written to {output}", err=True)
