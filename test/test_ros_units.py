"""Unit tests of the ROS layer's plain parts: stamp sync, stats, conversions, parameter
descriptors."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("rclpy")

from rcl_interfaces.msg import ParameterType  # noqa: E402
from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from glare_inpaint_ros.core.params import ParamSpec  # noqa: E402
from glare_inpaint_ros.core.pipeline import SCHEMA  # noqa: E402
from glare_inpaint_ros.encodings import ENCODINGS  # noqa: E402
from glare_inpaint_ros.ros.conversions import (  # noqa: E402
    ImageFormatError, array_to_image, image_to_array, image_to_bgr, mask_to_array,
)
from glare_inpaint_ros.ros.diagnostics import NodeStats  # noqa: E402
from glare_inpaint_ros.ros.params import descriptor, ros_type  # noqa: E402
from glare_inpaint_ros.ros.sync import StampSync  # noqa: E402


# -- StampSync -------------------------------------------------------------------------------
def test_sync_pairs_in_either_order():
    s: StampSync[str, str] = StampSync(cache_size=4, timeout_s=0.1)
    assert s.add_image((1, 0), "i1", 0.0) == (None, [])
    assert s.add_mask((1, 0), "m1", 0.01) == (("i1", "m1"), [])
    assert s.add_mask((2, 5), "m2", 0.02) == (None, [])
    assert s.add_image((2, 5), "i2", 0.03) == (("i2", "m2"), [])
    assert len(s) == 0


def test_sync_does_not_pair_different_nanoseconds():
    s: StampSync[str, str] = StampSync(4, 0.1)
    s.add_image((1, 1), "i", 0.0)
    assert s.add_mask((1, 2), "m", 0.0)[0] is None
    assert s.pending_images == 1 and s.pending_masks == 1


def test_sync_evicts_oldest_and_counts():
    s: StampSync[int, int] = StampSync(cache_size=2, timeout_s=10.0)
    s.add_image((1, 0), 1, 0.0)
    s.add_image((2, 0), 2, 0.1)
    pair, evicted = s.add_image((3, 0), 3, 0.2)
    assert pair is None and evicted == [1]
    assert s.counters.images_evicted == 1
    _, evicted_masks = s.add_mask((7, 0), 7, 0.0)
    s.add_mask((8, 0), 8, 0.0)
    _, evicted_masks = s.add_mask((9, 0), 9, 0.0)
    assert evicted_masks == [7] and s.counters.masks_evicted == 1
    # the survivors still pair
    assert s.add_mask((3, 0), 33, 0.3)[0] == (3, 33)


def test_sync_expire_returns_old_images_oldest_first():
    s: StampSync[int, int] = StampSync(cache_size=10, timeout_s=0.1)
    s.add_image((1, 0), 1, 0.00)
    s.add_image((2, 0), 2, 0.05)
    s.add_mask((9, 0), 9, 0.00)
    assert s.expire(0.09) == []
    assert s.expire(0.10) == [1]
    assert s.counters.masks_timed_out == 1
    assert s.expire(0.2) == [2]
    assert s.counters.images_timed_out == 2 and len(s) == 0


def test_sync_duplicate_stamp_replaces_and_counts():
    s: StampSync[str, str] = StampSync(4, 0.1)
    s.add_image((1, 0), "old", 0.0)
    s.add_image((1, 0), "new", 0.01)
    assert s.counters.duplicates == 1
    assert s.add_mask((1, 0), "m", 0.02)[0] == ("new", "m")


@pytest.mark.parametrize("size,timeout", [(0, 0.1), (2.5, 0.1), (True, 0.1), (3, 0.0), (3, -1.0)])
def test_sync_rejects_bad_bounds(size, timeout):
    with pytest.raises(ValueError):
        StampSync(size, timeout)


# -- NodeStats -------------------------------------------------------------------------------
def test_stats_rates_percentiles_and_level():
    st = NodeStats()
    st.summary(0.0)
    for ms in range(1, 101):
        st.received()
        st.processed(float(ms))
        st.published()
    st.coverage(0.1)
    st.coverage(0.3)
    s = st.summary(2.0)
    assert s["input_rate_hz"] == pytest.approx(50.0)
    assert s["output_rate_hz"] == pytest.approx(50.0)
    assert s["processing_ms_p50"] == pytest.approx(50.5)
    assert 94 < s["processing_ms_p95"] < 96
    assert s["mask_coverage_mean"] == pytest.approx(0.2)
    st.received()
    st.passthrough("mask_timeout")
    st.published()
    status = st.report("n", "hw", 3.0)
    assert status.level == DiagnosticStatus.WARN
    values = {kv.key: kv.value for kv in status.values}
    assert values["passthrough.mask_timeout"] == "1"
    assert values["frames_in"] == "101"
    # next period is clean again
    st.received()
    st.published()
    assert st.report("n", "hw", 4.0).level == DiagnosticStatus.OK
    st.received()
    assert st.report("n", "hw", 5.0).level == DiagnosticStatus.ERROR


def test_stats_temporal_events_and_reuse():
    st = NodeStats()
    st.summary(0.0)
    for name in ("temporal.first", "temporal.reset_gap", "temporal.reset_gap"):
        st.event(name)
    for fraction in (0.2, 0.6, float("nan")):  # NaN (no temporal fill yet) is skipped
        st.temporal_reuse(fraction)
    st.received()
    st.published()
    status = st.report("n", "hw", 1.0)
    values = {kv.key: kv.value for kv in status.values}
    assert values["events.temporal.reset_gap"] == "2" and values["events.temporal.first"] == "1"
    assert values["temporal_reused_mean"] == "0.400"
    assert status.level == DiagnosticStatus.OK  # events are information, not a fault
    later = {kv.key for kv in st.report("n", "hw", 2.0).values}
    # period mean, total count
    assert ("temporal_reused_mean" not in later and "events.temporal.reset_gap" in later)


def test_stats_empty_is_nan():
    s = NodeStats().summary(1.0)
    assert math.isnan(s["processing_ms_p50"]) and math.isnan(s["input_rate_hz"])


# -- conversions -----------------------------------------------------------------------------
def _sample(encoding: str, h: int = 5, w: int = 7) -> np.ndarray:
    dtype, ch = ENCODINGS[encoding]
    rng = np.random.default_rng(0)
    shape = (h, w) if ch == 1 else (h, w, ch)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16", "8UC1"])
def test_roundtrip_keeps_pixels_header_and_encoding(encoding):
    arr = _sample(encoding)
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = array_to_image(arr, encoding, header)
    assert (
        msg.encoding == encoding
        and msg.header.frame_id == "cam"
        and msg.header.stamp.nanosec == 345
    )
    assert msg.step * msg.height == len(msg.data)
    np.testing.assert_array_equal(image_to_array(msg), arr)


def test_receive_is_zero_copy_without_padding():
    msg = array_to_image(_sample("bgr8"), "bgr8", Header())
    view = image_to_array(msg)
    assert not view.flags.owndata
    assert np.shares_memory(view, np.frombuffer(msg.data, np.uint8))


def test_step_padding_respected():
    arr = _sample("bgr8", 4, 3)
    msg = array_to_image(arr, "bgr8", Header())
    padded = np.zeros((4, msg.step + 5), np.uint8)
    padded[:, : msg.step] = np.frombuffer(msg.data, np.uint8).reshape(4, msg.step)
    msg.step += 5
    msg.data = padded.tobytes()
    np.testing.assert_array_equal(image_to_array(msg), arr)


def test_rgb_is_converted_to_bgr_for_processing():
    rgb = _sample("rgb8")
    msg = array_to_image(rgb, "rgb8", Header())
    np.testing.assert_array_equal(image_to_bgr(msg), rgb[:, :, ::-1])


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda m: setattr(m, "encoding", "yuv422"), "unsupported encoding"),
        (lambda m: setattr(m, "data", m.data[:-1]), "expected step"),
        (lambda m: setattr(m, "step", m.step - 1), "step"),
        (lambda m: setattr(m, "height", 0), "empty"),
    ],
)
def test_bad_messages_raise_clear_errors(mutate, match):
    msg = array_to_image(_sample("bgr8"), "bgr8", Header())
    mutate(msg)
    with pytest.raises(ImageFormatError, match=match):
        image_to_array(msg)


def test_mask_checks_encoding_and_size():
    mask_msg = array_to_image(np.zeros((5, 7), np.uint8), "mono8", Header())
    assert mask_to_array(mask_msg, (5, 7, 3)).shape == (5, 7)
    with pytest.raises(ImageFormatError, match="does not match image size"):
        mask_to_array(mask_msg, (6, 7, 3))
    with pytest.raises(ImageFormatError, match="mono8 or 8UC1"):
        mask_to_array(array_to_image(_sample("bgr8"), "bgr8", Header()))


def test_array_to_image_rejects_mismatched_array():
    with pytest.raises(ImageFormatError, match="does not fit"):
        array_to_image(np.zeros((4, 4), np.uint8), "bgr8", Header())


# -- parameter descriptors -------------------------------------------------------------------
def test_descriptors_cover_every_schema_parameter():
    for spec in SCHEMA:
        d = descriptor(spec)
        assert d.name == spec.name and d.description == spec.description
        assert d.type == ros_type(spec)
        if spec.type is int and spec.min_value is not None:
            assert d.integer_range[0].from_value == spec.min_value
            assert d.integer_range[0].to_value == spec.max_value
        if spec.type is float and spec.max_value is not None:
            assert d.floating_point_range[0].to_value == pytest.approx(spec.max_value)
        if spec.choices:
            assert all(c in d.additional_constraints for c in spec.choices)


def test_descriptor_types_and_read_only():
    assert descriptor(ParamSpec("a", 1.5, "x", 0.0, None)).floating_point_range[0].to_value > 1e300
    assert descriptor(ParamSpec("b", [1, 2], "x")).type == ParameterType.PARAMETER_INTEGER_ARRAY
    assert descriptor(ParamSpec("c", ["a"], "x")).type == ParameterType.PARAMETER_STRING_ARRAY
    assert descriptor(ParamSpec("d", True, "x", read_only=True)).read_only
    assert descriptor(ParamSpec("e", "s", "x")).type == ParameterType.PARAMETER_STRING


def test_check_ros_args_refuses_names_every_node_gets_before_dds(tmp_path):
    """The ``-p`` rules and ``/**`` entries reach every node: a typo among them is refused
    before ``rclpy.init`` (no DDS participant); one node's entries and ``strict_params:=false``
    are left to the nodes."""
    from glare_inpaint_ros.ros.params import (
        StartupParameterError, check_ros_args, known_parameter_names,
    )

    known = known_parameter_names()
    everyone = tmp_path / "all.yaml"
    everyone.write_text("/**:\n  ros__parameters:\n    mask:\n      dilation:\n"
                        "        kernal_size: 9\n")
    nested = tmp_path / "nested.yaml"
    nested.write_text("/**:\n  glare_remover:\n    ros__parameters:\n      deadline_msec: 5.0\n")
    lax = tmp_path / "lax.yaml"
    lax.write_text("glare_remover:\n  ros__parameters:\n    strict_params: false\n")
    good = tmp_path / "good.yaml"
    good.write_text("/**:\n  ros__parameters:\n    mask:\n      dilation:\n"
                    "        kernel_size: 9\n    use_sim_time: true\n")
    with pytest.raises(StartupParameterError, match="'detector.threshold.value_min'"):
        check_ros_args(["-p", "detector.threshold.vale_min:=200"], known)
    with pytest.raises(StartupParameterError, match="'mask.dilation.kernel_size'"):
        check_ros_args(["--params-file", str(everyone)], known)
    # accepted here: known names, one node's entry, strictness off anywhere, no list of names
    check_ros_args(["--params-file", str(good), "-p", "deadline_ms:=5.0"], known)
    check_ros_args(["--params-file", str(nested)], known)
    check_ros_args(["-p", "detector.threshold.vale_min:=200", "-p", "strict_params:=false"],
                   known)
    check_ros_args(["--params-file", str(everyone), "--params-file", str(lax)], known)
    check_ros_args(["-p", "detector.threshold.vale_min:=200"])
