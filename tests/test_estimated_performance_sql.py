"""performance/estimated_performance through the runner on a real DuckDB file, against
an explicit CBPE written here with numpy and scikit-learn: the baseline's labelled
scores cut into bins equal in count within each class (a score's ties together),
scikit-learn's IsotonicRegression(out_of_bounds='clip') fitted on the bins' mean scores
and positive rates, the window's expected confusion matrix under its predictions, and
the estimated AUC as scikit-learn's roc_auc_score of every row twice (label 1 weighted
p, label 0 weighted 1 − p). The realized metrics against scikit-learn's own. The
hand-computed cases are in sql/performance/estimated_performance.tests.yaml.

Tolerance 1e-9 relative: both sides compute the same sums in double precision over a
few thousand rows in a different order (rounding ~1e-13); the maps agree to the last
bits (linear interpolation between the same knots).
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from tests.conftest import metric_map, read_db, write_table

RTOL = 1e-9
METRICS = ("auc", "accuracy", "precision", "recall", "f1")


def calibrated_world(rng: np.random.Generator, n: int, shift: float) -> dict[str, list]:
    """Scores whose labels follow a known curve P(y = 1 | s) = s², so a raw score is not
    a probability and the map has work to do; `shift` moves the scores' distribution
    (covariate shift: the curve stays, the mix changes)."""
    score = np.round(np.clip(rng.beta(2 + shift, 5 - shift, n), 0, 1), 4)  # ties, on purpose
    label = (rng.random(n) < score**2).astype(float)
    return {"score": list(score), "label": list(label)}


def class_balanced_bins(score: np.ndarray, label: np.ndarray, bins: int) -> list[list[float]]:
    """Each distinct score s in bin ⌊(bins/2)·positives below s / positives⌋ +
    ⌊(bins/2)·negatives below s / negatives⌋, its ties together: [n, positives, score
    sum] per bin, in score order."""
    values, at = np.unique(score, return_inverse=True)
    counts = np.bincount(at)
    positives = np.bincount(at, weights=label)
    negatives = counts - positives
    pos_below = np.concatenate([[0], np.cumsum(positives)[:-1]])
    neg_below = np.concatenate([[0], np.cumsum(negatives)[:-1]])
    which = np.floor(bins / 2 * pos_below / positives.sum()) + np.floor(
        bins / 2 * neg_below / negatives.sum()
    )
    out = []
    for b in np.unique(which):
        pick = which == b
        out.append([counts[pick].sum(), positives[pick].sum(), (values * counts)[pick].sum()])
    return out


def calibration(base: dict[str, list], bins: int) -> IsotonicRegression:
    b = np.array(class_balanced_bins(np.array(base["score"]), np.array(base["label"]), bins))
    return IsotonicRegression(out_of_bounds="clip").fit(b[:, 2] / b[:, 0], b[:, 1] / b[:, 0],
                                                        sample_weight=b[:, 0])  # fmt: skip


def cbpe(p: np.ndarray, score: np.ndarray, cut: float) -> dict[str, float]:
    """The expected confusion matrix, written out as NannyML's CBPE defines it."""
    flagged = score >= cut
    tp, fp = p[flagged].sum(), (1 - p[flagged]).sum()
    fn, tn = p[~flagged].sum(), (1 - p[~flagged]).sum()
    n = len(p)
    twice = np.concatenate([score, score])
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "auc": roc_auc_score(np.r_[np.ones(n), np.zeros(n)], twice, sample_weight=np.r_[p, 1 - p]),
    }


def realized(score: np.ndarray, label: np.ndarray, cut: float) -> dict[str, float]:
    y, flag = label.astype(int), (score >= cut).astype(int)
    return {
        "accuracy": accuracy_score(y, flag),
        "precision": precision_score(y, flag),
        "recall": recall_score(y, flag),
        "f1": f1_score(y, flag),
        "auc": roc_auc_score(y, score),
    }


def monitor(**params: object) -> dict:
    return {"name": "cbpe", "check": "estimated_performance", "params": params}


