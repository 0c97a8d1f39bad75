"""The :class:`GlareRemover` pipeline: detector -> mask refinement -> inpainting.

Configured from one flat dict of dotted keys, the same names as the ROS parameters and the YAML
files in ``config/`` (nested YAML and ROS ``ros__parameters`` files are flattened).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, TypeVar

import cv2
import numpy as np

from ..imageheader import DEFAULT_MAX_PIXELS
from .detectors import DETECTORS, Detector
from .inpainting import INPAINTERS, Inpainter
from .inpainting.roi import component_rects
from .masks import MaskRefiner, RefinedMask, compare
from .masks import coverage as mask_coverage
from .params import ParamSpec, Schema, flatten, section
from .temporal import (
    CueMasks, MotionCue, MotionTracker, TemporalFill, TemporalMask, TemporalStages,
)
from .validation import check_mask


def build_schema() -> Schema:
    """Every parameter of the core pipeline, with absolute dotted names."""
    schema = Schema()
    # Encoded input (CompressedImage, bag CompressedImage topics, image files): read by the callers
    # that decode, before the pipeline sees pixels (glare_inpaint_ros.imageheader).
    schema.add(ParamSpec("input.max_pixels", DEFAULT_MAX_PIXELS,
                         "Largest encoded image (JPEG/PNG/...) decoded, width*height pixels: a "
                         "larger one (or a "
                         "decompression bomb claiming to be) is refused from its header without "
                         "decoding (0 = no limit).",
                         0, 2**40))
    schema.add(
        ParamSpec("detector.type", "dichromatic",
                  "Specular detector (dichromatic: highlights on coloured surfaces only, leaves "
                  "white/achromatic content alone).", choices=tuple(DETECTORS.names())))
    for name, cls in DETECTORS.items():
        schema.extend(cls.PARAMS, f"detector.{name}")
    schema.extend(MaskRefiner.PARAMS, "mask")
    schema.add(
        ParamSpec("inpainting.backend", "separation",
                  "Inpainting backend (separation: subtract the specular part, fill only clipped "
                  "pixels).", choices=tuple(INPAINTERS.names())))
    schema.add(
        ParamSpec("inpainting.roi", True,
                  "Inpaint only the bounding boxes of mask components (plus margin), not the "
                  "whole frame."))
    schema.add(
        ParamSpec("inpainting.roi_margin", 16,
                  "Context margin around each mask component's box, px.", 0, 1024))
    for name, cls in INPAINTERS.items():
        schema.extend(cls.PARAMS, f"inpainting.{name}")
    # Temporal stages for video (core/temporal/), off by default.
    schema.extend(MotionTracker.PARAMS, "temporal")
    schema.extend(TemporalMask.PARAMS, "temporal.mask")
    schema.extend(TemporalFill.PARAMS, "temporal.fill")
    schema.extend(MotionCue.PARAMS, "temporal.motion_cue")
    return schema


SCHEMA = build_schema()


def _follow_registry(registry: Any, choice_key: str, prefix: str) -> None:
    """Keep :data:`SCHEMA` in step with plugins registered after it was built: the new name becomes
    a valid ``choice_key`` value and its ``PARAMS`` are declared under ``prefix.<name>``."""

    def on_register(name: str, cls: type) -> None:
        SCHEMA.replace(replace(SCHEMA[choice_key], choices=tuple(registry.names())))
        SCHEMA.extend(getattr(cls, "PARAMS", ()), f"{prefix}.{name}")

    registry.add_listener(on_register)


_follow_registry(DETECTORS, "detector.type", "detector")
_follow_registry(INPAINTERS, "inpainting.backend", "inpainting")


def load_config(source: Mapping[str, Any] | str | Path | None = None) -> dict[str, Any]:
    """Return a complete, validated flat config.

    Args:
        source: None (defaults), a mapping (nested or dotted), or a YAML file path (plain nested
            keys or a ROS 2 parameter file with ``ros__parameters``).

    Raises:
        ValueError: an unknown key or an invalid value (the message names it).
    """
    values: dict[str, Any] = {}
    if isinstance(source, (str, Path)):
        import yaml

        with open(source, encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f) or {}
            except yaml.YAMLError as exc:
                raise ValueError(
                    f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
        if not isinstance(data, Mapping):
            raise ValueError(f"{source}: expected a mapping at the top level")
        values = flatten(data)
    elif source is not None:
        values = flatten(source)
    # ROS parameter files carry node parameters the core does not know (QoS, topics): keep only
    # ours. Keys under a core section that are not in SCHEMA are kept, so validation names them.
    sections = {name.split(".", 1)[0] for name in SCHEMA.names()}
    known = {k: v for k, v in values.items() if k.split(".", 1)[0] in sections}
    return SCHEMA.validate(known)


def build_detector(config: Mapping[str, Any]) -> Detector:
    """Instantiate ``config['detector.type']`` with its ``detector.<type>.*`` parameters."""
    name = config["detector.type"]
    params = section(config, f"detector.{name}")
    if name == "static" and params.get("combine_with"):
        inner_name = params["combine_with"]
        if inner_name == "static":
            raise ValueError("detector.static.combine_with cannot be 'static'")
        inner = DETECTORS.get(inner_name)(**section(config, f"detector.{inner_name}"))
        return DETECTORS.get(name)(inner=inner, **params)
    return DETECTORS.get(name)(**params)


def build_inpainter(config: Mapping[str, Any]) -> Inpainter:
    """Instantiate ``config['inpainting.backend']`` with its ``inpainting.<backend>.*``
    parameters."""
    name = config["inpainting.backend"]
    return INPAINTERS.get(name)(
        roi=config["inpainting.roi"], roi_margin=config["inpainting.roi_margin"],
        **section(config, f"inpainting.{name}"),
    )


@dataclass
class GlareResult:
    """What the pipeline did to one frame: the output of :meth:`GlareRemover.process` and of
    :meth:`GlareRemover.fill_frame`.

    Attributes:
        image: cleaned image (same shape/dtype/channel order as the input); the input itself
            (not a copy) when passed through.
        mask_raw: detector output, uint8 255 = glare; None from :meth:`~GlareRemover.fill_frame`
            (it starts from a refined mask).
        mask: the final mask that was inpainted (refined, then the temporal hysteresis if enabled).
        coverage: fraction 0..1 of the frame covered by ``mask``.
        passthrough: None when inpainted, else the reason the input was returned unchanged
            (``"empty_mask"``, ``"max_coverage"``).
        timings_ms: per stage: ``detect``, ``refine``, ``inpaint``, ``total`` (milliseconds;
            ``detect``, ``refine`` and ``total`` from :meth:`~GlareRemover.process` only); plus
            ``temporal_mask`` / ``temporal_fill`` when those stages are enabled (the optical flow
            is counted in the first of them that needs it).
        temporal_event: the frame's stream event from the temporal stages' motion tracker: None
            for a normal frame (and with the temporal stages off, or for a flooded frame, which
            skips them), else one of :data:`~.temporal.RESET_EVENTS` or
            :data:`~.temporal.OUT_OF_ORDER`. The nodes count it as ``events.temporal.<event>``.
        temporal_reused: fraction 0..1 of the mask filled from background observed in earlier
            frames (:attr:`~.temporal.TemporalFill.reused_fraction` after this frame); NaN without
            the temporal fill or when the frame was passed through.
    """

    image: np.ndarray
    mask_raw: np.ndarray | None
    mask: np.ndarray
    coverage: float
    passthrough: str | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    temporal_event: str | None = None
    temporal_reused: float = math.nan


#: The spatial fill of the motion cue's sliding highlights (:mod:`.temporal.cue`).
_PUSH_PULL = INPAINTERS.get("fast")()


def changed_extension(detected: np.ndarray, extended: np.ndarray, image: np.ndarray,
                      out: np.ndarray) -> np.ndarray:
    """The mask to report for a fill over ``extended`` (a backend's
    :meth:`~.inpainting.base.Inpainter.extend_mask` of ``detected``, both uint8 0/255):
    ``detected``, plus the pixels of the extension where ``out`` differs from ``image`` in any
    channel (the ``separation`` fringe leaves most of it as it is). Compared on the extension's
    bounding box with whole-array OpenCV operations: even when that box is most of the frame,
    they cost less than gathering the extension's pixels one by one."""
    ring = cv2.bitwise_and(extended, cv2.bitwise_not(detected))
    x, y, w, h = cv2.boundingRect(ring)
    if w == 0:
        return detected
    box = (slice(y, y + h), slice(x, x + w))
    diff = cv2.absdiff(image[box], out[box])
    if diff.ndim == 3:  # (any channel)
        diff = functools.reduce(cv2.max, cv2.split(diff))
    reported = detected.copy()
    part = reported[box]
    np.bitwise_or(part, cv2.bitwise_and(compare(diff, 0, cv2.CMP_GT), ring[box]), out=part)
    return reported


