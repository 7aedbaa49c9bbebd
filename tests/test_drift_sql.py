"""Drift statistics computed by the SQL checks, against independent references.

Tolerance: 1e-9 relative. The SQL sums doubles in a different order than numpy and
scipy (grouped counts, window sums), so results agree to ~1e-12 but not bit for bit;
1e-9 leaves room for that and still catches any formula or binning error.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest
from scipy import stats

from monitor.checks import discover_checks
from monitor.config import load_config
from monitor.execute import compile_monitor, compile_parts
from monitor.windows import window_for
from tests.conftest import RUN_AT, metric_map, read_db
from tests.references import js_ref, psi_ref, reference_bins, valid

RTOL = 1e-9


@pytest.mark.parametrize("seed", [1, 2])
def test_numeric_drift_matches_scipy_and_numpy(world, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Rounded values create many ties; some NULL, NaN and inf are mixed in.
    base = list(np.round(rng.normal(10, 3, 3000), 1))
    cur = list(np.round(rng.normal(10.8, 3.4, 2000), 1))
    base[:30] = [None] * 30
    cur[:50] = [None] * 25 + [float("nan")] * 15 + [float("inf")] * 5 + [float("-inf")] * 5
    world.load({"x": base}, {"x": cur})
    (result,) = world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"], "bins": 10}}]
    )
    got = {k[2]: v for k, v in metric_map(result).items()}

    b, c = valid(base), valid(cur)
    ks = stats.ks_2samp(c, b, method="asymp")
    assert got["ks"]["value"] == pytest.approx(ks.statistic, rel=RTOL)
    assert got["ks"]["p_value"] == pytest.approx(ks.pvalue, rel=RTOL)
    assert got["ks"]["test"] == "ks"
    assert got["wasserstein"]["value"] == pytest.approx(stats.wasserstein_distance(c, b), rel=RTOL)
    assert got["wasserstein_norm"]["value"] == pytest.approx(
        stats.wasserstein_distance(c, b) / b.std(), rel=RTOL
    )
    assert got["mean_shift_std"]["value"] == pytest.approx(
        (c.mean() - b.mean()) / b.std(), rel=RTOL
    )
    pc, qc = reference_bins(base, cur, 10)
    assert got["psi"]["value"] == pytest.approx(psi_ref(pc, qc), rel=RTOL)
    assert got["js_distance"]["value"] == pytest.approx(
        js_ref(pc / pc.sum(), qc / qc.sum()), rel=RTOL
    )
    assert got["null_rate"]["value"] == pytest.approx(50 / 2000, rel=RTOL)
    assert got["null_rate"]["baseline_value"] == pytest.approx(30 / 3000, rel=RTOL)
    assert got["row_count"]["value"] == 2000 and got["row_count"]["baseline_value"] == 3000
    assert got["ks"]["sample_size"] == len(c) and got["ks"]["baseline_size"] == len(b)
    assert got["psi"]["sample_size"] == 2000 and got["psi"]["baseline_size"] == 3000


def test_hand_computed_small_case(world) -> None:
    """base = 1,2,3,4 ; cur = 3,4,5,6 (bins=2, edge = 2).
    KS = 0.5 (at x=2: F_base=.5, F_cur=0). W1 = 2 (a shift by 2).
    Bins (-inf,2], (2,inf): counts base (2,2), cur (0,4); Jeffreys shares over K=2 bins:
    q = (.5,.5), p = (.5/5, 4.5/5) = (.1,.9); PSI = (.1-.5)ln(.1/.5) + (.9-.5)ln(.9/.5)."""
    world.load({"x": [1.0, 2.0, 3.0, 4.0]}, {"x": [3.0, 4.0, 5.0, 6.0]})
    (result,) = world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"], "bins": 2}}]
    )
    got = {k[2]: v["value"] for k, v in metric_map(result).items()}
    assert got["ks"] == pytest.approx(0.5, rel=RTOL)
    assert got["wasserstein"] == pytest.approx(2.0, rel=RTOL)
    assert got["psi"] == pytest.approx(-0.4 * math.log(0.2) + 0.4 * math.log(1.8), rel=RTOL)
    # m = (1/4, 3/4): JSD = ½·log2(4/3) + ½·(½·log2(2) + ½·log2(2/3)).
    jsd = 0.5 * math.log2(4 / 3) + 0.5 * (0.5 * 1 + 0.5 * math.log2(2 / 3))
    assert got["js_distance"] == pytest.approx(math.sqrt(jsd), rel=RTOL)
    assert got["mean_shift_std"] == pytest.approx(2 / math.sqrt(1.25), rel=RTOL)


def test_identical_samples_have_zero_drift(world) -> None:
    xs = [float(i % 17) for i in range(500)]
    world.load({"x": xs}, {"x": xs})
    (result,) = world.run([{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"]}}])
    got = {k[2]: v["value"] for k, v in metric_map(result).items()}
    for metric in ("psi", "ks", "wasserstein", "js_distance", "mean_shift_std"):
        assert got[metric] == pytest.approx(0.0, abs=1e-12), metric


def test_constant_and_all_null_columns(world) -> None:
    world.load({"c": [5.0] * 100, "n": [None] * 100}, {"c": [5.0] * 80, "n": [None] * 80})
    (result,) = world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["c", "n"]}}]
    )
    got = metric_map(result)
    # Constant and unchanged: every distance is 0 (one distinct value: W1's sum is empty).
    for metric in ("ks", "psi", "js_distance", "wasserstein"):
        assert got[("all", "c", metric)]["value"] == pytest.approx(0.0, abs=1e-15), metric
    # W1 over a floored std: 0 when nothing moved. mean_shift_std has no floor: undefined,
    # reported as no_data with the reason (never inf).
    assert got[("all", "c", "wasserstein_norm")]["value"] == 0.0
    shift = got[("all", "c", "mean_shift_std")]
    assert shift["value"] is None and shift["status"] == "no_data"
    assert shift["reason"] == "the baseline is constant (std 0)"
    # All NULL: everything is in the missing bin; KS/W1 have no values to compare.
    assert got[("all", "n", "null_rate")]["value"] == 1.0
    assert got[("all", "n", "psi")]["value"] == pytest.approx(0.0)
    ks = got[("all", "n", "ks")]
    assert ks["value"] is None and ks["status"] == "no_data" and ks["p_value"] is None
    assert ks["reason"] == "the current window has no finite values"


def test_a_constant_that_moves(world) -> None:
    world.load({"c": [5.0] * 100}, {"c": [7.0] * 80})
    (result,) = world.run([{"name": "d", "check": "numeric_drift", "params": {"columns": ["c"]}}])
    got = {k[2]: v["value"] for k, v in metric_map(result).items()}
    assert got["ks"] == 1.0 and got["wasserstein"] == pytest.approx(2.0, rel=RTOL)
    assert got["wasserstein"] == pytest.approx(
        stats.wasserstein_distance([7.0] * 80, [5.0] * 100), rel=RTOL
    )
    # The std floor (1e-9 · max(1, |mean|)) turns "constant, then moved" into a huge value.
    assert got["wasserstein_norm"] == pytest.approx(2.0 / (1e-9 * 5.0), rel=RTOL)


def test_segments_present_in_one_sample_only(world) -> None:
    world.load(
        {"x": [1.0, 2.0, 3.0], "device": ["ios", "ios", "web"], "k": ["a", "b", "a"]},
        {"x": [1.0, 2.0, 3.0], "device": ["ios", "ios", "tv"], "k": ["a", "b", "a"]},
    )
    by = {"by": [["device"]]}
    results = world.run(
        [
            {"name": "n", "check": "numeric_drift", "params": {"columns": ["x"], **by}},
            {"name": "c", "check": "categorical_drift", "params": {"columns": ["k"], **by}},
        ]
    )
    for result in results:
        got = metric_map(result)
        # web vanished and tv is new: rows exist, their comparisons are undefined, no error.
        for seg, n, nb in (("device=web", 0, 1), ("device=tv", 1, 0)):
            rows = [r for (s, _, _), r in got.items() if s == seg]
            assert rows and all(r["sample_size"] == n and r["baseline_size"] == nb for r in rows)
            assert all(r["status"] == "no_data" or r["metric"] == "row_count" for r in rows)
            assert all(
                r["value"] is None
                for r in rows
                if r["metric"] in ("psi", "js_distance", "ks", "chi2")
            )


def test_empty_current_window_is_no_data(world) -> None:
    world.load({"x": [1.0, 2.0, 3.0]}, {"x": []})
    (result,) = world.run([{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"]}}])
    assert result.status == "no_data"
    assert all(r.status == "no_data" for r in result.rows)
    assert {r.sample_size for r in result.rows} == {0}
    assert {r.reason for r in result.rows if r.metric != "row_count"} == {
        "the current window has no rows"
    }


def test_segments_by_slice_including_null(world) -> None:
    world.load(
        {"x": [1.0, 2.0, 3.0, 4.0], "device": ["ios", "ios", None, "web"]},
        {"x": [1.0, 9.0, 3.0, 4.0], "device": ["ios", "ios", None, "web"]},
    )
    (result,) = world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"], "by": [["device"]]}}]
    )
    got = metric_map(result)
    assert {k[0] for k in got} == {"all", "device=ios", "device=web", "device=<null>"}
    assert got[("device=ios", "x", "ks")]["value"] == pytest.approx(0.5)
    assert got[("device=web", "x", "ks")]["value"] == 0.0


def test_categorical_drift_matches_scipy_and_hand_counts(world) -> None:
    rng = np.random.default_rng(5)
    cats = np.array(list("abcdefgh"))
    base = list(rng.choice(cats[:7], 4000, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05]))
    cur = list(rng.choice(cats, 3000, p=[0.25, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05, 0.05]))
    base[:40] = [None] * 40
    cur[:90] = [None] * 90
    world.load({"k": base}, {"k": cur})
    (result,) = world.run(
        [{"name": "c", "check": "categorical_drift", "params": {"columns": ["k"], "top_k": 4}}]
    )
    got = {k[2]: v for k, v in metric_map(result).items()}

    # Reference bins: baseline top-4 categories, OTHER, NULL.
    vals, counts = np.unique([v for v in base if v is not None], return_counts=True)
    order = sorted(zip(vals, counts, strict=True), key=lambda t: (-t[1], t[0]))
    top = [v for v, _ in order[:4]]

    def bin_counts(sample: list[str | None]) -> np.ndarray:
        out = [sum(1 for v in sample if v == t) for t in top]
        out.append(sum(1 for v in sample if v is not None and v not in top))
        out.append(sum(1 for v in sample if v is None))
        return np.array(out, dtype=float)

    o_cur, o_base = bin_counts(cur), bin_counts(base)
    p, q = o_cur / o_cur.sum(), o_base / o_base.sum()
    assert got["psi"]["value"] == pytest.approx(psi_ref(o_cur, o_base), rel=RTOL)
    chi2 = stats.chi2_contingency(np.vstack([o_cur, o_base]), correction=False)
    assert got["chi2"]["value"] == pytest.approx(chi2.statistic, rel=RTOL)
    assert got["chi2"]["p_value"] == pytest.approx(chi2.pvalue, rel=RTOL)
    assert got["chi2"]["dof"] == chi2.dof == 5
    assert got["js_distance"]["value"] == pytest.approx(js_ref(p, q), rel=RTOL)
    assert got["linf"]["value"] == pytest.approx(np.max(np.abs(p - q)), rel=RTOL)
    unseen = sum(1 for v in cur if v == "h")
    assert got["unseen_share"]["value"] == pytest.approx(unseen / len(cur), rel=RTOL)
    assert got["new_categories"]["value"] == 1.0
    assert got["null_rate"]["value"] == pytest.approx(90 / 3000, rel=RTOL)
    assert got["null_rate"]["baseline_value"] == pytest.approx(40 / 4000, rel=RTOL)


def test_chi2_single_bin_has_no_dof_and_p_one(world) -> None:
    """One non-empty bin: nothing to compare; scipy's chi2_contingency gives p = 1."""
    world.load({"k": ["a"] * 50}, {"k": ["a"] * 20})
    (result,) = world.run(
        [{"name": "c", "check": "categorical_drift", "params": {"columns": ["k"]}}]
    )
    chi2 = metric_map(result)[("all", "k", "chi2")]
    assert (chi2["value"], chi2["dof"], chi2["p_value"]) == (0.0, 0, 1.0)


