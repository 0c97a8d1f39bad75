"""``specular_detector``: ``image`` -> ``glare/mask_raw`` (mono8, 255 = glare), via
:meth:`GlareRemover.detect`.

Parameters: every one, with its default, range and description, is in the generated
``config/glare_inpaint.yaml`` (``tools/gen_params_yaml.py``); the sections each node declares
are in ``docs/ros.md`` (Parameters).

Every mask keeps its image's header (stamp and frame_id), which is how
the inpainting node pairs them. An undecodable image is logged (throttled), counted as
``dropped.bad_image`` and skipped; a detector exception publishes nothing for that frame
(``dropped.error``): the inpainting node then passes the image through after ``sync.timeout_ms``.

Run::

    python -m glare_inpaint_ros.ros.specular_detector_node --ros-args --params-file config/x.yaml
"""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from sensor_msgs.msg import Image

from .base import GlareNode, node_cli, run_nodes
from .conversions import image_to_bgr


class SpecularDetectorNode(GlareNode):
    """Detects glare in each ``image`` and publishes the raw mask on ``glare/mask_raw``."""

    def __init__(self, node_name: str = "specular_detector", **kwargs: Any) -> None:
        super().__init__(node_name, ("input", "detector"), **kwargs)
        self.pub_mask = self.create_publisher(Image, "glare/mask_raw", self.pub_qos)
        self.sub = self.subscribe_image(self._on_image)

    def _on_image(self, msg: Image, info: dict | None) -> None:
        bgr = self.receive(msg, info, "image", image_to_bgr, "bad_image")
        if bgr is None:
            return
        t0 = time.perf_counter()
        try:
            mask = self.remover.detect(bgr)
        except Exception as exc:  # noqa: BLE001 - a bad frame must never stop the node
            self.fail_safe(None, msg, exc, "detector")  # no mask to pass through: counted drop
            return
        self.stats.processed((time.perf_counter() - t0) * 1e3)
        self.publish_array(self.pub_mask, mask, "mono8", msg.header)
        self.stats.published()


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until Ctrl-C; ``--help`` prints the usage; exit code 2 on an invalid start-up
    parameter."""
    return run_nodes([SpecularDetectorNode], args, cli=node_cli("specular_detector", __doc__))


if __name__ == "__main__":
    sys.exit(main())
