"""``prepare``: a validated ``dataset:`` section -> ready ``Splits`` (load, split, scale)."""

from __future__ import annotations

from typing import Any

from nnexp.data.builtin import load_builtin
from nnexp.data.dataset import Dataset
from nnexp.data.errors import DataError
from nnexp.data.files import load_file
from nnexp.data.splits import Splits, split


def load(spec: Any) -> Dataset:
    """The dataset a spec names: built-in ``spec.name`` with ``spec.params``, or the file
    ``spec.path`` with ``spec.target`` (and ``spec.task`` if the spec has one)."""
    name, path, params = spec.name, spec.path, spec.params or {}
    if (name is None) == (path is None):
        raise DataError("The dataset section needs exactly one of `name` (a built-in dataset, "
                        "see `nnexp datasets`) or `path` (a data file).")
    if name is not None:
        return load_builtin(name, **params)
    if params:
        raise DataError(f"`params` ({', '.join(params)}) apply to built-in datasets only; "
                        f"remove them for the file {str(path)!r}.")
    return load_file(path, target=spec.target, task=getattr(spec, "task", None))


def prepare(spec: Any) -> Splits:
    """Load, split and scale the dataset a spec describes.

    spec : any object with attributes name (str | None), path (Path | None), target
        (str | None), params (dict), dev_size, test_size (float), seed (int),
        scale (str), stratify (bool); optionally task (str | None).
    """
    return split(load(spec), dev_size=spec.dev_size, test_size=spec.test_size, seed=spec.seed,
                 scale=spec.scale, stratify=spec.stratify)
