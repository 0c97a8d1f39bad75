"""Where a ROS install provides ``cv_bridge``: its conversions give the same arrays and messages as
the package's own (:mod:`glare_inpaint_ros.ros.conversions`, which the nodes use everywhere).

Skipped where ``cv_bridge`` is not importable (the PyPI wheels of ``tools/setup.sh`` have none):
run it after ``source /opt/ros/jazzy/setup.bash`` with ``ros-jazzy-cv-bridge`` installed.
"""

from __future__ import annotations

from array import array

import numpy as np
import pytest

pytest.importorskip("rclpy")
cv_bridge = pytest.importorskip(
    "cv_bridge",
    reason="cv_bridge is not importable here (no PyPI wheel; it comes with a ROS install: "
    "apt install ros-jazzy-cv-bridge, then source /opt/ros/jazzy/setup.bash)",
)

from std_msgs.msg import Header  # noqa: E402

from glare_inpaint_ros.ros.conversions import (  # noqa: E402
    ENCODINGS, array_to_image, image_to_array, image_to_bgr,
)

pytestmark = pytest.mark.ros


def _frame(encoding: str, h: int = 37, w: int = 53) -> np.ndarray:
    dtype, ch = ENCODINGS[encoding]
    rng = np.random.default_rng(len(encoding))
    shape = (h, w) if ch == 1 else (h, w, ch)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_messages_and_arrays_match_cv_bridge(encoding):
    bridge = cv_bridge.CvBridge()
    arr = _frame(encoding)
    ours = array_to_image(arr, encoding, Header(frame_id="cam"))
    theirs = bridge.cv2_to_imgmsg(arr, encoding=encoding, header=Header(frame_id="cam"))
    assert (ours.height, ours.width, ours.step, ours.encoding) == (
        theirs.height, theirs.width, theirs.step, theirs.encoding,
    )
    assert bytes(ours.data) == bytes(theirs.data) and ours.header == theirs.header
    np.testing.assert_array_equal(
        image_to_array(theirs), bridge.imgmsg_to_cv2(theirs, desired_encoding="passthrough")
    )
    np.testing.assert_array_equal(image_to_array(ours), arr)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8"])
def test_bgr_view_matches_cv_bridge(encoding):
    bridge = cv_bridge.CvBridge()
    msg = array_to_image(_frame(encoding), encoding, Header())
    np.testing.assert_array_equal(
        image_to_bgr(msg), bridge.imgmsg_to_cv2(msg, desired_encoding="bgr8")
    )


def test_padded_rows_match_cv_bridge():
    bridge = cv_bridge.CvBridge()
    arr = _frame("bgr8")
    msg = array_to_image(arr, "bgr8", Header())
    pad = 7
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    msg.data = array("B", np.hstack([rows, np.zeros((msg.height, pad), np.uint8)]).tobytes())
    msg.step += pad
    np.testing.assert_array_equal(
        image_to_array(msg), bridge.imgmsg_to_cv2(msg, desired_encoding="passthrough")
    )
