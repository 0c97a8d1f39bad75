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
   and other busy texture raise the bar. Unlit pixels (every channel under 32 levels: the border
   around an endoscope's round view) are no surface: the background takes the lit surface beside
   them there (:func:`.local_contrast.extend_lit`).
2. For each candidate, the specular part ``s`` with the diffuse saturation ``S_d`` taken as the
   smaller of its chromaticity cluster's (frame-wide, :func:`..dichromatic.fit_diffuse_model`) and
   the mean saturation of the non-candidate pixels around it (``context_px``): a highlight needs
   a saturated surface *around* it, which paint on asphalt or a letter on a label does not have.
   ``S_d < min_saturation`` gives ``s = 0``. Candidates on a steep edge are left out: of
   ``max(B, G, R)`` (``edge_max``: compressed video smears colour across edges) and, in the frame
   itself, of ``min(B, G, R)`` (``edge_max_low``: where clipped white print meets a bright,
   saturated stock its weakest channel jumps to white in a px or two, and the mixed pixels read
   as the stock plus white light; on a pale stock such as pink the jump is smaller, but it goes
   most of the way to white at once, or within 4 px beside white print out of focus).
3. Weak pixels ``s >= weak_level`` (plus clipped candidates, ``max >= clip_level``, which carry no
   colour), specks removed by a 3x3 opening (on the reduced frame: highlights under about 3 px
   across at ``work_px`` are not found); a weak region is kept only if it holds a seed
   ``s >= seed_level`` (hysteresis). Clipped blobs on their own (a lamp, a white sign, the sun on
   a wet road) are therefore *not* reported: with no coloured surface around them the chain
   cannot tell glare from content and leaves the pixels alone.
   Glints are the exception (:func:`glints`, ``glint_min_count``): the glints of wet tissue in
   endoscopy are clipped white spots with a pixel or two of rim, so no unclipped halo carries the
   colour of the surface. A compact (not a letter's stroke, nor beside one), near-white spot with a
   pixel clipped in the frame, on a lit, coloured surface (the non-candidate pixels around it at
   least ``glint_min_saturation`` saturated, 0.2: pale colon mucosa is 0.2-0.3, and a mean
   ``max(B, G, R)`` of 60 levels: a lamp on a dark wall at night is no glint), is one; a frame
   with at least ``glint_min_count`` of them (after the busy-texture gate below, with the stricter
   ``glint_busy_max``) shows a glossy surface, and they are reported. A lone white spot (a sign,
   a lamp, the sun in a blue sky) is still left alone, and so are white letters, paint and studs
   on grey asphalt, and the white paper inside coloured letters (the colour around it is a small
   island of ink in the white, not a surface), and compact print (a bold i, a minus sign, a
   letter out of focus) in a row of letters on one baseline or beside an upright one, and a
   white spot cut by the frame's edge (its shape is not
   seen). A larger highlight on wet tissue has an irregular
   near-white core (no compact spot) in a halo of its own sheen: such a core is a glint too when
   the surface 1-4 units around it (a frame is 400 units across) is brighter and paler than 7-12
   units out (:func:`..dichromatic.haloed`; print and paint have the surface right beside their
   edge), it is a lobe, not a streak, and the surface beyond the halo is lit and coloured. A core
   wider than 4 units in radius lies in a wider lobe: the outer ring moves out in proportion; such
   a core may cover up to 2 % of the frame (2 % of it clipped: pale tissue and fat in a brighter
   rim are near-white but not clipped), and the clipped streaks of a wet sheen beside it do not
   make it print.
   A region whose unclipped pixels are far more colourful (chroma ``max - min``) than the
   surface right around it is dropped (``chroma_ratio_max``): added white light keeps a pixel's
   chroma, so a highlight has about its surface's; a warm lit window on a dark wall at night has
   several times its wall's (the wall's dim colour reads as saturated, so ``S_d`` alone took it).
   A region beside a patch of unclipped, colourless pixels brighter than it is dropped too
   (``white_chroma_ratio``, :func:`white_beside`): where white content blends into a coloured
   surface (a soft edge), the mixed pixels read as that surface plus white light; a highlight's
   brighter side is its clipped core or more of its coloured lobe.
4. Regions in busy texture are dropped: where more than ``busy_max`` of the frame around a
   region (a 41-px window) is edges (a brightness slope of 12 levels per px or more at the
   detection resolution; a haloed glint's halo is left out, its falloff is steep). Sunlit leaves
   and sky gaps in foliage are bright and paler than the green around them, so colour alone
   takes them for highlights (road video through a forest); a highlight lies on a surface, and
   that surface is smooth compared with foliage. A frame in which at least ``glint_wet_count``
   (10) glints pass this gate shows a wet surface, whose own sparkle is busy texture: there the
   glints within 40 units (a tenth of the frame) of one that passed are reported without the gate
   (the same surface; sky gaps in foliage elsewhere in the frame still meet it), and so are the
   specks there (``glint_speck_area``): smaller spots, paler and more tinted than a glint may
   be (a few px of 4:2:0 video lose their clipping and take on the tissue's colour), judged on
   their candidate pixels (a bump, also in a pale sheen or on pale fat), that pass the glint
   tests of shape and print (the glints around them have shown the surface lit and coloured),
   keeping the chroma of their surface unless clipped (white print dots have none).
5. The kept regions grow by ``grow_px`` so the fringe of each highlight is covered; the
   ``separation`` backend then subtracts only the estimated specular part there (0 on diffuse
   pixels), so the growth does not alter content.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from ..dichromatic import (
    GLINT_SURFACE_LIT, GLINT_TINT, GLINT_WHITE, HALO_OUT, LOBE_AREA, MIN_EXPOSURE, SPECK_TINT,
    SPECK_WHITE, UNLIT,
    DiffuseModel, diffuse_saturation, fit_diffuse_model, halo_unit, haloed, local_saturation,
    lookup_context, near_white, specular_amount,
)
from ..masks import (
    grouped_ring, in_a_text_row, label_boxes, label_quantile, select_labels, spot_like,
    upscale_nearest,
)
from ..params import ParamSpec
from ..resize import halve_to
from . import DETECTORS
from .base import Detector
from .local_contrast import background, extend_lit, seeded_components
from .threshold import value_and_min

_OPEN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_RING3 = np.ones((3, 3), np.uint8)
_RIM = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
#: Window (frame px) over which the busy-texture share around a region is measured.
_BUSY_PX = 41
#: Brightness slope (``max(B, G, R)``, 8-bit levels per px at the detection resolution) of an
#: edge pixel for the busy-texture share.
_BUSY_SLOPE = 12
#: Glints (:func:`glints`): near-white spots (:func:`..dichromatic.near_white`) of at most this
#: share of the frame.
_GLINT_AREA = 0.005
#: A haloed core larger than a glint (up to :data:`..dichromatic.LOBE_AREA`) has at least this
#: share of its candidate pixels clipped (pale tissue, fat or a white wall in a brighter rim is
#: near-white without clipping).
_LOBE_CLIPPED = 0.02
#: A spot, not a stroke (:func:`..masks.spot_like`): area at most this times pi r^2.
_GLINT_COMPACT = 3.0
#: The surface around a spot: from this many px beyond it (its rim left out) ...
_GLINT_RING_PX = 2
#: ... to this many plus half its diameter (a larger spot has a wider halo), detection px.
_GLINT_REACH_PX = 4
#: The ring of :func:`chroma_conserved`: from 3 to this many px (detection px) out of a region
#: (square: OpenCV's fast path; the ring only feeds a percentile) ...
_CHROMA_RING_PX = 7
_CHROMA_RING = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * _CHROMA_RING_PX + 1,) * 2)
#: ... leaving out the 2 px next to every region (its own rim, and its neighbours').
_CHROMA_GAP = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
#: White content beside a region (:func:`white_beside`): looked for within this many px
#: (detection px, square) of it ...
_WHITE_REACH_PX = 6
_WHITE_REACH = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * _WHITE_REACH_PX + 1,) * 2)
#: ... brighter (``min(B, G, R)``) than the region by at least this (8-bit levels) ...
_WHITE_STEP = 3
#: ... and a patch of at least this many px, ...
_WHITE_MIN_PX = 12
#: ... its brightest ``min(B, G, R)`` this many levels below the clip level or more (a camera's
#: highlight roll-off turns the top of an unclipped highlight into a pale patch up there).
_WHITE_HEADROOM = 15
#: A candidate on an edge of ``min(B, G, R)`` that rises this share of the way to white (255)
#: within 2 px, or within 4 px beside white print (out of focus), and at least
#: :data:`_TO_WHITE_MIN` levels, is left out (:func:`steep_low_edges`, :func:`soft_print_edges`).
_TO_WHITE = 0.85
_TO_WHITE_MIN = 64
#: The 4-px neighbourhood of :func:`soft_print_edges`.
_RING5 = np.ones((5, 5), np.uint8)
#: A glint lies on a surface: the not-near-white component around it covers at least this share
#: of the frame (:func:`on_a_surface`).
_GLINT_SURFACE_AREA = 0.02
#: A spot this close (detection px) to a white stroke is print (the dot of an i).
_BESIDE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
#: On a wet surface (``glint_wet_count``) the busy-texture gate is waived for glints within this
#: many units (:func:`..dichromatic.halo_unit`: a frame is 400 across) of one that passed it.
_WET_REACH = 40.0
#: A speck (``glint_speck_area``) keeps at least this share of its surface's chroma (``max - min``)
#: in its least coloured pixel: added white light keeps a pixel's chroma, white print has none.
_SPECK_CHROMA = 0.5


