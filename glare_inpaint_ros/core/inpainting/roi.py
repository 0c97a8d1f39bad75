"""Regions of interest for inpainting: component boxes plus context margin, overlaps merged.

A box is ``(x0, y0, x1, y1)`` in pixels with exclusive ends (``image[y0:y1, x0:x1]``).

Costs (1280x720 mask, measured on the 2-core dev machine): the components' boxes come from
``cv2.findContours(RETR_EXTERNAL)`` (~0.2 ms) rather than ``connectedComponentsWithStats``
(~6 ms); merging is a vectorised pairwise test for up to :data:`PAIRWISE_MAX` boxes and a
rasterised union (one ``findContours`` per round) above that, so thousands of specks stay cheap.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive), pixels

#: Above this many boxes :func:`merge_boxes` rasterises instead of testing every pair
#: (an ``n x n`` boolean matrix: 128 boxes = 16 k entries).
PAIRWISE_MAX = 128


def _as_array(boxes: Iterable[Sequence[int]]) -> np.ndarray:
    """``n x 4`` int64 array of boxes; ``ValueError`` for a malformed or empty box."""
    arr = np.asarray(boxes if isinstance(boxes, np.ndarray) else list(boxes),
                     dtype=np.int64).reshape(-1, 4)
    if arr.size and (np.any(arr[:, 2] <= arr[:, 0]) or np.any(arr[:, 3] <= arr[:, 1])):
        raise ValueError("every box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0")
    if arr.size and np.any(arr[:, :2] < 0):
        raise ValueError("box coordinates must be >= 0")
    return arr


def _to_boxes(arr: np.ndarray) -> list[Box]:
    return [tuple(row) for row in arr.tolist()]  # type: ignore[misc]


def _merge_pairwise(arr: np.ndarray) -> np.ndarray:
    """Merge rounds with an ``n x n`` overlap matrix; groups by min-label propagation."""
    while len(arr) > 1:
        x0, y0, x1, y1 = arr.T
        # Overlapping or touching (ends are exclusive, so x1 == a0 means adjacent pixels).
        ov = (
            (x0[:, None] <= x1[None, :]) & (x0[None, :] <= x1[:, None])
            & (y0[:, None] <= y1[None, :]) & (y0[None, :] <= y1[:, None])
        )
        n = len(arr)
        if np.count_nonzero(ov) == n:  # only the diagonal: nothing to merge
            break
        # Connected components of the overlap graph: each box takes the smallest index among its
        # neighbours, with pointer jumping; converges in O(log diameter) vectorised rounds.
        lab = np.arange(n)
        while True:
            new = np.where(ov, lab[None, :], n).min(axis=1)
            new = new[new]
            if np.array_equal(new, lab):
                break
            lab = new
        order = np.argsort(lab, kind="stable")
        lab_sorted = lab[order]
        starts = np.flatnonzero(np.r_[True, lab_sorted[1:] != lab_sorted[:-1]])
        s = arr[order]
        arr = np.stack(
            [
                np.minimum.reduceat(s[:, 0], starts), np.minimum.reduceat(s[:, 1], starts),
                np.maximum.reduceat(s[:, 2], starts), np.maximum.reduceat(s[:, 3], starts),
            ],
            axis=1,
        )
        # The union boxes may now overlap boxes of other groups: another round.
    return arr


def _merge_raster(arr: np.ndarray) -> np.ndarray:
    """Merge rounds by painting the boxes and taking the bounding boxes of the painted blobs.

    8-connected blobs of painted pixels join exactly the boxes that overlap or touch (including
    corner contact), the same rule as :func:`_merge_pairwise`.
    """
    w, h = int(arr[:, 2].max()), int(arr[:, 3].max())
    canvas = np.zeros((h, w), np.uint8)
    while len(arr) > 1:
        canvas.fill(0)
        for x0, y0, x1, y1 in arr.tolist():
            canvas[y0:y1, x0:x1] = 255
        contours, _ = cv2.findContours(canvas, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if len(contours) == len(arr):  # every blob is a single box: nothing merged
            break
        rects = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int64).reshape(-1, 4)
        rects[:, 2:] += rects[:, :2]  # (x, y, w, h) -> (x0, y0, x1, y1)
        arr = rects
    return arr


def merge_boxes(boxes: Iterable[Sequence[int]]) -> list[Box]:
    """Merge overlapping or touching boxes until no two overlap or touch.

    The result covers every input box (each input box lies inside exactly one output box) and
    the output boxes are pairwise disjoint and not adjacent. Order is unspecified.

    Raises:
        ValueError: a box with ``x1 <= x0`` / ``y1 <= y0`` or a negative coordinate.
    """
    arr = _as_array(boxes)
    if len(arr) <= 1:
        return _to_boxes(arr)
    arr = _merge_raster(arr) if len(arr) > PAIRWISE_MAX else _merge_pairwise(arr)
    if len(arr) > 1:  # a raster round can leave few enough boxes for the cheap path to finish
        arr = _merge_pairwise(arr)
    return _to_boxes(arr)


def component_rects(mask: np.ndarray) -> np.ndarray:
    """Tight bounding boxes of the outer 8-connected components of ``mask``: ``n x 4`` int64
    ``(x0, y0, x1, y1)`` rows (px, exclusive end), no margin, not merged; ``0 x 4`` for an
    all-zero mask.

    Components inside another's hole are not listed (they lie inside the outer box). Compute
    this once per mask and hand it to every stage that needs boxes (:func:`grow_boxes`).

    Raises:
        ValueError: a mask that is not 2-D.
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {mask.shape}")
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    rects = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int64).reshape(-1, 4)
    rects[:, 2:] += rects[:, :2]  # (x, y, w, h) -> (x0, y0, x1, y1)
    return rects


def grow_boxes(rects: np.ndarray, margin: int, shape: tuple[int, ...]) -> list[Box]:
    """:func:`component_rects` grown by ``margin`` px on every side, clipped to the frame
    ``shape`` = ``(H, W, ...)``, overlapping/touching boxes merged (:func:`merge_boxes`).

    Raises:
        ValueError: ``margin < 0``.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 px, got {margin}")
    if not len(rects):
        return []
    h, w = shape[:2]
    boxes = np.empty_like(rects)
    boxes[:, :2] = np.maximum(rects[:, :2] - margin, 0)
    boxes[:, 2] = np.minimum(rects[:, 2] + margin, w)
    boxes[:, 3] = np.minimum(rects[:, 3] + margin, h)
    return merge_boxes(boxes)  # already valid: non-empty (x1 > x0, y1 > y0), non-negative


def component_boxes(mask: np.ndarray, margin: int) -> list[Box]:
    """Boxes to inpaint: each 8-connected mask component's bounding box grown by ``margin`` px
    on every side and clipped to the frame, overlapping/touching boxes merged.

    Every mask pixel lies in exactly one returned box, and a box contains every mask pixel of
    the components it covers, so each crop sees its whole holes plus ``margin`` px of context
    (less at the frame border). An all-zero mask gives ``[]``. Same as
    ``grow_boxes(component_rects(mask), margin, mask.shape)``.

    Args:
        mask: ``HxW`` uint8, non-zero = fill (C-contiguous or not; never modified).
        margin: context margin in px (>= 0).

    Raises:
        ValueError: ``margin < 0`` or a mask that is not 2-D.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 px, got {margin}")
    return grow_boxes(component_rects(mask), margin, mask.shape)
