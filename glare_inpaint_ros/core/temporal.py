"""Temporal stages for video: a hysteresis mask and a fill that reuses background seen earlier.

Three pieces, all ROS-free and all driven by frame stamps in **seconds** (so they behave the same
at 10 Hz and at 60 Hz):

* :class:`MotionTracker` (parameters ``temporal.*``) turns ``(image, stamp)`` into a
  :class:`FrameMotion`: the time step, a stream event (first frame, reset, out-of-order) and,
  computed lazily, the dense optical flow from the current frame back to the previous one at
  reduced resolution (``cv2.DISOpticalFlow`` ULTRAFAST, or Farneback). One tracker is shared by
  both stages of a :class:`~glare_inpaint_ros.core.pipeline.GlareRemover`, so the flow is computed
  once per frame.
* :class:`TemporalMask` (``temporal.mask.*``): per-pixel hysteresis. A pixel *enters* the mask
  once it was detected in at least ``N`` of the ``M`` frames received in the last ``window_s``
  seconds, ``N = ceil(enter_fraction * M)``; it *leaves* after ``K`` consecutive misses, ``K``
  = the frames received in the last ``exit_s`` seconds (i.e. after ``exit_s`` seconds without a
  detection). At a steady rate ``f`` Hz: ``M = window_s * f``, ``K = exit_s * f``. The state (a
  32-frame detection bit history per pixel and the in/out flag) is optionally warped with the
  flow, so a highlight moving with the surface keeps its history.
* :class:`TemporalFill` (``temporal.fill.*``): keeps the last output frame. Inside the mask, where
  the flow-aligned previous output shows background that was actually *observed* (not filled) at
  most ``max_age_s`` ago, that background is used instead of the spatial inpainter's guess; where
  it was never seen the spatial fill is used, smoothed over time with the motion-compensated
  previous fill (exponential smoothing with time constant ``smoothing_s``); where the flow is unreliable
  (photometric error on the ring around a hole) the spatial fill is used alone. The temporal /
  spatial seam is feathered over ``feather_px`` px. Outside the mask the output is bit-identical
  to the input.

Stream events (see :class:`MotionTracker`): the first frame, a gap longer than ``max_gap_s``
(``reset_gap``), a stamp more than ``max_gap_s`` older than the last one (``reset_backwards``: a
bag loop or simulator restart), a scene cut (mean absolute difference of tiny grey thumbnails
above ``scene_cut_threshold`` levels, ``reset_scene_cut``) or a change of frame size
(``reset_size``) restart the state: that frame is handled like the first one (output = per-frame
result). A stamp that is older than or equal to the last accepted one but within ``max_gap_s``
(a late / reordered / duplicated frame, ``out_of_order``) is **ignored for the state**: it gets the
per-frame result and the state stays exactly as it was.

Conventions: images ``HxW`` or ``HxWxC`` (BGR / BGRA) uint8 or uint16, masks ``HxW`` uint8 with
255 = glare; flows in px, ``flow(x)`` = where the pixel ``x`` of the current frame was in the
previous frame (backward flow).
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import cv2
import numpy as np

from .inpainting.roi import Box, component_boxes, grow_boxes
from .params import ParamSpec, Schema, section
from .validation import check_image, check_mask

#: Stream events reported by :class:`MotionTracker` that restart the temporal state.
RESET_EVENTS: tuple[str, ...] = ("first", "reset_gap", "reset_backwards", "reset_scene_cut", "reset_size")
#: The event of a frame whose stamp is not newer than the last accepted one (state untouched).
OUT_OF_ORDER = "out_of_order"

#: Width of the per-pixel detection history of :class:`TemporalMask`, frames.
HISTORY_FRAMES = 32
#: Tolerance on stamp comparisons, s (window edges: a frame exactly ``window_s`` old is outside).
_EPS_S = 1e-6
#: "Never observed" age of a filled pixel, s.
_NEVER = np.float32(1e9)
#: Side of the grey thumbnail used for scene-cut detection, px (longer side).
_THUMB_SIDE = 64
#: Smallest side of the reduced-resolution flow image, px (the scale is raised for tiny frames).
_MIN_FLOW_SIDE = 32
#: ``(x, y)`` subsampling of the ring pixels used for the sub-pixel refinement of the fill.
_RING_STEP = (4, 2)


def area_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` downscaled to ``size`` = (width, height) px by area averaging.

    Exact halvings are done with ``INTER_LINEAR`` (at a factor of exactly 2 a bilinear sample
    sits between four pixels: their average, about 7x cheaper than ``INTER_AREA`` in OpenCV 5),
    the remaining factor with ``INTER_AREA``. Results match ``cv2.resize(..., INTER_AREA)`` to
    within one level per halving (intermediate rounding).
    """
    w, h = size
    while image.shape[1] % 2 == 0 and image.shape[0] % 2 == 0 and image.shape[1] >= 2 * w and image.shape[0] >= 2 * h:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    if (image.shape[1], image.shape[0]) != (w, h):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return image


