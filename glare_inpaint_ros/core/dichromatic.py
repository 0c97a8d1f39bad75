"""Dichromatic specular estimation: how much of a pixel is highlight, from its colour alone.

Under the dichromatic reflection model a pixel is ``I_c = m_d * L_c + m_s`` (diffuse body colour
``L`` scaled by shading, plus a specular term in the light's colour, taken as white here). Adding
``m_s`` raises every channel alike, so the *chroma range* ``max - min`` of a pixel is
specular-free, while its HSV saturation ``(max - min) / max`` drops. For a material whose diffuse
saturation ``S_d`` is known, the specular part of a pixel follows (Shen & Zheng 2013, intensity
ratio):

    s = max(B, G, R) - (max - min) / S_d          (8-bit levels, clipped at 0)

``S_d`` per material comes from the frame itself: ~12 k sampled pixels are clustered by the
(min, max) chromaticity of their pseudo specular-free colour ``I - min + mean(min)`` (weighted
k-means on the 64x64 histogram of that chromaticity), and a cluster's ``S_d`` is the median
saturation of its well-exposed pixels (most pixels of a material are diffuse). Where ``S_d`` is low
(grey, white and black materials: lane paint, letters, white cars, metal) colour says nothing about
highlights: ``s`` is 0 there, so separation never touches achromatic content. Clipped pixels (``max
>= clip``) carry no surface information at all; callers fill those from their surroundings.

The model is additive in *linear* light. Lab and machine-vision data with the camera's gamma
off are linear; most video (sRGB-encoded camera drivers, endoscopes) is not, and there the same
subtraction leaves the surface under a highlight too dark. :func:`to_linear` / :func:`from_linear`
take 8-bit levels through a power-law transfer curve (``gamma``) for the callers that separate in
linear light.

Conventions: images BGR uint8; ``s`` in 8-bit levels (float32); saturations 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .resize import area_resize

#: Pixels dimmer than this (max channel, 8-bit levels) are too noisy to estimate a saturation from.
MIN_EXPOSURE = 20
#: Pixels whose every channel is below this (8-bit levels) are unlit: no surface the light
#: reaches (the dark border around an endoscope's round view, 15-25 levels; a letterbox). A local
#: background leaves them out (:func:`..detectors.local_contrast.extend_lit`).
UNLIT = 32
#: A glint's surface is lit: the mean ``max(B, G, R)`` (8-bit levels) around a clipped white spot
#: at least this (a glint reflects the light that lights that surface; a lamp or a lit window at
#: night sits on a dark wall, whose dim colour reads as saturated).
GLINT_SURFACE_LIT = 60
#: A glint's pixels are near-white: ``max(B, G, R)`` at least this (8-bit levels) ...
GLINT_WHITE = 230
#: ... and an HSV saturation at most this (the core of a highlight, ringed by its halo) ...
GLINT_PALE = 0.2
#: ... or this, for a glint's spot (a glint of a few px in 4:2:0 video takes on some of the
#: tissue's colour; at 0.4 sunlit foliage on roads starts to pass).
GLINT_TINT = 0.3
#: The specks of a wet surface (``detector.dichromatic.glint_speck_area``): a few px in 4:2:0
#: video lose their clipping and more of their brightness to the tissue around them than a
#: glint's spot: ``max(B, G, R)`` at least this ...
SPECK_WHITE = 200
#: ... and an HSV saturation at most this.
SPECK_TINT = 0.4
#: The halo of a highlight's near-white core (:func:`haloed`): the ring this many units (from,
#: to] around it against the one this many units around it (:func:`halo_unit`: a frame 400 units
#: across) ...
HALO_IN = (1.0, 4.0)
HALO_OUT = (7.0, 12.0)
#: ... brighter by this (``min(B, G, R)``, 8-bit levels, medians) and paler (saturation, median,
#: at most this times).
HALO_RISE = 20
HALO_PALE = 0.75
#: ... for a lobe: the longer principal axis of the core at most this many times the shorter.
HALO_ELONGATION = 3.0
#: A near-white core ringed by its halo (a highlight's lobe on wet tissue) covers at most this
#: share of the frame: the detector's glints and the separation's refill alike.
LOBE_AREA = 0.02
#: A core wider than a disc of this radius (units) lies in a wider lobe: its outer ring
#: (:data:`HALO_OUT`) moves out in proportion to its equivalent radius.
HALO_CORE = 4.0
#: Cells per axis of :attr:`DiffuseModel.lookup`.
LUT_SIZE = 64
#: Downsampling factor of the local surface-saturation estimate (:func:`local_saturation`).
CONTEXT_F = 4


def near_white(value: np.ndarray, low: np.ndarray, pale: float = GLINT_PALE,
               white: int = GLINT_WHITE) -> np.ndarray:
    """The near-white pixels of a glint (uint8 0/255): ``value`` (``max(B, G, R)``, uint8) at
    least ``white`` and ``low`` (``min(B, G, R)``) at least ``1 - pale`` times it (HSV
    saturation at most ``pale``)."""
    return cv2.bitwise_and(
        cv2.threshold(value, white - 1, 255, cv2.THRESH_BINARY)[1],
        cv2.compare(low, cv2.convertScaleAbs(value, alpha=1.0 - pale), cv2.CMP_GE))


def halo_unit(shape: tuple[int, ...]) -> float:
    """Return the px per unit of :data:`HALO_IN` / :data:`HALO_OUT` in an image of ``shape`` (a
    frame's longer side is 400 units: a highlight's lobe scales with the image)."""
    return max(shape[0], shape[1]) / 400.0


def halo_reach(area: np.ndarray | float, unit: float = 1.0) -> np.ndarray | float:
    """How many times further out than :data:`HALO_OUT` the halo of a near-white core of
    ``area`` px is judged: its equivalent radius over :data:`HALO_CORE` units, at least 1 (a wider
    core lies in a wider lobe). ``unit``: px per unit (:func:`halo_unit`)."""
    return np.maximum(np.sqrt(np.asarray(area, np.float64) / np.pi) / (HALO_CORE * unit), 1.0)


def haloed(labels: np.ndarray, judged: np.ndarray, value: np.ndarray, low: np.ndarray,
           white: np.ndarray, pixels: tuple[np.ndarray, np.ndarray, np.ndarray],
           unit: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label of ``labels`` (components of the near-white map ``white``, uint8 0/255):
    whether a ``judged`` one (bool per label) is ringed by a halo, as a highlight's near-white core
    is by its unclipped lobe: the pixels :data:`HALO_IN` units around it (not near-white) are
    brighter than those :data:`HALO_OUT` units around it (further out around a core wider than
    :data:`HALO_CORE`: its lobe is wider) by :data:`HALO_RISE` levels or more
    (``low`` = ``min(B, G, R)``, medians) and paler (median saturation at most
    :data:`HALO_PALE` times), and it is a lobe, not a streak (principal axes within
    :data:`HALO_ELONGATION`: the reflection along a metal rod is not judged). A white letter, a
    line or a dot of paint has the surface right beside its edge. ``value`` = ``max(B, G, R)``;
    ``pixels``: ``(ys, xs, label)`` of every labelled pixel; ``unit``: px per unit
    (:func:`halo_unit`).

    Returns ``(haloed, saturation, value)`` per label: bool, and the mean saturation and mean
    ``value`` of the outer ring (the surface the highlight lies on; NaN where not judged)."""
    n = len(judged)
    out = np.zeros(n, bool)
    sat_out = np.full(n, np.nan)
    val_out = np.full(n, np.nan)
    ys, xs, lab = pixels
    h, w = labels.shape
    wide = halo_reach(np.bincount(lab, minlength=n), unit)
    for i in np.flatnonzero(judged):
        sel = lab == i
        r = int(HALO_OUT[1] * wide[i] * unit) + 1
        # A lobe, not a streak (the reflection along a rod, a lit line): principal axes' ratio.
        cov = np.cov(np.stack([ys[sel], xs[sel]]).astype(np.float64)) if sel.sum() > 2 else None
        if cov is None:
            continue
        ev = np.linalg.eigvalsh(cov)
        if ev[1] > HALO_ELONGATION ** 2 * max(ev[0], 0.25):
            continue
        y0, y1 = max(int(ys[sel].min()) - r, 0), min(int(ys[sel].max()) + r + 1, h)
        x0, x1 = max(int(xs[sel].min()) - r, 0), min(int(xs[sel].max()) + r + 1, w)
        box = (slice(y0, y1), slice(x0, x1))
        d = cv2.distanceTransform(np.where(labels[box] == i, np.uint8(0), np.uint8(255)),
                                  cv2.DIST_L2, 3) / np.float32(unit)
        free = white[box] == 0
        inner = free & (d > HALO_IN[0]) & (d <= HALO_IN[1])
        outer = free & (d > HALO_OUT[0] * wide[i]) & (d <= HALO_OUT[1] * wide[i])
        if np.count_nonzero(inner) < 4 or np.count_nonzero(outer) < 4:
            continue
        hi, lo = value[box].astype(np.float32), low[box].astype(np.float32)
        sat = (hi - lo) / np.maximum(hi, 1.0)
        sat_out[i], val_out[i] = sat[outer].mean(), hi[outer].mean()
        out[i] = (np.median(lo[inner]) >= np.median(lo[outer]) + HALO_RISE
                  and np.median(sat[inner]) <= HALO_PALE * np.median(sat[outer]))
    return out, sat_out, val_out


