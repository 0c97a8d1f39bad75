"""The temporal stages of one pipeline: one motion tracker, the optional mask and fill stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..params import section
from .fill import TemporalFill
from .mask import TemporalMask
from .motion import MotionTracker


@dataclass
class TemporalStages:
    """The temporal stages of one :class:`~glare_inpaint_ros.core.pipeline.GlareRemover`.

    Built from the flat pipeline config (``temporal.*``, ``temporal.mask.*``, ``temporal.fill.*``);
    one :class:`MotionTracker` for the stream, updated once per frame by the pipeline, whose
    :class:`~.motion.FrameMotion` goes to both stages (so the flow is computed at most once per
    frame). The frame's stream event and reuse are reported in the pipeline's result
    (:class:`~glare_inpaint_ros.core.pipeline.GlareResult`), not kept here.
    """

    tracker: MotionTracker
    mask: TemporalMask | None
    fill: TemporalFill | None

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
        """A mask or fill stage is on (the tracker alone does nothing)."""
        return self.mask is not None or self.fill is not None

    def reset(self) -> None:
        """Restart the stream: the next frame is a ``first`` frame for the tracker and both
        stages."""
        self.tracker.reset()
        for stage in (self.mask, self.fill):
            if stage is not None:
                stage.reset()
