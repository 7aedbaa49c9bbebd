"""shadow/shadow_disagreement on a real DuckDB file: every statistic against scipy or
numpy on the same paired requests, to 1e-9 relative (the SQL sums in another order;
nothing else differs), one-sided requests counted, and a slice that disagrees found."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from scipy import stats

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.conftest import load_pairs, metric_map, pair_columns
from tests.references import floats

RTOL = 1e-9
BASE, CUR = datetime(2026, 9, 1, 12), datetime(2026, 9, 8, 12)
MODELS = {"m": {"predictions": "preds", "shadow_pairs": "pairs", "slices": ["country"]}}


def pairs(rng: np.random.Generator, n: int, ts: datetime, broken: str | None = None) -> dict:
    """n requests of model m at `ts`: scores rounded to 2 decimals (many ties), 3% with
    no shadow score and 2% shadow-only; the `broken` country's shadow scores all 0.97."""
    prod = np.round(rng.uniform(0, 1, n), 2)
    shadow = np.round(np.clip(prod + rng.normal(0, 0.1, n), 0, 1), 2)
    country = rng.choice(["PT", "US", "BR"], n)
    if broken:
        shadow[country == broken] = 0.97
    has_p, has_s = rng.uniform(size=n) > 0.02, rng.uniform(size=n) > 0.03
    has_p |= ~has_s  # every request has at least one side
    ids = [f"{ts:%d}-{i}" for i in range(n)]
    return pair_columns(ids, [ts] * n, prod, shadow, has_p, has_s, country)


def run(world, **monitor: Any):
    (result,) = world.run(
        [{"name": "shadow", "check": "shadow_disagreement", **monitor}], models=MODELS
    )
    return metric_map(result)


def reference(cols: dict[str, list[Any]], mask: np.ndarray, t: float, ts_: float) -> dict:
    hp, hs = np.array(cols["has_production"]) & mask, np.array(cols["has_shadow"]) & mask
    p, s = floats(cols["prod_score"]), floats(cols["shadow_score"])
    both = hp & hs & np.isfinite(p) & np.isfinite(s)
    p, s = p[both], s[both]
    dp, ds = p >= t, s >= ts_
    delta = s - p
    return {
        "shadow_coverage": ((hp & hs).sum() / hp.sum(), int(hp.sum())),
        "disagreement_rate": (np.mean(dp != ds), len(p)),
        "flip_to_positive": (np.mean(~dp & ds), len(p)),
        "flip_to_negative": (np.mean(dp & ~ds), len(p)),
        "mean_abs_delta": (np.mean(np.abs(delta)), len(p)),
        "p95_abs_delta": (np.percentile(np.abs(delta), 95), len(p)),
        "mean_delta": (np.mean(delta), len(p)),
        "pearson": (stats.pearsonr(p, s)[0], len(p)),
        "spearman": (stats.spearmanr(p, s)[0], len(p)),
        "counts": {
            "paired": int((hp & hs).sum()),
            "production_only": int((hp & ~hs).sum()),
            "shadow_only": int((hs & ~hp).sum()),
        },
    }


def test_every_statistic_matches_scipy_per_slice_and_baseline(world) -> None:
    rng = np.random.default_rng(5)
    cols = load_pairs(world, pairs(rng, 900, BASE), pairs(rng, 900, CUR))
    got = run(world, params={"threshold": 0.5, "shadow_threshold": 0.42})
    day = np.array([t.day for t in cols["ts"]])
    country = np.array(cols["country"])
    for segment, seg_mask in [("all", True), *((f"country={c}", country == c) for c in ("PT", "US", "BR"))]:  # fmt: skip
        cur = reference(cols, (day == 8) & seg_mask, 0.5, 0.42)
        base = reference(cols, (day == 1) & seg_mask, 0.5, 0.42)
        counts = cur.pop("counts")
        for metric, (value, n) in cur.items():
            row = got[(segment, "", metric)]
            assert row["value"] == pytest.approx(value, rel=RTOL), (segment, metric)
            assert row["sample_size"] == n, (segment, metric)
            assert row["baseline_value"] == pytest.approx(base[metric][0], rel=RTOL)
            assert row["baseline_size"] == base[metric][1]
        assert json.loads(got[(segment, "", "shadow_coverage")]["detail"]) == counts
    # Rates carry a pooled two-proportion z; its p is the 2×2 χ² test's.
    row = got[("all", "", "disagreement_rate")]
    x1, n1 = round(row["value"] * row["sample_size"]), row["sample_size"]
    x2, n2 = round(row["baseline_value"] * row["baseline_size"]), row["baseline_size"]
    chi2 = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert row["test"] == "z" and row["statistic"] ** 2 == pytest.approx(chi2.statistic, rel=RTOL)
    assert row["p_value"] == pytest.approx(chi2.pvalue, rel=RTOL)


def test_one_sided_requests_are_counted_not_dropped(world) -> None:
    base = {
        "model_name": ["m"] * 6,
        "request_id": list("abcdef"),
        "ts": [CUR] * 6,
        "has_production": [True, True, True, True, False, False],
        "has_shadow": [True, True, False, False, True, True],
        "prod_score": [0.1, 0.9, 0.5, 0.5, None, None],
        "shadow_score": [0.2, 0.3, None, None, 0.7, 0.8],
        "label": [None] * 6,
        "country": ["PT"] * 6,
    }
    load_pairs(world, base)
    got = run(world)
    coverage = got[("all", "", "shadow_coverage")]
    assert coverage["value"] == 0.5 and coverage["sample_size"] == 4
    assert json.loads(coverage["detail"]) == {
        "paired": 2,
        "production_only": 2,
        "shadow_only": 2,
    }
    # Disagreement is judged on the two requests both models scored: one flips.
    assert got[("all", "", "flip_to_negative")]["value"] == 0.5
    assert got[("all", "", "disagreement_rate")]["sample_size"] == 2


