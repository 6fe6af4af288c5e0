"""``python -m nnexp.cli``: the same as the ``nnexp`` command."""

from nnexp.cli import run

run()
