"""Sheen growth: extend a highlight mask into the faint specular falloff connected to it.

A highlight's lobe falls off smoothly into the surface. Its core stands out of the local
background and is found by a detector; its outer part (a few to a few tens of levels of the
light's colour on top of the surface, often tens of px wide on a curved object) is not a local
bump and is missed. Left there it keeps a visible halo and most of the error against a
highlight-free photo.

This operator adds to the mask the pixels that

* lie within ``reach_px`` of the mask,
* carry a dichromatic specular part ``s >= level`` (:mod:`.dichromatic`, with the surface
  saturation ``S_d`` the smaller of the pixel's material's and the mean around it), on a
  surface with ``S_d >= min_saturation``: ``s`` is 0 on achromatic surfaces (white paint,
  letters, grey metal never grow), and the estimate's error grows as ``1 / S_d**2`` (a pale
  sky's saturation gradient reads as tens of levels of "specular"), so growth asks for a
  clearly coloured surface;
* are not clipped (``max < clip``: nothing to separate);
* have the hue of the coloured pixels right around that highlight (a 3-px ring), within 15
  degrees: neither shading nor added white light changes a pixel's hue, while a print of
  another colour or the next object beside a highlight has another one;
* are 8-connected to the mask through such pixels.

It never removes a mask pixel. Paired with the ``separation`` backend, which subtracts only ``s``
from the grown pixels, it takes the halo off and leaves the texture under it.

Conventions: ``bgr`` uint8 BGR; masks ``HxW`` uint8, 255 = glare; distances in px.
"""

from __future__ import annotations

import cv2
import numpy as np

from .detectors.local_contrast import seeded_components
from .dichromatic import (
    DiffuseModel, encoded_drop, local_saturation, lookup_context, specular_part,
)
from .inpainting.roi import component_boxes
from .masks import upscale_nearest
from .resize import halve_to

#: Width (px) of the ring around a highlight whose hue the sheen must share.
_RING_PX = 3
#: Largest hue difference (degrees) of a grown pixel from the ring around its highlight.
_HUE_TOLERANCE_DEG = 15.0


