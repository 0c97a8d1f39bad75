"""The atlas: the boxes of a mask packed into one small image, so one filter call serves every
hole."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..inpainting.roi import Box


@dataclass
class Atlas:
    """The mask's boxes packed side by side into one small image, for the neighbourhood steps.

    Each box ``(x0, y0, x1, y1)`` (frame px, end exclusive) is copied from the mask, with ``pad``
    px of empty border on every side, onto shelves (rows of tiles sorted by height) of a small
    uint8 atlas, so one ``cv2.dilate`` / ``cv2.boxFilter`` serves all holes at once. ``hole`` is
    the mask on the atlas (1 = hole), ``valid`` is True on the boxes themselves, ``tile`` is the
    box index of each atlas pixel (``len(boxes)`` in the gaps), and an atlas pixel ``(ax, ay)``
    of tile ``t`` is the frame pixel ``(ax + off[t, 0], ay + off[t, 1])``.
    """

    boxes: list[Box]
    off: np.ndarray
    hole: np.ndarray
    valid: np.ndarray
    tile: np.ndarray
    width: int

    @classmethod
    def pack(cls, mask: np.ndarray, boxes: list[Box], pad: int) -> "Atlas":
        """Shelf-pack the ``boxes`` (non-empty, non-overlapping) of ``mask`` (uint8, non-zero =
        hole)."""
        sizes = [(x1 - x0 + 2 * pad, y1 - y0 + 2 * pad) for x0, y0, x1, y1 in boxes]
        width = max(max(sw for sw, _ in sizes),
                    math.ceil(1.2 * math.sqrt(sum(sw * sh for sw, sh in sizes))))
        corner: list[tuple[int, int]] = [(0, 0)] * len(boxes)
        x = y = shelf = 0
        for i in sorted(range(len(boxes)), key=lambda j: -sizes[j][1]):
            sw, sh = sizes[i]
            if x + sw > width:
                x, y, shelf = 0, y + shelf, 0
            corner[i] = (x, y)
            x, shelf = x + sw, max(shelf, sh)
        shape = (y + shelf, width)
        hole = np.zeros(shape, np.uint8)
        valid = np.zeros(shape, bool)
        tile = np.full(shape, len(boxes), np.int32)
        off = np.zeros((len(boxes) + 1, 2), np.int32)
        for i, ((x0, y0, x1, y1), (cx, cy), (sw, sh)) in enumerate(zip(boxes, corner, sizes)):
            ax, ay = cx + pad, cy + pad
            np.minimum(mask[y0:y1, x0:x1], 1, out=hole[ay:ay + y1 - y0, ax:ax + x1 - x0])
            valid[ay:ay + y1 - y0, ax:ax + x1 - x0] = True
            tile[cy:cy + sh, cx:cx + sw] = i
            off[i] = (x0 - ax, y0 - ay)
        return cls(list(boxes), off, hole, valid, tile, int(mask.shape[1]))

    def points(self, sel: np.ndarray, step: tuple[int, int] = (1, 1)
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The box pixels where ``sel``: ``(atlas flat index, frame flat index, x, y, tile)``.

        ``sel`` is the atlas, or with ``step = (sx, sy)`` the atlas subsampled as
        ``atlas[::sy, ::sx]``. ``x`` / ``y`` are the frame coordinates (float32 px), in atlas
        row-major order.
        """
        # int32 arithmetic: ~3x faster than int64 divmod
        flat = np.flatnonzero(sel).astype(np.int32)
        aw = np.int32(sel.shape[1])
        ay = flat // aw
        ax = flat - ay * aw
        if step != (1, 1):
            ax *= np.int32(step[0])
            ay *= np.int32(step[1])
            flat = ay * np.int32(self.hole.shape[1]) + ax
        t = self.tile.reshape(-1).take(flat)
        x = ax + self.off[:, 0].take(t)
        y = ay + self.off[:, 1].take(t)
        return flat, y * np.int32(self.width) + x, x.astype(np.float32), y.astype(np.float32), t
