"""What every glare node shares: parameters, QoS, the core pipeline, diagnostics, logging,
``main``.

Node parameters common to all nodes (besides the core ``SCHEMA`` sections a node uses):

``qos.subscription.reliability`` (``best_effort`` | ``reliable``, read-only)
    Reliability of the input subscriptions. Best effort (default) never makes a slow node
    back-pressure the camera driver.
``qos.subscription.depth`` (int, default 1, read-only)
    Keep-last history of the input subscriptions. When the node falls behind, DDS overwrites the
    oldest queued frame, so frames are dropped (oldest first) rather than queued; the gaps in the
    publisher's sequence numbers are counted as ``dropped.not_received`` in the diagnostics.
    Default 1 (process the newest frame): at 1280x720 / 30 Hz on a loaded 2-core machine the fused
    node's latency p50 was 208 ms with depth 5 (frames queued) vs 86 ms with depth 1.
``qos.publisher.reliability`` (default ``reliable``, read-only) and ``qos.publisher.depth``
(default 5, read-only)
    QoS of the outputs. A reliable publisher serves both reliable and best-effort subscribers.
``input_transport`` (``raw`` | ``compressed``, read-only)
    ``raw`` subscribes to ``image`` (sensor_msgs/Image); ``compressed`` to ``image/compressed``
    (sensor_msgs/CompressedImage, JPEG/PNG, image_transport's naming and format strings), decoded
    once on receipt; the outputs are raw Images in the decoded encoding. Undecodable frames are
    dropped and counted (``dropped.bad_image``).
``passthrough_on_error`` (bool, default true)
    Any exception while processing a frame: publish the input unchanged (counted as
    ``passthrough.error``; logged once per cause every 5 s). False: drop the frame
    (``dropped.error``).
``opencv_threads`` (int, default 1, read-only)
    ``cv2.setNumThreads`` for the process (0 = OpenCV's default: one per core). Default 1: each
    node handles one frame at a time on small ROIs, where a thread pool costs more in hand-offs
    than it gains, and the pipeline's parallelism comes from its processes; raise it for the fused
    node on a machine with idle cores.
``diagnostics.period_s`` (float, s, default 1.0, read-only)
    Period of the ``/diagnostics`` status (see :mod:`.diagnostics`).
``strict_params`` (bool, default true, read-only)
    Refuse start-up parameters (params file, ``-p``) that no glare node declares: exit 2 with one
    line naming the key and the closest known name. False for a params file shared with other
    nodes.

Core ``input.max_pixels`` (detector, inpainting and fused nodes; run-time): compressed input whose
header claims more pixels is dropped without decoding (``dropped.bad_image``,
``events.too_large``).

Core parameters can be changed at run time: the set-parameters callback applies them through
:meth:`GlareRemover.update` (atomic; an invalid value is refused with the reason and the previous
configuration kept). A SetParameters request (service or :meth:`GlareNode.set_parameters`) applies
all its parameters or none (:class:`.params.BatchParameterService`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import cv2
import numpy as np
import rclpy
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from ..core.params import ParamSpec
from ..core.pipeline import SCHEMA, STAGES, GlareRemover, GlareResult
from ..core.runtime import tune_malloc
from .conversions import ImageFormatError, array_to_image, image_to_bgr
from .diagnostics import NodeStats, StampGapMonitor, diagnostic_array
from .params import (
    BatchParameterService, StartupParameterError, apply_changes, batch_results, changes_from,
    check_known, check_ros_args, declare, known_parameter_names, schema_sections,
)

RELIABILITY = {"best_effort": ReliabilityPolicy.BEST_EFFORT,
               "reliable": ReliabilityPolicy.RELIABLE}


def qos_profiles(params: Mapping[str, Any]) -> tuple[QoSProfile, QoSProfile]:
    """``(subscription, publisher)`` keep-last QoS profiles from the ``qos.*`` parameter values."""
    def profile(end: str) -> QoSProfile:
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=params[f"qos.{end}.depth"],
                          reliability=RELIABILITY[params[f"qos.{end}.reliability"]])

    return profile("subscription"), profile("publisher")


NODE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("qos.subscription.reliability", "best_effort",
              "Reliability of the input subscriptions.",
              choices=tuple(RELIABILITY), read_only=True),
    ParamSpec("qos.subscription.depth", 1,
              "Keep-last depth of the input subscriptions, messages: frames that arrive while the "
              "node is busy beyond this are dropped, oldest first (1 = always process the newest "
              "frame).",
              1, 1000, read_only=True),
    ParamSpec("qos.publisher.reliability", "reliable", "Reliability of the output publishers.",
              choices=tuple(RELIABILITY), read_only=True),
    ParamSpec("qos.publisher.depth", 5, "Keep-last depth of the output publishers, messages.", 1,
              1000, read_only=True),
    ParamSpec("input_transport", "raw",
              "Image input: 'raw' subscribes to image (sensor_msgs/Image), 'compressed' to "
              "image/compressed (sensor_msgs/CompressedImage, JPEG/PNG).",
              choices=("raw", "compressed"), read_only=True),
    ParamSpec("passthrough_on_error", True,
              "On a processing exception publish the input unchanged (true) or drop the frame "
              "(false)."),
    ParamSpec("opencv_threads", 1,
              "cv2.setNumThreads for this process (0 = OpenCV default, one per core).",
              0, 256, read_only=True),
    ParamSpec("diagnostics.period_s", 1.0, "Period of the /diagnostics status, seconds.", 0.05,
              3600.0, read_only=True),
    ParamSpec("strict_params", True,
              "Refuse start-up parameters (params file, -p) that no glare node declares, naming "
              "the key (a typo); "
              "false for a params file shared with other nodes.", read_only=True),
)

DEADLINE_PARAM = ParamSpec(
    "deadline_ms", 0.0,
    "Latency budget from receiving an image to publishing its result, ms (0 = off). A frame that "
    "waited "
    "longer is passed through unprocessed; one whose processing ran past it is passed through "
    "unchanged.",
    0.0, 60_000.0,
)
DEBUG_PARAM = ParamSpec(
    "debug.enabled", False,
    "Publish glare/debug (bgr8: the input with the refined mask outlined in red) while someone "
    "subscribes.",
)

#: how often one cause of a warning may be logged, seconds.
LOG_THROTTLE_S = 5.0


def stamp_key(header: Header) -> tuple[int, int]:
    """The stamp ``(sec, nanosec)`` used to pair messages."""
    return header.stamp.sec, header.stamp.nanosec


def stamp_seconds(header: Header) -> float:
    """The header stamp in seconds (capture time; what the temporal stages use as time)."""
    return header.stamp.sec + header.stamp.nanosec * 1e-9


def draw_mask_outline(bgr: np.ndarray, mask: np.ndarray,
                      color: tuple[int, int, int] = (0, 0, 255)) -> np.ndarray:
    """A bgr8 copy of ``bgr`` (mono/BGRA/uint16 converted) with the outline of ``mask > 0`` drawn,
    1 px."""
    from ..core.validation import check_bgr

    out = check_bgr(bgr).copy()
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, color, 1)
    return out


class GlareNode(Node):
    """Base class: declares parameters, builds the :class:`GlareRemover`, owns stats and
    diagnostics.

    Args:
        node_name: default node name (remappable with ``-r __node:=...``).
        sections: core ``SCHEMA`` sections this node uses (``input``, ``detector``, ``mask``,
            ``inpainting``, ``temporal``): their parameters are declared, and the
            :class:`GlareRemover` builds only those stages
            (:data:`~glare_inpaint_ros.core.pipeline.STAGES`).
        extra_params: node-specific :class:`ParamSpec` objects.
        **kwargs: passed to ``rclpy.node.Node`` (``context``, ``namespace``,
            ``parameter_overrides``...).

    Raises:
        StartupParameterError: an invalid start-up parameter (the node is destroyed first).
    """

    def __init__(self, node_name: str, sections: Sequence[str],
                 extra_params: Iterable[ParamSpec] = (),
                 **kwargs: Any) -> None:
        services = kwargs.pop("start_parameter_services", True)
        super().__init__(node_name, start_parameter_services=False, **kwargs)
        if services:  # rclpy's services, but SetParameters applies a request all or none
            self._parameter_service = BatchParameterService(self)
        try:
            self._check_override_names()
            specs = schema_sections(SCHEMA, sections) + list(NODE_PARAMS) + list(extra_params)
            self._node_specs = {s.name: s for s in specs if s.name not in SCHEMA}
            values = declare(self, specs)
            try:
                self.remover = GlareRemover({k: v for k, v in values.items() if k in SCHEMA},
                                            stages=[s for s in sections if s in STAGES])
            except ValueError as exc:
                raise StartupParameterError(str(exc)) from None
            # A stage that cannot be built (plugin, driver)
            except Exception as exc:  # noqa: BLE001
                raise StartupParameterError(
                    f"cannot build the pipeline: {type(exc).__name__}: {exc}") from None
        except StartupParameterError:
            self.destroy_node()
            raise
        self.params: dict[str, Any] = {k: v for k, v in values.items() if k not in SCHEMA}
        cv2.setNumThreads(self.params["opencv_threads"] or -1)  # -1: OpenCV's default
        self.stats = NodeStats()
        self._gaps = StampGapMonitor()
        self._last_log: dict[str, float] = {}
        self._last_seq: dict[str, int] = {}
        self.sub_qos, self.pub_qos = qos_profiles(self.params)
        from diagnostic_msgs.msg import DiagnosticArray

        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diag_timer = self.create_timer(self.params["diagnostics.period_s"],
                                             self._publish_diagnostics)
        self.stats.summary(time.monotonic())  # start the first rate window now
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # -- parameters --------------------------------------------------------------------------
    def _check_override_names(self) -> None:
        """With ``strict_params`` (default), refuse start-up parameters no glare node declares."""
        overrides = getattr(self, "_parameter_overrides", None) or {}
        strict = overrides.get("strict_params")
        if strict is not None and strict.value is False:
            return
        check_known(overrides, known_parameter_names())

    def set_parameters(self, parameter_list: list[Parameter]) -> list[SetParametersResult]:
        """All or none (rclpy's applies one parameter at a time); see
        :func:`.params.batch_results`."""
        return batch_results(self, parameter_list)

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        bad = [p.name for p in params if not p.name or p.name not in self._parameters]
        if bad:
            return SetParametersResult(successful=False,
                                       reason=f"invalid parameter name {bad[0]!r}" +
                                       (": empty" if not bad[0] else ": not declared"))
        result, node = apply_changes(self.remover, changes_from(params), self._node_specs)
        if node:
            self.params.update(node)
            self.on_node_params_changed(node)
        return result

    def on_node_params_changed(self, changed: dict[str, Any]) -> None:
        """Apply accepted node-parameter changes (subclasses)."""

    # -- helpers for subclasses --------------------------------------------------------------
    def record_temporal(self, result: GlareResult) -> None:
        """Count a frame's temporal stream event (``events.temporal.<event>``: first, reset_gap,
        reset_backwards, reset_scene_cut, reset_size, out_of_order) and, when its mask was filled
        by the temporal fill, the share of the mask taken from background seen earlier
        (``temporal_reused_mean``), both from its :class:`GlareResult`."""
        if result.temporal_event is not None:
            self.stats.event(f"temporal.{result.temporal_event}")
        # NaN (no temporal fill, passed through): skipped
        self.stats.temporal_reuse(result.temporal_reused)

    def warn_throttled(self, cause: str, message: str) -> None:
        """Log ``message`` at most once per :data:`LOG_THROTTLE_S` seconds for each ``cause``."""
        now = time.monotonic()
        if now - self._last_log.get(cause, -1e9) >= LOG_THROTTLE_S:
            self._last_log[cause] = now
            self.get_logger().warning(f"{message} [{cause}; further ones counted in /diagnostics]")

    def track_sequence(self, topic: str, info: dict | None) -> int:
        """Count gaps in the publisher's sequence numbers as ``dropped.not_received``; returns this
        gap.

        These are frames the publisher sent that this node never got: overwritten in the keep-last
        queue while the node was busy (oldest first) or lost by best-effort transport. Assumes one
        publisher per topic; a sequence going backwards (publisher restart) resets the count.
        """
        seq = (info or {}).get("publication_sequence_number")
        if not seq:
            return 0
        last = self._last_seq.get(topic)
        self._last_seq[topic] = seq
        if last is not None and seq > last + 1:
            self.stats.dropped("not_received", seq - last - 1)
            return seq - last - 1
        return 0

    def track_stamps(self, topic: str, header: Header, seq_missing: int = 0) -> None:
        """Count frames missing by their header stamps or sequence numbers
        (``events.input_stamp_gap``) and warn once, naming the fix, when many are missing while
        this node is mostly idle (:class:`.diagnostics.StampGapMonitor`)."""
        self.stats.event("input_stamp_gap", self._gaps.add(stamp_seconds(header), seq_missing))
        if self._gaps.warned or not self._gaps.missing_fraction() >= self._gaps.warn_fraction:
            return
        message = self._gaps.warning(self.resolve_topic_name(topic),
                                     self.stats.percentiles_ms()[0])
        if message:
            self.get_logger().warning(message)

    def receive(self, msg: Image, info: dict | None, topic: str,
                decode: Callable[[Image], np.ndarray],
                reason: str, count: bool = True) -> np.ndarray | None:
        """Count an arrival on ``topic`` and decode it; ``None`` (counted, logged) if undecodable.

        Args:
            msg: the received message.
            info: the message info rclpy passes with it (``None`` when there is none): its
                ``publication_sequence_number`` counts lost messages.
            topic: the topic it came on (for the counters and the log).
            decode: e.g. :func:`.conversions.image_to_bgr` or :func:`.conversions.mask_to_array`.
            reason: drop reason for an undecodable message (``bad_image``, ``bad_mask``).
            count: count the message as a received frame (False for the mask input of the
                inpainting node: frames are counted on its image input).
        """
        seq_missing = self.track_sequence(topic, info)
        if count:
            self.stats.received()
            self.track_stamps(topic, msg.header, seq_missing)
        try:
            return decode(msg)
        except ImageFormatError as exc:
            self.stats.dropped(reason)
            self.warn_throttled(reason, f"dropping {topic} message: {exc}")
            return None

    def publish_original(self, pub: Publisher, msg: Image, reason: str | None = None) -> None:
        """Publish the input ``msg`` unchanged on ``pub`` (counted as published, and as a
        pass-through under ``reason`` when given)."""
        if reason:
            self.stats.passthrough(reason)
        pub.publish(msg)
        self.stats.published()

    def fail_safe(self, pub: Publisher | None, msg: Image, exc: Exception, what: str) -> None:
        """A processing exception: log once per cause, then publish ``msg`` unchanged on ``pub``
        (``passthrough.error``) or, with ``passthrough_on_error`` false or no ``pub``, drop it
        (``dropped.error``)."""
        self.warn_throttled(f"error:{type(exc).__name__}", f"{what} failed: {exc!r}")
        if self.params["passthrough_on_error"] and pub is not None:
            self.publish_original(pub, msg, "error")
        else:
            self.stats.dropped("error")

    def subscribe_image(self, callback: Callable[[Image, dict | None], None]) -> Any:
        """Subscribe ``callback`` to the input image per ``input_transport``.

        ``raw``: ``image`` as sensor_msgs/Image. ``compressed``: ``image/compressed`` as
        sensor_msgs/CompressedImage, decoded
        (:func:`glare_inpaint_ros.compressed.decode_compressed`) into an Image with the same header
        before ``callback`` sees it; undecodable ones are dropped and counted as
        ``dropped.bad_image``.
        """
        if self.params["input_transport"] == "raw":
            return self.create_subscription(Image, "image", callback, self.sub_qos)
        from sensor_msgs.msg import CompressedImage

        from ..compressed import decode_compressed
        from ..imageheader import ImageTooLargeError

        def on_compressed(msg: CompressedImage, info: dict | None) -> None:
            try:
                arr, encoding = decode_compressed(msg.format, msg.data,
                                                  self.remover.config["input.max_pixels"])
                image = array_to_image(arr, encoding, msg.header)
            # ImageFormatError, and whatever a decoder raises
            except Exception as exc:  # noqa: BLE001
                self.stats.received()
                self.track_sequence("image", info)  # received: not a gap for the next frame
                self.stats.dropped("bad_image")
                cause = "too_large" if isinstance(exc, ImageTooLargeError) else "bad_image"
                if cause == "too_large":
                    # which of the bad_image drops were over input.max_pixels
                    self.stats.event("too_large")
                self.warn_throttled(cause, f"dropping compressed image: {exc}")
                return
            callback(image, info)

        return self.create_subscription(CompressedImage, "image/compressed", on_compressed,
                                        self.sub_qos)

    def publish_array(self, pub: Publisher, arr: np.ndarray, encoding: str,
                      header: Header) -> None:
        """Publish ``arr`` (in ``encoding``'s channel order) with ``header``."""
        pub.publish(array_to_image(arr, encoding, header))

    def publish_debug(self, pub: Publisher, msg: Image, mask: np.ndarray) -> None:
        """Publish the mask outline over ``msg``'s image on ``pub`` if enabled and someone
        listens."""
        if not self.params.get("debug.enabled") or pub.get_subscription_count() == 0:
            return
        overlay = draw_mask_outline(image_to_bgr(msg), mask)
        self.publish_array(pub, overlay, "bgr8", msg.header)

    def _publish_diagnostics(self) -> None:
        status = self.stats.report(
            f"{self.get_fully_qualified_name()}", "glare_inpaint_ros", time.monotonic()
        )
        self._diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(), [status]))


