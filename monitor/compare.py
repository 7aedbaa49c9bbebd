"""`monitor compare`: should the shadow model replace production? A verdict with reasons.

Three checks run on the same requests, read-only (nothing is recorded, nothing alerts):
`shadow/shadow_disagreement` and the champion `guardrails/slice_metrics`
(positive_rate) over the latest window of decisions, and `shadow/paired_outcomes`
over the latest window whose labels have matured. Every test of the comparison is one
Benjamini–Hochberg family. The verdict (docs/compare.md):

- reject: a significant (q ≤ max_q_value) change beyond tolerance for the worse, in
  any segment: accuracy, AUC or log loss worse, or the positive rate moved either way;
- not_enough_evidence: otherwise, when the overall segment has fewer than
  min_samples paired requests or matured labelled ones;
- hold: otherwise, when something stands in the way: a change beyond tolerance for the
  worse that is not significant, shadow coverage under min_coverage, or no metric
  significantly better overall;
- promote: otherwise, naming what improved.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from monitor.checks import discover_checks
from monitor.config import CompareSettings, Config, JudgedMetric, MonitorConfig
from monitor.errors import MonitorError, did_you_mean
from monitor.evaluate import benjamini_hochberg
from monitor.evidence import MetricRow
from monitor.execute import compute
from monitor.warehouse import connect
from monitor.windows import Window, window_for

Verdict = Literal["promote", "hold", "reject", "not_enough_evidence"]
# What "worse" means per judged metric: higher is better, lower is better, or any move.
BETTER: dict[JudgedMetric, Literal["higher", "lower", "either"]] = {
    "accuracy": "higher",
    "auc": "higher",
    "log_loss": "lower",
    "positive_rate": "either",
}
# Rows whose p-value joins the comparison's BH family; accuracy is judged by the paired
# McNemar test of the same segment (win_rate), whose q it borrows.
TESTED = ("positive_rate", "auc", "log_loss", "win_rate")
# AUC is judged with at least this many of the rarer class: DeLong's normal
# approximation needs a few positives, and fraud-like rates would otherwise need
# min_samples positives, tens of thousands of requests.
MIN_CLASS = 10


@dataclass
class Finding:
    """One judged (segment, metric): what moved, by how much, and how sure we are."""

    kind: Literal["regression", "unresolved", "coverage", "evidence", "no_gain", "improvement"]
    segment: str
    metric: str
    sentence: str
    value: float | None = None
    production: float | None = None
    n: int | None = None
    q_value: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "segment": self.segment,
            "metric": self.metric,
            "shadow": self.value,
            "production": self.production,
            "delta": _delta(self.value, self.production),
            "n": self.n,
            "q_value": self.q_value,
            "reason": self.sentence,
        }


@dataclass
class Comparison:
    model: str
    at: datetime
    decisions: Window
    outcomes: Window
    settings: CompareSettings
    verdict: Verdict = "not_enough_evidence"
    findings: list[Finding] = field(default_factory=list)
    # segment -> metric -> the check's row (value: shadow's or joint; baseline_value:
    # production's), with q_value filled for the tested rows.
    segments: dict[str, dict[str, MetricRow]] = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        """The findings that decided the verdict, worst first."""
        deciding = {
            "reject": ("regression",),
            "not_enough_evidence": ("evidence",),
            "hold": ("unresolved", "coverage", "no_gain"),
            "promote": ("improvement",),
        }[self.verdict]
        return [f.sentence for f in self.findings if f.kind in deciding]

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract (docs/compare.md)."""
        return {
            "model": self.model,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "at": self.at.isoformat(),
            "windows": {
                "decisions": _window_dict(self.decisions),
                "outcomes": _window_dict(self.outcomes),
            },
            "settings": self.settings.model_dump(mode="json"),
            "overall": {m: _metric_dict(r) for m, r in self.segments.get("all", {}).items()},
            "segments": {
                seg: {m: _metric_dict(r) for m, r in metrics.items()}
                for seg, metrics in sorted(self.segments.items())
                if seg != "all"
            },
            "findings": [f.as_dict() for f in self.findings],
        }


