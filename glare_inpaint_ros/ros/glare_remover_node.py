"""``glare_remover``: the fused node, ``image`` -> ``image_deglared`` via
:meth:`GlareRemover.process`.

Also publishes ``glare/mask_raw`` and ``glare/mask`` (mono8, 255 = glare) and ``glare/debug`` (when
``debug.enabled``), each only while someone subscribes. No inter-node transport or pairing: the
lowest-latency way to run the pipeline.

Parameters: every one, with its default, range and description, is in the generated
``config/glare_inpaint.yaml`` (``tools/gen_params_yaml.py``); the sections each node declares
are in ``docs/ros.md`` (Parameters).

``deadline_ms`` is measured from the image's arrival in the node's receive queue, so frames that
queued up while the node was busy are passed through.

Pass-through reasons counted in the diagnostics: ``max_coverage`` (flooded mask), ``deadline``,
``error``. Undecodable images are dropped (``dropped.bad_image``).

Run: ``python -m glare_inpaint_ros.ros.glare_remover_node --ros-args --params-file config/x.yaml``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from sensor_msgs.msg import Image

from .base import DEADLINE_PARAM, DEBUG_PARAM, GlareNode, node_cli, run_nodes, stamp_seconds
from .conversions import from_bgr, image_to_bgr


def queue_wait_s(info: dict | None) -> float:
    """Seconds a message waited in the receive queue (DDS reception time to now), 0 if unknown."""
    received_ns = (info or {}).get("received_timestamp") or 0
    return max(0.0, (time.time_ns() - received_ns) / 1e9) if received_ns else 0.0


class GlareRemoverNode(GlareNode):
    """Detect, refine and inpaint in one callback."""

    def __init__(self, node_name: str = "glare_remover", **kwargs: Any) -> None:
        super().__init__(node_name, ("input", "detector", "mask", "inpainting", "temporal"),
                         (DEADLINE_PARAM, DEBUG_PARAM), **kwargs)
        self.pub_image = self.create_publisher(Image, "image_deglared", self.pub_qos)
        self.pub_mask_raw = self.create_publisher(Image, "glare/mask_raw", self.pub_qos)
        self.pub_mask = self.create_publisher(Image, "glare/mask", self.pub_qos)
        self.pub_debug = self.create_publisher(Image, "glare/debug", self.pub_qos)
        self.sub = self.subscribe_image(self._on_image)

    def _on_image(self, msg: Image, info: dict | None) -> None:
        start = time.perf_counter()
        waited = queue_wait_s(info)
        bgr = self.receive(msg, info, "image", image_to_bgr, "bad_image")
        if bgr is None:
            return
        deadline_s = self.params["deadline_ms"] / 1e3
        if deadline_s and waited >= deadline_s:
            self.publish_original(self.pub_image, msg, "deadline")
            return
        try:
            result = self.remover.process(bgr, stamp_seconds(msg.header))
            out = None if result.passthrough else from_bgr(result.image, msg.encoding)
        except Exception as exc:  # noqa: BLE001 - a bad frame must never stop the node
            self.fail_safe(self.pub_image, msg, exc, "processing")
            return
        self.stats.processed((time.perf_counter() - start) * 1e3)
        self.stats.coverage(result.coverage)
        self.record_temporal(result)
        if result.passthrough == "max_coverage":
            self.stats.passthrough("max_coverage")
            self.warn_throttled("max_coverage",
                                f"mask covers {result.coverage:.0%} > mask.max_coverage: passing "
                                "through")
        if deadline_s and waited + time.perf_counter() - start > deadline_s:
            self.stats.passthrough("deadline")
            out = None
        if out is None:
            self.publish_original(self.pub_image, msg)
        else:
            self.publish_array(self.pub_image, out, msg.encoding, msg.header)
            self.stats.published()
        if self.pub_mask_raw.get_subscription_count():
            self.publish_array(self.pub_mask_raw, result.mask_raw, "mono8", msg.header)
        if self.pub_mask.get_subscription_count():
            self.publish_array(self.pub_mask, result.mask, "mono8", msg.header)
        self.publish_debug(self.pub_debug, msg, result.mask)


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until Ctrl-C; ``--help`` prints the usage; exit code 2 on an invalid start-up
    parameter."""
    return run_nodes([GlareRemoverNode], args, cli=node_cli("glare_remover", __doc__))


if __name__ == "__main__":
    sys.exit(main())
