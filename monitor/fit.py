"""Fits a check needs from its baseline that SQL cannot compute: the runner runs the
check's fit query (a macro of the check that summarises the baseline per segment),
turns each segment's rows into a spec here with numpy, and passes the specs to the
check as `fits`. A spec is frozen like the drift checks' bins (monitor.bin_specs,
kind = the method), so every later window is measured against the same fit.

A check declares it in its header: `fit: {query: <macro>, method: <one of METHODS>}`
(docs/writing-checks.md, the header's `fit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression


def pca(rows: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """A principal-component basis of the standardised baseline (multivariate_drift).

    The one row of `rows` holds the baseline's `n` rows, each column's mean `mean_<j>` and count
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
    row = rows[0]
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


def isotonic(rows: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """A calibration map, score → probability of a positive (estimated_performance).

    `rows` are the baseline's mature labelled predictions in score bins of equal count
    (a score's ties in one bin), each with `n`, `positives`, `score_sum`, `score_min`,
    `score_max`. Each bin's positive rate, weighted by its rows, is made non-decreasing
    by isotonic regression (pool adjacent violators), at the bin's mean score; the map
    interpolates linearly between these knots and holds the end values beyond them, as
    scikit-learn's IsotonicRegression(out_of_bounds='clip') predicts. A spec with a
    `reason` instead when the baseline cannot give one.
    """
    bins = sorted((r for r in rows if r.get("n")), key=lambda r: float(r["score_min"]))
    binned = [  # [n, positives, score_sum, score_min, score_max]
        [float(r[k]) for k in ("n", "positives", "score_sum", "score_min", "score_max")]
        for r in bins
    ]
    n = int(sum(b[0] for b in binned))
    positives = int(sum(b[1] for b in binned))
    spec: dict[str, Any] = {"baseline_rows": n, "positives": positives}
    if n == 0:
        return {
            **spec,
            "reason": "the baseline has no mature prediction with a 0/1 label and a score",
        }
    if binned[0][3] < 0 or binned[-1][4] > 1:
        return {**spec, "reason": "the baseline's scores lie outside [0, 1]: not probabilities"}
    if positives in (0, n):
        one = "negative" if positives == 0 else "positive"
        return {**spec, "reason": f"every mature labelled prediction of the baseline is {one}"}
    counts = np.array([b[0] for b in binned])
    scores = np.array([b[2] for b in binned]) / counts
    rates = isotonic_regression(np.array([b[1] for b in binned]) / counts, weights=counts).x
    if len(scores) > 1 and not np.isfinite(np.diff(rates) / np.diff(scores)).all():
        return {**spec, "reason": "the baseline's bins are too close to interpolate between"}
    # Inside a flat run the map is constant: only its first and last knots matter.
    keep = [
        i for i in range(len(rates))
        if i in (0, len(rates) - 1) or not rates[i - 1] == rates[i] == rates[i + 1]
    ]  # fmt: skip
    unripe = int(rows[0].get("unripe") or 0)
    return {
        **spec,
        # What a frozen map rests on: the smaller class, as for a measured AUC; and 0
        # while some baseline predictions have not matured (labels still to come), so
        # a half-labelled baseline does not fix the map for good.
        "support": 0 if unripe else min(positives, n - positives),
        "unripe": unripe,
        "bins": len(binned),
        "scores": [float(scores[i]) for i in keep],
        "rates": [float(rates[i]) for i in keep],
    }


METHODS: dict[str, Callable[[list[dict[str, Any]], dict[str, Any]], dict[str, Any]]] = {
    "isotonic": isotonic,
    "pca": pca,
}


def fit_segments(
    method: str, rows: list[dict[str, Any]], params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """{segment: spec} from the fit query's rows, one or more per segment (`method` is
    one of METHODS: the check's header was checked when it was read)."""
    by_segment: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_segment.setdefault(str(row["segment"]), []).append(row)
    return {segment: METHODS[method](group, params) for segment, group in by_segment.items()}
