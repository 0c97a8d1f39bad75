"""``dichromatic``: highlights on coloured surfaces, told apart from bright content by colour
physics.

A specular highlight adds the light's colour to a surface: the pixel gets brighter *and* less
saturated than the diffuse colour of the same material, by an amount that the chroma range
``max - min`` (unchanged by the highlight) predicts (:mod:`..dichromatic`). White paint, printed
letters, white cars, lamps and the sky are bright too, but they are their own (achromatic)
material: no coloured surface around them explains them as a highlight, so they are left alone.

Steps on one frame:

1. Candidates: ``min(B, G, R)`` stands out of its local background (the ``local_contrast``
   detector's highlight-free median background, ``background_px``) by ``contrast_delta`` levels
   plus ``mad_factor`` times the local texture (MAD): a highlight is a local bump; foliage, gravel
   and other busy texture raise the bar.
2. For each candidate, the specular part ``s`` with the diffuse saturation ``S_d`` taken as the
   smaller of its chromaticity cluster's (frame-wide, :func:`..dichromatic.fit_diffuse_model`) and
   the mean saturation of the non-candidate pixels around it (``context_px``): a highlight needs
   a saturated surface *around* it, which paint on asphalt or a letter on a label does not have.
   ``S_d < min_saturation`` gives ``s = 0``.
3. Weak pixels ``s >= weak_level`` (plus clipped candidates, ``max >= clip_level``, which carry no
   colour), specks removed by a 3x3 opening (on the reduced frame: highlights under about 3 px
   across at ``work_px`` are not found); a weak region is kept only if it holds a seed
   ``s >= seed_level`` (hysteresis). Clipped blobs on their own (a lamp, a white sign, the sun on
   a wet road) are therefore *not* reported: with no coloured surface around them the chain
   cannot tell glare from content and leaves the pixels alone.
4. Regions in busy texture are dropped: where more than ``busy_max`` of the frame around a
   region (a 41-px window) is edges (a brightness slope of 12 levels per px or more at the
   detection resolution). Sunlit leaves and sky gaps in foliage are bright and paler than the
   green around them, so colour alone takes them for highlights (road video through a forest);
   a highlight lies on a surface, and that surface is smooth compared with foliage.
5. The kept regions grow by ``grow_px`` so the fringe of each highlight is covered; the
   ``separation`` backend then subtracts only the estimated specular part there (0 on diffuse
   pixels), so the growth does not alter content.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from ..dichromatic import (
    diffuse_saturation, fit_diffuse_model, local_saturation, lookup_context, specular_amount,
)
from ..masks import select_labels, upscale_nearest
from ..params import ParamSpec
from ..resize import halve_to
from . import DETECTORS
from .base import Detector
from .local_contrast import background, seeded_components
from .threshold import value_and_min

_OPEN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_RING3 = np.ones((3, 3), np.uint8)
_RIM = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
#: Window (frame px) over which the busy-texture share around a region is measured.
_BUSY_PX = 41
#: Brightness slope (``max(B, G, R)``, 8-bit levels per px at the detection resolution) of an
#: edge pixel for the busy-texture share.
_BUSY_SLOPE = 12


def edge_slope(plane: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Luminance slope (8-bit levels per px) of a uint8 plane at the given pixels: the larger of
    the horizontal and vertical central differences, halved. Evaluated at those pixels only."""
    h, w = plane.shape
    p = plane.astype(np.int16, copy=False)
    dx = np.abs(p[ys, np.minimum(xs + 1, w - 1)] - p[ys, np.maximum(xs - 1, 0)])
    dy = np.abs(p[np.minimum(ys + 1, h - 1), xs] - p[np.maximum(ys - 1, 0), xs])
    return np.maximum(dx, dy) / 2.0