def edge_slope(plane: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Luminance slope (8-bit levels per px) of a uint8 plane at the given pixels: the larger of
    the horizontal and vertical central differences, halved. Evaluated at those pixels only."""
    h, w = plane.shape
    p = plane.astype(np.int16, copy=False)
    dx = np.abs(p[ys, np.minimum(xs + 1, w - 1)] - p[ys, np.maximum(xs - 1, 0)])
    dy = np.abs(p[np.minimum(ys + 1, h - 1), xs] - p[np.maximum(ys - 1, 0), xs])
    return np.maximum(dx, dy) / 2.0


def _rise_to_white(low: np.ndarray, ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of ``low`` (uint8) over its ``ring`` neighbourhood: the range (max - min) and
    :data:`_TO_WHITE` of the way from the minimum to white (both uint8 levels)."""
    floor = cv2.erode(low, ring)
    room = cv2.convertScaleAbs(cv2.bitwise_not(floor), alpha=_TO_WHITE)  # (255 - floor)
    return cv2.subtract(cv2.dilate(low, ring), floor), room


def steep_low_edges(low: np.ndarray, slope_max: float, printed: np.ndarray | None = None,
                    scale: int = 1) -> np.ndarray:
    """uint8 0/255: the pixels on a steep edge of ``low`` (``min(B, G, R)``, uint8) whose
    weakest channel jumps in a px or two: its range over the pixel's 3x3 neighbourhood (2 px
    across: also the edge of a diagonal stroke) exceeds ``2 * slope_max`` levels, or
    :data:`_TO_WHITE` of the way from that neighbourhood's lowest value to white (and at least
    :data:`_TO_WHITE_MIN` levels): white print on a pale stock (pink, salmon) rises less than
    ``2 * slope_max`` yet all the way to white at once. A highlight's lobe rises over
    several px. Plus :func:`soft_print_edges` beside ``printed`` (:func:`print_pieces` of the
    frame reduced ``scale`` times; None: none)."""
    rise, room = _rise_to_white(low, _RING3)
    limit = cv2.min(cv2.max(room, _TO_WHITE_MIN), int(2 * slope_max))
    steep = cv2.compare(rise, limit, cv2.CMP_GT)
    if printed is None:
        return steep
    return cv2.bitwise_or(steep, soft_print_edges(low, printed, scale))


def print_pieces(low: np.ndarray) -> np.ndarray | None:
    """uint8 0/255 (or None: none): the white components (``low`` = ``min(B, G, R)`` >=
    :data:`..dichromatic.GLINT_WHITE`: the middle of a thin stroke out of focus no longer clips)
    that stand in a row of print (:func:`..masks.in_a_text_row`: the white components as its
    pieces, the strokes among them as its letters). A highlight's white core, a stroke too where
    it is long, stands in no row."""
    white = cv2.threshold(low, GLINT_WHITE - 1, 255, cv2.THRESH_BINARY)[1]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(white, connectivity=8)
    if n <= 1:
        return None
    letters = ~spot_like(labels, n, _GLINT_COMPACT)
    letters[0] = False
    x, y, w, h = (stats[:, k].astype(np.int64) for k in range(4))
    boxes = np.stack([y, y + h - 1, x, x + w - 1], axis=1)
    boxes[0] = (np.iinfo(np.int64).max, -1, np.iinfo(np.int64).max, -1)
    printed = in_a_text_row(boxes, np.arange(n) > 0, letters)
    return select_labels(labels, printed) if printed.any() else None


def soft_print_edges(low: np.ndarray, printed: np.ndarray, scale: int = 1) -> np.ndarray:
    """uint8 0/255: the soft edges of white print out of focus. Within 2 px of ``printed``
    (:func:`print_pieces`, found on the frame ``low`` reduced ``scale`` times: the shapes of
    print, at a quarter of the cost), the pixels whose weakest channel (``low``) rises
    :data:`_TO_WHITE` of the way to white (and at least :data:`_TO_WHITE_MIN` levels) over their
    5x5 neighbourhood (4 px across): a blur of about a px spreads the jump of
    :func:`steep_low_edges` over 3-4 px. A highlight's lobe may rise as fast; off any row of
    print it is left to the colour test (taken for print everywhere, the sharp lobes of
    rendered glossy objects lost 3 dB)."""
    h, w = low.shape
    near = printed if scale == 1 else cv2.resize(printed, (w, h), interpolation=cv2.INTER_NEAREST)
    near = cv2.dilate(near, _RING5)
    rise, room = _rise_to_white(low, _RING5)
    return cv2.bitwise_and(cv2.compare(rise, cv2.max(room, _TO_WHITE_MIN), cv2.CMP_GT), near)


def block_max(plane: np.ndarray, ys: np.ndarray, xs: np.ndarray, scale: int) -> np.ndarray:
    """The largest value of the full-resolution ``plane`` (``H x W`` or ``H x W x C``: over the
    channels too) under each detection pixel ``(ys, xs)`` of the frame reduced ``scale`` times."""
    fh, fw = plane.shape[:2]
    out = None
    for dy in range(scale):
        for dx in range(scale):
            under = plane[np.minimum(ys * scale + dy, fh - 1), np.minimum(xs * scale + dx, fw - 1)]
            if under.ndim == 2:
                under = under.max(axis=1)
            out = under if out is None else np.maximum(out, under)
    return out


def on_a_surface(labels: np.ndarray, n: int, judged: np.ndarray, white: np.ndarray,
                 inner_sides: list[tuple], min_area: float) -> np.ndarray:
    """Per label of ``labels`` (the ``n`` components of the near-white map ``white``, uint8
    0/255): whether the ``judged`` ones border a not-white component (4-connected: the dual of
    the spots' 8-connectivity) of at least ``min_area`` px, or one that an ``inner_sides`` side of
    the box (index tuples, ``np.s_[:, 0]``: the sides that are not the frame's edge) cuts: a
    surface. The ink of a letter around the white inside its loop is a small island."""
    m, islands = cv2.connectedComponents(cv2.bitwise_not(white), connectivity=4,
                                         ltype=cv2.CV_32S)
    large = np.bincount(islands.ravel(), minlength=m) >= min_area
    for side in inner_sides:
        large[islands[side]] = True  # reaches beyond the box
    large[0] = False  # (the white pixels)
    # The not-white pixels right around the judged spots, and the spot each one borders (the
    # largest label next to it: a pixel between a spot and other white counts for one of them).
    pts = cv2.findNonZero(cv2.bitwise_and(cv2.dilate(select_labels(labels, judged), _RING3),
                                          cv2.bitwise_not(white)))
    if pts is None:
        return np.zeros(n, bool)
    pts = pts.reshape(-1, 2)
    ys, xs = pts[:, 1], pts[:, 0]
    h, w = labels.shape
    spot = np.zeros(len(ys), np.intp)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near = labels[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)]
            spot = np.where(judged[near], np.maximum(spot, near), spot)
    return np.bincount(spot, large[islands[ys, xs]], minlength=n) > 0


