"""In-process tests of the ROS 2 nodes over real DDS (rclpy + FastDDS, private domain from
conftest)."""

from __future__ import annotations

import time
from typing import Callable

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from glare_inpaint_ros.ros.conversions import array_to_image, image_to_array  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402
from glare_inpaint_ros.ros.inpainting_node import InpaintingNode  # noqa: E402
from glare_inpaint_ros.ros.mask_dilation_node import MaskDilationNode  # noqa: E402
from glare_inpaint_ros.ros.params import StartupParameterError  # noqa: E402
from glare_inpaint_ros.ros.specular_detector_node import SpecularDetectorNode  # noqa: E402

from helpers import (  # noqa: E402
    H, W, as_encoding, assert_unchanged, check_deglared, classic_overrides, make_scene, new_header,
    padded_clean_frame, publish_until, result_for, wait_for,
)

pytestmark = pytest.mark.ros


# -- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16"])
def test_fused_node_removes_highlight_and_keeps_header_and_encoding(ctx, harness, encoding):
    # Mono frames have no colour for the default (dichromatic) chain: it leaves them alone, so
    # mono users choose a brightness detector; that is what runs here for mono.
    overrides = classic_overrides() if encoding.startswith("mono") else []
    node = GlareRemoverNode(context=ctx, parameter_overrides=overrides)
    h = harness([node])
    got, pub = h.io()
    glare = as_encoding(make_scene()[1], encoding)
    sent = publish_until(pub, lambda: array_to_image(glare, encoding, new_header()), got)
    out_msg = result_for(got, sent)
    assert out_msg.header == sent.header
    assert out_msg.encoding == encoding
    out = image_to_array(out_msg)
    assert out.shape == glare.shape and out.dtype == glare.dtype
    check_deglared(out, encoding)
    assert node.stats.total_passthrough.total() == 0


def test_three_nodes_on_one_executor_chain(ctx, harness):
    nodes = [
        SpecularDetectorNode(context=ctx), MaskDilationNode(context=ctx),
        InpaintingNode(context=ctx),
    ]
    h = harness(nodes)
    got, masks = h.collect("image_deglared"), h.collect("glare/mask")
    pub = h.publisher("image")
    h.wait_connected(pub, n_subs=2)
    glare = make_scene()[1]
    sent = publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
    out_msg = result_for(got, sent)
    assert out_msg.header == sent.header and out_msg.encoding == "bgr8"
    check_deglared(image_to_array(out_msg), "bgr8")
    assert wait_for(lambda: any(m.header.stamp == sent.header.stamp for m in masks), 2.0)
    mask = image_to_array(result_for(masks, sent))
    region = make_scene()[2]
    assert (
        mask[region] == 255
    ).all() and mask.sum() > region.sum() * 255  # dilated beyond the highlight


def test_three_node_chain_publishes_a_glare_free_frame_unchanged(ctx, harness):
    """The most common camera frame: no glare. The detector's mask is empty, and the inpainting
    node must still publish the frame on image_deglared, as it came in."""
    nodes = [
        SpecularDetectorNode(context=ctx), MaskDilationNode(context=ctx),
        InpaintingNode(context=ctx),
    ]
    inpainting = nodes[2]
    h = harness(nodes)
    got, masks = h.collect("image_deglared"), h.collect("glare/mask")
    pub = h.publisher("image")
    h.wait_connected(pub, n_subs=2)
    sent = publish_until(pub, padded_clean_frame, got)
    assert_unchanged(result_for(got, sent), sent)
    assert wait_for(lambda: any(m.header.stamp == sent.header.stamp for m in masks), 2.0)
    assert not image_to_array(result_for(masks, sent)).any()  # the empty-mask path was taken
    # published as a match of image and mask, not after the mask timeout
    assert inpainting.stats.total_passthrough["mask_timeout"] == 0


def test_fused_node_publishes_a_glare_free_frame_unchanged(ctx, harness):
    node = GlareRemoverNode(context=ctx)
    h = harness([node])
    got, pub = h.io()
    masks = h.collect("glare/mask")
    assert wait_for(lambda: node.pub_mask.get_subscription_count() == 1)
    sent = publish_until(pub, padded_clean_frame, got)
    assert_unchanged(result_for(got, sent), sent)
    assert wait_for(lambda: any(m.header.stamp == sent.header.stamp for m in masks), 2.0)
    assert not image_to_array(result_for(masks, sent)).any()
    assert node.stats.total_passthrough.total() == 0  # not an error / deadline pass-through


