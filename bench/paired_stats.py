"""Statistics the benchmarks share: percentiles and paired bootstrap intervals.

A benchmark that compares two configurations on the same holes can tell a real difference from
noise only with an interval around the paired difference; one helper keeps every script's
figures computed the same way.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 16


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def paired_bootstrap(
    treated: Sequence[float],
    baseline: Sequence[float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """The mean paired difference (treated - baseline) and its percentile bootstrap interval:
    items (holes, tasks) are resampled with replacement, the same seed giving the same interval."""
    if len(treated) != len(baseline) or not treated:
        raise ValueError("paired samples need the same, non-zero length")
    differences = [left - right for left, right in zip(treated, baseline, strict=True)]
    rng = random.Random(seed)
    count = len(differences)
    means = sorted(
        statistics.fmean(differences[rng.randrange(count)] for _ in range(count))
        for _ in range(resamples)
    )
    tail = (1.0 - confidence) / 2
    return statistics.fmean(differences), percentile(means, tail), percentile(means, 1.0 - tail)
