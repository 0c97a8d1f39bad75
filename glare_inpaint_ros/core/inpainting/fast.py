"""``fast``: push-pull (normalised convolution) pyramid fill, the default backend.

Push: build a Gaussian pyramid (``cv2.pyrDown``) of the premultiplied colour ``c = I * w`` and of
the weight ``w`` (1 = known pixel, 0 = under the mask). At every level ``c / w`` is the
Gaussian-weighted mean of the known pixels nearby, defined wherever ``w > 0``; each level halves
the resolution, so a hole of radius ``r`` px is covered after about ``log2(r) + 1`` levels.

Pull: from the coarsest level up, upsample the filled level (``cv2.pyrUp``) and blend it with the
level's own normalised colour, trusting the latter with ``alpha = min(1, gain * w)``. Holes thus
take the smooth coarse estimate while pixels near known ones keep their local mean, with no
seams between levels. Everything is float32 OpenCV calls on whole arrays (no per-pixel Python);
the cost is linear in the crop's area, independent of the hole's shape, unlike Telea whose
fast-marching cost grows with the masked area.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..params import ParamSpec
from . import INPAINTERS
from .base import Inpainter, paste_masked

_EPS = 1e-6
#: Levels of at most this many pixels are blended with numpy broadcasting rather than
#: ``cv2.merge`` (per-call overhead dominates below ~30x30 px; measured crossover).
_BROADCAST_MAX = 900


def push_pull_fill(image: np.ndarray, mask: np.ndarray, levels: int = 0,
                   gain: float = 16.0) -> np.ndarray:
    """Fill the ``mask > 0`` pixels of ``image`` by push-pull; returns ``image``'s shape and dtype.

    Args:
        image: ``HxW`` or ``HxWxC`` uint8 or uint16 (values are not rescaled), C-contiguous.
        mask: ``HxW`` uint8, non-zero = unknown (to fill).
        levels: pyramid levels below full resolution; 0 = as many as needed for every hole
            to meet known pixels (at most until the coarsest level is 1 px). Holes still
            uncovered at the coarsest level take the weighted mean of all known pixels.
        gain: trust in a level's own estimate, ``alpha = min(1, gain * weight)``: higher keeps
            more structure near the hole edge, lower gives a smoother fill.

    Returns:
        A new array: under the mask the estimate; elsewhere a smoothed version of the image
        (callers keep their own known pixels). An image with no known pixel (or no hole) is
        returned as a copy.
    """
    known = (mask == 0).view(np.uint8)  # 1 where known (numpy: cv2.compare fails on 1x1)
    n_known = cv2.countNonZero(known)
    if n_known == 0 or n_known == known.size:
        return image.copy()
    h, wd = mask.shape
    # Level 0 -> 1: the premultiplied colour is simply the image with its holes zeroed, since
    # full-resolution weights are 0 or 1.
    c = cv2.pyrDown(cv2.bitwise_and(image, image, mask=known).astype(np.float32))
    cs, ws = [c], [cv2.pyrDown(known.astype(np.float32))]
    auto = levels <= 0
    while (auto or len(cs) < levels) and min(ws[-1].shape) > 1:
        if auto and cv2.minMaxLoc(ws[-1])[0] > 0:
            break  # every pixel of this level has known support: coarse enough
        cs.append(cv2.pyrDown(cs[-1]))
        ws.append(cv2.pyrDown(ws[-1]))
    # Coarsest level: anything still without support gets the global weighted mean
    # (cv2.sumElems: one call for every channel, ~10x cheaper than a numpy reduction here).
    n_ch = 1 if image.ndim == 2 else image.shape[2]
    total_w = np.float32(cv2.sumElems(ws[-1])[0])
    mean = np.asarray(cv2.sumElems(cs[-1])[:n_ch], np.float32) / total_w
    flat = np.empty(cs[-1].shape, np.float32)
    flat.reshape(-1, n_ch)[:] = mean
    col = _blend(cs[-1], ws[-1], flat, gain)
    for lvl in range(len(cs) - 2, -1, -1):
        up = cv2.pyrUp(col, dstsize=ws[lvl].shape[::-1]).reshape(cs[lvl].shape)
        col = _blend(cs[lvl], ws[lvl], up, gain)
    # Level 1 -> 0 in the image's own dtype: one integer pyrUp (rounding the level-1 estimate
    # first costs < 0.5 level of precision before a smoothing filter).
    return cv2.pyrUp(_round_to(col, image.dtype), dstsize=(wd, h)).reshape(image.shape)


def _blend(c: np.ndarray, w: np.ndarray, coarse: np.ndarray, gain: float) -> np.ndarray:
    """``coarse + alpha * (c / w - coarse)`` with ``alpha = min(1, gain * w)`` (float32).

    Written as ``c * (alpha / w) + coarse * (1 - alpha)``: the per-pixel factors are computed on
    the single weight plane and expanded to the colour channels with ``cv2.merge``, so every
    colour operation is a same-shape elementwise one (numpy broadcasting over an interleaved
    3-channel axis is ~10x slower). ``coarse`` is overwritten (callers pass a fresh array).
    """
    alpha = w * np.float32(gain)
    np.minimum(alpha, np.float32(1.0), out=alpha)
    k_own = np.maximum(w, np.float32(_EPS))
    np.divide(alpha, k_own, out=k_own)
    k_coarse = np.subtract(np.float32(1.0), alpha, out=alpha)
    if c.ndim == 3:
        if w.size <= _BROADCAST_MAX:  # small level: broadcasting beats two cv2.merge calls
            k_own, k_coarse = k_own[:, :, None], k_coarse[:, :, None]
        else:
            n = c.shape[2]
            k_own = cv2.merge([k_own] * n).reshape(c.shape)
            k_coarse = cv2.merge([k_coarse] * n).reshape(c.shape)
    out = c * k_own
    coarse *= k_coarse
    out += coarse
    return out


def _round_to(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round float32 values to the nearest integer of ``dtype`` (uint8/uint16), saturating."""
    if dtype == np.uint8:
        return cv2.convertScaleAbs(values)  # rounds and saturates; values are >= 0 here
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max).astype(dtype)


