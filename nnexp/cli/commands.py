"""The list of commands the ``nnexp`` group offers (one module per command)."""

from __future__ import annotations

import click

from nnexp.cli.advise import advise
from nnexp.cli.compare import compare
from nnexp.cli.dashboard import dashboard
from nnexp.cli.datasets import datasets
from nnexp.cli.doctor import doctor
from nnexp.cli.export import export
from nnexp.cli.predict import predict
from nnexp.cli.report import report
from nnexp.cli.reproduce import reproduce
from nnexp.cli.search import search
from nnexp.cli.show import show
from nnexp.cli.studies import studies
from nnexp.cli.train import train
from nnexp.cli.trials import trials
from nnexp.cli.ui import ui
from nnexp.cli.validate import validate

ALL: list[click.Command] = [datasets, validate, search, studies, show, trials, compare, export,
                            advise, report, train, reproduce, predict, ui, dashboard,
                            doctor]