@pytest.mark.parametrize("with_auc", [True, False], ids=["with_auc", "without_auc"])
@pytest.mark.parametrize("bins, cut", [(20, 0.5), (7, 0.35)])
def test_matches_an_explicit_cbpe(world, bins, cut, with_auc) -> None:
    """Every metric against CBPE written out; without auc (nothing ranked by score) the
    other four hold to the same references."""
    rng = np.random.default_rng(bins)
    base, cur = calibrated_world(rng, 4000, 0.0), calibrated_world(rng, 2500, 1.5)
    world.load(base, cur)
    metrics = list(METRICS) if with_auc else [m for m in METRICS if m != "auc"]
    (result,) = world.run([monitor(bins=bins, threshold=cut, metrics=metrics)])
    rows = metric_map(result)
    assert {m for _, _, m in rows} == {
        f"{k}_{m}" for k in ("estimated", "realized") for m in metrics
    }
    score = np.array(cur["score"])
    p = calibration(base, bins).predict(score)
    expected = cbpe(p, score, cut)
    truth = realized(score, np.array(cur["label"]), cut)
    on_base = realized(np.array(base["score"]), np.array(base["label"]), cut)
    for metric in metrics:
        row = rows[("all", "", f"estimated_{metric}")]
        assert row["value"] == pytest.approx(expected[metric], rel=RTOL), metric
        assert row["baseline_value"] == pytest.approx(on_base[metric], rel=RTOL), metric
        real = rows[("all", "", f"realized_{metric}")]
        assert real["value"] == pytest.approx(truth[metric], rel=RTOL), metric
        band = json.loads(row["detail"])
        assert band["lower"] <= row["value"] <= band["upper"]
    assert rows[("all", "", "estimated_accuracy")]["sample_size"] == len(score)
    assert rows[("all", "", "estimated_precision")]["sample_size"] == int((score >= cut).sum())
    assert rows[("all", "", "estimated_recall")]["sample_size"] == math.floor(p.sum() + 0.5)
    (spec,) = read_db(world.db, "SELECT spec FROM monitor.bin_specs WHERE kind = 'isotonic'")
    stored = json.loads(spec[0])
    assert stored["baseline_rows"] == 4000 and stored["positives"] == sum(base["label"])


def test_the_estimate_finds_the_realized_value_within_its_band(world) -> None:
    """Labels drawn from a fixed curve; the window's scores shift (more high scores,
    within the baseline's range): its realized metrics move, and the estimates follow
    them, each within its band of 3 standard errors, before any label is read. (A
    shift beyond the baseline's scores is beyond any calibration: the map holds its
    end value there, docs/metrics.md.)"""
    rng = np.random.default_rng(42)
    base, cur = calibrated_world(rng, 6000, 0.0), calibrated_world(rng, 6000, 0.6)
    world.load(base, {"score": cur["score"], "label": [None] * 6000})  # no label yet
    (result,) = world.run([monitor()])
    rows = metric_map(result)
    truth = realized(np.array(cur["score"]), np.array(cur["label"]), 0.5)
    on_base = realized(np.array(base["score"]), np.array(base["label"]), 0.5)
    for metric in METRICS:
        row = rows[("all", "", f"estimated_{metric}")]
        band = json.loads(row["detail"])
        assert band["lower"] <= truth[metric] <= band["upper"], (metric, truth[metric], band)
        assert rows[("all", "", f"realized_{metric}")]["value"] is None
    # The shift is real: the window's recall is far from the baseline's.
    assert truth["recall"] - on_base["recall"] > 0.1, (truth, on_base)


def test_the_standard_errors_are_the_spread_of_the_realized_value(world) -> None:
    """The band's standard error of accuracy, precision, recall and f1 is the spread of
    the realized metric when the window's labels are drawn from the calibrated
    probabilities. Checked by drawing them 4,000 times: the empirical standard
    deviation within 6% of the formula (the Monte Carlo error of a standard deviation
    over 4,000 draws is about 1.1%, and the delta method's for recall and f1 a few
    tenths of a percent at these sizes)."""
    rng = np.random.default_rng(9)
    base, cur = calibrated_world(rng, 4000, 0.0), calibrated_world(rng, 1500, 0.5)
    world.load(base, {"score": cur["score"], "label": [None] * 1500})
    (result,) = world.run([monitor(metrics=["accuracy", "precision", "recall", "f1"])])
    rows = metric_map(result)
    score = np.array(cur["score"])
    p = calibration(base, 20).predict(score)
    draws = (rng.random((4000, len(p))) < p).astype(float)
    flagged = score >= 0.5
    tp = draws[:, flagged].sum(axis=1)
    positives = draws.sum(axis=1)
    spread = {
        "accuracy": ((tp + (~flagged).sum() - (positives - tp)) / len(p)).std(),
        "precision": (tp / flagged.sum()).std(),
        "recall": (tp / positives).std(),
        "f1": (2 * tp / (flagged.sum() + positives)).std(),
    }
    for metric, sd in spread.items():
        se = json.loads(rows[("all", "", f"estimated_{metric}")]["detail"])["standard_error"]
        assert se == pytest.approx(sd, rel=0.06), metric


