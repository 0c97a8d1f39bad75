"""Node options over DDS: compressed input, temporal stages driven by header stamps, OpenCV threads."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CompressedImage  # noqa: E402

from glare_inpaint_ros.compressed import encode_compressed  # noqa: E402
from glare_inpaint_ros.ros.conversions import array_to_image, image_to_array  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402
from glare_inpaint_ros.ros.inpainting_node import InpaintingNode  # noqa: E402
from test_ros_nodes import (  # noqa: E402,F401
    Harness, check_deglared, make_scene, new_header, publish_until, result_for, wait_for,
)

pytestmark = pytest.mark.ros

TEMPORAL = [Parameter("temporal.mask.enabled", value=True), Parameter("temporal.fill.enabled", value=True)]


def _compressed(bgr: np.ndarray, codec: str) -> CompressedImage:
    fmt, data = encode_compressed(bgr, "bgr8", codec)
    return CompressedImage(header=new_header(), format=fmt, data=data)


def test_fused_node_takes_compressed_png_and_drops_corrupt_jpeg(ctx):
    node = GlareRemoverNode(context=ctx, parameter_overrides=[Parameter("input_transport", value="compressed")])
    h = Harness(ctx, [node])
    try:
        got = h.collect("image_deglared")
        pub = h.tester.create_publisher(CompressedImage, "image/compressed", 10)
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
    finally:
        h.close()


def test_fused_node_with_temporal_stages_over_a_sequence(ctx):
    node = GlareRemoverNode(context=ctx, parameter_overrides=TEMPORAL)
    assert node.remover.temporal.enabled
    h = Harness(ctx, [node])
    try:
        got, pub = h.io()
        glare = make_scene()[1]
        for _ in range(5):  # a short static sequence: stamps advance by new_header()
            sent = publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
            out = result_for(got, sent)
            assert out.header == sent.header
            check_deglared(image_to_array(out), "bgr8")
        assert node.stats.total_passthrough.total() == 0
        assert node.set_parameters([Parameter("temporal.fill.enabled", value=False)])[0].successful
        assert node.remover.temporal.fill is None
    finally:
        h.close()


def test_inpainting_node_declares_temporal_parameters(ctx):
    node = InpaintingNode(context=ctx, parameter_overrides=TEMPORAL)
    try:
        assert node.get_parameter("temporal.fill.enabled").value is True
        assert node.remover.temporal.enabled
        bad = node.set_parameters([Parameter("temporal.mask.window_s", value=-1.0)])[0]
        assert not bad.successful and "window_s" in bad.reason
    finally:
        node.destroy_node()


def test_opencv_threads_parameter_sets_the_process_thread_count(ctx):
    before = cv2.getNumThreads()
    node = GlareRemoverNode(context=ctx, parameter_overrides=[Parameter("opencv_threads", value=1)])
    try:
        assert cv2.getNumThreads() == 1
        assert not node.set_parameters([Parameter("opencv_threads", value=2)])[0].successful  # read-only
    finally:
        node.destroy_node()
        cv2.setNumThreads(before)
