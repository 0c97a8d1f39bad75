"""Regions of interest for inpainting: component boxes plus context margin, overlaps merged."""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive), pixels


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Merge overlapping or touching boxes until none overlap (result order is unspecified)."""
    boxes = list(boxes)
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        out: list[Box] = []
        while boxes:
            x0, y0, x1, y1 = boxes.pop()
            i = 0
            while i < len(boxes):
                a0, b0, a1, b1 = boxes[i]
                if a0 <= x1 and x0 <= a1 and b0 <= y1 and y0 <= b1:
                    x0, y0, x1, y1 = min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)
                    boxes.pop(i)
                    merged = True
                else:
                    i += 1
            out.append((x0, y0, x1, y1))
        boxes = out
    return boxes


def component_boxes(mask: np.ndarray, margin: int) -> list[Box]:
    """Bounding boxes of the mask's 8-connected components, grown by ``margin`` px and clipped
    to the frame, overlapping boxes merged.

    Args:
        mask: ``HxW`` uint8, non-zero = fill.
        margin: context margin in px on every side.
    """
    h, w = mask.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes: list[Box] = []
    for x, y, bw, bh, _area in stats[1:]:
        boxes.append((max(0, x - margin), max(0, y - margin), min(w, x + bw + margin), min(h, y + bh + margin)))
    return merge_boxes(boxes)
