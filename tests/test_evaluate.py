"""Rules → states: thresholds, direction, measure, min_samples, significance, globs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats as sps
from scipy.stats import false_discovery_control

from monitor.config import MonitorSettings
from monitor.errors import CheckError
from monitor.evaluate import benjamini_hochberg, evaluate
from monitor.evidence import MetricRow
from monitor.stats import MCNEMAR_EXACT_BELOW, fill_p_values, mcnemar_p_value


def row(**kw: Any) -> MetricRow:
    base = {"segment": "all", "feature": "x", "metric": "psi", "value": 0.0, "sample_size": 1000,
            "baseline_value": None, "baseline_size": 1000, "p_value": None}  # fmt: skip
    return MetricRow(**{**base, **kw})


def states(rows: list[MetricRow], **settings: Any) -> list[tuple[str, float | None]]:
    s = MonitorSettings.model_validate({"min_samples": 100, **settings})
    return [(v.status, v.threshold) for v in evaluate(rows, s)]


RULE = {"metric": "psi", "warn": 0.1, "alert": 0.25}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.05, ("ok", 0.1)),
        (0.1, ("ok", 0.1)),  # strictly above breaches; at the threshold does not
        (0.11, ("warn", 0.1)),
        (0.25, ("warn", 0.1)),
        (0.2500001, ("alert", 0.25)),
    ],
)
def test_thresholds_above(value: float, expected: tuple[str, float]) -> None:
    assert states([row(value=value)], rules=[RULE]) == [expected]


def test_direction_below_and_both() -> None:
    below = {"metric": "auc", "warn": 0.8, "alert": 0.7, "direction": "below"}
    assert states(
        [row(metric="auc", value=0.75), row(metric="auc", value=0.65)], rules=[below]
    ) == [
        ("warn", 0.8),
        ("alert", 0.7),
    ]
    both = {"metric": "mean_shift_std", "warn": 0.5, "alert": 1.0, "direction": "both"}
    got = states([row(metric="mean_shift_std", value=v) for v in (-1.2, 0.7, 0.2)], rules=[both])
    assert [s for s, _ in got] == ["alert", "warn", "ok"]


def test_measure_delta_and_relative_delta() -> None:
    delta = {"metric": "null_rate", "warn": 0.05, "alert": 0.1, "measure": "delta"}
    rows = [
        row(metric="null_rate", value=0.2, baseline_value=0.01),
        row(metric="null_rate", value=0.2, baseline_value=0.18),
    ]
    assert [s for s, _ in states(rows, rules=[delta])] == ["alert", "ok"]
    rel = {"metric": "row_count", "alert": -0.5, "direction": "below", "measure": "relative_delta"}
    rows = [
        row(metric="row_count", value=400, baseline_value=1000),
        row(metric="row_count", value=900, baseline_value=1000),
    ]
    assert [s for s, _ in states(rows, rules=[rel])] == ["alert", "ok"]
    # A delta needs a baseline value: no_data, never a guess.
    assert states([row(metric="null_rate", value=0.2)], rules=[delta]) == [("no_data", None)]


def test_min_samples_and_undefined_values_are_no_data() -> None:
    rows = [
        row(value=9.0, sample_size=99),
        row(value=9.0, baseline_size=10),
        row(value=None),
        row(value=float("nan")),
    ]
    assert [s for s, _ in states(rows, rules=[RULE])] == ["no_data"] * 4
    s = MonitorSettings.model_validate({"min_samples": 100, "rules": [RULE]})
    reasons = [v.reason for v in evaluate(rows, s)]
    assert reasons[0] == "sample_size 99 < min_samples 100"
    assert reasons[1] == "baseline_size 10 < min_samples 100"


def test_segment_and_feature_globs_scope_a_rule() -> None:
    rule = {**RULE, "segment": "country=*", "feature": "amount"}
    rows = [row(value=1.0, segment="all", feature="amount"), row(value=1.0, segment="country=FR", feature="amount"),
            row(value=1.0, segment="country=FR", feature="age")]  # fmt: skip
    assert [s for s, _ in states(rows, rules=[rule])] == ["ok", "alert", "ok"]


def test_worst_matching_rule_wins() -> None:
    rules = [RULE, {"metric": "psi", "alert": 0.05}]
    assert states([row(value=0.07)], rules=rules) == [("alert", 0.05)]


def test_max_p_value_requires_significance() -> None:
    rule = {**RULE, "max_p_value": 0.01}
    rows = [row(value=0.5, p_value=0.001), row(value=0.5, p_value=0.2), row(value=0.5)]
    assert [s for s, _ in states(rows, rules=[rule])] == ["alert", "ok", "ok"]


def test_benjamini_hochberg_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    p = list(np.concatenate([rng.uniform(0, 0.01, 5), rng.uniform(0, 1, 40), [0.5, 0.5]]))
    np.testing.assert_allclose(
        benjamini_hochberg(p), false_discovery_control(p, method="bh"), rtol=1e-12
    )
    # Hand-computed: p = (0.01, 0.04, 0.03) -> sorted ranks 1..3 -> q = (0.03, 0.04, 0.04).
    assert benjamini_hochberg([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04], abs=1e-15)


def test_max_q_value_corrects_across_the_rows_of_the_rule() -> None:
    rule = {**RULE, "max_q_value": 0.05}
    # Alone, p = 0.03 would pass; with 10 tests in the run its q is 0.3.
    rows = [row(value=0.5, p_value=0.03)] + [
        row(value=0.0, p_value=0.9, segment=f"s{i}") for i in range(9)
    ]
    s = MonitorSettings.model_validate({"min_samples": 100, "rules": [rule]})
    verdicts = evaluate(rows, s)
    assert verdicts[0].status == "ok" and verdicts[0].q_value == pytest.approx(0.3)
    assert states([row(value=0.5, p_value=0.03)], rules=[rule]) == [("alert", 0.25)]


def test_a_narrow_second_rule_does_not_shrink_the_family() -> None:
    """A second rule that tests only one row must not lower the first rule's q."""
    strict = {**RULE, "max_q_value": 0.05}
    narrow = {"metric": "psi", "alert": 99.0, "segment": "all"}  # tests only the 'all' row
    rows = [row(value=0.5, p_value=0.03)] + [
        row(value=0.0, p_value=0.9, segment=f"s{i}") for i in range(9)
    ]
    s = MonitorSettings.model_validate({"min_samples": 100, "rules": [strict, narrow]})
    first = evaluate(rows, s)[0]
    assert first.status == "ok" and first.reason == "beyond 0.25 but not significant: q=0.3 > 0.05"


