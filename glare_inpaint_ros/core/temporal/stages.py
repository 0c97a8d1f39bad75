"""The temporal stages of one pipeline: one motion tracker, the optional mask, fill and motion-cue
stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..params import section
from .cue import MotionCue
from .fill import TemporalFill
from .mask import TemporalMask
from .motion import MotionTracker


@dataclass
class TemporalStages:
    """The temporal stages of one :class:`~glare_inpaint_ros.core.pipeline.GlareRemover`.

    Built from the flat pipeline config (``temporal.*``, ``temporal.mask.*``, ``temporal.fill.*``,
    ``temporal.motion_cue.*``); one :class:`MotionTracker` for the stream, updated once per frame
    by the pipeline, whose :class:`~.motion.FrameMotion` goes to every stage (so the flow is
    computed at most once per frame). The motion cue runs only with the mask or fill stage: it
    adds sliding highlights to the frame's mask. The frame's stream event and reuse are reported
    in the pipeline's result (:class:`~glare_inpaint_ros.core.pipeline.GlareResult`), not kept
    here.
    """

    tracker: MotionTracker
    mask: TemporalMask | None
    fill: TemporalFill | None
    cue: MotionCue | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TemporalStages":
        motion = {k: v for k, v in section(config, "temporal").items() if "." not in k}
        mp = section(config, "temporal.mask")
        fp = section(config, "temporal.fill")
        cp = section(config, "temporal.motion_cue")
        mask = TemporalMask(**mp) if mp.get("enabled") else None
        fill = TemporalFill(**fp) if fp.get("enabled") else None
        # The cue only adds to the mask of the other stages: it runs when one of them does.
        on = cp.get("enabled", True) and (mask is not None or fill is not None)
        cue = MotionCue(**cp) if on else None
        return cls(MotionTracker(**motion), mask, fill, cue)

    @property
    def enabled(self) -> bool:
        """A mask or fill stage is on (the tracker alone does nothing)."""
        return self.mask is not None or self.fill is not None

    def reset(self) -> None:
        """Restart the stream: the next frame is a ``first`` frame for the tracker and both
        stages."""
        self.tracker.reset()
        for stage in (self.mask, self.fill, self.cue):
            if stage is not None:
                stage.reset()