def test_runtime_parameter_changes_and_refusals(ctx, harness):
    node = GlareRemoverNode(context=ctx)
    h = harness([node])
    got, pub = h.io()
    glare = make_scene()[1]
    make = lambda: array_to_image(glare, "bgr8", new_header())  # noqa: E731
    before = image_to_array(result_for(got, publish_until(pub, make, got)))
    assert (before != glare).any()

    res = node.set_parameters([Parameter("inpainting.backend", value="no_such_backend")])[0]
    assert not res.successful and "inpainting.backend" in res.reason
    res = node.set_parameters([Parameter("mask.dilation.kernel_shape", value="hexagon")])[0]
    assert not res.successful and "kernel_shape" in res.reason
    assert node.remover.config["mask.dilation.kernel_shape"] == "ellipse"
    res = node.set_parameters([Parameter("qos.subscription.depth", value=1)])[0]
    assert not res.successful  # read-only

    res = node.set_parameters([Parameter("inpainting.backend", value="telea")])[0]
    assert res.successful and node.remover.config["inpainting.backend"] == "telea"
    # a tiny coverage limit floods every mask: the frame now passes through unchanged
    assert node.set_parameters([Parameter("mask.max_coverage", value=0.0001)])[0].successful
    after = image_to_array(result_for(got, publish_until(pub, make, got)))
    np.testing.assert_array_equal(after, glare)
    assert node.stats.total_passthrough["max_coverage"] >= 1


def test_each_node_builds_only_the_stages_it_uses(make_node):
    """The split nodes build only their own stages (the others stay None); the fused node all."""
    def built(n):
        return [s for s in ("detector", "refiner", "inpainter", "temporal")
                if getattr(n.remover, s) is not None]

    expected = [(SpecularDetectorNode, ["detector"]), (MaskDilationNode, ["refiner"]),
                (InpaintingNode, ["inpainter", "temporal"]),
                (GlareRemoverNode, ["detector", "refiner", "inpainter", "temporal"])]
    for cls, stages in expected:
        node = make_node(cls)
        assert built(node) == stages, cls.__name__
        # the whole config, validated
        assert node.remover.config["detector.type"] == "dichromatic"
    node = make_node(MaskDilationNode)
    with pytest.raises(RuntimeError, match="without its 'detector' stage"):
        node.remover.detect(np.zeros((4, 4, 3), np.uint8))
    assert node.set_parameters([Parameter("mask.dilation.kernel_size", value=5)])[0].successful
    assert node.remover.detector is None
    assert node.remover.refiner.params["dilation.kernel_size"] == 5


def test_missing_mask_passes_image_through_after_timeout(ctx, harness):
    timeout_ms = 80.0
    node = InpaintingNode(
        context=ctx, parameter_overrides=[Parameter("sync.timeout_ms", value=timeout_ms)]
    )
    h = harness([node])
    got, pub = h.io()
    assert wait_for(lambda: h.tester.count_publishers("image_deglared") >= 1)
    glare = make_scene()[1]
    publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got, period=1.0)
    sent2 = array_to_image(glare, "bgr8", new_header())
    pub.publish(sent2)
    sent_at = time.monotonic()
    assert wait_for(lambda: any(m.header.stamp == sent2.header.stamp for m in got), 2.0)
    waited_ms = (time.monotonic() - sent_at) * 1e3
    assert waited_ms >= timeout_ms * 0.9
    out = result_for(got, sent2)
    assert out.header == sent2.header
    np.testing.assert_array_equal(image_to_array(out), glare)
    assert node.stats.total_passthrough["mask_timeout"] >= 2


def test_bad_messages_are_counted_and_next_frame_processed(ctx, harness):
    node = GlareRemoverNode(context=ctx)
    h = harness([node])
    got, pub = h.io()
    glare = make_scene()[1]
    publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)  # discovery done

    def bad(mutate: Callable[[Image], None]) -> Image:
        m = array_to_image(glare, "bgr8", new_header())
        mutate(m)
        return m

    bads = [
        bad(lambda m: setattr(m, "data", m.data[:-3])),
        bad(lambda m: setattr(m, "encoding", "yuv422")),
        bad(lambda m: setattr(m, "step", 10)),
        bad(lambda m: (setattr(m, "height", 0), setattr(m, "data", []))),
    ]
    for m in bads:
        pub.publish(m)
        time.sleep(0.02)
    good = array_to_image(glare, "bgr8", new_header())
    pub.publish(good)
    assert wait_for(lambda: any(m.header.stamp == good.header.stamp for m in got), 3.0)
    assert node.stats.total_dropped["bad_image"] == len(bads)
    check_deglared(image_to_array(result_for(got, good)), "bgr8")
    assert not any(m.header.stamp == b.header.stamp for m in got for b in bads)


