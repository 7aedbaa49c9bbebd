"""The performance checks (sql/performance/) on a real DuckDB file, against scikit-learn.

Every value is compared with scikit-learn (or numpy where it has no function) on the
same rows, to a relative tolerance of 1e-9: the SQL reduces the rows to grouped counts
per distinct score and sums doubles in a different order than numpy does, so results
agree to ~1e-13 but not bit for bit. Nothing else differs, so 1e-9 still catches any
wrong formula, denominator, bin edge or row filter.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from tests.conftest import metric_map, write_table
from tests.references import floats, segment_mask

RTOL = 1e-9
CLASSIFICATION = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "fpr",
    "positive_rate",
    "base_rate",
    "auc",
    "log_loss",
    "brier",
    "ece",
    "label_coverage",
]
REGRESSION = ["mae", "rmse", "mean_bias", "wape", "label_coverage"]
NO_LABELS_YET = "no prediction of the window has matured yet (ts + label_maturity <= run time)"


# ----------------------------------------------------------------------------- references


def ece_reference(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    """Σ_bins count/n · |prob_true − prob_pred|, bins as scikit-learn's calibration_curve."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], p), minlength=bins)
    counts = counts[counts > 0]  # calibration_curve drops empty bins too
    assert len(counts) == len(prob_true)
    return float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))


def classification_reference(
    score: np.ndarray,
    label: np.ndarray,
    threshold: float,
    bins: int,
    mature: np.ndarray | None = None,
) -> dict[str, tuple[float, int]]:
    """(value, sample_size) per metric. Label metrics: mature rows with a 0/1 label and a
    finite score; positive_rate: every finite score; label_coverage: labelled / mature."""
    mature = np.ones(len(score), dtype=bool) if mature is None else mature
    scored = np.isfinite(score)
    labelled = mature & np.isin(label, (0, 1))
    keep = labelled & scored
    y, p = label[keep].astype(int), score[keep]
    y_pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, y_pred, labels=[0, 1]).ravel()
    n = len(y)
    return {
        "accuracy": (accuracy_score(y, y_pred), n),
        "precision": (precision_score(y, y_pred), tp + fp),
        "recall": (recall_score(y, y_pred), tp + fn),
        "f1": (f1_score(y, y_pred), n),
        "fpr": (fp / (fp + tn), fp + tn),
        "positive_rate": (float(np.mean(score[scored] >= threshold)), int(scored.sum())),
        "base_rate": (float(np.mean(y)), n),
        "auc": (roc_auc_score(y, p), int(min(y.sum(), n - y.sum()))),
        "log_loss": (log_loss(y, p, labels=[0, 1]), n),
        "brier": (brier_score_loss(y, p), n),
        "ece": (ece_reference(y, p, bins), n),
        "label_coverage": (labelled.sum() / mature.sum(), int(mature.sum())),
    }


def regression_reference(
    pred: np.ndarray, target: np.ndarray, mature: np.ndarray | None = None
) -> dict[str, tuple[float, int]]:
    mature = np.ones(len(pred), dtype=bool) if mature is None else mature
    labelled = mature & np.isfinite(target)
    keep = labelled & np.isfinite(pred)
    y, p = target[keep], pred[keep]
    wape = float(np.sum(np.abs(p - y)) / np.sum(np.abs(y)))
    # The same number two ways: WAPE is MAE over the mean absolute target.
    assert wape == pytest.approx(mean_absolute_error(y, p) / np.mean(np.abs(y)), rel=1e-12)
    n = len(y)
    return {
        "mae": (mean_absolute_error(y, p), n),
        "rmse": (root_mean_squared_error(y, p), n),
        "mean_bias": (float(np.mean(p - y)), n),
        "wape": (wape, n),
        "label_coverage": (labelled.sum() / mature.sum(), int(mature.sum())),
    }