def test_significance_rule_without_a_p_value_says_so() -> None:
    s = MonitorSettings.model_validate(
        {"min_samples": 100, "rules": [{**RULE, "max_p_value": 0.01}]}
    )
    (v,) = evaluate([row(value=0.5)], s)
    assert v.status == "ok" and v.reason == "beyond 0.25 but the check gives no p_value for psi"


def test_q_values_span_every_metric_the_run_tests() -> None:
    """One family per run (slice × metric): two rules on two metrics share the BH
    correction, and a row no rule judges is not part of it."""
    psi = {**RULE, "max_q_value": 0.05}
    ks = {"metric": "ks", "alert": 0.1, "max_q_value": 0.05}
    rows = [
        row(value=0.5, p_value=0.01),
        row(value=0.5, p_value=0.02, metric="ks"),
        *[row(value=0.0, p_value=0.9, segment=f"s{i}", metric="ks") for i in range(3)],
        row(value=0.0, p_value=1e-9, metric="chi2"),  # no rule judges chi2: not tested
    ]
    s = MonitorSettings.model_validate({"min_samples": 100, "rules": [psi, ks]})
    verdicts = evaluate(rows, s)
    expected = false_discovery_control([0.01, 0.02, 0.9, 0.9, 0.9], method="bh")
    assert [v.q_value for v in verdicts[:5]] == pytest.approx(list(expected), rel=1e-12)
    assert verdicts[5].q_value is None
    assert [v.status for v in verdicts[:2]] == ["alert", "alert"]


def test_only_rows_a_significance_rule_can_judge_join_the_family() -> None:
    """A plain threshold rule's rows, and rows too thin to be judged, must not dilute the
    correction: alone in its family, p = 0.001 stays significant."""
    strict = {"metric": "chi2", "alert": 1.0, "max_q_value": 0.01}
    plain = {"metric": "ks", "alert": 0.2}
    rows = [
        row(value=5.0, p_value=0.001, metric="chi2"),
        *[row(value=0.0, p_value=0.9, metric="ks", segment=f"s{i}") for i in range(30)],
        *[
            row(value=0.0, p_value=0.9, metric="chi2", segment=f"thin{i}", sample_size=5)
            for i in range(40)
        ],
    ]
    s = MonitorSettings.model_validate({"min_samples": 100, "rules": [strict, plain]})
    verdicts = evaluate(rows, s)
    assert verdicts[0].q_value == pytest.approx(0.001) and verdicts[0].status == "alert"
    assert all(v.q_value is None for v in verdicts[1:])


@pytest.mark.parametrize("wins, n", [(0, 1), (3, 10), (12, 24), (12, 25), (40, 100), (100, 100)])
def test_mcnemar_is_exact_below_25_discordant_pairs_and_chi2_from_25(wins: int, n: int) -> None:
    """The boundary is tested on both sides; the references are scipy's."""
    got = mcnemar_p_value(float(wins), n, 0)
    if n < MCNEMAR_EXACT_BELOW:
        want = sps.binomtest(wins, n, 0.5).pvalue
    else:
        want = sps.chi2.sf((wins - (n - wins)) ** 2 / n, 1)
    assert got == pytest.approx(want, rel=1e-12)


def test_mcnemar_rejects_impossible_counts_and_fills_rows_without_a_baseline() -> None:
    with pytest.raises(CheckError, match="impossible"):
        mcnemar_p_value(11.0, 10, 0)
    row = MetricRow(segment="all", feature="", metric="win_rate", test="mcnemar",
                    statistic=7.0, sample_size=9, baseline_size=None)  # fmt: skip
    (filled,) = fill_p_values([row])
    assert filled.p_value == pytest.approx(0.1796875, rel=1e-12)
