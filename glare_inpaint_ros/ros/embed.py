"""Embed: glare removal inside your own node's callback, with no DDS hop at all.

:class:`GlareFilter` wraps a :class:`~glare_inpaint_ros.core.GlareRemover` for a node you write
(a detector, typically). Constructed with that node, it

* declares the glare parameters on it under a prefix (``glare.detector.type``,
  ``glare.inpainting.backend`` ...: the same specs, ranges and descriptions as the glare nodes,
  :mod:`.params`), so ``--params-file`` and ``ros2 param set`` work on your node; run-time changes
  are applied atomically, an invalid one refused with the reason;
* publishes its own ``/diagnostics`` status (``<your node>/<prefix>``, :mod:`.diagnostics`):
  rates, processing time, pass-throughs, and input frames missing by their stamps (with a one-time
  warning naming the fix, see :class:`.diagnostics.StampGapMonitor`);
* sets ``cv2.setNumThreads`` for the process from ``<prefix>.opencv_threads`` (default 1, as the
  glare nodes do; 0 = OpenCV's default, one thread per core);
* optionally publishes what it did for debugging (``<prefix>.publish.deglared`` /
  ``<prefix>.publish.mask``, on ``<prefix>/image_deglared`` and ``<prefix>/mask``, only while
  someone subscribes).

.. code-block:: python

    from glare_inpaint_ros.ros import GlareFilter   # importing it applies env.apply_defaults()
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    class MyDetector(Node):
        def __init__(self):
            super().__init__("my_detector")
            self.glare = GlareFilter(self)     # parameters glare.*
            self.create_subscription(Image, "image", self.on_image, 1)

        def on_image(self, msg):
            clean = self.glare.process(msg)    # Image in -> Image out (same header)
            # or: bgr = self.glare.process(numpy_bgr, stamp=...)  (array in -> array out)
            ...                                # detect on `clean`

    rclpy.init(); rclpy.spin(MyDetector())

Fail-safe like the nodes: a frame that cannot be processed is returned unchanged (counted as a
pass-through ``error``, logged once per cause every few seconds) unless
``<prefix>.passthrough_on_error`` is false, then the exception propagates.
"""

from __future__ import annotations

import time
from typing import Any, Sequence, TypeVar

import cv2
import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from ..core.params import ParamSpec
from ..core.pipeline import SCHEMA, GlareRemover, GlareResult
from .base import LOG_THROTTLE_S, NODE_PARAMS, stamp_seconds
from .conversions import array_to_image, from_bgr, image_to_bgr
from .diagnostics import NodeStats, StampGapMonitor, diagnostic_array
from .env import late_warning
from .params import (
    StartupParameterError, apply_changes, changes_from, declare, schema_sections,
)

#: parameters of the filter itself (besides the core sections), relative to the prefix.
FILTER_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("enabled", True, "Remove glare (false: process() returns its input unchanged)."),
    ParamSpec("publish.deglared", False,
              "Publish the deglared image on <prefix>/image_deglared while someone subscribes "
              "(debugging)."),
    ParamSpec("publish.mask", False,
              "Publish the mask (mono8, 255 = glare) on <prefix>/mask while someone subscribes "
              "(debugging)."),
    *(s for s in NODE_PARAMS
      if s.name in ("passthrough_on_error", "diagnostics.period_s", "opencv_threads")),
)

#: what :meth:`GlareFilter.process` takes and returns: an Image or an array.
T = TypeVar("T", np.ndarray, Image)


