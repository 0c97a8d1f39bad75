"""Mask operations between detection and inpainting: drop specks, fill holes, dilate, coverage
guard.

Masks are ``HxW`` uint8, 255 = glare. Order of operations in :meth:`MaskRefiner.refine`:
remove components smaller than ``min_area`` -> fill holes smaller than ``fill_holes_area`` ->
dilate -> measure coverage against ``max_coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from .params import ParamSpec, Schema
from .validation import check_mask


_CMP_OPS = {cv2.CMP_GT: np.greater, cv2.CMP_GE: np.greater_equal, cv2.CMP_LT: np.less,
            cv2.CMP_LE: np.less_equal, cv2.CMP_EQ: np.equal, cv2.CMP_NE: np.not_equal}


def compare(a: np.ndarray, value: float, op: int) -> np.ndarray:
    """``cv2.compare(a, value, op)`` (uint8 0/255 of ``a``'s size), also for a 1x1 or 4x1 ``a``,
    which OpenCV takes for a scalar: it returns 4x1, and for 4x1 compares the elements with
    ``(value, 0, 0, 0)`` (a one-pixel frame, a box within one flow block)."""
    if a.shape[:2] in ((1, 1), (4, 1)):
        return np.where(_CMP_OPS[op](a.reshape(a.shape[:2]), value), np.uint8(255),
                        np.uint8(0))
    return cv2.compare(a, value, op)


def select_labels(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """uint8 0/255 mask of the pixels of a label image (``cv2.connectedComponents``) whose label
    ``l`` has ``keep[l]`` true; label 0 (the background) is never selected.

    ``keep``: one truth value per label (``len(keep)`` = the number of labels).
    """
    n = len(keep)
    lut = np.zeros(max(n, 256), np.uint8)
    lut[:n] = np.where(np.asarray(keep, bool), 255, 0)
    lut[0] = 0
    if n <= 256:  # the usual case: an 8-bit lookup table (cv2.LUT), not numpy fancy indexing
        return cv2.LUT(labels.astype(np.uint8), lut[:256])
    return lut[labels]


def grouped_ring(mask: np.ndarray, reach: np.ndarray,
                 gap: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """The components of ``mask`` (uint8, non-zero = set) grouped with their neighbours, and the
    ring around each group: ``(n, groups, ring)``. ``groups``: int32 labels (``n`` of them, 0 =
    none) of ``mask`` dilated by the structuring element ``reach`` (components closer than its
    reach share a label; every pixel of a component and of its ring carries its group's label);
    ``ring``: uint8 0/255, the dilated area minus ``mask`` dilated by ``gap`` (the components'
    own rim left out)."""
    around = cv2.dilate(mask, reach)
    n, groups = cv2.connectedComponents(around, connectivity=8, ltype=cv2.CV_32S)
    # (cv2.threshold, not cv2.compare: OpenCV takes a 1xN / Nx1 array for a scalar)
    rim = cv2.threshold(cv2.dilate(mask, gap), 0, 255, cv2.THRESH_BINARY_INV)[1]
    ring = cv2.bitwise_and(around, rim)
    return n, groups, ring


def _ordered_bits(values: np.ndarray) -> np.ndarray:
    """int64 0..2**32-1 keys of float32 ``values`` that sort as the values do (IEEE 754: the
    bits of a non-negative float grow with it; a negative one's magnitude bits are flipped)."""
    bits = values.view(np.int32).astype(np.int64)
    return (bits ^ ((bits >> 31) & 0x7FFFFFFF)) + 2 ** 31


def _from_ordered_bits(keys: np.ndarray) -> np.ndarray:
    """float32 values of :func:`_ordered_bits` keys (its inverse)."""
    bits = keys - 2 ** 31
    return (bits ^ ((bits >> 31) & 0x7FFFFFFF)).astype(np.int32).view(np.float32)


def label_quantile(values: np.ndarray, labels: np.ndarray, n: int, q: float) -> np.ndarray:
    """Per label ``0..n-1``: the ``q`` quantile (0..1, the lower sample) of ``values`` over the
    samples with that label (1-D arrays of the same length); NaN for a label with no sample."""
    counts = np.bincount(labels, minlength=n)
    if values.dtype == np.uint8:  # one integer sort of label * 256 + value (~7x a lexsort)
        ordered = np.sort(labels.astype(np.int64) * 256 + values) & 255
    elif values.dtype == np.float32:  # one integer sort of (label, the value's ordered bits)
        ordered = _from_ordered_bits(
            np.sort((labels.astype(np.int64) << 32) | _ordered_bits(values)) & 0xFFFFFFFF)
    else:
        ordered = values[np.lexsort((values, labels))]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full(n, np.nan)
    has = counts > 0
    out[has] = ordered[starts[has] + np.floor(q * (counts[has] - 1)).astype(np.intp)]
    return out


def spot_like(labels: np.ndarray, n: int, ratio: float = 3.0,
              pixels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per label of a label image (``cv2.connectedComponents``, ``n`` labels): whether that
    component is a spot, not a stroke: its area is at most ``ratio * pi * r**2``, ``r`` its
    largest inscribed radius (px; the deepest pixel's distance to the outside). A glint is a
    spot; a letter, a lane line or a crack is a stroke. Label 0 (the background) is False.

    ``pixels``: the labelled pixels, if the caller has them already: ``(ys, xs, label)`` of
    every pixel with a label > 0 (saves a scan of the image).
    """
    if n <= 1:
        return np.zeros(max(n, 1), bool)
    inside = (labels > 0).astype(np.uint8)  # (cv2.compare takes a 1xN array for a scalar)
    if pixels is None:
        pts = cv2.findNonZero(inside).reshape(-1, 2)
        ys, xs = pts[:, 1], pts[:, 0]
        lab = labels[ys, xs]
    else:
        ys, xs, lab = pixels
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)[ys, xs]
    area = np.bincount(lab, minlength=n).astype(np.float64)
    deep = depth >= np.sqrt(area / (ratio * np.pi))[lab]
    spot = np.bincount(lab, deep, minlength=n) > 0
    spot[0] = False
    return spot


def label_boxes(pixels: tuple[np.ndarray, np.ndarray, np.ndarray], n: int) -> np.ndarray:
    """Bounding box per label, ``n x 4`` int64 ``(top, bottom, left, right)`` (px, inclusive),
    of the labelled pixels ``(ys, xs, label)``; a label without pixels (0, the background)
    gets ``(big, -1, big, -1)``."""
    ys, xs, lab = pixels
    big = np.iinfo(np.int64).max
    sides = []
    for start, op, at in ((big, np.minimum, ys), (-1, np.maximum, ys), (big, np.minimum, xs),
                          (-1, np.maximum, xs)):
        side = np.full(n, start, np.int64)
        # (a contiguous int64 target and values: NumPy's fast path, ~25x a cast into a column)
        op.at(side, lab, at.astype(np.int64, copy=False))
        sides.append(side)
    return np.stack(sides, axis=1)


def in_a_text_row(boxes: np.ndarray, judged: np.ndarray, letters: np.ndarray,
                  min_height: int = 4, reach: float = 2.0, baseline: float = 0.2,
                  heights: float = 1.6, pair_gap: float = 0.5,
                  pair_baseline: float = 0.1, upright: float = 1.5) -> np.ndarray:
    """Per label (``boxes``: :func:`label_boxes`): whether a ``judged`` component sits in a
    horizontal row of print, as the dot of an i, the i itself or a minus sign does among the
    letters around it. That is, either of

    * a row: at least two ``letters`` components (bool per label; strokes), each at least
      ``min_height`` px tall, not shorter than the judged one (an i is as tall as an l, a minus
      sign far shorter) and spanning its centre row, within ``reach`` times its own height of it
      horizontally; the two share a baseline (bottoms within ``baseline`` times the taller one's
      height, plus a px) and a height (within a factor ``heights``: an x-height letter beside a
      capital);
    * a pair (a two-letter word: "in", "it"): one letter right beside it, within ``pair_gap``
      times the taller one's height horizontally (letter spacing), on its baseline (bottoms
      within ``pair_baseline`` times that height, plus a px), half to twice its height, the
      taller one at least ``2 * min_height`` px; or such a letter further along, within
      ``2 * pair_gap + 1`` times that height, with a sign between them (any letter or piece of
      print, however short, its middle within the judged one's rows) that leaves at most
      ``pair_gap`` times that height on either side: "i-1", "3/4" out of focus;
    * a dot (of an i or a j): right above any component of ``boxes`` (a letter, or the stem of
      an i, compact itself) at least twice its height and ``min_height`` px, within 1.5 times
      its own height (3 px at least), over its centre column.

    A judged piece found to be print counts as a letter for the others (the t of "it" beside a
    compact i that stands in its row), until no more are found. So does an upright piece, at
    least ``upright`` times as tall as it is wide and ``2 * min_height`` px tall, compact or not
    (an i, an l, a t: print out of focus rounds a bold letter into a compact piece, and "it"
    has no other letter); never for itself.

    The glint of a glossy label beside a line of its print passes too: when unsure, the pixel
    is left alone. Rows only: rotated print is not recognised."""
    rules = (min_height, reach, baseline, heights, pair_gap, pair_baseline)
    tall = boxes[:, 1] - boxes[:, 0] + 1
    letters = letters | ((tall >= 2 * min_height)
                         & (tall >= upright * (boxes[:, 3] - boxes[:, 2] + 1)))
    out = _in_a_text_row_once(boxes, judged, letters, *rules)
    found = out
    while found.any():
        found = _in_a_text_row_once(boxes, judged & ~out, letters | out, *rules)
        out |= found
    return out


def _in_a_text_row_once(boxes: np.ndarray, judged: np.ndarray, letters: np.ndarray,
                        min_height: int, reach: float, baseline: float, heights: float,
                        pair_gap: float, pair_baseline: float) -> np.ndarray:
    """One pass of :func:`in_a_text_row` (its arguments)."""
    out = np.zeros(len(judged), bool)
    js, ls = np.flatnonzero(judged), np.flatnonzero(letters)
    t, b, x0, x1 = (boxes[:, k].astype(np.float64) for k in range(4))
    signs = ls  # (any letter or print found, however short: a minus sign, a full stop)
    lh = b[ls] - t[ls] + 1
    ls, lh = ls[lh >= min_height], lh[lh >= min_height]
    if len(js) == 0 or len(ls) == 0:
        return out
    jh = (b[js] - t[js] + 1)[:, None]
    other = js[:, None] != ls[None, :]  # (a piece is no letter beside itself)
    gap = np.maximum(x0[ls][None, :] - x1[js][:, None], x0[js][:, None] - x1[ls][None, :])
    drop = np.abs(b[ls][None, :] - b[js][:, None])
    taller = np.maximum(lh[None, :], jh)
    mate = (other & (lh[None, :] >= 0.5 * jh) & (lh[None, :] <= 2.0 * jh)
            & (taller >= 2 * min_height) & (drop <= pair_baseline * taller + 1))
    pair = mate & (gap <= pair_gap * taller)
    out[js[pair.any(axis=1)]] = True
    # ... or across a sign: a letter further along its baseline, the gap between them bridged by
    # one piece of print ("i-1", "3/4"), each side within that letter spacing.
    for j, k in zip(*np.nonzero(mate & ~pair & (gap <= (2 * pair_gap + 1) * taller)
                                & ~out[js][:, None])):
        a, c, space = js[j], ls[k], pair_gap * taller[j, k]
        left, right = (a, c) if x1[a] < x0[c] else (c, a)
        mid = (t[signs] + b[signs]) / 2.0
        out[a] |= bool(((x0[signs] - x1[left] <= space) & (x0[right] - x1[signs] <= space)
                        & (x0[signs] > x1[left]) & (x1[signs] < x0[right])
                        & (mid >= t[a]) & (mid <= b[a])).any())
    centre = (t[js] + b[js])[:, None] / 2.0
    near = (other & (lh[None, :] >= jh) & (t[ls][None, :] <= centre) & (b[ls][None, :] >= centre)
            & (gap <= reach * lh[None, :]))
    rows = (near.sum(axis=1) >= 2) & ~out[js]
    if rows.any():
        # Two of the letters near a piece share a baseline and a height: pairs of letters that
        # do (L x L), then for each piece whether two of its near letters form one.
        tall = np.maximum(lh[:, None], lh[None, :])
        alike = ((np.abs(b[ls][:, None] - b[ls][None, :]) <= baseline * tall + 1)
                 & (tall <= heights * np.minimum(lh[:, None], lh[None, :])))
        np.fill_diagonal(alike, False)
        nr = near[rows].astype(np.float32)
        out[js[rows]] = ((nr @ alike.astype(np.float32)) * nr).sum(axis=1) > 0
    # The dot of an i or a j: right above a piece (a letter, or a stem that is compact itself)
    # at least twice its height, within 1.5 times its own height.
    ks = np.flatnonzero(b - t + 1 >= min_height)  # (label 0 has no pixels: height < 0)
    kh = b[ks] - t[ks] + 1
    cx = (x0[js] + x1[js])[:, None] / 2.0
    above = t[ks][None, :] - b[js][:, None]
    dot = ((above >= 0) & (above <= 1.5 * np.maximum(jh, 2)) & (kh[None, :] >= 2 * jh)
           & (x0[ks][None, :] <= cx) & (x1[ks][None, :] >= cx))
    out[js[dot.any(axis=1)]] = True
    return out


KERNEL_SHAPES = {"ellipse": cv2.MORPH_ELLIPSE, "rect": cv2.MORPH_RECT, "cross": cv2.MORPH_CROSS}


def _component_pixels(mask: np.ndarray, contour: np.ndarray,
                      box: tuple[int, int, int, int]) -> int:
    """Exact number of mask pixels inside a filled contour (computed in its bounding box only)."""
    x, y, w, h = box
    canvas = np.zeros((h, w), np.uint8)
    cv2.drawContours(canvas, [contour], -1, 255, thickness=-1, offset=(-x, -y))
    return cv2.countNonZero(cv2.bitwise_and(canvas, mask[y:y + h, x:x + w]))


def _hole_pixels(mask: np.ndarray, contour: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """Exact number of background pixels enclosed by a hole contour."""
    x, y, w, h = box
    canvas = np.zeros((h, w), np.uint8)
    cv2.drawContours(canvas, [contour], -1, 255, thickness=-1, offset=(-x, -y))
    return cv2.countNonZero(cv2.bitwise_and(canvas, cv2.bitwise_not(mask[y:y + h, x:x + w])))


def clean_components(mask: np.ndarray, min_area: int, max_hole_area: int) -> np.ndarray:
    """Drop components with fewer than ``min_area`` px and fill holes of at most ``max_hole_area``
    px.

    Components are 8-connected, holes 4-connected background regions enclosed by the mask
    (background touching the image border is never a hole). Uses one ``cv2.findContours``
    (``RETR_CCOMP``: outer boundaries and holes) and measures areas exactly inside each contour's
    bounding box, which is far cheaper than labelling the whole frame
    (``connectedComponentsWithStats`` costs 10+ ms at 1280x720 in OpenCV 5; this costs well under 1
    ms for typical glare masks). Returns ``mask`` itself when nothing changes, else a new array.
    """
    if (min_area <= 1 and max_hole_area <= 0) or not mask.any():
        return mask
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return mask
    parents = hierarchy[0][:, 3]
    erase: list[np.ndarray] = []
    fill: list[np.ndarray] = []
    for contour, parent in zip(contours, parents):
        box = cv2.boundingRect(contour)
        if parent < 0:  # outer boundary of a component
            # Polygon area through boundary pixel centres <= pixel count: only measure when it is
            # below.
            if min_area > 1 and cv2.contourArea(contour) < min_area and \
                    _component_pixels(mask, contour, box) < min_area:
                erase.append(contour)
        elif max_hole_area > 0 and _hole_pixels(mask, contour, box) <= max_hole_area:
            fill.append(contour)
    if not erase and not fill:
        return mask
    out = mask.copy()
    if fill:
        cv2.drawContours(out, fill, -1, 255, thickness=-1)
    if erase:
        cv2.drawContours(out, erase, -1, 0, thickness=-1)
    return out


def remove_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop 8-connected components with fewer than ``min_area`` pixels."""
    return clean_components(mask, min_area, 0)


def fill_small_holes(mask: np.ndarray, max_hole_area: int) -> np.ndarray:
    """Fill background regions enclosed by the mask with at most ``max_hole_area`` pixels.

    Background components touching the image border are never holes.
    """
    return clean_components(mask, 0, max_hole_area)


def dilate(mask: np.ndarray, kernel_size: int, shape: str = "ellipse",
           iterations: int = 1) -> np.ndarray:
    """Grow the mask by ``kernel_size // 2`` px per iteration with an ellipse/rect/cross kernel."""
    if kernel_size <= 1 or iterations <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(KERNEL_SHAPES[shape], (kernel_size, kernel_size))
    return cv2.dilate(mask, kernel, iterations=iterations)


def upscale_nearest(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An ``HxW`` mask resized to ``size`` = (width, height) px by nearest neighbour, equal to
    ``cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)``. A power-of-two factor is done
    by doublings (each pixel repeated: ``cv2.merge`` for the columns, a broadcast copy for the
    rows), ~5x cheaper than OpenCV 5's resize at 720p."""
    h, w = mask.shape
    f = size[0] // w
    if size != (w * f, h * f) or f < 2 or f & (f - 1):
        return cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    for _ in range(f.bit_length() - 1):
        h, w = mask.shape
        rows = cv2.merge([mask, mask]).reshape(h, 1, 2 * w)
        mask = np.empty((h, 2, 2 * w), mask.dtype)
        mask[:] = rows
        mask = mask.reshape(2 * h, 2 * w)
    return mask


def coverage(mask: np.ndarray) -> float:
    """Fraction (0..1) of the frame's pixels that are glare."""
    return cv2.countNonZero(mask) / float(mask.size)


@dataclass
class RefinedMask:
    """Result of :meth:`MaskRefiner.refine`.

    Attributes:
        mask: the final mask (uint8, 255 = fill).
        coverage: fraction 0..1 of pixels set in ``mask``.
        flooded: ``coverage > max_coverage``: callers should pass the frame through unchanged.
    """

    mask: np.ndarray
    coverage: float
    flooded: bool


class MaskRefiner:
    """Speck removal, hole filling, dilation and the coverage guard, configured by ``mask.*``."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("min_area", 4,
                  "Drop mask components smaller than this many pixels (0/1 = keep all).", 0,
                  1_000_000),
        ParamSpec("fill_holes_area", 16,
                  "Fill holes enclosed by the mask up to this many pixels (0 = off).", 0,
                  1_000_000),
        ParamSpec("dilation.kernel_shape", "ellipse", "Structuring element shape.",
                  choices=tuple(KERNEL_SHAPES)),
        ParamSpec("dilation.kernel_size", 7,
                  "Structuring element size in px (odd recommended; <= 1 = no dilation).", 0, 101),
        ParamSpec("dilation.iterations", 1, "Number of dilation passes.", 0, 20),
        ParamSpec("max_coverage", 0.25,
                  "If the final mask covers more than this fraction of the frame, report it as "
                  "flooded (the pipeline then passes the frame through unchanged).", 0.0, 1.0),
    )

    def __init__(self, **params: Any) -> None:
        self.params = Schema(self.PARAMS).validate(params)

    def refine(self, mask: np.ndarray) -> RefinedMask:
        """Apply the configured operations to a raw detector mask (never modified)."""
        p = self.params
        m = check_mask(mask)
        m = clean_components(m, p["min_area"], p["fill_holes_area"])
        m = dilate(m, p["dilation.kernel_size"], p["dilation.kernel_shape"],
                   p["dilation.iterations"])
        cov = coverage(m)
        return RefinedMask(m, cov, cov > p["max_coverage"])