def test_each_slice_has_its_own_map_and_the_map_is_frozen(world) -> None:
    rng = np.random.default_rng(5)
    base, cur = calibrated_world(rng, 3000, 0.0), calibrated_world(rng, 2000, 1.0)
    base["device"] = list(rng.choice(["ios", "web"], 3000))
    cur["device"] = list(rng.choice(["ios", "web"], 2000))
    # On web the labels follow another curve (s, not s²): its own map, another estimate.
    for i, d in enumerate(base["device"]):
        if d == "web":
            base["label"][i] = float(rng.random() < base["score"][i])
    world.load(base, cur)
    (result,) = world.run([monitor(slices=[["device"]], metrics=["auc", "precision"])])
    rows = metric_map(result)
    for device in ("ios", "web"):
        pick = lambda part, d=device: {  # noqa: E731
            k: [v for v, dev in zip(part[k], part["device"], strict=True) if dev == d]
            for k in ("score", "label")
        }
        score = np.array(pick(cur)["score"])
        expected = cbpe(calibration(pick(base), 20).predict(score), score, 0.5)
        for metric in ("auc", "precision"):
            value = rows[(f"device={device}", "", f"estimated_{metric}")]["value"]
            assert value == pytest.approx(expected[metric], rel=RTOL), (device, metric)
    assert len(read_db(world.db, "SELECT segment FROM monitor.bin_specs")) == 3
    # A later run on another baseline keeps the stored maps: the same estimates.
    world.load(calibrated_world(rng, 3000, 3.0) | {"device": ["ios"] * 3000}, cur)
    (again,) = world.run([monitor(slices=[["device"]], metrics=["auc", "precision"])])
    for key, row in metric_map(again).items():
        if key[2].startswith("estimated_"):
            assert row["value"] == pytest.approx(rows[key]["value"], rel=1e-12), key
    assert len(read_db(world.db, "SELECT segment FROM monitor.bin_specs")) == 3


def test_a_thin_baseline_is_used_but_not_frozen(world) -> None:
    """A map resting on fewer than min_samples of the smaller class serves its run and
    is fitted again by the next, like the bins."""
    rng = np.random.default_rng(8)
    base = calibrated_world(rng, 200, 0.0)  # about 30 positives
    world.load(base, calibrated_world(rng, 100, 0.0))
    (result,) = world.run([{**monitor(), "min_samples": 500}])
    assert metric_map(result)[("all", "", "estimated_accuracy")]["value"] is not None
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(0,)]


def test_a_map_waits_for_the_whole_baseline_to_mature_before_it_is_frozen(world) -> None:
    """With label_maturity 180h (7d12h) and the run at 2026-09-09 06:00, baseline predictions
    after 2026-09-01 18:00 are not mature: the map is fitted on the mature ones (the
    later rows' labels are not read) and used, but not frozen; once every baseline
    prediction has matured, the next run freezes it."""
    rng = np.random.default_rng(4)
    early, late, cur = (calibrated_world(rng, n, 0.0) for n in (3000, 1000, 500))
    late["label"] = [1.0 - y for y in late["label"]]  # would spoil the map if it were read
    cols: dict[str, list] = {k: early[k] + late[k] + cur[k] for k in ("score", "label")}
    cols["ts"] = (
        [datetime(2026, 9, 1, 6)] * 3000 + [datetime(2026, 9, 1, 20)] * 1000
        + [datetime(2026, 9, 8, 12)] * 500
    )  # fmt: skip
    cols["model_name"], cols["role"] = ["m"] * 4500, ["production"] * 4500
    write_table(world.db, "preds", cols)
    models = {"m": {"predictions": "preds", "label_maturity": "180h"}}
    (result,) = world.run([monitor(metrics=["accuracy"])], models=models)
    score = np.array(cur["score"])
    expected = cbpe(calibration(early, 20).predict(score), score, 0.5)["accuracy"]
    row = metric_map(result)[("all", "", "estimated_accuracy")]
    assert row["value"] == pytest.approx(expected, rel=RTOL)
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(0,)]
    models["m"]["label_maturity"] = "7d"  # now all of the baseline has matured
    world.run([monitor(metrics=["accuracy"])], models=models)
    (spec,) = read_db(world.db, "SELECT spec FROM monitor.bin_specs")
    assert json.loads(spec[0])["baseline_rows"] == 4000
