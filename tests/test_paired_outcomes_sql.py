"""shadow/paired_outcomes on a real DuckDB file, against independent references on the
same requests: scikit-learn for accuracy, AUC and log loss; DeLong's variance from the
O(P·N) pairwise definition in numpy (the SQL uses running sums instead); the paired
log-loss z against scipy.stats.ttest_rel; McNemar against scipy.stats.binomtest (exact,
few discordant pairs) and chi2 (many). Tolerance 1e-9 relative: the SQL sums in
another order, nothing else differs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import log_loss, roc_auc_score

from monitor.stats import MCNEMAR_EXACT_BELOW
from tests.conftest import load_pairs, metric_map, pair_columns
from tests.references import floats

RTOL = 1e-9
CUR = datetime(2026, 9, 8)
MODELS = {"m": {"predictions": "preds", "shadow_pairs": "pairs", "slices": ["country"]}}


def pairs(rng: np.random.Generator, n: int, hours: float = 24.0) -> dict[str, list[Any]]:
    """n requests on CUR (spread over `hours`), labelled ~30% positive; both models
    see the label through noise, scores rounded to 2 decimals (ties); 3% one-sided,
    a few NaN scores and unlabelled requests, none of which may count."""
    label = (rng.uniform(size=n) < 0.3).astype(float)
    prod = np.round(1 / (1 + np.exp(-(2.0 * label - 1 + rng.normal(0, 1.2, n)))), 2)
    shadow = np.round(1 / (1 + np.exp(-(2.4 * label - 1.2 + rng.normal(0, 1.0, n)))), 2)
    has_p, has_s = rng.uniform(size=n) > 0.03, rng.uniform(size=n) > 0.03
    has_p |= ~has_s
    shadow[:3] = np.nan
    labels: list[float | None] = label.tolist()
    labels[3:6] = [None] * 3
    ts = [CUR + timedelta(hours=float(h)) for h in rng.uniform(0, hours, n)]
    country = rng.choice(["PT", "US"], n, p=[0.3, 0.7])
    ids = [f"r{i}" for i in range(n)]
    return pair_columns(ids, ts, prod, shadow, has_p, has_s, country, labels)


def run(world, cols: dict[str, list[Any]], models=MODELS, **monitor: Any):
    load_pairs(world, cols)
    (result,) = world.run(
        [{"name": "paired", "check": "paired_outcomes", **monitor}], models=models
    )
    return metric_map(result)


def usable(cols: dict[str, list[Any]], mask: np.ndarray, mature_before: datetime) -> dict:
    p, s, y = floats(cols["prod_score"]), floats(cols["shadow_score"]), floats(cols["label"])
    keep = mask & np.array(cols["has_production"]) & np.array(cols["has_shadow"])
    keep &= np.isfinite(p) & np.isfinite(s) & np.isin(y, [0.0, 1.0])
    keep &= np.array([t <= mature_before for t in cols["ts"]])
    return {"p": p[keep], "s": s[keep], "y": y[keep]}


def delong_z(p: np.ndarray, s: np.ndarray, y: np.ndarray) -> float:
    """DeLong et al. (1988) from the definition: every (positive, negative) pair."""

    def placements(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, neg = score[y == 1], score[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        return psi.mean(axis=1), psi.mean(axis=0)  # V10 per positive, V01 per negative

    v10_p, v01_p = placements(p)
    v10_s, v01_s = placements(s)
    var = np.var(v10_s - v10_p, ddof=1) / len(v10_p) + np.var(v01_s - v01_p, ddof=1) / len(v01_p)
    return float((v10_s.mean() - v10_p.mean()) / np.sqrt(var))


def per_request_loss(q: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(np.where(y == 1, q, 1 - q), 2**-52, 1 - 2**-52))


def test_paired_metrics_and_tests_match_the_references_per_slice(world) -> None:
    rng = np.random.default_rng(21)
    cols = pairs(rng, 1500)
    got = run(world, cols)
    country = np.array(cols["country"])
    for segment, mask in [("all", np.ones(len(country), bool)), ("country=PT", country == "PT"), ("country=US", country == "US")]:  # fmt: skip
        u = usable(cols, mask, datetime(2026, 9, 9, 6))
        p, s, y = u["p"], u["s"], u["y"]
        right_p, right_s = (p >= 0.5) == (y == 1), (s >= 0.5) == (y == 1)
        wins, losses = int((right_s & ~right_p).sum()), int((right_p & ~right_s).sum())
        row = got[(segment, "", "accuracy")]
        assert row["value"] == pytest.approx(right_s.mean(), rel=RTOL)
        assert row["baseline_value"] == pytest.approx(right_p.mean(), rel=RTOL)
        assert row["sample_size"] == row["baseline_size"] == len(y)

        auc = got[(segment, "", "auc")]
        assert auc["value"] == pytest.approx(roc_auc_score(y, s), rel=RTOL)
        assert auc["baseline_value"] == pytest.approx(roc_auc_score(y, p), rel=RTOL)
        assert auc["sample_size"] == min((y == 1).sum(), (y == 0).sum())
        assert auc["statistic"] == pytest.approx(delong_z(p, s, y), rel=RTOL)
        assert auc["p_value"] == pytest.approx(2 * stats.norm.sf(abs(delong_z(p, s, y))), rel=1e-8)

        loss = got[(segment, "", "log_loss")]
        assert loss["value"] == pytest.approx(log_loss(y, s, labels=[0, 1]), rel=RTOL)
        assert loss["baseline_value"] == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=RTOL)
        t = stats.ttest_rel(per_request_loss(s, y), per_request_loss(p, y)).statistic
        assert loss["statistic"] == pytest.approx(t, rel=RTOL)

        assert got[(segment, "", "wins")]["value"] == wins
        assert got[(segment, "", "losses")]["value"] == losses
        rate = got[(segment, "", "win_rate")]
        assert rate["value"] == pytest.approx(wins / (wins + losses), rel=RTOL)
        assert rate["sample_size"] == wins + losses >= MCNEMAR_EXACT_BELOW
        assert rate["test"] == "mcnemar"
        chi2 = (wins - losses) ** 2 / (wins + losses)
        assert rate["p_value"] == pytest.approx(stats.chi2.sf(chi2, 1), rel=RTOL)
        assert json.loads(rate["detail"]) == {"wins": wins, "losses": losses}


def test_few_discordant_requests_use_the_exact_binomial(world) -> None:
    """7 wins, 2 losses: p = binomtest(7, 9).pvalue = 0.1797 (the χ² approximation would
    say 0.0956)."""
    n = 40
    label = [1.0] * 20 + [0.0] * 20
    prod = [0.9] * 20 + [0.1] * 20
    shadow = list(prod)
    for i in range(7):  # production wrong, shadow right
        prod[i] = 0.2
    for i in range(20, 22):  # shadow wrong, production right
        shadow[i] = 0.8
    cols = {
        "model_name": ["m"] * n,
        "request_id": [str(i) for i in range(n)],
        "ts": [CUR + timedelta(hours=1)] * n,
        "has_production": [True] * n,
        "has_shadow": [True] * n,
        "prod_score": prod,
        "shadow_score": shadow,
        "label": label,
        "country": ["PT"] * n,
    }
    rate = run(world, cols)[("all", "", "win_rate")]
    assert rate["value"] == pytest.approx(7 / 9, rel=RTOL) and rate["sample_size"] == 9
    assert rate["p_value"] == pytest.approx(stats.binomtest(7, 9, 0.5).pvalue, rel=RTOL)
    assert rate["p_value"] == pytest.approx(0.1796875, rel=RTOL)  # 2·(1+9+36)/512, by hand


def test_only_mature_requests_count(world) -> None:
    """label_maturity 12h, run at 09-09 06:00: only requests before 09-08 18:00 count."""
    rng = np.random.default_rng(3)
    cols = pairs(rng, 600)
    models = {"m": {**MODELS["m"], "label_maturity": "12h"}}
    got = run(world, cols, models=models)
    u = usable(cols, np.ones(600, bool), datetime(2026, 9, 8, 18))
    assert got[("all", "", "accuracy")]["sample_size"] == len(u["y"]) < 600 * 0.9
    assert got[("all", "", "auc")]["value"] == pytest.approx(
        roc_auc_score(u["y"], u["s"]), rel=RTOL
    )


def test_undefined_values_say_why(world) -> None:
    base = {
        "model_name": ["m"] * 4,
        "request_id": list("abcd"),
        "ts": [CUR + timedelta(hours=1)] * 4,
        "has_production": [True] * 4,
        "has_shadow": [True] * 4,
        "prod_score": [0.9, 0.8, 0.7, 0.6],
        "shadow_score": [0.9, 0.8, 0.7, 1.5],  # one score is not a probability
        "label": [1.0] * 4,  # one class only
        "country": ["PT"] * 4,
    }
    got = run(world, base)
    assert got[("all", "", "auc")]["reason"] == (
        "AUC is undefined: every labelled request is positive"
    )
    assert got[("all", "", "log_loss")]["reason"] == (
        "1 request(s) have a score outside [0, 1]: not probabilities"
    )
    assert got[("all", "", "win_rate")]["reason"] == (
        "the models decide every labelled request alike"
    )
    assert got[("all", "", "accuracy")]["value"] == 1.0
    empty = {**base, "label": [None] * 4}
    row = run(world, empty)[("all", "", "accuracy")]
    assert row["value"] is None and row["status"] == "no_data"
    assert row["reason"] == "no mature request with both scores has a 0/1 label (feedback missing?)"


def test_a_slice_set_listed_twice_is_an_error_not_double_counting(world) -> None:
    rng = np.random.default_rng(9)
    load_pairs(world, pairs(rng, 50))
    (result,) = world.run(
        [
            {
                "name": "p",
                "check": "paired_outcomes",
                "params": {"slices": [["country"], ["country"]]},
            }
        ],
        models=MODELS,
    )
    assert result.status == "error" and "slices must be distinct" in result.error