def histogram(result, feature: str, segment: str = "all") -> dict:
    row = metric_map(result)[(segment, feature, "psi")]
    return json.loads(row["histogram"])


def test_numeric_bins_are_frozen_after_the_first_run(world) -> None:
    """Run 1 fits the edges on its baseline and stores them; run 2, on a baseline that
    moved, bins with the same edges (PSI as the numpy reference on the frozen edges)."""
    monitor = [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"], "bins": 4}}]
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) for i in range(50)]})
    (first,) = world.run(monitor)
    fitted = histogram(first, "x")
    assert fitted["frozen"] is False and fitted["edges"] == [24.0, 49.0, 74.0]
    assert read_db(world.db, "SELECT feature, segment, kind, spec FROM monitor.bin_specs") == [
        ("x", "all", "quantile", "[24.0, 49.0, 74.0]")
    ]

    base = [float(i) * 2 for i in range(100)]
    cur = [float(i) for i in range(50)]
    world.load({"x": base}, {"x": cur})
    (second,) = world.run(monitor)
    again = histogram(second, "x")
    assert again["frozen"] is True and again["edges"] == [24.0, 49.0, 74.0]
    edges = np.array(again["edges"])
    count = lambda v: np.bincount(np.searchsorted(edges, v), minlength=4).astype(float)  # noqa: E731
    p, q = np.append(count(cur), 0), np.append(count(base), 0)
    assert metric_map(second)[("all", "x", "psi")]["value"] == pytest.approx(
        psi_ref(p, q), rel=RTOL
    )
    # Counts per bin: [bin, n_cur, n_base], -1 the missing bin (absent: no NULLs).
    assert again["counts"] == [[0, 25, 13], [1, 25, 12], [2, 0, 13], [3, 0, 62]]