def to_linear(levels: np.ndarray, gamma: float) -> np.ndarray:
    """float32 linear light of 8-bit-scale levels (0..255) encoded with a power-law transfer curve:
    ``255 * (v / 255) ** gamma`` (``gamma`` 1.0: the values themselves, as float32)."""
    v = np.asarray(levels, np.float32)
    if gamma == 1.0:
        return v.astype(np.float32, copy=True)
    return (np.float32(255.0) * (v * np.float32(1.0 / 255.0)) ** np.float32(gamma)).astype(
        np.float32, copy=False)


def from_linear(light: np.ndarray, gamma: float) -> np.ndarray:
    """Inverse of :func:`to_linear`: float32 8-bit-scale levels (0..255, clipped) of linear
    light."""
    v = np.clip(np.asarray(light, np.float32), 0.0, 255.0) * np.float32(1.0 / 255.0)
    if gamma != 1.0:
        v = v ** np.float32(1.0 / gamma)
    return (v * np.float32(255.0)).astype(np.float32, copy=False)


def linear_saturation(saturation: float | np.ndarray, gamma: float) -> float | np.ndarray:
    """The HSV saturation in linear light of a colour whose encoded saturation is
    ``saturation``: ``min / max`` goes to its ``gamma``-th power, so ``1 - (1 - S) ** gamma``."""
    if gamma == 1.0:
        return saturation
    return 1.0 - (1.0 - saturation) ** gamma


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


