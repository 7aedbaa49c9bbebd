"""Fits a check needs from its baseline that SQL cannot compute: the runner runs the
check's fit query (a macro of the check that summarises the baseline per segment),
turns each segment's row into a spec here with numpy, and passes the specs to the
check as `fits`. A spec is frozen like the drift checks' bins (monitor.bin_specs,
kind = the method), so every later window is measured against the same fit.

A check declares it in its header: `fit: {query: <macro>, method: <one of METHODS>}`
(docs/writing-checks.md, the header's `fit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def pca(row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A principal-component basis of the standardised baseline (multivariate_drift).

    `row` holds the baseline's `n` rows, each column's mean `mean_<j>` and count
    `finite_<j>` of its finite values, and the covariance `cov_<i>_<j>` (i ≤ j) of the
    mean-imputed columns, divided by n. As scikit-learn's SimpleImputer(mean) →
    StandardScaler → PCA: each column's scale is its population std, 1 for a constant
    column (StandardScaler's test: a variance within rounding of 0), the basis the leading
    eigenvectors of the correlation matrix, as many as `components` or else the fewest
    whose explained-variance share exceeds `variance` (PCA(n_components=variance)), and
    never all p of them (that reconstructs every row exactly).
    A spec with a `reason` instead of a basis when the baseline cannot give one.
    """
    columns: list[str] = list(params["columns"])
    p = len(columns)
    n = int(row.get("n") or 0)
    means = [row.get(f"mean_{j}") for j in range(p)]
    spec: dict[str, Any] = {"columns": columns, "baseline_rows": n}
    if n < 2:
        return {**spec, "reason": f"the baseline has {n} row(s); a basis needs at least 2"}
    missing = [c for c, m in zip(columns, means, strict=True) if m is None]
    if missing:
        return {**spec, "reason": f"the baseline has no finite values of {', '.join(missing)}"}
    mean = np.array(means, dtype=float)
    cov = np.empty((p, p))
    for i in range(p):
        for j in range(i, p):
            cov[i, j] = cov[j, i] = float(row[f"cov_{i}_{j}"])
    if not (np.isfinite(cov).all() and np.isfinite(mean).all()):
        return {**spec, "reason": "the baseline's covariances overflow (values beyond ~1e150)"}
    variance = np.clip(np.diag(cov), 0.0, None)
    # scikit-learn's _is_constant_feature: a variance no larger than the rounding error
    # of computing it is 0 (a column of 0.1s has a mean that is not exactly 0.1).
    eps = np.finfo(np.float64).eps
    constant = variance <= n * eps * variance + (n * mean * eps) ** 2
    scales = np.where(constant, 1.0, np.sqrt(variance))
    correlation = cov / np.outer(scales, scales)
    values, vectors = np.linalg.eigh(correlation)
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
    total = float(values.sum())
    if total <= 0:
        return {**spec, "reason": "every column is constant in the baseline"}
    ratios = values / total
    k = int(params.get("components") or 0)
    if k == 0:
        # scikit-learn's rule: the first k whose cumulative share exceeds `variance`.
        k = int(np.searchsorted(np.cumsum(ratios), float(params["variance"]), side="right")) + 1
    # Keeping every component reconstructs any row exactly: the error would be
    # rounding noise. One is always left out, whatever `variance` asks.
    k = min(k, p - 1)
    finite = [int(row.get(f"finite_{j}") or 0) for j in range(p)]
    return {
        **spec,
        # What a frozen basis rests on: the fewest finite values of any column, and 0
        # while a column is constant (its relation to the others is not known yet), so
        # a thin or constant baseline does not fix the basis for good.
        "support": 0 if constant.any() else min(finite),
        "means": mean.tolist(),
        "scales": [float(s) for s in scales],
        "components": [[float(v) for v in vectors[:, c]] for c in range(k)],
        "explained_variance_ratio": [float(r) for r in ratios[:k]],
        # The eigenvectors left out: a row's reconstruction error is the squared
        # length of its projection on them (no cancellation, fewer products).
        "residuals": [[float(v) for v in vectors[:, c]] for c in range(k, p)],
    }


METHODS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {"pca": pca}


def fit_segments(
    method: str, rows: list[dict[str, Any]], params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """{segment: spec} from the fit query's rows, one row per segment (`method` is one
    of METHODS: the check's header was checked when it was read)."""
    return {str(row["segment"]): METHODS[method](row, params) for row in rows}
