"""The temporal stages of one pipeline: one motion tracker, the optional mask and fill stages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..params import section
from .fill import TemporalFill
from .mask import TemporalMask
from .motion import FrameMotion, MotionTracker


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
