"""``nnexp advise``: the findings about one study, ranked most actionable first, each with the
numbers that support it.

Order (``Finding.rank``): per-layer signals of the best trial (diverged, stalled, dead layer),
then the bias/variance verdict of the best trial when it is not fine, then range edges, then
the most important parameter and the shape of its effect, then diverged or failed trials,
then pruned categorical choices, then a fine verdict and notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nnexp.insight.diagnosis import Diagnosis, diagnose
from nnexp.insight.edges import Edge, find_edges
from nnexp.insight.effects import Effect, effect, importances
from nnexp.insight.evidence import StudyEvidence, gather
from nnexp.insight.nextspace import Change, suggest_space
from nnexp.insight.signals import LayerSignals, layer_signals
from nnexp.tracking.states import is_failed

SIGNAL_MOVES = {
    "diverged": "lower the learning rate (or add gradient-friendly init: He for ReLU)",
    "stalled": "raise the learning rate, or use Adam / a better initialisation so the "
               "gradients reach the early layers",
    "dead_layer": "ReLU units died: lower the learning rate, use He initialisation, or try "
                  "leaky_relu",
}


@dataclass
class Finding:
    rank: int
    kind: str  # signal, bias, variance, bias+variance, edge, effect, failures, choices, fine, note
    title: str
    evidence: str
    moves: list[str] = field(default_factory=list)


@dataclass
class Advice:
    evidence: StudyEvidence
    findings: list[Finding]
    diagnoses: list[Diagnosis]
    edges: list[Edge]
    importances: dict[str, float]
    evaluator: str
    importance_note: str | None
    effect: Effect | None
    signals: LayerSignals | None
    next_space: object | None  # SearchSpace
    changes: list[Change]

    def __str__(self) -> str:
        """The text ``nnexp advise`` prints."""
        return "\n".join(render_text(self))


def advise(study_name: str, storage: str | None = None,
           tracking_uri: str | None = None) -> Advice:
    """Gather study ``study_name`` and judge it."""
    return judge(gather(study_name, storage, tracking_uri))


def judge(ev: StudyEvidence) -> Advice:
    findings: list[Finding] = []
    signals = layer_signals(ev)
    if signals is not None and signals.signal:
        findings.append(Finding(
            1, "signal", f"best trial {ev.best.number}: per-layer signal '{signals.signal}'",
            signals.signal_evidence or "(no evidence recorded)",
            [SIGNAL_MOVES.get(signals.signal, "look at the per-layer curves in MLflow")]))
    diagnoses = diagnose(ev)
    if diagnoses:
        d = diagnoses[0]
        others = "; ".join(f"trial {o.trial}: {o.verdict}" for o in diagnoses[1:])
        ev_text = d.evidence() + (f" (next best: {others})" if others else "")
        if d.verdict in ("high bias", "high variance", "high bias and high variance"):
            kind = {"high bias": "bias", "high variance": "variance"}.get(d.verdict,
                                                                          "bias+variance")
            findings.append(Finding(2, kind, f"best trial {d.trial}: {d.verdict}", ev_text,
                                    d.moves()))
        else:
            findings.append(Finding(7, "fine", f"best trial {d.trial}: {d.verdict} "
                                    "(neither avoidable bias nor variance is high)", ev_text))
    edges = find_edges(ev)
    for e in edges:
        move = (f"widen {e.param}'s {e.side} end from {_num(e.bound)} to {_num(e.widened)}"
                if e.widened is not None else
                f"{_num(e.bound)} is {e.param}'s valid limit: the range cannot move; fix "
                f"{e.param} at {_num(e.bound)} or search others")
        findings.append(Finding(3, "edge", f"{e.param} is at the {e.side} edge of its range",
                                e.evidence(), [move]))
    scores, evaluator, note = importances(ev)
    eff = None
    if scores:
        top_name = next(iter(scores))
        eff = effect(ev, top_name)
        text = ", ".join(f"{k} {v:.2f}" for k, v in list(scores.items())[:4])
        if eff is not None:
            findings.append(Finding(
                4, "effect", f"most important: {eff.param} ({evaluator} "
                f"{scores[top_name]:.2f}); its effect on {ev.metric}: {eff.shape}",
                f"mean {ev.metric} by {eff.param}: {eff.evidence()}; importances: {text}",
                [_effect_move(eff)]))
        else:
            findings.append(Finding(4, "effect", f"most important: {top_name}",
                                    f"importances ({evaluator}): {text}"))
    bad = {s: n for s, n in ev.counts.items() if is_failed(s) and n}
    total = sum(ev.counts.values())
    if bad:
        reasons = {}
        for run in (ev.runs.trials.values() if ev.runs else []):
            if run.data.tags.get("nnexp.state") in bad:
                r = run.data.tags.get("nnexp.reason", "?")
                reasons[r] = reasons.get(r, 0) + 1
        common = max(reasons, key=reasons.get) if reasons else None
        findings.append(Finding(
            5, "failures", ", ".join(f"{n} {s}" for s, n in bad.items()) + f" of {total} trials",
            f"most common reason: {common}" if common else "no reason recorded",
            ["diverged trials usually mean the learning rate's high end is too high"]
            if "diverged" in bad else []))
    next_space, changes = (suggest_space(ev, edges) if ev.space is not None else (None, []))
    for c in changes:
        if "dropped" in c.why:
            findings.append(Finding(6, "choices", f"{c.param}: {c.why.split(':')[0]}",
                                    f"{c.before} -> {c.after}; {c.why.split(':', 1)[1].strip()}"))
    if next_space is not None:
        outside = [(i, k) for i, b in enumerate(ev.baselines)
                   for k, _ in next_space.check_point(b)]
        if outside:
            findings.append(Finding(
                8, "note", "baselines outside the suggested space",
                ", ".join(f"baseline {i}: {k}" for i, k in outside),
                ["drop these baselines from the experiment when you use the suggested space"]))
    if ev.space_note:
        findings.append(Finding(9, "note", "search space", ev.space_note))
    findings.sort(key=lambda f: f.rank)
    return Advice(ev, findings, diagnoses, edges, scores, evaluator, note, eff, signals,
                  next_space, changes)


def _effect_move(eff: Effect) -> str:
    best = eff.bins[eff.best_bin]
    if eff.shape.startswith("best choice"):
        return f"prefer {eff.param} = {best.label}"
    if eff.shape == "flat":
        return f"{eff.param} hardly matters here: fix it and search the others"
    return f"concentrate {eff.param} around {best.label}"


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def render_text(advice: Advice) -> list[str]:
    """The lines ``nnexp advise`` prints."""
    ev = advice.evidence
    out = [f"study {ev.name}: {len(ev.trials)} complete trials of {sum(ev.counts.values())}, "
           f"best {ev.metric} = {ev.best.value:.4g} (trial {ev.best.number})"]
    if ev.target_error is None:
        out.append("  target_error not set in the experiment file: bias is relative to zero "
                   "error")
    else:
        out.append(f"  target error {ev.target_error:g} (from the experiment file)")
    out.append("")
    for i, f in enumerate(advice.findings, 1):
        out.append(f"{i}. {f.title}")
        out.append(f"   evidence: {f.evidence}")
        for m in f.moves:
            out.append(f"   -> {m}")
    if advice.signals is None:
        out.append("\nno per-layer signals recorded for the best trial")
    return out