#: The stages a :class:`GlareRemover` can build, each named like its parameter section.
STAGES: tuple[str, ...] = ("detector", "mask", "inpainting", "temporal")

_Stage = TypeVar("_Stage")


class GlareRemover:
    """Detector -> :class:`MaskRefiner` -> inpainter (-> temporal stages), configured from one flat
    dict.

    The steps are also callable one by one (:meth:`detect`, :meth:`refine`, :meth:`fill_frame`):
    the split ROS nodes each use one and build only its stages, the fused node uses
    :meth:`process`.

    Args:
        config: None (defaults), a mapping (nested or dotted) or a YAML file (:func:`load_config`);
            validated whole, whichever stages are built.
        stages: the :data:`STAGES` to build (default all). A step whose stage was not built raises
            ``RuntimeError``; the parameters of the others are kept in :attr:`config` only.

    Raises:
        ValueError: an invalid config or an unknown stage name.
    """

    def __init__(self, config: Mapping[str, Any] | str | Path | None = None,
                 stages: Iterable[str] = STAGES) -> None:
        self.config: dict[str, Any] = load_config(config)
        wanted = set(stages)
        if wanted - set(STAGES):
            raise ValueError(
                f"unknown pipeline stage(s) {sorted(wanted - set(STAGES))}, expected some of "
                f"{list(STAGES)}")
        #: The stages built, in pipeline order.
        self.stages: tuple[str, ...] = tuple(s for s in STAGES if s in wanted)
        self.detector: Detector | None = None
        self.refiner: MaskRefiner | None = None
        self.inpainter: Inpainter | None = None
        self.temporal: TemporalStages | None = None
        self._build(self.config, self.stages)

    def _build(self, config: dict[str, Any], stages: Iterable[str]) -> None:
        """(Re)build ``stages`` from ``config``, all before any is replaced, so a stage that
        cannot be built leaves the remover as it was."""
        build = set(stages)
        detector = build_detector(config) if "detector" in build else self.detector
        refiner = MaskRefiner(**section(config, "mask")) if "mask" in build else self.refiner
        inpainter = build_inpainter(config) if "inpainting" in build else self.inpainter
        temporal = (TemporalStages.from_config(config) if "temporal" in build
                    else self.temporal)  # restarts its state
        self.detector, self.refiner, self.inpainter, self.temporal = \
            detector, refiner, inpainter, temporal

    def _stage(self, stage: _Stage | None, name: str) -> _Stage:
        """``stage``, or RuntimeError when this remover was built without it."""
        if stage is None:
            raise RuntimeError(
                f"this GlareRemover was built without its {name!r} stage (stages: "
                f"{', '.join(self.stages)})")
        return stage

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply parameter changes atomically.

        Only the built stages whose parameters changed are rebuilt. Raises ``ValueError`` (with
        the reason) and keeps the previous configuration if any value is invalid or a stage cannot
        be built (e.g. a missing model file).
        """
        new = SCHEMA.validate(changes, base=self.config)
        changed = {k for k in new if new[k] != self.config[k]}
        if not changed:
            return
        self._build(new, [s for s in self.stages if any(k.startswith(f"{s}.") for k in changed)])
        self.config = new

    def detect(self, image: np.ndarray) -> np.ndarray:
        """Raw glare mask of a BGR (or mono/BGRA/uint16) image; uint8, 255 = glare."""
        return self._stage(self.detector, "detector").detect(image)

    def refine(self, mask_raw: np.ndarray) -> RefinedMask:
        """Speck removal, hole filling, dilation and coverage check of a raw mask."""
        return self._stage(self.refiner, "mask").refine(mask_raw)

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per-frame fill of the ``mask > 0`` pixels of ``image`` (no temporal state); outside the
        mask the output equals the input. For a stream, use :meth:`fill_frame`."""
        return self._stage(self.inpainter, "inpainting").inpaint(image, mask)

    def fill_frame(self, image: np.ndarray, mask: np.ndarray,
                   stamp: float | None = None) -> GlareResult:
        """Everything after mask refinement, for one frame of a stream: the temporal mask
        hysteresis (``temporal.mask.*``), the backend's mask extension
        (:meth:`~.inpainting.base.Inpainter.extend_mask`: the ``separation`` sheen growth), then
        the fill (spatial backend, plus ``temporal.fill.*``).

        What the inpainting node runs on each (image, refined mask) pair and what :meth:`process`
        runs after detection and refinement: one place for the order of the stages. With
        ``temporal.fill`` an empty mask still records the frame (the next frame may reuse its
        background).

        Args:
            image: the frame (BGR / mono / BGRA, uint8 or uint16).
            mask: its refined mask (``HxW`` uint8, 255 = glare).
            stamp: capture time, s (the header stamp; None = monotonic clock). Only the temporal
                stages use it.

        Returns:
            The frame's :class:`GlareResult`: ``image`` is the input itself with ``passthrough``
            ``"empty_mask"`` when the final ``mask`` is empty; no ``mask_raw``; ``timings_ms``
            has ``temporal_mask`` / ``inpaint`` / ``temporal_fill`` for the stages that ran; the
            temporal stream event and reuse of the frame.
        """
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        inpainter = self._stage(self.inpainter, "inpainting")
        temporal = self._stage(self.temporal, "temporal")
        motion = temporal.tracker.update(image, stamp) if temporal.enabled else None
        cue = temporal.cue.update(motion) if temporal.cue is not None else CueMasks(None, None)
        sliding = cue.sliding
        if sliding is not None:
            mask = cv2.max(check_mask(mask, sliding.shape), sliding)
        motion_ms = (time.perf_counter() - t0) * 1e3  # counted in the first temporal stage
        if temporal.mask is not None:
            mask = temporal.mask.update(mask, motion=motion)
            timings["temporal_mask"] = (time.perf_counter() - t0) * 1e3
            motion_ms = 0.0
        t1 = time.perf_counter()
        # (separation: the faint sheen and fringe around each highlight, separated, not filled)
        extended = inpainter.extend_mask(image, mask)
        cov = mask_coverage(extended)
        t2 = time.perf_counter()
        fill = temporal.fill
        out: np.ndarray | None = None
        if cov == 0.0:
            if fill is not None:
                fill.update(image, mask, image, motion=motion,
                            unobserved=cue.bright)  # record the frame
        else:
            rects = component_rects(extended) if fill is not None else None  # (also the fill's)
            out = inpainter.inpaint(image, extended, rects=rects,
                                    detected=None if extended is mask else mask)
            if sliding is not None:
                # A sliding highlight hides the surface whatever its colour: where no earlier
                # frame showed it, push-pull fill it (the backend may leave achromatic pixels);
                # only where it is still in the mask (the temporal mask may hold it back).
                out = _PUSH_PULL.inpaint(out, cv2.bitwise_and(sliding, mask))
            if extended is not mask:
                reported = changed_extension(mask, extended, image, out)
            t2 = time.perf_counter()
            if fill is not None:
                # ``out`` is the inpainter's private copy: filled in place, no extra frame copy.
                # The extension is separated, never filled: the temporal fill keeps to ``mask``.
                if extended is not mask:
                    rects = component_rects(mask)
                out = fill.update(image, mask, out, motion=motion, reuse_spatial=True, rects=rects,
                                  unobserved=cue.bright)
            if extended is not mask:
                mask, cov = reported, mask_coverage(reported)
        t3 = time.perf_counter()
        timings["inpaint"] = (t2 - t1) * 1e3  # (extend_mask and the reported mask included)
        if fill is not None:
            timings["temporal_fill"] = (t3 - t2) * 1e3 + motion_ms
        event = motion.event if motion is not None else None
        if out is None:  # empty final mask: the input is the output
            return GlareResult(image, None, mask, cov, "empty_mask", timings, event)
        reused = fill.reused_fraction if fill is not None else math.nan
        return GlareResult(out, None, mask, cov, None, timings, event, reused)

    def process(self, image: np.ndarray, stamp: float | None = None) -> GlareResult:
        """Run the whole chain on one frame: :meth:`detect`, :meth:`refine`, :meth:`fill_frame`.

        Args:
            image: the frame (BGR / mono / BGRA, uint8 or uint16).
            stamp: capture time, s; used by the temporal stages when enabled (None = monotonic
                clock). With ``temporal.*.enabled`` false (the default) the result is per-frame.
        """
        t0 = time.perf_counter()
        mask_raw = self.detect(image)
        t1 = time.perf_counter()
        refined = self.refine(mask_raw)
        t2 = time.perf_counter()
        timings = {"detect": (t1 - t0) * 1e3, "refine": (t2 - t1) * 1e3}
        if refined.flooded:  # flooded frames pass through and skip the temporal state
            result = GlareResult(image, mask_raw, refined.mask, refined.coverage, "max_coverage",
                                 timings)
        else:
            result = self.fill_frame(image, refined.mask, stamp)
            timings.update(result.timings_ms)
            result = replace(result, mask_raw=mask_raw, timings_ms=timings)
        timings["total"] = (time.perf_counter() - t0) * 1e3
        return result

    def reset(self) -> None:
        """Forget per-stream state (call on a scene cut or a time jump backwards)."""
        if self.detector is not None:
            self.detector.reset()
        if self.temporal is not None:
            self.temporal.reset()
