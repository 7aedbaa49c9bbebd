"""The guardrail check slice_metrics on a real DuckDB file, against scipy and scikit-learn.

Values, z statistics, p-values, q-values and intervals are compared with references
computed from the raw rows, to a relative tolerance of 1e-9: the SQL reduces rows to
grouped counts and sums doubles in a different order than numpy (and rebuilds the
pooled proportion from value × size), so results agree to ~1e-13 but not bit for bit.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix, roc_auc_score

from tests.conftest import metric_map, write_table
from tests.references import floats, segment_mask

RTOL = 1e-9
RATES = ["accuracy", "precision", "recall", "fpr", "positive_rate", "base_rate", "label_coverage"]
CUR_DAY = datetime(2026, 9, 8)


def rate_counts(score: np.ndarray, label: np.ndarray, threshold: float = 0.5) -> dict:
    """(successes, trials) of every rate metric: label metrics over rows with a 0/1 label
    and a finite score, positive_rate over every finite score, label_coverage over all."""
    scored, labelled = np.isfinite(score), np.isin(label, (0, 1))
    keep = scored & labelled
    y, pred = label[keep].astype(int), (score[keep] >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    return {
        "accuracy": (tp + tn, len(y)),
        "precision": (tp, tp + fp),
        "recall": (tp, tp + fn),
        "fpr": (fp, fp + tn),
        "positive_rate": (int(np.sum(score[scored] >= threshold)), int(scored.sum())),
        "base_rate": (tp + fn, len(y)),
        "label_coverage": (int(labelled.sum()), len(label)),
    }


def auc_and_classes(score: np.ndarray, label: np.ndarray) -> tuple[float, int, int]:
    keep = np.isfinite(score) & np.isin(label, (0, 1))
    y = label[keep].astype(int)
    return roc_auc_score(y, score[keep]), int(y.sum()), int(len(y) - y.sum())


def hanley_mcneil_variance(a: float, n_pos: int, n_neg: int) -> float:
    """Hanley JA, McNeil BJ (1982). The meaning and use of the area under a receiver
    operating characteristic (ROC) curve. Radiology 143(1):29-36, equation (2):
    SE²(A) = [A(1−A) + (n_A − 1)(Q₁ − A²) + (n_N − 1)(Q₂ − A²)] / (n_A·n_N),
    Q₁ = A/(2 − A), Q₂ = 2A²/(1 + A); n_A abnormal (positive), n_N normal (negative)."""
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)


def pooled_z(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-proportion z with the pooled proportion, window (1) minus baseline (2)."""
    p = (x1 + x2) / (n1 + n2)
    return (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def window(
    rng: np.random.Generator, sizes: dict[str | None, int], shift: dict[str | None, float]
) -> dict[str, list[Any]]:
    """Rows per country: scores rounded to 2 decimals, labels drawn from the score, about
    one label in ten NULL (no feedback), a device per row; `shift` moves a country's
    scores (and so its positive rate)."""
    cols: dict[str, list[Any]] = {"score": [], "label": [], "country": [], "device": []}
    for country, n in sizes.items():
        s = np.round(np.clip(rng.beta(2, 3, n) + shift.get(country, 0.0), 0, 1), 2)
        y = (rng.random(n) < s).astype(int)
        cols["score"] += [float(v) for v in s]
        cols["label"] += [None if rng.random() < 0.1 else int(v) for v in y]
        cols["country"] += [country] * n
        cols["device"] += list(rng.choice(["ios", "web"], n))
    return cols


def slice_monitor(**params: Any) -> dict[str, Any]:
    return {"name": "guard", "check": "slice_metrics", "params": params}


# ----------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("with_auc", [True, False], ids=["with_auc", "rates_only"])
def test_rate_z_and_p_values_match_chi2_contingency(world, with_auc: bool) -> None:
    """Every rate metric of every slice: value and sizes from the raw rows, the statistic
    is the pooled two-proportion z, its p-value the 2×2 χ² test without continuity
    correction (χ² = z²) and 2·Φ(−|z|). Without auc the check groups rows by the side
    of the threshold instead of by score (nothing sorted): the same references hold.
    Some scores are NaN, ±inf or NULL: not scored, and not among the labelled rates'
    rows either (the references keep finite scores only)."""
    rng = np.random.default_rng(21)
    sizes = {"PT": 500, "BR": 450, "US": 400}
    base = window(rng, sizes, {})
    cur = window(rng, sizes, {"PT": 0.08, "US": -0.03})
    for sample in (base, cur):
        for i in range(0, len(sample["score"]), 37):
            sample["score"][i] = [math.nan, math.inf, -math.inf, None][(i // 37) % 4]
    world.load(base, cur)
    metrics = [*RATES, "auc"] if with_auc else RATES
    (result,) = world.run([slice_monitor(slices=[["country"]], metrics=metrics)])
    got = metric_map(result)
    assert {s for s, _, _ in got} == {"all", "country=PT", "country=BR", "country=US"}
    assert {m for _, _, m in got} == set(metrics)
    checked = 0
    for segment in ("all", "country=PT", "country=BR", "country=US"):
        m_cur, m_base = segment_mask(cur, segment), segment_mask(base, segment)
        c = rate_counts(floats(cur["score"])[m_cur], floats(cur["label"])[m_cur])
        b = rate_counts(floats(base["score"])[m_base], floats(base["label"])[m_base])
        for metric in RATES:
            row = got[(segment, "", metric)]
            (x1, n1), (x2, n2) = c[metric], b[metric]
            assert row["value"] == pytest.approx(x1 / n1, rel=RTOL), (segment, metric)
            assert row["baseline_value"] == pytest.approx(x2 / n2, rel=RTOL), (segment, metric)
            assert (row["sample_size"], row["baseline_size"]) == (n1, n2), (segment, metric)
            z = pooled_z(x1, n1, x2, n2)
            assert row["test"] == "z"
            assert row["statistic"] == pytest.approx(z, rel=RTOL), (segment, metric)
            chi2, p, dof, _ = stats.chi2_contingency(
                [[x1, n1 - x1], [x2, n2 - x2]], correction=False
            )
            assert dof == 1 and chi2 == pytest.approx(z * z, rel=RTOL)
            assert row["p_value"] == pytest.approx(p, rel=RTOL), (segment, metric)
            assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=RTOL)
            checked += 1
    assert checked == 4 * len(RATES)
    # The shifted slice is clearly significant, so the test is not trivially p ≈ 1.
    assert got[("country=PT", "", "positive_rate")]["p_value"] < 1e-3


def test_auc_z_is_hanley_mcneil(world) -> None:
    rng = np.random.default_rng(4)
    sizes = {"PT": 600, "BR": 500}
    base = window(rng, sizes, {})
    cur = window(rng, sizes, {"BR": 0.1})
    # Weaken PT's current ranking: a tenth of its labels drawn at random.
    for i, country in enumerate(cur["country"]):
        if country == "PT" and cur["label"][i] is not None and i % 10 == 0:
            cur["label"][i] = int(rng.random() < 0.5)
    world.load(base, cur)
    (result,) = world.run([slice_monitor(slices=[["country"]], metrics=["auc"])])
    got = metric_map(result)
    for segment in ("all", "country=PT", "country=BR"):
        m_cur, m_base = segment_mask(cur, segment), segment_mask(base, segment)
        a1, p1, q1 = auc_and_classes(floats(cur["score"])[m_cur], floats(cur["label"])[m_cur])
        a2, p2, q2 = auc_and_classes(floats(base["score"])[m_base], floats(base["label"])[m_base])
        row = got[(segment, "", "auc")]
        assert row["value"] == pytest.approx(a1, rel=RTOL)
        assert row["baseline_value"] == pytest.approx(a2, rel=RTOL)
        assert (row["sample_size"], row["baseline_size"]) == (min(p1, q1), min(p2, q2))
        # The test takes both variances at the pooled AUC (weighted by P·N), as the
        # two-proportion test pools its proportion; the intervals use each side's own.
        pooled = (a1 * p1 * q1 + a2 * p2 * q2) / (p1 * q1 + p2 * q2)
        z = (a1 - a2) / math.sqrt(
            hanley_mcneil_variance(pooled, p1, q1) + hanley_mcneil_variance(pooled, p2, q2)
        )
        v1, v2 = hanley_mcneil_variance(a1, p1, q1), hanley_mcneil_variance(a2, p2, q2)
        assert row["statistic"] == pytest.approx(z, rel=RTOL), segment
        assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=RTOL)
        detail = json.loads(row["detail"])
        assert detail["interval"] == "Hanley-McNeil 95%"
        half = stats.norm.ppf(0.975) * math.sqrt(v1)
        assert detail["low"] == pytest.approx(a1 - half, rel=RTOL)
        assert detail["high"] == pytest.approx(a1 + half, rel=RTOL)
        assert detail["baseline_high"] == pytest.approx(
            a2 + stats.norm.ppf(0.975) * math.sqrt(v2), rel=RTOL
        )


def test_q_values_are_benjamini_hochberg_over_every_ruled_row(world) -> None:
    """The family is every row with a p-value that some rule matches (two metrics ×
    every slice, both slice sets); rows no rule names get no q-value."""
    rng = np.random.default_rng(8)
    sizes = {"PT": 300, "BR": 250, "US": 200, "ES": 150}
    base = window(rng, sizes, {})
    cur = window(rng, sizes, {"PT": 0.1, "ES": -0.05})
    world.load(base, cur)
    rules = [
        {"metric": m, "measure": "delta", "direction": "both", "warn": 0.05, "max_q_value": 0.05}
        for m in ("positive_rate", "precision")
    ]
    monitor = slice_monitor(
        slices=[["country"], ["country", "device"]],
        metrics=["positive_rate", "precision", "recall"],
    )
    (result,) = world.run([{**monitor, "rules": rules}])
    rows = [r.as_dict() for r in result.rows]
    family = [
        r
        for r in rows
        if r["metric"] in ("positive_rate", "precision") and r["p_value"] is not None
    ]
    assert len(family) == 2 * (1 + 4 + 8)
    q = stats.false_discovery_control([r["p_value"] for r in family], method="bh")
    for r, expected in zip(family, q, strict=True):
        assert r["q_value"] == pytest.approx(expected, rel=RTOL), (r["segment"], r["metric"])
    assert all(r["q_value"] is None for r in rows if r["metric"] == "recall")
    # The q-value is not the p-value: the correction did something.
    assert any(r["q_value"] > r["p_value"] * 1.5 for r in family)


# ----------------------------------------------------------------------------- verdicts


def test_a_degraded_slice_fires_and_clean_slices_stay_ok(world) -> None:
    """PT's current scores are all 0.95: its positive rate jumps from ~0.3 to 1. The
    other countries, drawn alike in both windows, stay ok. detail carries delta and
    Wilson intervals (checked against scipy's binomtest)."""
    rng = np.random.default_rng(13)
    sizes = {"PT": 400, "BR": 420, "US": 380, "ES": 410}
    base = window(rng, sizes, {})
    cur = window(rng, sizes, {})
    cur["score"] = [
        0.95 if c == "PT" else s for s, c in zip(cur["score"], cur["country"], strict=True)
    ]
    world.load(base, cur)
    rule = {
        "metric": "positive_rate",
        "measure": "delta",
        "warn": 0.1,
        "alert": 0.2,
        "max_q_value": 0.05,
    }
    monitor = slice_monitor(slices=[["country"]], metrics=["positive_rate", "precision"])
    (result,) = world.run([{**monitor, "rules": [rule], "min_samples": 100}])
    got = metric_map(result)
    pt = got[("country=PT", "", "positive_rate")]
    assert pt["value"] == 1.0 and pt["status"] == "alert" and pt["threshold"] == 0.2
    for country in ("BR", "US", "ES"):
        row = got[(f"country={country}", "", "positive_rate")]
        assert abs(row["value"] - row["baseline_value"]) < 0.1
        assert row["status"] == "ok", (country, row)
    for segment in ("country=PT", "country=BR", "country=US", "country=ES", "all"):
        row = got[(segment, "", "positive_rate")]
        detail = json.loads(row["detail"])
        assert detail["delta"] == pytest.approx(row["value"] - row["baseline_value"], rel=RTOL)
        assert detail["interval"] == "Wilson 95%"
        m_cur, m_base = segment_mask(cur, segment), segment_mask(base, segment)
        x1, n1 = rate_counts(floats(cur["score"])[m_cur], floats(cur["label"])[m_cur])[
            "positive_rate"
        ]
        x2, n2 = rate_counts(floats(base["score"])[m_base], floats(base["label"])[m_base])[
            "positive_rate"
        ]
        ci = stats.binomtest(x1, n1).proportion_ci(confidence_level=0.95, method="wilson")
        bci = stats.binomtest(x2, n2).proportion_ci(confidence_level=0.95, method="wilson")
        assert detail["low"] == pytest.approx(ci.low, rel=RTOL), segment
        assert detail["high"] == pytest.approx(ci.high, rel=RTOL), segment
        assert detail["baseline_low"] == pytest.approx(bci.low, rel=RTOL), segment
        assert detail["baseline_high"] == pytest.approx(bci.high, rel=RTOL), segment


def test_a_slice_below_min_samples_never_fires(world) -> None:
    """LU has 8 rows a side and flips from no positive to all positive (p ≈ 6e-5): still
    no_data under min_samples 30, while PT, with the same kind of change on 300 rows,
    alerts under the same rule."""
    rng = np.random.default_rng(2)
    base = window(rng, {"PT": 300, "BR": 300}, {})
    cur = window(rng, {"PT": 300, "BR": 300}, {"PT": 0.3})
    for cols, s in ((base, 0.01), (cur, 0.99)):
        cols["score"] += [s] * 8
        cols["label"] += [1, 0] * 4
        cols["country"] += ["LU"] * 8
        cols["device"] += ["ios"] * 8
    world.load(base, cur)
    rule = {"metric": "positive_rate", "measure": "delta", "warn": 0.1, "alert": 0.2}
    monitor = slice_monitor(slices=[["country"]], metrics=["positive_rate"])
    (result,) = world.run([{**monitor, "rules": [rule], "min_samples": 30}])
    got = metric_map(result)
    lu = got[("country=LU", "", "positive_rate")]
    assert lu["value"] == 1.0 and lu["baseline_value"] == 0.0
    assert lu["p_value"] < 1e-3
    assert lu["status"] == "no_data" and lu["reason"] == "sample_size 8 < min_samples 30"
    assert got[("country=PT", "", "positive_rate")]["status"] == "alert"


def test_slice_values_with_quotes_unicode_and_null(world) -> None:
    names = ["O'Brien", 'a "double" quote', "São Paulo", "東京", None]
    cur: dict[str, list[Any]] = {"score": [], "label": [], "city": []}
    base: dict[str, list[Any]] = {"score": [], "label": [], "city": []}
    for k, name in enumerate(names):
        for cols, n in ((cur, 3 + k), (base, 2 + 2 * k)):
            cols["score"] += [0.2 + 0.15 * (i % 5) for i in range(n)]
            cols["label"] += [i % 2 for i in range(n)]
            cols["city"] += [name] * n
    world.load(base, cur)
    (result,) = world.run([slice_monitor(slices=[["city"]], metrics=["positive_rate", "accuracy"])])
    got = metric_map(result)
    expected = {"all", "city=O'Brien", 'city=a "double" quote', "city=São Paulo", "city=東京"}
    assert {s for s, _, _ in got} == expected | {"city=<null>"}
    for k, name in enumerate(names):
        segment = f"city={'<null>' if name is None else name}"
        row = got[(segment, "", "positive_rate")]
        assert (row["sample_size"], row["baseline_size"]) == (3 + k, 2 + 2 * k), segment
        m = segment_mask(cur, segment)
        assert m.sum() == 3 + k
        x, n = rate_counts(floats(cur["score"])[m], floats(cur["label"])[m])["positive_rate"]
        assert row["value"] == pytest.approx(x / n, rel=RTOL), segment
        x, n = rate_counts(floats(cur["score"])[m], floats(cur["label"])[m])["accuracy"]
        assert got[(segment, "", "accuracy")]["value"] == pytest.approx(x / n, rel=RTOL)
    assert got[("all", "", "positive_rate")]["sample_size"] == sum(range(3, 8))


def test_unknown_metric_and_bad_compare_are_errors(world) -> None:
    world.load({"score": [0.3], "label": [1]}, {"score": [0.6], "label": [0]})
    brier, compare = world.run(
        [
            {"name": "g1", "check": "slice_metrics", "params": {"metrics": ["recall", "brier"]}},
            {"name": "g2", "check": "slice_metrics", "params": {"compare": "yesterday"}},
        ]
    )
    assert brier.status == "error" and not brier.rows
    assert "slice_metrics tests rates and auc only; not brier" in brier.error
    assert compare.status == "error" and not compare.rows
    assert "compare must be 'baseline' or 'champion', not yesterday" in compare.error


# ----------------------------------------------------------------------------- champion


def test_champion_compares_shadow_with_production_on_paired_requests(world) -> None:
    """value: the shadow model's metric; baseline_value: production's; both over the
    window's requests that both models scored. One-sided requests (skewed on purpose),
    requests of the day before and of another model must not count."""
    rng = np.random.default_rng(17)
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "model_name",
            "request_id",
            "ts",
            "has_production",
            "has_shadow",
            "prod_score",
            "shadow_score",
            "label",
            "country",
            "device",
        )
    }

    def add(n: int, model: str, day: datetime, prod: bool, shadow: bool, skew: float | None):
        truth = rng.random(n)
        prod_s = np.round(np.clip(truth + rng.normal(0, 0.35, n), 0, 1), 2)
        shadow_s = np.round(np.clip(truth + rng.normal(0, 0.2, n), 0, 1), 2)
        for i in range(n):
            cols["model_name"].append(model)
            cols["request_id"].append(f"r{len(cols['request_id'])}")
            cols["ts"].append(day + timedelta(minutes=int(rng.integers(0, 24 * 60))))
            cols["has_production"].append(prod)
            cols["has_shadow"].append(shadow)
            cols["prod_score"].append(
                (skew if skew is not None else float(prod_s[i])) if prod else None
            )
            cols["shadow_score"].append(
                (skew if skew is not None else float(shadow_s[i])) if shadow else None
            )
            label = int(truth[i] > 0.6) if skew is None else int(skew < 0.5)
            cols["label"].append(None if i % 11 == 0 else label)
            cols["country"].append(str(rng.choice(["PT", "BR"])))
            cols["device"].append(str(rng.choice(["ios", "web"])))

    add(800, "m", CUR_DAY, True, True, None)  # the paired requests
    add(150, "m", CUR_DAY, True, False, 0.99)  # production only: confidently wrong
    add(150, "m", CUR_DAY, False, True, 0.01)  # shadow only: confidently wrong
    add(100, "m", CUR_DAY - timedelta(days=1), True, True, 0.99)  # before the window
    add(100, "other", CUR_DAY, True, True, 0.99)  # another model
    world.load({"score": [0.5], "label": [1]}, {"score": [0.5], "label": [1]})
    write_table(world.db, "pairs", cols)
    metrics = [*RATES, "auc"]
    monitor = slice_monitor(slices=[["country"], ["device"]], metrics=metrics, compare="champion")
    models = {
        "m": {"predictions": "preds", "shadow_pairs": "pairs", "slices": ["country", "device"]}
    }
    (result,) = world.run([monitor], models=models)
    got = metric_map(result)

    ts = np.array(cols["ts"])
    paired = (
        (np.array(cols["model_name"]) == "m")
        & np.array(cols["has_production"])
        & np.array(cols["has_shadow"])
        & (ts >= CUR_DAY)
        & (ts < CUR_DAY + timedelta(days=1))
    )
    assert paired.sum() == 800
    sides = {
        name: {
            "score": [v for v, k in zip(cols[col], paired, strict=True) if k],
            "label": [v for v, k in zip(cols["label"], paired, strict=True) if k],
            "country": [v for v, k in zip(cols["country"], paired, strict=True) if k],
            "device": [v for v, k in zip(cols["device"], paired, strict=True) if k],
        }
        for name, col in (("shadow", "shadow_score"), ("prod", "prod_score"))
    }
    segments = ["all", "country=PT", "country=BR", "device=ios", "device=web"]
    assert {s for s, _, _ in got} == set(segments)
    problems = []
    for segment in segments:
        ref = {}
        for name, side in sides.items():
            m = segment_mask(side, segment)
            s, y = floats(side["score"])[m], floats(side["label"])[m]
            ref[name] = {k: (x / n, n) for k, (x, n) in rate_counts(s, y).items()}
            a, pos, neg = auc_and_classes(s, y)
            ref[name]["auc"] = (a, min(pos, neg))
        for metric in metrics:
            row = got[(segment, "", metric)]
            for col, size, name in (
                ("value", "sample_size", "shadow"),
                ("baseline_value", "baseline_size", "prod"),
            ):
                value, n = ref[name][metric]
                if not math.isclose(row[col], value, rel_tol=RTOL) or row[size] != n:
                    problems.append(
                        f"{segment} {metric} {col}: {row[col]}/{row[size]} != {value}/{n}"
                    )
    assert not problems, "\n".join(problems)
    # The shadow model ranks better on the same requests here, by construction.
    assert got[("all", "", "auc")]["value"] > got[("all", "", "auc")]["baseline_value"]