def _gray_small(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """8-bit grey image resized (area average, :func:`area_resize`) to ``size`` = (width, height) px."""
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return np.ascontiguousarray(area_resize(image, size))


@dataclass
class FrameMotion:
    """What :meth:`MotionTracker.update` knows about one frame.

    Attributes:
        stamp: the frame's stamp, s.
        prev_stamp: stamp of the previous accepted frame (None for the first frame / after a reset).
        dt: ``stamp - prev_stamp``, s (0 when there is no previous frame or for an ignored frame).
        event: None for a normal frame, one of :data:`RESET_EVENTS`, or :data:`OUT_OF_ORDER`.
        shape: ``(H, W)`` of the full-resolution frame, px.
        small_size: ``(width, height)`` of the reduced-resolution grey images, px.
    """

    stamp: float
    prev_stamp: float | None
    dt: float
    event: str | None
    shape: tuple[int, int]
    small_size: tuple[int, int] = (0, 0)
    cur_small: np.ndarray | None = None
    prev_small: np.ndarray | None = None
    method: str = "dis"
    _flow: np.ndarray | None = field(default=None, repr=False)
    _flow_done: bool = field(default=False, repr=False)

    @property
    def is_reset(self) -> bool:
        """The state must restart at this frame."""
        return self.event in RESET_EVENTS

    @property
    def ignored(self) -> bool:
        """A late / duplicated frame: the per-frame result is used and the state is left alone."""
        return self.event == OUT_OF_ORDER

    @property
    def scale(self) -> tuple[float, float]:
        """``(sx, sy)``: reduced-resolution px per full-resolution px."""
        return self.small_size[0] / self.shape[1], self.small_size[1] / self.shape[0]

    def flow_small(self) -> np.ndarray | None:
        """Backward flow at reduced resolution (``h x w x 2`` float32, small px), computed once.

        None when there is no usable previous frame (first frame, reset, ignored frame, no image).
        """
        if not self._flow_done:
            self._flow_done = True
            if self.cur_small is not None and self.prev_small is not None and self.event is None:
                if self.method == "farneback":
                    self._flow = cv2.calcOpticalFlowFarneback(
                        self.cur_small, self.prev_small, None, 0.5, 3, 13, 3, 5, 1.1, 0)
                else:
                    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
                    self._flow = dis.calc(self.cur_small, self.prev_small, None)
        return self._flow


def upsample_flow(flow_small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A reduced-resolution flow resized to ``shape`` = (H, W) with vectors rescaled to full-res px."""
    h, w = shape
    sh, sw = flow_small.shape[:2]
    full = cv2.resize(flow_small, (w, h), interpolation=cv2.INTER_LINEAR)
    if sw != w:
        full[..., 0] *= np.float32(w / sw)
    if sh != h:
        full[..., 1] *= np.float32(h / sh)
    return full


class _Grid:
    """Cached pixel-coordinate grids (float32) for building remap maps."""

    def __init__(self) -> None:
        self.shape: tuple[int, int] | None = None
        self.x = self.y = np.zeros((0, 0), np.float32)

    def get(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if self.shape != shape:
            h, w = shape
            self.x, self.y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            self.shape = shape
        return self.x, self.y


class MotionTracker:
    """Stamps -> stream events, and grey frames -> lazily computed backward optical flow.

    Parameters (``temporal.*``) are declared in :attr:`PARAMS`. :meth:`update` is called once per
    frame; calling it again with the *same* stamp returns the same :class:`FrameMotion` (so the
    mask and the fill stage of one frame can each ask for it).
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("max_gap_s", 0.5, "Restart the temporal state when the time since the previous frame exceeds this, s; a stamp older than the previous one by more than this is a backwards time jump (restart), a smaller step back is an out-of-order frame (ignored for the state).", 0.001, 3600.0),
        ParamSpec("scene_cut_threshold", 40.0, "Restart the temporal state when the mean absolute difference of consecutive 64-px grey thumbnails exceeds this, 8-bit levels (255 = never).", 0.0, 255.0),
        ParamSpec("flow_scale", 0.25, "Resolution of the optical flow as a fraction 0..1 of the frame size (raised so the small side is >= 32 px).", 0.05, 1.0),
        ParamSpec("flow_method", "dis", "Optical flow: 'dis' (cv2.DISOpticalFlow, ULTRAFAST preset) or 'farneback' (slower).", choices=("dis", "farneback")),
    )

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame: the next :meth:`update` is a ``first`` frame."""
        self._last: FrameMotion | None = None
        self._prev_small: np.ndarray | None = None
        self._prev_thumb: np.ndarray | None = None

    @property
    def last(self) -> FrameMotion | None:
        """The :class:`FrameMotion` of the last accepted frame (None before the first / after
        :meth:`reset`; an out-of-order frame is not accepted, so it never shows here)."""
        return self._last

    def _sizes(self, shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        h, w = shape
        s = max(self.params["flow_scale"], min(1.0, _MIN_FLOW_SIDE / min(h, w)))
        small = (max(1, round(w * s)), max(1, round(h * s)))
        t = min(1.0, _THUMB_SIDE / max(h, w))
        thumb = (max(1, round(w * t)), max(1, round(h * t)))
        return small, thumb

    def update(self, image: np.ndarray | None, stamp: float | None = None) -> FrameMotion:
        """Register a frame and classify it.

        Args:
            image: the frame (any :func:`check_image` layout), or None for time-only tracking
                (no flow, no scene-cut detection).
            stamp: capture time, s; None = ``time.monotonic()``.

        Raises:
            ValueError: a non-finite stamp.
        """
        stamp = time.monotonic() if stamp is None else float(stamp)
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be a finite number of seconds, got {stamp!r}")
        last = self._last
        if last is not None and stamp == last.stamp:
            return last  # the same frame again (second stage of the same frame)
        shape: tuple[int, int] | None = None
        cur_small = thumb = None
        small_size = (0, 0)
        if image is not None:
            image = check_image(image)
            shape = (int(image.shape[0]), int(image.shape[1]))
            small_size, thumb_size = self._sizes(shape)
            cur_small = _gray_small(image, small_size)
            thumb = cv2.resize(cur_small, thumb_size, interpolation=cv2.INTER_AREA)
        elif last is not None:
            shape = last.shape
        shape = shape or (0, 0)
        max_gap = self.params["max_gap_s"]
        event: str | None = None
        if last is None:
            event = "first"
        elif stamp < last.stamp - max_gap:
            event = "reset_backwards"
        elif stamp < last.stamp:
            event = OUT_OF_ORDER
        elif stamp - last.stamp > max_gap:
            event = "reset_gap"
        elif shape != last.shape:
            event = "reset_size"
        elif (thumb is not None and self._prev_thumb is not None
              and self._prev_thumb.shape == thumb.shape
              and float(cv2.absdiff(thumb, self._prev_thumb).mean()) > self.params["scene_cut_threshold"]):
            event = "reset_scene_cut"
        if event == OUT_OF_ORDER:
            assert last is not None
            return FrameMotion(stamp, last.stamp, 0.0, event, shape, small_size)
        usable_prev = event is None and self._prev_small is not None and self._prev_small.shape == (
            cur_small.shape if cur_small is not None else None)
        motion = FrameMotion(
            stamp=stamp,
            prev_stamp=None if event in RESET_EVENTS else last.stamp,  # type: ignore[union-attr]
            dt=0.0 if event in RESET_EVENTS else stamp - last.stamp,  # type: ignore[union-attr]
            event=event, shape=shape, small_size=small_size, cur_small=cur_small,
            prev_small=self._prev_small if usable_prev else None, method=self.params["flow_method"],
        )
        self._last = motion
        self._prev_small, self._prev_thumb = cur_small, thumb
        return motion


def _flow_maps(grid: _Grid, flow_full: np.ndarray, roi: tuple[int, int, int, int] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (absolute source coordinates) for a full-res backward flow (optionally one ROI)."""
    gx, gy = grid.get(flow_full.shape[:2])
    if roi is None:
        return gx + flow_full[..., 0], gy + flow_full[..., 1]
    x0, y0, x1, y1 = roi
    f = flow_full[y0:y1, x0:x1]
    return gx[y0:y1, x0:x1] + f[..., 0], gy[y0:y1, x0:x1] + f[..., 1]


class TemporalMask:
    """Per-pixel enter/exit hysteresis over a time window, optionally motion-compensated.

    See the module docstring for the rule. Per pixel it keeps a 32-frame detection bit history
    (bit 0 = newest received frame) and the in/out flag; globally the stamps of those frames.
    ``M`` (frames in ``window_s``) is capped at :data:`HISTORY_FRAMES`; at rates where
    ``window_s`` spans more frames, the window is the last 32 frames. Right after a start or a
    reset the window holds fewer frames, so the first frame's mask is the per-frame mask.
    A missed frame (a gap shorter than ``max_gap_s``) simply is not in the window: the rule counts
    the frames actually received, so a dropped frame neither adds nor removes evidence.
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("enabled", False, "Apply the temporal mask hysteresis (needs frame stamps)."),
        ParamSpec("window_s", 0.2, "Entry window, s: a pixel enters the mask when detected in at least enter_fraction of the frames received in the last window_s seconds (at most 32 frames).", 0.0, 10.0),
        ParamSpec("enter_fraction", 0.0, "Fraction 0..1 of the frames in the window that must detect a pixel for it to enter (at least one frame; 0 = enter at once, only the exit is delayed: an entry delay leaves new glare unmasked for a few frames, which costs more than a slightly larger mask).", 0.0, 1.0),
        ParamSpec("exit_s", 0.3, "A pixel in the mask leaves after no detection in the frames received during the last exit_s seconds (at least the current frame), s.", 0.0, 10.0),
        ParamSpec("motion_compensation", False, "Warp the per-pixel history with the optical flow before each update (helps highlights that move with the surface; off by default: about 2 ms at 1280x720 and no PSNR gain on the synthetic sequences)."),
    )

    def __init__(self, *, motion_params: Mapping[str, Any] | None = None, **params: Any) -> None:
        """``params``: :attr:`PARAMS` values; ``motion_params``: :class:`MotionTracker` values for
        the tracker used when :meth:`update` is given no ``motion``."""
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)
        self._tracker = MotionTracker(**dict(motion_params or {}))
        self._grid = _Grid()
        self.reset()

    def reset(self) -> None:
        """Forget the history (the next frame's mask is its per-frame mask)."""
        # HxW state per pixel. With enter_fraction > 0: a uint32 bit history (bit i = detected i
        # frames ago) in ``_hist`` and the in/out flag in ``_active`` (uint8 0/255). With
        # enter_fraction 0 (N = 1 always) only the last detection matters: one uint8 per pixel
        # in ``_hist``, bit 7 = in the mask, bits 0-6 = 127 - frames since the last detection
        # (127 = detected now, 0 = never / >= 127 frames ago), so a frame is one table lookup
        # (cv2.LUT) and one max with the 0/255 mask (a detection sets the state to 255).
        self._hist: np.ndarray | None = None
        self._active: np.ndarray | None = None
        self._stamps: deque[float] = deque(maxlen=HISTORY_FRAMES)
        self._last_stamp: float | None = None
        self._tracker.reset()

    def counts(self) -> tuple[int, int, int]:
        """``(N, M, K)`` for the frames currently in the window (after the latest update)."""
        if not self._stamps:
            return 0, 0, 0
        t = self._stamps[0]
        m = sum(1 for s in self._stamps if s > t - self.params["window_s"] + _EPS_S) or 1
        k = sum(1 for s in self._stamps if s > t - self.params["exit_s"] + _EPS_S) or 1
        n = max(1, math.ceil(self.params["enter_fraction"] * m - 1e-9))
        return n, m, k

    def update(self, mask: np.ndarray, stamp: float | None = None, image: np.ndarray | None = None,
               *, motion: FrameMotion | None = None) -> np.ndarray:
        """Add one frame's (refined) mask and return the stabilised mask (uint8, 255 = glare).

        Args:
            mask: ``HxW`` uint8 (non-zero = glare) or bool.
            stamp: capture time, s (ignored when ``motion`` is given; None = monotonic clock).
            image: the frame, for scene-cut detection and motion compensation (optional).
            motion: a :class:`FrameMotion` from a shared :class:`MotionTracker` (the pipeline's);
                when given, ``stamp`` and ``image`` are not used.

        Raises:
            ValueError / TypeError: bad mask, or a mask whose size differs from ``image``.
        """
        if motion is None:
            shape = None
            if image is not None:
                shape = check_image(image).shape
            m = check_mask(mask, shape)
            motion = self._tracker.update(image, stamp)
        else:
            m = check_mask(mask, motion.shape if motion.shape != (0, 0) else None)
        if motion.ignored or (self._last_stamp is not None and motion.stamp <= self._last_stamp
                              and not motion.is_reset):
            return m  # late / duplicated frame: per-frame mask, state untouched
        since = self.params["enter_fraction"] == 0.0
        if motion.is_reset or self._hist is None or self._hist.shape != m.shape or (
                (self._hist.dtype == np.uint8) != since):
            self._hist = np.zeros(m.shape, np.uint8 if since else np.uint32)
            self._active = None if since else np.zeros(m.shape, np.uint8)
            self._stamps.clear()
        elif self.params["motion_compensation"] and motion.prev_stamp == self._last_stamp:
            self._warp(motion)
        hist, active = self._hist, self._active
        self._stamps.appendleft(motion.stamp)
        self._last_stamp = motion.stamp
        n, m_frames, k = self.counts()
        if since:
            cv2.LUT(hist, _since_table(m_frames, k), dst=hist)  # one frame older, in/out updated
            cv2.max(hist, m, dst=hist)  # detected now: 255 (in the mask, 0 frames since)
            return cv2.compare(hist, 127, cv2.CMP_GT)  # bit 7
        assert active is not None
        np.left_shift(hist, np.uint32(1), out=hist)
        np.bitwise_or(hist, m > 0, out=hist, casting="unsafe")
        window = np.uint32((1 << m_frames) - 1)
        enter = np.bitwise_count(hist & window) >= n
        stay = active.view(bool)  # 0 / 255 as bool: in the mask now
        stay &= (hist & np.uint32((1 << k) - 1)) != 0
        stay |= enter
        np.multiply(stay.view(np.uint8), np.uint8(255), out=active)  # 1 -> 255 (in place)
        return active.copy()

    def _warp(self, motion: FrameMotion) -> None:
        """Move the history with the backward flow (nearest neighbour; outside = no history)."""
        flow = motion.flow_small()
        if flow is None or self._hist is None:
            return
        since = self._hist.dtype == np.uint8
        if (since and cv2.countNonZero(self._hist) == 0) or (not since and not self._hist.any()):
            return  # no history to move
        sx, sy = motion.scale
        if float(np.abs(flow).max()) * min(1 / sx, 1 / sy) < 0.5:
            return  # below half a pixel everywhere: nearest-neighbour warping would be the identity
        mx, my = _flow_maps(self._grid, upsample_flow(flow, self._hist.shape))
        h, w = self._hist.shape
        if since:  # outside the frame: never detected, not in the mask
            self._hist = cv2.remap(self._hist, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=0)
            return
        hist4 = self._hist.view(np.uint8).reshape(h, w, 4)
        self._hist = np.ascontiguousarray(
            cv2.remap(hist4, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        ).view(np.uint32).reshape(h, w)
        assert self._active is not None
        self._active = cv2.remap(self._active, mx, my, cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _since_table(m_frames: int, k: int) -> np.ndarray:
    """``cv2.LUT`` table of one :class:`TemporalMask` frame without a detection, for the packed
    uint8 state (bit 7 = in the mask, bits 0-6 = 127 - frames since the last detection): the
    pixel gets one frame older (saturating at 127 = never), then is in the mask if it was in and
    was detected in the last ``k`` frames, or was detected in the last ``m_frames`` frames."""
    return _SINCE_TABLES[m_frames, k]


def _build_since_tables() -> np.ndarray:
    state = np.arange(256)
    was_in = state >= 128
    since = np.minimum(127 - (state & 127) + 1, 127)  # frames since the last detection, after this frame
    tables = np.zeros((HISTORY_FRAMES + 1, HISTORY_FRAMES + 1, 256), np.uint8)
    for m_frames in range(HISTORY_FRAMES + 1):
        for k in range(HISTORY_FRAMES + 1):
            now_in = (was_in & (since < k)) | (since < m_frames)
            tables[m_frames, k] = (now_in << 7) | (127 - since)
    return tables


#: Every :func:`_since_table` (M and K are at most :data:`HISTORY_FRAMES`), 280 KB.
_SINCE_TABLES = _build_since_tables()


#: Row length of the 2-D maps used to sample pixel lists with ``cv2.remap`` (its maps must be
#: narrower than 32767 px).
_SAMPLE_ROW = 1024


def _sample(src: np.ndarray, x: np.ndarray, y: np.ndarray, interpolation: int, border: int,
            value: float = 0.0) -> np.ndarray:
    """``src`` sampled at the points ``(x, y)`` (1-D float32, px) with ``cv2.remap``: ``N`` or ``N x C``."""
    n = x.size
    rows = max(1, -(-n // _SAMPLE_ROW))
    maps = np.zeros((2, rows * _SAMPLE_ROW), np.float32)
    maps[0, :n] = x
    maps[1, :n] = y
    maps = maps.reshape(2, rows, _SAMPLE_ROW)
    out = cv2.remap(src, maps[0], maps[1], interpolation, borderMode=border, borderValue=value)
    return out.reshape(rows * _SAMPLE_ROW, *out.shape[2:])[:n]


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
        return cv2.compare(cv2.resize(mask, size, interpolation=cv2.INTER_AREA), 0, cv2.CMP_GT)
    bx, by = w // sw, h // sh
    small = np.zeros((sh, sw), np.uint8)
    for x0, y0, x1, y1 in boxes:
        a0, b0, a1, b1 = x0 // bx, y0 // by, -(-x1 // bx), -(-y1 // by)
        crop = mask[b0 * by:b1 * by, a0 * bx:a1 * bx]
        if bx > 1 or by > 1:
            crop = cv2.resize(crop, (a1 - a0, b1 - b0), interpolation=cv2.INTER_AREA)
        # Blocks shared by two boxes get the same value from both (each sees the whole block).
        small[b0:b1, a0:a1] = cv2.compare(crop, 0, cv2.CMP_GT)
    return small


def _nonzero_xy(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` int32 coordinates of the non-zero pixels of a 2-D uint8 array, row-major order
    (``cv2.findNonZero``: about 4x faster than ``np.nonzero`` on sparse images)."""
    pts = cv2.findNonZero(a)
    if pts is None:
        empty = np.zeros(0, np.int32)
        return empty, empty
    pts = pts.reshape(-1, 2)
    return pts[:, 0], pts[:, 1]


def _pixels(a: np.ndarray, channels: int) -> np.ndarray:
    """A C-contiguous array of ``channels``-channel pixels (``H x W x C``, ``N x C``, or
    ``H x W`` / ``N`` for one channel) as a flat array with one item per pixel, so numpy
    gathers / scatters move whole pixels."""
    if channels == 1:
        return a.reshape(-1)
    return np.ascontiguousarray(a).reshape(-1, channels).view(np.dtype((np.void, channels * a.itemsize))).reshape(-1)


def _blend(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``weight * a + (1 - weight) * b`` rounded, for pixel lists ``N x C`` (same integer dtype)
    and weights ``N`` (float32, 0..1); where ``weight`` is 0 the result is exactly ``b``."""
    n, c = a.shape
    if a.dtype == np.uint8 and 0 < n and c <= 4:  # one OpenCV pass (8-bit only)
        return cv2.blendLinear(a.reshape(1, n, c), b.reshape(1, n, c), weight.reshape(1, n),
                               (np.float32(1.0) - weight).reshape(1, n)).reshape(n, c)
    wv = weight[:, None]
    out = a.astype(np.float32) * wv + b.astype(np.float32) * (np.float32(1.0) - wv)
    return np.clip(out + np.float32(0.5), 0, np.iinfo(a.dtype).max).astype(a.dtype)


def _gray_list(pixels: np.ndarray) -> np.ndarray:
    """Grey levels (float32, 8-bit scale) of a pixel list ``N`` / ``N x C`` (as :func:`_gray_small`)."""
    img = pixels.reshape(1, pixels.shape[0], *pixels.shape[1:])
    return _gray_small(img, (img.shape[1], 1)).reshape(-1).astype(np.float32)


@dataclass
class _Atlas:
    """The mask's boxes packed side by side into one small image, for the neighbourhood steps.

    Each box ``(x0, y0, x1, y1)`` (frame px, end exclusive) is copied from the mask, with ``pad``
    px of empty border on every side, onto shelves (rows of tiles sorted by height) of a small
    uint8 atlas, so one ``cv2.dilate`` / ``cv2.boxFilter`` serves all holes at once. ``hole`` is
    the mask on the atlas (1 = hole), ``valid`` is True on the boxes themselves, ``tile`` is the
    box index of each atlas pixel (``len(boxes)`` in the gaps), and an atlas pixel ``(ax, ay)``
    of tile ``t`` is the frame pixel ``(ax + off[t, 0], ay + off[t, 1])``.
    """

    boxes: list[Box]
    off: np.ndarray
    hole: np.ndarray
    valid: np.ndarray
    tile: np.ndarray
    width: int

    @classmethod
    def pack(cls, mask: np.ndarray, boxes: list[Box], pad: int) -> "_Atlas":
        """Shelf-pack the ``boxes`` (non-empty, non-overlapping) of ``mask`` (uint8, non-zero = hole)."""
        sizes = [(x1 - x0 + 2 * pad, y1 - y0 + 2 * pad) for x0, y0, x1, y1 in boxes]
        width = max(max(sw for sw, _ in sizes), math.ceil(1.2 * math.sqrt(sum(sw * sh for sw, sh in sizes))))
        corner: list[tuple[int, int]] = [(0, 0)] * len(boxes)
        x = y = shelf = 0
        for i in sorted(range(len(boxes)), key=lambda j: -sizes[j][1]):
            sw, sh = sizes[i]
            if x + sw > width:
                x, y, shelf = 0, y + shelf, 0
            corner[i] = (x, y)
            x, shelf = x + sw, max(shelf, sh)
        shape = (y + shelf, width)
        hole = np.zeros(shape, np.uint8)
        valid = np.zeros(shape, bool)
        tile = np.full(shape, len(boxes), np.int32)
        off = np.zeros((len(boxes) + 1, 2), np.int32)
        for i, ((x0, y0, x1, y1), (cx, cy), (sw, sh)) in enumerate(zip(boxes, corner, sizes)):
            ax, ay = cx + pad, cy + pad
            np.minimum(mask[y0:y1, x0:x1], 1, out=hole[ay:ay + y1 - y0, ax:ax + x1 - x0])
            valid[ay:ay + y1 - y0, ax:ax + x1 - x0] = True
            tile[cy:cy + sh, cx:cx + sw] = i
            off[i] = (x0 - ax, y0 - ay)
        return cls(list(boxes), off, hole, valid, tile, int(mask.shape[1]))

    def points(self, sel: np.ndarray, step: tuple[int, int] = (1, 1)
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The box pixels where ``sel``: ``(atlas flat index, frame flat index, x, y, tile)``.

        ``sel`` is the atlas, or with ``step = (sx, sy)`` the atlas subsampled as
        ``atlas[::sy, ::sx]``. ``x`` / ``y`` are the frame coordinates (float32 px), in atlas
        row-major order.
        """
        flat = np.flatnonzero(sel).astype(np.int32)  # int32 arithmetic: ~3x faster than int64 divmod
        aw = np.int32(sel.shape[1])
        ay = flat // aw
        ax = flat - ay * aw
        if step != (1, 1):
            ax *= np.int32(step[0])
            ay *= np.int32(step[1])
            flat = ay * np.int32(self.hole.shape[1]) + ax
        t = self.tile.reshape(-1).take(flat)
        x = ax + self.off[:, 0].take(t)
        y = ay + self.off[:, 1].take(t)
        return flat, y * np.int32(self.width) + x, x.astype(np.float32), y.astype(np.float32), t


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
        ParamSpec("enabled", False, "Fill masked pixels from background seen in earlier frames (flow-aligned), falling back to the spatial backend (needs frame stamps)."),
        ParamSpec("max_age_s", 1.0, "Use background last observed at most this long ago, s.", 0.0, 60.0),
        ParamSpec("max_photometric_error", 12.0, "Largest mean absolute grey error between the current frame and the flow-warped previous frame on the ring around a hole for the flow to be trusted, 8-bit levels.", 0.0, 255.0),
        ParamSpec("ring_px", 8, "Width of the ring around each hole used for the flow and its check, px.", 1, 128),
        ParamSpec("feather_px", 3, "Feather radius of the seam between temporal and spatial fill, px (0 = hard seam).", 0, 64),
        ParamSpec("smoothing_s", 0.25, "Where the background was never seen: time constant of the exponential smoothing of this frame's spatial fill with the motion-compensated previous fill, s (0 = this frame's spatial fill alone; 0.25 s gives the new fill a weight of 0.125 at 30 Hz, 0.33 at 10 Hz).", 0.0, 10.0),
    )

    def __init__(self, *, motion_params: Mapping[str, Any] | None = None, **params: Any) -> None:
        """``params``: :attr:`PARAMS` values; ``motion_params``: :class:`MotionTracker` values for
        the tracker used when :meth:`update` is given no ``motion``."""
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)
        self._tracker = MotionTracker(**dict(motion_params or {}))
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
        self._age: np.ndarray | None = None  # HxW float32, s since the pixel's content was observed
        self._age_boxes: list[Box] | None = None  # where ``_age`` may be non-zero (None = anywhere)
        self._age_spare: np.ndarray | None = None  # the other age buffer (ping-pong)
        self._spare_boxes: list[Box] | None = None
        self._prev_mask_small: np.ndarray | None = None
        self._last_stamp: float | None = None
        self._tracker.reset()
        #: ``(shape, flat indices, codes)`` behind :attr:`last_source`.
        self._source: tuple[tuple[int, int], np.ndarray | None, np.ndarray | None] | None = None

    def update(self, image: np.ndarray, mask: np.ndarray, spatial: np.ndarray,
               stamp: float | None = None, *, motion: FrameMotion | None = None,
               reuse_spatial: bool = False, rects: np.ndarray | None = None) -> np.ndarray:
        """Return ``image`` with the ``mask > 0`` pixels filled (temporal where possible).

        Args:
            image: the input frame (``HxW`` / ``HxWx3`` BGR / ``HxWx4`` BGRA, uint8 or uint16).
            mask: ``HxW`` uint8 (non-zero = fill) or bool; may be empty (the frame is recorded).
            spatial: the spatial inpainter's result for ``(image, mask)``: same shape and dtype.
            stamp: capture time, s (ignored when ``motion`` is given; None = monotonic clock).
            motion: a :class:`FrameMotion` of a shared tracker for this frame.
            reuse_spatial: ``spatial`` is a private array of the caller that may be overwritten
                and returned (it equals ``image`` outside the mask, the inpainter contract),
                saving one full-frame copy; ignored when it shares memory with ``image``.
            rects: the mask's :func:`~.inpainting.roi.component_rects`, when the caller has
                them already (the pipeline computes them once for the inpainter and this stage).

        Returns:
            A new array (``spatial`` itself with ``reuse_spatial``); pixels where ``mask == 0``
            are bit-identical to ``image``.

        Raises:
            ValueError / TypeError: bad arrays or mismatched sizes / dtypes.
        """
        image = check_image(image)
        m = check_mask(mask, image.shape)
        spatial = check_image(spatial, name="spatial")
        if spatial.shape != image.shape or spatial.dtype != image.dtype:
            raise ValueError(
                f"spatial fill shape/dtype {spatial.shape}/{spatial.dtype} does not match image "
                f"{image.shape}/{image.dtype}")
        if motion is None:
            motion = self._tracker.update(image, stamp)
        elif motion.shape != image.shape[:2]:
            raise ValueError(f"motion is for frames of size {motion.shape}, image is {image.shape[:2]}")
        reuse = (reuse_spatial and spatial.flags.c_contiguous and spatial.flags.writeable
                 and not np.may_share_memory(spatial, image))
        out = spatial if reuse else image.copy()
        if motion.ignored or (self._last_stamp is not None and motion.stamp <= self._last_stamp
                              and not motion.is_reset):
            if not reuse:
                cv2.copyTo(spatial, m, out)
            return out  # late / duplicated frame: spatial fill, state untouched
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
            done = self._fill_temporal(image, m, spatial, motion, flow, small_mask, boxes, out, age)
        if not done:  # spatial fill everywhere; the filled pixels were never observed
            for x0, y0, x1, y1 in boxes:
                hole = m[y0:y1, x0:x1] > 0
                if not reuse:
                    np.copyto(out[y0:y1, x0:x1], spatial[y0:y1, x0:x1],
                              where=hole[..., None] if out.ndim == 3 else hole)
                age[y0:y1, x0:x1][hole] = _NEVER
        if self._prev_out is None or self._prev_out.shape != out.shape or self._prev_out.dtype != out.dtype:
            self._prev_out = np.empty_like(out)
        np.copyto(self._prev_out, out)
        # Ping-pong the age buffers: the one just written becomes the previous frame's.
        self._age_spare, self._spare_boxes = self._age, self._age_boxes
        self._age, self._age_boxes = age, boxes
        self._prev_mask_small = small_mask
        self._last_stamp = motion.stamp
        return out

    @property
    def reused_fraction(self) -> float:
        """Fraction 0..1 of the last frame's masked pixels taken from observed background
        (:attr:`last_source` == 1); 0 for a spatial-only frame or an empty mask, NaN before the
        first frame."""
        if self._source is None:
            return math.nan
        codes = self._source[2]
        return float(np.count_nonzero(codes == 1)) / codes.size if codes is not None and codes.size else 0.0

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
        grown = cv2.dilate(small_mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        n, labels = cv2.connectedComponents(grown, connectivity=8)
        rx, ry = _nonzero_xy(cv2.compare(grown, small_mask, cv2.CMP_GT))  # the ring (grown, not hole)
        fx_r, fy_r = flow[ry, rx, 0], flow[ry, rx, 1]
        xf, yf = rx.astype(np.float32), ry.astype(np.float32)
        if self._prev_mask_small is not None and self._prev_mask_small.shape == small_mask.shape:
            # Drop the ring pixels that were inside a hole in the previous frame.
            keep = _sample(self._prev_mask_small, xf + fx_r, yf + fy_r, cv2.INTER_NEAREST,
                           cv2.BORDER_CONSTANT) == 0
            ry, rx, fx_r, fy_r, xf, yf = ry[keep], rx[keep], fx_r[keep], fy_r[keep], xf[keep], yf[keep]
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
        warped = _sample(motion.prev_small, xf + fx[lab], yf + fy[lab], cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
        err = np.abs(warped.astype(np.float32) - motion.cur_small[ry, rx])
        mean_err = np.bincount(lab, err, minlength=n) / safe
        ok_label = (cnt >= 4) & (mean_err <= p["max_photometric_error"])
        ok_label[0] = False
        return filled, labels, ok_label

    def _refine_translation(self, cur: np.ndarray, prev: np.ndarray, tiles: np.ndarray, n_tiles: int
                            ) -> np.ndarray:
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
            tiles: tile index of each ring point; ``n_tiles``: number of tiles.
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

    def _fill_temporal(self, image: np.ndarray, m: np.ndarray, spatial: np.ndarray, motion: FrameMotion,
                       flow: np.ndarray, small_mask: np.ndarray, boxes: list[Box], out: np.ndarray,
                       age: np.ndarray) -> bool:
        """Fill the mask pixels of ``out`` (and their ``age`` / :attr:`last_source`), temporal where possible.

        Works on pixel lists (the hole pixels and the ring around them) sampled with one
        ``cv2.remap`` each, and on an :class:`_Atlas` of the boxes for the two neighbourhood
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
        atlas = _Atlas.pack(m, boxes, self._pad)
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
        f = _sample(filled_small, spx, spy, cv2.INTER_LINEAR, repl)
        mx = px + f[:, 0] * (np.float32(1.0) / sx)
        my = py + f[:, 1] * (np.float32(1.0) / sy)
        lh, lw = labels.shape  # nearest small pixel of each hole point -> its hole's flag
        lx = np.clip(np.rint(spx[:nh]), 0, lw - 1).astype(np.int32)
        ly = np.clip(np.rint(spy[:nh]), 0, lh - 1).astype(np.int32)
        ok = ok_label[labels.reshape(-1).take(ly * np.int32(lw) + lx)]
        # Sub-pixel refinement per tile on the ring pixels observed in the previous frame.
        rmx, rmy = mx[nh:], my[nh:]
        sel = _sample(self._age, rmx, rmy, near, const, float(_NEVER)) == 0
        rmx, rmy, r_tile = rmx[sel], rmy[sel], r_tile[sel]
        prev_out = self._prev_out
        channels = image.shape[2] if image.ndim == 3 else 1
        img_px = _pixels(image, channels)

        # The ring points and their 4 neighbours (clamped to the frame) in the current frame.
        ix_, iy_ = rx[sel].astype(np.int64), ry[sel].astype(np.int64)
        lin = iy_ * w + ix_
        xm, xp = np.maximum(ix_ - 1, 0) - ix_, np.minimum(ix_ + 1, w - 1) - ix_
        ym, yp = (np.maximum(iy_ - 1, 0) - iy_) * w, (np.minimum(iy_ + 1, h - 1) - iy_) * w
        stencil = np.concatenate([lin, lin + xm, lin + xp, lin + ym, lin + yp])
        cur = _gray_list(img_px.take(stencil).view(image.dtype).reshape(-1, *image.shape[2:])).reshape(5, -1)
        prev_ring = _gray_list(_sample(prev_out, rmx, rmy, cv2.INTER_LINEAR, repl))
        d = self._refine_translation(cur, prev_ring, r_tile, n_tiles)
        hmx = mx[:nh] + d[h_tile, 0]
        hmy = my[:nh] + d[h_tile, 1]
        prev = _sample(prev_out, hmx, hmy, cv2.INTER_LINEAR, repl).reshape(nh, channels)
        prev_age = _sample(self._age, hmx, hmy, near, const, float(_NEVER))
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
        alpha = np.float32(-math.expm1(-motion.dt / tau) if tau > 0 else 1.0)  # weight of the new fill
        if alpha < 1.0:
            weight = np.maximum(weight, (ok & ~seen) * (np.float32(1.0) - alpha))
        use = weight > 0
        spat = _pixels(spatial, channels).take(h_lin).view(image.dtype).reshape(nh, channels)
        blended = _blend(prev, spat, weight)
        # Where ``use`` is False the weight is 0 and ``blended`` is exactly ``spat``.
        _pixels(out, channels)[h_lin] = _pixels(blended, channels)
        t_sel = use & seen
        age.reshape(-1)[h_lin] = np.where(t_sel, prev_age + np.float32(motion.dt), _NEVER)
        self._source = (m.shape, h_lin, np.where(t_sel, np.uint8(1), np.where(use, np.uint8(2), np.uint8(0))))
        return True


@dataclass
class TemporalStages:
    """The temporal stages of one :class:`~glare_inpaint_ros.core.pipeline.GlareRemover`.

    Built from the flat pipeline config (``temporal.*``, ``temporal.mask.*``, ``temporal.fill.*``);
    one shared :class:`MotionTracker`, so the flow is computed at most once per frame.
    """

    tracker: MotionTracker
    mask: TemporalMask | None
    fill: TemporalFill | None
    #: Stream event of the latest frame given to :meth:`motion` (None = a normal frame; one of
    #: :data:`RESET_EVENTS` or :data:`OUT_OF_ORDER`): what the nodes count in their diagnostics.
    last_event: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TemporalStages":
        motion = {k: v for k, v in section(config, "temporal").items() if "." not in k}
        mp = section(config, "temporal.mask")
        fp = section(config, "temporal.fill")
        return cls(
            MotionTracker(**motion),
            TemporalMask(**mp) if mp.get("enabled") else None,
            TemporalFill(**fp) if fp.get("enabled") else None,
        )

    @property
    def enabled(self) -> bool:
        return self.mask is not None or self.fill is not None

    def motion(self, image: np.ndarray, stamp: float | None) -> FrameMotion:
        """The shared tracker's :class:`FrameMotion` for this frame (cached per stamp)."""
        motion = self.tracker.update(image, stamp)
        self.last_event = motion.event
        return motion

    def reused_fraction(self) -> float:
        """Fraction 0..1 of the last frame's masked pixels filled from observed background
        (:attr:`TemporalFill.reused_fraction`); NaN without a temporal fill or before a frame."""
        return self.fill.reused_fraction if self.fill is not None else math.nan

    def reset(self) -> None:
        self.tracker.reset()
        self.last_event = None
        for stage in (self.mask, self.fill):
            if stage is not None:
                stage.reset()
