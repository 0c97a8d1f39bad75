"""The temporal fill: masked pixels from flow-aligned background seen earlier, spatial fallback
(``temporal.fill.*``).

Images ``HxW`` / ``HxWx3`` BGR / ``HxWx4`` BGRA, uint8 or uint16; masks ``HxW`` uint8, non-zero =
fill; times in seconds (frame stamps).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import cv2
import numpy as np

from ..inpainting.roi import Box, component_boxes, grow_boxes
from ..masks import compare
from ..params import ParamSpec, Schema
from ..validation import check_image, check_mask
from .atlas import Atlas
from .motion import FrameMotion
from .pixels import blend, gray_list, nonzero_xy, pixel_view, sample

#: "Never observed" age of a filled pixel, s.
_NEVER = np.float32(1e9)
#: Age of a pixel that was neither observed nor filled (``unobserved``): nothing to reuse.
_UNSEEN = np.float32(np.inf)
#: ``(x, y)`` subsampling of the ring pixels used for the sub-pixel refinement of the fill.
_RING_STEP = (4, 2)


def _small_mask(mask: np.ndarray, boxes: list[Box], size: tuple[int, int]) -> np.ndarray:
    """``mask`` (``HxW`` uint8, non-zero = hole) at the flow resolution ``size`` = (width, height):
    255 where the area average is > 0, else 0.

    ``boxes`` must contain every mask pixel (:func:`component_boxes`). When the frame is an
    integer multiple of ``size`` (the usual case) only the blocks under the boxes are resized
    (bit-identical to resizing the whole frame: INTER_AREA is then a plain block average);
    otherwise the whole frame is resized.
    """
    h, w = mask.shape
    sw, sh = size
    if w % sw or h % sh:
        return compare(cv2.resize(mask, size, interpolation=cv2.INTER_AREA), 0, cv2.CMP_GT)
    bx, by = w // sw, h // sh
    small = np.zeros((sh, sw), np.uint8)
    for x0, y0, x1, y1 in boxes:
        a0, b0, a1, b1 = x0 // bx, y0 // by, -(-x1 // bx), -(-y1 // by)
        crop = mask[b0 * by:b1 * by, a0 * bx:a1 * bx]
        if bx > 1 or by > 1:
            crop = cv2.resize(crop, (a1 - a0, b1 - b0), interpolation=cv2.INTER_AREA)
        # Blocks shared by two boxes get the same value from both (each sees the whole block).
        small[b0:b1, a0:a1] = compare(crop, 0, cv2.CMP_GT)  # (one block: 1x1)
    return small


class TemporalFill:
    """Fill masked pixels from flow-aligned background seen in earlier frames; spatial fallback.

    Per frame (:meth:`update`), given the input, its mask and the spatial inpainter's result:

    1. Flow in the holes: the backward flow is replaced, inside each mask component grown by
       ``ring_px``, by the mean flow of its ring (the pixels around it that are masked neither now
       nor in the previous frame), so a highlight's own motion does not drag the fill.
    2. Reliability: the previous grey frame, warped with that flow, must match the current one on
       the ring (mean absolute error <= ``max_photometric_error`` levels, >= 4 ring pixels at the
       flow resolution); otherwise the component uses the spatial fill.
    3. Per masked pixel with reliable flow: if the warped previous output there was observed
       background (age <= ``max_age_s``), it is used (weight 1, feathered towards the spatial fill
       over ``feather_px`` px at the edges of that region); if it was itself filled spatially, the
       output is ``a * spatial + (1 - a) * previous`` with ``a = 1 - exp(-dt / smoothing_s)``
       (exponential smoothing of what had to be invented, the same time constant at any frame
       rate: ``a`` = 0.125 at 30 Hz with the default 0.25 s); otherwise the spatial fill.

    The output frame becomes the next frame's "previous output", with a per-pixel age: 0 outside
    the mask, previous age + dt where filled from observed background, "never" where filled
    spatially.
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("enabled", False,
                  "Fill masked pixels from background seen in earlier frames (flow-aligned), "
                  "falling back to the spatial backend (needs frame stamps)."),
        ParamSpec("max_age_s", 1.0, "Use background last observed at most this long ago, s.", 0.0,
                  60.0),
        ParamSpec("max_photometric_error", 12.0,
                  "Largest mean absolute grey error between the current frame and the flow-warped "
                  "previous frame on the ring around a hole for the flow to be trusted, 8-bit "
                  "levels.", 0.0, 255.0),
        ParamSpec("ring_px", 8,
                  "Width of the ring around each hole used for the flow and its check, px.", 1,
                  128),
        ParamSpec("feather_px", 3,
                  "Feather radius of the seam between temporal and spatial fill, px (0 = hard "
                  "seam).", 0, 64),
        ParamSpec("smoothing_s", 0.25,
                  "Where the background was never seen: time constant of the exponential "
                  "smoothing of this frame's spatial fill with the motion-compensated previous "
                  "fill, s (0 = this frame's spatial fill alone; 0.25 s gives the new fill a "
                  "weight of 0.125 at 30 Hz, 0.33 at 10 Hz).", 0.0, 10.0),
    )

    def __init__(self, **params: Any) -> None:
        """``params``: :attr:`PARAMS` values."""
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)
        p = self.params
        r = p["ring_px"]
        #: The ring (pixels within ~ring_px of a hole) is a dilation by an octagon approximating
        #: the disk of radius ring_px: the union of three rectangles, each dilated separably
        #: (about half the cost of a 17x17 elliptic kernel at the default 8 px).
        a, b = round(r / 2), round(r / math.sqrt(2))
        self._ring_kernels = tuple(
            cv2.getStructuringElement(cv2.MORPH_RECT, size)
            for size in ((2 * r + 1, 2 * a + 1), (2 * a + 1, 2 * r + 1), (2 * b + 1, 2 * b + 1)))
        #: Context around each hole's box, px: the ring and the feather must fit inside.
        self._margin = max(p["feather_px"] + 1, r)
        #: Atlas padding around each box, px: >= feather (blur), >= 1 (Sobel), and two pads
        #: > ring_px so a hole's ring never reaches a neighbouring tile.
        self._pad = max(p["feather_px"], r // 2 + 1, 1)
        self.reset()

    def reset(self) -> None:
        """Forget the previous output (the next frame gets the spatial fill)."""
        self._prev_out: np.ndarray | None = None  # previous output frame (a reused buffer)
        # HxW float32, s since the pixel's content was observed
        self._age: np.ndarray | None = None
        # where ``_age`` may be non-zero (None = anywhere)
        self._age_boxes: list[Box] | None = None
        self._age_spare: np.ndarray | None = None  # the other age buffer (ping-pong)
        self._spare_boxes: list[Box] | None = None
        self._prev_mask_small: np.ndarray | None = None
        self._last_stamp: float | None = None
        #: ``(shape, flat indices, codes)`` behind :attr:`last_source`.
        self._source: tuple[tuple[int, int], np.ndarray | None, np.ndarray | None] | None = None

    def update(self, image: np.ndarray, mask: np.ndarray, spatial: np.ndarray, motion: FrameMotion,
               *, reuse_spatial: bool = False, rects: np.ndarray | None = None,
               unobserved: np.ndarray | None = None) -> np.ndarray:
        """Return ``image`` with the ``mask > 0`` pixels filled (temporal where possible).

        Args:
            image: the input frame (``HxW`` / ``HxWx3`` BGR / ``HxWx4`` BGRA, uint8 or uint16).
            mask: ``HxW`` uint8 (non-zero = fill) or bool; may be empty (the frame is recorded).
            spatial: the spatial inpainter's result for ``(image, mask)``: same shape and dtype.
            motion: the frame's :class:`FrameMotion` from the stream's
                :class:`~.motion.MotionTracker`, which the caller owns and updates once per frame.
            reuse_spatial: ``spatial`` is a private array of the caller that may be overwritten
                and returned (it equals ``image`` outside the mask, the inpainter contract),
                saving one full-frame copy; ignored when it shares memory with ``image``.
            rects: the mask's :func:`~.inpainting.roi.component_rects`, when the caller has
                them already (the pipeline computes them once for the inpainter and this stage).
            unobserved: ``HxW`` uint8, non-zero = pixels outside the mask that must not be
                remembered as background (bright regions that may be glare not yet confirmed,
                :mod:`.cue`); later frames neither reuse nor smooth with them.

        Returns:
            A new array (``spatial`` itself with ``reuse_spatial``) of ``image``'s shape (an
            ``HxWx1`` frame stays ``HxWx1``); pixels where ``mask == 0`` are bit-identical to
            ``image``.

        Raises:
            ValueError / TypeError: bad arrays or mismatched sizes / dtypes (``motion`` included).
        """
        shape = getattr(image, "shape", None)
        image = check_image(image)  # (HxWx1 -> HxW: the state keeps 2-D mono frames)
        m = check_mask(mask, image.shape)
        spatial = check_image(spatial, name="spatial")
        if spatial.shape != image.shape or spatial.dtype != image.dtype:
            raise ValueError(
                f"spatial fill shape/dtype {spatial.shape}/{spatial.dtype} does not match image "
                f"{image.shape}/{image.dtype}")
        if motion.shape != image.shape[:2]:
            raise ValueError(
                f"motion is for frames of size {motion.shape}, image is {image.shape[:2]}")
        reuse = (reuse_spatial and spatial.flags.c_contiguous and spatial.flags.writeable
                 and not np.may_share_memory(spatial, image))
        out = spatial if reuse else image.copy()
        if motion.ignored or (self._last_stamp is not None and motion.stamp <= self._last_stamp
                              and not motion.is_reset):
            # A late / duplicated frame: the spatial fill, the state untouched.
            if not reuse:
                cv2.copyTo(spatial, m, out)
            return out if out.shape == shape else out.reshape(shape)
        if rects is None:
            boxes = component_boxes(m, self._margin) if cv2.countNonZero(m) else []
        else:
            boxes = grow_boxes(rects, self._margin, m.shape)
        self._source = (m.shape, None, None)  # spatial everywhere unless the temporal fill runs
        usable = (not motion.is_reset and self._prev_out is not None and self._age is not None
                  and self._prev_out.shape == image.shape and self._prev_out.dtype == image.dtype
                  and motion.prev_stamp == self._last_stamp)
        flow = motion.flow_small() if usable and boxes else None
        small_mask = None
        if motion.small_size != (0, 0):
            small_mask = _small_mask(m, boxes, motion.small_size)
        age = self._spare_age(image.shape[:2])
        done = False
        if flow is not None and small_mask is not None:
            done = self._fill_temporal(image, m, spatial, motion, flow, small_mask, boxes, out,
                                       age)
        if not done:  # spatial fill everywhere; the filled pixels were never observed
            for x0, y0, x1, y1 in boxes:
                hole = m[y0:y1, x0:x1] > 0
                if not reuse:
                    np.copyto(out[y0:y1, x0:x1], spatial[y0:y1, x0:x1],
                              where=hole[..., None] if out.ndim == 3 else hole)
                age[y0:y1, x0:x1][hole] = _NEVER
        if unobserved is not None:
            extra = component_boxes(check_mask(unobserved, image.shape, name="unobserved"), 0)
            for x0, y0, x1, y1 in extra:
                sub = (unobserved[y0:y1, x0:x1] > 0) & (m[y0:y1, x0:x1] == 0)
                age[y0:y1, x0:x1][sub] = _UNSEEN
            boxes = boxes + extra  # the age buffer is cleared on these boxes next time
        if self._prev_out is None or self._prev_out.shape != out.shape or \
                self._prev_out.dtype != out.dtype:
            self._prev_out = np.empty_like(out)
        np.copyto(self._prev_out, out)
        # Ping-pong the age buffers: the one just written becomes the previous frame's.
        self._age_spare, self._spare_boxes = self._age, self._age_boxes
        self._age, self._age_boxes = age, boxes
        self._prev_mask_small = small_mask
        self._last_stamp = motion.stamp
        return out if out.shape == shape else out.reshape(shape)

    @property
    def reused_fraction(self) -> float:
        """Fraction 0..1 of the last frame's masked pixels taken from observed background
        (:attr:`last_source` == 1); 0 for a spatial-only frame or an empty mask, NaN before the
        first frame."""
        if self._source is None:
            return math.nan
        codes = self._source[2]
        return (float(np.count_nonzero(codes == 1)) / codes.size if codes is not None
                and codes.size else 0.0)

    @property
    def last_source(self) -> np.ndarray | None:
        """Per-pixel source of the last output inside its mask (``HxW`` uint8): 0 spatial fill,
        1 observed background (temporal), 2 spatial fill smoothed with the previous fill; 0
        outside the mask. None before the first frame. Built on demand (diagnostics, tests)."""
        if self._source is None:
            return None
        shape, lin, codes = self._source
        src = np.zeros(shape, np.uint8)
        if lin is not None:
            src.reshape(-1)[lin] = codes
        return src

    def _spare_age(self, shape: tuple[int, int]) -> np.ndarray:
        """The spare age buffer, all zero (only the boxes it was last written in are cleared)."""
        buf = self._age_spare
        if buf is None or buf.shape != shape:
            return np.zeros(shape, np.float32)
        if self._spare_boxes is None:
            buf.fill(0)
        else:
            for x0, y0, x1, y1 in self._spare_boxes:
                buf[y0:y1, x0:x1] = 0
        return buf

    def _hole_flow(self, motion: FrameMotion, flow: np.ndarray, small_mask: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flow with each grown hole set to its ring's mean, at small resolution, plus the label
        image of the grown holes (``int32``, 0 = outside) and the per-label "flow ok" flags.

        The ring tests (previous mask, photometric error) run on the ring's pixel list, not on
        whole small-resolution images.
        """
        p = self.params
        sx, sy = motion.scale
        r = max(1, round(p["ring_px"] * max(sx, sy)))
        grown = cv2.dilate(small_mask,
                           cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        n, labels = cv2.connectedComponents(grown, connectivity=8)
        rx, ry = nonzero_xy(
            cv2.compare(grown, small_mask, cv2.CMP_GT))  # the ring (grown, not hole)
        fx_r, fy_r = flow[ry, rx, 0], flow[ry, rx, 1]
        xf, yf = rx.astype(np.float32), ry.astype(np.float32)
        if self._prev_mask_small is not None and self._prev_mask_small.shape == small_mask.shape:
            # Drop the ring pixels that were inside a hole in the previous frame.
            keep = sample(self._prev_mask_small, xf + fx_r, yf + fy_r, cv2.INTER_NEAREST,
                          cv2.BORDER_CONSTANT) == 0
            ry, rx, fx_r, fy_r, xf, yf = (ry[keep], rx[keep], fx_r[keep], fy_r[keep], xf[keep],
                                          yf[keep])
        lab = labels[ry, rx]
        cnt = np.bincount(lab, minlength=n).astype(np.float64)
        safe = np.maximum(cnt, 1.0)
        fx = (np.bincount(lab, fx_r, minlength=n) / safe).astype(np.float32)
        fy = (np.bincount(lab, fy_r, minlength=n) / safe).astype(np.float32)
        inside = grown > 0
        filled = flow.copy()
        lab_in = labels[inside]
        filled[..., 0][inside] = fx[lab_in]
        filled[..., 1][inside] = fy[lab_in]
        assert motion.prev_small is not None and motion.cur_small is not None
        warped = sample(motion.prev_small, xf + fx[lab], yf + fy[lab], cv2.INTER_LINEAR,
                        cv2.BORDER_REPLICATE)
        err = np.abs(warped.astype(np.float32) - motion.cur_small[ry, rx])
        mean_err = np.bincount(lab, err, minlength=n) / safe
        ok_label = (cnt >= 4) & (mean_err <= p["max_photometric_error"])
        ok_label[0] = False
        return filled, labels, ok_label

    def _refine_translation(self, cur: np.ndarray, prev: np.ndarray, tiles: np.ndarray,
                            n_tiles: int) -> np.ndarray:
        """One sub-pixel translation per tile refining the flow: ``(n_tiles + 1) x 2`` float32 px.

        One Lucas-Kanade step per tile, all tiles at once (inverse-compositional form: the
        gradients are the current frame's, so no extra sampling of the previous frame), on the
        ring around the holes at full resolution: the pixels within ``ring_px`` of a hole that
        were not filled in the previous frame (age 0). The reduced-resolution flow is typically
        off by a few tenths of a px, which shows as a slow drift / shimmer of propagated texture.
        The step is clipped to 1 px; a tile keeps 0 when its ring has fewer than 16 such pixels or
        no texture (smallest eigenvalue of the normal matrix < 0.5 per pixel: ill-conditioned).
        The last row (no tile) is 0.

        Args:
            cur: ``5 x N`` grey levels (float32) of the current frame at the ring points and at
                their left, right, upper and lower neighbours (clamped to the frame).
            prev: ``N`` grey levels of the previous output at the points' flow positions.
            tiles: tile index of each ring point.
            n_tiles: number of tiles.
        """
        d = np.zeros((n_tiles + 1, 2), np.float32)
        cnt = np.bincount(tiles, minlength=n_tiles + 1)[:n_tiles]
        if not (cnt >= 16).any():
            return d
        # Central differences (levels / px). prev(x + d) ~ prev(x) + grad . d = cur(x) gives the
        # Gauss-Newton step d = (J^T J)^-1 J^T (cur - prev), with J ~ the current frame's gradient.
        ix = ((cur[2] - cur[1]) * np.float32(0.5)).astype(np.float64)
        iy = ((cur[4] - cur[3]) * np.float32(0.5)).astype(np.float64)
        r = (cur[0] - prev).astype(np.float64)

        def tile_sum(v: np.ndarray) -> np.ndarray:
            return np.bincount(tiles, v, minlength=n_tiles + 1)[:n_tiles]

        a, b, c = tile_sum(ix * ix), tile_sum(ix * iy), tile_sum(iy * iy)
        bx, by = tile_sum(ix * r), tile_sum(iy * r)
        min_eig = 0.5 * (a + c) - np.sqrt(0.25 * (a - c) ** 2 + b * b)
        good = (cnt >= 16) & (min_eig >= 0.5 * cnt)  # < ~0.7 levels/px gradient: untextured
        det = np.where(good, a * c - b * b, 1.0)
        d[:n_tiles, 0] = np.where(good, np.clip((c * bx - b * by) / det, -1.0, 1.0), 0.0)
        d[:n_tiles, 1] = np.where(good, np.clip((a * by - b * bx) / det, -1.0, 1.0), 0.0)
        return d

    def _fill_temporal(self, image: np.ndarray, m: np.ndarray, spatial: np.ndarray,
                       motion: FrameMotion,
                       flow: np.ndarray, small_mask: np.ndarray, boxes: list[Box], out: np.ndarray,
                       age: np.ndarray) -> bool:
        """Fill the mask pixels of ``out`` (and their ``age`` / :attr:`last_source`), temporal
        where possible.

        Works on pixel lists (the hole pixels and the ring around them) sampled with one
        ``cv2.remap`` each, and on an :class:`Atlas` of the boxes for the two neighbourhood
        steps (ring dilation, seam feathering), so the cost follows the number of masked pixels,
        not the number of holes. Returns False (nothing written) when no hole has a reliable
        flow: the caller then uses the spatial fill.
        """
        p = self.params
        assert self._prev_out is not None and self._age is not None
        h, w = m.shape
        filled_small, labels, ok_label = self._hole_flow(motion, flow, small_mask)
        if not ok_label.any():
            return False
        sx, sy = np.float32(motion.scale[0]), np.float32(motion.scale[1])
        near, repl, const = cv2.INTER_NEAREST, cv2.BORDER_REPLICATE, cv2.BORDER_CONSTANT
        atlas = Atlas.pack(m, boxes, self._pad)
        n_tiles = len(boxes)
        grown = cv2.dilate(atlas.hole, self._ring_kernels[0])
        for kernel in self._ring_kernels[1:]:
            cv2.bitwise_or(grown, cv2.dilate(atlas.hole, kernel), dst=grown)
        # The translation of each tile is estimated on every 4th ring pixel in x and every other
        # in y (hundreds of points per hole: plenty for 2 unknowns, an eighth of the cost; the
        # flicker on the synthetic sequences is the same as with every pixel within 1 %).
        ex, ey = _RING_STEP
        ring_sub = (grown[::ey, ::ex] > atlas.hole[::ey, ::ex]) & atlas.valid[::ey, ::ex]
        h_flat, h_lin, hx, hy, h_tile = atlas.points(atlas.hole > 0)
        _, _, rx, ry, r_tile = atlas.points(ring_sub, _RING_STEP)
        nh = hx.size
        # Flow at the full-res pixel centres of the hole and ring points (reduced resolution).
        px = np.concatenate([hx, rx])
        py = np.concatenate([hy, ry])
        spx = (px + np.float32(0.5)) * sx - np.float32(0.5)
        spy = (py + np.float32(0.5)) * sy - np.float32(0.5)
        f = sample(filled_small, spx, spy, cv2.INTER_LINEAR, repl)
        mx = px + f[:, 0] * (np.float32(1.0) / sx)
        my = py + f[:, 1] * (np.float32(1.0) / sy)
        lh, lw = labels.shape  # nearest small pixel of each hole point -> its hole's flag
        lx = np.clip(np.rint(spx[:nh]), 0, lw - 1).astype(np.int32)
        ly = np.clip(np.rint(spy[:nh]), 0, lh - 1).astype(np.int32)
        ok = ok_label[labels.reshape(-1).take(ly * np.int32(lw) + lx)]
        # Sub-pixel refinement per tile on the ring pixels observed in the previous frame.
        rmx, rmy = mx[nh:], my[nh:]
        sel = sample(self._age, rmx, rmy, near, const, float(_NEVER)) == 0
        rmx, rmy, r_tile = rmx[sel], rmy[sel], r_tile[sel]
        prev_out = self._prev_out
        channels = image.shape[2] if image.ndim == 3 else 1
        img_px = pixel_view(image, channels)

        # The ring points and their 4 neighbours (clamped to the frame) in the current frame.
        ix_, iy_ = rx[sel].astype(np.int64), ry[sel].astype(np.int64)
        lin = iy_ * w + ix_
        xm, xp = np.maximum(ix_ - 1, 0) - ix_, np.minimum(ix_ + 1, w - 1) - ix_
        ym, yp = (np.maximum(iy_ - 1, 0) - iy_) * w, (np.minimum(iy_ + 1, h - 1) - iy_) * w
        stencil = np.concatenate([lin, lin + xm, lin + xp, lin + ym, lin + yp])
        cur = gray_list(
            img_px.take(stencil).view(image.dtype).reshape(-1, *image.shape[2:])).reshape(5, -1)
        prev_ring = gray_list(sample(prev_out, rmx, rmy, cv2.INTER_LINEAR, repl))
        d = self._refine_translation(cur, prev_ring, r_tile, n_tiles)
        hmx = mx[:nh] + d[h_tile, 0]
        hmy = my[:nh] + d[h_tile, 1]
        prev = sample(prev_out, hmx, hmy, cv2.INTER_LINEAR, repl).reshape(nh, channels)
        prev_age = sample(self._age, hmx, hmy, near, const, float(_NEVER))
        ok &= (hmx >= 0) & (hmy >= 0) & (hmx <= w - 1) & (hmy <= h - 1)
        seen = ok & (prev_age <= np.float32(p["max_age_s"] - motion.dt))
        weight = seen.astype(np.float32)
        feather = p["feather_px"]
        if feather > 0 and seen.any():
            # Feather only the temporal / spatial seams inside the hole: the pixels around the
            # hole are real background, continuous with the temporal fill, so they count as 1.
            b = (atlas.hole == 0).view(np.uint8)
            b.reshape(-1)[h_flat] = seen
            k = 2 * feather + 1
            blurred = cv2.boxFilter(b, cv2.CV_32F, (k, k), normalize=True, borderType=repl)
            weight *= blurred.reshape(-1).take(h_flat)
        tau = p["smoothing_s"]
        alpha = np.float32(-math.expm1(-motion.dt / tau) if tau > 0
                           else 1.0)  # weight of the new fill
        if alpha < 1.0:
            smooth = ok & ~seen & (prev_age < _UNSEEN)  # the previous pixel was filled
            weight = np.maximum(weight, smooth * (np.float32(1.0) - alpha))
        use = weight > 0
        spat = pixel_view(spatial, channels).take(h_lin).view(image.dtype).reshape(nh, channels)
        blended = blend(prev, spat, weight)
        # Where ``use`` is False the weight is 0 and ``blended`` is exactly ``spat``.
        pixel_view(out, channels)[h_lin] = pixel_view(blended, channels)
        t_sel = use & seen
        age.reshape(-1)[h_lin] = np.where(t_sel, prev_age + np.float32(motion.dt), _NEVER)
        self._source = (m.shape, h_lin,
                        np.where(t_sel, np.uint8(1), np.where(use, np.uint8(2), np.uint8(0))))
        return True