def test_constant_scores_make_correlation_undefined_with_a_reason(world) -> None:
    n = 50
    part = {
        "model_name": ["m"] * n,
        "request_id": [str(i) for i in range(n)],
        "ts": [CUR] * n,
        "has_production": [True] * n,
        "has_shadow": [True] * n,
        "prod_score": [0.3] * n,
        "shadow_score": [i / n for i in range(n)],
        "label": [None] * n,
        "country": ["PT"] * n,
    }
    load_pairs(world, part)
    got = run(world)
    for metric in ("pearson", "spearman"):
        row = got[("all", "", metric)]
        assert row["value"] is None and row["status"] == "no_data"
        assert row["reason"] == "production's scores are constant: correlation is undefined"
    assert got[("all", "", "mean_abs_delta")]["value"] == pytest.approx(
        np.mean(np.abs(np.arange(n) / n - 0.3)), rel=RTOL
    )


def test_an_empty_window_says_why(world) -> None:
    rng = np.random.default_rng(2)
    load_pairs(world, pairs(rng, 100, BASE))
    got = run(world)
    row = got[("all", "", "disagreement_rate")]
    assert row["value"] is None and row["reason"] == "no production request in the window"


def test_the_slice_that_disagrees_fires_while_the_aggregate_stays_under(world) -> None:
    """PT's shadow scores break (all 0.97): its disagreement fires, named, after BH
    across every slice; the aggregate moves less than the tolerance; clean slices stay ok."""
    rng = np.random.default_rng(8)
    load_pairs(world, pairs(rng, 3000, BASE), pairs(rng, 3000, CUR, broken="PT"))
    # The aggregate would move ~0.17 with three equal countries: tolerate 0.2.
    rule = {"metric": "disagreement_rate", "measure": "delta", "warn": 0.2, "alert": 0.3,
            "max_q_value": 0.01}  # fmt: skip
    got = run(world, rules=[rule], min_samples=200)
    pt = got[("country=PT", "", "disagreement_rate")]
    assert pt["status"] == "alert" and pt["q_value"] < 1e-20
    assert pt["value"] - pt["baseline_value"] > 0.3
    assert got[("all", "", "disagreement_rate")]["status"] == "ok"
    for c in ("US", "BR"):
        assert got[(f"country={c}", "", "disagreement_rate")]["status"] == "ok"


def test_slices_must_be_columns_of_shadow_pairs(world) -> None:
    rng = np.random.default_rng(1)
    load_pairs(world, pairs(rng, 10, CUR))
    (result,) = world.run(
        [{"name": "s", "check": "shadow_disagreement", "params": {"slices": [["device"]]}}],
        models=MODELS,
    )
    assert result.status == "error" and "not: device" in result.error


def test_each_model_is_judged_at_its_own_threshold_from_alerts_yaml(world) -> None:
    """models.m.thresholds sets the default of every check's threshold: the
    disagreement and the champion guardrail's positive rates use 0.6 for production
    and 0.42 for the shadow; an explicit param still wins."""
    rng = np.random.default_rng(11)
    cols = load_pairs(world, pairs(rng, 400, CUR))
    models = {"m": {**MODELS["m"], "thresholds": {"production": 0.6, "shadow": 0.42}}}
    monitors = [
        {"name": "dis", "check": "shadow_disagreement"},
        {"name": "dis-param", "check": "shadow_disagreement", "params": {"threshold": 0.5}},
        {"name": "champ", "check": "slice_metrics",
         "params": {"compare": "champion", "metrics": ["positive_rate"]}},
    ]  # fmt: skip
    dis, dis_param, champ = (metric_map(r) for r in world.run(monitors, models=models))
    day = np.array([t.day for t in cols["ts"]])
    assert dis[("all", "", "disagreement_rate")]["value"] == pytest.approx(
        reference(cols, day == 8, 0.6, 0.42)["disagreement_rate"][0], rel=RTOL
    )
    # threshold 0.5 as a param: the shadow still uses its own 0.42 from alerts.yaml.
    assert dis_param[("all", "", "disagreement_rate")]["value"] == pytest.approx(
        reference(cols, day == 8, 0.5, 0.42)["disagreement_rate"][0], rel=RTOL
    )
    both = np.array(cols["has_production"]) & np.array(cols["has_shadow"])
    p, s = floats(cols["prod_score"])[both], floats(cols["shadow_score"])[both]
    row = champ[("all", "", "positive_rate")]
    assert row["value"] == pytest.approx(np.mean(s >= 0.42), rel=RTOL)
    assert row["baseline_value"] == pytest.approx(np.mean(p >= 0.6), rel=RTOL)


def test_thresholds_name_known_roles_only(world) -> None:
    models = {"m": {**MODELS["m"], "thresholds": {"prod": 0.5}}}
    with pytest.raises(ConfigError, match="thresholds"):
        load_config(world.config([{"name": "d", "check": "shadow_disagreement"}], models=models))
