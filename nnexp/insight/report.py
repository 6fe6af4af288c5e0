"""``nnexp report``: one self-contained HTML page about a study (figures as base64 PNG, CSS
inline, no script, nothing loaded from the network), also attached to the study's latest
parent MLflow run as the artifact ``report.html``.

Sections: summary (counts by state, best value), diagnosis and advice (the ranked findings of
``nnexp.insight.advice``), best configurations, learning curves of the top trials (dev and
train metric, dev cost, per epoch from the MLflow histories), importances and the effect of
the most important parameter, per-layer signals of the best trial, the suggested next space.

The page is the Jinja2 template ``templates/report.html.j2`` (autoescaped: study names,
parameters and reasons are text, never markup); this module gathers what it shows.
"""

from __future__ import annotations

import base64
import io
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nnexp.insight.advice import Advice, advise
from nnexp.insight.nextspace import space_mapping
from nnexp.insight.signals import COLUMNS
from nnexp.tracking.records import curve, metric_history

CURVE_TRIALS = 3
TABLE_TRIALS = 5
ARTIFACT = "report.html"
TEMPLATE = "report.html.j2"


@dataclass
class Written:
    path: Path
    run_id: str | None
    run_name: str | None


def write_report(study_name: str, output: str | Path, storage: str | None = None,
                 tracking_uri: str | None = None, attach: bool = True) -> Written:
    """Write the report of ``study_name`` to ``output``; attach it to the latest parent run
    when ``attach`` and the study has one."""
    advice = advise(study_name, storage, tracking_uri)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(advice), encoding="utf-8")
    runs = advice.evidence.runs
    parent = runs.parents[0] if attach and runs is not None and runs.parents else None
    if parent is None:
        return Written(output, None, None)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / ARTIFACT
        shutil.copyfile(output, copy)
        advice.evidence.client.log_artifact(parent.info.run_id, str(copy))
    return Written(output, parent.info.run_id, parent.info.run_name)


def render(advice: Advice) -> str:
    """The whole page about ``advice``."""
    return page(_context(advice))


def page(context: dict[str, Any]) -> str:
    """``templates/report.html.j2`` filled in from ``context`` (the keys ``_context`` gives),
    every value escaped; a missing key raises ``jinja2.UndefinedError``."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("nnexp.insight", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = _fmt
    return env.get_template(TEMPLATE).render(context)


def _context(advice: Advice) -> dict[str, Any]:
    """What the template shows, as plain values (text, numbers, base64 PNGs)."""
    ev = advice.evidence
    direction = "maximize" if ev.maximize else "minimize"
    counts = ", ".join(f"{n} {s}" for s, n in sorted(ev.counts.items()))
    target = (f"{ev.target_error:g}" if ev.target_error is not None
              else "not set (bias relative to zero error)")
    return {
        "name": ev.name, "written": f"{datetime.now():%Y-%m-%d %H:%M}",
        "experiment_file": str(ev.experiment_file),
        "summary": [("objective", f"{ev.metric} ({direction})"),
                    ("trials", f"{sum(ev.counts.values())}: {counts}"),
                    ("best value", f"{ev.best.value:.4g} (trial {ev.best.number})"),
                    ("target error", target)],
        "findings": advice.findings,
        "diagnosis": _diagnosis(advice),
        "best": _best(advice),
        "curves": _curves(advice),
        "importances": _importances(advice),
        "signals": _signals(advice),
        "next_space": _next_space(advice),
    }


def _diagnosis(advice: Advice) -> dict[str, Any] | None:
    if not advice.diagnoses:
        return None
    head = ("trial", "train error", "dev error", "target", "avoidable bias", "variance",
            "verdict")
    rows = [[d.trial, d.train_error, d.dev_error, d.target, d.avoidable_bias, d.variance,
             d.verdict] for d in advice.diagnoses]
    unit = "1 - accuracy" if advice.evidence.is_classification else "rmse"
    return {"unit": unit, "threshold": f"{advice.diagnoses[0].threshold:.3g}", "head": head,
            "rows": rows}


def _best(advice: Advice) -> dict[str, Any]:
    ev = advice.evidence
    top = ev.trials[:TABLE_TRIALS]
    params = list(dict.fromkeys(k for t in top for k in t.params))
    metric = "accuracy" if ev.is_classification else "rmse"
    finals = [f"final_train_{metric}", f"final_dev_{metric}", f"test_{metric}"]
    rows = [[t.number, t.value, *[t.params.get(p) for p in params],
             *[t.metrics.get(m) for m in finals]] for t in top]
    return {"head": ("trial", ev.metric, *params, *finals), "rows": rows}


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _figure(width: float, height: float, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols)


def _img(fig, alt: str) -> dict[str, str]:
    """``fig`` as a PNG for the page: {"alt", "png" (base64)}."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    return {"alt": alt, "png": base64.b64encode(buf.getvalue()).decode("ascii")}


