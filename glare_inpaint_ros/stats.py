"""Percentiles of timing samples: the one helper behind every benchmark, soak and diagnostics
report."""

from __future__ import annotations

from typing import Iterable

import numpy as np


def percentiles(values: Iterable[float], qs: Iterable[float] = (50.0, 95.0)) -> tuple[float, ...]:
    """The ``qs`` percentiles (0..100) of ``values``, ignoring NaN; all NaN when nothing is left.

    Linear interpolation between samples (``numpy.percentile``'s default), e.g.
    ``percentiles(latencies_ms)`` -> ``(p50, p95)`` in the unit of the samples.
    """
    qs = tuple(float(q) for q in qs)
    arr = np.fromiter(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return tuple(float("nan") for _ in qs)
    return tuple(float(v) for v in np.percentile(arr, qs))