def test_inpainting_node_handles_bad_masks(ctx, harness):
    node = InpaintingNode(
        context=ctx, parameter_overrides=[Parameter("sync.timeout_ms", value=300.0)]
    )
    h = harness([node])
    got = h.collect("image_deglared")
    pub_img, pub_mask = h.publisher("image"), h.publisher("glare/mask")
    h.wait_connected(pub_img)
    h.wait_connected(pub_mask)
    assert wait_for(lambda: h.tester.count_publishers("image_deglared") >= 1)
    glare = make_scene()[1]
    # wrong mask size: the image passes through at once
    hd = new_header()
    pub_mask.publish(array_to_image(np.zeros((10, 10), np.uint8), "mono8", hd))
    time.sleep(0.05)
    pub_img.publish(array_to_image(glare, "bgr8", hd))
    assert wait_for(lambda: any(m.header.stamp == hd.stamp for m in got), 2.0)
    assert node.stats.total_passthrough["bad_mask"] == 1
    # passed at once, not after the timeout
    assert (node.stats.total_passthrough["mask_timeout"] == 0)
    # colour "mask": dropped and counted; a good pair afterwards is inpainted
    pub_mask.publish(array_to_image(glare, "bgr8", new_header()))
    assert wait_for(lambda: node.stats.total_dropped["bad_mask"] == 1, 2.0)
    hd2 = new_header()
    mask = np.zeros((H, W), np.uint8)
    mask[make_scene()[2]] = 255
    mask = cv2.dilate(mask, np.ones((7, 7), np.uint8))
    pub_mask.publish(array_to_image(mask, "mono8", hd2))
    pub_img.publish(array_to_image(glare, "bgr8", hd2))
    assert wait_for(lambda: any(m.header.stamp == hd2.stamp for m in got), 2.0)
    check_deglared(image_to_array(result_for(got, hd2)), "bgr8")


def test_diagnostics_published_with_stats(ctx, harness):
    node = GlareRemoverNode(
        context=ctx, parameter_overrides=[Parameter("diagnostics.period_s", value=0.2)]
    )
    h = harness([node])
    diags = h.collect("/diagnostics", DiagnosticArray)
    got, pub = h.io()
    glare = make_scene()[1]
    publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
    name = node.get_fully_qualified_name()

    def processed_status() -> DiagnosticStatus | None:
        for arr in list(diags):
            for st in arr.status:
                vals = {kv.key: kv.value for kv in st.values}
                if st.name == name and vals.get("frames_out", "0") != "0":
                    return st
        return None

    assert wait_for(lambda: processed_status() is not None, 3.0)
    vals = {kv.key: kv.value for kv in processed_status().values}
    for key in (
        "input_rate_hz", "output_rate_hz", "processing_ms_p50", "processing_ms_p95",
        "mask_coverage_mean",
    ):
        assert key in vals
    assert float(vals["processing_ms_p95"]) > 0


def test_fused_publishes_masks_and_debug_only_when_subscribed(ctx, harness):
    node = GlareRemoverNode(
        context=ctx, parameter_overrides=[Parameter("debug.enabled", value=True)]
    )
    h = harness([node])
    got, pub = h.io()
    glare = make_scene()[1]
    make = lambda: array_to_image(glare, "bgr8", new_header())  # noqa: E731
    publish_until(pub, make, got)
    assert node.pub_mask.get_subscription_count() == 0  # nobody listens: nothing is built
    masks, debug = h.collect("glare/mask_raw"), h.collect("glare/debug")
    assert wait_for(
        lambda: node.pub_mask_raw.get_subscription_count() == 1
        and node.pub_debug.get_subscription_count() == 1
    )
    sent = publish_until(pub, make, masks)
    assert wait_for(lambda: any(m.header.stamp == sent.header.stamp for m in debug), 2.0)
    mask = image_to_array(result_for(masks, sent))
    assert (mask[make_scene()[2]] == 255).all()
    overlay = image_to_array(result_for(debug, sent))
    assert result_for(debug, sent).encoding == "bgr8"
    assert ((overlay == (0, 0, 255)).all(axis=2)).sum() > 20  # red outline drawn


