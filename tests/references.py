"""Shared helpers of the reference tests: reading result segments back onto raw rows."""

from __future__ import annotations

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