def test_changing_the_binning_settings_refits(world) -> None:
    world.load({"x": [float(i) for i in range(100)]}, {"x": [float(i) for i in range(50)]})
    world.run([{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"], "bins": 4}}])
    (result,) = world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"], "bins": 2}}]
    )
    assert histogram(result, "x") == {
        "kind": "quantile", "frozen": False, "edges": [49.0], "counts": [[0, 50, 50], [1, 0, 50]],
    }  # fmt: skip
    assert len(read_db(world.db, "SELECT DISTINCT spec_key FROM monitor.bin_specs")) == 2


def test_a_thin_baseline_does_not_freeze_bins(world) -> None:
    world.load({"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0]})
    world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"]}, "min_samples": 10}]
    )
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(0,)]


def test_categorical_top_k_is_frozen(world) -> None:
    monitor = [
        {"name": "c", "check": "categorical_drift", "params": {"columns": ["k"], "top_k": 2}}
    ]
    world.load({"k": list("aaabbc")}, {"k": list("abc")})
    (first,) = world.run(monitor)
    assert histogram(first, "k")["categories"] == ["a", "b"]
    # The baseline's favourites change; the bins do not: c stays in OTHER.
    world.load({"k": [*list("cccbba"), None]}, {"k": list("abcc")})
    (second,) = world.run(monitor)
    h = histogram(second, "k")
    assert h["frozen"] is True and h["categories"] == ["a", "b"]
    # [bin, n_cur, n_base]: -2 OTHER, -1 NULL, then positions in the list.
    assert h["counts"] == [[-2, 2, 3], [-1, 0, 1], [0, 1, 1], [1, 1, 2]]
    chi2 = metric_map(second)[("all", "k", "chi2")]
    table = np.array([[2, 0, 1, 1], [3, 1, 1, 2]])
    ref = stats.chi2_contingency(table, correction=False)
    assert chi2["value"] == pytest.approx(ref.statistic, rel=RTOL)
    assert chi2["p_value"] == pytest.approx(ref.pvalue, rel=RTOL) and chi2["dof"] == ref.dof


def test_split_queries_give_the_rows_of_the_whole_query(world) -> None:
    """numeric_drift runs one query per column (its `split`); the whole query, as
    `monitor render` prints it and an analyst would run it, must give the same rows."""
    rng = np.random.default_rng(3)
    base = {"a": list(rng.normal(0, 1, 400)), "b": list(np.round(rng.normal(5, 2, 400)))}
    cur = {"a": list(rng.normal(0.3, 1, 300)), "b": list(np.round(rng.normal(5, 3, 300)))}
    world.load({**base, "d": ["x", "y"] * 200}, {**cur, "d": ["x", "y"] * 150})
    monitor = {
        "name": "d",
        "check": "numeric_drift",
        "params": {"columns": ["a", "b"], "by": [["d"]]},
    }
    config = load_config(world.config([monitor]))
    at = datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)
    checks = discover_checks(config.check_dirs)
    m = config.monitors[0]
    whole = compile_monitor(config, checks, m, window_for(at, m), at, "duckdb")
    parts = compile_parts(config, checks, m, window_for(at, m), at, "duckdb")
    assert len(parts) == 2 and "'b'" not in parts[0].sql and "'a'" not in parts[1].sql
    con = duckdb.connect(str(world.db), read_only=True)
    try:
        key = lambda r: (r[0], r[1], r[2])  # noqa: E731
        whole_rows = sorted(con.execute(whole.sql).fetchall(), key=key)
        part_rows = sorted((r for p in parts for r in con.execute(p.sql).fetchall()), key=key)
    finally:
        con.close()
    assert len(whole_rows) == 3 * 2 * 8  # segments × features × metrics
    for w, p in zip(whole_rows, part_rows, strict=True):
        assert w[:3] == p[:3]
        assert w[3] == p[3] or w[3] == pytest.approx(p[3], rel=RTOL), w[:3]


def test_a_constant_baseline_is_constant_despite_rounding(world) -> None:
    """The mean of 101 × 0.1 is not exactly 0.1 in doubles; the check must still see a
    constant baseline (mean_shift_std undefined), not divide by a σ of 1e-17."""
    world.load({"x": [0.1] * 101}, {"x": [0.1] * 98 + [0.2] * 3})
    (result,) = world.run([{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"]}}])
    got = metric_map(result)
    shift = got[("all", "x", "mean_shift_std")]
    assert shift["value"] is None and shift["reason"] == "the baseline is constant (std 0)"
    # W1 = 3/101 · 0.1 over the floored std.
    assert got[("all", "x", "wasserstein")]["value"] == pytest.approx(0.1 * 3 / 101, rel=1e-6)


def test_frozen_categories_keep_their_names_when_one_is_absent(world) -> None:
    monitor = [
        {"name": "c", "check": "categorical_drift", "params": {"columns": ["k"], "top_k": 3}}
    ]
    world.load({"k": list("aaabbc")}, {"k": list("abc")})
    world.run(monitor)
    world.load({"k": list("aacc")}, {"k": list("ac")})  # no 'b' anywhere this time
    (result,) = world.run(monitor)
    h = histogram(result, "k")
    assert h["categories"] == ["a", "b", "c"]
    assert h["counts"] == [[0, 1, 2], [2, 1, 2]]


def test_a_column_listed_twice_is_recorded(world) -> None:
    world.load({"x": [float(i) for i in range(50)]}, {"x": [float(i) for i in range(40)]})
    monitor = {"name": "d", "check": "numeric_drift", "params": {"columns": ["x", "x"]}}
    (result,) = world.run([monitor])
    assert result.status == "ok", result.error
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(1,)]


def test_bins_are_not_frozen_from_missing_values(world) -> None:
    """1000 baseline rows but only 5 finite values: too little to fix the edges."""
    world.load({"x": [None] * 995 + [1.0, 2.0, 3.0, 4.0, 5.0]}, {"x": [1.0, 2.0]})
    world.run(
        [{"name": "d", "check": "numeric_drift", "params": {"columns": ["x"]}, "min_samples": 100}]
    )
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(0,)]
