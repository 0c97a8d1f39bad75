"""``input_transport: compressed``: the nodes take sensor_msgs/CompressedImage on image/compressed."""

from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CompressedImage  # noqa: E402

from glare_inpaint_ros.compressed import encode_compressed  # noqa: E402
from glare_inpaint_ros.ros.conversions import image_to_array  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402
from test_ros_nodes import Harness, check_deglared, ctx, make_scene, new_header, publish_until, result_for, wait_for  # noqa: E402,F401

pytestmark = pytest.mark.ros


def _compressed(bgr: np.ndarray, codec: str) -> CompressedImage:
    fmt, data = encode_compressed(bgr, "bgr8", codec)
    return CompressedImage(header=new_header(), format=fmt, data=data)


def test_fused_node_takes_compressed_png_and_drops_corrupt_jpeg(ctx):  # noqa: F811
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
