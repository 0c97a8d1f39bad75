"""Reliability over real DDS: bad messages, failing backends, deadlines and bad parameters never
take the camera feed down (issue 7).

Every bad input is sent to a running node (fused ``glare_remover`` and ``inpainting``); the test
then checks the reason's counter in ``/diagnostics`` (DiagnosticArray key/values), that nothing
was published for a rejected frame (or the right thing for an accepted one), that the node's
executor is still spinning and that the next good frame is processed. At the end of each node's
run the accounting is closed: every received image produced exactly one output or a counted drop.

A failing backend is a real plugin registered through ``INPAINTERS`` / ``DETECTORS`` inside a node
process started by :func:`run_node_with_failing_plugins` (so the registries of this pytest
process stay untouched).
"""

from __future__ import annotations

import importlib
import itertools
import signal
import subprocess
import time
from typing import Any, Callable

import cv2
import numpy as np
import pytest


rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.parameter_client import AsyncParameterClient  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from glare_inpaint_ros.core.detectors import DETECTORS, Detector  # noqa: E402
from glare_inpaint_ros.core.inpainting import INPAINTERS, Inpainter  # noqa: E402
from glare_inpaint_ros.ros.conversions import array_to_image, image_to_array  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402
from glare_inpaint_ros.ros.inpainting_node import InpaintingNode  # noqa: E402
from helpers import (  # noqa: E402
    H, W, ROOT, Harness, as_encoding, check_deglared, classic_overrides, make_scene, new_header,
    publish_until, stop_process, wait_for,
)

pytestmark = pytest.mark.ros

DIAG_PERIOD_S = 0.2
_ns_ids = itertools.count()


# -- failing plugins (real registry entries, registered only inside a node subprocess) ----------
class FailingInpainter(Inpainter):
    """An inpainting backend whose every fill raises, like a crashed model runtime."""

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise RuntimeError("simulated inpainting backend failure")


class FailingDetector(Detector):
    """A detector whose every call raises."""

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        raise RuntimeError("simulated detector failure")


class BrokenInpainter(Inpainter):
    """A backend that cannot even be built (not a ValueError: e.g. a driver error)."""

    def __init__(self, **params: Any) -> None:
        raise RuntimeError("simulated: cannot open the accelerator")

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise AssertionError("never built")


def run_node_with_failing_plugins(module: str) -> int:
    """Subprocess entry point: register the ``failing`` plugins (and the unbuildable ``broken``
    backend), then run ``glare_inpaint_ros.ros.<module>``."""
    INPAINTERS.register("failing")(FailingInpainter)
    INPAINTERS.register("broken")(BrokenInpainter)
    DETECTORS.register("failing")(FailingDetector)
    return importlib.import_module(f"glare_inpaint_ros.ros.{module}").main()


def failing_node_code(module: str) -> str:
    """``python -c`` code of a node process whose ``failing`` plugins are registered
    (:func:`run_node_with_failing_plugins`)."""
    return (f"import sys; sys.path.insert(0, {str(ROOT / 'test')!r}); "
            f"import test_reliability as t; sys.exit(t.run_node_with_failing_plugins({module!r}))")


# -- helpers -----------------------------------------------------------------------------------
def scene_mask() -> np.ndarray:
    """The dilated mask of the test scene's highlight (mono8, 255 = glare)."""
    mask = np.zeros((H, W), np.uint8)
    mask[make_scene()[2]] = 255
    return cv2.dilate(mask, np.ones((7, 7), np.uint8))


def header_with(sec: int, nanosec: int = 0, frame_id: str = "camera_optical") -> Header:
    h = Header(frame_id=frame_id)
    h.stamp.sec, h.stamp.nanosec = sec, nanosec
    return h


def raw_image(
    header: Header, encoding: str, height: int, width: int, step: int, data: bytes
) -> Image:
    """An Image message with exactly these fields (no consistency checks)."""
    msg = Image(
        header=header, encoding=encoding, height=height, width=width, step=step, is_bigendian=0
    )
    msg.data = data
    return msg


