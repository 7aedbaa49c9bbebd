"""p-values for the statistics the SQL computes, where SQL has no distribution function.

A check computes a test statistic in the warehouse and names its test in the row's
`test` column; the runner fills `p_value` here, from the statistic, the two sample
sizes and `dof`, with scipy (the reference the tests compare against). SQL engines
have no Kolmogorov or χ² survival function, and writing one by hand would be worse.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from scipy import stats as sps

from monitor.errors import CheckError
from monitor.evidence import MetricRow


def ks_p_value(statistic: float, n: int, m: int, dof: int | None = None) -> float | None:
    """Two-sided two-sample KS p-value, Smirnov's asymptotic distribution.

    Exactly what `scipy.stats.ks_2samp(..., method='asymp')` returns: the one-sample
    Kolmogorov distribution at the effective size round(n·m / (n + m)).
    """
    if n < 1 or m < 1:
        return None
    big, small = max(n, m), min(n, m)
    effective = round(float(big) * small / (big + small))  # half to even, as np.round
    if effective < 1:  # one value against one: scipy gives NaN, there is no evidence
        return None
    p = float(sps.kstwo.sf(statistic, effective))
    return min(max(p, 0.0), 1.0)


def chi2_p_value(statistic: float, n: int, m: int, dof: int | None) -> float | None:
    """Survival function of χ²(dof), as `scipy.stats.chi2_contingency` reports it.

    dof 0 (a single non-empty bin: nothing to compare) has p = 1, as in scipy.
    """
    if dof is None or dof < 0:
        return None
    if dof == 0:
        return 1.0
    return float(sps.chi2.sf(statistic, dof))


def z_p_value(statistic: float, n: int, m: int, dof: int | None = None) -> float | None:
    """Two-sided p-value of a standard normal z score: 2·(1 − Φ(|z|)).

    The guardrail checks compute z in SQL (two-proportion z-test, Hanley–McNeil for
    AUC; metrics.md) and put it in the row's `statistic` column.
    """
    return float(2.0 * sps.norm.sf(abs(statistic)))


# Below this many discordant pairs McNemar's test is the exact binomial one: the χ²
# approximation needs about 25 (the usual rule, e.g. Fagerland et al. 2013).
MCNEMAR_EXACT_BELOW = 25


def mcnemar_p_value(statistic: float, n: int, m: int, dof: int | None = None) -> float | None:
    """McNemar's two-sided test on paired decisions: `statistic` is the shadow's wins
    among the `n` discordant requests (one model right, the other wrong).

    Under H0 both models are right equally often when they disagree: wins ~ Bin(n, ½).
    Below MCNEMAR_EXACT_BELOW discordant pairs the exact binomial p
    (`scipy.stats.binomtest`); above, χ²(1) of (wins − losses)² / n, uncorrected
    (McNemar 1947; Fagerland, Lydersen & Laake 2013 show it keeps its size).
    """
    if n < 1:
        return None
    wins = round(statistic)
    if wins < 0 or wins > n:
        raise CheckError(f"mcnemar: {wins} wins among {n} discordant requests is impossible")
    if n < MCNEMAR_EXACT_BELOW:
        return float(sps.binomtest(wins, n, 0.5).pvalue)
    return float(sps.chi2.sf((2 * wins - n) ** 2 / n, 1))


TESTS: dict[str, Callable[[float, int, int, int | None], float | None]] = {
    "ks": ks_p_value,
    "chi2": chi2_p_value,
    "z": z_p_value,
    "mcnemar": mcnemar_p_value,
}
# Tests whose statistic is the row's `statistic` column; the others test `value` itself.
STATISTIC_COLUMN_TESTS = frozenset({"z", "mcnemar"})
# Tests of one sample (no baseline_size needed): McNemar's reads the discordant pairs.
ONE_SAMPLE_TESTS = frozenset({"mcnemar"})


def fill_p_values(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """The rows, each that names a `test` and has no p_value yet given its p_value."""
    return [_with_p_value(row) for row in rows]


def _with_p_value(row: MetricRow) -> MetricRow:
    test = row.test
    if not test or row.p_value is not None:
        return row
    if test not in TESTS:
        raise CheckError(
            f"row {row.segment}/{row.feature}/{row.metric} names test {test!r}; "
            f"known tests: {', '.join(sorted(TESTS))}"
        )
    statistic = row.statistic if test in STATISTIC_COLUMN_TESTS else row.value
    n, m = row.sample_size, row.baseline_size
    if statistic is None or n is None or not math.isfinite(statistic):
        return row
    if m is None and test not in ONE_SAMPLE_TESTS:
        return row
    return dataclasses.replace(row, p_value=TESTS[test](statistic, n, m or 0, row.dof))
