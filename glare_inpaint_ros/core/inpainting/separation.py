"""``separation``: subtract the highlight where the surface is still there, fill only what is
clipped.

Where a highlight is a transparent sheen the surface colour and texture are still in the pixel
(dichromatic reflection: diffuse + specular in the light's colour). Painting over such pixels
throws the texture away (letters in the fringe of a reflection, the grain of a fruit); this
backend instead estimates the specular part of every masked pixel (:mod:`..dichromatic`: the
materials clustered on the whole frame, Gaussian-smoothed by ``smooth_sigma``) and subtracts it,
which leaves diffuse pixels (``s = 0``) and achromatic content unchanged. Estimates no larger
than what the estimator reads on the plain surface around the highlight (its noise floor,
``floor_quantile``: texture, noise) are left alone too, and a material's diffuse saturation is
taken no higher than the surface shows (the clusters do not tell hues apart):
``ring_saturation_margin`` times that of the ring around each highlight, and the most saturated
pixel of the highlight's own faint tail of its hue (``tail_saturation_cap``). Only pixels with a
clipped channel
(``>= clip_level``, nothing of the surface left) are filled, by the ``fast`` push-pull fill from
the separated pixels around them (within 8 px of their box), and only where the ring around them
is highlight too (``clip_ring_min``): a clipped lamp or white sign with no highlight around it
stays.
A small glint whose separation failed (:meth:`SeparationInpainter._refill_glints`: a near-white
spot whose rim, JPEG-smeared, separates into a dark ring) is filled whole from the surface around
it; so is a larger, irregular near-white core that a halo rings (:func:`..dichromatic.haloed`),
and the pale, unclipped top of a separated lobe, which has no chroma left to separate
(:meth:`SeparationInpainter._pale_cores`, ``pale_cores``).
A highlight whose separation would come out far darker than the surface around it is left as it
is (:func:`plausible_specular`), and in the others no pixel is taken below
``min_brightness_ratio`` times that surface.
A clipped region with dark print inside it (:func:`enclosing_print`: the letters on a white sign's
face that a glare core merged with) is never filled: glare washes out all under its core.
A highlight's faint tail reaches past what the detector reports:
:meth:`SeparationInpainter.extend_mask` adds a fringe around each one (``fringe_px``), where the
specular part is separated too, but only as far as it continues the highlight's own at the
detected mask's edge (:meth:`SeparationInpainter._fringe`); the fringe is never filled and never
counts as evidence that a clipped region is a highlight.

Guarantees of every backend: pixels outside the mask bit-identical, work on the mask's ROIs
only (the material model is fit once per frame on a subsample), no state between frames.
uint8 and uint16 (parameters in 8-bit levels); a mono image has no colour to separate, so only
its clipped pixels are filled.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from ..dichromatic import (
    GLINT_SURFACE_LIT, HALO_OUT, LOBE_AREA, MIN_EXPOSURE, UNLIT, DiffuseModel, encoded_drop,
    fit_diffuse_model, from_linear, halo_reach, halo_unit, haloed, local_saturation,
    lookup_context, near_white, specular_part, to_linear,
)
from ..masks import compare, grouped_ring, label_quantile, select_labels, spot_like
from ..params import ParamSpec
from ..sheen import grow_into_sheen
from ..validation import check_image, check_mask
from . import INPAINTERS
from .base import Inpainter, paste_masked
from .fast import push_pull_fill
from .roi import Box


#: :meth:`SeparationInpainter._tail_cap` reads hue in this many bins (each pixel votes in its own
#: and both neighbours: a window of +-1.5 bins, about +-17 degrees) ...
_TAIL_HUE_BINS = 16
#: ... and needs this many pixels of a highlight in a window for a cap ...
_TAIL_MIN_PX = 16
#: ... among its mask component and this many px around it.
_TAIL_REACH_PX = 6
_TAIL_REACH = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _TAIL_REACH_PX + 1,) * 2)
#: OpenCV's 8-bit hue (0..179) -> its bin.
_HUE_BIN = (np.arange(256) * _TAIL_HUE_BINS // 180).astype(np.uint8)
#: The largest glint (a clipped spot filled for its coloured ring alone), share of the frame ...
_GLINT_FILL = 0.001
#: ... and the largest mask component around it, in glints.
_GLINT_FILL_MASK = 4
#: A glint whose separation failed (:meth:`SeparationInpainter._refill_glints`) is filled as a
#: whole when its mask component covers at most this many glints (:data:`_GLINT_FILL`) ...
_REFILL_MASK = 40
#: (A near-white core that a halo rings, :func:`..dichromatic.haloed`, may cover this many
#: glints, :data:`..dichromatic.LOBE_AREA` of the frame, and need not be a compact spot) ...
_REFILL_HALO = LOBE_AREA / _GLINT_FILL
#: ... (its mask component may hold this share of near-white pixels in specks that are neither) ...
_REFILL_SPECKS = 0.1
#: ... on the surface in the ring of this reach (px) around it ...
_REFILL_RING = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
#: ... and at least this share of its pixels came out of the separation dark or pale ...
_REFILL_SHARE = 0.1
#: ... pale: with less than this share of the chroma (max - min) of that surface.
_REFILL_PALE = 0.5
#: The plausibility test's reach around a mask component (px, square; components closer than
#: this are judged together).
_PLAUSIBLE_REACH = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
#: A pixel of a plausible component that would come out darker than this share of the test's
#: bar (``min_brightness_ratio`` times the ring) is washed out: filled like a clipped one.
_WASHED = 0.5
#: A highlight's pale core (:meth:`SeparationInpainter._pale_cores`): the ring 1-2 px around it
#: (inside the mask) ...
_CORE_RING = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
#: ... lost at least this share of what the core stands above the separated surface there.
_CORE_RISE = 0.5
#: ... and print on a pale face is a hole of pixels darker than this share of the face.
_PALE_INK = 0.5
_RING3 = np.ones((3, 3), np.uint8)
#: Print inside a clipped region (:func:`enclosing_print`): pixels darker than this share of the
#: clip level ...
_PRINT_LEVEL = 0.8
#: ... at least this many of them in one hole of the region.
_PRINT_MIN_PX = 4
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
#: A smoothed specular part that would take this share of a pixel's weakest channel or more is
#: capped at the pixel's own estimate (:meth:`SeparationInpainter._smooth`).
_EMPTYING = 0.5
#: The noise floor of the specular estimate (:meth:`SeparationInpainter._noise_floor`) is read
#: on a grid of cells this many px across ...
_FLOOR_CELL = 4
_FLOOR_POOL = np.ones((_FLOOR_CELL, _FLOOR_CELL), np.uint8)
#: ... on the surface 3 cells (12 px) out of the mask and more (past the faint tail of the
#: highlight itself) ...
_FLOOR_NEAR = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
#: ... to 4 cells (16 px; square reach: it only feeds a quantile); highlights closer than twice
#: that share one floor.
_FLOOR_FAR = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
#: A ring with fewer samples than this (a highlight filling the frame) gives no floor.
_FLOOR_MIN_SAMPLES = 16
#: Clipped pixels are filled from the separated pixels within this many px of their box.
_FILL_MARGIN = 8
#: In the fringe (``fringe_px``) the specular part is at most this times that along the nearby
#: edge of the detected mask (:meth:`SeparationInpainter._fringe`) ...
_FRINGE_RISE = 2.0
#: ... and at most this (8-bit levels; linear light with ``gamma`` != 1), fading linearly to 0 at
#: the fringe's outer edge.
_FRINGE_MAX = 32.0
#: A highlight's fringe reaches this times its equivalent radius (``sqrt(area / pi)``), at most
#: ``fringe_px``: a lobe's tail is about as wide as the lobe; a glint has next to none.
_FRINGE_SCALE = 2.0
#: The base of the fringe's cap is spread at 1 / this of the resolution.
_FRINGE_COARSE = 4


def most_saturated(keys: np.ndarray, sat: np.ndarray, n: int, query: np.ndarray) -> np.ndarray:
    """The highest saturation ``sat`` (uint8, OpenCV's HSV ``S``: 255 = 1) per key, as float32
    0..1, for the keys ``query``; keys are ``group * _TAIL_HUE_BINS + hue bin`` (``n`` groups):
    each sample counts in its own hue bin and both neighbours (about +-17 degrees); +inf where
    fewer than ``_TAIL_MIN_PX`` samples do. No pixel of a material shows more than its diffuse
    saturation (added white light lowers it and keeps the hue)."""
    bins = _TAIL_HUE_BINS
    top = np.zeros(n * bins, np.uint8)
    np.maximum.at(top, keys, sat)
    seen = np.bincount(keys, minlength=n * bins)
    # Each bin with both neighbours (hue is circular).
    top, seen = top.reshape(n, bins), seen.reshape(n, bins)
    top = np.maximum(np.maximum(np.roll(top, 1, axis=1), top), np.roll(top, -1, axis=1))
    seen = np.roll(seen, 1, axis=1) + seen + np.roll(seen, -1, axis=1)
    cap = np.where(seen >= _TAIL_MIN_PX, top * np.float32(1.0 / 255.0), np.float32(np.inf))
    return cap.ravel()[query]


def hue_saturation(bgr8: np.ndarray, clip: int,
                   min_chroma: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel of a uint8 BGR image: its ``_TAIL_HUE_BINS`` hue bin and its HSV saturation
    (both uint8; OpenCV's ``S``, 255 = 1), and whether it tells its material's saturation
    (uint8 0/255: unclipped ``max < clip``, exposed, coloured ``max - min >= min_chroma``)."""
    hue, sat, value = cv2.split(cv2.cvtColor(bgr8, cv2.COLOR_BGR2HSV))
    low = functools.reduce(cv2.min, cv2.split(bgr8))
    usable = cv2.bitwise_and(
        cv2.inRange(value, MIN_EXPOSURE, clip - 1),
        cv2.threshold(cv2.subtract(value, low), min_chroma - 1, 255, cv2.THRESH_BINARY)[1])
    return cv2.LUT(hue, _HUE_BIN), sat, usable


@dataclass(frozen=True)
class _Ring:
    """The surface around the highlights of one frame, as :meth:`SeparationInpainter._ring`
    samples it: one pixel per ``_FLOOR_CELL``-px cell 12-16 px out of the mask, grouped per
    highlight (highlights whose rings touch share a group)."""

    #: Group count (0 = none) and each cell's group (int32, on the cell grid from ``corner``).
    n: int
    groups: np.ndarray
    corner: tuple[int, int]
    #: The unclipped samples: frame coordinates, float32 BGR pixels (8-bit levels), groups ...
    ys: np.ndarray
    xs: np.ndarray
    pixels: np.ndarray
    ids: np.ndarray
    #: ... and their :func:`hue_saturation`: hue bin and saturation (uint8), and whether each
    #: tells its material's saturation (bool).
    hue: np.ndarray
    sat: np.ndarray
    usable: np.ndarray

    def group_of(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """The group of frame pixels inside the sampled extent."""
        f = _FLOOR_CELL
        return self.groups[(ys - self.corner[1]) // f, (xs - self.corner[0]) // f]


def enclosing_print(saturated: np.ndarray, peak: np.ndarray, dark: float,
                    seeds: np.ndarray | None = None) -> np.ndarray | None:
    """The components of ``saturated`` (uint8 0/255, 8-connected: the clipped pixels) that
    enclose print, as a uint8 0/255 mask, or None when none does; with ``seeds`` (uint8, non-zero
    = set) only the components holding a seed pixel are judged.

    Glare washes out everything under its core, so a clipped region of glare is solid. A hole in
    a clipped region (pixels that are not clipped, 4-connected to each other and not to the edge
    of the judged components' box, so enclosed by them) holding at least ``_PRINT_MIN_PX``
    pixels whose ``peak`` (``max(B, G, R)``, or the mono value) is below ``dark`` is print on a
    white surface: the letters on the face of a sign or a label that a glare core has merged
    with. Such a region is content; filling it paints the letters over.
    """
    n, labels = cv2.connectedComponents(saturated, connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return None
    judged = saturated
    if seeds is not None:  # the seeded components, and their box (their holes lie inside it)
        pts = cv2.findNonZero(cv2.bitwise_and(saturated, seeds))
        if pts is None:
            return None
        pts = pts.reshape(-1, 2)
        held = np.zeros(n, bool)
        held[labels[pts[:, 1], pts[:, 0]]] = True
        judged = select_labels(labels, held)
    x, y, w, h = cv2.boundingRect(judged)
    box = (slice(y, y + h), slice(x, x + w))
    sat, lab, pk = judged[box], labels[box], peak[box]
    free = cv2.bitwise_not(sat)
    dark_px = cv2.bitwise_and(
        cv2.threshold(pk, dark, 255, cv2.THRESH_BINARY_INV)[1].astype(np.uint8, copy=False), free)
    found = cv2.findNonZero(dark_px)
    if found is None:
        return None
    m, gaps = cv2.connectedComponents(free, connectivity=4, ltype=cv2.CV_32S)
    found = found.reshape(-1, 2)
    hole = np.bincount(gaps[found[:, 1], found[:, 0]], minlength=m) >= _PRINT_MIN_PX
    for edge in (gaps[0, :], gaps[-1, :], gaps[:, 0], gaps[:, -1]):
        hole[edge] = False  # reaches the box's edge: outside the components, not a hole
    hole[0] = False
    if not hole.any():
        return None
    # The clipped components around those holes: the 4-neighbours of a hole's pixels.
    rim = cv2.bitwise_and(cv2.dilate(select_labels(gaps, hole), _CROSS), sat)
    pts = cv2.findNonZero(rim).reshape(-1, 2)
    printed = np.zeros(n, bool)
    printed[lab[pts[:, 1], pts[:, 0]]] = True
    printed[0] = False
    out = np.zeros(saturated.shape, np.uint8)
    out[box] = cv2.bitwise_and(select_labels(lab, printed), sat)
    return out


def grow_by_size(mask: np.ndarray, scale: float, max_px: int) -> np.ndarray:
    """``mask`` (uint8 0/255) with each component (8-connected, its outer contour) grown by a
    disk of ``scale`` times its equivalent radius ``sqrt(area / pi)``, rounded, at most
    ``max_px`` (px)."""
    out = mask.copy()
    h, w = mask.shape
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in contours:
        r = int(min(max_px, round(scale * np.sqrt(max(cv2.contourArea(contour), 1.0) / np.pi))))
        if r < 1:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        box = (slice(max(y - r, 0), min(y + bh + r, h)), slice(max(x - r, 0), min(x + bw + r, w)))
        # (a disk through the distance transform: a large elliptic dilation costs its area)
        near = cv2.distanceTransform(cv2.bitwise_not(mask[box]), cv2.DIST_L2, 3)
        out[box] |= compare(near, r, cv2.CMP_LE)
    return out


def plausible_specular(s: np.ndarray, peak: np.ndarray, mask: np.ndarray, ratio_min: float,
                       gamma: float = 1.0) -> tuple[np.ndarray, np.ndarray | None]:
    """``s`` (float32 specular part, 0 outside what is separated) with the components whose
    separation is implausibly dark set to 0 (left as they are), and the pixels of the others that
    would come out washed out (uint8 0/255, or None): nothing of the surface is left in them.

    Separating a highlight leaves the surface under it, about as bright as the same surface
    around it (``peak``: ``max(B, G, R)``, encoded levels; the ring 2-3 px outside ``mask``). A
    component (with its neighbours within 3 px) whose separated pixels come out, at the median,
    darker than ``ratio_min`` times its ring's median was not white light on that surface: most
    often gamma-encoded video separated as if linear (``gamma`` 1.0 on sRGB), where a pale sheen
    on red tissue is "explained" by a nearly black surface. In a component that passes, a pixel
    that would come out darker than ``_WASHED`` times that (the near-white rim of a glint, whose
    little chroma is noise and colour fringing) was all highlight: like a clipped pixel, it is
    for the fill; one that would come out darker than ``ratio_min`` times it is taken down to
    that level only. ``gamma``: the light ``s`` is in (:func:`..dichromatic.encoded_drop`)."""
    ys, xs = np.nonzero(s > 0)  # (the separated pixels, found once)
    if not len(ys):
        return s, None
    n, groups, ring = grouped_ring(mask, _PLAUSIBLE_REACH, _RING3)
    pk = peak[ys, xs].astype(np.float32)
    after = pk - encoded_drop(pk, s[ys, xs], gamma)
    ids = groups[ys, xs]
    separated = label_quantile(after, ids, n, 0.5)
    ring = ring > 0
    around = peak[ring]  # (uint8: label_quantile's integer sort; the median is the same value)
    around = label_quantile(around if around.dtype == np.uint8 else around.astype(np.float32),
                            groups[ring], n, 0.5)
    with np.errstate(invalid="ignore"):
        dark = separated < ratio_min * around
        bar = ratio_min * around[ids]
        washed = ~dark[ids] & (after < _WASHED * bar)
        # The rest of a plausible component is not taken below the bar either: a pixel that
        # would come out darker (JPEG-smeared rims, a paler patch of the surface) loses only
        # what takes it down to it.
        floor = ~dark[ids] & ~washed & (after < bar)
    out = None
    if washed.any():
        out = np.zeros(s.shape, np.uint8)
        out[ys[washed], xs[washed]] = 255
    if not (dark.any() or floor.any()):
        return s, out
    s = s.copy()
    off = dark[ids]
    s[ys[off], xs[off]] = 0.0
    if floor.any():
        top, level = pk[floor], np.minimum(bar[floor], pk[floor]).astype(np.float32)
        s[ys[floor], xs[floor]] = (top - level if gamma == 1.0
                                   else to_linear(top, gamma) - to_linear(level, gamma))
    return s, out


def soft_floor(s: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """``s`` (float32 specular part) through a soft threshold at ``floor`` (same shape, or
    broadcastable): 0 up to ``floor``, then rising twice as fast to meet ``s`` itself at twice
    the floor, and ``s`` above that (continuous: no step in the separated image)."""
    return np.where(s >= 2.0 * floor, s, np.maximum(2.0 * (s - floor), 0.0)).astype(np.float32)


def _fill_lit(image: np.ndarray, region: np.ndarray, unlit: np.ndarray) -> None:
    """Fill ``region`` (uint8 0/255) of ``image`` in place by the ``fast`` push-pull fill from
    the pixels around it. ``unlit`` (uint8 0/255, same size): pixels that are neither filled
    nor filled from (the border around an endoscope's view, which a mask's growth may reach: no
    surface; filling it spread the tissue's colour over the border, filling from it a dark
    smear over the tissue)."""
    if unlit.any():
        fill = push_pull_fill(image, cv2.bitwise_or(region, unlit))
        region = cv2.bitwise_and(region, cv2.bitwise_not(unlit))
    else:
        fill = push_pull_fill(image, region)
    paste_masked(image, fill, region)


def _fill_near(image: np.ndarray, region: np.ndarray, unlit: np.ndarray) -> None:
    """:func:`_fill_lit` of ``region`` (uint8 0/255, non-empty) from the pixels within
    ``_FILL_MARGIN`` px of its box: over a whole ROI, the fill's coarse levels pulled in the
    (darker) background beyond the object."""
    x, y, w, h = cv2.boundingRect(region)
    m = _FILL_MARGIN
    near = (slice(max(y - m, 0), y + h + m), slice(max(x - m, 0), x + w + m))
    _fill_lit(image[near], region[near], unlit[near])


def _as_8bit(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 (a uint16 one scaled by 1/257, rounded); uint8 is returned as is."""
    if image.dtype == np.uint8:
        return image
    return cv2.convertScaleAbs(image, alpha=1.0 / 257.0)


@INPAINTERS.register("separation")
class SeparationInpainter(Inpainter):
    """Dichromatic separation inside the mask; push-pull fill of clipped pixels only."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("clusters", 6,
                  "Chromaticity clusters (materials) per frame for the diffuse saturation (as "
                  "the dichromatic detector's: then one fit serves both).",
                  1, 16),
        ParamSpec("min_saturation", 0.3,
                  "Materials with a diffuse HSV saturation (0..1) below this are not separated "
                  "(achromatic: left as they are).",
                  0.0, 1.0),
        ParamSpec("min_chroma", 6,
                  "Pixels with a max-min channel range below this (8-bit levels) are not "
                  "separated.",
                  0, 255),
        ParamSpec("context_px", 0,
                  "Window (px) of the surface saturation around the mask: with > 0 a pixel is "
                  "separated at most down to the mean saturation of the surface around it (more "
                  "conservative); 0 = the frame-wide material clusters alone.",
                  0, 2048),
        ParamSpec("min_specular", 4.0,
                  "Specular estimates below this (8-bit levels) are taken as 0: small, noisy ones "
                  "leave the pixel unchanged.",
                  0.0, 255.0),
        ParamSpec("smooth_sigma", 1.0,
                  "Gaussian smoothing of the specular estimate, px (0 = off).",
                  0.0, 10.0),
        ParamSpec("clip_level", 250,
                  "Masked pixels with a channel at or above this (8-bit levels) are clipped and "
                  "get filled.",
                  1, 255),
        ParamSpec("floor_quantile", 0.9,
                  "Noise floor of the specular estimate: the estimate reads a specular part on "
                  "plain surface pixels too (texture, noise, a paler patch of the material); "
                  "per highlight, this quantile (0..1) of its reading on the surface about "
                  "12-16 px around it is taken as noise, and smaller estimates are left alone (a "
                  "soft threshold, 0 = off).",
                  0.0, 1.0),
        ParamSpec("ring_saturation_margin", 1.2,
                  "Per highlight, the material's diffuse saturation is taken at most this times "
                  "the median HSV saturation of the surface about 12-16 px around it (the noise "
                  "floor's ring): the frame's materials are clustered by their chromaticity's "
                  "spread, not its hue, so a highlight on a paler material can get a more "
                  "saturated one's and be over-subtracted into a dark blotch; 0 = off.",
                  0.0, 10.0),
        ParamSpec("tail_saturation_cap", True,
                  "Per highlight and hue, the material's diffuse saturation is taken at most the "
                  "highest HSV saturation among the highlight's own unclipped pixels of that hue "
                  "(its faint tail, which the light has barely paled; white light keeps the hue): "
                  "the data support no more, and a highlight on a paler material than its "
                  "cluster's is not over-subtracted into a dark blotch; false = off."),
        ParamSpec("min_brightness_ratio", 0.6,
                  "A highlight (with its neighbours within 3 px) is left as it is when its "
                  "separated pixels would come out, at the median, darker than this times the "
                  "surface around it (max(B,G,R), the ring 2-3 px out): not white light on that "
                  "surface (most often sRGB video separated with gamma 1.0: dark blotches); "
                  "0 = off.",
                  0.0, 1.0),
        ParamSpec("clip_ring_min", 0.5,
                  "A clipped region is filled only if at least this share (0..1) of the ring "
                  "around it is separable highlight (a highlight's core on a coloured surface); "
                  "else it is left as it is (a lamp, a white sign).",
                  0.0, 1.0),
        ParamSpec("pale_cores", True,
                  "Fill the pale, unclipped top of a separated highlight (no chroma left for an "
                  "estimate: tone roll-off, blooming), like a clipped core, where the ring around "
                  "it was separated and lost at least half of what the top stands above the "
                  "separated surface; white print under a sheen, or with ink on it, stays; "
                  "false = off (the top stays a white stroke)."),
        ParamSpec("sheen_px", 0,
                  "The mask grows by up to this many px into the faint sheen connected to it "
                  "(specular part >= min_specular, not clipped, the hue of the surface around "
                  "the highlight), which is then separated too; 0 = off. 48: sihr_shen +0.9 dB, "
                  "roads and OCR unchanged, but less gain on finely textured glossy objects and "
                  "more darkening on sRGB video at gamma 1.0; ~+15 ms per 720p frame "
                  "(docs/evaluation.md).",
                  0, 512),
        ParamSpec("fringe_px", 21,
                  "A highlight's faint tail reaches past what the detector reports: around each "
                  "detected highlight (colour frames), out to twice its equivalent radius but at "
                  "most this many px, the specular part is separated too, at most twice that "
                  "along the nearby edge of the detected mask (after the noise floor and the "
                  "brightness test) and 32 levels, fading to 0 at the fringe's edge; nothing "
                  "there is filled, and only the pixels that changed join the reported mask. "
                  "sihr_shen 36.4 -> 37.6 dB; ~1.5-1.9x the default chain's time on "
                  "highlight-rich frames (docs/evaluation.md); 0 = off.",
                  0, 255),
        ParamSpec("sheen_min_saturation", 0.45,
                  "The sheen growth only enters surfaces at least this saturated (HSV 0..1): the "
                  "specular estimate's error grows as 1 / saturation^2.",
                  0.0, 1.0),
        ParamSpec("gamma", 1.0,
                  "Exponent of the input's transfer curve: the specular part is estimated and "
                  "subtracted in linear light, 255 * (v / 255) ** gamma. 1.0: linear data (lab "
                  "and machine-vision cameras with gamma off; sihr_shen is best at 1.0); 2.2: "
                  "sRGB-encoded video (most camera drivers, endoscopes), where 1.0 leaves each "
                  "separated highlight darker than the surface around it (docs/evaluation.md).",
                  1.0, 3.0),
        ParamSpec("clip_grow_px", 2,
                  "Clipped regions grow by this many px (the blooming rim) before the fill.",
                  0, 64),
    )
    SUPPORTED_CHANNELS: ClassVar[tuple[int, ...]] = (1, 3)
    SUPPORTED_DTYPES: ClassVar[tuple] = (np.uint8, np.uint16)

    def inpaint_rois(self, image: np.ndarray, mask: np.ndarray, boxes: list[Box],
                     out: np.ndarray, *, detected: np.ndarray | None = None) -> None:
        """As :meth:`Inpainter.inpaint_rois`; ``detected`` (the mask before :meth:`extend_mask`):
        pixels of ``mask`` outside it (and outside its sheen growth) are the fringe: separated
        with a capped specular part (:meth:`_fringe`), never filled."""
        p = self.params
        image8 = context = model = None
        if image.ndim == 3:  # the frame's materials, fit once; mono has no colour to separate
            image8 = _as_8bit(image)
            model = fit_diffuse_model(image8, p["clusters"], min_chroma=p["min_chroma"],
                                      clip=p["clip_level"], gamma=p["gamma"])
            if p["context_px"] > 0:
                context = local_saturation(image8, mask, p["context_px"])
        crops = [(np.ascontiguousarray(image[y0:y1, x0:x1]),
                  np.ascontiguousarray(mask[y0:y1, x0:x1])) for x0, y0, x1, y1 in boxes]
        specs: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(boxes)
        if model is not None:
            specs = list(zip(*self._specular(image8, mask, crops, boxes, model, context)))
        core = mask
        if detected is not None and image8 is not None and p["fringe_px"] > 0:
            core = detected
            if p["sheen_px"] > 0 and core.any():  # (the sheen is separated in full)
                core = cv2.bitwise_and(self._grow_into_sheen(image8, core), mask)
        glint_px = _GLINT_FILL * image.shape[0] * image.shape[1]
        halo = halo_unit(image.shape)
        for (x0, y0, x1, y1), (crop, m), s in zip(boxes, crops, specs):
            inner = m if core is mask else np.ascontiguousarray(core[y0:y1, x0:x1])
            paste_masked(out[y0:y1, x0:x1], self._separate(crop, m, s, glint_px, inner, halo), m)

    def extend_mask(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``mask`` grown into the faint sheen connected to it (:func:`..sheen.grow_into_sheen`:
        up to ``sheen_px``, where this backend would subtract at least ``min_specular``, on
        surfaces at least ``sheen_min_saturation`` saturated), then by the fringe
        (:func:`grow_by_size`, ``fringe_px``); mono frames keep their mask."""
        p = self.params
        if p["sheen_px"] <= 0 and p["fringe_px"] <= 0:
            return mask
        src = check_image(image, dtypes=self.SUPPORTED_DTYPES)
        mask = check_mask(mask, src.shape)
        if src.ndim != 3 or src.shape[2] < 3 or not mask.any():
            return mask
        if p["sheen_px"] > 0:
            mask = self._grow_into_sheen(src, mask)
        if p["fringe_px"] > 0:
            mask = grow_by_size(mask, _FRINGE_SCALE, p["fringe_px"])
        return mask

    def _grow_into_sheen(self, src: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """:meth:`extend_mask`'s sheen growth of a non-empty ``mask`` on a colour frame."""
        p = self.params
        image8 = _as_8bit(src[:, :, :3])
        model = fit_diffuse_model(image8, p["clusters"], min_chroma=p["min_chroma"],
                                  clip=p["clip_level"], gamma=p["gamma"])  # inpaint_rois' fit
        return grow_into_sheen(image8, mask, model, level=max(p["min_specular"], 1.0),
                               reach_px=p["sheen_px"],
                               min_saturation=max(p["sheen_min_saturation"], p["min_saturation"]),
                               min_chroma=p["min_chroma"], clip=p["clip_level"],
                               gamma=p["gamma"])

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = image.copy()
        self.inpaint_rois(image, mask, [(0, 0, image.shape[1], image.shape[0])], out)
        return out

    def _specular(self, image8: np.ndarray, mask: np.ndarray,
                  crops: list[tuple[np.ndarray, np.ndarray]], boxes: list[Box],
                  model: DiffuseModel,
                  context: np.ndarray | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per box, the float32 specular part (8-bit levels) of its masked pixels, 0 elsewhere,
        past the noise floor (:meth:`_noise_floor`; ``mask``: the frame's), and its bound: each
        pixel's own estimate before the floor, +inf where colour gives none (:meth:`_smooth`
        caps the smoothed part by it where that would empty a channel). ``S_d`` is capped per
        highlight by the surface around it (:meth:`_saturation_cap`).

        One vectorised pass over the masked pixels of every box (per box, the fixed cost of the
        numpy calls dominated on frames with many highlights); the pixels are found box by box
        (``crops``: each box's image and mask crops), not over the boxes' common extent, which
        is most of the frame when highlights are spread out.
        """
        p = self.params
        specs = [np.zeros(m.shape, np.float32) for _, m in crops]
        bounds = [np.full(m.shape, np.inf, np.float32) for _, m in crops]
        found = [cv2.findNonZero(m) for _, m in crops]
        pts = [(f.reshape(-1, 2), b) for f, b in zip(found, boxes) if f is not None]
        if not pts:
            return specs, bounds
        xs = np.concatenate([f[:, 0] + b[0] for f, b in pts])
        ys = np.concatenate([f[:, 1] + b[1] for f, b in pts])
        px = image8[ys, xs].astype(np.float32)
        ring = None
        if p["floor_quantile"] > 0 or p["ring_saturation_margin"] > 0:
            ring = self._ring(image8, mask, boxes)
        cap = None if context is None else lookup_context(context, ys, xs)
        if ring is not None and p["ring_saturation_margin"] > 0:
            near = self._saturation_cap(ring)[ring.group_of(ys, xs)]
            cap = near if cap is None else np.minimum(cap, near)
        if p["tail_saturation_cap"]:
            tail = self._tail_cap(image8, crops, boxes, found)
            cap = tail if cap is None else np.minimum(cap, tail)
        own = specular_part(model, px, cap, p["min_saturation"], p["min_chroma"], p["gamma"],
                            undefined=np.inf)
        s = np.where(np.isinf(own), np.float32(0.0), own)
        if p["floor_quantile"] > 0 and ring is not None:
            s = self._noise_floor(ring, s, ys, xs, model, context)
        start = 0
        for spec, bound, f, (x0, y0, _, _) in zip(specs, bounds, found, boxes):
            if f is not None:
                end = start + len(f)
                at = (ys[start:end] - y0, xs[start:end] - x0)
                spec[at], bound[at] = s[start:end], own[start:end]
                start = end
        return specs, bounds

    def _ring(self, image8: np.ndarray, mask: np.ndarray, boxes: list[Box]) -> _Ring | None:
        """The surface about 12 to 16 px out of ``mask`` (the frame's, all of it inside
        ``boxes``), clipped pixels left out, grouped per highlight (:func:`..masks.grouped_ring`);
        None where there is none. Sampled once per frame on a grid of ``_FLOOR_CELL``-px cells
        (one sample each) aligned with the frame, so it does not depend on how the mask is split
        into ROI boxes; only the boxes' extent plus the ring's reach is looked at."""
        f = _FLOOR_CELL
        # The boxes' extent, grown by the ring's reach plus a cell, on the cell grid: the mask is
        # empty beyond it, so the cells, rings and groups are those of the whole frame.
        reach = f * (_FLOOR_FAR.shape[0] // 2 + 1)
        h, w = mask.shape
        x0 = max(min(b[0] for b in boxes) - reach, 0) // f * f
        y0 = max(min(b[1] for b in boxes) - reach, 0) // f * f
        x1 = min(max(b[2] for b in boxes) + reach, w)
        y1 = min(max(b[3] for b in boxes) + reach, h)
        # Any-pooling (a cell is set if any of its pixels is): an f x f dilation anchored at the
        # cell's top-left pixel, read every f px (3x faster than area averaging here).
        cells = np.ascontiguousarray(
            cv2.dilate(mask[y0:y1, x0:x1], _FLOOR_POOL, anchor=(0, 0))[::f, ::f])
        n, groups, ring = grouped_ring(cells, _FLOOR_FAR, _FLOOR_NEAR)
        pts = cv2.findNonZero(ring)
        if pts is None:
            return None
        pts = pts.reshape(-1, 2)
        rx, ry = pts[:, 0] * f + x0, pts[:, 1] * f + y0  # (one sample per cell: its corner)
        px = image8[ry, rx].astype(np.float32)
        p = self.params
        peak = np.maximum(np.maximum(px[:, 0], px[:, 1]), px[:, 2])
        unclipped = peak < p["clip_level"]  # (a clipped pixel says nothing)
        if not unclipped.any():  # (a ring all clipped: nothing to read)
            return None
        px = px[unclipped]
        hue, sat, usable = hue_saturation(px.astype(np.uint8)[:, None], p["clip_level"],
                                          p["min_chroma"])
        return _Ring(n, groups, (x0, y0), ry[unclipped], rx[unclipped], px,
                     groups[pts[unclipped, 1], pts[unclipped, 0]], hue[:, 0], sat[:, 0],
                     usable[:, 0] > 0)

    def _saturation_cap(self, ring: _Ring) -> np.ndarray:
        """Per group of ``ring``, ``ring_saturation_margin`` times the median HSV saturation
        (encoded, 0..1) of its exposed, coloured samples (+inf where it has too few): the
        highest diffuse saturation a highlight there is separated with.

        The frame's materials are clustered by the spread of their pseudo specular-free
        chromaticity (min and max), not its hue (:func:`..dichromatic.fit_diffuse_model`): a
        yellow-green and a more saturated green can share a cluster, and a highlight on the paler
        one then loses twice its specular part (on a rendered glossy object: 81 levels taken
        where 46 were added, a dark blotch). The surface right around the highlight shows the
        material's own saturation; its faint tail there makes it read a little low, hence the
        margin (the cap bites only where the cluster claims clearly more)."""
        ids = ring.ids[ring.usable]
        median = label_quantile(ring.sat[ring.usable], ids, ring.n, 0.5) / 255.0
        enough = np.bincount(ids, minlength=ring.n) >= _FLOOR_MIN_SAMPLES
        cap = np.minimum(median * self.params["ring_saturation_margin"], 1.0)  # (a saturation)
        return np.where(enough, cap, np.inf).astype(np.float32)

    def _tail_cap(self, image8: np.ndarray, crops: list[tuple[np.ndarray, np.ndarray]],
                  boxes: list[Box], found: list[np.ndarray | None]) -> np.ndarray:
        """Per masked pixel (in :meth:`_specular`'s order: box by box, ``found`` = each box's
        masked pixels), :func:`most_saturated` among
        the pixels of its mask component and ``_TAIL_REACH_PX`` around it (in its box: ``boxes``,
        ``crops``; ``image8``: the frame).

        White light lowers a pixel's saturation and keeps its hue, so no pixel of a material
        shows more than its diffuse saturation, and the faint tail of a highlight, which the mask
        (and its fringe) reaches and a few px beyond it continue, shows about that much. A
        cluster's ``S_d`` above what any pixel of the highlight's own material shows is not
        supported by the frame (a paler material that shares a cluster with a more saturated
        one; where two overlap, the hue tells them apart). Where no such tail is in reach the
        cap is low and the highlight is left a little bright: the safe side."""
        p = self.params
        bins = _TAIL_HUE_BINS
        keys, sats, query, count = [], [], [], 0
        for (x0, y0, x1, y1), (_, m), f in zip(boxes, crops, found):
            if f is None:
                continue
            near = cv2.dilate(m, _TAIL_REACH)
            n, labels = cv2.connectedComponents(near, connectivity=8, ltype=cv2.CV_32S)
            hue, sat, usable = hue_saturation(image8[y0:y1, x0:x1], p["clip_level"],
                                              p["min_chroma"])
            pts = cv2.findNonZero(cv2.bitwise_and(usable, near))
            if pts is not None:
                pts = pts.reshape(-1, 2)
                xs, ys = pts[:, 0], pts[:, 1]
                keys.append((labels[ys, xs] + count) * bins + hue[ys, xs])
                sats.append(sat[ys, xs])
            f = f.reshape(-1, 2)
            query.append((labels[f[:, 1], f[:, 0]] + count) * bins + hue[f[:, 1], f[:, 0]])
            count += n
        query = np.concatenate(query)
        if not keys:
            return np.full(len(query), np.inf, np.float32)
        return most_saturated(np.concatenate(keys), np.concatenate(sats), count, query)

    def _noise_floor(self, ring: _Ring, s: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                     model: DiffuseModel, context: np.ndarray | None) -> np.ndarray:
        """``s`` (the specular part of the masked pixels ``ys``, ``xs``) through
        :func:`soft_floor` at each highlight's noise floor, read on ``ring`` (:meth:`_ring`)
        with the material's ``S_d`` capped by ``context`` and, with ``tail_saturation_cap``, by
        :func:`most_saturated` among the ring's own samples of each group (as the highlights
        are: a floor read with a cluster's too-high ``S_d`` would undo that cap), not by
        :meth:`_saturation_cap` (its margin would then go unchecked).

        The estimate is biased on plain surface: a pixel of a material that is less saturated
        than the material's median (texture, sensor noise, a paler patch) reads as having a
        specular part. How much it reads on the surface right around a highlight (about 12 to
        16 px out of the mask, clipped pixels left out; its ``floor_quantile`` quantile) is what
        the estimate cannot tell from texture there, so estimates below that are left alone.
        Highlights whose rings touch share a floor (:func:`..masks.grouped_ring`)."""
        p = self.params
        cap = None if context is None else lookup_context(context, ring.ys, ring.xs)
        if p["tail_saturation_cap"]:  # (the ring's own evidence, as the highlights' tail cap)
            keys = ring.ids * _TAIL_HUE_BINS + ring.hue
            own = most_saturated(keys[ring.usable], ring.sat[ring.usable], ring.n, keys)
            cap = own if cap is None else np.minimum(cap, own)
        reading = specular_part(model, ring.pixels, cap, p["min_saturation"], p["min_chroma"],
                                p["gamma"])
        floor = label_quantile(reading, ring.ids, ring.n, p["floor_quantile"])
        floor[np.bincount(ring.ids, minlength=ring.n) < _FLOOR_MIN_SAMPLES] = 0.0
        floor = np.nan_to_num(floor, nan=0.0).astype(np.float32)
        low = np.flatnonzero((s > 0) & (s < 2.0 * floor.max()))  # (only those can change)
        if not len(low):
            return s
        s = s.copy()
        s[low] = soft_floor(s[low], floor[ring.group_of(ys[low], xs[low])])
        return s

    def _enclosed_by_highlight(self, clipped: np.ndarray, s: np.ndarray, crop: np.ndarray,
                               mask: np.ndarray, glint_px: float) -> np.ndarray:
        """The clipped components (uint8 0/255) that are the core of a highlight on a coloured
        surface: their surrounding ring is mostly separable highlight (``s >= min_specular`` on
        at least ``clip_ring_min`` of it), or they are glints: small (at most ``glint_px``) spots
        (:func:`..masks.spot_like`; the glints of wet tissue, whose rim is a pixel or two) on a
        lit ring (:data:`..dichromatic.GLINT_SURFACE_LIT`) at least ``min_saturation``
        saturated, in a mask component (``mask``) of their own
        at most four times that size. A clipped lamp, sign or window with dark or
        achromatic surroundings, or white letters (strokes), are left as they are: nothing says
        they are glare."""
        p = self.params
        n, labels = cv2.connectedComponents(clipped, connectivity=8)
        if n <= 1:
            return clipped
        k = 2 * (p["clip_grow_px"] + 2) + 1
        # Everything below runs on the clipped pixels' box plus the ring's reach (labels are 0
        # outside it): a merged ROI is mostly other pixels.
        bx, by, bw, bh = cv2.boundingRect(clipped)
        h, w = clipped.shape
        box = (slice(max(by - k // 2, 0), min(by + bh + k // 2, h)),
               slice(max(bx - k // 2, 0), min(bx + bw + k // 2, w)))
        labels, clipped, s, crop = labels[box], clipped[box], s[box], crop[box]
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        grown = cv2.dilate(labels.astype(np.float32), disk)
        ring = (clipped == 0) & (grown > 0)
        ids = grown[ring].astype(np.int64)
        total = np.bincount(ids, minlength=n)
        separable = (s[ring] >= max(p["min_specular"], 1.0)).astype(np.float64)
        spec = np.bincount(ids, weights=separable, minlength=n)
        keep = spec >= p["clip_ring_min"] * np.maximum(total, 1)
        if not keep[1:].all():  # glints: a spot on a coloured ring
            px = crop[ring].astype(np.float32)
            hi = np.maximum(np.maximum(px[:, 0], px[:, 1]), px[:, 2])
            lo = np.minimum(np.minimum(px[:, 0], px[:, 1]), px[:, 2])
            sat = np.bincount(ids, (hi - lo) / np.maximum(hi, 1.0), minlength=n)
            lit = np.bincount(ids, hi, minlength=n) >= GLINT_SURFACE_LIT * np.maximum(total, 1)
            # Small, and alone in its own small mask component (a glint the detector reported
            # on its own, not a fragment of white print inside a larger glare region).
            # (plain labelling and bincount: OpenCV 5's labelling with statistics costs ~5x)
            _, blobs = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
            on = labels > 0
            blob = np.zeros(n, np.intp)
            blob[labels[on]] = blobs[box][on]
            small = ((np.bincount(labels.ravel(), minlength=n) <= glint_px)
                     & (np.bincount(blobs.ravel())[blob] <= _GLINT_FILL_MASK * glint_px))
            keep |= ((sat >= p["min_saturation"] * np.maximum(total, 1)) & lit & small
                     & spot_like(labels, n))
        out = np.zeros((h, w), np.uint8)
        out[box] = select_labels(labels, keep)
        return out

    def _subtract_linear(self, crop: np.ndarray,
                         s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``gamma != 1``: the crop with the smoothed linear-light specular part ``s`` (float32, 0
        outside the mask) subtracted in linear light, and the specular part that removed in
        encoded 8-bit levels (peak before minus after; pixels that change by less than
        ``min_specular`` are kept). Only the pixels with ``s > 0`` are converted."""
        p = self.params
        unit = 257.0 if crop.dtype == np.uint16 else 1.0
        result = crop.copy()
        removed = np.zeros(s.shape, np.float32)
        ys, xs = np.nonzero(s)
        if not len(ys):
            return result, removed
        levels = crop[ys, xs].astype(np.float32) * np.float32(1.0 / unit)
        light = to_linear(levels, p["gamma"])
        light -= s[ys, xs][:, None]
        separated = from_linear(light, p["gamma"])
        drop = levels.max(axis=1) - separated.max(axis=1)
        drop[drop < p["min_specular"]] = 0.0
        keep = drop == 0
        separated[keep] = levels[keep]
        separated *= np.float32(unit)
        separated += 0.5
        result[ys, xs] = separated.astype(crop.dtype)
        removed[ys, xs] = drop
        return result, removed

    def _fringe(self, s: np.ndarray, peak: np.ndarray, mask: np.ndarray,
                core: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``s`` (float32 specular part of one crop, 0 outside ``mask``) with the brightness test
        (:func:`plausible_specular`) on the detected ``core`` (uint8 0/255, a subset of ``mask``)
        alone, and the part in the fringe (``mask`` outside ``core``) capped: at most
        ``_FRINGE_RISE`` times that along the nearby edge of ``core`` (as it came out of the
        test: where a highlight is not separated, nor is its tail) and ``_FRINGE_MAX``, fading
        linearly from the edge of ``core`` to 0 at the edge of ``mask``. A tail fades away from
        its highlight; a paler patch of the surface (texture, another material) reads as a
        specular part that does not, so only its first few px are touched, and little.
        ``peak``: ``max(B, G, R)``, 8-bit levels. Also returns the test's washed-out pixels of
        ``core`` (or None)."""
        p = self.params
        ratio, gamma = p["min_brightness_ratio"], p["gamma"]
        detected = cv2.bitwise_and(s, s, mask=core)  # (0 in the fringe)
        washed = None
        if ratio > 0:
            detected, washed = plausible_specular(detected, peak, core, ratio, gamma)
        # Only the fringe's pixels with a specular part can change.
        found = cv2.findNonZero(cv2.bitwise_and(cv2.compare(s, 0.0, cv2.CMP_GT),
                                                cv2.bitwise_not(core)))
        if found is None or not core.any():
            return detected, washed
        found = found.reshape(-1, 2)
        ys, xs = found[:, 1], found[:, 0]
        # The cap's base: the detected part along the core's edge spread outward (a normalized
        # convolution; the nearest edge pixel's value would leave seams between highlights), on
        # a grid of _FRINGE_COARSE px (smooth by construction; bilinear back) ...
        h, w = core.shape
        small = (max(w // _FRINGE_COARSE, 1), max(h // _FRINGE_COARSE, 1))
        edge = cv2.subtract(core, cv2.erode(core, _RING3)).astype(np.float32)
        sigma = p["fringe_px"] / 3.0 / _FRINGE_COARSE
        num, den = (cv2.GaussianBlur(cv2.resize(a, small, interpolation=cv2.INTER_AREA), (0, 0),
                                     sigma) for a in (detected * edge, edge))
        base = cv2.resize(num / np.maximum(den, np.float32(1e-6)), (w, h),
                          interpolation=cv2.INTER_LINEAR)[ys, xs]
        cap = np.minimum(_FRINGE_RISE * base, np.float32(_FRINGE_MAX))
        live = cap >= (p["min_specular"] if gamma == 1.0 else np.float32(1e-3))
        if not live.any():  # (the rest would come out under min_specular: left at 0)
            return detected, washed
        ys, xs, cap = ys[live], xs[live], cap[live]
        # ... times a fade from 1 at the core's edge to 0 at the fringe's (each highlight's reach
        # differs), at full resolution: no step at the fringe's edge.
        inward = cv2.distanceTransform(cv2.bitwise_not(core), cv2.DIST_L2, 3)[ys, xs]
        outward = cv2.distanceTransform(mask, cv2.DIST_L2, 3)[ys, xs]
        cap *= outward / (inward + outward)
        part = np.minimum(s[ys, xs], cap)
        if gamma == 1.0:
            part[part < p["min_specular"]] = 0.0
        detected[ys, xs] = part  # (the test's result is a copy, or a fresh array)
        return detected, washed

    def _smooth(self, low: np.ndarray, spec: np.ndarray, bound: np.ndarray) -> np.ndarray:
        """The specular part ``spec`` of one crop (float32, in the light it is subtracted in),
        Gaussian-smoothed by ``smooth_sigma``, and capped at the pixel's own estimate ``bound``
        (+inf where colour gives none) where the smoothed part would take ``_EMPTYING`` or more
        of the pixel's weakest channel (``low``: the crop's ``min(B, G, R)``).

        Smoothing spreads the large estimates of a glint's near-white rim onto the pixels beside
        it, whose little chroma is off-hue JPEG smear: subtracted, that emptied a channel (in
        linear light most of all) and left dark, over-saturated dots where the glints were. Print
        under a sheen keeps the smoothed part: its own estimate is low, but it loses only a little
        of its weakest channel."""
        p = self.params
        s = cv2.GaussianBlur(spec, (0, 0), p["smooth_sigma"])
        wide = low.dtype == np.uint16
        low = low.astype(np.float32)
        if wide:
            low *= np.float32(1.0 / 257.0)
        emptying = s >= _EMPTYING * to_linear(low, p["gamma"])
        return np.where(emptying, cv2.min(s, bound), s)

    def _separate(self, crop: np.ndarray, mask: np.ndarray,
                  spec: tuple[np.ndarray, np.ndarray] | None, glint_px: float, core: np.ndarray,
                  halo: float) -> np.ndarray:
        """Separated (and clipped-filled) copy of one crop; ``spec``: the crop's specular part and
        its bound from :meth:`_specular` (None for mono); only ``mask > 0`` pixels are used;
        ``core``: the detected part of
        ``mask`` (``mask`` itself without a fringe), where clipped pixels may be filled;
        ``glint_px``: the largest glint (px); ``halo``: the frame's
        :func:`..dichromatic.halo_unit`."""
        p = self.params
        wide = crop.dtype == np.uint16
        unit = 257 if wide else 1  # parameters are 8-bit levels
        s = washed = None
        if spec is not None:
            spec, bound = spec
            low = functools.reduce(cv2.min, cv2.split(crop))
            if p["smooth_sigma"] > 0:
                s = self._smooth(low, spec, bound)
            else:
                s = spec.copy()
            peak = np.maximum(np.maximum(crop[:, :, 0], crop[:, :, 1]), crop[:, :, 2])
        if s is not None:
            linear = p["gamma"] != 1.0  # (there _subtract_linear drops small changes)
            s[(mask == 0) if linear else ((mask == 0) | (s < p["min_specular"]))] = 0.0
            peak8 = peak // unit if wide else peak
            if core is not mask:
                s, washed = self._fringe(s, peak8, mask, core)
            elif p["min_brightness_ratio"] > 0:
                s, washed = plausible_specular(s, peak8, mask, p["min_brightness_ratio"],
                                               p["gamma"])
        if s is not None and linear:
            result, s = self._subtract_linear(crop, s)
        elif s is not None:
            # Only the pixels with a specular part change (a merged box is mostly other pixels):
            # float32 arithmetic on those, rounded (+0.5, then truncated) and clipped.
            result = crop.copy()
            ys, xs = np.nonzero(s)
            if len(ys):
                drop = s[ys, xs]
                if wide:
                    drop *= np.float32(unit)
                px = crop[ys, xs].astype(np.float32)
                px -= drop[:, None]
                px += 0.5
                np.clip(px, 0, 65535.0 if wide else 255.0, out=px)
                result[ys, xs] = px.astype(crop.dtype)
        else:
            result = crop.copy()
            peak = crop
        saturated = compare(peak, p["clip_level"] * unit, cv2.CMP_GE)
        unlit = compare(peak, UNLIT * unit, cv2.CMP_LT)  # (no surface: never filled, nor from)
        if washed is not None:  # (nothing of the surface left in them either)
            saturated = cv2.bitwise_or(saturated, washed)
        clipped = cv2.bitwise_and(saturated, core)
        if clipped.any():  # a white face with print that a glare core merged with stays
            printed = enclosing_print(saturated, peak, _PRINT_LEVEL * p["clip_level"] * unit,
                                      clipped)
            if printed is not None:
                clipped = cv2.bitwise_and(clipped, cv2.bitwise_not(printed))
        if clipped.any() and s is not None:  # (the fringe's pixels are no highlight evidence)
            clipped = self._enclosed_by_highlight(
                clipped, s if core is mask else np.where(core > 0, s, np.float32(0.0)), crop,
                core, glint_px)
        pale = None
        if s is not None and p["pale_cores"]:  # (read on the separated crop)
            pale = self._pale_cores(peak // unit if wide else peak, result, bound, core,
                                    saturated)
        if clipped.any():
            if p["clip_grow_px"] > 0:
                k = 2 * p["clip_grow_px"] + 1
                clipped = cv2.bitwise_and(
                    cv2.dilate(clipped, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))),
                    core)
            _fill_near(result, clipped, unlit)
        if s is not None:  # (mono: nothing was separated)
            self._refill_glints(crop, peak, low, core, result, glint_px, halo, unlit)
        if pale is not None:  # (after the glints: a failed glint is filled whole, rim too)
            _fill_near(result, pale, unlit)
        return result

    def _pale_cores(self, peak: np.ndarray, result: np.ndarray, bound: np.ndarray,
                    core: np.ndarray, saturated: np.ndarray) -> np.ndarray | None:
        """The unclipped pale cores of separated highlights (uint8 0/255, or None).

        A core is a component of ``core`` (the detected mask) pixels that colour gives no
        estimate for (``bound`` +inf: too pale for any material) and that are not ``saturated``
        (clipped or washed out: the clipped test's), at the top of a lobe that was separated:

        * at least ``clip_ring_min`` of its ring 1-2 px out (inside ``core``) lost
          ``min_specular`` or more (``result``: the separated crop);
        * it is at least as bright as that ring before separation (means; ``peak``: the crop's
          ``max(B, G, R)``, 8-bit levels);
        * the ring lost, on average, at least ``_CORE_RISE`` times what the core stands above the
          separated ring.

        Of such a core, the pixels at least ``_PRINT_LEVEL`` times its mean brightness are
        returned; one with ink on it (:func:`enclosing_print`, holes darker than ``_PALE_INK``
        times it) is not.

        The top of a bright lobe comes out of many cameras near white (tone roll-off, blooming, a
        light whiter than the model's): no chroma, no estimate, and left as it was it is a sharp
        white stroke in a separated, smooth surface. White print under a faint sheen is pale too,
        but the sheen around it lost little next to how far the print stands above the surface;
        grey or dark print is not as bright as its surroundings."""
        p = self.params
        pale = np.isinf(bound) & (core > 0) & (saturated == 0)
        if not pale.any():
            return None
        pale = pale.astype(np.uint8) * 255
        n, labels = cv2.connectedComponents(pale, connectivity=8, ltype=cv2.CV_32S)
        x, y, w, h = cv2.boundingRect(pale)
        r = _CORE_RING.shape[0] // 2
        box = (slice(max(y - r, 0), y + h + r), slice(max(x - r, 0), x + w + r))
        labels = labels[box]
        grown = cv2.dilate(labels.astype(np.float32), _CORE_RING)
        ring = (labels == 0) & (grown > 0) & (core[box] > 0)
        ids = grown[ring].astype(np.int64)
        if not len(ids):
            return None
        before = peak[box][ring].astype(np.float32)
        sep = result[box]
        after = np.maximum(np.maximum(sep[..., 0], sep[..., 1]), sep[..., 2])[ring]
        after = after.astype(np.float32) * np.float32(1.0 / 257.0 if sep.dtype == np.uint16
                                                      else 1.0)
        drop = before - after
        # (means, not medians: bincounts, where a sort per box cost more than the rest)
        total = np.maximum(np.bincount(ids, minlength=n), 1)
        separated = np.bincount(ids, drop >= max(p["min_specular"], 1.0), minlength=n)
        lost, surface, lit = (np.bincount(ids, v, minlength=n) / total
                              for v in (drop, after, before))
        inside = labels > 0
        lab = labels[inside]
        height = (np.bincount(lab, peak[box][inside], minlength=n)
                  / np.maximum(np.bincount(lab, minlength=n), 1))
        keep = ((separated >= p["clip_ring_min"] * total) & (height >= lit)
                & (lost >= _CORE_RISE * (height - surface)))
        keep[0] = False
        if not keep.any():
            return None
        # Of those, the pixels not clearly darker than their region (grey print or a shadow in
        # a white face is no lobe's top) ...
        bar = _PRINT_LEVEL * height
        top = keep[labels] & (peak[box] >= bar[labels])
        if not top.any():
            return None
        out = np.zeros(core.shape, np.uint8)
        out[box][top] = 255
        # ... and a white face with print on it (holes of ink: below half its brightness) is
        # content, as for clipped cores.
        printed = enclosing_print(out, peak, float(_PALE_INK * height[keep].max()))
        if printed is not None:
            out = cv2.bitwise_and(out, cv2.bitwise_not(printed))
            if not out.any():
                return None
        return out

    def _refill_glints(self, crop: np.ndarray, peak: np.ndarray, low: np.ndarray,
                       core: np.ndarray, result: np.ndarray, glint_px: float, halo: float,
                       unlit: np.ndarray) -> None:
        """Fill, in ``result`` (the separated crop, in place), the glints whose separation
        failed: each whole component of ``core`` (the detected mask) that holds near-white
        spots only (:func:`..dichromatic.near_white`, each at most ``glint_px`` px and a spot,
        not a stroke: :func:`..masks.spot_like`), covers at most ``_REFILL_MASK`` times
        ``glint_px``, lies on a lit ring at least ``min_saturation`` saturated (as a clipped
        glint's, :meth:`_enclosed_by_highlight`), and came out of the separation with at least
        ``_REFILL_SHARE`` of its pixels darker than ``min_brightness_ratio`` times that ring's
        median ``max(B, G, R)`` or with less than ``_REFILL_PALE`` times its median chroma.

        A glint of JPEG video (endoscopy) is a near-white spot with a rim of a pixel or two
        whose chroma is JPEG smear, blooming and gamma compression, not the surface's: it
        separates into a grey dot in a dark ring. A highlight that separates well (the
        dichromatic lobes of lab photos) leaves no such pixels and keeps its texture. ``peak``:
        the crop's ``max(B, G, R)``, ``low``: its ``min(B, G, R)``; ``unlit``: its unlit pixels
        (uint8 0/255: neither filled nor filled from, :func:`_fill_lit`)."""
        p = self.params
        if crop.dtype == np.uint16:
            peak, low = _as_8bit(peak), _as_8bit(low)
        white = cv2.bitwise_and(near_white(peak, low), core)
        x, y, w, h = cv2.boundingRect(white)
        if w == 0:
            return
        n, comps = cv2.connectedComponents(core, connectivity=8, ltype=cv2.CV_32S)
        # The near-white spots, on their own box with a px of margin (the spot test measures
        # depth to the nearest pixel outside a spot).
        x, y = max(x - 1, 0), max(y - 1, 0)
        white = white[y:y + h + 2, x:x + w + 2]
        m, spots = cv2.connectedComponents(white, connectivity=8, ltype=cv2.CV_32S)
        found = cv2.findNonZero(white).reshape(-1, 2)
        ws, wc = spots[found[:, 1], found[:, 0]], comps[found[:, 1] + y, found[:, 0] + x]
        pixels = (found[:, 1], found[:, 0], ws)
        size = np.bincount(ws, minlength=m)
        fit = spot_like(spots, m, pixels=pixels) & (size <= glint_px)
        # A larger or irregular near-white core that a halo rings (a highlight's lobe).
        judged = ~fit & (size <= _REFILL_HALO * glint_px)
        judged[0] = False
        ringed = np.zeros(m, bool)
        if judged.any():  # (on the whole crop: the halo's rings reach beyond the box)
            placed = np.zeros(core.shape, np.int32)
            placed[y:y + spots.shape[0], x:x + spots.shape[1]] = spots
            ringed = haloed(placed, judged, peak, low, near_white(peak, low),
                            (found[:, 1] + y, found[:, 0] + x, ws), halo)[0]
            fit |= ringed
        # (the components' areas from their pixels: a bincount of the whole label image costs
        # several times more on a sparse mask)
        pts = cv2.findNonZero(core).reshape(-1, 2)
        lab = comps[pts[:, 1], pts[:, 0]]
        area = np.bincount(lab, minlength=n)
        # (white specks around a halo's core that are neither spot nor haloed: a tenth at most)
        whites = np.bincount(wc, minlength=n)
        cand = ((whites > 0) & (np.bincount(wc, ~fit[ws], minlength=n) <= _REFILL_SPECKS * whites)
                & (area <= _REFILL_MASK * glint_px))
        cand[0] = False
        # A haloed core's surface lies beyond its halo (further out around a wider core).
        lobe = np.bincount(wc, ringed[ws], minlength=n) > 0
        if not cand.any():
            return
        reach = np.ones(n)
        if lobe.any():
            np.maximum.at(reach, wc[ringed[ws]], halo_reach(size[ws[ringed[ws]]], halo))
        # Each candidate on its own box plus the fill's margin (beyond the ring's reach).
        keep = cand[lab]
        order = np.argsort(lab[keep], kind="stable")
        lab, gx, gy = lab[keep][order], pts[keep, 0][order], pts[keep, 1][order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        r = max(_FILL_MARGIN, int(HALO_OUT[1] * halo * reach[cand].max()) + 1 if lobe.any() else 0)
        x0, x1 = np.minimum.reduceat(gx, starts) - r, np.maximum.reduceat(gx, starts) + r + 1
        y0, y1 = np.minimum.reduceat(gy, starts) - r, np.maximum.reduceat(gy, starts) + r + 1
        wide = crop.dtype == np.uint16
        for i, a, b, c, d in zip(lab[starts], np.maximum(x0, 0), x1, np.maximum(y0, 0), y1):
            near = (slice(c, d), slice(a, b))
            labels = comps[near]
            own = np.where(labels == i, np.uint8(255), np.uint8(0))
            # The ring around it (outside ``core``): the surface the glint lies on, lit and
            # coloured ...
            if lobe[i]:
                d = cv2.distanceTransform(cv2.bitwise_not(own), cv2.DIST_L2, 3)
                ring = ((d > HALO_OUT[0] * halo * reach[i]) & (d <= HALO_OUT[1] * halo * reach[i])
                        & (near_white(peak[near], low[near]) == 0))
            else:
                ring = cv2.bitwise_and(cv2.dilate(own, _REFILL_RING),
                                       np.where(labels == 0, np.uint8(255), np.uint8(0))) > 0
            hi, lo = peak[near][ring].astype(np.float32), low[near][ring].astype(np.float32)
            if (not len(hi) or hi.mean() < GLINT_SURFACE_LIT
                    or ((hi - lo) / np.maximum(hi, 1.0)).mean() < p["min_saturation"]):
                continue
            # ... and what the separation left of the glint: dark or colourless pixels.
            out = result[near][own > 0].astype(np.float32)
            if wide:
                out *= np.float32(1.0 / 257.0)
            c0, c1, c2 = out[:, 0], out[:, 1], out[:, 2]
            top = np.maximum(np.maximum(c0, c1), c2)
            failed = ((top < p["min_brightness_ratio"] * np.median(hi))
                      | (top - np.minimum(np.minimum(c0, c1), c2) < _REFILL_PALE
                         * np.median(hi - lo)))
            if np.count_nonzero(failed) >= _REFILL_SHARE * len(out):
                _fill_lit(result[near], own, unlit[near])
