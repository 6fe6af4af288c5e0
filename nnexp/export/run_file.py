"""Train-ready run files: one dataset plus one complete ``TrainConfig``, as YAML.

What a trial writes as its ``config.yaml`` artifact and what ``nnexp train`` reads back
(``nnexp.config.load_run_config``), so any trial retrains without its study.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def dataset_section(spec) -> dict[str, Any]:
    """A ``DatasetSpec`` as a YAML mapping (generator parameters under ``params``, where a
    generator's own ``seed`` cannot clash with the split seed)."""
    out: dict[str, Any] = {}
    if spec.name is not None:
        out["name"] = spec.name
    else:
        out["path"] = str(Path(spec.path).resolve())
        if spec.target is not None:
            out["target"] = spec.target
        if spec.task is not None:
            out["task"] = spec.task
    if spec.params:
        out["params"] = dict(spec.params)
    out.update(dev_size=spec.dev_size, test_size=spec.test_size, seed=spec.seed,
               scale=spec.scale, stratify=spec.stratify)
    return out


def run_file(name: str, dataset_spec, train: dict[str, Any],
             objective: list[tuple[str, str]] | None = None,
             source: dict[str, Any] | None = None,
             tracking: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mapping of a run file (see ``nnexp.config.run``)."""
    out: dict[str, Any] = {"name": name, "dataset": dataset_section(dataset_spec),
                           "train": train}
    if objective:
        out["objective"] = [{"metric": m, "direction": d} for m, d in objective]
    if tracking:
        out["tracking"] = tracking
    if source:
        out["source"] = source
    return out


def write_run_file(path: Path, content: dict[str, Any]) -> Path:
    """Write ``content`` as block-style YAML to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, sort_keys=False, default_flow_style=None))
    return path
