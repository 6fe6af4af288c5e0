"""Terminal output shared by commands: tables of trials and the closing hints."""

from __future__ import annotations

import click

from nnexp.textfmt import text_table


def _fmt(value) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def trials_table(trials, directions: list[str], limit: int = 5,
                 names: list[str] | None = None) -> str:
    """A small text table of trials: number, value(s) (headed by ``names``), parameters."""
    if not trials:
        return "  (no completed trial)"
    if len(directions) == 1:
        trials = sorted(trials, key=lambda t: t.values[0], reverse=directions[0] == "maximize")
    trials = trials[:limit]
    params = sorted({k for t in trials for k in t.params})
    values = names or (["value"] if len(directions) == 1 else
                       [f"value{i}" for i in range(len(directions))])
    header = ["trial", *values, *params]
    rows = [[str(t.number), *(_fmt(v) for v in t.values),
             *(_fmt(t.params.get(k, "-")) for k in params)] for t in trials]
    return "\n".join("  " + line for line in text_table([header, *rows]))


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
    click.echo(trials_table(list(result.best), result.directions, limit=10,
                            names=result.metrics))
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
