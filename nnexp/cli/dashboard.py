"""``nnexp dashboard STUDY``: optuna-dashboard over the study's storage, on 127.0.0.1."""

from __future__ import annotations

import click

from nnexp.cli.options import storage_option


@click.command()
@click.argument("study")
@storage_option
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on, on 127.0.0.1 (0: any free port).")
def dashboard(study: str, storage: str | None, port: int) -> None:
    """Serve optuna-dashboard (the extra: pip install 'nnexp[dashboard]') for STUDY on this
    machine and print the URL of its page. Runs until Ctrl-C (or SIGTERM)."""
    from nnexp.inspection.dashboard import start_dashboard

    served = start_dashboard(study, storage, port)
    click.echo(f"optuna-dashboard: {served.url}\n(Ctrl-C to stop)")
    served.serve()
