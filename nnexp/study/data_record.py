"""What a study records of the data its trials train on, and the refusal to resume it on
other data: the data fingerprint and a table's column roles (the study's user attribute
``data``), and the one-line summary ``nnexp search`` prints."""

from __future__ import annotations

from typing import Any

from nnexp.errors import NnexpError, listing, warn

DATA_ATTR = "data"
"""The study's user attribute recording the data its trials train on (``data_record``)."""


def data_summary(splits) -> str:
    """One line on the data a search trains on: rows, features, and for a table the columns
    used and dropped (the full table: ``nnexp validate``, and the parent run's
    ``data/columns.txt``)."""
    rows = len(splits.y_train) + len(splits.y_dev) + len(splits.y_test)
    text = f"{splits.name}: {rows} rows, {len(splits.feature_names)} features"
    prep = splits.preparation
    if prep is not None:
        dropped = [f"{c.name} ({c.role})" for c in prep.columns if not c.used]
        text += f" from {len(prep.inputs)} of {len(prep.columns)} columns"
        if dropped:
            text += f"; dropped: {listing(dropped)}"
    if splits.dropped_rows:
        text += (f"; {splits.dropped_rows} row{'s' if splits.dropped_rows != 1 else ''} "
                 "without a target left out")
    return text


def data_record(splits) -> dict[str, Any]:
    """What a study records of its data: the fingerprint, and a table's column roles."""
    columns = {} if splits.preparation is None else \
        {c.name: c.role if c.used else f"{c.role} (dropped)"
         for c in splits.preparation.columns}
    return {"fingerprint": splits.fingerprint, "features": len(splits.feature_names),
            "columns": columns}


def check_same_data(study, splits, resumed: bool, accept: bool) -> str | None:
    """Refuse (``NnexpError``, exit 2) to resume a study whose trials trained on other data
    than ``splits`` (another fingerprint or other column roles), unless ``accept``; returns
    'old -> new' fingerprints when a change was accepted, else None."""
    recorded = study.user_attrs.get(DATA_ATTR)
    if not resumed or not recorded:
        return None
    now = data_record(splits)
    if recorded["fingerprint"] == now["fingerprint"]:
        return None
    change = f"{recorded['fingerprint']} -> {now['fingerprint']}"
    if accept:
        warn(f"the data differ from the study's ({change}); resuming as asked "
             "(--accept-data-change, recorded on the parent run)")
        return change
    old, new = recorded["columns"], now["columns"]
    roles = [f"{name}: {old.get(name, 'absent')} -> {new.get(name, 'absent')}"
             for name in sorted({*old, *new}) if old.get(name) != new.get(name)]
    detail = (f" Column roles changed: {listing(roles)}." if roles else
              " The values changed (the file was edited or replaced).")
    raise NnexpError(
        f"study {study.study_name!r} was trained on other data: its trials saw data "
        f"fingerprint {recorded['fingerprint']} ({recorded['features']} features), the data "
        f"now have {now['fingerprint']} ({now['features']} features).{detail} Mixing them "
        "would compare trials that saw different inputs. Start a new study (--study-name "
        "NAME, or study.name in the experiment), or add --accept-data-change to resume "
        "anyway (recorded on the parent run).")