class Rig:
    """A node under test on a :class:`Harness`, with publishers, output collector and /diagnostics
    reader."""

    def __init__(self, h: Harness, node: Any, mask_topic: bool) -> None:
        self.node = node
        self.h = h
        self.name = node.get_fully_qualified_name()
        ns = node.get_namespace().rstrip("/")
        self.diags = self.h.collect("/diagnostics", DiagnosticArray)
        self.out = self.h.collect(f"{ns}/image_deglared")
        self.pub = self.h.publisher(f"{ns}/image")
        self.h.wait_connected(self.pub)
        self.pub_mask = self.h.publisher(f"{ns}/glare/mask") if mask_topic else None
        if self.pub_mask is not None:
            self.h.wait_connected(self.pub_mask)
        assert wait_for(lambda: self.h.tester.count_publishers(f"{ns}/image_deglared") >= 1)

    def alive(self) -> bool:
        return self.h.alive()

    def values(self) -> dict[str, str]:
        """Key/values of the node's latest DiagnosticStatus."""
        for arr in reversed(list(self.diags)):
            for st in arr.status:
                if st.name == self.name:
                    return {kv.key: kv.value for kv in st.values}
        return {}

    def count(self, key: str) -> int:
        return int(self.values().get(key, "0"))

    def wait_count(self, key: str, expected: int, timeout: float = 5.0) -> int:
        """Wait until /diagnostics reports ``key == expected``; returns the last value seen."""
        wait_for(lambda: self.count(key) >= expected, timeout)
        time.sleep(2 * DIAG_PERIOD_S)  # nothing more arrives late
        return self.count(key)

    def outputs(self, header: Header) -> list[Image]:
        return [m for m in list(self.out) if m.header.stamp == header.stamp]

    def send(self, image: Image, mask: Image | None = None) -> None:
        if mask is not None:
            assert self.pub_mask is not None
            self.pub_mask.publish(mask)
        self.pub.publish(image)

    def good_frame_processed(self) -> int:
        """A good frame (and its mask) sent now comes back deglared with its header.

        Re-sends a fresh frame every 0.5 s until one comes back (absorbs discovery); returns how
        many were published.
        """
        glare = make_scene()[1]
        end = time.monotonic() + 10.0
        sent = 0
        while time.monotonic() < end:
            hd = new_header()
            if self.pub_mask is not None:
                self.pub_mask.publish(array_to_image(scene_mask(), "mono8", hd))
            self.pub.publish(array_to_image(glare, "bgr8", hd))
            sent += 1
            if wait_for(lambda: self.outputs(hd), 0.5):
                out = self.outputs(hd)[0]
                assert out.header == hd
                check_deglared(image_to_array(out), "bgr8")
                return sent
        raise AssertionError("no output for a good frame within 10 s")


def diag_override() -> list[Parameter]:
    """Fast diagnostics, and the classic brightness chain: these rigs feed mono16 frames and
    hard-edged saturated blobs, which the default colour-based chain rightly leaves alone."""
    return [Parameter("diagnostics.period_s", value=DIAG_PERIOD_S)] + classic_overrides()


def fused_rig(harness: Any, namespace: str) -> Rig:
    """A fused ``glare_remover`` node under ``namespace`` on a :class:`Rig` spun by ``harness``
    (conftest's harness factory), first frame processed."""
    node = GlareRemoverNode(context=harness.ctx, namespace=namespace,
                            parameter_overrides=diag_override())
    rig = Rig(harness([node]), node, mask_topic=False)
    rig.good_frame_processed()
    return rig


def inpainting_rig(harness: Any, namespace: str) -> Rig:
    """An ``inpainting`` node under ``namespace`` on a :class:`Rig` spun by ``harness``, first
    frame processed."""
    node = InpaintingNode(context=harness.ctx, namespace=namespace,
                          parameter_overrides=[*diag_override(),
                                               Parameter("sync.timeout_ms", value=200.0)])
    rig = Rig(harness([node]), node, mask_topic=True)
    rig.good_frame_processed()
    return rig


@pytest.fixture(scope="module")
def fused(module_harness):
    return fused_rig(module_harness, "/rel_fused")


@pytest.fixture(scope="module")
def inpainting(module_harness):
    return inpainting_rig(module_harness, "/rel_inpainting")


# -- malformed images: rejected (counted, logged), nothing published, next frame fine ----------
def _glare_msg(header: Header) -> Image:
    return array_to_image(make_scene()[1], "bgr8", header)


def _mutated(**fields: Any) -> Callable[[Header], Image]:
    def make(header: Header) -> Image:
        msg = _glare_msg(header)
        for k, v in fields.items():
            setattr(msg, k, v(msg) if callable(v) else v)
        return msg

    return make


