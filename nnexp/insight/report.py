"""``nnexp report``: one self-contained HTML page about a study (figures as base64 PNG, CSS
inline, no script, nothing loaded from the network), also attached to the study's latest
parent MLflow run as the artifact ``report.html``.

Sections: summary (counts by state, best value), diagnosis and advice (the ranked findings of
``nnexp.insight.advice``), best configurations, learning curves of the top trials (dev and
train metric, dev cost, per epoch from the MLflow histories), importances and the effect of
the most important parameter, per-layer signals of the best trial, the suggested next space.
"""

from __future__ import annotations

import base64
import html
import io
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from nnexp.insight.advice import Advice, advise
from nnexp.insight.nextspace import space_mapping
from nnexp.insight.signals import COLUMNS

CURVE_TRIALS = 3
TABLE_TRIALS = 5
ARTIFACT = "report.html"

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;
color:#1d2430;padding:0 1em;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #dde3ea;padding-bottom:.2em;margin-top:1.6em}
.sub{color:#5a6675} table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
td,th{border:1px solid #d5dbe3;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f1f4f8} ol.findings li{margin-bottom:.8em} .ev{color:#444;font-size:.93em}
.move{color:#0b5d1e} .kind{display:inline-block;font-size:.75em;padding:.05em .5em;
border-radius:.8em;background:#e6ecf5;margin-right:.4em;text-transform:uppercase}
.kind.bias,.kind.variance,.kind.signal,.kind.bias\\+variance{background:#fde2e1}
.kind.edge{background:#fff0cc} img{max-width:100%} pre{background:#f6f8fa;padding:.8em;
overflow:auto} .none{color:#777;font-style:italic}
"""


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
    """The whole page."""
    ev = advice.evidence
    e = html.escape
    direction = "maximize" if ev.maximize else "minimize"
    counts = ", ".join(f"{n} {s}" for s, n in sorted(ev.counts.items()))
    target = (f"{ev.target_error:g}" if ev.target_error is not None
              else "not set (bias relative to zero error)")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>nnexp report: {e(ev.name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Study {e(ev.name)}</h1>",
        f"<p class='sub'>nnexp report, {datetime.now():%Y-%m-%d %H:%M}; experiment file "
        f"{e(str(ev.experiment_file))}</p>",
        "<h2>Summary</h2><table>",
        _row("objective", f"{ev.metric} ({direction})"),
        _row("trials", f"{sum(ev.counts.values())}: {counts}"),
        _row("best value", f"{ev.best.value:.4g} (trial {ev.best.number})"),
        _row("target error", target),
        "</table>",
        "<h2>Diagnosis and advice</h2>", _findings(advice), _diagnosis_table(advice),
        "<h2>Best configurations</h2>", _best_table(advice),
        "<h2>Learning curves of the top trials</h2>", _curves(advice),
        "<h2>Parameter importances</h2>", _importances(advice),
        "<h2>Per-layer signals of the best trial</h2>", _signals(advice),
        "<h2>Suggested next search space</h2>", _next_space(advice),
        "</body></html>",
    ]
    return "\n".join(parts)


def _row(key: str, value: str) -> str:
    return f"<tr><th>{html.escape(key)}</th><td>{html.escape(value)}</td></tr>"


def _findings(advice: Advice) -> str:
    e = html.escape
    items = []
    for f in advice.findings:
        moves = "".join(f"<div class='move'>&rarr; {e(m)}</div>" for m in f.moves)
        items.append(f"<li><span class='kind {e(f.kind)}'>{e(f.kind)}</span><b>{e(f.title)}</b>"
                     f"<div class='ev'>evidence: {e(f.evidence)}</div>{moves}</li>")
    return "<ol class='findings'>" + "".join(items) + "</ol>"


def _diagnosis_table(advice: Advice) -> str:
    if not advice.diagnoses:
        return ""
    head = ("trial", "train error", "dev error", "target", "avoidable bias", "variance",
            "verdict")
    rows = []
    for d in advice.diagnoses:
        cells = [d.trial, d.train_error, d.dev_error, d.target, d.avoidable_bias, d.variance,
                 d.verdict]
        rows.append(cells)
    unit = "1 - accuracy" if advice.evidence.is_classification else "rmse"
    return (f"<p class='sub'>errors as {html.escape(unit)}; a gap is high from "
            f"{advice.diagnoses[0].threshold:.3g}</p>" + _table(head, rows))


def _best_table(advice: Advice) -> str:
    ev = advice.evidence
    top = ev.trials[:TABLE_TRIALS]
    params = list(dict.fromkeys(k for t in top for k in t.params))
    metric = "accuracy" if ev.is_classification else "rmse"
    finals = [f"final_train_{metric}", f"final_dev_{metric}", f"test_{metric}"]
    head = ("trial", ev.metric, *params, *finals)
    rows = [[t.number, t.value, *[t.params.get(p) for p in params],
             *[t.metrics.get(m) for m in finals]] for t in top]
    return _table(head, rows)


def _table(head, rows) -> str:
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in head) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{e(_fmt(c))}</td>" for c in r) + "</tr>")
    return "".join(out) + "</table>"


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


def _img(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _curves(advice: Advice) -> str:
    ev = advice.evidence
    top = [t for t in ev.trials[:CURVE_TRIALS] if t.run_id]
    if not top or ev.client is None:
        return "<p class='none'>no MLflow runs recorded for the top trials</p>"
    metric = "accuracy" if ev.is_classification else "rmse"
    fig, (ax_m, ax_c) = _figure(11, 4, 2)
    for k, t in enumerate(top):
        color = f"C{k}"
        for split, style in (("dev", "-"), ("train", "--")):
            h = sorted(ev.client.get_metric_history(t.run_id, f"{split}/{metric}"),
                       key=lambda m: m.step)
            ax_m.plot([m.step for m in h], [m.value for m in h], style, color=color,
                      label=f"trial {t.number} {split}")
        h = sorted(ev.client.get_metric_history(t.run_id, "dev/cost"), key=lambda m: m.step)
        ax_c.plot([m.step for m in h], [m.value for m in h], color=color,
                  label=f"trial {t.number}")
    ax_m.set_title(f"{metric} per epoch (dev solid, train dashed)")
    ax_c.set_title("dev cost per epoch")
    for ax in (ax_m, ax_c):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _img(fig, "learning curves of the top trials")


def _importances(advice: Advice) -> str:
    e = html.escape
    if not advice.importances:
        return f"<p class='none'>{e(advice.importance_note or 'no importances')}</p>"
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
    note = f"<p class='sub'>{e(advice.importance_note)}</p>" if advice.importance_note else ""
    return _img(fig, "parameter importances") + note


def _signals(advice: Advice) -> str:
    s = advice.signals
    if s is None:
        return "<p class='none'>no per-layer signals recorded</p>"
    e = html.escape
    out = []
    if s.signal:
        out.append(f"<p><b>signal: {e(s.signal)}</b> &mdash; evidence: "
                   f"{e(s.signal_evidence or '-')}</p>")
    if s.layers:
        cols = [c for c in COLUMNS if any(c in v for v in s.layers.values())]
        cols += sorted({c for v in s.layers.values() for c in v} - set(cols))
        rows = [[f"layer {i}", *[v.get(c) for c in cols]] for i, v in s.layers.items()]
        out.append(f"<p class='sub'>last recorded value per layer, trial {s.trial}</p>")
        out.append(_table(("layer", *cols), rows))
    return "".join(out)


def _next_space(advice: Advice) -> str:
    e = html.escape
    if advice.next_space is None:
        return "<p class='none'>no search space known for this study</p>"
    changes = "".join(f"<li>{e(c.line())}</li>" for c in advice.changes) or \
        "<li>no change suggested</li>"
    text = yaml.safe_dump(space_mapping(advice.next_space), sort_keys=False)
    return (f"<ul>{changes}</ul><p class='sub'>nnexp advise {e(advice.evidence.name)} "
            f"--write-space FILE writes it</p><pre>{e(text)}</pre>")
