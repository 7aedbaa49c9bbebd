"""Shared helpers of the reference tests: reading result segments back onto raw rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def floats(values: list[Any]) -> np.ndarray:
    """A column as float64, NULL as NaN (so NULL and NaN are both 'no number')."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def segment_mask(cols: dict[str, list[Any]], segment: str) -> np.ndarray:
    """The rows of a segment label such as 'all', 'device=ios' or 'country=PT,device=web'
    ('<null>' is NULL)."""
    mask = np.ones(len(cols["score"]), dtype=bool)
    if segment == "all":
        return mask
    for part in segment.split(","):
        col, value = part.split("=", 1)
        want = None if value == "<null>" else value
        mask &= np.array([v == want for v in cols[col]])
    return mask


def valid(values: list[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)


def reference_bins(
    base: list[float | None], cur: list[float | None], bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shares per bin (missing bin last): edges are the baseline's inverse-CDF quantiles
    at j/bins (smallest value whose ECDF reaches j/bins), ties collapsed; a value goes to
    the number of edges strictly below it."""
    b = np.sort(valid(base))
    edges = np.unique([b[math.ceil(j * len(b) / bins) - 1] for j in range(1, bins)])

    def shares(values: list[float | None]) -> np.ndarray:
        v = valid(values)
        counts = np.bincount(
            np.searchsorted(edges, v, side="left"), minlength=len(edges) + 1
        ).astype(float)
        return np.append(counts, len(values) - len(v))

    return shares(cur), shares(base)


def psi_ref(cur_counts: np.ndarray, base_counts: np.ndarray) -> float:
    """PSI with Jeffreys smoothing over the bins observed in either sample."""
    seen = (cur_counts + base_counts) > 0
    c, b = cur_counts[seen], base_counts[seen]
    p = (c + 0.5) / (c.sum() + 0.5 * len(c))
    q = (b + 0.5) / (b.sum() + 0.5 * len(b))
    return float(np.sum((p - q) * np.log(p / q)))


def js_ref(p: np.ndarray, q: np.ndarray) -> float:
    keep = (p + q) > 0  # 0·log 0 = 0: bins empty in both samples add nothing
    p, q = p[keep], q[keep]
    m = (p + q) / 2
    kl = lambda a: np.sum(np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / m), 0.0))  # noqa: E731
    return float(np.sqrt(max(0.5 * kl(p) + 0.5 * kl(q), 0.0)))
