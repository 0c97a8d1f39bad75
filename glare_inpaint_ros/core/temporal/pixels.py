"""Pixel lists: sample, gather, scatter and blend the masked pixels of a frame, not whole frames.

A pixel list is ``N`` (one channel) or ``N x C`` values of the frame's dtype, e.g. the hole pixels
of a frame; point coordinates are float32 px, ``(x, y)`` = (column, row). Used by the temporal
fill, whose cost follows the number of masked pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..resize import gray_small

#: Row length of the 2-D maps used to sample pixel lists with ``cv2.remap`` (its maps must be
#: narrower than 32767 px).
_SAMPLE_ROW = 1024


def sample(src: np.ndarray, x: np.ndarray, y: np.ndarray, interpolation: int, border: int,
           value: float = 0.0) -> np.ndarray:
    """``src`` sampled at the points ``(x, y)`` (1-D float32, px) with ``cv2.remap``: ``N`` or
    ``N x C``."""
    n = x.size
    rows = max(1, -(-n // _SAMPLE_ROW))
    maps = np.zeros((2, rows * _SAMPLE_ROW), np.float32)
    maps[0, :n] = x
    maps[1, :n] = y
    maps = maps.reshape(2, rows, _SAMPLE_ROW)
    out = cv2.remap(src, maps[0], maps[1], interpolation, borderMode=border, borderValue=value)
    return out.reshape(rows * _SAMPLE_ROW, *out.shape[2:])[:n]


def nonzero_xy(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` int32 coordinates of the non-zero pixels of a 2-D uint8 array, row-major order
    (``cv2.findNonZero``: about 4x faster than ``np.nonzero`` on sparse images)."""
    pts = cv2.findNonZero(a)
    if pts is None:
        empty = np.zeros(0, np.int32)
        return empty, empty
    pts = pts.reshape(-1, 2)
    return pts[:, 0], pts[:, 1]


def pixel_view(a: np.ndarray, channels: int) -> np.ndarray:
    """A C-contiguous array of ``channels``-channel pixels (``H x W x C``, ``N x C``, or
    ``H x W`` / ``N`` for one channel) as a flat array with one item per pixel, so numpy
    gathers / scatters move whole pixels."""
    if channels == 1:
        return a.reshape(-1)
    return np.ascontiguousarray(a).reshape(-1, channels).view(
        np.dtype((np.void, channels * a.itemsize))).reshape(-1)


def blend(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``weight * a + (1 - weight) * b`` rounded, for pixel lists ``N x C`` (same integer dtype)
    and weights ``N`` (float32, 0..1); where ``weight`` is 0 the result is exactly ``b``."""
    n, c = a.shape
    if a.dtype == np.uint8 and 0 < n and c <= 4:  # one OpenCV pass (8-bit only)
        return cv2.blendLinear(a.reshape(1, n, c), b.reshape(1, n, c), weight.reshape(1, n),
                               (np.float32(1.0) - weight).reshape(1, n)).reshape(n, c)
    wv = weight[:, None]
    out = a.astype(np.float32) * wv + b.astype(np.float32) * (np.float32(1.0) - wv)
    return np.clip(out + np.float32(0.5), 0, np.iinfo(a.dtype).max).astype(a.dtype)


def gray_list(pixels: np.ndarray) -> np.ndarray:
    """Grey levels (float32, 8-bit scale) of a pixel list ``N`` / ``N x C`` (as
    :func:`gray_small`)."""
    if pixels.shape[0] == 0:  # (OpenCV refuses an empty image)
        return np.zeros(0, np.float32)
    img = pixels.reshape(1, pixels.shape[0], *pixels.shape[1:])
    return gray_small(img, (img.shape[1], 1)).reshape(-1).astype(np.float32)
