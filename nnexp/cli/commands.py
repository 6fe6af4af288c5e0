"""The list of commands the ``nnexp`` group offers (one module per command)."""

from __future__ import annotations

import click

ALL: list[click.Command] = []
