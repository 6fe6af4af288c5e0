"""``nnexp compare RUN_ID... | --study STUDY --top K``: runs side by side and their curves."""

from __future__ import annotations

from pathlib import Path

import click

from nnexp.cli.options import fmt, storage_option, tracking_option


@click.command()
@click.argument("run_ids", nargs=-1)
@click.option("--study", help="Compare the best trials of this study instead of RUN_IDs.")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True,
              help="With --study: how many of its best trials (several objectives: of the "
              "Pareto front).")
@storage_option
@tracking_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("compare.png"), show_default=True,
              help="Where to save the learning-curve figure (PNG).")
def compare(run_ids: tuple[str, ...], study: str | None, top: int, storage: str | None,
            tracking_uri: str | None, output: Path) -> None:
    """Compare MLflow runs: parameters (those that differ first, marked *) and final metrics
    side by side, and one figure of their learning curves (dev metric and dev cost per
    epoch)."""
    from nnexp.cli.display import echo_table
    from nnexp.errors import NnexpError
    from nnexp.inspection.compare import compare_runs, study_run_ids

    if study and run_ids:
        raise NnexpError("give either RUN_IDs or --study, not both.")
    ids = study_run_ids(study, top, storage, tracking_uri) if study else list(run_ids)
    c = compare_runs(ids, tracking_uri, output)
    names = [("* " if k in c.differing else "  ") + str(k) for k in c.table.index]
    cells = [[fmt(v) for v in row] for row in c.table.itertuples(index=False)]
    header = ["", *c.labels]
    rows = [[n, *r] for n, r in zip(names, cells)]
    echo_table([header, *rows], gaps=[len(c.parameters) + 1])  # parameters, then metrics
    if not c.differing:
        click.echo("(all parameters are the same)")
    click.echo(f"\nlearning curves saved to {c.path}")
