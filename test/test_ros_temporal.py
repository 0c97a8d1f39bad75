"""The temporal stages through the nodes: enabled by parameter, driven by header stamps."""

from __future__ import annotations

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.parameter import Parameter  # noqa: E402

from glare_inpaint_ros.ros.conversions import array_to_image, image_to_array  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402
from glare_inpaint_ros.ros.inpainting_node import InpaintingNode  # noqa: E402
from test_ros_nodes import Harness, check_deglared, ctx, make_scene, new_header, publish_until, result_for  # noqa: E402,F401

pytestmark = pytest.mark.ros

TEMPORAL = [Parameter("temporal.mask.enabled", value=True), Parameter("temporal.fill.enabled", value=True)]


def test_fused_node_with_temporal_stages_over_a_sequence(ctx):  # noqa: F811
    node = GlareRemoverNode(context=ctx, parameter_overrides=TEMPORAL)
    assert node.remover.temporal.enabled
    h = Harness(ctx, [node])
    try:
        got = h.collect("image_deglared")
        pub = h.publisher("image")
        h.wait_connected(pub)
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


def test_inpainting_node_declares_temporal_parameters(ctx):  # noqa: F811
    node = InpaintingNode(context=ctx, parameter_overrides=TEMPORAL)
    try:
        assert node.get_parameter("temporal.fill.enabled").value is True
        assert node.remover.temporal.enabled
        bad = node.set_parameters([Parameter("temporal.mask.window_s", value=-1.0)])[0]
        assert not bad.successful and "window_s" in bad.reason
    finally:
        node.destroy_node()
