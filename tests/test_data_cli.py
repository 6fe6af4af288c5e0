"""``nnexp datasets`` through click's test runner."""

from __future__ import annotations

from click.testing import CliRunner

from nnexp.cli import main
from nnexp.data import DATASETS


def test_datasets_lists_every_builtin_with_shape():
    result = CliRunner().invoke(main, ["datasets"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in DATASETS:
        assert any(line.startswith(name + " ") for line in lines), name
    digits = next(line for line in lines if line.startswith("digits "))
    assert "1797 x 64" in digits and "multiclass" in digits and " 10 " in digits
    assert "regression" in next(line for line in lines if line.startswith("regression "))


def test_datasets_name_shows_parameters():
    result = CliRunner().invoke(main, ["datasets", "circles"])
    assert result.exit_code == 0, result.output
    assert "factor=0.5" in result.output and "400 x 2" in result.output


def test_datasets_unknown_name_exits_2():
    result = CliRunner().invoke(main, ["datasets", "spiral"])
    assert result.exit_code == 2
    assert "Did you mean 'spirals'" in result.output
