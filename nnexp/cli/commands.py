"""The list of commands the ``nnexp`` group offers (one module per command)."""

from __future__ import annotations

import click

from nnexp.cli.datasets import datasets
from nnexp.cli.predict import predict
from nnexp.cli.reproduce import reproduce
from nnexp.cli.search import search
from nnexp.cli.train import train
from nnexp.cli.validate import validate

ALL: list[click.Command] = [datasets, validate, search, train, reproduce, predict]
