"""The data layer: load a built-in dataset or a file, split into train / dev / test, scale.

``prepare(spec)`` does all of it for a validated ``dataset:`` config section; the pieces
(``load_builtin``, ``load_file``, ``split``, ``fingerprint``) are usable on their own.
"""

from __future__ import annotations

from nnexp.data.builtin import DATASETS, DatasetInfo, load_builtin
from nnexp.data.dataset import TASKS, Dataset, infer_task
from nnexp.data.encoding import one_hot
from nnexp.data.errors import DataError
from nnexp.data.files import SUFFIXES, load_file
from nnexp.data.fingerprint import fingerprint
from nnexp.data.prepare import load, prepare
from nnexp.data.scaling import SCALERS, Scaler, fit_scaler
from nnexp.data.schema import DataSchema, SchemaError, read_schema
from nnexp.data.splits import Splits, split

__all__ = [
    "DATASETS",
    "SCALERS",
    "SUFFIXES",
    "TASKS",
    "DataError",
    "DataSchema",
    "Dataset",
    "DatasetInfo",
    "Scaler",
    "SchemaError",
    "Splits",
    "fingerprint",
    "fit_scaler",
    "infer_task",
    "load",
    "load_builtin",
    "load_file",
    "one_hot",
    "prepare",
    "read_schema",
    "split",
]
