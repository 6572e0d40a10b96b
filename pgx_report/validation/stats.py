"""Exact binomial confidence interval (Clopper-Pearson), without SciPy.

The interval bounds are the roots of binomial tail probabilities, found by bisection on
the exact probability mass (log-gamma, as in the batch summary's binomial test). The
result is deterministic: the same counts give the same floats on every run."""

from __future__ import annotations

import math

_ITERATIONS = 200  # bisection halves [0, 1] far below double precision long before this


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    total = math.fsum(
        math.exp(log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
        for i in range(k + 1)
    )
    return min(1.0, total)


def _root(target: float, k: int, n: int, increasing_tail: bool) -> float:
    """The p in (0, 1) where the tail probability equals ``target`` (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(_ITERATIONS):
        mid = (low + high) / 2
        if mid in (low, high):
            break
        if increasing_tail:  # P(X >= k; p) grows with p
            below = 1.0 - binomial_cdf(k - 1, n, mid) < target
        else:  # P(X <= k; p) falls with p
            below = binomial_cdf(k, n, mid) > target
        low, high = (mid, high) if below else (low, mid)
    return (low + high) / 2


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided interval for a binomial proportion."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError("need trials >= 1 and 0 <= successes <= trials")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    tail = (1.0 - confidence) / 2
    if successes == 0:
        low = 0.0
    elif successes == trials:
        low = tail ** (1.0 / trials)
    else:
        low = _root(tail, successes, trials, increasing_tail=True)
    if successes == trials:
        high = 1.0
    elif successes == 0:
        high = 1.0 - tail ** (1.0 / trials)
    else:
        high = _root(tail, successes, trials, increasing_tail=False)
    return low, high
