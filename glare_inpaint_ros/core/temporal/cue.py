"""The motion cue: highlights that slide over the surface, found on any surface colour
(``temporal.motion_cue.*``).

Colour cannot tell a highlight on grey metal or white paper from paint or letters (both are
achromatic, :mod:`..dichromatic`). Motion can: when the camera or the part moves, paint and letters
move *with* the surface, while a highlight stays with the light and slides over it. The cue keeps a
memory of the surface, warped with it from frame to frame, and reports a bright bump where the
surface under it was seen recently and was clearly darker.

Per frame, at the motion tracker's reduced resolution (grey frames, backward flow):

1. Candidates: bumps of the grey frame above its highlight-free local background (the
   ``local_contrast`` median background, ``background_px``) by ``contrast_delta`` levels plus
   ``mad_factor`` times the local texture.
2. Surface motion: the optical flow outside the candidates; inside each candidate region the
   camera model (a translation, or an affine field when that explains the flow clearly better:
   driving forward, zooming, rolling) plus the median of the flow's residual from it over the
   ring 2 to 8 px around the region (the flow *on* a highlight, and just beside it, is pulled
   towards the highlight's own motion: the quarter-resolution DIS field is smooth; the median
   keeps a paint edge or another object in the ring from shifting it; a single translation per
   region is wrong by a pixel across a wide region when the camera drives forward).
3. The surface memory (grey level, and a weight that is 1 where the surface was seen and fades
   with the time constant ``memory_s``) is moved with that motion without resampling: each cell
   comes whole from the cell nearest to its source, and the sub-pixel remainder is carried to the
   next frame (bilinear resampling, repeated frame after frame, blurs the surface around a
   long-lived candidate into it). Where a candidate sits on remembered surface (weight >= 0.5:
   seen within about ``0.7 * memory_s``), ``rise`` = current grey - remembered grey, averaged
   over 3x3 cells (a thin stroke splits its light between neighbouring cells by its sub-pixel
   position; the sum does not change when it moves with the surface).
4. A candidate region is a sliding highlight when at least ``min_evidence`` of the remembered
   pixels of its core (``core_px`` in from its edge, where half a pixel of flow error would fake a
   rise on content) rose by ``min_rise`` levels or more, with at least ``min_known`` such pixels;
   the surface 2-4 px around it is textured (``min_texture``: the flow on a flat wall or sky lags,
   which would fake a rise on a lamp or a lit window); its brightest pixel reaches ``min_peak``;
   and it covers at most ``max_area`` of the frame. A region that lies (``track_overlap``) on the
   last frame's sliding highlights, moved with the flow, needs no new evidence: under a slow
   highlight the surface stays hidden longer than the memory lasts.
5. The memory takes the current grey level outside the candidates only, so the surface under a
   highlight keeps the value it had before the highlight reached it; bright content that moves
   with the surface (paint, letters) is a candidate from the moment it is seen, so it never gets a
   darker memory and is never reported.

The reported regions (scaled to the frame, grown by ``grow_px``) are added to the frame's mask
before the temporal mask and fill, which fill them from the background seen earlier.

Limits: a bright object that moves against the rest of the scene (a white car overtaking in road
video) can look like a highlight at its leading edge; ``max_area`` and ``min_peak`` keep the cue
to small, near-clipped regions. Highlights under about three flow pixels across (12 px at the
default ``flow_scale`` 0.25), and highlights on flat, untextured surfaces, are not found (left
alone). The fill restores what earlier frames showed of the surface; until the surface under a
highlight has been seen, the region is push-pull filled.

Conventions: masks ``HxW`` uint8, 255 = glare; grey levels 0..255; times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from ..detectors.local_contrast import background
from ..masks import compare, select_labels
from ..params import ParamSpec, Schema
from .motion import FrameMotion, PixelGrid

#: Weight from which a memory cell counts as remembered surface.
_KNOWN = np.float32(0.5)
#: The camera model is affine when that cuts the flow's median absolute residual below this
#: share of the residual around the median flow (else it is a plain translation).
_AFFINE_GAIN = 0.6


@dataclass(frozen=True)
class CueMasks:
    """What :meth:`MotionCue.update` found in one frame (``HxW`` uint8, 255 = set, or None when
    empty).

    Attributes:
        sliding: the sliding highlights, to add to the glare mask.
        bright: every candidate (bright bump) that is not remembered surface: pixels the temporal
            fill must not remember as background (they may be glare not yet confirmed).
    """

    sliding: np.ndarray | None
    bright: np.ndarray | None


def _median_by(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per id 0..n-1, the (upper) median of ``values`` (|value| <= 500; 0 where an id has
    none)."""
    # One sort of id * 1024 + value (float64: exact enough) groups the ids and orders each group.
    key = ids * 1024.0 + np.clip(values, -500.0, 500.0)
    key.sort()
    cnt = np.bincount(ids, minlength=n)
    mid = np.cumsum(cnt) - cnt + cnt // 2
    out = key[np.minimum(mid, max(len(key) - 1, 0))] - np.arange(n) * 1024.0 if len(key) else 0
    return np.where(cnt > 0, out, 0.0).astype(np.float32)