@pytest.mark.parametrize(
    "override,match",
    [
        (Parameter("mask.max_coverage", value=2.0), "max_coverage"),
        (Parameter("inpainting.backend", value="nope"), "inpainting.backend"),
        (Parameter("qos.subscription.reliability", value="sometimes"), "reliability"),
    ],
)
def test_invalid_startup_parameters_raise_clear_error(ctx, override, match):
    with pytest.raises(StartupParameterError, match=match):
        GlareRemoverNode(context=ctx, parameter_overrides=[override])


def test_integer_given_for_float_parameter_is_accepted(make_node):
    node = make_node(InpaintingNode, parameter_overrides=[Parameter("sync.timeout_ms", value=50)])
    assert node.params["sync.timeout_ms"] == 50.0
    assert node.get_parameter("sync.timeout_ms").type_ == Parameter.Type.DOUBLE


def test_frames_dropped_when_behind_are_counted(ctx, harness):
    node = GlareRemoverNode(context=ctx)  # default subscription depth 1: newest frame wins
    h = harness([node])
    got, pub = h.io()
    glare = make_scene(480, 640)[1]
    publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
    in_before, out_before = node.stats.total_in, node.stats.total_dropped["not_received"]
    burst = [array_to_image(glare, "bgr8", new_header()) for _ in range(8)]
    for m in burst:
        pub.publish(m)
    assert wait_for(lambda: any(m.header.stamp == burst[-1].header.stamp for m in got), 5.0)
    received = node.stats.total_in - in_before
    dropped = node.stats.total_dropped["not_received"] - out_before
    assert received + dropped == len(burst)
    stamps = [m.header.stamp.sec for m in got if m.header.stamp.sec >= burst[0].header.stamp.sec]
    assert stamps == sorted(stamps) and len(stamps) == received


def test_deadline_passes_frames_through_and_counts(ctx, harness):
    node = GlareRemoverNode(
        context=ctx, parameter_overrides=[Parameter("deadline_ms", value=0.001)]
    )
    h = harness([node])
    got, pub = h.io()
    glare = make_scene()[1]
    sent = publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
    np.testing.assert_array_equal(image_to_array(result_for(got, sent)), glare)
    assert node.stats.total_passthrough["deadline"] >= 1
    assert node.set_parameters([Parameter("deadline_ms", value=0.0)])[0].successful  # off again
    sent = publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
    check_deglared(image_to_array(result_for(got, sent)), "bgr8")


@pytest.mark.parametrize("depth", [1, 4])
def test_subscription_depth_is_the_input_queue(ctx, make_node, depth):
    """While the node is not spinning (busy), a burst of 8 frames is queued in its subscription's
    keep-last history: it then processes exactly the newest ``qos.subscription.depth`` of them."""
    from rclpy.executors import SingleThreadedExecutor

    node = make_node(GlareRemoverNode,
                     parameter_overrides=[Parameter("qos.subscription.depth", value=depth)])
    tester = make_node(rclpy.create_node, f"depth_tester_{depth}")
    executor = SingleThreadedExecutor(context=ctx)
    for n in (node, tester):
        executor.add_node(n)
    got: list[Image] = []
    tester.create_subscription(Image, "image_deglared", got.append, 50)
    pub = tester.create_publisher(Image, "image", 50)

    def connected() -> bool:
        return bool(pub.get_subscription_count() and node.pub_image.get_subscription_count())

    try:  # the executor is not a harness's: this test spins it itself
        end = time.monotonic() + 10.0
        while time.monotonic() < end and not connected():
            executor.spin_once(timeout_sec=0.05)
        assert connected(), "discovery timed out"
        frame = make_scene(32, 48)[1]
        burst = [array_to_image(frame, "bgr8", new_header()) for _ in range(8)]
        for m in burst:
            pub.publish(m)
        time.sleep(0.5)  # delivered into the node's reader history, nobody takes them yet
        end = time.monotonic() + 5.0
        while time.monotonic() < end and len(got) < depth:
            executor.spin_once(timeout_sec=0.05)
        for _ in range(20):  # anything else queued would come now
            executor.spin_once(timeout_sec=0.02)
        assert [m.header.stamp for m in got] == [m.header.stamp for m in burst[-depth:]]
    finally:
        executor.shutdown(timeout_sec=2.0)