def _components(white: np.ndarray) -> tuple[int, np.ndarray, tuple, np.ndarray] | None:
    """The 8-connected components of a uint8 0/255 map: ``(n, labels, (ys, xs, label) of its
    pixels, area per label)``, or None when it is empty. (Plain labelling and the areas from the
    pixels: OpenCV 5's labelling with statistics costs ~5x as much on a sparse mask.)"""
    found = cv2.findNonZero(white)
    if found is None:
        return None
    n, labels = cv2.connectedComponents(white, connectivity=8, ltype=cv2.CV_32S)
    found = found.reshape(-1, 2)
    xs, ys = found[:, 0], found[:, 1]
    lab = labels[ys, xs]
    return n, labels, (ys, xs, lab), np.bincount(lab, minlength=n).astype(np.float64)


def glints(value: np.ndarray, low: np.ndarray, cand: np.ndarray, pts: np.ndarray,
           full: np.ndarray, scale: int, clip: int, min_saturation: float,
           speck_area: float = 0.0, printed: np.ndarray | None = None,
           ) -> tuple[np.ndarray, tuple[int, int], np.ndarray | None] | None:
    """Clipped white spots on a coloured surface: the glints of a wet or glossy surface
    (endoscopy: nothing of the surface's colour is left in them; their halo is a pixel or two).

    A glint is a component of near-white pixels (``max(B, G, R)`` = ``value`` >= 230, saturation
    <= 0.3: a few px of 4:2:0 video take on the surface's tint; where such pixels join glints
    into a cluster or a stroke, only those <= 0.2 count; ``low`` = ``min(B, G, R)``) holding a
    clipped candidate (``cand``, uint8 0/255; ``pts``: ``N x 2`` x, y of the candidates to
    consider) that

    * covers at most 0.5 % of the frame;
    * is a spot, not a stroke (area <= 3 pi r^2, r its largest inscribed radius), judged on its
      whole near-white shape (not only its candidate pixels): white letters on a coloured label
      are strokes; nor right beside a stroke (within 4 px: the dot of an i, a full stop), nor
      in a row of print (:func:`..masks.in_a_text_row`: two strokes as tall as it or taller
      beside it, on one baseline: a bold i, a minus sign; one letter right beside it on its
      baseline: "in", or across a sign: "i-1"; a letter right below it: the dot of a large i);
      nor touching the frame's edge (only part of its shape is seen: a letter cut by the
      frame);
    * or, instead of the two above, is a core ringed by a halo (:func:`..dichromatic.haloed`) of
      at most 2 % of the frame: a highlight's lobe on wet tissue, whatever its shape, also where
      the clipped streaks of its sheen lie beside it (one larger than a glint has at least 2 % of
      its candidate pixels clipped);
    * is bordered by a surface: a not-near-white component of at least 2 % of the frame (or one
      reaching beyond the box this is measured on), not a small island of colour in the white
      (the ink of a coloured letter around the paper inside its loop: o, a, 0, B);
    * (that candidate) is clipped (any channel >= ``clip``) in the frame ``full`` itself (the
      detection frame is ``full`` reduced ``scale`` times, and averaging lowers a clipped pixel);
    * lies on a lit, coloured surface: the non-candidate pixels 2 px and more away from the
      spots, within 4 + sqrt(area) / 2 px of the largest (a box mean), have a mean saturation >=
      ``min_saturation`` around it (paint on asphalt, a white car on a road do not) and a mean
      ``value`` >= 60 levels (a glint reflects the light that lights that surface; a lamp or a
      lit window at night sits on a dark wall, whose dim colour reads as saturated).

    With ``speck_area`` > 0, the specks of a wet surface instead: spots of at most that share of
    the frame, clipped or not, whose pixels are ``value`` >= :data:`..dichromatic.SPECK_WHITE` and
    saturation <= :data:`..dichromatic.SPECK_TINT` (no looser tint for a spot), taken among the
    candidates only (a bump out of the local background: a speck in a pale sheen or on pale fat
    is not judged as part of that area), that keep the chroma of the surface around them unless
    clipped (:data:`_SPECK_CHROMA`: white light added; white print on a coloured stock has none),
    under every other test above but the lit, coloured surface (the caller looks for specks
    within the reach of glints that passed it; a speck's own ring is mostly the sheen it lies
    in), and not touching ``printed`` (:func:`print_pieces` of the frame: a piece of a letter
    out of focus is a bump too).

    Returns ``(uint8 0/255 crop, (x, y) of its corner, lobes)`` at the detection resolution, or
    None; ``lobes``: the reach of the haloed glints' halos (a uint8 0/255 crop like the first, or
    None).
    """
    h, w = value.shape
    unit = halo_unit(value.shape)  # (before the crop below)
    level, tint = (SPECK_WHITE, SPECK_TINT) if speck_area > 0 else (GLINT_WHITE, GLINT_TINT)
    v, lo = value[pts[:, 1], pts[:, 0]], low[pts[:, 1], pts[:, 0]]
    white = (v >= level) & (lo >= (1.0 - tint) * v)
    xs, ys = pts[white, 0], pts[white, 1]
    # Clipped in the frame itself: the brightest channel of the full-resolution pixels under a
    # detection pixel (halving averages a clipped pixel down). (A speck need not be.)
    hard = block_max(full[:, :, :3], ys, xs, scale) >= clip
    clipped = np.ones(len(xs), bool) if speck_area > 0 else hard
    if not clipped.any():
        return None
    # Everything below runs on the clipped pixels' box plus the largest spot and its ring; a
    # component cut by that box (not by the frame's edge) is larger than a spot.
    margin = _GLINT_REACH_PX + 2 + int(np.sqrt(LOBE_AREA * h * w))
    cx, cy = xs[clipped], ys[clipped]
    x0, y0 = max(int(cx.min()) - margin, 0), max(int(cy.min()) - margin, 0)
    x1, y1 = min(int(cx.max()) + 1 + margin, w), min(int(cy.max()) + 1 + margin, h)
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    xs, ys, clipped, hard = xs[inside] - x0, ys[inside] - y0, clipped[inside], hard[inside]
    value, low, cand = value[y0:y1, x0:x1], low[y0:y1, x0:x1], cand[y0:y1, x0:x1]
    # The whole near-white shapes (not only their candidate pixels): the top of a white letter
    # is a candidate on its own, the letter is a stroke.
    # A glint of a few px takes on the surface's tint (GLINT_TINT); where the tinted pixels join
    # glints into a cluster or a stroke (or one larger than a spot), only the near-white ones
    # (GLINT_PALE, ``strict``) are judged, as the core of a larger highlight is.
    if speck_area > 0:
        # One level: a speck is judged on its pixels as they are. And on its candidate pixels
        # only (a bump out of the local background), not on the pale area it may lie in (a
        # sheen, pale fat: larger than a speck); letters stand out of the background whole, as
        # strokes.
        strict = core = cv2.bitwise_and(near_white(value, low, SPECK_TINT, SPECK_WHITE), cand)
    else:
        strict, core = near_white(value, low), near_white(value, low, GLINT_TINT)
    found = _components(core)
    if found is None:
        return None
    n, labels, (wy, wx, wlab), area = found
    spot = spot_like(labels, n, _GLINT_COMPACT, (wy, wx, wlab))
    loose = ~spot | (area > _GLINT_AREA * h * w)
    loose[0] = False
    if loose.any() and speck_area <= 0:
        core = cv2.bitwise_or(strict, select_labels(labels, ~loose))
        found = _components(core)
        if found is None:
            return None
        n, labels, (wy, wx, wlab), area = found
        spot = spot_like(labels, n, _GLINT_COMPACT, (wy, wx, wlab))
    # A component touching a side of the box is cut: by the box (a side that is not the
    # frame's edge, ``inner``), or by the frame (only part of its shape is seen: a letter cut by
    # the frame can look like a spot; nor is a glint's shape known there).
    sides = ((np.s_[:, 0], x0 > 0), (np.s_[0, :], y0 > 0), (np.s_[:, -1], x1 < w),
             (np.s_[-1, :], y1 < h))
    inner = [side for side, edge in sides if edge]
    cut = np.zeros(n, bool)
    for side, _ in sides:
        cut[labels[side]] = True
    lab = labels[ys, xs]
    small = area <= _GLINT_AREA * h * w
    nclip = np.bincount(lab, clipped, minlength=n)
    any_clipped = np.bincount(lab, hard, minlength=n) > 0  # (in the frame itself)
    ok = ((area <= (speck_area or LOBE_AREA) * h * w) & ~cut & (nclip > 0)
          & (small | (nclip >= _LOBE_CLIPPED * area)))
    ok[0] = False
    if speck_area > 0 and printed is not None:
        # A speck judged on its candidate pixels may be part of a letter (out of focus, its
        # soft edge is no candidate): none touching white print (:func:`print_pieces`).
        touch = cv2.dilate(printed[y0:y1, x0:x1], _RING3)
        ok &= np.bincount(labels.ravel(), (touch > 0).ravel(), minlength=n) == 0
    if not ok.any():
        return None

    def in_a_halo(judged: np.ndarray) -> np.ndarray:
        # A near-white core ringed by a halo, on a lit, coloured surface beyond the halo (its
        # own sheen is right around it).
        # (a halo rings the core proper, ``strict``: the tinted pixels next to it are its halo's
        # inner edge)
        proper = np.where(strict > 0, labels, 0)
        judged = judged & (np.bincount(proper.ravel(), minlength=n) > 0)
        ringed, ring_sat, ring_lit = haloed(proper, judged, value, low, strict, (wy, wx, wlab),
                                            unit)
        return ringed & (ring_sat >= min_saturation) & (ring_lit >= GLINT_SURFACE_LIT)

    ringed = np.zeros(n, bool)
    spot &= small  # (a larger one is a lobe, or nothing)
    if (ok & ~spot).any():  # an irregular highlight is no stroke when a halo rings it
        ringed = in_a_halo(ok & ~spot)
        spot |= ringed
    ok &= spot
    if not ok.any():
        return None
    # White paper seen through a coloured letter (inside an o, a 0, a B): the colour around it is
    # the letter's ink, a small island in the white, not a surface. (Only where the white is
    # large itself: the white around an island is one component at least as large as it.)
    paper = area >= _GLINT_SURFACE_AREA * h * w
    paper[0] = False
    if (paper | cut).any():
        ok &= on_a_surface(labels, n, ok, core, inner, _GLINT_SURFACE_AREA * h * w)
        if not ok.any():
            return None
    # White print: a spot right beside a white stroke (the dot of an i, a full stop, a colon) is
    # part of the print, not a glint.
    strokes = select_labels(labels, ~spot)
    if strokes.any():
        beside = cv2.dilate(strokes, _BESIDE)[ys, xs] > 0
        ok &= (np.bincount(lab, beside, minlength=n) == 0) | ringed
        # ... and so is a compact piece in a row of letters (an i, a minus sign), beside one
        # letter on its baseline ("in", "it") or a dot above one. Every compact piece is judged
        # (not only the glints left): one found to be print is a letter for the others (the e
        # of "Tea" for its a, a glint on it).
        real = np.arange(n) > 0
        ok &= ~in_a_text_row(label_boxes((wy, wx, wlab), n), spot & ~ringed & real,
                             ~spot & real)
        if not ok.any():
            return None
    # The surface around the spots, measured on their box plus the widest ring only: box means
    # of the saturation of non-candidate pixels 2 px and more away from any spot, averaged over
    # each spot's pixels.
    spots = select_labels(labels, ok)
    reach = int(_GLINT_REACH_PX + 0.5 * np.sqrt(area[ok].max()))
    rim = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _GLINT_RING_PX + 1,) * 2)
    surface = cv2.bitwise_and(cv2.compare(cv2.bitwise_or(cv2.dilate(spots, rim), cand), 0,
                                          cv2.CMP_EQ),
                              cv2.compare(value, MIN_EXPOSURE, cv2.CMP_GE))
    # uint8 throughout (OpenCV's fast box filter): saturation in 1/255, box means of 0/255 masks.
    sat = cv2.divide(cv2.subtract(value, low), value, scale=255.0)
    k = (2 * reach + 1, 2 * reach + 1)
    num = cv2.blur(cv2.bitwise_and(sat, surface), k, borderType=cv2.BORDER_CONSTANT)
    den = cv2.blur(surface, k, borderType=cv2.BORDER_CONSTANT)
    keep = ok[lab]
    xs, ys, lab = xs[keep], ys[keep], lab[keep]
    seen = np.bincount(lab, den[ys, xs], minlength=n)  # 255 = all of the window is surface
    coloured = np.bincount(lab, num[ys, xs], minlength=n) >= min_saturation * seen
    lit = cv2.blur(cv2.bitwise_and(value, surface), k, borderType=cv2.BORDER_CONSTANT)
    coloured &= np.bincount(lab, lit[ys, xs], minlength=n) >= GLINT_SURFACE_LIT / 255.0 * seen
    if speck_area > 0:
        # The glints of the wet surface (a speck is looked for within their reach only) showed
        # it lit and coloured; a speck's own ring, a few px, is mostly the sheen it lies in.
        coloured[:] = True
    last = ok.copy()
    ok &= (coloured & (seen * (k[0] * k[1] / 255.0) >= 4 * np.maximum(area, 1))) | ringed
    if (last & ~ok).any():  # a spot whose surroundings are its own sheen
        ringed |= in_a_halo(last & ~ok)
        ok |= ringed & last
    if speck_area > 0:
        # An unclipped speck is white light added to its surface, which keeps the surface's
        # chroma (max - min) in every pixel, its brightest too; white print on a coloured stock
        # (a dot, a pattern) has none but at its soft edge. (A clipped one has no colour left.)
        # (Box means as above: the surface's mean chroma at each speck pixel.)
        chroma = cv2.subtract(value, low)
        around = cv2.blur(cv2.bitwise_and(chroma, surface), k, borderType=cv2.BORDER_CONSTANT)
        least = np.full(n, 255, np.uint8)
        np.minimum.at(least, lab, chroma[ys, xs])
        surface_chroma = 255.0 * np.bincount(lab, around[ys, xs], minlength=n) / np.maximum(
            seen, 1e-9)
        ok &= any_clipped | (least >= _SPECK_CHROMA * surface_chroma)
    if not ok.any():
        return None
    spots = spots if np.array_equal(ok, last) else select_labels(labels, ok)
    lobes = None
    if (ringed & ok).any():  # (their halo's reach: left out of the busy-texture gate)
        r = int(HALO_OUT[1] * unit)
        lobes = cv2.dilate(select_labels(labels, ringed & ok),
                           cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return spots, (x0, y0), lobes


def chroma_conserved(regions: np.ndarray, corner: tuple[int, int], value: np.ndarray,
                     low: np.ndarray, clip: int, ratio_max: float, min_chroma: int,
                     white_ratio: float = 0.0) -> tuple[np.ndarray, tuple[int, int]] | None:
    """``regions`` (uint8 0/255 crop at ``corner`` (x, y) of the planes ``value`` = ``max(B, G,
    R)``, ``low`` = ``min(B, G, R)``) without those whose colour the surface around them does
    not explain: added white light leaves a pixel's chroma ``max - min`` as it was, so a
    highlight's unclipped pixels have about the chroma of the surface right around them (its
    ring: 3 to ``_CHROMA_RING_PX`` px out, lit pixels, 75th percentile).

    * Too colourful (``ratio_max`` > 0): regions closer than twice the ring's reach are judged as
      one group; a group whose median chroma exceeds ``ratio_max`` times its ring's plus
      ``min_chroma`` is content of its own colour (a lit window on a dark wall).
    * White content (``white_ratio`` > 0, :func:`white_beside`): a region whose brighter
      neighbourhood is an unclipped patch with less than ``white_ratio`` times its ring's chroma
      is the soft edge of a white object, not a highlight.

    None when nothing is left."""
    crop, (x0, y0) = regions, corner
    h, w = value.shape
    r = _CHROMA_RING_PX
    bx0, by0 = max(x0 - r, 0), max(y0 - r, 0)
    bx1, by1 = min(x0 + crop.shape[1] + r, w), min(y0 + crop.shape[0] + r, h)
    m = np.zeros((by1 - by0, bx1 - bx0), np.uint8)
    m[y0 - by0:y0 - by0 + crop.shape[0], x0 - bx0:x0 - bx0 + crop.shape[1]] = crop
    hi, lo = value[by0:by1, bx0:bx1], low[by0:by1, bx0:bx1]
    n, groups, ring_mask = grouped_ring(m, _CHROMA_RING, _CHROMA_GAP)
    if n <= 1:
        return None
    # One pass over the pixels of the groups: each is ring (lit, 3 px and more out), inner
    # (unclipped region pixel) or neither.
    pts = cv2.findNonZero(groups).reshape(-1, 2)
    ys, xs = pts[:, 1], pts[:, 0]
    v = hi[ys, xs]
    chroma = v - lo[ys, xs]
    ids = groups[ys, xs]
    ring = (ring_mask[ys, xs] > 0) & (v >= MIN_EXPOSURE)
    inner = (m[ys, xs] > 0) & (v < clip)
    ring_c = label_quantile(chroma[ring], ids[ring], n, 0.75)
    ring_n = np.bincount(ids[ring], minlength=n)
    drop = np.zeros(n, bool)
    if ratio_max > 0:
        in_c = label_quantile(chroma[inner], ids[inner], n, 0.5)
        in_n = np.bincount(ids[inner], minlength=n)
        with np.errstate(invalid="ignore"):
            drop = (ring_n >= 5) & (in_n >= 5) & (in_c > ratio_max * ring_c + min_chroma)
    kept = m if not drop.any() else cv2.bitwise_and(m, select_labels(groups, ~drop))
    if white_ratio > 0 and kept.any():
        surface_c = np.where(ring_n >= 5, ring_c, np.nan)  # (too few samples: no verdict)
        white = white_beside(kept, groups, surface_c, hi, lo, clip, min_chroma, white_ratio)
        if white is not None:
            kept = cv2.bitwise_and(kept, cv2.bitwise_not(white))
    if kept is m:
        return regions, corner
    if not kept.any():
        return None
    return kept[y0 - by0:y0 - by0 + crop.shape[0], x0 - bx0:x0 - bx0 + crop.shape[1]], corner


def white_beside(regions: np.ndarray, groups: np.ndarray, surface_c: np.ndarray,
                 value: np.ndarray, low: np.ndarray, clip: int, min_chroma: int,
                 ratio: float) -> np.ndarray | None:
    """The components of ``regions`` (uint8 0/255) that are the soft edge of white content, as a
    uint8 0/255 mask, or None.

    A pixel where white paint, paper or a white object blends into a coloured surface (an
    out-of-focus or anti-aliased edge) is ``(1 - a)`` surface ``+ a`` white: to the dichromatic
    model, exactly a highlight on a darker patch of that surface. What tells them apart lies
    uphill: added light keeps the surface's chroma up to clipping, so next to a highlight's
    flank lies its clipped core or more of the coloured lobe; next to white content's edge lies
    a patch of unclipped pixels with next to no chroma. A component is white content when,
    within ``_WHITE_REACH_PX`` px of it, the brightest unclipped pixel (``min(B, G, R)`` =
    ``low``) is brighter than the component (by ``_WHITE_STEP`` levels) and than every clipped
    pixel there, yet ``_WHITE_HEADROOM`` levels or more below ``clip`` (a camera's tone roll-off
    turns the unclipped top of a highlight pale right under the clip level), and at least
    ``_WHITE_MIN_PX`` unclipped pixels brighter than the component
    with less than ``ratio`` times its surface's chroma (``surface_c``: per label of ``groups``;
    NaN = unknown, and a surface under ``2 * min_chroma`` gets no verdict) lie there: a patch,
    not a highlight's pale top (a pixel or two where the sensor compresses)."""
    n, labels = cv2.connectedComponents(regions, connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return None
    pts = cv2.findNonZero(regions).reshape(-1, 2)
    ys, xs = pts[:, 1], pts[:, 0]
    ids = labels[ys, xs]
    # (ufunc.at with values of the target's dtype: NumPy's fast path, ~30x a cast)
    own = np.zeros(n, np.int64)  # the component's brightest min(B, G, R)
    np.maximum.at(own, ids, low[ys, xs].astype(np.int64))
    group = np.zeros(n, np.intp)
    group[ids] = groups[ys, xs]
    with np.errstate(invalid="ignore"):
        judged = surface_c[group] >= 2 * min_chroma
    judged[0] = False
    if not judged.any():
        return None
    chroma = cv2.subtract(value, low)
    unclipped = cv2.threshold(value, clip - 1, 255, cv2.THRESH_BINARY_INV)[1]
    reach = _WHITE_REACH
    # Around each component (max filters): the brightest unclipped and clipped pixels.
    peak = np.zeros(n, np.int64)
    np.maximum.at(peak, ids,
                  cv2.dilate(cv2.bitwise_and(low, unclipped), reach)[ys, xs].astype(np.int64))
    clipped_top = np.zeros(n, np.int64)
    np.maximum.at(clipped_top, ids, cv2.dilate(cv2.bitwise_and(low, cv2.bitwise_not(unclipped)),
                                               reach)[ys, xs].astype(np.int64))
    candidate = (judged & (peak >= own + _WHITE_STEP) & (peak > clipped_top)
                 & (peak < clip - _WHITE_HEADROOM))
    if not candidate.any():
        return None
    # The colourless patch: unclipped pixels brighter than the component next to them, with
    # less than ``ratio`` times its surface's chroma, counted within the reach (uint8 maps: the
    # fast path of OpenCV's max and box filters).
    level = np.zeros(regions.shape, np.uint8)
    bar = np.zeros(regions.shape, np.uint8)
    level[ys, xs] = own[ids]
    bar[ys, xs] = np.clip(ratio * np.nan_to_num(surface_c[group[ids]]), 0, 255)
    level, bar = cv2.dilate(level, reach), cv2.dilate(bar, reach)
    pale = cv2.bitwise_and(cv2.bitwise_and(cv2.compare(low, level, cv2.CMP_GT),
                                           cv2.compare(chroma, bar, cv2.CMP_LT)), unclipped)
    # (the box mean of a 0/255 map, 8-bit: at least _WHITE_MIN_PX of the window's px)
    share = cv2.blur(pale, reach.shape[::-1])
    count = np.zeros(n, np.int64)
    np.maximum.at(count, ids, share[ys, xs].astype(np.int64))
    white = candidate & (count >= round(255.0 * _WHITE_MIN_PX / reach.size))
    if not white.any():
        return None
    return select_labels(labels, white)


def _within(regions: np.ndarray, near: np.ndarray, reach: float) -> np.ndarray:
    """The components of ``regions`` (uint8 0/255) with a pixel within ``reach`` px of one of
    ``near`` (a uint8 0/255 mask of the same shape; ``near`` itself is kept)."""
    n, labels = cv2.connectedComponents(regions, connectivity=8)
    if n <= 1 or not near.any():
        return np.zeros_like(regions)
    dist = cv2.distanceTransform(cv2.bitwise_not(near), cv2.DIST_L2, 3)
    keep = np.zeros(n, bool)
    keep[labels[(dist <= reach) & (regions > 0)]] = True
    keep[0] = False
    return select_labels(labels, keep)


def _on_one_box(a: tuple[np.ndarray, tuple[int, int]], b: tuple[np.ndarray, tuple[int, int]],
                ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Two uint8 0/255 crops given with their corners (x, y), placed on the box over both:
    ``(a, b, corner)``."""
    (x0, y0), (x1, y1) = np.minimum(a[1], b[1]), np.maximum(
        (a[1][0] + a[0].shape[1], a[1][1] + a[0].shape[0]),
        (b[1][0] + b[0].shape[1], b[1][1] + b[0].shape[0]))
    placed = []
    for crop, (cx, cy) in (a, b):
        out = np.zeros((y1 - y0, x1 - x0), np.uint8)
        out[cy - y0:cy - y0 + crop.shape[0], cx - x0:cx - x0 + crop.shape[1]] = crop
        placed.append(out)
    return placed[0], placed[1], (int(x0), int(y0))


def _union(a: tuple[np.ndarray, tuple[int, int]],
           b: tuple[np.ndarray, tuple[int, int]]) -> tuple[np.ndarray, tuple[int, int]]:
    """Union of two uint8 0/255 crops given with their corners (x, y): one crop over both."""
    pa, pb, corner = _on_one_box(a, b)
    return cv2.bitwise_or(pa, pb), corner


def _with_specks(glints_: tuple[np.ndarray, tuple[int, int]],
                 specks: tuple[np.ndarray, tuple[int, int]],
                 reach: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The glints (a uint8 0/255 crop and its corner (x, y)) with the specks (a crop like it)
    that lie apart from every glint (not its rim) and within ``reach`` px of one: one crop."""
    g, s, corner = _on_one_box(glints_, specks)
    n, labels = cv2.connectedComponents(s, connectivity=8)
    apart = np.ones(n, bool)
    apart[labels[cv2.dilate(g, _RING3) > 0]] = False
    apart[0] = False
    return cv2.bitwise_or(g, _within(select_labels(labels, apart), g, reach)), corner


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
        ParamSpec("edge_max_low", 64.0,
                  "Candidates on an edge of min(B,G,R) steeper than this in the frame itself "
                  "(8-bit levels per px: the range over a pixel's 3x3 neighbourhood, halved) are "
                  "ignored too: where white print meets a bright, saturated stock (yellow, "
                  "orange), its weakest channel jumps from the stock's to white in a px or two "
                  "while max(B,G,R) hardly moves, and the mixed edge pixels read as the stock "
                  "plus white light; added light raises every channel alike, so a highlight's "
                  "lobe is no steeper there than its falloff. On a pale stock (pink) the jump "
                  "is smaller: an edge that rises 85 % of the way to white within 2 px, or "
                  "within 4 px beside white print in a row (out of focus), counts "
                  "as steep too (0 = off).",
                  0.0, 255.0),
        ParamSpec("clip_level", 250,
                  "A channel at or above this (8-bit levels) is clipped: no colour left; kept only"
                  " inside a highlight region.",
                  1, 255),
        ParamSpec("busy_max", 0.45,
                  "Regions are dropped where more than this share (0..1) of the 41-px window "
                  "around them is edges (sunlit leaves and sky gaps in foliage); 1 = off.",
                  0.0, 1.0),
        ParamSpec("chroma_ratio_max", 2.5,
                  "A region whose median chroma (max-min) exceeds this times its surrounding "
                  "surface's (75th percentile, 3-7 px out) plus min_chroma is dropped: white "
                  "light keeps a pixel's chroma, so it is content of its own colour (a lit window "
                  "on a dark wall); 0 = off.",
                  0.0, 100.0),
        ParamSpec("white_chroma_ratio", 0.15,
                  "A region is dropped as the soft edge of white content (a white object, paint "
                  "or print blending into a coloured surface: out of focus, anti-aliased) where, "
                  "within 6 px of it (detection px), at least 12 unclipped px brighter than it "
                  "(and 15 levels or more below clip_level) have less than this times the "
                  "surrounding surface's chroma: added light keeps the surface's chroma up to "
                  "clipping, white content has none. 0.25 also takes the tops of highlights that "
                  "a camera's tone curve rolls off; 0 = off.",
                  0.0, 1.0),
        ParamSpec("glint_min_count", 2,
                  "Clipped white spots on a coloured surface (the glints of wet tissue in "
                  "endoscopy, of glossy paint) are reported when the frame holds at least this "
                  "many (a glossy surface; a lone white spot may be a sign or a lamp: left "
                  "alone); 0 = off. A spot: near-white, compact (not a letter's stroke), clipped "
                  "in the frame, on a lit surface at least glint_min_saturation saturated.",
                  0, 100000),
        ParamSpec("glint_min_saturation", 0.2,
                  "The surface around those spots must be at least this saturated (HSV, 0..1; "
                  "pale colon mucosa is 0.2-0.3; below min_saturation: a clipped, compact spot "
                  "needs no estimate of its surface's colour, several of them on a lit surface "
                  "are a glossy one).",
                  0.0, 1.0),
        ParamSpec("glint_wet_count", 10,
                  "A frame in which at least this many glints pass every test, the busy-texture "
                  "gate included, shows a wet or glossy surface, whose own sparkle is busy "
                  "texture: the glints within a tenth of the frame of one that passed are then "
                  "reported without that gate; 0 = off.",
                  0, 100000),
        ParamSpec("glint_speck_area", 1.5e-4,
                  "On such a wet surface, the specks within a tenth of the frame of those "
                  "glints are reported too: bumps (candidates) of at most this share of the "
                  "frame (1.5e-4: 16 px of a 384x288 frame) with max(B, G, R) >= 200 and a "
                  "saturation <= 0.4 (a few px of 4:2:0 video lose their clipping and take on "
                  "the tissue's colour), also in a pale sheen or on pale fat, that pass the "
                  "glint tests of shape and print and, unless clipped, keep half the chroma "
                  "(max - min) of the surface around them (added light keeps it; white print "
                  "has none); 0 = off.",
                  0.0, 0.005),
        ParamSpec("glint_busy_max", 0.35,
                  "busy_max for those spots (stricter: a clipped spot has no colour of its own "
                  "to go by; sky gaps in foliage are clipped white spots on green).",
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
        # Unlit pixels (the border around an endoscope's view) are no surface: left out. (By
        # cv2.threshold: cv2.compare takes a 1xN / Nx1 array for a scalar.)
        plane = extend_lit(lo, cv2.threshold(hi, UNLIT - 1, 255, cv2.THRESH_BINARY_INV)[1])
        bg, mad = background(plane, max(9, p["background_px"] // scale), p["contrast_delta"],
                             coarse=True)
        bar = cv2.addWeighted(mad, p["mad_factor"], bg, 1.0, float(p["contrast_delta"]))
        cand = cv2.compare(lo, cv2.resize(bar, (w, h), interpolation=cv2.INTER_LINEAR), cv2.CMP_GE)
        pts = cv2.findNonZero(cand)
        if pts is None:
            return None
        pts = pts.reshape(-1, 2)
        # Fit on the full frame: the same samples (and so the same, memoised, model) as the
        # ``separation`` backend's with the same settings.
        model = fit_diffuse_model(full, p["clusters"], min_chroma=p["min_chroma"],
                                  clip=p["clip_level"])
        glint_sat = p["glint_min_saturation"] if p["glint_min_count"] > 0 else 1.0
        if not (model.saturation >= min(p["min_saturation"], glint_sat)).any():
            return None  # no coloured material in the frame: nothing colour can separate
        # The mean saturation of the surface around each candidate.
        context = local_saturation(bgr, cand, max(9, p["context_px"] // scale))
        around = lookup_context(context, pts[:, 1], pts[:, 0])
        # (``min(B, G, R)`` of the frame itself: the steep-edge test is judged there)
        low_full = (None if p["edge_max_low"] <= 0 else lo if scale == 1
                    else value_and_min(full[:, :, :3])[1])
        # White print in rows, on the reduced frame (for the steep-edge test and the specks).
        printed = (print_pieces(lo) if p["edge_max_low"] > 0 or p["glint_speck_area"] > 0
                   else None)
        found = self._colour_regions(bgr, hi, pts, model, around, low_full, printed, scale)
        if found is not None and (p["chroma_ratio_max"] > 0 or p["white_chroma_ratio"] > 0):
            found = chroma_conserved(*found, hi, lo, p["clip_level"], p["chroma_ratio_max"],
                                     p["min_chroma"], p["white_chroma_ratio"])
        spots = None
        if p["glint_min_count"] > 0:
            near = around >= glint_sat  # (a glint lies on a coloured surface)
            spots = glints(hi, lo, cand, pts[near], full, scale, p["clip_level"], glint_sat)
        # The busy-texture gate, once for both kinds of region (the glints' limit is stricter).
        sets = ([(*found, p["busy_max"], None)] if found is not None and p["busy_max"] < 1.0
                else [])
        if spots is not None:
            sets.append((spots[0], spots[1], p["glint_busy_max"], spots[2]))
        if sets:
            kept = self._drop_busy(hi, sets, scale)
            glint = kept.pop() if spots is not None else None
            if kept:
                found = (kept[0][0], found[1])
            if glint is not None and glint[1] >= p["glint_min_count"]:
                glint_regions = (glint[0], spots[1])
                if glint[1] >= p["glint_wet_count"] > 0:  # a wet surface (see the ParamSpecs)
                    reach = _WET_REACH * halo_unit(hi.shape)
                    glint_regions = (_within(spots[0], glint[0], reach), spots[1])
                    specks = (None if p["glint_speck_area"] <= 0 else
                              glints(hi, lo, cand, pts[near], full, scale, p["clip_level"],
                                     glint_sat, p["glint_speck_area"], printed))
                    if specks is not None:
                        glint_regions = _with_specks(glint_regions, specks[:2], reach)
                found = glint_regions if found is None else _union(found, glint_regions)
        if found is None or not found[0].any():
            return None
        return found

    def _colour_regions(self, bgr: np.ndarray, hi: np.ndarray, pts: np.ndarray,
                        model: DiffuseModel, around: np.ndarray, low_full: np.ndarray | None,
                        printed: np.ndarray | None,
                        scale: int) -> tuple[np.ndarray, tuple[int, int]] | None:
        """Steps 2-3 (before the busy-texture gate): the candidates ``pts`` (``N x 2`` x, y)
        whose specular part says highlight, as a crop and its corner, or None; ``around``: the
        mean saturation of the surface around each candidate; ``low_full``: ``min(B, G, R)`` of
        the frame ``bgr`` is ``scale`` times reduced from (None: ``edge_max_low`` is off);
        ``printed``: :func:`print_pieces` of ``bgr`` (None: none)."""
        p = self.params
        xs, ys = pts[:, 0], pts[:, 1]
        px = bgr[ys, xs].astype(np.float32)
        sat_d = np.minimum(diffuse_saturation(model, px), around)
        s = specular_amount(px, sat_d, p["min_saturation"], p["min_chroma"])
        keep = (s >= p["weak_level"]) | (hi[ys, xs] >= p["clip_level"])
        if p["edge_max"] > 0:
            keep &= edge_slope(hi, ys, xs) <= p["edge_max"]
        if p["edge_max_low"] > 0:
            # In the frame itself (a reduced frame steepens every slope, a highlight's lobe too),
            # as the 3x3 range (2 px across: also the edge of a diagonal stroke).
            steep = steep_low_edges(low_full, p["edge_max_low"], printed, scale)
            keep &= block_max(steep, ys, xs, scale) == 0
        if not (keep & (s >= p["seed_level"])).any():
            return None
        # The rest runs on the bounding box of the kept pixels only.
        x0, y0 = int(xs[keep].min()), int(ys[keep].min())
        x1, y1 = int(xs[keep].max()) + 1, int(ys[keep].max()) + 1
        weak = np.zeros((y1 - y0, x1 - x0), np.uint8)
        weak[ys[keep] - y0, xs[keep] - x0] = 255
        weak = cv2.morphologyEx(weak, cv2.MORPH_OPEN, _OPEN)
        seeds = keep & (s >= p["seed_level"])  # (a seed the opening removed selects nothing)
        return seeded_components(weak, ys[seeds] - y0, xs[seeds] - x0), (x0, y0)

    @staticmethod
    def _drop_busy(value: np.ndarray,
                   sets: list[tuple[np.ndarray, tuple[int, int], float, np.ndarray | None]],
                   scale: int) -> list[tuple[np.ndarray, int]]:
        """Each set of regions (uint8 0/255 crop, its corner (x, y) in the reduced frame whose
        ``max(B, G, R)`` is ``value``, its limit, and a crop like the first of pixels to leave
        out too, or None) without the regions whose mean busy-texture share exceeds that limit,
        and how many regions it keeps: edge pixels among the pixels of the ``_BUSY_PX`` window
        that are in no region nor its 2-px rim (nor left out), measured once on the sets' common
        box plus that window. A haloed glint's halo is left out: its falloff is steep."""
        h, w = value.shape
        k = max(3, (_BUSY_PX // scale) | 1)
        bx0 = max(min(x for _, (x, _), _, _ in sets) - k, 0)
        by0 = max(min(y for _, (_, y), _, _ in sets) - k, 0)
        bx1 = min(max(x + c.shape[1] for c, (x, _), _, _ in sets) + k, w)
        by1 = min(max(y + c.shape[0] for c, (_, y), _, _ in sets) + k, h)
        # An edge pixel: max - min of ``value`` over its 3x3 neighbourhood (2 px across) at
        # least 2 * _BUSY_SLOPE.
        rise = cv2.morphologyEx(value[by0:by1, bx0:bx1], cv2.MORPH_GRADIENT, _RING3)
        edges = cv2.threshold(rise, 2 * _BUSY_SLOPE - 1, 255, cv2.THRESH_BINARY)[1]
        # The regions and a 2-px rim are left out: a small highlight's own steep rim is not the
        # texture of the surface it lies on. (uint8 0/255 box means: OpenCV's fast path.)
        inside = np.zeros(edges.shape, np.uint8)
        for crop, (x0, y0), _, _ in sets:
            part = inside[y0 - by0:y0 - by0 + crop.shape[0], x0 - bx0:x0 - bx0 + crop.shape[1]]
            np.bitwise_or(part, crop, out=part)
        around = cv2.compare(cv2.dilate(inside, _RIM), 0, cv2.CMP_EQ)
        shared = (cv2.blur(cv2.bitwise_and(edges, around), (k, k)), cv2.blur(around, (k, k)))
        kept = []
        for crop, (x0, y0), limit, leave_out in sets:
            num, den = shared
            if leave_out is not None:  # (its own box means, on the common box)
                part = around.copy()
                sub = part[y0 - by0:y0 - by0 + crop.shape[0], x0 - bx0:x0 - bx0 + crop.shape[1]]
                sub[leave_out > 0] = 0
                num = cv2.blur(cv2.bitwise_and(edges, part), (k, k))
                den = cv2.blur(part, (k, k))
            pts = cv2.findNonZero(crop)
            if pts is None:
                kept.append((crop, 0))
                continue
            # Sampled at the regions' pixels only, averaged per region.
            pts = pts.reshape(-1, 2)
            xs, ys = pts[:, 0], pts[:, 1]
            n, labels = cv2.connectedComponents(crop, connectivity=8)
            ids = labels[ys, xs]
            gy, gx = ys + (y0 - by0), xs + (x0 - bx0)
            busy = num[gy, gx].astype(np.float32) / np.maximum(den[gy, gx], 1).astype(np.float32)
            share = (np.bincount(ids, busy, minlength=n)
                     / np.maximum(np.bincount(ids, minlength=n), 1))
            keep = share <= limit
            keep[0] = False
            kept.append((crop if keep[1:].all() else select_labels(labels, keep),
                         int(np.count_nonzero(keep))))
        return kept
