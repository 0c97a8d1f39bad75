"""The shared percentile helper (glare_inpaint_ros/stats.py)."""

from __future__ import annotations

import math

import numpy as np

from glare_inpaint_ros.stats import percentiles


def test_percentiles_match_numpy_and_ignore_nan() -> None:
    rng = np.random.default_rng(0)
    v = rng.exponential(5.0, 1001)
    assert percentiles(v) == tuple(float(x) for x in np.percentile(v, (50, 95)))
    with_nan = list(v) + [math.nan] * 10
    assert percentiles(with_nan, (50, 99, 100)) == tuple(
        float(x) for x in np.percentile(v, (50, 99, 100))
    )
    # any iterable (deque, generator)
    assert percentiles(iter([3.0, 1.0, 2.0]), (0, 50, 100)) == (1.0, 2.0, 3.0)


def test_percentiles_of_nothing_are_nan() -> None:
    for empty in ([], [math.nan, math.nan]):
        p = percentiles(empty, (50, 95, 99))
        assert len(p) == 3 and all(math.isnan(x) for x in p)