def test_champion_without_shadow_pairs_is_an_error(world) -> None:
    world.load({"score": [0.3], "label": [1]}, {"score": [0.6], "label": [0]})
    models = {"m": {"predictions": "preds", "shadow_pairs": None}}
    (result,) = world.run([slice_monitor(compare="champion")], models=models)
    assert result.status == "error"
    assert "compare: champion needs the model's shadow_pairs table" in result.error


def test_champion_slices_must_be_columns_dbt_pairs(world) -> None:
    """shadow_pairs carries only the model's declared slices: another column is named."""
    world.load({"score": [0.3], "label": [1]}, {"score": [0.6], "label": [0]})
    models = {"m": {"predictions": "preds", "shadow_pairs": "pairs", "slices": ["country"]}}
    monitor = slice_monitor(compare="champion", slices=[["country"], ["merchant"]])
    (result,) = world.run([monitor], models=models)
    assert result.status == "error"
    assert "slices must be among the model's `slices`" in result.error
    assert "not: merchant" in result.error


def test_one_misranked_positive_is_not_evidence_about_auc(world) -> None:
    """AUC's sample size is its smaller class: a slice with one positive, ranked below
    300 negatives, is no_data under min_samples 30 rather than a certain-looking alert."""
    base = {"score": [0.9] * 30 + [0.1] * 300, "label": [1] * 30 + [0] * 300}
    cur = {"score": [0.0] + [0.5] * 300, "label": [1] + [0] * 300}
    world.load(base, cur)
    rule = {"metric": "auc", "measure": "delta", "direction": "below", "alert": -0.1,
            "max_q_value": 0.01}  # fmt: skip
    (result,) = world.run(
        [{**slice_monitor(slices=[], metrics=["auc"]), "min_samples": 30, "rules": [rule]}]
    )
    auc = metric_map(result)[("all", "", "auc")]
    assert auc["value"] == 0.0 and auc["sample_size"] == 1
    assert auc["status"] == "no_data" and auc["reason"] == "sample_size 1 < min_samples 30"
