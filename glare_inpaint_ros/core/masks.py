"""Mask operations between detection and inpainting: drop specks, fill holes, dilate, coverage guard.

Masks are ``HxW`` uint8, 255 = glare. Order of operations in :meth:`MaskRefiner.refine`:
remove components smaller than ``min_area`` -> fill holes smaller than ``fill_holes_area`` ->
dilate -> measure coverage against ``max_coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from .params import ParamSpec, Schema
from .validation import check_mask

KERNEL_SHAPES = {"ellipse": cv2.MORPH_ELLIPSE, "rect": cv2.MORPH_RECT, "cross": cv2.MORPH_CROSS}


def remove_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_area`` pixels (returns a new mask)."""
    if min_area <= 1 or not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    if keep[1:].all():
        return mask
    return np.where(keep[labels], np.uint8(255), np.uint8(0))


def fill_small_holes(mask: np.ndarray, max_hole_area: int) -> np.ndarray:
    """Fill background regions enclosed by the mask with at most ``max_hole_area`` pixels.

    Background components touching the image border are never holes.
    """
    if max_hole_area <= 0 or not mask.any():
        return mask
    inv = cv2.bitwise_not(mask)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n <= 2:
        return mask
    h, w = mask.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    touches = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    hole = (stats[:, cv2.CC_STAT_AREA] <= max_hole_area) & ~touches
    hole[0] = False
    if not hole.any():
        return mask
    out = mask.copy()
    out[hole[labels]] = 255
    return out


def dilate(mask: np.ndarray, kernel_size: int, shape: str = "ellipse", iterations: int = 1) -> np.ndarray:
    """Grow the mask by ``kernel_size // 2`` px per iteration with an ellipse/rect/cross kernel."""
    if kernel_size <= 1 or iterations <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(KERNEL_SHAPES[shape], (kernel_size, kernel_size))
    return cv2.dilate(mask, kernel, iterations=iterations)


def coverage(mask: np.ndarray) -> float:
    """Fraction (0..1) of the frame's pixels that are glare."""
    return cv2.countNonZero(mask) / float(mask.size)


@dataclass
class RefinedMask:
    """Result of :meth:`MaskRefiner.refine`.

    Attributes:
        mask: the final mask (uint8, 255 = fill).
        coverage: fraction 0..1 of pixels set in ``mask``.
        flooded: ``coverage > max_coverage``: callers should pass the frame through unchanged.
    """

    mask: np.ndarray
    coverage: float
    flooded: bool


class MaskRefiner:
    """Speck removal, hole filling, dilation and the coverage guard, configured by ``mask.*``."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("min_area", 4, "Drop mask components smaller than this many pixels (0/1 = keep all).", 0, 1_000_000),
        ParamSpec("fill_holes_area", 16, "Fill holes enclosed by the mask up to this many pixels (0 = off).", 0, 1_000_000),
        ParamSpec("dilation.kernel_shape", "ellipse", "Structuring element shape.", choices=tuple(KERNEL_SHAPES)),
        ParamSpec("dilation.kernel_size", 7, "Structuring element size in px (odd recommended; <= 1 = no dilation).", 0, 101),
        ParamSpec("dilation.iterations", 1, "Number of dilation passes.", 0, 20),
        ParamSpec("max_coverage", 0.25, "If the final mask covers more than this fraction of the frame, report it as flooded (the pipeline then passes the frame through unchanged).", 0.0, 1.0),
    )

    def __init__(self, **params: Any) -> None:
        self.params = Schema(self.PARAMS).validate(params)

    def refine(self, mask: np.ndarray) -> RefinedMask:
        """Apply the configured operations to a raw detector mask (never modified)."""
        p = self.params
        m = check_mask(mask)
        m = remove_small_components(m, p["min_area"])
        m = fill_small_holes(m, p["fill_holes_area"])
        m = dilate(m, p["dilation.kernel_size"], p["dilation.kernel_shape"], p["dilation.iterations"])
        cov = coverage(m)
        return RefinedMask(m, cov, cov > p["max_coverage"])
