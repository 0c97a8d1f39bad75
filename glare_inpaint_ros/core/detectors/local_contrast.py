"""``local_contrast``: bright absolutely, or clearly brighter than the local background.

After Arnold et al. 2010 (automatic segmentation of specular highlights in endoscopy): a pixel is
specular if it is bright in absolute terms, or if it stands out from a smoothed background that
was estimated with the candidate highlights excluded. Here:

1. The working plane is ``m = min(B, G, R)``: a white (or slightly tinted) light raises every
   channel, the smallest one the most, while bright *coloured* scene content has a low minimum.
2. Background: ``m`` is area-downsampled so that the median window (``background_px`` px in the
   frame) is ~9 small pixels, median-filtered, candidates (``>= median + weak_delta``) are replaced
   by the median and the median is taken again (the highlights are excluded). A texture term, the
   local median absolute deviation (MAD), raises the thresholds in busy regions.
3. Weak pixels: ``m >= bg + weak_delta + mad_factor * MAD``; strong pixels:
   ``m >= bg + strong_delta + mad_factor * MAD``, or absolutely bright (the ``threshold``
   detector's adaptive V threshold and low saturation).
4. Hysteresis: weak 8-connected components are kept only if they contain a strong pixel (the
   faint rim of a highlight is kept, isolated bright texture is not). ``hysteresis: false`` keeps
   every weak pixel.

Catches unsaturated highlights on dark or coloured surfaces, which a fixed threshold misses.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np

from ..masks import select_labels
from ..params import ParamSpec
from . import DETECTORS
from .base import Detector
from .threshold import MODES, ThresholdDetector, at_least, low_saturation, value_and_min

#: Median window of the background estimate, in downsampled pixels.
_WINDOW_SMALL = 9


def background(plane: np.ndarray, background_px: int, exclude_delta: int,
               coarse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Background level and texture (MAD) of a uint8 plane, at reduced resolution.

    Args:
        plane: ``HxW`` uint8.
        background_px: median window size in ``plane`` pixels (>= 3).
        exclude_delta: pixels brighter than the first median by this many levels are replaced by
            it before the second median (candidate highlights excluded).
        coarse: take the first (exclusion) median and the MAD at half that resolution with a 5-px
            window (:func:`_coarse_median`, ~10x cheaper), and reduce only the whole ``f x f``
            cells (the last ``< f`` rows and columns left out); the background median stays
            exact.

    Returns:
        ``(bg, mad)``: uint8 arrays of the *downsampled* size (``H // f x W // f``, ``f`` =
        ``background_px // 9``, at least 1); upsample with ``cv2.resize`` as needed.
    """
    h, w = plane.shape
    f = max(1, min(background_px // _WINDOW_SMALL, h // 4, w // 4))
    k = max(3, int(round(background_px / f)) | 1)
    small = plane
    if f > 1:
        if coarse:  # whole f x f cells: OpenCV's integer-factor area path is ~3x cheaper
            plane = plane[:h // f * f, :w // f * f]
        small = cv2.resize(plane, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA)
    median = _coarse_median if coarse else cv2.medianBlur
    med = median(small, k)
    raised = cv2.add(med, np.full(med.shape, exclude_delta, np.uint8))
    cand = cv2.dilate(cv2.compare(small, raised, cv2.CMP_GE), None)
    cleaned = small.copy()
    np.copyto(cleaned, cv2.min(small, med), where=cand > 0)
    bg = cv2.medianBlur(cleaned, k)
    mad = median(cv2.absdiff(small, bg), k)
    return bg, mad


def extend_lit(plane: np.ndarray, unlit: np.ndarray, cell: int = 8) -> np.ndarray:
    """``plane`` (uint8) with its ``unlit`` pixels (uint8 0/255: an endoscope's vignette, a
    letterbox, a lens hood) replaced by the lit surface around them, so that a local background
    sees only surface: a bright wall at the edge of an endoscope's round view is not a bump over
    the black beside it. The fill is the mean of the lit pixels of each ``cell`` x ``cell`` block,
    carried into blocks without any by the nearest block with some, scaled back bilinearly.
    Returns ``plane`` itself when nothing (or everything) is unlit."""
    if cv2.countNonZero(unlit) == 0:
        return plane
    h, w = plane.shape
    size = (max(w // cell, 1), max(h // cell, 1))
    lit = cv2.bitwise_not(unlit)
    share = cv2.resize(lit, size, interpolation=cv2.INTER_AREA)
    none = share == 0
    if none.all():
        return plane
    total = cv2.resize(cv2.bitwise_and(plane, lit), size, interpolation=cv2.INTER_AREA)
    mean = cv2.divide(total, share, scale=255.0)  # (0 where no lit pixel: filled below)
    if none.any():
        # Each block without lit pixels takes its nearest lit block (labels number the lit
        # blocks in raster order, as boolean indexing lists them).
        _, near = cv2.distanceTransformWithLabels(none.view(np.uint8), cv2.DIST_L1, 3,
                                                  labelType=cv2.DIST_LABEL_PIXEL)
        mean = np.concatenate(([0], mean[~none]))[near].astype(np.uint8)
    out = plane.copy()
    np.copyto(out, cv2.resize(mean, (w, h), interpolation=cv2.INTER_LINEAR), where=unlit > 0)
    return out


def _coarse_median(plane: np.ndarray, k: int) -> np.ndarray:
    """About a ``k``-px median of a uint8 plane, cheaply: a 5-px median at half resolution, scaled
    back bilinearly. (OpenCV's uint8 median costs ~10x more from 7 px up than at 5 px.)"""
    h, w = plane.shape
    if k <= 5 or min(h, w) < 4:
        return cv2.medianBlur(plane, k)
    half = cv2.resize(plane, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.medianBlur(half, 5), (w, h), interpolation=cv2.INTER_LINEAR)


def hysteresis(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The 8-connected components of ``weak | strong`` that contain a ``strong`` pixel (uint8
    0/255)."""
    # Seeds are sparse: look their labels up at their coordinates (findNonZero), not over the
    # frame.
    points = cv2.findNonZero(strong)
    points = np.zeros((0, 2), np.int32) if points is None else points.reshape(-1, 2)
    return seeded_components(cv2.bitwise_or(weak, strong), points[:, 1], points[:, 0])


def seeded_components(cand: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The 8-connected components (uint8 0/255) of a uint8 0/255 ``cand`` that contain one of
    the pixels ``(ys, xs)``; a seed on a zero pixel of ``cand`` selects nothing."""
    # (connectedComponentsWithStats is ~20x slower than plain labelling in OpenCV 5: avoid it.)
    n, labels = cv2.connectedComponents(cand, connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return cand
    seeded = np.zeros(n, bool)
    seeded[labels[ys, xs]] = True
    if seeded[1:].all():
        return cand
    return select_labels(labels, seeded)


@DETECTORS.register("local_contrast")
class LocalContrastDetector(Detector):
    """Absolute brightness OR contrast against a highlight-free local background (Arnold et al.
    2010)."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("weak_delta", 20,
                  "A pixel whose min(B,G,R) exceeds the local background by this many 8-bit levels"
                  " (+ the texture term) is a candidate.",
                  1, 255),
        ParamSpec("strong_delta", 80,
                  "Contrast (8-bit levels, + the texture term) that makes a candidate a seed; "
                  "hysteresis keeps candidate regions with a seed.",
                  1, 255),
        ParamSpec("mad_factor", 1.5,
                  "Texture term: both deltas grow by this factor times the local median absolute "
                  "deviation of the background (8-bit levels per level).",
                  0.0, 20.0),
        ParamSpec("background_px", 72,
                  "Size of the background median window, px in the frame (larger highlights than "
                  "about half of it are found by the absolute test only).",
                  9, 1024),
        ParamSpec("hysteresis", True,
                  "Keep only candidate regions that contain a seed (strong contrast or absolutely "
                  "bright); false = keep every candidate."),
        ParamSpec("absolute_mode", "percentile",
                  "Absolute test: value threshold mode of the 'threshold' detector (fixed / "
                  "percentile / otsu, with that detector's defaults).",
                  choices=MODES),
        ParamSpec("saturation_max", 100,
                  "Absolute test: maximum HSV saturation (0..255) of an absolutely bright pixel.",
                  0, 255),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._absolute = ThresholdDetector(mode=self.params["absolute_mode"])

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        p = self.params
        value, minimum = value_and_min(bgr)
        h, w = value.shape
        bg, mad = background(minimum, p["background_px"], p["weak_delta"])
        size = (w, h)
        thr_weak = cv2.resize(cv2.addWeighted(mad, p["mad_factor"], bg, 1.0, p["weak_delta"]),
                              size, interpolation=cv2.INTER_LINEAR)
        weak = cv2.compare(minimum, thr_weak, cv2.CMP_GE)
        level = self._absolute.value_threshold(value)
        bright = cv2.bitwise_and(
            at_least(value, level), low_saturation(value, minimum, p["saturation_max"])
        )
        if not p["hysteresis"]:
            return cv2.bitwise_or(weak, bright)
        thr_strong = cv2.resize(cv2.addWeighted(mad, p["mad_factor"], bg, 1.0, p["strong_delta"]),
                                size, interpolation=cv2.INTER_LINEAR)
        strong = cv2.bitwise_or(cv2.compare(minimum, thr_strong, cv2.CMP_GE), bright)
        return hysteresis(weak, strong)
