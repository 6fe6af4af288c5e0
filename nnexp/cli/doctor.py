"""``nnexp doctor [STUDY]``: find (and with ``--fix`` close) records left open by a process
that died."""

from __future__ import annotations

import click

from nnexp.cli.options import storage_option, tracking_option


@click.command()
@click.argument("study", required=False)
@click.option("--fix", is_flag=True, help="Close what is found (otherwise only report it).")
@storage_option
@tracking_option
def doctor(study: str | None, fix: bool, storage: str | None, tracking_uri: str | None) -> None:
    """Check STUDY (default: every study of the storage) for records a dead process left
    open: Optuna trials RUNNING without a live worker or heartbeat, MLflow runs RUNNING whose
    trial or invocation is over. Prints each; --fix closes them with what happened.

    \b
    Exit codes:
      0    everything is consistent (or was fixed)
      1    problems were found and not fixed (run again with --fix)
      2    bad input, or a store that cannot be used
    """
    from nnexp.recovery.doctor import run_doctor

    problems = run_doctor(study, storage, tracking_uri, fix)
    for problem in problems:
        click.echo(str(problem))
    left = [p for p in problems if not p.fixed]
    if not problems:
        click.echo("ok: nothing left running by a dead process")
    elif left:
        click.echo(f"{len(left)} problem(s) found; run nnexp doctor --fix to close them",
                   err=True)
        raise SystemExit(1)
    else:
        click.echo(f"fixed {len(problems)} problem(s)")
