"""A stand-in for a user's detector node, for the composition benchmarks (and an example).

:class:`BlobDetector` subscribes to ``image_deglared`` and publishes the centres of bright blobs
as ``detections`` (geometry_msgs/PoseArray, x/y in px, with the image's header, so the probe times
it like an image). :class:`EmbeddedBlobDetector` subscribes to the camera's ``image`` and removes
the glare in its own callback first (:class:`~glare_inpaint_ros.ros.embed.GlareFilter`): no DDS
hop. Both use the glare nodes' QoS parameters (``qos.subscription.*``, ``qos.publisher.*``).

Run: ``python -m glare_inpaint_ros.tooling.bench.detector [--embed] --ros-args -r __ns:=/bench``,
or in the glare process:
``glare_pipeline --add-node glare_inpaint_ros.tooling.bench.detector:BlobDetector``.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import cv2
import numpy as np
from geometry_msgs.msg import Pose, PoseArray
from rclpy.node import Node
from sensor_msgs.msg import Image

from ...ros.base import NODE_PARAMS, qos_profiles, run_nodes, stamp_seconds
from ...ros.conversions import image_to_bgr
from ...ros.params import declare

#: the node parameters the detector honours (the glare nodes' QoS parameters).
DETECTOR_PARAMS = tuple(s for s in NODE_PARAMS if s.name.startswith("qos."))


def bright_blobs(bgr: np.ndarray, level: int = 250,
                 min_area: int = 20) -> list[tuple[float, float]]:
    """Centres (x, y), px, of the connected regions at or above ``level`` (gray) of ``min_area`` px
    or more."""
    gray = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    n, _, stats, centroids = cv2.connectedComponentsWithStats((gray >= level).astype(np.uint8),
                                                              connectivity=8)
    return [(float(x), float(y)) for i, (x, y) in enumerate(centroids) if i
            and stats[i, cv2.CC_STAT_AREA] >= min_area]


class BlobDetector(Node):
    """``image_deglared`` -> ``detections`` (bright blob centres)."""

    input_topic = "image_deglared"

    def __init__(self, node_name: str = "blob_detector", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        p = declare(self, DETECTOR_PARAMS)
        sub_qos, pub_qos = qos_profiles(p)
        self.pub = self.create_publisher(PoseArray, "detections", pub_qos)
        self.sub = self.create_subscription(Image, self.input_topic, self.on_image, sub_qos)

    def clean(self, msg: Image) -> np.ndarray:
        """The image to detect on (here: as received)."""
        return image_to_bgr(msg)

    #: False: publish an empty PoseArray (header only) after :meth:`clean`: the glare removal's own
    #: cost.
    detect_blobs = True

    def on_image(self, msg: Image) -> None:
        out = PoseArray(header=msg.header)
        clean = self.clean(msg)
        for x, y in bright_blobs(clean) if self.detect_blobs else ():
            pose = Pose()
            pose.position.x, pose.position.y = x, y
            out.poses.append(pose)
        self.pub.publish(out)


class EmbeddedBlobDetector(BlobDetector):
    """``image`` -> glare removal in the callback -> ``detections``."""

    input_topic = "image"

    def __init__(self, node_name: str = "blob_detector", **kwargs: Any) -> None:
        from ...ros.embed import GlareFilter

        super().__init__(node_name, **kwargs)
        self.glare = GlareFilter(self)

    def clean(self, msg: Image) -> np.ndarray:
        return self.glare.process(image_to_bgr(msg), stamp_seconds(msg.header))


class EmbeddedGlareOnly(EmbeddedBlobDetector):
    """:class:`EmbeddedBlobDetector` without the detection: the embedded glare removal's own cost,
    comparable with the fused node (which publishes the deglared image instead)."""

    detect_blobs = False


def main(args: Sequence[str] | None = None) -> int:
    """Run :class:`BlobDetector` (``--embed``: :class:`EmbeddedBlobDetector`, ``--embed-only``:
    :class:`EmbeddedGlareOnly`) until Ctrl-C."""
    argv = list(sys.argv if args is None else args)
    cls = (EmbeddedGlareOnly if "--embed-only" in argv else EmbeddedBlobDetector
           if "--embed" in argv else BlobDetector)
    return run_nodes([cls], [a for a in argv if a not in ("--embed", "--embed-only")])


if __name__ == "__main__":
    sys.exit(main())
