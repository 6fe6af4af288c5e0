"""``python -m nnexp.cli``: the same as the ``nnexp`` command."""

from nnexp.cli import main

main()