def _cells(feats: np.ndarray) -> np.ndarray:
    """Flat index (``i * LUT_SIZE + j``) of the chromaticity-plane cell of each of ``N x 2``
    features (min chromaticity in 0..1/3, max in 1/3..1, :data:`LUT_SIZE` cells per axis)."""
    i = np.clip((feats[:, 0] * (3.0 * LUT_SIZE)).astype(np.intp), 0, LUT_SIZE - 1)
    j = np.clip(((feats[:, 1] - 1.0 / 3.0) * (1.5 * LUT_SIZE)).astype(np.intp), 0, LUT_SIZE - 1)
    return i * LUT_SIZE + j


def _cell_centres() -> np.ndarray:
    """``LUT_SIZE**2 x 2`` float32: the chromaticity at the centre of every cell, in
    :func:`_cells` order."""
    g = (np.arange(LUT_SIZE, dtype=np.float32) + 0.5) / LUT_SIZE
    grid = np.meshgrid(g / 3.0, 1.0 / 3.0 + g * (2.0 / 3.0), indexing="ij")
    return np.stack(grid, axis=2).reshape(-1, 2)


def _kmeans(points: np.ndarray, weights: np.ndarray, k: int, iters: int = 8) -> np.ndarray:
    """Deterministic weighted k-means of ``N x 2`` points (the occupied cells of the chromaticity
    histogram, weighted by their counts): farthest-point initialisation from the point nearest the
    weighted mean, then Lloyd iterations. Returns the ``k x 2`` centres.

    On the histogram it costs a fraction of a millisecond whatever the frame size (``cv2.kmeans``
    took 5-25 ms on a few thousand 2-D points here).
    """
    mean = (points * weights[:, None]).sum(axis=0) / max(weights.sum(), 1e-6)
    first = int(np.argmin(((points - mean) ** 2).sum(axis=1)))
    chosen = [points[first]]
    dist = ((points - chosen[0]) ** 2).sum(axis=1)
    for _ in range(1, min(k, len(points))):
        nxt = int(np.argmax(dist))
        chosen.append(points[nxt])
        dist = np.minimum(dist, ((points - points[nxt]) ** 2).sum(axis=1))
    c = np.array(chosen, np.float32)
    previous = None
    for _ in range(iters):
        labels = _nearest(points, c)
        if previous is not None and np.array_equal(labels, previous):
            break  # converged: the centres are a function of the labels
        previous = labels
        count = np.bincount(labels, weights, minlength=len(c))
        used = count > 0
        for j in range(2):
            total = np.bincount(labels, weights * points[:, j], minlength=len(c))
            c[used, j] = total[used] / count[used]
    return c


