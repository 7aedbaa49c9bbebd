"""Property tests: the drift checks against scipy/numpy on random small samples.

Hypothesis draws samples with heavy ties, NULL, NaN and ±inf, including empty and
single-row ones; every statistic must equal the reference (same tolerance as
test_drift_sql, 1e-9 relative, with a 1e-12 absolute floor for values that are 0), and
every undefined value must be NULL with a reason, never NaN or infinity.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from tests.conftest import metric_map
from tests.test_drift_sql import js_ref, psi_ref, reference_bins, valid

RTOL, ATOL = 1e-9, 1e-12
NAMES = itertools.count()  # a new monitor per example: no bins frozen by an earlier one

# Few distinct finite values (ties), the missing kinds, and a far outlier.
number = st.one_of(
    st.sampled_from([-2.5, 0.0, 1.0, 1.5, 3.0, 1e6]),
    st.floats(-100, 100, allow_nan=False).map(lambda x: round(x, 1)),
    st.sampled_from([None, math.nan, math.inf, -math.inf]),
)
samples = st.lists(number, min_size=0, max_size=40)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def close(got: float | None, want: float) -> bool:
    return got is not None and got == pytest.approx(want, rel=RTOL, abs=ATOL)


@SETTINGS
@given(base=samples, cur=samples, bins=st.integers(2, 6))
def test_numeric_drift_properties(world, base, cur, bins) -> None:
    world.load({"x": base}, {"x": cur})
    name = f"n{next(NAMES)}"
    params = {"columns": ["x"], "bins": bins}
    (result,) = world.run([{"name": name, "check": "numeric_drift", "params": params}])
    got = {k[2]: v for k, v in metric_map(result).items()}

    for row in got.values():  # defined, or NULL with a reason: never NaN/inf
        assert row["value"] is None or math.isfinite(row["value"])
        if row["value"] is None:
            assert row["status"] == "no_data" and row["reason"], row
    b, c = valid(base), valid(cur)
    assert got["row_count"]["value"] == len(cur)
    if cur:
        assert close(got["null_rate"]["value"], (len(cur) - len(c)) / len(cur))
    if len(b) and len(c):
        with np.errstate(divide="ignore"):  # scipy divides by 0 for 1 value vs 1
            ks = stats.ks_2samp(c, b, method="asymp")
        assert close(got["ks"]["value"], ks.statistic)
        if np.isnan(ks.pvalue):  # 1 value vs 1: effective size rounds to 0
            assert got["ks"]["p_value"] is None
        else:
            assert close(got["ks"]["p_value"], ks.pvalue)
        assert close(got["wasserstein"]["value"], stats.wasserstein_distance(c, b))
        if len(set(b)) > 1:  # numpy's std of a constant can be 4e-16, not 0
            assert close(got["mean_shift_std"]["value"], (c.mean() - b.mean()) / b.std())
        else:
            assert got["mean_shift_std"]["value"] is None
    else:
        assert got["ks"]["value"] is None and got["wasserstein"]["value"] is None
    if len(b) and cur:
        pc, qc = reference_bins(base, cur, bins)
        assert close(got["psi"]["value"], psi_ref(pc, qc))
        assert close(got["js_distance"]["value"], js_ref(pc / pc.sum(), qc / qc.sum()))
    # Run again: the bins are now frozen (read back from monitor.bin_specs) and, on the
    # same baseline, must bin exactly as the fitted ones did.
    (again,) = world.run([{"name": name, "check": "numeric_drift", "params": params}])
    for key, row in metric_map(again).items():
        first = metric_map(result)[key]
        # Equal up to summation order (parallel sums may differ in the last bit).
        assert row["value"] == first["value"] or close(row["value"], first["value"]), key
        if row["histogram"]:
            h1, h2 = json.loads(first["histogram"]), json.loads(row["histogram"])
            assert h2["frozen"] and (h2["edges"], h2["counts"]) == (h1["edges"], h1["counts"])


categories = st.lists(st.one_of(st.sampled_from(list("abcdef")), st.none()), max_size=40)


@SETTINGS
@given(base=categories, cur=categories, top_k=st.integers(1, 4))
def test_categorical_drift_properties(world, base, cur, top_k) -> None:
    world.load({"k": base}, {"k": cur}) if base or cur else world.load({"k": [None]}, {"k": []})
    name = f"c{next(NAMES)}"
    params = {"columns": ["k"], "top_k": top_k}
    (result,) = world.run([{"name": name, "check": "categorical_drift", "params": params}])
    got = {k[2]: v for k, v in metric_map(result).items()}
    for row in got.values():
        assert row["value"] is None or math.isfinite(row["value"])
        if row["value"] is None:
            assert row["status"] == "no_data" and row["reason"], row
    if not base or not cur:
        return
    seen = sorted({v for v in base if v is not None}, key=lambda v: (-base.count(v), v))
    top = seen[:top_k]
    bins = [*top, "<other>", None]

    def counts(sample: list[str | None]) -> np.ndarray:
        key = [v if v is None or v in top else "<other>" for v in sample]
        return np.array([key.count(t) for t in bins], dtype=float)

    o_cur, o_base = counts(cur), counts(base)
    p, q = o_cur / o_cur.sum(), o_base / o_base.sum()
    assert close(got["psi"]["value"], psi_ref(o_cur, o_base))
    assert close(got["js_distance"]["value"], js_ref(p, q))
    assert close(got["linf"]["value"], float(np.max(np.abs(p - q))))
    table = np.vstack([o_cur, o_base])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] > 1:
        ref = stats.chi2_contingency(table, correction=False)
        assert close(got["chi2"]["value"], ref.statistic)
        assert close(got["chi2"]["p_value"], ref.pvalue) and got["chi2"]["dof"] == ref.dof
    else:
        assert got["chi2"]["dof"] == 0 and got["chi2"]["p_value"] == 1.0
    unseen = [v for v in cur if v is not None and v not in base]
    assert close(got["unseen_share"]["value"], len(unseen) / len(cur))
    assert got["new_categories"]["value"] == len(set(unseen))