def grow_into_sheen(bgr: np.ndarray, mask: np.ndarray, model: DiffuseModel, *, level: float,
                    reach_px: int, context_px: int = 121, min_saturation: float = 0.3,
                    min_chroma: int = 6, clip: int = 250, work_px: int = 800,
                    gamma: float = 1.0) -> np.ndarray:
    """``mask`` plus the connected faint sheen around it (a new array; ``mask`` itself when
    nothing grows or ``reach_px`` is 0).

    Args:
        bgr: ``HxWx3`` uint8 frame (any strides).
        mask: ``HxW`` uint8 mask of the highlights (non-zero = glare).
        model: the frame's :func:`~.dichromatic.fit_diffuse_model` (fit with the same
            ``gamma``).
        level: smallest drop (encoded 8-bit levels) the separation gives a grown pixel.
        reach_px: how far (px, Euclidean) the mask may grow.
        context_px: window (px) of the mean surface saturation around each place
            (:func:`~.dichromatic.local_saturation`); 0 = the material's alone.
        min_saturation: surfaces less saturated than this (HSV 0..1) are not grown into (as
            :func:`~.dichromatic.specular_amount`).
        min_chroma: pixels whose ``max - min`` is below this (8-bit levels) are not grown
            into.
        clip: pixels with a channel at or above this are not grown into (nothing of the
            surface left to separate).
        work_px: the growth is decided on the frame halved until its longer side is at most
            this many px (area averaging also calms the noise); the added pixels are scaled
            back. px parameters are frame px.
        gamma: the frame's transfer curve (:func:`~.dichromatic.to_linear`); the specular part
            is estimated in linear light, as the separation backend subtracts it.

    Works box by box: each merged component box grown by ``reach_px`` (:mod:`.inpainting.roi`).
    """
    if reach_px <= 0 or not mask.any():
        return mask
    small, scale = halve_to(bgr, work_px)
    small_mask = mask
    if scale > 1:  # a cell with any mask px set (its area mean stays > 0 up to x16)
        small_mask = cv2.compare(halve_to(mask, work_px)[0], 0, cv2.CMP_GT)
    grown = _grow(small, small_mask, model, level, max(1, reach_px // scale), context_px // scale,
                  min_saturation, min_chroma, clip, gamma)
    if grown is small_mask:
        return mask
    if scale == 1:
        return grown
    added = upscale_nearest(cv2.bitwise_and(grown, cv2.bitwise_not(small_mask)),
                            (small.shape[1] * scale, small.shape[0] * scale))
    out = mask.copy()
    h, w = added.shape
    out[:h, :w] |= added
    return out


def _grow(bgr: np.ndarray, mask: np.ndarray, model: DiffuseModel, level: float, reach_px: int,
          context_px: int, min_saturation: float, min_chroma: int, clip: int,
          gamma: float) -> np.ndarray:
    """:func:`grow_into_sheen` at one resolution."""
    boxes = component_boxes(mask, reach_px)
    context = local_saturation(bgr, mask, context_px) if boxes and context_px > 0 else None
    out = mask
    for x0, y0, x1, y1 in boxes:
        m = np.ascontiguousarray(mask[y0:y1, x0:x1])
        crop = bgr[y0:y1, x0:x1]
        # Distance of every free pixel to the mask and the mask component nearest to it (the
        # mask's pixels are the zeros of the transform's input).
        dist, nearest = cv2.distanceTransformWithLabels(
            cv2.compare(m, 0, cv2.CMP_EQ), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_CCOMP)
        # Whole-crop tests first (OpenCV), the per-pixel model only where they pass: coloured,
        # unclipped pixels of the band around the mask.
        b, g, r = cv2.split(crop)
        hi = cv2.max(cv2.max(b, g), r)
        usable = cv2.bitwise_and(
            cv2.compare(cv2.subtract(hi, cv2.min(cv2.min(b, g), r)), min_chroma, cv2.CMP_GE),
            cv2.compare(hi, clip, cv2.CMP_LT))
        usable[(dist <= 0) | (dist > reach_px)] = 0
        pts = cv2.findNonZero(usable)
        if pts is None:
            continue
        pts = pts.reshape(-1, 2)
        xs, ys = pts[:, 0], pts[:, 1]
        px = crop[ys, xs].astype(np.float32)
        s = specular_part(model, px,
                          None if context is None else lookup_context(context, ys + y0, xs + x0),
                          min_saturation, min_chroma, gamma)
        ok = encoded_drop(px.max(axis=1), s, gamma) >= level
        # The sheen lies on the highlight's own surface: the hue (unchanged by shading and by
        # added white light) of the coloured pixels right around that highlight. A print of
        # another colour beside it, or the next object, is not grown into.
        hue = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV_FULL)[ys, xs, 0].astype(np.float32)
        hue *= np.float32(2 * np.pi / 256)
        ids = nearest[ys, xs].astype(np.intp)
        ring = dist[ys, xs] <= _RING_PX
        n = int(nearest.max()) + 1
        around = np.arctan2(np.bincount(ids[ring], np.sin(hue[ring]), minlength=n),
                            np.bincount(ids[ring], np.cos(hue[ring]), minlength=n))
        seen = np.bincount(ids[ring], minlength=n) > 0  # a ring with coloured pixels
        off = np.abs(np.angle(np.exp(1j * (hue - around[ids]))))  # wrapped to 0..pi
        ok &= (off <= np.radians(_HUE_TOLERANCE_DEG)) & seen[ids]
        if not ok.any():
            continue
        cand = m.copy()
        cand[ys[ok], xs[ok]] = 255
        seeds = cv2.findNonZero(m).reshape(-1, 2)
        grown = seeded_components(cand, seeds[:, 1], seeds[:, 0])
        if out is mask:
            out = mask.copy()
        out[y0:y1, x0:x1] = grown
    return out