def _nearest(feats: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each of ``N x 2`` points."""
    d = ((feats[:, None, 0] - centers[None, :, 0]) ** 2
         + (feats[:, None, 1] - centers[None, :, 1]) ** 2)
    return d.argmin(axis=1)


def _medians(values: np.ndarray, labels: np.ndarray, k: int, min_count: int = 20) -> np.ndarray:
    """``k`` float32 medians of ``values`` (0..1) per label, to 1/256; 0 for labels with fewer than
    ``min_count`` values. One histogram for all labels instead of a sort per label."""
    bins = 256
    q = np.clip((values * bins).astype(np.intp), 0, bins - 1)
    hist = np.bincount(labels * bins + q, minlength=k * bins).reshape(k, bins)
    count = hist.sum(axis=1)
    cdf = np.cumsum(hist, axis=1)
    med = (cdf < (count[:, None] + 1) / 2).sum(axis=1)
    return np.where(count >= min_count, (med + 0.5) / bins, 0.0).astype(np.float32)


_CELL_CENTRES = _cell_centres()
#: The last :func:`fit_diffuse_model`: (sampled pixels, settings, model), or None.
_last_fit: tuple[np.ndarray, tuple[int, int, int, float], DiffuseModel] | None = None


def fit_diffuse_model(
    bgr: np.ndarray, clusters: int = 4, samples: int = 12288, min_chroma: int = 6, clip: int = 250,
    gamma: float = 1.0,
) -> DiffuseModel:
    """Cluster a frame's materials and measure each one's diffuse saturation.

    Args:
        bgr: ``HxWx3`` uint8 frame (any strides).
        clusters: number of chromaticity clusters K (materials told apart).
        samples: about this many pixels (a regular grid) are clustered; cost is O(samples).
        min_chroma: pixels with ``max - min`` below this (8-bit levels) do not vote for ``S_d``.
        clip: pixels with a channel at or above this level do not vote (clipped).
        gamma: the frame's transfer exponent (:func:`to_linear`): the chromaticities and
            saturations are those of linear light (``min_chroma`` and ``clip`` stay 8-bit levels
            of the encoded frame).

    Deterministic: the same frame gives the same model. The last fit is memoised (keyed by the
    sampled pixels themselves and the settings): the ``dichromatic`` detector and the
    ``separation`` backend fit the same frame once between them in a one-process chain.
    """
    global _last_fit
    h, w = bgr.shape[:2]
    step = max(1, int(np.sqrt(h * w / max(samples, 1))))
    grid = bgr[::step, ::step]
    settings = (clusters, min_chroma, clip, gamma)
    last = _last_fit  # one read: another thread may replace it meanwhile
    if last is not None and last[1] == settings and last[0].shape == grid.shape \
            and np.array_equal(last[0], grid):
        return last[2]
    model = _fit(grid.reshape(-1, 3).astype(np.float32), clusters, min_chroma, clip, gamma)
    _last_fit = (grid.copy(), settings, model)  # the whole tuple at once
    return model


def _fit(sub: np.ndarray, clusters: int, min_chroma: int, clip: int,
         gamma: float = 1.0) -> DiffuseModel:
    """:func:`fit_diffuse_model` on ``N x 3`` float32 sampled pixels (encoded levels)."""
    b, g, r = sub[:, 0], sub[:, 1], sub[:, 2]
    # (axis=1 reductions are slow)
    lo, hi = np.minimum(np.minimum(b, g), r), np.maximum(np.maximum(b, g), r)
    usable = (hi - lo >= min_chroma) & (hi < clip) & (hi >= MIN_EXPOSURE)
    if gamma != 1.0:
        sub = to_linear(sub, gamma)
        b, g, r = sub[:, 0], sub[:, 1], sub[:, 2]
        lo, hi = np.minimum(np.minimum(b, g), r), np.maximum(np.maximum(b, g), r)
    offset = float(lo.mean())
    cells = _cells(_features(sub, offset))
    counts = np.bincount(cells, minlength=LUT_SIZE * LUT_SIZE).astype(np.float64)
    occupied = np.flatnonzero(counts)
    centers = _kmeans(_CELL_CENTRES[occupied], counts[occupied], max(1, clusters))
    cell_label = _nearest(_CELL_CENTRES, centers)
    labels = cell_label[cells]
    rng = hi - lo
    sat = _medians(rng[usable] / hi[usable], labels[usable], len(centers))
    lookup = sat[cell_label].reshape(LUT_SIZE, LUT_SIZE)
    return DiffuseModel(offset, centers, sat, lookup)


def diffuse_saturation(model: DiffuseModel, pixels: np.ndarray) -> np.ndarray:
    """``N`` float32: the diffuse saturation ``S_d`` of the cluster nearest to each of ``N x 3``
    pixels."""
    if len(pixels) == 0:
        return np.zeros(0, np.float32)
    return model.lookup.ravel()[_cells(_features(pixels, model.offset))]


def specular_amount(
    pixels: np.ndarray, sat_d: np.ndarray, min_saturation: float = 0.3, min_chroma: int = 6,
    undefined: float = 0.0,
) -> np.ndarray:
    """``N`` float32 specular part ``s`` (8-bit levels) of ``N x 3`` float32 pixels.

    ``s = max - (max - min) / S_d``, clipped at 0; ``undefined`` (0 by default) where
    ``S_d < min_saturation`` (an achromatic material: colour cannot tell a highlight from a white
    surface) or where the pixel's own chroma range is below ``min_chroma`` (no colour left to go
    by).
    """
    b, g, r = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    hi = np.maximum(np.maximum(b, g), r)
    rng = hi - np.minimum(np.minimum(b, g), r)
    ok = (sat_d >= min_saturation) & (rng >= min_chroma)
    s = np.maximum(hi - rng / np.maximum(sat_d, 1e-3), 0.0)
    return np.where(ok, s, undefined).astype(np.float32)


def specular_part(model: DiffuseModel, pixels: np.ndarray, context: np.ndarray | None,
                  min_saturation: float, min_chroma: int, gamma: float = 1.0,
                  undefined: float = 0.0) -> np.ndarray:
    """``N`` float32 specular part of ``N x 3`` float32 encoded pixels (8-bit levels), in the
    light the separation subtracts it in: encoded levels at ``gamma`` 1.0, linear light
    (:func:`to_linear`) otherwise; ``undefined`` (0 by default) where colour gives no estimate
    (:func:`specular_amount`).

    ``S_d`` is the material's (:func:`diffuse_saturation`), capped by ``context`` (the surface's
    own saturation around each pixel, encoded, :func:`lookup_context`) when given; ``min_chroma``
    stays a floor on the encoded pixel, ``min_saturation`` (encoded) is carried into linear light.
    """
    light = pixels if gamma == 1.0 else to_linear(pixels, gamma)
    sat_d = diffuse_saturation(model, light)
    if context is not None:
        sat_d = np.minimum(sat_d, linear_saturation(context, gamma))
    s = specular_amount(light, sat_d, linear_saturation(min_saturation, gamma),
                        min_chroma if gamma == 1.0 else 0, undefined)
    if gamma != 1.0:
        s[pixels.max(axis=1) - pixels.min(axis=1) < min_chroma] = undefined
    return s


def encoded_drop(peak: np.ndarray, s: np.ndarray, gamma: float) -> np.ndarray:
    """How much (encoded 8-bit levels) subtracting the specular part ``s`` (:func:`specular_part`)
    lowers a pixel whose brightest channel is ``peak`` (encoded levels)."""
    if gamma == 1.0:
        return s
    return peak - from_linear(to_linear(peak, gamma) - s, gamma)


def local_saturation(bgr: np.ndarray, exclude: np.ndarray, window_px: int) -> np.ndarray:
    """Mean HSV saturation (0..1) of the surface around each place, ``exclude`` (uint8, non-zero =
    leave out: the highlight candidates) and pixels dimmer than :data:`MIN_EXPOSURE` left out.

    Computed at 1/:data:`CONTEXT_F` resolution over a ``window_px`` box; returns that small
    ``H//4 x W//4`` float32 map (0 where under 5 % of a window is usable): look it up at
    ``(y // CONTEXT_F, x // CONTEXT_F)``.
    """
    h, w = bgr.shape[:2]
    size = (max(1, w // CONTEXT_F), max(1, h // CONTEXT_F))
    small = area_resize(bgr, size)
    b, g, r = cv2.split(small)
    hi = cv2.max(cv2.max(b, g), r)
    lo = cv2.min(cv2.min(b, g), r)
    hi_f = hi.astype(np.float32)
    sat = (hi_f - lo) / np.maximum(hi_f, 1.0)
    excl_small = area_resize(exclude, size)
    use = ((excl_small == 0) & (hi >= MIN_EXPOSURE)).astype(np.float32)
    k = max(3, (window_px // CONTEXT_F) | 1)
    num = cv2.blur(sat * use, (k, k))
    den = cv2.blur(use, (k, k))
    return np.where(den > 0.05, num / np.maximum(den, 1e-6), 0.0).astype(np.float32)


def lookup_context(context: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Values of a :func:`local_saturation` map at full-resolution pixel coordinates."""
    ch, cw = context.shape
    return context[np.minimum(ys // CONTEXT_F, ch - 1), np.minimum(xs // CONTEXT_F, cw - 1)]
