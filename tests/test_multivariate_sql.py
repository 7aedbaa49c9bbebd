"""drift/multivariate_drift through the runner on a real DuckDB file, against
scikit-learn: SimpleImputer(mean) → StandardScaler → PCA fitted on the baseline, the
per-row squared reconstruction error of the standardised rows, and Welch's statistic
of the two mean errors (scipy). The hand-computed cases are in
sql/drift/multivariate_drift.tests.yaml.

Tolerance 1e-9 relative: both sides compute the same formulas in double precision,
scikit-learn's basis by SVD and ours by numpy's eigh of the correlation matrix; on
these well-separated eigenvalues the two agree to ~1e-13, and the SQL sums a few
thousand rows.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from tests.conftest import metric_map, read_db

RTOL = 1e-9
COLUMNS = ["a", "b", "c", "d"]


def correlated(rng: np.random.Generator, n: int, coupling: float) -> dict[str, list[float]]:
    """b follows a with `coupling`, d follows c; each column N(0, 1) whatever the coupling."""
    a, c = rng.normal(size=n), rng.normal(size=n)
    b = coupling * a + math.sqrt(1 - coupling**2) * rng.normal(size=n)
    d = coupling * c + math.sqrt(1 - coupling**2) * rng.normal(size=n)
    return {"a": list(a), "b": list(b * 3 + 10), "c": list(c), "d": list(d * 0.5)}


def with_gaps(part: dict[str, list[float]], rng: np.random.Generator) -> dict[str, list]:
    """About 2% of the values missing: NULL, NaN or ±inf, all imputed alike."""
    out: dict[str, list] = {}
    for col, values in part.items():
        gaps = rng.random(len(values)) < 0.02
        kinds = rng.integers(0, 4, len(values))
        missing = [None, float("nan"), float("inf"), float("-inf")]
        out[col] = [missing[k] if g else v for v, g, k in zip(values, gaps, kinds, strict=True)]
    return out


def matrix(part: dict[str, list]) -> np.ndarray:
    """Rows × COLUMNS with every missing value as NaN (what SimpleImputer fills)."""
    x = np.array([[np.nan if v is None else v for v in part[c]] for c in COLUMNS], float).T
    x[~np.isfinite(x)] = np.nan
    return x


def reference(base: np.ndarray, cur: np.ndarray, **pca: object) -> dict[str, float]:
    """scikit-learn's pipeline, fitted on `base`: mean errors, Welch's z and its p-value."""
    imputer = SimpleImputer(strategy="mean").fit(base)
    scaler = StandardScaler().fit(imputer.transform(base))
    model = PCA(svd_solver="full", **pca).fit(scaler.transform(imputer.transform(base)))  # type: ignore[arg-type]
    assert model.n_components_ < base.shape[1], "the check never keeps every component"

    def errors(x: np.ndarray) -> np.ndarray:
        z = scaler.transform(imputer.transform(x))
        return ((z - model.inverse_transform(model.transform(z))) ** 2).sum(axis=1)

    e_cur, e_base = errors(cur), errors(base)
    welch = stats.ttest_ind(e_cur, e_base, equal_var=False).statistic
    return {
        "value": float(e_cur.mean()),
        "baseline_value": float(e_base.mean()),
        "statistic": float(welch),
        "p_value": float(2 * stats.norm.sf(abs(welch))),
        "components": model.n_components_,
        "missing_rate": float(np.isnan(cur).mean()),
    }


def monitor(**params: object) -> dict:
    return {"name": "mv", "check": "multivariate_drift", "params": {"columns": COLUMNS, **params}}


def assert_matches(row: dict, ref: dict[str, float]) -> None:
    for key in ("value", "baseline_value", "statistic", "p_value"):
        assert row[key] == pytest.approx(ref[key], rel=RTOL, abs=1e-12), key


@pytest.mark.parametrize("params", [{}, {"components": 1}, {"variance": 0.6}])
def test_matches_scikit_learn(world, params) -> None:
    """Decoupled columns, ~2% missing values of every kind, three ways to keep components."""
    rng = np.random.default_rng(7)
    base = with_gaps(correlated(rng, 3000, 0.9), rng)
    cur = with_gaps(correlated(rng, 2000, 0.3), rng)
    world.load(base, cur)
    (result,) = world.run([monitor(**params)])
    rows = metric_map(result)
    ref = reference(
        matrix(base),
        matrix(cur),
        n_components=params.get("components") or params.get("variance", 0.9),
    )
    assert_matches(rows[("all", "", "reconstruction_error")], ref)
    missing = rows[("all", "", "missing_rate")]
    assert missing["value"] == pytest.approx(ref["missing_rate"], rel=RTOL)
    (spec,) = read_db(world.db, "SELECT spec FROM monitor.bin_specs WHERE kind = 'pca'")
    assert len(json.loads(spec[0])["components"]) == ref["components"]


def test_each_slice_has_its_own_basis(world) -> None:
    rng = np.random.default_rng(11)
    base = correlated(rng, 2400, 0.9)
    cur = correlated(rng, 1600, 0.9)
    base["device"] = list(rng.choice(["ios", "web"], 2400))
    cur["device"] = list(rng.choice(["ios", "web"], 1600))
    # On web, a and b come apart in the current window; ios keeps its relation.
    web = [i for i, d in enumerate(cur["device"]) if d == "web"]
    shuffled = rng.permutation([cur["b"][i] for i in web])
    for i, v in zip(web, shuffled, strict=True):
        cur["b"][i] = v
    world.load(base, cur)
    (result,) = world.run([monitor(by=[["device"]])])
    rows = metric_map(result)
    for device in ("ios", "web"):
        pick = lambda part, d=device: {  # noqa: E731
            c: [v for v, dev in zip(part[c], part["device"], strict=True) if dev == d]
            for c in COLUMNS
        }
        ref = reference(matrix(pick(base)), matrix(pick(cur)), n_components=0.9)
        assert_matches(rows[(f"device={device}", "", "reconstruction_error")], ref)
    assert rows[("device=web", "", "reconstruction_error")]["p_value"] < 1e-6
    assert rows[("device=ios", "", "reconstruction_error")]["p_value"] > 1e-3
    assert len(read_db(world.db, "SELECT segment FROM monitor.bin_specs")) == 3


def test_the_basis_is_frozen_and_a_new_column_list_fits_again(world) -> None:
    rng = np.random.default_rng(3)
    first_base = correlated(rng, 2000, 0.9)
    world.load(first_base, correlated(rng, 1000, 0.9))
    world.run([monitor()])
    # The baseline's rows change (now uncorrelated): the stored basis still applies.
    base, cur = correlated(rng, 2000, 0.0), correlated(rng, 1000, 0.9)
    world.load(base, cur)
    (again,) = world.run([monitor()])
    row = metric_map(again)[("all", "", "reconstruction_error")]
    imputer = SimpleImputer().fit(matrix(first_base))
    scaler = StandardScaler().fit(imputer.transform(matrix(first_base)))
    model = PCA(n_components=0.9, svd_solver="full").fit(scaler.transform(matrix(first_base)))
    z = scaler.transform(matrix(cur))
    expected = ((z - model.inverse_transform(model.transform(z))) ** 2).sum(axis=1).mean()
    assert row["value"] == pytest.approx(expected, rel=RTOL)
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(1,)]
    # Three of the columns: another basis, fitted and stored beside the first.
    world.run([{**monitor(), "params": {"columns": COLUMNS[:3]}}])
    assert read_db(world.db, "SELECT feature FROM monitor.bin_specs ORDER BY feature") == [
        ("a,b,c",),
        ("a,b,c,d",),
    ]


def test_it_sees_a_decoupling_that_no_single_column_shows(world) -> None:
    """a and b, c and d correlated in the baseline, independent now, every column's own
    distribution the same: numeric_drift stays quiet on every column, this check fires."""
    rng = np.random.default_rng(5)
    world.load(correlated(rng, 4000, 0.9), correlated(rng, 4000, 0.0))
    drift, mv = world.run([
        {"name": "drift", "check": "numeric_drift", "params": {"columns": COLUMNS},
         "rules": [{"metric": "psi", "alert": 0.1}, {"metric": "ks", "alert": 0.05}]},
        {**monitor(), "rules": [{"metric": "reconstruction_error", "measure": "relative_delta",
                                 "alert": 0.5, "max_p_value": 0.001}]},
    ])  # fmt: skip
    assert not drift.breaches, [(r.feature, r.metric, r.value) for r in drift.breaches]
    (breach,) = mv.breaches
    assert breach.metric == "reconstruction_error" and breach.status == "alert"
    assert breach.value > 2 * breach.baseline_value and breach.p_value < 1e-12


def test_one_component_is_always_left_out(world) -> None:
    """Two uncorrelated columns explain 0.5 each: `variance` 0.99 would keep both, which
    reconstructs every row exactly (errors of 1e-32, a statistic of rounding noise).
    The check keeps one and measures the other."""
    rng = np.random.default_rng(1)
    part = lambda n: {"a": list(rng.normal(size=n)), "b": list(rng.normal(size=n))}  # noqa: E731
    world.load(part(500), part(500))
    (result,) = world.run(
        [{**monitor(variance=0.99), "params": {"columns": ["a", "b"], "variance": 0.99}}]
    )
    row = metric_map(result)[("all", "", "reconstruction_error")]
    (spec,) = read_db(world.db, "SELECT spec FROM monitor.bin_specs")
    assert len(json.loads(spec[0])["components"]) == 1
    assert 0.5 < row["value"] < 1.5 and 0.5 < row["baseline_value"] < 1.5
    assert row["statistic"] is not None and abs(row["statistic"]) < 5


def test_what_a_careful_adversary_tried(world) -> None:
    """The cases a review found: a constant column whose mean is not exact in floating
    point (0.1) is constant all the same (scale 1, as scikit-learn's rounding test); a
    segment without a basis beside one with; exactly collinear columns that move
    together (a real jump between two constant errors is significant, not noise over
    noise); one absurd value (1e200) gives an enormous error, not a NULL window."""
    rng = np.random.default_rng(2)
    n = 1000
    a = rng.normal(size=n)
    base = {"a": list(a), "b": list(0.9 * a + 0.3 * rng.normal(size=n)), "c": [0.1] * n,
            "device": ["ios"] * (n - 1) + ["web"]}  # fmt: skip
    a2 = rng.normal(size=n)
    cur = {"a": list(a2), "b": list(0.9 * a2 + 0.3 * rng.normal(size=n)),
           "c": [0.1 + 1e-9] * n, "device": ["ios"] * (n - 2) + ["web"] * 2}  # fmt: skip
    world.load(base, cur)
    columns = ["a", "b", "c"]
    (result,) = world.run(
        [{"name": "mv", "check": "multivariate_drift",
          "params": {"columns": columns, "components": 1, "by": [["device"]]}}]
    )  # fmt: skip
    rows = metric_map(result)
    x = lambda part: np.array([part[c] for c in columns], float).T  # noqa: E731
    ios = lambda part, k: {c: v[:k] for c, v in part.items()}  # noqa: E731
    scaler = StandardScaler().fit(x(base))
    assert scaler.scale_[2] == 1.0  # scikit-learn: constant
    ref = reference_on(x(base), x(cur), 1)
    assert rows[("all", "", "reconstruction_error")]["value"] == pytest.approx(ref, rel=RTOL)
    ref_ios = reference_on(x(ios(base, n - 1)), x(ios(cur, n - 2)), 1)
    assert rows[("device=ios", "", "reconstruction_error")]["value"] == pytest.approx(
        ref_ios, rel=RTOL
    )
    web = rows[("device=web", "", "reconstruction_error")]
    assert web["value"] is None and web["reason"].startswith("no basis: the baseline has 1 row")
    # A constant column: the basis is used but not frozen (the relation is unknown).
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(0,)]

    # b = 2a + 1 in the baseline, 2a + 6 now: every error is constant, the jump is real.
    line = rng.normal(size=50)
    world.load(
        {"a": list(line), "b": list(2 * line + 1)}, {"a": list(line), "b": list(2 * line + 6)}
    )
    rule = {"metric": "reconstruction_error", "measure": "relative_delta", "alert": 0.5,
            "max_p_value": 0.001}  # fmt: skip
    (jump,) = world.run([{**monitor(), "name": "line", "params": {"columns": ["a", "b"]},
                          "rules": [rule]}])  # fmt: skip
    row = metric_map(jump)[("all", "", "reconstruction_error")]
    assert row["value"] > 1 and row["baseline_value"] < 1e-20
    assert row["p_value"] == 0.0 and row["status"] == "alert"

    # An absurd baseline value overflows the covariances: no basis, said so.
    values = list(rng.normal(size=1000))
    world.load({"a": [*values[:-1], 1e200], "b": values}, {"a": values, "b": values})
    (overflow,) = world.run([{**monitor(), "name": "overflow", "params": {"columns": ["a", "b"]}}])
    row = metric_map(overflow)[("all", "", "reconstruction_error")]
    assert row["value"] is None and "covariances overflow" in row["reason"]

    # One absurd value among a thousand in the window.
    world.load({"a": values, "b": values}, {"a": [*values[:-1], 1e200], "b": values})
    (absurd,) = world.run([{**monitor(), "name": "absurd", "params": {"columns": ["a", "b"]}}])
    row = metric_map(absurd)[("all", "", "reconstruction_error")]
    assert row["value"] is not None and row["value"] > 1e140


def test_a_thin_column_does_not_freeze_the_basis(world) -> None:
    """1000 baseline rows but one finite value of b: the basis is fitted and used, but
    not frozen (min_samples counts each column's finite values, as for the bins)."""
    rng = np.random.default_rng(4)
    b = [None] * 999 + [400.0]
    world.load(
        {"a": list(rng.normal(size=1000)), "b": b},
        {"a": list(rng.normal(size=10)), "b": [1.0] * 10},
    )
    (result,) = world.run([{**monitor(), "params": {"columns": ["a", "b"]}, "min_samples": 30}])
    assert metric_map(result)[("all", "", "reconstruction_error")]["value"] is not None
    assert read_db(world.db, "SELECT count(*) FROM monitor.bin_specs") == [(0,)]


def reference_on(base: np.ndarray, cur: np.ndarray, components: int) -> float:
    """scikit-learn's mean squared reconstruction error of `cur` (no missing values)."""
    scaler = StandardScaler().fit(base)
    model = PCA(n_components=components, svd_solver="full").fit(scaler.transform(base))
    z = scaler.transform(cur)
    return float(((z - model.inverse_transform(model.transform(z))) ** 2).sum(axis=1).mean())


def test_a_wide_model_runs_on_postgresql_as_on_duckdb(world, postgres_server) -> None:
    """45 correlated columns leave about 40 components out: written into the query, not
    carried as columns, they stay under PostgreSQL's 1,664 entries per select list.
    PostgreSQL gives DuckDB's numbers (rel 1e-9: each engine sums in its own order)."""
    import pyarrow as pa

    from monitor.config import PostgresWarehouse, load_config
    from monitor.runner import Runner
    from tests.conftest import RUN_AT
    from tests.engines import copy_to_postgres

    rng = np.random.default_rng(9)
    wide = [f"x{i}" for i in range(45)]

    def part(n: int) -> dict[str, list[float]]:
        common = rng.normal(size=(n, 3))
        mix = rng.normal(size=(3, len(wide)))
        values = common @ mix + 0.2 * rng.normal(size=(n, len(wide)))
        return {c: list(values[:, i]) for i, c in enumerate(wide)}

    world.load(part(400), part(300))
    mv = {"name": "wide", "check": "multivariate_drift", "params": {"columns": wide}}
    at = datetime.fromisoformat(RUN_AT).replace(tzinfo=UTC)
    (on_duckdb,) = world.run([mv])
    reference = metric_map(on_duckdb)[("all", "", "reconstruction_error")]
    (spec,) = read_db(world.db, "SELECT spec FROM monitor.bin_specs")
    assert len(json.loads(spec[0])["residuals"]) > 35  # 45 × 36 > 1,664

    url = postgres_server.create_database("wide")
    con = duckdb.connect(str(world.db), read_only=True)
    copy_to_postgres(
        url, "preds", pa.Table.from_batches(con.table("preds").to_arrow_table().to_batches())
    )
    con.close()
    config = load_config(world.config([mv]))
    config = config.model_copy(update={"warehouse": PostgresWarehouse(type="postgres", url=url)})
    (on_postgres,) = Runner(config).run(at=at).runs
    row = metric_map(on_postgres)[("all", "", "reconstruction_error")]
    for key in ("value", "baseline_value", "statistic", "p_value"):
        assert row[key] == pytest.approx(reference[key], rel=RTOL), key
