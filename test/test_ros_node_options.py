"""Node options over DDS: compressed input, temporal stages driven by header stamps, OpenCV
threads."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CompressedImage  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from glare_inpaint_ros.compressed import encode_compressed  # noqa: E402
from glare_inpaint_ros.ros.conversions import array_to_image, image_to_array  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402
from glare_inpaint_ros.ros.inpainting_node import InpaintingNode  # noqa: E402
from helpers import (  # noqa: E402
    CLASSIC_CHAIN, check_deglared, make_scene, new_header, publish_until, result_for,
    sliding_sequence, wait_for,
)

pytestmark = pytest.mark.ros

# The temporal sequences slide a saturated, hard-edged square: the classic brightness chain's job.
TEMPORAL = [
    Parameter("temporal.mask.enabled", value=True), Parameter("temporal.fill.enabled", value=True),
    *(Parameter(k, value=v) for k, v in CLASSIC_CHAIN.items()),
]


def _compressed(bgr: np.ndarray, codec: str) -> CompressedImage:
    fmt, data = encode_compressed(bgr, "bgr8", codec)
    return CompressedImage(header=new_header(), format=fmt, data=data)


def test_fused_node_takes_compressed_png_and_drops_corrupt_jpeg(ctx, harness):
    node = GlareRemoverNode(
        context=ctx, parameter_overrides=[Parameter("input_transport", value="compressed")]
    )
    h = harness([node])
    got = h.collect("image_deglared")
    pub = h.publisher("image/compressed", CompressedImage)
    h.wait_connected(pub)
    glare = make_scene()[1]
    sent = publish_until(pub, lambda: _compressed(glare, "png"), got)
    out_msg = result_for(got, sent)
    assert out_msg.header == sent.header and out_msg.encoding == "bgr8"
    check_deglared(image_to_array(out_msg), "bgr8")  # PNG is lossless: same checks as raw input

    bad = _compressed(glare, "jpeg")
    bad.data = bytes(bad.data)[: len(bad.data) // 3]  # truncated JPEG
    pub.publish(bad)
    assert wait_for(lambda: node.stats.total_dropped["bad_image"] >= 1, 5.0)
    again = publish_until(pub, lambda: _compressed(glare, "png"), got)  # the node still works
    check_deglared(image_to_array(result_for(got, again)), "bgr8")


def test_fused_node_with_temporal_stages_over_a_sequence(ctx, harness):
    node = GlareRemoverNode(context=ctx, parameter_overrides=TEMPORAL)
    assert node.remover.temporal.enabled
    h = harness([node])
    got, pub = h.io()
    glare = make_scene()[1]
    for _ in range(
        5
    ):  # new_header() stamps are 1 s apart (> max_gap_s): every frame restarts the state
        sent = publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
        out = result_for(got, sent)
        assert out.header == sent.header
        check_deglared(image_to_array(out), "bgr8")
    assert node.stats.total_passthrough.total() == 0
    assert node.set_parameters([Parameter("temporal.fill.enabled", value=False)])[0].successful
    assert node.remover.temporal.fill is None


def test_inpainting_node_declares_temporal_parameters(make_node):
    node = make_node(InpaintingNode, parameter_overrides=TEMPORAL)
    assert node.get_parameter("temporal.fill.enabled").value is True
    assert node.remover.temporal.enabled
    bad = node.set_parameters([Parameter("temporal.mask.window_s", value=-1.0)])[0]
    assert not bad.successful and "window_s" in bad.reason


def test_opencv_threads_parameter_sets_the_process_thread_count(make_node):
    before = cv2.getNumThreads()
    try:  # the thread count is the process's: restored for the tests after this one
        node = make_node(GlareRemoverNode,
                         parameter_overrides=[Parameter("opencv_threads", value=1)])
        assert cv2.getNumThreads() == 1
        # read-only
        assert not node.set_parameters([Parameter("opencv_threads", value=2)])[0].successful
    finally:
        cv2.setNumThreads(before)


def _stamped(t: float) -> Header:
    header = Header(frame_id="camera_optical")
    header.stamp.sec, header.stamp.nanosec = int(t), int(round((t - int(t)) * 1e9))
    return header


def test_fused_node_temporal_state_follows_header_stamps(ctx, harness):
    """Over DDS, the temporal stages run on the header stamps: 30 Hz frames reuse background seen
    earlier, a late frame leaves the state alone, a jump back in time (bag loop) restarts it."""
    node = GlareRemoverNode(context=ctx, parameter_overrides=TEMPORAL)
    tracker, fill = node.remover.temporal.tracker, node.remover.temporal.fill
    frames, _, _ = sliding_sequence(14, 3)
    hole = (slice(50, 74), slice(60, 84))  # the saturated square (inside the detected mask)
    h = harness([node])
    got, pub = h.io()

    def send(img: np.ndarray, t: float) -> np.ndarray:
        header = _stamped(t)
        sent = publish_until(pub, lambda: array_to_image(img, "bgr8", header), got)
        out = result_for(got, sent)
        assert out.header == sent.header
        return image_to_array(out)

    t0 = 5000.0
    for i, img in enumerate(frames):
        send(img, t0 + i / 30)
        assert tracker.last.event == ("first" if i == 0 else None), (i, tracker.last.event)
    assert (fill.last_source[hole] == 1).mean() > 0.6  # background seen in earlier frames
    last = tracker.last.stamp
    send(frames[-1], t0 + 12.5 / 30)  # late frame: answered, state untouched
    assert tracker.last.stamp == last
    send(frames[0], t0 - 5.0)  # the bag loops: time jumps back
    assert tracker.last.event == "reset_backwards"
    assert not (fill.last_source[hole] == 1).any()  # restarted: nothing seen yet
    assert node.stats.total_passthrough.total() == 0
    # ... and the diagnostics say so.
    assert node.stats.total_events == {"temporal.first": 1, "temporal.out_of_order": 1,
                                       "temporal.reset_backwards": 1}
    summary = node.stats.summary(1e9)
    assert summary["events.temporal.reset_backwards"] == 1
    assert 0.1 < summary["temporal_reused_mean"] < 1.0


def test_three_node_chain_temporal_fill_in_the_inpainting_node(ctx, harness):
    """The inpainting node pairs image and mask by stamp and runs the temporal stages on it."""
    from glare_inpaint_ros.ros.mask_dilation_node import MaskDilationNode
    from glare_inpaint_ros.ros.specular_detector_node import SpecularDetectorNode

    inpainting = InpaintingNode(context=ctx, parameter_overrides=TEMPORAL)
    nodes = [
        SpecularDetectorNode(context=ctx, parameter_overrides=TEMPORAL),
        MaskDilationNode(context=ctx), inpainting,
    ]
    frames, _, _ = sliding_sequence(14, 3)
    h = harness(nodes)
    got = h.collect("image_deglared")
    pub = h.publisher("image")
    h.wait_connected(pub, n_subs=2)
    # the chain is connected
    assert wait_for(
        lambda: inpainting.count_publishers("glare/mask") >= 1
        and nodes[1].count_publishers("glare/mask_raw") >= 1,
        5.0,
    )
    for i, img in enumerate(frames):
        header = _stamped(7000.0 + i / 30)
        sent = publish_until(pub, lambda: array_to_image(img, "bgr8", header), got)
        assert result_for(got, sent).header == sent.header
    fill = inpainting.remover.temporal.fill
    assert (fill.last_source[50:74, 60:84] == 1).mean() > 0.6  # background seen in earlier frames
    assert inpainting.stats.total_events == {"temporal.first": 1}  # one stream, no restarts
    assert inpainting.stats.summary(1e9)["temporal_reused_mean"] > 0.1
    assert inpainting.stats.total_passthrough.total() == 0
