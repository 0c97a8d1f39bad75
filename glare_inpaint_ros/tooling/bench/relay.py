r"""``glare_bench_relay``: republishes every ``image`` unchanged on ``image_deglared`` (the
transport floor).

The benchmark's baseline for the ROS path: the same per-hop work a glare node cannot avoid
(DDS receive, conversion to a Python ``sensor_msgs/Image``, conversion back and DDS send), with
no image processing. Same QoS parameters as the glare nodes (``qos.subscription.*``,
``qos.publisher.*``, see :mod:`glare_inpaint_ros.ros.base`), same environment defaults (local
discovery, the project's FastDDS profile, ``mallopt``) through
:func:`~glare_inpaint_ros.ros.base.run_nodes`.

Run::

    python -m glare_inpaint_ros.tooling.bench.relay --ros-args -r __ns:=/bench \
        -p qos.subscription.reliability:=reliable
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from rclpy.node import Node
from sensor_msgs.msg import Image

from ...ros.base import NODE_PARAMS, qos_profiles, run_nodes
from ...ros.params import declare

#: the node parameters the relay honours (the glare nodes' QoS parameters).
RELAY_PARAMS = tuple(s for s in NODE_PARAMS if s.name.startswith("qos."))


class RelayNode(Node):
    """Subscribes ``image`` and publishes each message object as received on ``image_deglared``."""

    def __init__(self, node_name: str = "glare_bench_relay", **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        p = declare(self, RELAY_PARAMS)
        sub_qos, pub_qos = qos_profiles(p)
        self.pub = self.create_publisher(Image, "image_deglared", pub_qos)
        self.sub = self.create_subscription(Image, "image", self.pub.publish, sub_qos)


def main(args: Sequence[str] | None = None) -> int:
    """Run the relay until Ctrl-C."""
    return run_nodes([RelayNode], args)


if __name__ == "__main__":
    sys.exit(main())
