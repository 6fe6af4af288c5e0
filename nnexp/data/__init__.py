"""The data layer: load a built-in dataset or a file, split into train / dev / test, prepare
a table's columns (roles, then encoders fitted on the training split), scale.

``prepare(spec)`` does all of it for a validated ``dataset:`` config section; the pieces
(``load_builtin``, ``load_file``, ``split``, ``fingerprint``) are usable on their own.
"""

from __future__ import annotations

from nnexp.data.builtin import DATASETS, DatasetInfo, load_builtin
from nnexp.data.dataset import TASKS, Dataset, infer_task
from nnexp.data.errors import DataError, TableError
from nnexp.data.files import SUFFIXES, load_file, load_table
from nnexp.data.fingerprint import fingerprint
from nnexp.data.preparation import Preparation
from nnexp.data.prepare import load, prepare
from nnexp.data.roles import ROLES, Column, TableSettings, infer_columns
from nnexp.data.scaling import SCALERS, Scaler, fit_scaler
from nnexp.data.schema import DataSchema, SchemaError, read_schema
from nnexp.data.splits import Splits, split

__all__ = [
    "DATASETS",
    "SCALERS",
    "SUFFIXES",
    "TASKS",
    "ROLES",
    "Column",
    "DataError",
    "DataSchema",
    "Dataset",
    "DatasetInfo",
    "Preparation",
    "Scaler",
    "SchemaError",
    "Splits",
    "TableError",
    "TableSettings",
    "fingerprint",
    "fit_scaler",
    "infer_columns",
    "infer_task",
    "load",
    "load_builtin",
    "load_file",
    "load_table",
    "prepare",
    "read_schema",
    "split",
]
