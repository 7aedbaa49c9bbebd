"""shadow/score_comovement on a real DuckDB file: each model's score drift against
scipy and numpy on the same paired requests, to 1e-9 relative (the SQL sums in another
order), and the gap that tells "one model broke" from "the world changed"."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from scipy import stats

from tests.conftest import load_pairs, metric_map, pair_columns
from tests.references import js_ref, psi_ref, reference_bins

RTOL = 1e-9
BASE, CUR = datetime(2026, 9, 1, 12), datetime(2026, 9, 8, 12)
MODELS = {"m": {"predictions": "preds", "shadow_pairs": "pairs", "slices": ["country"]}}


def pairs(
    rng: np.random.Generator, n: int, ts: datetime, shift: float = 0.0, broken: str | None = None
) -> dict[str, list[Any]]:
    """n requests at `ts`. Both models score a common signal (moved by `shift`: the world
    changes for both); the `broken` country's shadow scores jump to 0.90–0.99. Some
    requests are one-sided, some scores NaN: neither counts."""
    signal = rng.normal(shift, 1.0, n)
    prod = np.round(1 / (1 + np.exp(-(signal + rng.normal(0, 0.5, n)))), 3)
    shadow = np.round(1 / (1 + np.exp(-(1.2 * signal + rng.normal(0, 0.3, n)))), 3)
    country = rng.choice(["PT", "US", "BR"], n, p=[0.1, 0.6, 0.3])
    if broken:
        hit = country == broken
        shadow[hit] = np.round(rng.uniform(0.9, 0.99, hit.sum()), 3)
    has_p, has_s = rng.uniform(size=n) > 0.03, rng.uniform(size=n) > 0.03
    has_p |= ~has_s
    shadow[:5] = np.nan  # a broken score is not a score
    ids = [f"{ts:%d}-{i}" for i in range(n)]
    return pair_columns(ids, [ts] * n, prod, shadow, has_p, has_s, country)


def load(world, *parts: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    cols = load_pairs(world, *parts)
    return {k: np.array(v, dtype=float if k.endswith("score") else object) for k, v in cols.items()}


def run(world, **monitor: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    monitor = {"name": "co", "check": "score_comovement", **monitor}
    (result,) = world.run([monitor], models=MODELS)
    return metric_map(result)


def paired_scores(cols: dict[str, np.ndarray], mask: np.ndarray, day: int) -> dict[str, np.ndarray]:
    """Each model's scores on the requests of `day` that both scored with a finite score."""
    at_day = np.array([t.day == day for t in cols["ts"]])
    keep = mask & at_day & cols["has_production"].astype(bool) & cols["has_shadow"].astype(bool)
    keep &= np.isfinite(cols["prod_score"]) & np.isfinite(cols["shadow_score"])
    return {"production": cols["prod_score"][keep], "shadow": cols["shadow_score"][keep]}


def test_each_models_drift_and_the_gap_match_scipy_per_slice(world) -> None:
    rng = np.random.default_rng(3)
    cols = load(world, pairs(rng, 2400, BASE), pairs(rng, 2000, CUR, shift=0.3, broken="PT"))
    got = run(world, params={"bins": 10})
    country = cols["country"]
    for segment, mask in [("all", np.ones(len(country), bool)), *((f"country={c}", country == c) for c in ("PT", "US", "BR"))]:  # fmt: skip
        base, cur = paired_scores(cols, mask, 1), paired_scores(cols, mask, 8)
        want: dict[str, dict[str, float]] = {}
        for model in ("production", "shadow"):
            b, c = base[model], cur[model]
            ks = stats.ks_2samp(c, b, method="asymp")
            pc, qc = reference_bins(list(b), list(c), 10)
            want[model] = {
                "ks": ks.statistic,
                "psi": psi_ref(pc, qc),
                "js_distance": js_ref(pc / pc.sum(), qc / qc.sum()),
                "wasserstein": stats.wasserstein_distance(c, b),
                "mean_shift_std": (c.mean() - b.mean()) / b.std(),
            }
            for metric, value in want[model].items():
                row = got[(segment, model, metric)]
                assert row["value"] == pytest.approx(value, rel=RTOL), (segment, model, metric)
                assert row["sample_size"] == len(c) and row["baseline_size"] == len(b)
            assert got[(segment, model, "ks")]["p_value"] == pytest.approx(ks.pvalue, rel=RTOL)
        for metric, gap in (("psi", "psi_gap"), ("ks", "ks_gap"), ("mean_shift_std", "mean_shift_gap")):  # fmt: skip
            row = got[(segment, "", gap)]
            assert row["value"] == pytest.approx(
                want["shadow"][metric] - want["production"][metric], rel=RTOL, abs=1e-12
            )
            detail = json.loads(row["detail"])
            assert detail["production"] == pytest.approx(want["production"][metric], rel=RTOL)
            assert detail["shadow"] == pytest.approx(want["shadow"][metric], rel=RTOL)


def test_a_world_change_moves_both_and_the_gap_stays_small_a_broken_model_does_not(world) -> None:
    """Every score shifts (the world changed): both models drift, the gap stays under
    the tolerance. PT's shadow breaks: only its scores move, and ks_gap fires for PT."""
    rng = np.random.default_rng(4)
    load(world, pairs(rng, 6000, BASE), pairs(rng, 6000, CUR, shift=0.8, broken="PT"))
    rule = {"metric": "ks_gap", "direction": "both", "warn": 0.15, "alert": 0.3}
    got = run(world, rules=[rule], min_samples=200)
    for c in ("US", "BR"):
        assert got[(f"country={c}", "production", "ks")]["value"] > 0.25  # both moved
        assert got[(f"country={c}", "shadow", "ks")]["value"] > 0.25
        assert got[(f"country={c}", "", "ks_gap")]["status"] == "ok"
    pt = got[("country=PT", "", "ks_gap")]
    assert pt["status"] == "alert" and pt["value"] > 0.3
    assert got[("all", "", "ks_gap")]["status"] == "ok"


def test_constant_baseline_scores_give_no_mean_shift_with_a_reason(world) -> None:
    rng = np.random.default_rng(5)
    base = pairs(rng, 200, BASE)
    base["prod_score"] = [0.2 if v is not None else None for v in base["prod_score"]]
    load(world, base, pairs(rng, 200, CUR))
    got = run(world)
    row = got[("all", "", "mean_shift_gap")]
    assert row["value"] is None and row["status"] == "no_data"
    assert row["reason"] == "production: the baseline is constant (std 0)"
    assert got[("all", "shadow", "mean_shift_std")]["value"] is not None


def test_an_empty_window_is_no_data_and_a_baseline_is_required(world) -> None:
    rng = np.random.default_rng(6)
    load(world, pairs(rng, 300, BASE))
    got = run(world)
    row = got[("all", "", "ks_gap")]
    assert row["value"] is None and row["reason"] == "production: the current window has no rows"
    (result,) = world.run(
        [{"name": "co", "check": "score_comovement", "baseline": None}], models=MODELS
    )
    assert result.status == "error" and "set a fixed, rolling or seasonal baseline" in result.error
