"""The ``dataset:`` section: which data, how it is split and scaled (not the data itself).

A built-in dataset is named (``{name: moons, n_samples: 1000, noise: 0.2}``: its generator
parameters sit next to the split settings; a generator parameter whose name clashes with a
split setting, such as ``seed``, goes in ``params: {seed: 3}``). A file is given by ``path``
(relative to the YAML file), ``target`` (the label column; null lets the loader choose) and
``task`` (null: inferred from the target when loaded). ``stratify`` is ignored for regression.
A table's columns (``nnexp.data.roles``): ``missing`` (impute | error), ``max_categories``,
``unseen_categories`` (group | error), ``text`` (drop | encode), ``drop`` (column names) and
``columns`` (column -> numeric | categorical | datetime | text | id | drop).
``fingerprint`` (optional; written by ``nnexp export``): the ``nnexp.data.fingerprint`` of the
data this section must load; ``nnexp.data.prepare`` refuses different data.
Validation checks names and numbers only; nothing is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nnexp.config.errors import Loc, did_you_mean, pydantic_messages, unknown_name
from nnexp.config.source import Source
from nnexp.config.train import check_seed

TABLE_FIELDS = ("missing", "max_categories", "unseen_categories", "text", "drop", "columns")


class DatasetSpec(BaseModel):
    """Everything ``nnexp.data.prepare`` needs: a built-in ``name`` or a file ``path``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    path: Path | None = None
    target: str | None = None
    task: Literal["binary", "multiclass", "regression"] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    dev_size: float = Field(0.2, gt=0, lt=1)
    test_size: float = Field(0.2, ge=0, lt=1)
    seed: int = 0
    scale: Literal["standard", "minmax", "none"] = "standard"
    stratify: bool = True
    missing: Literal["impute", "error"] = "impute"
    max_categories: int = Field(20, ge=2)
    unseen_categories: Literal["group", "error"] = "group"
    text: Literal["drop", "encode"] = "drop"
    drop: tuple[str, ...] = ()
    columns: dict[str, Literal["numeric", "categorical", "datetime", "text", "id", "drop"]] = \
        Field(default_factory=dict)
    fingerprint: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.name is None) == (self.path is None):
            raise ValueError("give either name (a built-in dataset) or path (a data file)")
        if self.name is not None and (self.target, self.task) != (None, None):
            raise ValueError("target and task are for a data file (path); built-in datasets "
                             "know theirs")
        table = [k for k in TABLE_FIELDS if getattr(self, k) != DatasetSpec.model_fields[k]
                 .get_default(call_default_factory=True)]
        if self.name is not None and table:
            raise ValueError(f"{', '.join(table)} are for a table (path); built-in datasets "
                             "have only numeric features")
        if self.dev_size + self.test_size >= 1:
            raise ValueError(f"dev_size + test_size = {self.dev_size + self.test_size:g} must "
                             "be < 1 to leave training examples")
        return self

    def describe(self) -> str:
        """'digits (dev 0.2, test 0.2, scale standard)' for summaries."""
        what = self.name or str(self.path)
        extra = "".join(f", {k}={v}" for k, v in self.params.items())
        extra += "".join(f", {k}={v}" for k, v in self.table_settings().items())
        return (f"{what} (dev {self.dev_size:g}, test {self.test_size:g}, "
                f"scale {self.scale}{extra})")


    def table_settings(self) -> dict[str, Any]:
        """The column settings that differ from the defaults (for summaries and run files)."""
        out = {}
        for key in TABLE_FIELDS:
            value = getattr(self, key)
            if value != DatasetSpec.model_fields[key].get_default(call_default_factory=True):
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


FIELDS = tuple(DatasetSpec.model_fields)


def builtin_datasets() -> dict[str, Any]:
    """``nnexp.data.DATASETS``: name -> info with ``.task``, ``.params``, ``.description``."""
    from nnexp.data import DATASETS

    return DATASETS


def known_task(raw: Any) -> str | None:
    """The task of a ``dataset:`` mapping if known before loading (a built-in, or given)."""
    if not isinstance(raw, dict):
        return None
    name, datasets = raw.get("name"), builtin_datasets()
    if isinstance(name, str) and name in datasets:
        return datasets[name].task
    return raw.get("task") if raw.get("task") in ("binary", "multiclass", "regression") else None


def parse_dataset(raw: Any, src: Source, loc: Loc) -> DatasetSpec | None:
    """Validate a ``dataset:`` mapping; report every mistake to ``src`` and return None then."""
    if not isinstance(raw, dict):
        src.report(loc, f"expected a mapping such as {{name: digits}} or {{path: data.csv, "
                        f"target: label}}, got {raw!r}")
        return None
    ok = True
    values = {k: v for k, v in raw.items() if k in FIELDS}
    generator = {k: v for k, v in raw.items() if k not in FIELDS}
    name = raw.get("name")
    if isinstance(name, str):
        datasets = builtin_datasets()
        if name not in datasets:
            src.report(loc + ("name",), unknown_name("dataset", name, datasets))
            ok = False
        else:
            params = datasets[name].params
            given = {**generator, **(raw.get("params") or {})}
            for key, value in given.items():
                where = loc + (key,) if key in generator else loc + ("params", key)
                if key in generator and isinstance(raw.get("params"), dict) \
                        and key in raw["params"]:
                    src.report(where, "given both flat and under params; keep one")
                    ok = False
                elif key not in params:
                    allowed = sorted({*FIELDS, *params})
                    src.report(where, f"unknown field {key!r}{did_you_mean(key, allowed)} for "
                                      f"dataset {name!r}; allowed: {', '.join(allowed)}")
                    ok = False
                elif not _same_kind(value, params[key]):
                    src.report(where, f"expected a value like the default {params[key]!r}, "
                                      f"got {value!r}")
                    ok = False
            values["params"] = given
            generator = {}
    for key in generator:
        allowed = ", ".join(FIELDS)
        src.report(loc + (key,), f"unknown field {key!r}{did_you_mean(key, FIELDS)}; "
                                 f"allowed: {allowed} (generator parameters need a built-in name)")
        ok = False
    if isinstance(values.get("path"), str):
        path = src.path.parent / values["path"]
        values["path"] = path
        if not path.is_file():
            src.report(loc + ("path",), f"data file not found: {path}")
            ok = False
    try:
        spec = DatasetSpec.model_validate(values)
    except ValidationError as err:
        for where, message in pydantic_messages(err, FIELDS):
            src.report(loc + where, message)
        return None
    seed_problem = check_seed(spec.seed, "seed")
    if seed_problem:
        src.report(loc + ("seed",), seed_problem)
        ok = False
    return spec if ok else None


def _same_kind(value: Any, default: Any) -> bool:
    """A generator parameter keeps the kind of its default (int, number, bool, str)."""
    if default is None or isinstance(default, bool):
        return default is None or isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
