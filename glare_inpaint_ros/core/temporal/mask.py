"""The temporal mask: per-pixel enter/exit hysteresis of the glare mask over time
(``temporal.mask.*``).

Masks ``HxW`` uint8, 255 = glare; times in seconds (frame stamps), so the behaviour is the same at
10 Hz and at 60 Hz.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar

import cv2
import numpy as np

from ..masks import compare
from ..params import ParamSpec, Schema
from ..validation import check_mask
from .motion import FrameMotion, PixelGrid, flow_maps, upsample_flow

#: Width of the per-pixel detection history of :class:`TemporalMask`, frames.
HISTORY_FRAMES = 32
#: Tolerance on stamp comparisons, s (window edges: a frame exactly ``window_s`` old is outside).
_EPS_S = 1e-6


class TemporalMask:
    """Per-pixel enter/exit hysteresis over a time window, optionally motion-compensated.

    See :mod:`glare_inpaint_ros.core.temporal` for the rule. Per pixel it keeps a 32-frame
    detection bit history (bit 0 = newest received frame) and the in/out flag; globally the
    stamps of those frames.
    ``M`` (frames in ``window_s``) is capped at :data:`HISTORY_FRAMES`; at rates where
    ``window_s`` spans more frames, the window is the last 32 frames. Right after a start or a
    reset the window holds fewer frames, so the first frame's mask is the per-frame mask.
    A missed frame (a gap shorter than ``max_gap_s``) simply is not in the window: the rule counts
    the frames actually received, so a dropped frame neither adds nor removes evidence.
    """

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("enabled", False, "Apply the temporal mask hysteresis (needs frame stamps)."),
        ParamSpec("window_s", 0.2,
                  "Entry window, s: a pixel enters the mask when detected in at least "
                  "enter_fraction of the frames received in the last window_s seconds (at most 32 "
                  "frames).", 0.0, 10.0),
        ParamSpec("enter_fraction", 0.0,
                  "Fraction 0..1 of the frames in the window that must detect a pixel for it to "
                  "enter (at least one frame; 0 = enter at once, only the exit is delayed: an "
                  "entry delay leaves new glare unmasked for a few frames, which costs more than "
                  "a slightly larger mask).", 0.0, 1.0),
        ParamSpec("exit_s", 0.3,
                  "A pixel in the mask leaves after no detection in the frames received during "
                  "the last exit_s seconds (at least the current frame), s.", 0.0, 10.0),
        ParamSpec("motion_compensation", False,
                  "Warp the per-pixel history with the optical flow before each update (helps "
                  "highlights that move with the surface; off by default: about 2 ms at 1280x720 "
                  "and no PSNR gain on the synthetic sequences)."),
    )

    def __init__(self, **params: Any) -> None:
        """``params``: :attr:`PARAMS` values."""
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)
        self._grid = PixelGrid()
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

    def counts(self) -> tuple[int, int, int]:
        """``(N, M, K)`` for the frames currently in the window (after the latest update)."""
        if not self._stamps:
            return 0, 0, 0
        t = self._stamps[0]
        m = sum(1 for s in self._stamps if s > t - self.params["window_s"] + _EPS_S) or 1
        k = sum(1 for s in self._stamps if s > t - self.params["exit_s"] + _EPS_S) or 1
        n = max(1, math.ceil(self.params["enter_fraction"] * m - 1e-9))
        return n, m, k

    def update(self, mask: np.ndarray, motion: FrameMotion) -> np.ndarray:
        """Add one frame's (refined) mask and return the stabilised mask (uint8, 255 = glare).

        Args:
            mask: ``HxW`` uint8 (non-zero = glare) or bool.
            motion: the frame's :class:`FrameMotion` from the stream's :class:`MotionTracker`,
                which the caller owns and updates once per frame (its stamp, stream event and,
                for motion compensation, its flow).

        Raises:
            ValueError / TypeError: bad mask, or a mask whose size differs from the tracked frame.
        """
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
            return compare(hist, 127, cv2.CMP_GT)  # bit 7
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
            # below half a pixel everywhere: nearest-neighbour warping would be the identity
            return
        mx, my = flow_maps(self._grid, upsample_flow(flow, self._hist.shape))
        h, w = self._hist.shape
        if since:  # outside the frame: never detected, not in the mask
            self._hist = cv2.remap(self._hist, mx, my, cv2.INTER_NEAREST,
                                   borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=0)
            return
        hist4 = self._hist.view(np.uint8).reshape(h, w, 4)
        self._hist = np.ascontiguousarray(
            cv2.remap(hist4, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                      borderValue=0)
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
    since = np.minimum(127 - (state & 127) + 1,
                       127)  # frames since the last detection, after this frame
    tables = np.zeros((HISTORY_FRAMES + 1, HISTORY_FRAMES + 1, 256), np.uint8)
    for m_frames in range(HISTORY_FRAMES + 1):
        for k in range(HISTORY_FRAMES + 1):
            now_in = (was_in & (since < k)) | (since < m_frames)
            tables[m_frames, k] = (now_in << 7) | (127 - since)
    return tables


#: Every :func:`_since_table` (M and K are at most :data:`HISTORY_FRAMES`), 280 KB.
_SINCE_TABLES = _build_since_tables()
