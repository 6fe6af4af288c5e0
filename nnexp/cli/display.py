"""Terminal output shared by commands: tables (``echo_table``), tables of trials and the
closing hints."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from nnexp.textfmt import terminal, text_table


def echo_table(rows: Sequence[Sequence[str]], indent: int = 0, right: Sequence[int] = (),
               min_width: int | None = None, gaps: Sequence[int] = ()) -> None:
    """Print ``rows`` (the header first) as a table on stdout: on a terminal a rich table
    (bold header, a rule under it, fitted to the width); on a pipe or a file the plain lines
    of ``text_table`` that scripts read. ``right`` and ``min_width``: as ``textfmt.table``;
    ``gaps``: row indices (1 is the first below the header) preceded by an empty line."""
    if not terminal(sys.stdout):
        for i, line in enumerate(text_table(rows, right, min_width)):
            if i in gaps:
                click.echo("")
            click.echo(" " * indent + line if line else line)
        return
    from rich.console import Console
    from rich.padding import Padding

    from nnexp.textfmt import table

    body = [row for i, row in enumerate(rows)
            for row in ([[""] * len(rows[0]), row] if i in gaps else [row])]
    Console(file=sys.stdout, force_terminal=True, highlight=False).print(
        Padding(table(body, right, min_width, styled=True), (0, 0, 0, indent), expand=False))


def _fmt(value) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def trials_rows(trials, directions: list[str], limit: int = 5,
                names: list[str] | None = None) -> list[list[str]]:
    """Rows (the header first) of trials, best first: number, value(s) (headed by ``names``),
    parameters."""
    if len(directions) == 1:
        trials = sorted(trials, key=lambda t: t.values[0], reverse=directions[0] == "maximize")
    trials = trials[:limit]
    params = sorted({k for t in trials for k in t.params})
    values = names or (["value"] if len(directions) == 1 else
                       [f"value{i}" for i in range(len(directions))])
    header = ["trial", *values, *params]
    return [header, *([str(t.number), *(_fmt(v) for v in t.values),
                       *(_fmt(t.params.get(k, "-")) for k in params)] for t in trials)]


def column_table(schema) -> list[str]:
    """A table's column report (``DataSchema.columns``) as lines, with the total."""
    from nnexp.data.preparation import report_lines

    return report_lines(list(schema.columns))


def print_search_result(result) -> None:
    state = "interrupted" if result.interrupted else ("resumed" if result.resumed else "done")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts.items()))
    click.echo(f"study {result.study_name!r} {state}: {result.new_trials} new trial(s); "
               f"all trials: {counts}")
    label = "best trials" if len(result.directions) == 1 else "Pareto front"
    click.echo(f"{label}:")
    if result.best:
        echo_table(trials_rows(list(result.best), result.directions, limit=10,
                               names=result.metrics), indent=2)
    else:
        click.echo("  (no completed trial)")
    if result.model_uri:
        click.echo(f"best model: {result.model_uri} (trial {result.model_trial}, "
                   f"{'new version' if result.model_new else 'unchanged'}), alias champion; "
                   f"predict with:\n  {result.predict_command}")
    if result.interrupted:
        click.echo("interrupted: re-run the same command to resume the study.")
    click.echo("compare runs in the MLflow UI:\n  "
               + ui_command(result.study_name, result.tracking_uri))


def ui_command(study: str, tracking_uri: str) -> str:
    """The ``nnexp ui`` command that shows ``study``'s runs (naming the store unless it is the
    default one)."""
    import shlex

    from nnexp.stores.tracking_store import default_tracking_uri

    command = f"nnexp ui {shlex.quote(study)}"
    if tracking_uri != default_tracking_uri():
        command += f" --tracking-uri {shlex.quote(tracking_uri)}"
    return command