def mismatches(row: dict[str, Any], ref: tuple[float, int], what: str, side: str = "") -> list[str]:
    """What differs between a result row and its reference (value, sample_size); side ''
    for the window, 'baseline_' for the baseline. Listed, so one failure shows them all."""
    value, n = ref
    got, got_n = row[f"{side or ''}value"], row[f"{side}size" if side else "sample_size"]
    out = []
    if got is None or not math.isclose(got, value, rel_tol=RTOL):
        out.append(f"{what} {side}value: got {got}, expected {value}")
    if got_n != n:
        out.append(f"{what} {side}size: got {got_n}, expected {n}")
    return out


def assert_row(row: dict[str, Any], ref: tuple[float, int], what: str) -> None:
    assert not mismatches(row, ref, what), mismatches(row, ref, what)


def assert_baseline(row: dict[str, Any], ref: tuple[float, int], what: str) -> None:
    assert not mismatches(row, ref, what, "baseline_"), mismatches(row, ref, what, "baseline_")


# ----------------------------------------------------------------------------- data


def classification_window(rng: np.random.Generator, n: int, lift: float) -> dict[str, list[Any]]:
    """Scores rounded to 1 or 2 decimals (many ties), some on ECE bin edges and on the
    threshold, a hair either side of an edge; labels from the score shifted by `lift`;
    a few NULL labels (no feedback yet), NULL and NaN scores."""
    raw = rng.beta(2, 3, n)
    score = np.where(rng.random(n) < 0.5, np.round(raw, 1), np.round(raw, 2))
    edges = [0.1, 0.3, 0.5, 0.7, 0.35, 0.2, 0.9, 0.5 - 1e-12, 0.35 - 1e-12, 0.1 + 1e-12]
    score[: 4 * len(edges)] = edges * 4
    label = (rng.random(n) < np.clip(score + lift, 0, 1)).astype(int)
    scores: list[Any] = [float(s) for s in score]
    labels: list[Any] = [int(v) for v in label]
    for i in rng.choice(np.arange(60, n), size=n // 8, replace=False):
        labels[i] = None
    for i in rng.choice(np.arange(60, n), size=n // 40, replace=False):
        scores[i] = None if i % 2 else float("nan")
    return {
        "score": scores,
        "label": labels,
        "device": list(rng.choice(["ios", "android", "web"], n)),
        "country": list(rng.choice(["PT", "BR"], n)),
    }


def write_rows(db: Any, cols: dict[str, list[Any]]) -> None:
    """Rows of model 'm' (production) with their own `ts`, into the table World reads."""
    n = len(cols["ts"])
    write_table(db, "preds", {"model_name": ["m"] * n, "role": ["production"] * n, **cols})


# ----------------------------------------------------------------------------- classification


def test_classification_matches_sklearn_per_slice_and_baseline(world) -> None:
    """Every metric of every segment (overall, per device, per country × device) and of
    the baseline, with a non-default threshold and ece_bins, against scikit-learn on
    that segment's rows."""
    rng = np.random.default_rng(7)
    base, cur = classification_window(rng, 2400, 0.0), classification_window(rng, 2000, 0.08)
    world.load(base, cur)
    threshold, bins = 0.35, 7
    (result,) = world.run(
        [
            {
                "name": "perf",
                "check": "classification",
                "params": {
                    "threshold": threshold,
                    "ece_bins": bins,
                    "by": [["device"], ["country", "device"]],
                },
            }
        ]
    )
    got = metric_map(result)
    segments = {s for s, _, _ in got}
    assert segments == {"all"} | {
        f"{prefix}device={d}"
        for d in ("ios", "android", "web")
        for prefix in ("", "country=PT,", "country=BR,")
    }
    assert {m for _, _, m in got} == set(CLASSIFICATION)
    problems = []
    for segment in segments:
        refs = {}
        for name, cols in (("cur", cur), ("base", base)):
            mask = segment_mask(cols, segment)
            refs[name] = classification_reference(
                floats(cols["score"])[mask], floats(cols["label"])[mask], threshold, bins
            )
        for metric in CLASSIFICATION:
            row = got[(segment, "", metric)]
            problems += mismatches(row, refs["cur"][metric], f"{segment} {metric}")
            problems += mismatches(row, refs["base"][metric], f"{segment} {metric}", "baseline_")
            if row["status"] != "ok" or row["reason"] is not None:
                problems.append(f"{segment} {metric}: {row['status']} {row['reason']}")
    assert not problems, "\n".join(problems)


def test_ece_with_scores_exactly_on_bin_edges(world) -> None:
    """Scores at k/10 belong to the bin below, ((k-1)/10, k/10], as calibration_curve
    puts them; a score a hair above an edge goes up, a hair below stays. Labels are set
    so that bins closed on the other side, [k/10, (k+1)/10), give another ECE. Default
    threshold 0.5 (a score of exactly 0.5 is positive) and 10 bins. Scores 0 and 1 on
    the wrong class exercise log_loss's clipping to [ε, 1 − ε] as scikit-learn does."""
    edges = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    score = edges * 4 + [0.1 + 1e-9, 0.3 + 1e-9, 0.5 - 1e-9, 0.7 + 1e-9] * 4
    label = [1, 1, 1, 0, 1, 0, 1] * 4 + [0, 0, 1, 0] * 4
    world.load({"score": score, "label": label}, {"score": score, "label": label})
    (result,) = world.run([{"name": "perf", "check": "classification"}])
    got = metric_map(result)
    ref = classification_reference(floats(score), floats(label), 0.5, 10)
    for metric in ("ece", "accuracy", "precision", "auc", "brier", "log_loss", "positive_rate"):
        assert_row(got[("all", "", metric)], ref[metric], metric)
    s, y = floats(score), np.array(label)
    other_side = np.searchsorted(np.linspace(0, 1, 11)[1:-1], s, side="right")
    gaps = np.bincount(other_side, weights=y - s, minlength=10)
    assert not math.isclose(got[("all", "", "ece")]["value"], np.abs(gaps).sum() / len(s))


def test_one_class_windows_are_undefined_with_reasons(world) -> None:
    """device=neg: every label 0, every score below the threshold; device=pos: every
    label 1. AUC is undefined (not 0.5), and so are recall, precision, fpr where their
    denominators are empty; the other metrics stay defined."""
    cur = {
        "score": [0.1, 0.2, 0.2, 0.4, 0.3, 0.6, 0.9, 0.9, 0.55],
        "label": [0, 0, 0, 0, 1, 1, 1, 1, 1],
        "device": ["neg"] * 4 + ["pos"] * 5,
    }
    world.load(cur, cur)
    (result,) = world.run(
        [{"name": "perf", "check": "classification", "params": {"by": [["device"]]}}]
    )
    got = metric_map(result)
    nothing_flagged = "no mature labelled prediction scored at or above the threshold"
    undefined = {
        ("device=neg", "auc"): "AUC is undefined: every mature labelled prediction is negative",
        ("device=neg", "recall"): "no actual positive among the mature labelled predictions",
        ("device=neg", "precision"): nothing_flagged,
        ("device=neg", "f1"): "no positive, predicted or actual",
        ("device=pos", "auc"): "AUC is undefined: every mature labelled prediction is positive",
        ("device=pos", "fpr"): "no actual negative among the mature labelled predictions",
    }
    for (segment, metric), reason in undefined.items():
        row = got[(segment, "", metric)]
        assert row["value"] is None and row["status"] == "no_data", (segment, metric)
        assert row["reason"] == reason
    s, y = floats(cur["score"]), floats(cur["label"])
    for segment, sl in (("device=neg", slice(0, 4)), ("device=pos", slice(4, 9))):
        yy, pp = y[sl].astype(int), s[sl]
        pred = (pp >= 0.5).astype(int)
        assert got[(segment, "", "accuracy")]["value"] == pytest.approx(
            accuracy_score(yy, pred), rel=RTOL
        )
        assert got[(segment, "", "base_rate")]["value"] == float(np.mean(yy))
        assert got[(segment, "", "log_loss")]["value"] == pytest.approx(
            log_loss(yy, pp, labels=[0, 1]), rel=RTOL
        )
        assert got[(segment, "", "brier")]["value"] == pytest.approx(
            brier_score_loss(yy, pp), rel=RTOL
        )
    assert got[("device=neg", "", "fpr")]["value"] == 0.0
    assert got[("device=pos", "", "recall")]["value"] == pytest.approx(
        recall_score(y[4:].astype(int), (s[4:] >= 0.5).astype(int)), rel=RTOL
    )
    # Both classes overall: AUC is defined again.
    assert got[("all", "", "auc")]["value"] == pytest.approx(roc_auc_score(y, s), rel=RTOL)


def test_null_and_nan_scores_are_left_out_of_score_metrics(world) -> None:
    """A labelled row without a finite score (NULL, NaN, ±inf) is no evidence about the
    scores: every score metric uses the rows with a score, while label_coverage still
    counts the row as labelled."""
    nan, inf = float("nan"), float("inf")
    cur = {
        "score": [0.2, 0.8, 0.65, 0.3, 0.9, 0.1, 0.45, None, nan, None, nan, inf, 0.7, None],
        "label": [0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, None, None],
    }
    world.load(cur, cur)
    (result,) = world.run([{"name": "perf", "check": "classification"}])
    got = metric_map(result)
    ref = classification_reference(floats(cur["score"]), floats(cur["label"]), 0.5, 10)
    assert ref["accuracy"][1] == 7 and ref["positive_rate"][1] == 8
    assert ref["label_coverage"] == (12 / 14, 14)
    problems = [
        p
        for metric in CLASSIFICATION
        for side in ("", "baseline_")
        for p in mismatches(got[("all", "", metric)], ref[metric], metric, side)
    ]
    assert not problems, "\n".join(problems)


def test_empty_current_window_is_no_data_with_reasons(world) -> None:
    base = {"score": [0.2, 0.7, 0.6, 0.1], "label": [0, 1, 0, 1], "device": ["ios"] * 4}
    world.load(base, {"score": [], "label": [], "device": []})
    (result,) = world.run(
        [{"name": "perf", "check": "classification", "params": {"by": [["device"]]}}]
    )
    assert result.status == "no_data"
    got = metric_map(result)
    assert {(s, m) for s, _, m in got} == {
        (s, m) for s in ("all", "device=ios") for m in CLASSIFICATION
    }
    for (segment, _, metric), row in got.items():
        assert row["value"] is None and row["status"] == "no_data", (segment, metric)
        assert row["reason"], (segment, metric)
    assert got[("all", "", "positive_rate")]["reason"] == "the window has no scored predictions"
    assert got[("all", "", "auc")]["reason"] == NO_LABELS_YET
    assert got[("all", "", "label_coverage")]["reason"] == NO_LABELS_YET
    # The baseline is still there beside it.
    ref = classification_reference(floats(base["score"]), floats(base["label"]), 0.5, 10)
    assert_baseline(got[("all", "", "auc")], ref["auc"], "auc")


def test_scores_outside_0_1_are_not_probabilities(world) -> None:
    """device=raw has labelled scores outside [0, 1] (a margin, not a probability):
    log_loss, brier and ece are undefined with a reason, while the rank and threshold
    metrics are still defined. device=ok has such a score only on an unlabelled row,
    which the probability metrics never read, so they stay defined there."""
    cur = {
        # the last score is out of range but unlabelled
        "score": [-0.4, 0.3, 1.7, 0.8, 0.2, 0.6, 2.5, 0.1, 0.3, 0.9, 0.6, 3.0],
        "label": [0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, None],
        "device": ["raw"] * 8 + ["ok"] * 4,
    }
    world.load(cur, cur)
    (result,) = world.run(
        [{"name": "perf", "check": "classification", "params": {"by": [["device"]]}}]
    )
    got = metric_map(result)
    s, y = floats(cur["score"]), floats(cur["label"])
    for metric in ("log_loss", "brier", "ece"):
        row = got[("device=raw", "", metric)]
        assert row["value"] is None and row["status"] == "no_data"
        assert row["reason"] == "3 labelled score(s) lie outside [0, 1]: not probabilities"
        assert got[("all", "", metric)]["value"] is None
    raw = slice(0, 8)
    yr, sr = y[raw].astype(int), s[raw]
    assert got[("device=raw", "", "auc")]["value"] == pytest.approx(roc_auc_score(yr, sr), rel=RTOL)
    assert got[("device=raw", "", "accuracy")]["value"] == pytest.approx(
        accuracy_score(yr, (sr >= 0.5).astype(int)), rel=RTOL
    )
    yo, so = y[8:11].astype(int), s[8:11]
    assert got[("device=ok", "", "log_loss")]["value"] == pytest.approx(
        log_loss(yo, so, labels=[0, 1]), rel=RTOL
    )
    assert got[("device=ok", "", "brier")]["value"] == pytest.approx(
        brier_score_loss(yo, so), rel=RTOL
    )
    assert got[("device=ok", "", "ece")]["value"] == pytest.approx(
        ece_reference(yo, so, 10), rel=RTOL
    )
    # positive_rate counts the unlabelled out-of-range score (3.0 >= 0.5).
    assert got[("device=ok", "", "positive_rate")]["value"] == pytest.approx(3 / 4, rel=RTOL)


def test_label_maturity_keeps_immature_rows_out_of_label_metrics(world) -> None:
    """label_maturity 20h at T = 2026-09-09 06:00: a row is mature when ts <=
    2026-09-08 10:00 (inclusive). Immature rows already carry labels here, and they
    differ from the mature ones, so counting them would change every label metric;
    positive_rate still reads every scored row of the window."""
    rng = np.random.default_rng(11)
    hours = ["00:00:00", "05:30:00", "09:59:59", "10:00:00", "10:00:01", "16:00:00", "23:59:59"]
    ts, score, label = [], [], []
    for h in hours:
        mature = h <= "10:00:00"
        n = 60
        s = np.round(rng.beta(2, 3, n), 2)
        # Mature rows follow the score; immature ones are labelled against it.
        y = (rng.random(n) < (s if mature else 1 - s)).astype(int)
        ts += [datetime.fromisoformat(f"2026-09-08T{h}")] * n
        score += [float(v) for v in s]
        label += [None if i % 9 == 0 else int(v) for i, v in enumerate(y)]
    base_n = 120
    bs = np.round(rng.beta(2, 3, base_n), 2)
    ts += [datetime.fromisoformat("2026-09-01T12:00:00")] * base_n
    score += [float(v) for v in bs]
    label += [int(v) for v in (rng.random(base_n) < bs)]
    write_rows(world.db, {"ts": ts, "score": score, "label": label})
    models = {"m": {"predictions": "preds", "label_maturity": "20h"}}
    clf, reg = world.run(
        [
            {"name": "perf", "check": "classification"},
            {"name": "reg", "check": "regression"},
        ],
        models=models,
    )
    t = np.array(ts)
    in_window = t >= datetime(2026, 9, 8)
    mature = t[in_window] <= datetime(2026, 9, 8, 10)
    assert 0 < mature.sum() < in_window.sum()
    s, y = floats(score)[in_window], floats(label)[in_window]
    ref = classification_reference(s, y, 0.5, 10, mature=mature)
    assert ref["positive_rate"][1] == 7 * 60
    assert ref["label_coverage"][1] == 4 * 60
    got = metric_map(clf)
    problems = [p for m in CLASSIFICATION for p in mismatches(got[("all", "", m)], ref[m], m)]
    assert not problems, "\n".join(problems)
    # The baseline is a week old: all of it is mature.
    bref = classification_reference(floats(score)[~in_window], floats(label)[~in_window], 0.5, 10)
    assert_baseline(got[("all", "", "auc")], bref["auc"], "auc")
    rref = regression_reference(s, y, mature=mature)
    rgot = metric_map(reg)
    for metric in REGRESSION:
        assert_row(rgot[("all", "", metric)], rref[metric], metric)


def test_nothing_mature_yet_says_so(world) -> None:
    world.load(
        {"score": [0.3, 0.8], "label": [0, 1]}, {"score": [0.3, 0.8, 0.6], "label": [0, 1, 1]}
    )
    models = {"m": {"predictions": "preds", "label_maturity": "2d"}}
    (result,) = world.run([{"name": "perf", "check": "classification"}], models=models)
    got = metric_map(result)
    for metric in CLASSIFICATION:
        row = got[("all", "", metric)]
        if metric == "positive_rate":
            assert row["value"] == pytest.approx(2 / 3, rel=RTOL) and row["sample_size"] == 3
        else:
            assert row["value"] is None and row["reason"] == NO_LABELS_YET, metric


# ----------------------------------------------------------------------------- regression


def regression_window(rng: np.random.Generator, n: int, bias: float) -> dict[str, list[Any]]:
    """Targets with many exact zeros and some NULLs; predictions with a few NaNs."""
    target = np.where(rng.random(n) < 0.2, 0.0, np.round(rng.gamma(2.0, 10.0, n), 1))
    pred = np.round(target + bias + rng.normal(0, 4, n), 2)
    targets: list[Any] = [float(v) for v in target]
    preds: list[Any] = [float(v) for v in pred]
    for i in range(0, n, 13):
        targets[i] = None
    for i in range(5, n, 97):
        preds[i] = float("nan")
    return {"score": preds, "label": targets, "device": list(rng.choice(["ios", "web"], n))}


def test_regression_matches_sklearn_per_slice_and_baseline(world) -> None:
    rng = np.random.default_rng(3)
    base, cur = regression_window(rng, 1500, 0.0), regression_window(rng, 1200, 1.5)
    world.load(base, cur)
    (result,) = world.run([{"name": "reg", "check": "regression", "params": {"by": [["device"]]}}])
    got = metric_map(result)
    assert {s for s, _, _ in got} == {"all", "device=ios", "device=web"}
    for segment in ("all", "device=ios", "device=web"):
        refs = {}
        for name, cols in (("cur", cur), ("base", base)):
            mask = segment_mask(cols, segment)
            refs[name] = regression_reference(
                floats(cols["score"])[mask], floats(cols["label"])[mask]
            )
        for metric in REGRESSION:
            row = got[(segment, "", metric)]
            assert_row(row, refs["cur"][metric], f"{segment} {metric}")
            assert_baseline(row, refs["base"][metric], f"{segment} {metric} baseline")
    # The current window over-predicts by 1.5 on average: a positive bias.
    assert got[("all", "", "mean_bias")]["value"] > 1.0


def test_regression_all_zero_targets_and_missing_targets(world) -> None:
    """WAPE divides by Σ|target|: undefined, with a reason, when every target is 0,
    while mae/rmse stay defined. A window without any target says the feedback is
    missing."""
    cur = {
        "score": [0.5, -1.0, 2.0, 0.0, 3.0, 1.0, 2.0, 7.0],
        "label": [0.0, 0.0, 0.0, 0.0, None, None, None, None],
        "device": ["zero"] * 5 + ["none"] * 3,
    }
    world.load(cur, cur)
    (result,) = world.run([{"name": "reg", "check": "regression", "params": {"by": [["device"]]}}])
    got = metric_map(result)
    wape = got[("device=zero", "", "wape")]
    assert wape["value"] is None and wape["status"] == "no_data"
    assert wape["reason"] == "every target is 0: a relative error is undefined"
    y, p = np.zeros(4), np.array([0.5, -1.0, 2.0, 0.0])
    assert got[("device=zero", "", "mae")]["value"] == pytest.approx(
        mean_absolute_error(y, p), rel=RTOL
    )
    assert got[("device=zero", "", "rmse")]["value"] == pytest.approx(
        root_mean_squared_error(y, p), rel=RTOL
    )
    assert got[("device=zero", "", "label_coverage")]["value"] == pytest.approx(4 / 5, rel=RTOL)
    for metric in ("mae", "rmse", "mean_bias", "wape"):
        row = got[("device=none", "", metric)]
        assert row["value"] is None and row["sample_size"] == 0
        assert row["reason"] == "no mature prediction has a target (feedback missing?)"
    assert got[("device=none", "", "label_coverage")]["value"] == 0.0
    assert math.isclose(got[("all", "", "label_coverage")]["value"], 4 / 8, rel_tol=RTOL)
