"""The ``nnexp`` command line: thin click commands over the library.

Each command lives in its own module and imports heavy libraries (numpy, optuna, mlflow,
pandas) inside the command function, so ``nnexp --help`` and ``--version`` answer at once.
Every ``NnexpError`` becomes a one-paragraph message on stderr and exit code 2, no traceback;
an interruption that reaches here, exit code 130.
"""

from __future__ import annotations

import sys

import click

from nnexp import __version__
from nnexp.errors import NnexpError
from nnexp.execution.interrupt import caused_by_interrupt


class _Group(click.Group):
    """A click group that turns user errors into exit code 2 without a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NnexpError as err:
            click.echo(f"Error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:  # one that got past a command's own handling (a second Ctrl-C)
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as err:
            if not caused_by_interrupt(err):  # a Ctrl-C inside an import, say
                raise
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnexp")
def main() -> None:
    """nnexp: hyperparameter studies for NumPy L-layer networks (Optuna + MLflow)."""


def run() -> None:
    """The ``nnexp`` program: ``main``, then an exit that does not wait for the garbage
    collector (``nnexp.startup.exit_quickly``; files and databases are closed by their owners
    before this)."""
    from nnexp.startup import exit_quickly

    try:
        main()
    finally:
        exit_quickly()


def _register() -> None:
    from nnexp.cli import commands

    for command in commands.ALL:
        main.add_command(command)


_register()
