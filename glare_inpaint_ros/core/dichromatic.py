"""Dichromatic specular estimation: how much of a pixel is highlight, from its colour alone.

Under the dichromatic reflection model a pixel is ``I_c = m_d * L_c + m_s`` (diffuse body colour
``L`` scaled by shading, plus a specular term in the light's colour, taken as white here). Adding
``m_s`` raises every channel alike, so the *chroma range* ``max - min`` of a pixel is specular-free,
while its HSV saturation ``(max - min) / max`` drops. For a material whose diffuse saturation
``S_d`` is known, the specular part of a pixel follows (Shen & Zheng 2013, intensity ratio):

    s = max(B, G, R) - (max - min) / S_d          (8-bit levels, clipped at 0)

``S_d`` per material comes from the frame itself: pixels are clustered by the (min, max)
chromaticity of their pseudo specular-free colour ``I - min + mean(min)`` (k-means on a subsample of a few thousand pixels),
and a cluster's ``S_d`` is the median saturation of its well-exposed pixels (most pixels of a
material are diffuse). Where ``S_d`` is low (grey, white and black materials: lane paint, letters,
white cars, metal) colour says nothing about highlights: ``s`` is 0 there, so separation never
touches achromatic content. Clipped pixels (``max >= clip``) carry no surface information at all;
callers fill those from their surroundings.

Conventions: images BGR uint8; ``s`` in 8-bit levels (float32); saturations 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Pixels dimmer than this (max channel, 8-bit levels) are too noisy to estimate a saturation from.
MIN_EXPOSURE = 20
#: Cells per axis of :attr:`DiffuseModel.lookup`.
LUT_SIZE = 64
#: Downsampling factor of the local surface-saturation estimate (:func:`local_saturation`).
CONTEXT_F = 4


@dataclass(frozen=True)
class DiffuseModel:
    """The frame's materials as chromaticity clusters.

    Attributes:
        offset: mean of ``min(B, G, R)`` over the frame (8-bit levels), added back to the
            specular-free colour so dark pixels keep a defined chromaticity.
        centers: ``K x 2`` float32 cluster centres, (min, max) chromaticity.
        saturation: ``K`` float32 diffuse HSV saturation per cluster (0..1; 0 = unknown).
        lookup: ``LUT_SIZE x LUT_SIZE`` float32, the saturation of the nearest cluster for each
            cell of the chromaticity plane (min in 0..1/3, max in 1/3..1): per-pixel lookups
            cost one gather instead of K distances.
    """

    offset: float
    centers: np.ndarray
    saturation: np.ndarray
    lookup: np.ndarray


def _features(pixels: np.ndarray, offset: float) -> np.ndarray:
    """``N x 2`` (min, max) chromaticity of the pseudo specular-free colours ``I - min + offset``
    of ``N x 3`` float32 pixels (closed form: the smallest channel of ``I - min + offset`` is
    ``offset``)."""
    b, g, r = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    lo = np.minimum(np.minimum(b, g), r)
    hi = np.maximum(np.maximum(b, g), r)
    total = np.maximum(b + g + r - 3.0 * lo + 3.0 * offset, 1e-6)
    return np.stack([offset / total, (hi - lo + offset) / total], axis=1).astype(np.float32)


def _kmeans(feats: np.ndarray, k: int, iters: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic k-means of ``N x 2`` points: farthest-point initialisation from the point
    nearest the mean, then Lloyd iterations. Returns ``(labels N, centers k x 2)``.

    (``cv2.kmeans`` costs 5-25 ms on a few thousand 2-D points here; this costs well under 1 ms.)
    """
    first = int(np.argmin(((feats - feats.mean(axis=0)) ** 2).sum(axis=1)))
    centers = [feats[first]]
    dist = ((feats - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        nxt = int(np.argmax(dist))
        centers.append(feats[nxt])
        dist = np.minimum(dist, ((feats - feats[nxt]) ** 2).sum(axis=1))
    c = np.array(centers, np.float32)
    k = len(c)
    for _ in range(iters):
        labels = _nearest(feats, c)
        count = np.bincount(labels, minlength=k)
        used = count > 0
        for j in range(2):
            c[used, j] = np.bincount(labels, feats[:, j], minlength=k)[used] / count[used]
    return _nearest(feats, c), c


def _nearest(feats: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each of ``N x 2`` points (a loop over the few centres)."""
    best = np.full(len(feats), np.inf, np.float32)
    labels = np.zeros(len(feats), np.int64)
    for i, (c0, c1) in enumerate(centers):
        d = (feats[:, 0] - c0) ** 2 + (feats[:, 1] - c1) ** 2
        closer = d < best
        best[closer] = d[closer]
        labels[closer] = i
    return labels


def fit_diffuse_model(
    bgr: np.ndarray, clusters: int = 4, samples: int = 3072, min_chroma: int = 6, clip: int = 250
) -> DiffuseModel:
    """Cluster a frame's materials and measure each one's diffuse saturation.

    Args:
        bgr: ``HxWx3`` uint8 frame (any strides).
        clusters: number of chromaticity clusters K (materials told apart).
        samples: about this many pixels (a regular grid) are clustered; cost is O(samples).
        min_chroma: pixels with ``max - min`` below this (8-bit levels) do not vote for ``S_d``.
        clip: pixels with a channel at or above this level do not vote (clipped).

    Deterministic: the same frame gives the same model.
    """
    h, w = bgr.shape[:2]
    step = max(1, int(np.sqrt(h * w / max(samples, 1))))
    sub = bgr[::step, ::step].reshape(-1, 3).astype(np.float32)
    lo, hi = sub.min(axis=1), sub.max(axis=1)
    offset = float(lo.mean())
    labels, centers = _kmeans(_features(sub, offset), max(1, min(clusters, len(sub))))
    rng = hi - lo
    usable = (rng >= min_chroma) & (hi < clip) & (hi >= MIN_EXPOSURE)
    sat = np.zeros(len(centers), np.float32)
    for i in range(len(centers)):
        sel = usable & (labels == i)
        if np.count_nonzero(sel) >= 20:
            sat[i] = float(np.median(rng[sel] / hi[sel]))
    g = (np.arange(LUT_SIZE, dtype=np.float32) + 0.5) / LUT_SIZE
    cells = np.stack(np.meshgrid(g / 3.0, 1.0 / 3.0 + g * (2.0 / 3.0), indexing="ij"), axis=2).reshape(-1, 2)
    lookup = sat[_nearest(cells, centers)].reshape(LUT_SIZE, LUT_SIZE)
    return DiffuseModel(offset, centers, sat, lookup)


def diffuse_saturation(model: DiffuseModel, pixels: np.ndarray) -> np.ndarray:
    """``N`` float32: the diffuse saturation ``S_d`` of the cluster nearest to each of ``N x 3`` pixels."""
    if len(pixels) == 0:
        return np.zeros(0, np.float32)
    feats = _features(pixels, model.offset)
    i = np.clip((feats[:, 0] * (3.0 * LUT_SIZE)).astype(np.intp), 0, LUT_SIZE - 1)
    j = np.clip(((feats[:, 1] - 1.0 / 3.0) * (1.5 * LUT_SIZE)).astype(np.intp), 0, LUT_SIZE - 1)
    return model.lookup[i, j]


def specular_amount(
    pixels: np.ndarray, sat_d: np.ndarray, min_saturation: float = 0.3, min_chroma: int = 6
) -> np.ndarray:
    """``N`` float32 specular part ``s`` (8-bit levels) of ``N x 3`` float32 pixels.

    ``s = max - (max - min) / S_d``, clipped at 0; 0 where ``S_d < min_saturation`` (an
    achromatic material: colour cannot tell a highlight from a white surface) or where the
    pixel's own chroma range is below ``min_chroma`` (no colour left to go by).
    """
    b, g, r = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    hi = np.maximum(np.maximum(b, g), r)
    rng = hi - np.minimum(np.minimum(b, g), r)
    ok = (sat_d >= min_saturation) & (rng >= min_chroma)
    s = np.where(ok, hi - rng / np.maximum(sat_d, 1e-3), 0.0)
    return np.maximum(s, 0.0).astype(np.float32)


def local_saturation(bgr: np.ndarray, exclude: np.ndarray, window_px: int) -> np.ndarray:
    """Mean HSV saturation (0..1) of the surface around each place, ``exclude`` (uint8, non-zero =
    leave out: the highlight candidates) and pixels dimmer than :data:`MIN_EXPOSURE` left out.

    Computed at 1/:data:`CONTEXT_F` resolution over a ``window_px`` box; returns that small
    ``H//4 x W//4`` float32 map (0 where under 5 % of a window is usable): look it up at
    ``(y // CONTEXT_F, x // CONTEXT_F)``.
    """
    h, w = bgr.shape[:2]
    size = (max(1, w // CONTEXT_F), max(1, h // CONTEXT_F))
    small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    b, g, r = cv2.split(small)
    hi = cv2.max(cv2.max(b, g), r)
    lo = cv2.min(cv2.min(b, g), r)
    hi_f = hi.astype(np.float32)
    sat = (hi_f - lo) / np.maximum(hi_f, 1.0)
    excl_small = cv2.resize(exclude, size, interpolation=cv2.INTER_AREA)
    use = ((excl_small == 0) & (hi >= MIN_EXPOSURE)).astype(np.float32)
    k = max(3, (window_px // CONTEXT_F) | 1)
    num = cv2.blur(sat * use, (k, k))
    den = cv2.blur(use, (k, k))
    return np.where(den > 0.05, num / np.maximum(den, 1e-6), 0.0).astype(np.float32)


def lookup_context(context: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Values of a :func:`local_saturation` map at full-resolution pixel coordinates."""
    ch, cw = context.shape
    return context[np.minimum(ys // CONTEXT_F, ch - 1), np.minimum(xs // CONTEXT_F, cw - 1)]


def specular_map(
    bgr: np.ndarray, model: DiffuseModel, min_saturation: float = 0.3, min_chroma: int = 6,
    smooth_sigma: float = 1.0, context: np.ndarray | None = None, origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """``HxW`` float32 specular part of every pixel of a (crop of a) BGR uint8 frame, smoothed
    with a Gaussian of ``smooth_sigma`` px (highlights are smooth; pixel noise is not).

    ``context``: the frame's :func:`local_saturation` map; ``S_d`` is then at most the surface
    saturation around each pixel. ``origin``: the crop's ``(x0, y0)`` in the frame.
    """
    h, w = bgr.shape[:2]
    px = bgr.reshape(-1, 3).astype(np.float32)
    sat_d = diffuse_saturation(model, px)
    if context is not None:
        ys, xs = np.mgrid[origin[1]:origin[1] + h, origin[0]:origin[0] + w]
        sat_d = np.minimum(sat_d, lookup_context(context, ys.ravel(), xs.ravel()))
    s = specular_amount(px, sat_d, min_saturation, min_chroma).reshape(h, w)
    if smooth_sigma > 0:
        s = cv2.GaussianBlur(s, (0, 0), smooth_sigma)
    return s
