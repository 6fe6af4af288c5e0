"""``nnexp advise STUDY``: ranked findings about a study, and optionally the next space."""

from __future__ import annotations

from pathlib import Path

import click

from nnexp.cli.options import storage_option, tracking_option


@click.command()
@click.argument("study")
@storage_option
@tracking_option
@click.option("--write-space", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the suggested next search space (YAML) to this file.")
def advise(study: str, storage: str | None, tracking_uri: str | None,
           write_space: Path | None) -> None:
    """Advise on STUDY: what the learning curves and update ratios say first (a learning rate
    far too small or too large, nothing learned, noise between seeds larger than an effect),
    bias/variance of the best trials (against the experiment's target_error), parameters whose
    best values sit at a range's edge, the most important parameter and the shape of its
    effect; most actionable first, each with its evidence."""
    from nnexp.insight.advice import advise as run_advice
    from nnexp.insight.advice import render_text
    from nnexp.insight.nextspace import write_space as write

    advice = run_advice(study, storage, tracking_uri)
    for line in render_text(advice):
        click.echo(line)
    if write_space is not None:
        if advice.next_space is None:
            click.echo("\nno search space known for this study: nothing written")
        else:
            write(write_space, advice.next_space, advice.changes, advice.evidence)
            click.echo(f"\nsuggested next search space written to {write_space} "
                       f"({len(advice.changes)} change(s)); point the experiment's "
                       "search_space at it, then nnexp validate and nnexp search")