def compare(
    config: Config, model: str, at: datetime, window: timedelta | None = None
) -> Comparison:
    """Run the three checks for `model` at time `at` and judge the shadow."""
    if model not in config.models:
        hint = did_you_mean(model, list(config.models)) or f" (models: {', '.join(config.models)})"
        raise MonitorError(f"unknown model {model!r}{hint}")
    spec = config.models[model]
    if not spec.shadow_pairs:
        raise MonitorError(f"model {model!r} has no shadow_pairs table: nothing to compare")
    settings = spec.compare
    if window is not None:
        settings = settings.model_copy(update={"window": window})
    length = settings.window

    def monitor(check: str, lag: timedelta, params: dict[str, Any]) -> MonitorConfig:
        return MonitorConfig.model_validate(
            {"name": f"compare-{model}-{check}", "model": model, "check": check,
             "window": length, "lag": lag, "params": params, "min_samples": settings.min_samples}
        )  # fmt: skip

    decisions = monitor("shadow_disagreement", timedelta(0), {})
    guardrails = monitor(
        "slice_metrics", timedelta(0), {"compare": "champion", "metrics": ["positive_rate"]}
    )
    outcomes = monitor("paired_outcomes", spec.label_maturity, {})
    result = Comparison(
        model,
        at,
        window_for(at, decisions),
        window_for(at, outcomes),
        settings,
    )
    checks = discover_checks(config.check_dirs)
    rows: list[MetricRow] = []
    with connect(config.warehouse, read_only=True) as wh:
        for mon in (decisions, guardrails, outcomes):
            try:
                got, _ = compute(config, checks, wh, mon, window_for(at, mon), at)
            except MonitorError as exc:
                raise MonitorError(f"compare: {mon.check} failed: {exc}") from exc
            rows.extend(got)
    for row in rows:
        result.segments.setdefault(row.segment, {})[row.metric] = row
    _add_q_values(result.segments, settings)
    result.findings = _judge(result.segments, settings)
    result.verdict = _verdict(result.findings)
    return result


def _add_q_values(segments: dict[str, dict[str, MetricRow]], settings: CompareSettings) -> None:
    """One BH family: every test of a row that _judge will judge, and only those (a thin
    slice that is never judged must not dilute the others)."""
    tested = [
        row
        for metrics in segments.values()
        for metric, row in metrics.items()
        if metric in TESTED and row.p_value is not None and _judged(metric, metrics, settings)
    ]
    q_values = benjamini_hochberg([r.p_value for r in tested if r.p_value is not None])
    for row, q in zip(tested, q_values, strict=True):
        segments[row.segment][row.metric] = dataclasses.replace(row, q_value=q)


def _judged(metric: str, metrics: dict[str, MetricRow], settings: CompareSettings) -> bool:
    """Whether a segment has the requests to judge `metric`: min_samples requests (for
    win_rate, those of its accuracy), and for auc MIN_CLASS of each class too."""
    row = metrics.get("accuracy" if metric == "win_rate" else metric)
    n = (row.sample_size if row else None) or 0
    if metric == "auc":  # auc's sample_size is min(P, N); its requests are accuracy's
        return n >= MIN_CLASS and _judged("accuracy", metrics, settings)
    return n >= settings.min_samples


def _judge(segments: dict[str, dict[str, MetricRow]], settings: CompareSettings) -> list[Finding]:
    findings: list[Finding] = []
    alpha = settings.max_q_value
    for segment, metrics in segments.items():
        for metric, better in BETTER.items():
            row = metrics.get(metric)
            if row is None or row.value is None or row.baseline_value is None:
                continue
            n = row.sample_size or 0
            if not _judged(metric, metrics, settings):
                continue
            test_row = metrics.get("win_rate") if metric == "accuracy" else row
            q = test_row.q_value if test_row else None
            delta = row.value - row.baseline_value
            tolerance = settings.tolerance[metric]
            worse = {"higher": -delta, "lower": delta, "either": abs(delta)}[better]
            significant = q is not None and q <= alpha
            where = f"{segment} {metric}: shadow {row.value:.4g} vs production "
            where += f"{row.baseline_value:.4g} (Δ {delta:+.4g}, n={n}"
            where += f", q={_q(q)})" if q is not None else ", untested)"
            if worse > tolerance and significant:
                findings.append(
                    Finding("regression", segment, metric,
                            f"{where}: {_harm(metric, row)}, beyond the tolerance {tolerance}",
                            row.value, row.baseline_value, n, q)
                )  # fmt: skip
            elif worse > tolerance:
                why = f"not significant (q > {alpha})" if q is not None else "its test is undefined"
                findings.append(
                    Finding("unresolved", segment, metric,
                            f"{where}: {'changed' if better == 'either' else 'worse'} by more "
                            f"than {tolerance}, but {why}; more data will tell",
                            row.value, row.baseline_value, n, q)
                )  # fmt: skip
            elif segment == "all" and better != "either" and significant and worse < 0:
                findings.append(
                    Finding("improvement", segment, metric, f"{where}: better",
                            row.value, row.baseline_value, n, q)
                )  # fmt: skip
    findings.extend(_coverage(segments, settings))
    findings.extend(_evidence(segments.get("all", {}), settings))
    if not any(f.kind == "improvement" for f in findings):
        findings.append(
            Finding("no_gain", "all", "accuracy, auc, log_loss",
                    f"all accuracy, auc, log_loss: none is significantly better (q <= {alpha}) "
                    "overall; promoting would change the model for no shown gain")
        )  # fmt: skip
    order = {
        "regression": 0,
        "unresolved": 1,
        "coverage": 2,
        "evidence": 3,
        "no_gain": 4,
        "improvement": 5,
    }
    findings.sort(key=lambda f: (order[f.kind], f.q_value if f.q_value is not None else 1.0))
    return findings


