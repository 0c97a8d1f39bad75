"""The motion tracker: frame stamps -> stream events, grey frames -> backward optical flow
(``temporal.*``).

One :class:`MotionTracker` per stream, owned by the caller (the pipeline's
:class:`~.stages.TemporalStages`): time enters the temporal stages only through it. Its
:class:`FrameMotion` for a frame is handed to both :class:`~.mask.TemporalMask` and
:class:`~.fill.TemporalFill`, so the flow is computed at most once per frame (and DIS
refinement level).

Stamps in seconds; flows in px, ``flow(x)`` = where the pixel ``x`` of the current frame was in
the previous frame (backward flow).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2
import numpy as np

from ..params import ParamSpec, Schema
from ..validation import check_image
from ..resize import gray_small

#: Stream events reported by :class:`MotionTracker` that restart the temporal state.
RESET_EVENTS: tuple[str, ...] = ("first", "reset_gap", "reset_backwards", "reset_scene_cut",
                                 "reset_size")
#: The event of a frame whose stamp is not newer than the last accepted one (state untouched).
OUT_OF_ORDER = "out_of_order"
#: Side of the grey thumbnail used for scene-cut detection, px (longer side).
_THUMB_SIDE = 64
#: Smallest side of the reduced-resolution flow image, px (the scale is raised for tiny frames).
_MIN_FLOW_SIDE = 32
#: The finest pyramid level of OpenCV's DIS ULTRAFAST preset (a quarter of the flow image).
DIS_FINEST_SCALE = 2


@dataclass
class FrameMotion:
    """What :meth:`MotionTracker.update` knows about one frame.

    Attributes:
        stamp: the frame's stamp, s.
        prev_stamp: stamp of the previous accepted frame (None for the first frame / after a
            reset).
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
    _flows: dict[int, np.ndarray | None] = field(default_factory=dict, repr=False)

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

    def flow_small(self, finest_scale: int = DIS_FINEST_SCALE) -> np.ndarray | None:
        """Backward flow at reduced resolution (``h x w x 2`` float32, small px), computed once
        per ``finest_scale``.

        ``finest_scale``: DIS only, the finest pyramid level the flow is refined at (the
        ULTRAFAST preset's own, :data:`DIS_FINEST_SCALE`, for the temporal mask and fill; 0, the
        flow image itself, is about 3x more accurate and 9x slower). None when there is no
        usable previous frame (first frame, reset, ignored frame, no image).
        """
        # OpenCV's DIS refuses, or crashes the process on (a segfault: 20 x 320 px), an image
        # under _MIN_FLOW_SIDE px high or wide; Farneback takes any size.
        farneback = self.method == "farneback" or min(self.small_size) < _MIN_FLOW_SIDE
        if farneback:
            finest_scale = DIS_FINEST_SCALE  # (one flow)
        if finest_scale not in self._flows:
            flow = None
            if self.cur_small is not None and self.prev_small is not None and self.event is None:
                if farneback:
                    flow = cv2.calcOpticalFlowFarneback(
                        self.cur_small, self.prev_small, None, 0.5, 3, 13, 3, 5, 1.1, 0)
                else:
                    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
                    dis.setFinestScale(finest_scale)
                    flow = dis.calc(self.cur_small, self.prev_small, None)
            self._flows[finest_scale] = flow
        return self._flows[finest_scale]


def upsample_flow(flow_small: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A reduced-resolution flow resized to ``shape`` = (H, W) with vectors rescaled to full-res
    px."""
    h, w = shape
    sh, sw = flow_small.shape[:2]
    full = cv2.resize(flow_small, (w, h), interpolation=cv2.INTER_LINEAR)
    if sw != w:
        full[..., 0] *= np.float32(w / sw)
    if sh != h:
        full[..., 1] *= np.float32(h / sh)
    return full


class PixelGrid:
    """Cached pixel-coordinate grids (float32) for building remap maps."""

    def __init__(self) -> None:
        self.shape: tuple[int, int] | None = None
        self.x = self.y = np.zeros((0, 0), np.float32)

    def get(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if self.shape != shape:
            h, w = shape
            self.x, self.y = np.meshgrid(np.arange(w, dtype=np.float32),
                                         np.arange(h, dtype=np.float32))
            self.shape = shape
        return self.x, self.y


class MotionTracker:
    """Stamps -> stream events, and grey frames -> lazily computed backward optical flow.

    Parameters (``temporal.*``) are declared in :attr:`PARAMS`. :meth:`update` is called once per
    frame by the owner of the stream's stages, which hands the :class:`FrameMotion` to each of
    them; calling it again with the *same* stamp returns the same :class:`FrameMotion`.
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("max_gap_s", 0.5,
                  "Restart the temporal state when the time since the previous frame exceeds "
                  "this, s; a stamp older than the previous one by more than this is a backwards "
                  "time jump (restart), a smaller step back is an out-of-order frame (ignored for "
                  "the state).", 0.001, 3600.0),
        ParamSpec("scene_cut_threshold", 40.0,
                  "Restart the temporal state when the mean absolute difference of consecutive "
                  "64-px grey thumbnails exceeds this, 8-bit levels (255 = never).", 0.0, 255.0),
        ParamSpec("flow_scale", 0.25,
                  "Resolution of the optical flow as a fraction 0..1 of the frame size (raised so "
                  "the small side is >= 32 px).", 0.05, 1.0),
        ParamSpec("flow_method", "dis",
                  "Optical flow: 'dis' (cv2.DISOpticalFlow, ULTRAFAST preset) or 'farneback' "
                  "(slower; also used for frames under 32 px on a side, which DIS cannot take).",
                  choices=("dis", "farneback")),
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
            cur_small = gray_small(image, small_size)
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
              and float(cv2.absdiff(thumb, self._prev_thumb).mean())
              > self.params["scene_cut_threshold"]):
            event = "reset_scene_cut"
        if event == OUT_OF_ORDER:
            assert last is not None
            return FrameMotion(stamp, last.stamp, 0.0, event, shape, small_size)
        usable_prev = (event is None and self._prev_small is not None
                       and self._prev_small.shape == (cur_small.shape if cur_small is not None
                                                      else None))
        motion = FrameMotion(
            stamp=stamp,
            prev_stamp=None if event in RESET_EVENTS else last.stamp,  # type: ignore[union-attr]
            dt=0.0 if event in RESET_EVENTS else stamp - last.stamp,  # type: ignore[union-attr]
            event=event, shape=shape, small_size=small_size, cur_small=cur_small,
            prev_small=self._prev_small if usable_prev else None,
            method=self.params["flow_method"],
        )
        self._last = motion
        self._prev_small, self._prev_thumb = cur_small, thumb
        return motion


def flow_maps(grid: PixelGrid, flow_full: np.ndarray, roi: tuple[int, int, int, int] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (absolute source coordinates) for a full-res backward flow (optionally
    one ROI)."""
    gx, gy = grid.get(flow_full.shape[:2])
    if roi is None:
        return gx + flow_full[..., 0], gy + flow_full[..., 1]
    x0, y0, x1, y1 = roi
    f = flow_full[y0:y1, x0:x1]
    return gx[y0:y1, x0:x1] + f[..., 0], gy[y0:y1, x0:x1] + f[..., 1]
