"""``nnexp report STUDY -o report.html``: one self-contained HTML page about a study."""

from __future__ import annotations

from pathlib import Path

import click

from nnexp.cli.options import storage_option, tracking_option


@click.command()
@click.argument("study")
@storage_option
@tracking_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True, help="Where to write the page.")
@click.option("--attach/--no-attach", default=True, show_default=True,
              help="Also attach the page to the study's latest parent MLflow run "
              "(artifact report.html).")
def report(study: str, storage: str | None, tracking_uri: str | None, output: Path,
           attach: bool) -> None:
    """Write one self-contained HTML page about STUDY (figures embedded, nothing loaded from
    the network): summary, best configurations, learning curves of the top trials,
    importances, per-layer signals of the best trial, the diagnosis and the advice."""
    from nnexp.insight.report import write_report

    written = write_report(study, output, storage, tracking_uri, attach=attach)
    click.echo(f"report written to {written.path}")
    if written.run_id:
        click.echo(f"attached to the parent run {written.run_name} ({written.run_id}) as "
                   "report.html")
    elif attach:
        click.echo("not attached: no parent MLflow run found for this study")