def _curves(advice: Advice) -> dict[str, str] | None:
    ev = advice.evidence
    top = [t for t in ev.trials[:CURVE_TRIALS] if t.run_id]
    if not top or ev.client is None:
        return None
    metric = "accuracy" if ev.is_classification else "rmse"
    fig, (ax_m, ax_c) = _figure(11, 4, 2)
    for k, t in enumerate(top):
        color = f"C{k}"
        for split, style in (("dev", "-"), ("train", "--")):
            h = metric_history(ev.client, t.run_id, curve(split, metric))
            ax_m.plot([m.step for m in h], [m.value for m in h], style, color=color,
                      label=f"trial {t.number} {split}")
        h = metric_history(ev.client, t.run_id, curve("dev", "cost"))
        ax_c.plot([m.step for m in h], [m.value for m in h], color=color,
                  label=f"trial {t.number}")
    ax_m.set_title(f"{metric} per epoch (dev solid, train dashed)")
    ax_c.set_title("dev cost per epoch")
    for ax in (ax_m, ax_c):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _img(fig, "learning curves of the top trials")


def _importances(advice: Advice) -> dict[str, Any]:
    """{"figure": the bars and the effect of the most important parameter (None without
    importances), "note"}."""
    if not advice.importances:
        return {"figure": None, "note": advice.importance_note}
    names = list(advice.importances)[::-1]
    eff = advice.effect
    fig, axes = _figure(11, max(2.5, 0.45 * len(names) + 1.2), 2 if eff else 1)
    ax = axes[0] if eff else axes
    ax.barh(names, [advice.importances[n] for n in names], color="#4c78a8")
    ax.set_title(f"importance ({advice.evaluator})")
    if eff:
        ax2 = axes[1]
        ax2.bar(range(len(eff.bins)), [b.mean for b in eff.bins], color="#72b7b2")
        ax2.set_xticks(range(len(eff.bins)), [b.label for b in eff.bins], fontsize=7,
                       rotation=15)
        ax2.set_title(f"mean {eff.metric} by {eff.param}: {eff.shape}")
        low = min(b.mean for b in eff.bins)
        high = max(b.mean for b in eff.bins)
        pad = (high - low) * 0.5 or abs(high) * 0.05 or 1
        ax2.set_ylim(low - pad, high + pad)
    return {"figure": _img(fig, "parameter importances"), "note": advice.importance_note}


def _signals(advice: Advice) -> dict[str, Any] | None:
    s = advice.signals
    if s is None:
        return None
    cols = [c for c in COLUMNS if any(c in v for v in s.layers.values())]
    cols += sorted({c for v in s.layers.values() for c in v} - set(cols))
    rows = [[f"layer {i}", *[v.get(c) for c in cols]] for i, v in s.layers.items()]
    return {"signal": s.signal, "evidence": s.signal_evidence, "trial": s.trial,
            "head": ("layer", *cols), "rows": rows}


def _next_space(advice: Advice) -> dict[str, Any] | None:
    if advice.next_space is None:
        return None
    return {"changes": [c.line() for c in advice.changes],
            "yaml": yaml.safe_dump(space_mapping(advice.next_space), sort_keys=False)}