def node_cli(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The command line of a node executable: ``--help`` (and the node's own options, added by the
    caller); ROS arguments go after ``--ros-args`` and are left to rclpy."""
    text = (doc or "").strip()
    return argparse.ArgumentParser(
        prog=prog, description=text.split("\n\n", 1)[0] if text else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="ROS arguments follow --ros-args, e.g.:\n"
               f"  {prog} --ros-args --params-file config/glare_inpaint.yaml -p "
               "debug.enabled:=true \\\n"
               "      -r image:=/camera/image_raw -r __ns:=/front\n"
               "Parameters: see config/glare_inpaint.yaml (every one, with its range) and "
               "docs/ros.md.",
    )


#: True from ``rclpy.init`` until the nodes are destroyed in :func:`run_nodes`: rclpy owns SIGINT.
_rclpy_owns_sigint = False


def _interrupt_unless_spinning(signum: int, frame: Any) -> None:
    """Handle SIGINT in :func:`run_nodes`: while rclpy runs, its own (C) handler already
    shuts the context down and the spin ends with ``ExternalShutdownException``; a
    ``KeyboardInterrupt`` on top could land anywhere in rclpy (once it landed in ``Task.__init__``,
    whose ``__del__`` then printed a traceback at exit). Before ``rclpy.init`` and after the nodes
    are gone, Ctrl-C interrupts as usual. (SIGTERM is rclpy's alone: it ends the spin the same
    way.)

    It reads a module flag and takes no lock: a handler runs in the main thread between two
    bytecodes of whatever was interrupted, and when that was ``Context.ok()`` (the executor asks
    it on every spin), calling ``rclpy.ok()`` here waited forever on the lock the interrupted call
    held (1 stop in about 60 hung; tested in test/test_reliability.py)."""
    if not _rclpy_owns_sigint:
        raise KeyboardInterrupt


def run_nodes(factories: Sequence[Callable[[], Node]] | Callable[[argparse.Namespace],
                                                                 Sequence[Callable[[], Node]]],
              args: Sequence[str] | None = None, logger_name: str = "glare_inpaint_ros",
              cli: argparse.ArgumentParser | None = None) -> int:
    """Parse the command line, initialise rclpy, build the nodes, spin them on one
    ``SingleThreadedExecutor``, shut down cleanly.

    One single-threaded executor, deliberately: rclpy's ``MultiThreadedExecutor`` (and one
    executor thread per node) doubled the latency and lost more frames at 1280x720 / 30 Hz, see
    docs/performance.md ("Executors").

    ``args`` is the whole command line (program name first; default ``sys.argv``). Its non-ROS
    part is parsed with ``cli`` (default: :func:`node_cli`): ``--help`` prints the usage and
    returns 0 without starting anything. ``factories`` is the node classes (or factories), or a
    function of the parsed options that returns them (``ValueError`` from it: one FATAL line,
    exit 2). Before ``rclpy.init`` it checks every ``--params-file`` and fills
    in the environment defaults of :mod:`.env` (localhost discovery, the shipped FastDDS profile;
    explicit settings win) and calls :func:`tune_malloc`.
    Returns the process exit code: 0 after Ctrl-C / external shutdown or ``--help``, 2 for a bad
    command line, params file or start-up parameter (one FATAL line, no traceback).
    """
    from rclpy.utilities import remove_ros_args

    from .env import apply_defaults

    global _rclpy_owns_sigint
    argv = list(sys.argv if args is None else args)
    fatal = rclpy.logging.get_logger(logger_name).fatal
    parser = cli or node_cli(logger_name, None)
    try:
        # before rcl parses them (remove_ros_args does) and before DDS starts
        check_ros_args(argv, known_parameter_names())
        opts = parser.parse_args(remove_ros_args(argv)[1:])  # --help, bad options
        if not isinstance(factories, Sequence):
            factories = factories(opts)
    except StartupParameterError as exc:
        fatal(f"invalid parameter: {exc}")
        return 2
    except SystemExit as exc:  # --help (0) or a bad option (2, argparse printed the line)
        return int(exc.code or 0)
    except ValueError as exc:  # the options name something that cannot be loaded
        fatal(str(exc))
        return 2
    except Exception as exc:  # noqa: BLE001 - rcl refusing malformed ROS arguments
        fatal(f"invalid ROS arguments: {' '.join(str(exc).split())}")
        return 2
    apply_defaults()  # local discovery + the shipped FastDDS profile, unless the user set them
    tune_malloc()
    signal.signal(signal.SIGINT, _interrupt_unless_spinning)
    nodes: list[Node] = []
    try:
        try:
            rclpy.init(args=argv)
        except Exception as exc:  # noqa: BLE001 - rcl: a malformed -p rule, ...
            fatal(f"invalid ROS arguments: {' '.join(str(exc).split())}")
            return 2
        _rclpy_owns_sigint = True  # (a Ctrl-C just before this line lands in the except below)
        for make in factories:
            nodes.append(make())
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        executor.spin()
    except StartupParameterError as exc:
        fatal(f"invalid parameter: {exc}")
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:  # rclpy's RCLError: the signal shut the context down mid-wait
        if rclpy.ok():
            raise
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
        _rclpy_owns_sigint = False
    return 0