def _camera_model(flow: np.ndarray, where: np.ndarray, step: int = 4) -> np.ndarray:
    """How the surface motion varies across the frame: the slopes ``[[ax, ay], [bx, by]]`` of
    flow_x = a0 + ax x + ay y and flow_y = b0 + bx x + by y (px per px), fitted to ``flow``
    (``h x w x 2``, reduced px) over the pixels ``where`` (every ``step``-th row and column);
    the offsets a0, b0 are left to the caller (a median per region).

    The slopes of the affine least-squares fit (refitted once without the pixels more than
    0.5 px off) when it explains the flow clearly better than its median does (median absolute
    residual under :data:`_AFFINE_GAIN` of it: a zoom, driving forward, a rotation); else zero
    (a pan: a fitted slope is then only noise, and lagging flow on flat walls and sky tilts
    it)."""
    ys, xs = np.nonzero(where[::step, ::step])
    if len(xs) < 12:
        return np.zeros((2, 2))
    ys, xs = ys * step, xs * step
    f = flow[ys, xs].astype(np.float64)
    const = np.median(f, axis=0)
    a = np.stack([np.ones(len(xs)), xs, ys], axis=1).astype(np.float64)
    keep = np.ones(len(xs), bool)
    coef = np.zeros((3, 2))
    for _ in range(2):
        ak = a[keep]
        normal = ak.T @ ak
        if abs(np.linalg.det(normal)) < 1e-9:
            break
        coef = np.linalg.solve(normal, ak.T @ f[keep])  # 3 x 2
        keep = np.abs(a @ coef - f).max(axis=1) <= 0.5
        if keep.sum() < 12:
            break
    e_aff = np.median(np.abs(a @ coef - f), axis=0)
    e_const = np.median(np.abs(f - const), axis=0)
    if np.all(e_aff < _AFFINE_GAIN * e_const):
        return coef[1:].T
    return np.zeros((2, 2))