BAD_IMAGES: dict[str, Callable[[Header], Image]] = {
    "data_shorter_than_step_x_height": _mutated(data=lambda m: bytes(m.data[:-3])),
    "data_longer_than_step_x_height": _mutated(data=lambda m: bytes(m.data) + b"\0\0\0"),
    "step_smaller_than_width_x_channels": lambda hd: raw_image(
        hd, "bgr8", H, W, W * 3 - 1, bytes((W * 3 - 1) * H)
    ),
    "width_0": lambda hd: raw_image(hd, "bgr8", H, 0, 0, b""),
    "height_0": lambda hd: raw_image(hd, "bgr8", 0, W, W * 3, b""),
    "unsupported_encoding_yuv422": _mutated(encoding="yuv422"),
    "float_32FC1": lambda hd: raw_image(
        hd, "32FC1", H, W, W * 4, np.ones((H, W), np.float32).tobytes()
    ),
    "unknown_encoding_garbage": _mutated(encoding="\u00e9\u00e9 not an encoding"),
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
@pytest.mark.parametrize("rig_name", ["fused", "inpainting"])
def test_malformed_image_is_rejected_counted_and_next_frame_processed(request, rig_name, case):
    rig: Rig = request.getfixturevalue(rig_name)
    before = rig.count("dropped.bad_image")
    hd = new_header()
    mask = array_to_image(scene_mask(), "mono8", hd) if rig.pub_mask is not None else None
    rig.send(BAD_IMAGES[case](hd), mask)
    assert rig.wait_count("dropped.bad_image", before + 1) == before + 1
    assert rig.outputs(hd) == []  # rejected, not published
    assert rig.alive()
    rig.good_frame_processed()


# -- valid but unusual inputs: processed correctly -------------------------------------------
@pytest.mark.parametrize("rig_name", ["fused", "inpainting"])
def test_mono16_is_processed_correctly(request, rig_name):
    rig: Rig = request.getfixturevalue(rig_name)
    glare16 = as_encoding(make_scene()[1], "mono16")
    hd = new_header()
    mask = array_to_image(scene_mask(), "mono8", hd) if rig.pub_mask is not None else None
    rig.send(array_to_image(glare16, "mono16", hd), mask)
    assert wait_for(lambda: rig.outputs(hd), 5.0)
    out = rig.outputs(hd)[0]
    assert out.encoding == "mono16" and out.header == hd
    arr = image_to_array(out)
    assert arr.dtype == np.uint16
    check_deglared(arr, "mono16")


@pytest.mark.parametrize("rig_name", ["fused", "inpainting"])
def test_stamp_zero_is_processed(request, rig_name):
    rig: Rig = request.getfixturevalue(rig_name)
    hd = header_with(0, 0)
    mask = array_to_image(scene_mask(), "mono8", hd) if rig.pub_mask is not None else None
    rig.send(_glare_msg(hd), mask)
    assert wait_for(lambda: rig.outputs(hd), 5.0)
    check_deglared(image_to_array(rig.outputs(hd)[0]), "bgr8")
    rig.out.clear()  # later stamp-0 frames must not match this one


@pytest.mark.parametrize("rig_name", ["fused", "inpainting"])
def test_out_of_order_stamps_are_all_processed(request, rig_name):
    rig: Rig = request.getfixturevalue(rig_name)
    headers = [new_header() for _ in range(3)]
    order = [2, 0, 1]
    for i in order:
        rig.send(_glare_msg(headers[i]))
        time.sleep(0.02)
    if rig.pub_mask is not None:
        for i in [1, 2, 0]:  # masks in yet another order (spaced: the mask queue is depth 1)
            rig.pub_mask.publish(array_to_image(scene_mask(), "mono8", headers[i]))
            time.sleep(0.02)  # all within sync.timeout_ms (200 ms) of their image
    assert wait_for(lambda: all(rig.outputs(hd) for hd in headers), 5.0)
    for hd in headers:
        check_deglared(image_to_array(rig.outputs(hd)[0]), "bgr8")


def test_duplicate_stamps_fused_each_frame_published(fused):
    hd = new_header()
    for _ in range(2):
        fused.send(_glare_msg(hd))
        time.sleep(0.1)
    assert wait_for(lambda: len(fused.outputs(hd)) == 2, 5.0)
    for out in fused.outputs(hd):
        check_deglared(image_to_array(out), "bgr8")


def test_duplicate_stamps_inpainting_replaced_image_is_passed_through(inpainting):
    """Two images with one stamp wait for their mask: the newer pairs, the older one is published
    unchanged at once (``passthrough.duplicate_stamp``) instead of silently vanishing."""
    rig = inpainting
    before = rig.count("passthrough.duplicate_stamp")
    hd = new_header()
    glare = make_scene()[1]
    rig.send(_glare_msg(hd))
    time.sleep(0.02)
    rig.send(_glare_msg(hd))
    rig.pub_mask.publish(array_to_image(scene_mask(), "mono8", hd))
    assert wait_for(lambda: len(rig.outputs(hd)) == 2, 5.0)
    outs = [image_to_array(m) for m in rig.outputs(hd)]
    unchanged = [o for o in outs if np.array_equal(o, glare)]
    assert len(unchanged) == 1
    check_deglared(next(o for o in outs if not np.array_equal(o, glare)), "bgr8")
    assert rig.wait_count("passthrough.duplicate_stamp", before + 1) == before + 1


# -- bad masks (inpainting node) ---------------------------------------------------------------
def test_mask_of_other_size_passes_image_through(inpainting):
    rig = inpainting
    before = rig.count("passthrough.bad_mask")
    hd = new_header()
    rig.send(_glare_msg(hd), array_to_image(np.full((H // 2, W // 2), 255, np.uint8), "mono8", hd))
    assert wait_for(lambda: rig.outputs(hd), 5.0)
    np.testing.assert_array_equal(image_to_array(rig.outputs(hd)[0]), make_scene()[1])
    assert rig.outputs(hd)[0].header == hd
    assert rig.wait_count("passthrough.bad_mask", before + 1) == before + 1
    rig.good_frame_processed()


BAD_MASKS: dict[str, Callable[[Header], Image]] = {
    "bgr8_mask": lambda hd: array_to_image(
        cv2.cvtColor(scene_mask(), cv2.COLOR_GRAY2BGR), "bgr8", hd
    ),
    "mono16_mask": lambda hd: array_to_image(scene_mask().astype(np.uint16) * 257, "mono16", hd),
    "float_32FC1_mask": lambda hd: raw_image(
        hd, "32FC1", H, W, W * 4, np.ones((H, W), np.float32).tobytes()
    ),
    "mask_data_short": lambda hd: raw_image(hd, "mono8", H, W, W, bytes(W * H - 1)),
}


@pytest.mark.parametrize("case", list(BAD_MASKS))
def test_mask_not_mono8_is_dropped_and_image_times_out_unchanged(inpainting, case):
    rig = inpainting
    bad_before, timeout_before = rig.count("dropped.bad_mask"), rig.count(
        "passthrough.mask_timeout"
    )
    hd = new_header()
    rig.send(_glare_msg(hd), BAD_MASKS[case](hd))
    assert wait_for(lambda: rig.outputs(hd), 5.0)
    np.testing.assert_array_equal(image_to_array(rig.outputs(hd)[0]), make_scene()[1])
    assert rig.wait_count("dropped.bad_mask", bad_before + 1) == bad_before + 1
    assert rig.count("passthrough.mask_timeout") == timeout_before + 1
    rig.good_frame_processed()


# -- load: a burst of 1,000 frames and one 8192x8192 frame -------------------------------------
@pytest.mark.parametrize("rig_name", ["fused", "inpainting"])
def test_burst_of_1000_frames_is_accounted_for(request, rig_name):
    """1,000 frames published back to back: each is either received (then published or rejected
    with a counted reason) or counted as ``dropped.not_received`` (a gap in the publisher's
    sequence numbers: overwritten in the depth-1 queue while the node was busy)."""
    rig: Rig = request.getfixturevalue(rig_name)
    # diagnostics caught up
    assert wait_for(lambda: rig.count("frames_in") == rig.node.stats.total_in, 5.0)
    in0, lost0 = rig.count("frames_in"), rig.count("dropped.not_received")
    total0 = rig.node.stats.total_in
    msg = _glare_msg(new_header())
    for i in range(1000):
        msg.header.stamp.nanosec = (
            i  # distinct stamps, no masks: each image is evicted or times out
        )
        rig.pub.publish(msg)
    assert rig.alive()
    # The last frame of the burst waits in the depth-1 queue until the node takes it (on a busy
    # machine the executor may have taken none during the burst; the good frame below would
    # then overwrite it).
    assert wait_for(lambda: rig.node.stats.total_in > total0, 5.0)
    good = rig.good_frame_processed()  # its arrival closes the sequence-number gap accounting
    expected = 1000 + good
    wait_for(
        lambda: rig.count("frames_in") - in0 + rig.count("dropped.not_received") - lost0
        == expected,
        5.0,
    )
    received, lost = rig.count("frames_in") - in0, rig.count("dropped.not_received") - lost0
    assert received + lost == expected, (received, lost)
    assert received >= 1 + good
    assert_accounting_closed(rig)


def test_8192x8192_frame_is_processed(fused):
    big = np.full((8192, 8192, 3), 90, np.uint8)
    cv2.circle(big, (4096, 4096), 40, (255, 255, 255), -1)
    hd = new_header()
    fused.send(array_to_image(big, "bgr8", hd))
    assert wait_for(lambda: fused.outputs(hd), 60.0), "8192x8192 frame never came back"
    out = image_to_array(fused.outputs(hd)[0])
    assert out.shape == big.shape
    assert (out[4096, 4096] < 250).all()  # the highlight was filled
    np.testing.assert_array_equal(out[:3000], big[:3000])  # far from it: untouched
    fused.out.clear()
    fused.good_frame_processed()


def assert_accounting_closed(rig: Rig) -> None:
    """Every image the node received was published once or dropped with a counted reason."""
    def closed() -> bool:
        v = rig.values()
        n_in, n_out = int(v.get("frames_in", -1)), int(v.get("frames_out", -2))
        rejected = int(v.get("dropped.bad_image", 0)) + int(v.get("dropped.error", 0))
        return n_in == n_out + rejected

    assert wait_for(closed, 5.0), rig.values()


# -- deadline -------------------------------------------------------------------------------
def test_inpainting_deadline_passes_original_through(ctx, harness):
    node = InpaintingNode(context=ctx, namespace="/rel_deadline",
                          parameter_overrides=[*diag_override(),
                                               Parameter("deadline_ms", value=0.001)])
    rig = Rig(harness([node]), node, mask_topic=True)
    glare = make_scene()[1]
    hd = new_header()
    rig.send(_glare_msg(hd), array_to_image(scene_mask(), "mono8", hd))
    assert wait_for(lambda: rig.outputs(hd), 5.0)
    assert rig.outputs(hd)[0].header == hd
    np.testing.assert_array_equal(image_to_array(rig.outputs(hd)[0]), glare)
    assert rig.wait_count("passthrough.deadline", 1) == 1
    assert node.set_parameters([Parameter("deadline_ms", value=0.0)])[0].successful
    rig.good_frame_processed()


# -- parameters --------------------------------------------------------------------------------
RUNTIME_BAD_PARAMS = [
    ([Parameter("mask.dilation.kernel_size", value=-3)], "kernel_size"),
    (
        [Parameter("mask.dilation.kernel_size", value="big")], "Wrong parameter type",
    ),  # rclpy's wording
    ([Parameter("inpainting.backend", value="no_such_backend")], "no_such_backend"),
    ([Parameter("inpainting.backend", value="onnx")], "model_path"),
    ([Parameter("inpainting.onnx.model_path", value="/nonexistent/model.onnx")], "read-only"),
    ([Parameter("detector.threshold.value_min", value=300)], "value_min"),
    ([Parameter("mask.max_coverage", value=1.5)], "max_coverage"),
    ([Parameter("deadline_ms", value=-5.0)], "deadline_ms"),
]


def test_invalid_runtime_parameters_refused_over_dds_and_config_kept(ctx, fused):
    client = AsyncParameterClient(fused.h.tester, fused.name)
    assert client.wait_for_services(timeout_sec=10.0)
    config_before = dict(fused.node.remover.config)
    params_before = dict(fused.node.params)
    for params, reason in RUNTIME_BAD_PARAMS:
        future = client.set_parameters(params)
        assert wait_for(future.done, 5.0)
        result = future.result().results[0]
        assert not result.successful, params
        assert reason in (result.reason or ""), (params, result.reason)
    assert fused.node.remover.config == config_before
    assert fused.node.params == params_before
    fused.good_frame_processed()


STARTUP_BAD = [
    ("glare_remover_node", ["mask.dilation.kernel_size:=-3"], "kernel_size"),
    ("glare_remover_node", ["inpainting.backend:=no_such_backend"], "inpainting.backend"),
    (
        "glare_remover_node",
        ["inpainting.backend:=onnx", "inpainting.onnx.model_path:=/nonexistent/model.onnx"],
        "/nonexistent/model.onnx",
    ),
    ("glare_remover_node", ["detector.threshold.value_min:=300"], "value_min"),
    ("glare_remover_node", ["mask.dilation.kernel_size:=big"], "kernel_size"),
    ("inpainting_node", ["sync.timeout_ms:=-1.0"], "sync.timeout_ms"),
    (
        "inpainting_node",
        ["inpainting.backend:=onnx", "inpainting.onnx.model_path:=/nonexistent/model.onnx"],
        "/nonexistent/model.onnx",
    ),
    ("specular_detector_node", ["detector.type:=nope"], "detector.type"),
    ("mask_dilation_node", ["mask.max_coverage:=-0.5"], "max_coverage"),
]


@pytest.mark.slow
def test_invalid_startup_parameters_exit_nonzero_with_reason(node_process):
    procs = []
    for module, params, _ in STARTUP_BAD:
        args = [a for p in params for a in ("-p", p)]
        procs.append(node_process(module, "-r", f"__ns:=/rel_start_{next(_ns_ids)}", *args))
    for proc, (module, params, reason) in zip(procs, STARTUP_BAD):
        _wait_exit(proc, 30.0)  # a bad parameter must end the process by itself
        code, text = stop_process(proc)
        assert code == 2, (module, params, text)
        assert reason in text and "invalid parameter" in text, (module, params, text)
        assert "Traceback" not in text, text


#: A node that sends itself a signal (``{sig}``: SIGINT or SIGTERM, by number) while holding the
#: lock ``Context.ok()`` takes, as when the signal arrives while the executor asks ``ok()`` (it
#: does on every spin): the Python handler of ``run_nodes`` then runs with that lock held. The
#: lock (``Context._lock``) is private to rclpy.
SIGNAL_INSIDE_OK = """
import os, sys
from rclpy.node import Node
from glare_inpaint_ros.ros.base import run_nodes

class SignalInsideOk(Node):
    def __init__(self):
        super().__init__("signal_inside_ok")
        self.create_timer(0.2, self.tick)

    def tick(self):
        with self.context._lock:
            os.kill(os.getpid(), {sig})  # the Python handler runs right here
            print("handler returned", flush=True)

sys.exit(run_nodes([SignalInsideOk], sys.argv))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_during_spin_exits_cleanly_and_never_hangs(node_process, sig):
    """SIGINT or SIGTERM landing while rclpy holds a lock ends the node with exit 0: the SIGINT
    handler of ``run_nodes`` takes no lock (it called ``rclpy.ok()`` once, and 1 stop in about
    60 hung)."""
    from rclpy.context import Context

    assert hasattr(Context(), "_lock"), "rclpy renamed the lock this test holds"
    proc = node_process("", "-r", f"__ns:=/rel_sig_{next(_ns_ids)}",
                        code=SIGNAL_INSIDE_OK.format(sig=int(sig)))
    exited = _wait_exit(proc, 30.0)
    code, text = stop_process(proc, timeout=1.0)
    assert exited, f"the node hung after its {sig.name}: {text}"
    assert code == 0 and "handler returned" in text and "Traceback" not in text, (code, text)


def _wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


# -- fail-safe output with a failing backend (plugin in a node subprocess) ---------------------
FAIL_CASES = [
    ("glare_remover_node", "inpainting.backend", "processing failed"),
    ("glare_remover_node", "detector.type", "processing failed"),
    ("inpainting_node", "inpainting.backend", "inpainting failed"),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "module,param,log_text", FAIL_CASES, ids=[f"{m}-{p}" for m, p, _ in FAIL_CASES]
)
def test_failing_backend_passes_original_through_logs_once_and_counts(
        harness, node_process, module, param, log_text):
    ns = f"/rel_fail_{next(_ns_ids)}"
    proc = node_process(module, "-r", f"__ns:={ns}", "-p", f"{param}:=failing",
                        "-p", f"diagnostics.period_s:={DIAG_PERIOD_S}",
                        "-p", "sync.timeout_ms:=2000.0", code=failing_node_code(module))
    node_name = f"{ns}/{'glare_remover' if module == 'glare_remover_node' else 'inpainting'}"
    h = harness([])
    rig = _RemoteRig(h, ns, node_name, with_mask=module == "inpainting_node")
    glare = make_scene()[1]
    first = rig.warm_up()
    # late outputs of extra warm-up frames (slow start) are counted before the baseline
    time.sleep(1.0)
    base = rig.count("passthrough.error")
    assert base >= 1
    n = 10
    headers = [new_header() for _ in range(n)]
    for hd in headers:
        rig.send(hd)
        # 10 Hz: no frame is overwritten in the depth-1 queue, even on a loaded machine
        time.sleep(0.1)
    assert wait_for(lambda: all(rig.outputs(hd) for hd in headers), 10.0), rig.values()
    for hd in [first, *headers]:
        out = rig.outputs(hd)
        assert len(out) == 1 and out[0].header == hd  # original header
        np.testing.assert_array_equal(image_to_array(out[0]), glare)  # original pixels
    assert rig.wait_count("passthrough.error", base + n) == base + n
    assert proc.poll() is None

    # passthrough_on_error off (over DDS): failing frames are dropped and counted instead
    assert rig.set_param(Parameter("passthrough_on_error", value=False))
    dropped = [new_header() for _ in range(3)]
    for hd in dropped:
        rig.send(hd)
        time.sleep(0.1)
    assert rig.wait_count("dropped.error", 3) == 3
    assert not any(rig.outputs(hd) for hd in dropped)

    # a backend that raises while being built is refused (not a crash), the old one kept
    assert not rig.set_param(Parameter("inpainting.backend", value="broken"))
    assert proc.poll() is None
    # switching to a working backend at run time recovers
    working = "telea" if param == "inpainting.backend" else "dichromatic"
    assert rig.set_param(Parameter(param, value=working))
    hd = new_header()
    rig.send(hd)
    assert wait_for(lambda: rig.outputs(hd), 10.0)
    check_deglared(image_to_array(rig.outputs(hd)[0]), "bgr8")
    elapsed = time.monotonic() - rig.t_start
    code, text = stop_process(proc)
    assert code == 0 and "Traceback" not in text, text
    warnings = [line for line in text.splitlines() if log_text in line]
    # throttled: one line per cause per 5 s, not one per failed frame (14 of them)
    assert 1 <= len(warnings) <= 1 + int(elapsed / 5.0), text


class _RemoteRig:
    """Talks to a node in another process under namespace ``ns``."""

    def __init__(self, h: Harness, ns: str, node_name: str, with_mask: bool) -> None:
        self.h, self.node_name = h, node_name
        self.t_start = time.monotonic()
        self.out = h.collect(f"{ns}/image_deglared")
        self.diags = h.collect("/diagnostics", DiagnosticArray)
        self.pub = h.publisher(f"{ns}/image")
        self.pub_mask = h.publisher(f"{ns}/glare/mask") if with_mask else None
        self.client = AsyncParameterClient(h.tester, node_name)

    values = Rig.values
    count = Rig.count
    wait_count = Rig.wait_count
    outputs = Rig.outputs

    @property
    def name(self) -> str:
        return self.node_name

    def send(self, hd: Header) -> None:
        if self.pub_mask is not None:
            self.pub_mask.publish(array_to_image(scene_mask(), "mono8", hd))
        self.pub.publish(_glare_msg(hd))

    def warm_up(self) -> Header:
        """Publish until the first output arrives (discovery); returns that frame's header."""
        def make() -> Image:
            hd = new_header()
            if self.pub_mask is not None:
                self.pub_mask.publish(array_to_image(scene_mask(), "mono8", hd))
            return _glare_msg(hd)

        for pub in (self.pub, self.pub_mask):
            if pub is not None:
                self.h.wait_connected(pub, timeout=30.0)
        return publish_until(self.pub, make, self.out, timeout=30.0, period=0.5).header

    def set_param(self, param: Parameter) -> bool:
        assert self.client.wait_for_services(timeout_sec=10.0)
        future = self.client.set_parameters([param])
        assert wait_for(future.done, 10.0)
        return future.result().results[0].successful


@pytest.mark.parametrize("rig_name", ["fused", "inpainting"])
def test_every_received_frame_accounted_for(harness, rig_name):
    """No silent drops: a node of its own (not the module's shared rigs, so the test needs no
    order) fed good, malformed, mono16, stamp-zero and duplicate-stamp frames (and, for the
    inpainting node, bad and missing masks) published every image it received once or dropped it
    with a counted reason."""
    make_rig = fused_rig if rig_name == "fused" else inpainting_rig
    rig = make_rig(harness, f"/rel_{rig_name}_accounting")

    def mask_for(hd: Header) -> Image | None:
        return array_to_image(scene_mask(), "mono8", hd) if rig.pub_mask is not None else None

    for make in BAD_IMAGES.values():
        hd = new_header()
        rig.send(make(hd), mask_for(hd))
    for hd in (new_header(), header_with(0, 0)):
        rig.send(
            array_to_image(as_encoding(make_scene()[1], "mono16"), "mono16", hd), mask_for(hd)
        )
    hd = new_header()
    rig.send(_glare_msg(hd))
    time.sleep(0.02)
    rig.send(_glare_msg(hd), mask_for(hd))  # a duplicate stamp
    if rig.pub_mask is not None:
        rig.send(_glare_msg(new_header()))  # its mask never comes: times out
        hd = new_header()
        rig.send(_glare_msg(hd), BAD_MASKS["bgr8_mask"](hd))
    rig.good_frame_processed()
    assert rig.alive()
    assert_accounting_closed(rig)


# -- plain units behind the fixes above --------------------------------------------------------
def test_stamp_sync_reports_the_image_a_duplicate_replaced():
    from glare_inpaint_ros.ros.sync import StampSync

    s: StampSync[str, str] = StampSync(cache_size=2, timeout_s=1.0)
    assert s.add_image((5, 0), "old", 0.0) == (None, [])
    assert s.add_image((5, 0), "new", 0.1) == (None, ["old"])  # not lost: handed back
    assert s.counters.duplicates == 1 and s.counters.images_evicted == 0
    s.add_image((6, 0), "b", 0.2)
    assert s.add_image((7, 0), "c", 0.3) == (None, ["new"])  # overflow eviction, oldest first
    assert s.counters.images_evicted == 1
    assert s.add_mask((9, 0), "m1", 0.0) == (None, [])
    assert s.add_mask((9, 0), "m2", 0.0) == (None, ["m1"])
    assert s.counters.duplicates == 2 and s.counters.masks_evicted == 0


def test_registry_listener_and_schema_replace_let_late_plugins_be_selected():
    from dataclasses import replace

    from glare_inpaint_ros.core.params import ParamSpec, Schema
    from glare_inpaint_ros.core.registry import Registry

    reg: Registry[Any] = Registry("thing")
    schema = Schema([ParamSpec("thing.type", "a", "Which thing.", choices=("a",))])
    seen: list[str] = []

    def on_register(name: str, cls: type) -> None:
        seen.append(name)
        schema.replace(replace(schema["thing.type"], choices=tuple(reg.names())))
        schema.extend(cls.PARAMS, f"thing.{name}")

    reg.add_listener(on_register)

    @reg.register("late")
    class Late:
        PARAMS = (ParamSpec("size", 3, "Size, px.", 1, 9),)

    assert seen == ["late"]
    assert schema.validate({"thing.type": "late", "thing.late.size": 5})["thing.late.size"] == 5
    with pytest.raises(ValueError, match="thing.late.size"):
        schema.validate({"thing.late.size": 10})
    with pytest.raises(KeyError):
        schema.replace(ParamSpec("thing.other", 1, "Not declared."))


# -- compressed input ------------------------------------------------------------------------
def test_corrupt_compressed_images_rejected_counted_and_next_frame_processed(ctx, harness):
    from sensor_msgs.msg import CompressedImage

    from glare_inpaint_ros.compressed import encode_compressed

    node = GlareRemoverNode(
        context=ctx, namespace="/rel_compressed",
        parameter_overrides=diag_override() + [Parameter("input_transport", value="compressed")],
    )
    h = harness([node])
    rig = _RemoteRig(h, "/rel_compressed", node.get_fully_qualified_name(), with_mask=False)
    pub = h.publisher("/rel_compressed/image/compressed", CompressedImage)
    h.wait_connected(pub)
    glare = make_scene()[1]
    fmt, data = encode_compressed(glare, "bgr8", "png")

    def compressed(hd: Header, fmt_: str, data_: bytes) -> CompressedImage:
        msg = CompressedImage(header=hd, format=fmt_)
        msg.data = bytes(data_)
        return msg

    end = time.monotonic() + 10.0  # discovery: until a good compressed frame comes back
    while not rig.out and time.monotonic() < end:
        pub.publish(compressed(new_header(), fmt, data))
        wait_for(lambda: bool(rig.out), 0.5)
    assert rig.out, "no output for a good compressed frame"
    lost0 = rig.count("dropped.not_received")
    bad = {
        "random bytes as jpeg": ("jpeg", bytes(range(256)) * 4),
        "truncated png": (fmt, bytes(data)[: len(data) // 2]),
        "empty data": (fmt, b""),
        "unknown codec": ("bgr8; tiff compressed bgr8", bytes(data)),
        "compressedDepth": ("16UC1; compressedDepth", bytes(data)),
    }
    for fmt_, data_ in bad.values():
        pub.publish(compressed(new_header(), fmt_, data_))
        time.sleep(0.05)
    assert rig.wait_count("dropped.bad_image", len(bad)) == len(bad)
    hd = new_header()
    pub.publish(compressed(hd, fmt, data))
    assert wait_for(lambda: rig.outputs(hd), 5.0)
    check_deglared(image_to_array(rig.outputs(hd)[0]), "bgr8")
    assert rig.outputs(hd)[0].header == hd
    assert h.alive()
    time.sleep(3 * DIAG_PERIOD_S)
    assert rig.count("dropped.not_received") == lost0  # rejected frames are not counted twice
