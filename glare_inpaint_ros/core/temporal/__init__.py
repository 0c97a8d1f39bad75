"""Temporal stages for video: a hysteresis mask and a fill that reuses background seen earlier.

Three pieces, all ROS-free and all driven by frame stamps in **seconds** (so they behave the same
at 10 Hz and at 60 Hz):

* :class:`MotionTracker` (:mod:`.motion`, parameters ``temporal.*``) turns ``(image, stamp)`` into
  a :class:`FrameMotion`: the time step, a stream event (first frame, reset, out-of-order) and,
  computed lazily, the dense optical flow from the current frame back to the previous one at
  reduced resolution (``cv2.DISOpticalFlow`` ULTRAFAST, or Farneback). The two stages below have no
  clock of their own: the caller owns one tracker per stream (a
  :class:`~glare_inpaint_ros.core.pipeline.GlareRemover` through its :class:`TemporalStages`) and
  hands each frame's :class:`FrameMotion` to both, so the flow is computed once per frame.
* :class:`TemporalMask` (:mod:`.mask`, ``temporal.mask.*``): per-pixel hysteresis. A pixel *enters*
  the mask once it was detected in at least ``N`` of the ``M`` frames received in the last
  ``window_s`` seconds, ``N = ceil(enter_fraction * M)``; it *leaves* after ``K`` consecutive
  misses, ``K`` = the frames received in the last ``exit_s`` seconds (i.e. after ``exit_s`` seconds
  without a detection). At a steady rate ``f`` Hz: ``M = window_s * f``, ``K = exit_s * f``. The
  state (a 32-frame detection bit history per pixel and the in/out flag) is optionally warped with
  the flow, so a highlight moving with the surface keeps its history.
* :class:`TemporalFill` (:mod:`.fill`, ``temporal.fill.*``): keeps the last output frame. Inside
  the mask, where the flow-aligned previous output shows background that was actually *observed*
  (not filled) at most ``max_age_s`` ago, that background is used instead of the spatial
  inpainter's guess; where it was never seen the spatial fill is used, smoothed over time with the
  motion-compensated previous fill (exponential smoothing with time constant ``smoothing_s``);
  where the flow is unreliable (photometric error on the ring around a hole) the spatial fill is
  used alone. The temporal / spatial seam is feathered over ``feather_px`` px. Outside the mask the
  output is bit-identical to the input.

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

Modules: :mod:`.motion` (the tracker), :mod:`.mask`, :mod:`.fill`, :mod:`.stages` (the three
together, as the pipeline builds them), and helpers: :mod:`.resize` (area downscaling, grey),
:mod:`.pixels` (pixel-list sampling and blending), :mod:`.atlas` (the mask's boxes packed into one
image).
"""

from .cue import CueMasks, MotionCue
from .fill import TemporalFill
from .mask import HISTORY_FRAMES, TemporalMask
from .motion import OUT_OF_ORDER, RESET_EVENTS, FrameMotion, MotionTracker, upsample_flow
from ..resize import area_resize
from .stages import TemporalStages

__all__ = [
    "CueMasks", "HISTORY_FRAMES", "MotionCue", "OUT_OF_ORDER", "RESET_EVENTS", "FrameMotion",
    "MotionTracker",
    "TemporalFill",
    "TemporalMask", "TemporalStages", "area_resize", "upsample_flow",
]