class MotionCue:
    """Sliding highlights from a surface memory carried along the optical flow.

    See :mod:`glare_inpaint_ros.core.temporal.cue` for the rule. State: the remembered grey level
    and its weight per reduced-resolution pixel, and the stamp of the last frame.
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("enabled", True,
                  "With the temporal stages on: add bright regions that slide over the surface "
                  "(a highlight moving against the surface under it, on any surface colour) to "
                  "the mask."),
        ParamSpec("contrast_delta", 30,
                  "A candidate's grey level exceeds its local background by this many 8-bit "
                  "levels (+ the texture term).", 0, 255),
        ParamSpec("mad_factor", 1.5,
                  "Texture term: the contrast bar grows by this factor times the local median "
                  "absolute deviation.", 0.0, 20.0),
        ParamSpec("background_px", 128,
                  "Background median window, px in the frame (wider than the highlights).",
                  9, 2048),
        ParamSpec("min_rise", 40,
                  "Rise over the remembered surface (8-bit grey levels) that counts as evidence "
                  "of a highlight.", 1, 255),
        ParamSpec("min_evidence", 0.5,
                  "Share (0..1) of a candidate region's remembered pixels that must have risen.",
                  0.0, 1.0),
        ParamSpec("core_px", 1,
                  "Evidence is counted this many reduced-resolution px (flow_scale) in from a "
                  "region's edge, where flow errors cannot fake a rise; thinner regions are "
                  "never reported.", 0, 16),
        ParamSpec("min_known", 6,
                  "Fewest core pixels (reduced resolution) on remembered surface a region needs "
                  "for a decision: smaller regions (a lit window, a lamp) are left alone.",
                  1, 10000),
        ParamSpec("min_texture", 5.5,
                  "Mean grey gradient (8-bit levels per reduced px) of the surface 2-4 reduced px "
                  "around a region below which its surface motion is not trusted (optical flow "
                  "on a flat wall or sky lags): the region is left alone.", 0.0, 255.0),
        ParamSpec("min_peak", 200,
                  "A region's brightest grey level must reach this (8-bit levels).", 0, 255),
        ParamSpec("max_area", 0.02,
                  "Largest region reported, as a fraction 0..1 of the frame.", 0.0, 1.0),
        ParamSpec("memory_s", 1.0,
                  "Time constant of the surface memory, s: surface seen about 0.7x this long ago "
                  "or more recently counts as remembered.", 0.001, 60.0),
        ParamSpec("grow_px", 6,
                  "Reported regions grow by this many px in the frame: the highlight's rim, "
                  "which the regions, found at the flow's resolution, cut off (a reduced px is "
                  "4 frame px at flow_scale 0.25). 3: metal video 0.25 dB lower in the glare.",
                  0, 64),
        ParamSpec("flow_finest_scale", 0,
                  "DIS optical flow for the cue (not for the temporal mask and fill): the finest "
                  "pyramid level it is refined at, 0 = the flow image itself (about 0.1 px median "
                  "error on pans, about 8 ms at 320 x 180 px) .. 2 = the ULTRAFAST preset's own "
                  "(about 0.3 px, under 1 ms; then thin paint and letters in slow pans are taken "
                  "for sliding highlights).", 0, 4),
        ParamSpec("track_overlap", 0.2,
                  "A region at least this share (0..1) of which lies on the last frame's sliding "
                  "highlights, moved with the flow, stays reported without new evidence (the "
                  "surface under a slow highlight is hidden longer than the memory lasts); the "
                  "texture, peak and area gates still apply. 0 = off.", 0.0, 1.0),
    )

    def __init__(self, **params: Any) -> None:
        """``params``: :attr:`PARAMS` values."""
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)
        self._grid = PixelGrid()
        self.reset()

    def reset(self) -> None:
        """Forget the surface memory (the next frame reports nothing)."""
        self._memory: np.ndarray | None = None
        self._weight: np.ndarray | None = None
        self._offset: np.ndarray | None = None  # where each cell's surface point lies, px
        self._sliding: np.ndarray | None = None  # the last frame's regions (reduced resolution)
        self._last_stamp: float | None = None
        #: What the last :meth:`update` returned (diagnostics, tests).
        self.last = CueMasks(None, None)

    def update(self, motion: FrameMotion) -> CueMasks:
        """Process one frame; return its sliding highlights and bright candidates (both empty when
        there is nothing to compare with: an ignored frame, no image).

        Args:
            motion: the frame's :class:`FrameMotion` (its reduced grey frames and flow).
        """
        cur = motion.cur_small
        if cur is None or motion.ignored or (self._last_stamp is not None
                                             and motion.stamp <= self._last_stamp
                                             and not motion.is_reset):
            self.last = CueMasks(None, None)
            return self.last
        p = self.params
        sx, sy = motion.scale
        cand = self._candidates(cur, max(sx, sy))
        flow = motion.flow_small(p["flow_finest_scale"])
        found = None
        if flow is None or self._memory is None or self._memory.shape != cur.shape:
            self._memory = cur.copy()
            self._weight = (cand == 0).astype(np.float32)
            self._offset = np.zeros((*cur.shape, 2), np.float32)
            self._sliding = None
        else:
            assert self._weight is not None
            n, labels = cv2.connectedComponents(cand, connectivity=8)
            # The surface 2 px and more from any candidate: nearer, a bright region's own edge
            # (which moves with a highlight) drags the flow and makes texture.
            clear = cv2.dilate(cand, np.ones((5, 5), np.uint8)) == 0
            surface = self._surface_flow(flow, labels, n, clear)
            texture = self._ring_texture(cur, labels, n, clear)
            memory, weight = self._carry(surface)
            weight *= np.float32(np.exp(-max(motion.dt, 0.0) / p["memory_s"]))
            if n > 1:
                found = self._regions(cur, memory, weight, labels, n, cand, texture,
                                      self._followed(flow, labels, n))
            self._sliding = found
            # Remember the surface where it is not a candidate; keep the warped memory elsewhere.
            seen = cand == 0
            np.copyto(memory, cur, where=seen)
            weight[seen] = 1.0
            self._offset[seen] = 0.0
            self._memory, self._weight = memory, weight
        self._last_stamp = motion.stamp
        bright = cv2.bitwise_and(cand, compare(self._weight, float(_KNOWN), cv2.CMP_LT))
        self.last = CueMasks(None if found is None else self._to_frame(found, motion.shape),
                             self._to_frame(bright, motion.shape) if bright.any() else None)
        return self.last

    def _carry(self, surface: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The memory and its weight moved with the surface flow ``surface`` (backward, reduced
        px), without resampling.

        Each cell is taken whole from the previous cell whose surface point lies nearest to
        where the flow says the new cell's point was, and the sub-pixel remainder is carried
        in ``_offset``: bilinear resampling, repeated frame after frame, would blur the surface
        around a long-lived candidate into it (remembered asphalt under the middle of a lane
        line after a second of slow panning), and nearest resampling without the remainder
        would drift by up to half a pixel per frame. Cells whose source lies outside the frame
        are forgotten (weight 0)."""
        assert self._memory is not None and self._weight is not None
        assert self._offset is not None
        gx, gy = self._grid.get(self._memory.shape)
        sx, sy = gx + surface[..., 0], gy + surface[..., 1]
        x0, y0 = np.floor(sx), np.floor(sy)
        # Of the four cells around the source, the one whose surface point lies nearest to it
        # (remap with integer maps and INTER_NEAREST is a gather; REPLICATE clamps at the edge).
        best = nx = ny = None
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            cx, cy = x0 + np.float32(dx), y0 + np.float32(dy)
            off = cv2.remap(self._offset, cx, cy, cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_REPLICATE)
            d = cv2.magnitude(cx + off[..., 0] - sx, cy + off[..., 1] - sy)
            if best is None:
                best, nx, ny = d, cx, cy
            else:
                closer = d < best
                best = np.where(closer, d, best)
                nx, ny = np.where(closer, cx, nx), np.where(closer, cy, ny)
        offset = cv2.remap(self._offset, nx, ny, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_REPLICATE)
        offset[..., 0] += nx - sx
        offset[..., 1] += ny - sy
        self._offset = offset
        # From outside the frame: weight 0 (forgotten); the memory takes the nearest edge cell,
        # which keeps the 3x3 rise (:meth:`_local_rise`) near the frame edge meaningful.
        memory = cv2.remap(self._memory, nx, ny, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_REPLICATE)
        weight = cv2.remap(self._weight, nx, ny, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        return memory, weight

    def _to_frame(self, small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """A reduced-resolution 0/255 mask at the frame's ``shape`` (H, W), grown by
        ``grow_px``."""
        h, w = shape
        mask = compare(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), 127,
                       cv2.CMP_GT)
        if self.params["grow_px"] > 0:
            k = 2 * self.params["grow_px"] + 1
            mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        return mask

    def _candidates(self, grey: np.ndarray, scale: float) -> np.ndarray:
        """Bright bumps (uint8 0/255) of a reduced grey frame over its local background."""
        p = self.params
        h, w = grey.shape
        bg, mad = background(grey, max(3, round(p["background_px"] * scale)), p["contrast_delta"])
        bar = cv2.addWeighted(mad, p["mad_factor"], bg, 1.0, float(p["contrast_delta"]))
        bar = cv2.resize(bar, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.compare(grey, bar, cv2.CMP_GE)

    @staticmethod
    def _surface_flow(flow: np.ndarray, labels: np.ndarray, n: int,
                      clear: np.ndarray) -> np.ndarray:
        """The flow with each candidate region set to the surface motion around it: the camera
        model (:func:`_camera_model`, fitted on the ``clear`` surface, 2 px and more from any
        candidate) plus the median of the flow's residual from it over the clear ring up to 8 px
        around the region (a median: a paint edge or a second object in the ring does not shift
        it)."""
        if n <= 1:
            return flow
        grown = cv2.dilate(labels.astype(np.float32), np.ones((17, 17), np.uint8))
        ring = clear & (grown > 0)
        ids = grown[ring].astype(np.int64)
        slopes = _camera_model(flow, clear)
        yy, xx = np.nonzero(labels > 0)
        lab = labels[yy, xx]
        ys, xs = np.nonzero(ring)  # (the order of boolean indexing)
        out = flow.copy()
        for c in range(2):
            ax, ay = slopes[c]
            off = _median_by(ids, flow[..., c][ring] - (ax * xs + ay * ys), n)
            out[..., c][yy, xx] = off[lab] + ax * xx + ay * yy
        return out

    @staticmethod
    def _ring_texture(grey: np.ndarray, labels: np.ndarray, n: int,
                      clear: np.ndarray) -> np.ndarray:
        """Per region label, the mean grey gradient (levels per reduced px) on the ``clear``
        surface (2 px and more from any candidate) up to 4 px away from the region: the texture
        its surface motion rests on (the region's own edge left out)."""
        grown = cv2.dilate(labels.astype(np.float32), np.ones((9, 9), np.uint8))
        ring = clear & (grown > 0)
        ids = grown[ring].astype(np.int64)
        g = grey.astype(np.float32)
        grad = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1))
        cnt = np.maximum(np.bincount(ids, minlength=n), 1)
        return (np.bincount(ids, grad[ring], minlength=n) / (8.0 * cnt)).astype(np.float32)

    def _followed(self, flow: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
        """Per region label, whether at least ``track_overlap`` of it lies on the last frame's
        sliding highlights moved with the flow (the raw flow: on a highlight it lies between the
        highlight's motion and the surface's; a highlight moves less than a reduced px per
        frame against its surface, so the overlap holds)."""
        share = self.params["track_overlap"]
        if share <= 0 or self._sliding is None or n <= 1:
            return np.zeros(n, bool)
        gx, gy = self._grid.get(labels.shape)
        moved = cv2.remap(self._sliding, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        inside = labels > 0
        lab = labels[inside]
        on = np.bincount(lab, moved[inside] > 0, minlength=n)
        return (on > 0) & (on >= share * np.bincount(lab, minlength=n))

    @staticmethod
    def _local_rise(cur: np.ndarray, memory: np.ndarray) -> np.ndarray:
        """Per reduced px, the mean rise of the current grey over the remembered one across its
        3x3 neighbourhood (float32 levels).

        A thin bright stroke (paint, a letter) spans one or two reduced px, and how its light
        splits between them depends on its sub-pixel position: one cell can read 60 levels more
        than the same cell a frame earlier although nothing moved over the surface. The sum
        across the stroke does not change, so the rise is compared over neighbourhoods."""
        return cv2.blur(cur.astype(np.float32) - memory, (3, 3), borderType=cv2.BORDER_REPLICATE)

    def _regions(self, cur: np.ndarray, memory: np.ndarray, weight: np.ndarray,
                 labels: np.ndarray, n: int, cand: np.ndarray, texture: np.ndarray,
                 followed: np.ndarray) -> np.ndarray | None:
        """The candidate regions (uint8 0/255, reduced resolution) that are sliding highlights,
        or None.

        Evidence is counted on each region's core only (``core_px`` reduced pixels in from its
        edge): at the edge a flow error of half a pixel brings remembered background onto
        content that moves with the surface (a lane line), which would look like a rise. A
        region ``followed`` from the last frame's highlights needs no new evidence.
        """
        p = self.params
        inside = labels > 0
        lab = labels[inside]
        grey = cur[inside]
        area = np.bincount(lab, minlength=n)
        peak = np.zeros(n, np.uint8)
        np.maximum.at(peak, lab, grey)
        core = cand
        if p["core_px"] > 0:
            k = 2 * p["core_px"] + 1
            core = cv2.erode(cand, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        at = core > 0
        lab = labels[at]
        known = weight[at] >= _KNOWN
        rise = self._local_rise(cur, memory)
        rose = known & (rise[at] >= p["min_rise"])
        n_known = np.bincount(lab, known, minlength=n)
        n_rose = np.bincount(lab, rose, minlength=n)
        evidence = ((n_known >= p["min_known"]) & (n_rose >= p["min_evidence"] * n_known)
                    & (n_rose > 0))
        ok = ((evidence | followed) & (texture >= p["min_texture"])
              & (peak >= p["min_peak"]) & (area <= p["max_area"] * labels.size))
        ok[0] = False
        if not ok.any():
            return None
        return select_labels(labels, ok)