@DETECTORS.register("dichromatic")
class DichromaticDetector(Detector):
    """Highlights = local bumps that are less saturated than their surface by the amount the
    dichromatic model predicts; achromatic content and lone clipped blobs are left alone."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("clusters", 6,
                  "Chromaticity clusters (materials) per frame for the diffuse saturation.",
                  1, 16),
        ParamSpec("min_saturation", 0.35,
                  "Surfaces whose diffuse HSV saturation (0..1) is below this are achromatic: "
                  "never reported (colour cannot tell glare from white content there; the "
                  "specular estimate's error grows as 1 / saturation^2: a hazy sky near the "
                  "horizon reads as a highlight on a 0.3-saturated surface).",
                  0.0, 1.0),
        ParamSpec("min_chroma", 6,
                  "Pixels whose max-min channel range is below this (8-bit levels) have no colour "
                  "to separate.",
                  0, 255),
        ParamSpec("weak_level", 8,
                  "Specular part (8-bit levels) that makes a candidate pixel part of a highlight "
                  "region.",
                  1, 255),
        ParamSpec("seed_level", 32,
                  "Specular part (8-bit levels) that a region needs somewhere to be kept "
                  "(hysteresis seed).",
                  1, 255),
        ParamSpec("contrast_delta", 10,
                  "A candidate's min(B,G,R) exceeds its local background by this many 8-bit levels"
                  " (+ the texture term).",
                  0, 255),
        ParamSpec("mad_factor", 3.0,
                  "Texture term: the contrast bar grows by this factor times the local median "
                  "absolute deviation (busy texture is not glare).",
                  0.0, 20.0),
        ParamSpec("background_px", 64, "Background median window, px in the frame.", 9, 1024),
        ParamSpec("context_px", 121,
                  "Window (px) of the surface saturation around a candidate.",
                  9, 2048),
        ParamSpec("edge_max", 32.0,
                  "Candidates on a brightness edge steeper than this (8-bit levels per px, central"
                  " difference of max(B,G,R)) are ignored: compressed video smears colour across "
                  "edges (4:2:0 chroma), so mixed edge pixels look desaturated.",
                  0.0, 255.0),
        ParamSpec("clip_level", 250,
                  "A channel at or above this (8-bit levels) is clipped: no colour left; kept only"
                  " inside a highlight region.",
                  1, 255),
        ParamSpec("busy_max", 0.45,
                  "Regions are dropped where more than this share (0..1) of the 41-px window "
                  "around them is edges (sunlit leaves and sky gaps in foliage); 1 = off.",
                  0.0, 1.0),
        ParamSpec("work_px", 800,
                  "Detection runs on the frame halved until its longer side is at most this many "
                  "px (the mask is scaled back; px parameters are frame px).",
                  64, 16384),
        ParamSpec("grow_px", 3,
                  "Kept regions grow by this many px to cover the highlight's fringe (the "
                  "separation backend leaves diffuse pixels unchanged).",
                  0, 255),
    )

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        p = self.params
        h, w = bgr.shape[:2]
        work, scale = halve_to(bgr, p["work_px"])
        mask = np.zeros((h, w), np.uint8)
        found = self._regions(work, scale, bgr)
        if found is None:
            return mask
        regions, (x0, y0) = found
        rh, rw = regions.shape
        if (work.shape[1] * scale, work.shape[0] * scale) == (w, h):
            # Pixel doubling is exact per box: scale up and grow the regions' box only.
            x0, y0 = x0 * scale, y0 * scale
            mask[y0:y0 + rh * scale, x0:x0 + rw * scale] = upscale_nearest(
                regions, (rw * scale, rh * scale))
            box = (x0, y0, x0 + rw * scale, y0 + rh * scale)
        else:
            small = np.zeros(work.shape[:2], np.uint8)
            small[y0:y0 + rh, x0:x0 + rw] = regions
            mask = upscale_nearest(small, (w, h))
            box = (0, 0, w, h)
        g = p["grow_px"]
        if g > 0:  # zeros around the box: dilating the box plus a g-px margin is exact
            x0, y0 = max(box[0] - g, 0), max(box[1] - g, 0)
            x1, y1 = min(box[2] + g, w), min(box[3] + g, h)
            disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1, 2 * g + 1))
            mask[y0:y1, x0:x1] = cv2.dilate(mask[y0:y1, x0:x1], disk)
        return mask

    def _regions(self, bgr: np.ndarray, scale: int,
                 full: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
        """The kept highlight regions of ``bgr``, the frame ``full`` reduced ``scale`` times:
        a uint8 0/255 crop and its top-left corner (x, y) in ``bgr``, or None."""
        p = self.params
        h, w = bgr.shape[:2]
        hi, lo = value_and_min(bgr)
        bg, mad = background(lo, max(9, p["background_px"] // scale), p["contrast_delta"],
                             coarse=True)
        bar = cv2.addWeighted(mad, p["mad_factor"], bg, 1.0, float(p["contrast_delta"]))
        cand = cv2.compare(lo, cv2.resize(bar, (w, h), interpolation=cv2.INTER_LINEAR), cv2.CMP_GE)
        pts = cv2.findNonZero(cand)
        if pts is None:
            return None
        # Fit on the full frame: the same samples (and so the same, memoised, model) as the
        # ``separation`` backend's with the same settings.
        model = fit_diffuse_model(full, p["clusters"], min_chroma=p["min_chroma"],
                                  clip=p["clip_level"])
        if not (model.saturation >= p["min_saturation"]).any():
            return None  # no coloured material in the frame: nothing colour can separate
        pts = pts.reshape(-1, 2)
        xs, ys = pts[:, 0], pts[:, 1]
        px = bgr[ys, xs].astype(np.float32)
        context = local_saturation(bgr, cand, max(9, p["context_px"] // scale))
        around = lookup_context(context, ys, xs)
        sat_d = np.minimum(diffuse_saturation(model, px), around)
        s = specular_amount(px, sat_d, p["min_saturation"], p["min_chroma"])
        keep = (s >= p["weak_level"]) | (hi[ys, xs] >= p["clip_level"])
        if p["edge_max"] > 0:
            keep &= edge_slope(hi, ys, xs) <= p["edge_max"]
        if not (keep & (s >= p["seed_level"])).any():
            return None
        # The rest runs on the bounding box of the kept pixels only.
        x0, y0 = int(xs[keep].min()), int(ys[keep].min())
        x1, y1 = int(xs[keep].max()) + 1, int(ys[keep].max()) + 1
        weak = np.zeros((y1 - y0, x1 - x0), np.uint8)
        weak[ys[keep] - y0, xs[keep] - x0] = 255
        weak = cv2.morphologyEx(weak, cv2.MORPH_OPEN, _OPEN)
        seeds = keep & (s >= p["seed_level"])  # (a seed the opening removed selects nothing)
        regions = seeded_components(weak, ys[seeds] - y0, xs[seeds] - x0)
        if p["busy_max"] < 1.0:
            regions = self._drop_busy(hi, regions, (x0, y0), scale)
            if not regions.any():
                return None
        return regions, (x0, y0)

    def _drop_busy(self, value: np.ndarray, regions: np.ndarray, origin: tuple[int, int],
                   scale: int) -> np.ndarray:
        """``regions`` (uint8 0/255 crop, at ``origin`` (x, y), of the reduced frame whose
        ``max(B, G, R)`` is ``value``) without those whose mean busy-texture share exceeds
        ``busy_max``: edge pixels among the pixels of the ``_BUSY_PX`` window that are not regions
        or their 2-px rim, measured on the regions' box plus that window only."""
        pts = cv2.findNonZero(regions)
        if pts is None:
            return regions
        h, w = value.shape
        rh, rw = regions.shape
        k = max(3, (_BUSY_PX // scale) | 1)
        x0, y0 = origin
        bx0, by0 = max(x0 - k, 0), max(y0 - k, 0)
        bx1, by1 = min(x0 + rw + k, w), min(y0 + rh + k, h)
        # An edge pixel: max - min of ``value`` over its 3x3 neighbourhood (2 px across) at
        # least 2 * _BUSY_SLOPE.
        rise = cv2.morphologyEx(value[by0:by1, bx0:bx1], cv2.MORPH_GRADIENT, _RING3)
        edges = cv2.threshold(rise, 2 * _BUSY_SLOPE - 1, 255, cv2.THRESH_BINARY)[1]
        # The regions and a 2-px rim are left out: a small highlight's own steep rim is not the
        # texture of the surface it lies on. (uint8 0/255 box means: OpenCV's fast path.)
        inside = np.zeros(edges.shape, np.uint8)
        inside[y0 - by0:y0 - by0 + rh, x0 - bx0:x0 - bx0 + rw] = regions
        around = cv2.compare(cv2.dilate(inside, _RIM), 0, cv2.CMP_EQ)
        num = cv2.blur(cv2.bitwise_and(edges, around), (k, k))
        den = cv2.blur(around, (k, k))
        # Sampled at the regions' pixels only, averaged per region.
        pts = pts.reshape(-1, 2)
        xs, ys = pts[:, 0], pts[:, 1]
        n, labels = cv2.connectedComponents(regions, connectivity=8)
        ids = labels[ys, xs]
        gy, gx = ys + (y0 - by0), xs + (x0 - bx0)
        busy = num[gy, gx].astype(np.float32) / np.maximum(den[gy, gx], 1).astype(np.float32)
        share = np.bincount(ids, busy, minlength=n) / np.maximum(np.bincount(ids, minlength=n), 1)
        keep = share <= self.params["busy_max"]
        if keep[1:].all():
            return regions
        return select_labels(labels, keep)
