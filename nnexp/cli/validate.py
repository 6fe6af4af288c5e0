"""``nnexp validate EXPERIMENT.yaml``: check an experiment and its search space, train nothing."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("validate")
@click.argument("experiment", type=click.Path(path_type=Path, dir_okay=False))
def validate(experiment: Path) -> None:
    """Validate EXPERIMENT (and its search space) and summarise it; exit code 2 on mistakes."""
    from nnexp.cli.display import column_table, echo_table
    from nnexp.config import load_experiment

    exp = load_experiment(experiment)
    study = exp.study
    objective = ", ".join(f"{metric} ({direction})" for metric, direction in exp.objective)
    budget = f"{study.n_trials} trials" if study.n_trials else "no trial limit"
    if study.timeout:
        budget += f", timeout {study.timeout:g} s"
    click.echo("ok")
    click.echo(f"experiment: {exp.name}" + (f" - {exp.description}" if exp.description else ""))
    click.echo(f"dataset:    {exp.dataset.describe()}")
    click.echo(f"schema:     {exp.schema.describe()}")
    if exp.schema.columns:
        click.echo("columns:" + (" (estimated on a sample of the file)"
                                 if not exp.schema.exact else ""))
        for line in column_table(exp.schema):
            click.echo("  " + line)
    if exp.memory is not None:
        click.echo(f"memory:     {exp.memory.describe()}")
    click.echo(f"objective:  {objective}")
    click.echo(f"study:      sampler {study.sampler}, pruner {study.pruner}, {budget}, "
               f"seed {study.seed}, jobs {study.jobs}")
    if exp.train:
        click.echo("train:      " + ", ".join(f"{k}={v}" for k, v in exp.train.items()))
    if exp.baselines:
        click.echo(f"baselines:  {len(exp.baselines)} enqueued first")
    click.echo("search space:")
    header = ("PARAMETER", "TYPE", "RANGE / CHOICES", "LOG", "CONDITION")
    echo_table([header, *exp.space.summary()], indent=2)
    size = exp.space.grid_size()
    click.echo(f"grid size:  {size} configurations" if size is not None
               else "grid size:  infinite (continuous parameters)")