class GlareFilter:
    """Glare removal for a node of yours (see the module docstring).

    Args:
        node: the node that owns the parameters, the diagnostics timer and the debug publishers.
        prefix: parameter prefix and debug topic namespace (relative to the node), default
            ``glare``.
        sections: core parameter sections to declare (default all: ``detector``, ``mask``,
            ``inpainting``, ``temporal``).
        qos_depth: keep-last depth of the debug publishers.

    Raises:
        StartupParameterError: an invalid start-up value of a ``<prefix>.*`` parameter.
    """

    def __init__(self, node: Node, prefix: str = "glare",
                 sections: Sequence[str] = ("detector", "mask", "inpainting", "temporal"),
                 qos_depth: int = 1) -> None:
        self.node, self.prefix = node, prefix.strip(".")
        specs = [s.prefixed(self.prefix)
                 for s in schema_sections(SCHEMA, sections) + list(FILTER_PARAMS)]
        self._specs = {s.name: s for s in specs}
        # the filter's own parameters (not the core's), by their names without the prefix
        local = {self._local(s.name): s for s in specs}
        self._own_specs = {k: s for k, s in local.items() if k not in SCHEMA}
        values = {self._local(k): v for k, v in declare(node, specs).items()}
        try:
            self.remover = GlareRemover({k: v for k, v in values.items() if k in SCHEMA})
        except ValueError as exc:
            raise StartupParameterError(str(exc)) from None
        self.params: dict[str, Any] = {k: v for k, v in values.items() if k not in SCHEMA}
        # Process-wide, like the glare nodes: 1 thread is faster on the small ROIs (see .base).
        cv2.setNumThreads(self.params["opencv_threads"] or -1)
        self.stats = NodeStats()
        self.gaps = StampGapMonitor()
        self.last: GlareResult | None = None
        self._last_log: dict[str, float] = {}
        topic = self.prefix.replace(".", "/")
        self.pub_deglared = node.create_publisher(Image, f"{topic}/image_deglared", qos_depth)
        self.pub_mask = node.create_publisher(Image, f"{topic}/mask", qos_depth)
        from diagnostic_msgs.msg import DiagnosticArray

        self._diag_pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diag_timer = node.create_timer(self.params["diagnostics.period_s"],
                                             self._publish_diagnostics)
        self.stats.summary(time.monotonic())
        node.add_on_set_parameters_callback(self._on_set_parameters)
        late = late_warning()
        if late:
            node.get_logger().warning(late)

    def _local(self, name: str) -> str:
        return name[len(self.prefix) + 1:]

    # -- processing --------------------------------------------------------------------------
    def process(self, frame: T, stamp: float | None = None) -> T:
        """The frame with glare removed, in the kind given.

        Args:
            frame: a ``sensor_msgs/Image`` (any supported encoding; returned as a new Image with
                the same header and encoding, or ``frame`` itself when nothing was changed) or a
                BGR / mono / BGRA array (returned as an array of the same shape and dtype).
            stamp: capture time, s, for the temporal stages and the input-loss check (default: the
                Image's header stamp; for arrays, the monotonic clock).

        The full core result (masks, coverage, timings) of the last frame is in :attr:`last`.
        """
        start = time.perf_counter()
        is_msg = isinstance(frame, Image)
        self.stats.received()
        if is_msg and stamp is None:
            stamp = stamp_seconds(frame.header)
        if stamp is not None:
            self.stats.event("input_stamp_gap", self.gaps.add(stamp))
            if not self.gaps.warned and self.gaps.missing_fraction() >= self.gaps.warn_fraction:
                message = self.gaps.warning(f"{self.node.get_fully_qualified_name()} input",
                                            self.stats.percentiles_ms()[0])
                if message:
                    self.node.get_logger().warning(message)
        if not self.params["enabled"]:
            self.stats.published()
            return frame
        try:
            bgr = image_to_bgr(frame) if is_msg else frame
            result = self.last = self.remover.process(bgr, stamp)
            out: Any = frame
            if result.passthrough is None:
                out = array_to_image(from_bgr(result.image, frame.encoding), frame.encoding,
                                     frame.header) if is_msg else result.image
        # fail-safe: the caller's detector keeps getting frames
        except Exception as exc:  # noqa: BLE001
            if not self.params["passthrough_on_error"]:
                raise
            self._warn(f"error:{type(exc).__name__}",
                       f"glare removal failed, frame passed through: {exc!r}")
            self.stats.passthrough("error")
            self.stats.published()
            return frame
        self.stats.processed((time.perf_counter() - start) * 1e3)
        self.stats.coverage(result.coverage)
        if result.passthrough == "max_coverage":
            self.stats.passthrough("max_coverage")
        self.stats.published()
        self._publish_debug(out, result, frame.header if is_msg else None,
                            frame.encoding if is_msg else "bgr8")
        return out

    def _publish_debug(self, out: Any, result: GlareResult, header: Any, encoding: str) -> None:
        if self.params["publish.deglared"] and self.pub_deglared.get_subscription_count():
            msg = (out if isinstance(out, Image)
                   else array_to_image(from_bgr(out, encoding), encoding,
                                       header or self._header()))
            self.pub_deglared.publish(msg)
        if self.params["publish.mask"] and self.pub_mask.get_subscription_count():
            self.pub_mask.publish(array_to_image(result.mask, "mono8", header or self._header()))

    def _header(self) -> Any:
        from std_msgs.msg import Header

        return Header(stamp=self.node.get_clock().now().to_msg())

    # -- parameters, diagnostics, logging --------------------------------------------------------
    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        changes = {self._local(k): v for k, v in changes_from(params).items() if k in self._specs}
        if not changes:
            return SetParametersResult(successful=True)  # not ours
        result, own = apply_changes(self.remover, changes, self._own_specs)
        self.params.update(own)
        return result

    def _publish_diagnostics(self) -> None:
        name = f"{self.node.get_fully_qualified_name()}/{self.prefix}"
        status = self.stats.report(name, "glare_inpaint_ros", time.monotonic())
        self._diag_pub.publish(diagnostic_array(self.node.get_clock().now().to_msg(), [status]))

    def _warn(self, cause: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last_log.get(cause, -1e9) >= LOG_THROTTLE_S:
            self._last_log[cause] = now
            self.node.get_logger().warning(
                f"{message} [{cause}; further ones counted in /diagnostics]")


__all__ = ["FILTER_PARAMS", "GlareFilter"]
