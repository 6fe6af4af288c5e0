"""``nnexp datasets``: the built-in datasets, their shapes, classes and parameters."""

from __future__ import annotations

import click


@click.command("datasets")
@click.argument("name", required=False)
def datasets(name: str | None) -> None:
    """List the built-in datasets, or show one dataset NAME with its parameters."""
    from nnexp.cli.display import echo_table
    from nnexp.data import DATASETS, load_builtin

    if name is not None:
        dataset = load_builtin(name)
        info = DATASETS[name]
        click.echo(f"{name}: {info.description}")
        click.echo(f"  task:     {info.task}")
        click.echo(f"  shape:    {dataset.X.shape[0]} x {dataset.X.shape[1]}")
        if dataset.classes is not None:
            click.echo(f"  classes:  {', '.join(str(c) for c in dataset.classes)}")
        params = ", ".join(f"{k}={v!r}" for k, v in info.params.items()) or "none"
        click.echo(f"  params:   {params}")
        return
    rows = []
    for info in DATASETS.values():
        dataset = info.load()
        classes = "-" if dataset.classes is None else str(len(dataset.classes))
        shape = f"{dataset.X.shape[0]} x {dataset.X.shape[1]}"
        rows.append((info.name, info.task, shape, classes, info.description))
    header = ("NAME", "TASK", "SHAPE", "CLASSES", "DESCRIPTION")
    echo_table([header, *rows])
    click.echo("\nDefaults shown; `nnexp datasets NAME` lists a dataset's parameters.")
