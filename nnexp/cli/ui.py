"""``nnexp ui [STUDY]``: open the MLflow UI on the store nnexp search records into."""

from __future__ import annotations

import click


@click.command()
@click.argument("study", required=False)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback: only this machine can connect).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or "
              "sqlite:///mlruns/mlflow.db).")
def ui(study: str | None, port: int, host: str, tracking_uri: str | None) -> None:
    """Start the MLflow UI and print the URL of STUDY's runs (or of all experiments).

    Runs until Ctrl-C (or SIGTERM), which stops the server and every process it started.
    """
    from nnexp.inspection.ui import LOOPBACK, serve, start_ui

    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}: other machines can reach the UI and read "
                   "every run; MLflow's UI has no login.", err=True)
    server = start_ui(tracking_uri, study, host, port)
    click.echo(f"MLflow UI: {server.url}\n(Ctrl-C to stop)")
    code = serve(server)
    if code:
        raise SystemExit(code)