def _coverage(
    segments: dict[str, dict[str, MetricRow]], settings: CompareSettings
) -> list[Finding]:
    """Every segment with min_samples production requests: the share that both models
    scored with a usable (finite) score. A NaN from the shadow is not coverage, and a
    country the shadow never scores is not averaged away."""
    out: list[Finding] = []
    for segment, metrics in segments.items():
        production = _sample_size(metrics.get("shadow_coverage"))
        usable = _sample_size(metrics.get("disagreement_rate"))
        if production < settings.min_samples or usable >= settings.min_coverage * production:
            continue
        share = usable / production
        out.append(
            Finding("coverage", segment, "shadow_coverage",
                    f"{segment} shadow_coverage: both models gave a usable score to {share:.1%} "
                    f"of {production} production requests (need {settings.min_coverage:.0%}): "
                    "the comparison does not cover this traffic", share, None, production)
        )  # fmt: skip
    return out


def _evidence(overall: dict[str, MetricRow], settings: CompareSettings) -> list[Finding]:
    """Whether the overall segment has the requests to judge at all."""
    out: list[Finding] = []
    for metric, what in (("disagreement_rate", "paired requests"), ("accuracy", "matured labelled paired requests")):  # fmt: skip
        row = overall.get(metric)
        n = _sample_size(row)
        if n < settings.min_samples:
            why = f" ({row.reason})" if row and row.reason else ""
            out.append(
                Finding("evidence", "all", metric,
                        f"all {metric}: {n} {what} in the window, fewer than the "
                        f"{settings.min_samples} needed{why}", None, None, n)
            )  # fmt: skip
    return out


def _verdict(findings: list[Finding]) -> Verdict:
    kinds = {f.kind for f in findings}
    if "regression" in kinds:
        return "reject"
    if "evidence" in kinds:
        return "not_enough_evidence"
    if kinds & {"unresolved", "coverage", "no_gain"}:
        return "hold"
    return "promote"


def _harm(metric: str, row: MetricRow) -> str:
    if metric == "positive_rate":
        return (
            f"the shadow would flag {row.value:.1%} of this segment's requests "
            f"where production flags {row.baseline_value:.1%}"
        )
    return "the shadow is worse"


def _sample_size(row: MetricRow | None) -> int:
    """A row's sample size; 0 when the check gave none (or no row at all)."""
    return (row.sample_size if row else None) or 0


def _q(q: float) -> str:
    """A q-value for a sentence; one that underflowed to 0 is below any double."""
    return f"{q:.2g}" if q > 0 else "<1e-300"


def _delta(value: float | None, production: float | None) -> float | None:
    return None if value is None or production is None else value - production


def _window_dict(w: Window) -> dict[str, str]:
    return {"start": w.start.isoformat(), "end": w.end.isoformat()}


def _metric_dict(row: MetricRow) -> dict[str, Any]:
    """A metric as the JSON shows it: the shadow's value (or the joint one), production's."""
    return {
        "value": row.value,
        "production": row.baseline_value,
        "delta": _delta(row.value, row.baseline_value),
        "n": row.sample_size,
        "p_value": row.p_value,
        "q_value": row.q_value,
        "reason": row.reason,
    }
