"""``threshold``: bright and unsaturated pixels (HSV value / saturation), fixed or adaptive.

A pixel is glare when its HSV value ``V = max(B, G, R)`` is at least a threshold and its HSV
saturation ``S = 255 * (V - min(B, G, R)) / V`` is at most ``saturation_max`` (OpenCV's 0..255
scale). The value threshold is

* ``fixed``: ``value_min``;
* ``percentile``: the frame's own reference brightness, the ``percentile``-th percentile of V,
  plus ``offset`` levels (glare must stand out from the bright part of the scene);
* ``otsu``: Otsu's threshold on the bright tail of the V histogram (pixels above the
  ``percentile``-th percentile), which splits highlights from the brightest scene content;

and in both adaptive modes it is clamped to ``[floor, ceiling]``: the floor keeps a dark frame
without glare empty, the ceiling keeps saturated highlights detected on a bright (sunny) frame.

The helpers :func:`value_and_min` and :func:`low_saturation` are shared by the other detectors.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np

from ..params import ParamSpec
from . import DETECTORS
from .base import Detector

MODES = ("fixed", "percentile", "otsu")


def value_and_min(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(V, m)``: the per-pixel max and min over B, G, R (``HxW`` uint8 each)."""
    b, g, r = cv2.split(bgr)
    return cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r)


def at_least(plane: np.ndarray, level: int) -> np.ndarray:
    """Mask (uint8 0/255) of ``plane >= level`` for a uint8 plane (``cv2.threshold``, any size)."""
    if level <= 0:
        return np.full(plane.shape, 255, np.uint8)
    return cv2.threshold(plane, level - 1, 255, cv2.THRESH_BINARY)[1]


def low_saturation(value: np.ndarray, minimum: np.ndarray, saturation_max: int) -> np.ndarray:
    """Mask (uint8 0/255) of pixels whose HSV saturation is <= ``saturation_max`` (0..255).

    ``S <= s`` is evaluated as ``min >= V * (1 - s / 255)`` in uint8 (rounded), which avoids a
    full HSV conversion.
    """
    if saturation_max >= 255:
        return np.full(value.shape, 255, np.uint8)
    scaled = cv2.convertScaleAbs(value, alpha=1.0 - saturation_max / 255.0)
    return cv2.compare(minimum, scaled, cv2.CMP_GE)


def value_histogram(value: np.ndarray) -> np.ndarray:
    """256-bin histogram (float64 counts) of a uint8 plane, on every 2nd row and column when
    large."""
    plane = value[::2, ::2] if value.size > 200_000 else value
    return cv2.calcHist([np.ascontiguousarray(plane)], [0], None, [256],
                        [0, 256]).ravel().astype(np.float64)


def histogram_percentile(hist: np.ndarray, percentile: float) -> int:
    """The smallest level (0..255) at or below which ``percentile`` % of the counts lie."""
    cdf = np.cumsum(hist)
    return int(np.searchsorted(cdf, cdf[-1] * percentile / 100.0, side="left"))


def otsu_level(hist: np.ndarray, start: int) -> int:
    """Otsu's threshold (first level of the upper class) on ``hist[start:]``; ``start`` if
    degenerate."""
    h = hist[start:]
    total = h.sum()
    if total <= 0 or np.count_nonzero(h) < 2:
        return start
    levels = np.arange(start, 256, dtype=np.float64)
    w0 = np.cumsum(h)
    m0 = np.cumsum(h * levels)
    w1 = total - w0
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 - m0 * total) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    return int(start + np.argmax(between) + 1)


@DETECTORS.register("threshold")
class ThresholdDetector(Detector):
    """HSV value / saturation threshold with a fixed, percentile or Otsu value threshold."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("mode", "percentile",
                  "How the value threshold is set: 'fixed' (value_min), 'percentile' (percentile "
                  "of the frame's V + offset) or 'otsu' (Otsu on the bright tail of V); adaptive "
                  "thresholds are clamped to [floor, ceiling].", choices=MODES),
        ParamSpec("value_min", 230,
                  "Fixed-mode threshold on HSV value V = max(B,G,R), 8-bit levels.", 0, 255),
        ParamSpec("saturation_max", 100,
                  "Maximum HSV saturation (OpenCV 0..255 scale, 255*(max-min)/max) of a glare "
                  "pixel; 255 = no saturation test.", 0, 255),
        ParamSpec("percentile", 95.0,
                  "Percentile (0..100 %) of V taken as the scene's bright reference (percentile "
                  "mode) or as the start of the bright tail (otsu mode).", 50.0, 100.0),
        ParamSpec("offset", 40,
                  "Percentile mode: threshold = percentile of V + offset, 8-bit levels.", 0, 255),
        ParamSpec("floor", 170,
                  "Lowest adaptive value threshold, 8-bit levels (a dark frame without glare "
                  "stays empty).", 0, 255),
        ParamSpec("ceiling", 245,
                  "Highest adaptive value threshold, 8-bit levels (saturated glare on a bright "
                  "frame is still found).", 0, 255),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["floor"] > self.params["ceiling"]:
            raise ValueError(
                f"floor ({self.params['floor']}) must not exceed ceiling "
                f"({self.params['ceiling']})"
            )
        self.last_threshold: int = self.params["value_min"]
        """The value threshold (8-bit levels) used on the last frame."""

    def value_threshold(self, value: np.ndarray) -> int:
        """The V threshold (8-bit levels) for a frame whose V plane is ``value``."""
        p = self.params
        if p["mode"] == "fixed":
            return int(p["value_min"])
        hist = value_histogram(value)
        ref = histogram_percentile(hist, p["percentile"])
        if p["mode"] == "percentile":
            level = ref + p["offset"]
        else:
            level = otsu_level(hist, ref)
        return int(min(max(level, p["floor"]), p["ceiling"]))

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        value, minimum = value_and_min(bgr)
        self.last_threshold = self.value_threshold(value)
        bright = at_least(value, self.last_threshold)
        return cv2.bitwise_and(bright,
                               low_saturation(value, minimum, self.params["saturation_max"]))