@INPAINTERS.register("fast")
class FastInpainter(Inpainter):
    """Push-pull (normalised convolution) pyramid fill: smooth, seamless, linear in crop area.

    Handles uint8 and uint16, mono and BGR natively (BGRA: colour filled, alpha kept).
    """

    PARAMS = (
        ParamSpec("levels", 0,
                  "Pyramid levels below full resolution (0 = auto: enough to cover the largest "
                  "hole).", 0, 16),
        ParamSpec("gain", 16.0,
                  "Trust in each level's own local mean, alpha = min(1, gain * known fraction): "
                  "higher = sharper near the hole edge, lower = smoother.", 1.0, 64.0),
    )
    SUPPORTED_DTYPES = (np.uint8, np.uint16)
    SUPPORTED_CHANNELS = (1, 3)

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return push_pull_fill(image, mask, self.params["levels"], self.params["gain"])

    def inpaint_rois(self, image: np.ndarray, mask: np.ndarray, boxes: list,
                     out: np.ndarray, *, detected: np.ndarray | None = None) -> None:
        """As :meth:`Inpainter.inpaint_rois`, but crops whose rows are packed (the usual case: a
        box of a C-contiguous frame) go to :func:`push_pull_fill` as views, without the two
        per-box copies (only OpenCV calls read them, and those accept a row stride)."""
        p = self.params
        pixel = image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
        packed = image.strides[-1] == image.itemsize and image.strides[1] == pixel
        for x0, y0, x1, y1 in boxes:
            m = mask[y0:y1, x0:x1]
            crop = image[y0:y1, x0:x1]
            filled = push_pull_fill(crop if packed else np.ascontiguousarray(crop), m, p["levels"],
                                    p["gain"])
            paste_masked(out[y0:y1, x0:x1], filled, m)
