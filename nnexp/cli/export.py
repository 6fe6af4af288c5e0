"""``nnexp export STUDY``: the best configuration(s) as train-ready run files."""

from __future__ import annotations

from pathlib import Path

import click

from nnexp.cli.options import fmt, storage_option, tracking_option


@click.command()
@click.argument("study")
@storage_option
@tracking_option
@click.option("--top", type=click.IntRange(min=1), help="Export the K best trials (several "
              "objectives: K of the Pareto front; default: the best, or the whole front).")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="One file: its path "
              "(default <study>-trial-<n>.yaml here); several: a directory (default: here).")
def export(study: str, storage: str | None, tracking_uri: str | None, top: int | None,
           output: Path | None) -> None:
    """Write STUDY's best configuration(s) as run files that nnexp train retrains exactly:
    every training setting, the seed, the dataset section (split sizes, split seed, scaling)
    and the data's fingerprint; a data file's path is relative to the exported file."""
    from nnexp.export.configs import export_best

    for e in export_best(study, storage, tracking_uri, top, output):
        values = ", ".join(f"{m} = {fmt(v)}" for m, v in e.values.items())
        click.echo(f"trial {e.trial} ({values}) -> {e.path}")
