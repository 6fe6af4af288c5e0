"""``prepare``: a validated ``dataset:`` section -> ready ``Splits`` (load, split, scale)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnexp.data.builtin import load_builtin
from nnexp.data.dataset import Dataset
from nnexp.data.errors import DataError
from nnexp.data.files import load_file
from nnexp.data.roles import TableSettings
from nnexp.data.splits import Splits, split


def load(spec: Any) -> Dataset:
    """The dataset a spec names: built-in ``spec.name`` with ``spec.params``, or the file
    ``spec.path`` with ``spec.target`` (and ``spec.task`` and the column settings of
    ``nnexp.data.roles.TableSettings`` where the spec has them)."""
    name, path, params = spec.name, spec.path, spec.params or {}
    if (name is None) == (path is None):
        raise DataError("The dataset section needs exactly one of `name` (a built-in dataset, "
                        "see `nnexp datasets`) or `path` (a data file).")
    if name is not None:
        return load_builtin(name, **params)
    if params:
        raise DataError(f"`params` ({', '.join(params)}) apply to built-in datasets only; "
                        f"remove them for the file {str(path)!r}.")
    return load_file(path, target=spec.target, task=getattr(spec, "task", None),
                     settings=TableSettings.of(spec))


def prepare(spec: Any) -> Splits:
    """Load, split and scale the dataset a spec describes.

    spec : any object with attributes name (str | None), path (Path | None), target
        (str | None), params (dict), dev_size, test_size (float), seed (int),
        scale (str), stratify (bool); optionally task (str | None) and fingerprint
        (str | None: the data must have this ``fingerprint``, else ``DataError``).
    """
    dataset = load(spec)
    check_fingerprint(spec, dataset)
    return split(dataset, dev_size=spec.dev_size, test_size=spec.test_size, seed=spec.seed,
                 scale=spec.scale, stratify=spec.stratify)


def check_fingerprint(spec: Any, dataset: Dataset) -> None:
    """Raise ``DataError`` when ``spec.fingerprint`` is set and the loaded data differ from it
    (an exported run file pointed at a changed or different file)."""
    expected = getattr(spec, "fingerprint", None)
    if not expected:
        return
    found = dataset.fingerprint()
    if found != expected:
        what = f"the data file {str(Path(spec.path).resolve())!r}" if spec.path is not None else \
            f"the built-in dataset {spec.name!r} (generated here)"
        raise DataError(
            f"{what} is not the data this configuration was trained on: dataset.fingerprint "
            f"expects {expected}, the loaded data have {found}. Point dataset.path at the "
            "original data, or remove dataset.fingerprint to train on this data.")
