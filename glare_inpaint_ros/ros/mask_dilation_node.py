"""``mask_dilation``: ``glare/mask_raw`` -> ``glare/mask`` (mono8), via
:meth:`GlareRemover.refine`.

Parameters: every one, with its default, range and description, is in the generated
``config/glare_inpaint.yaml`` (``tools/gen_params_yaml.py``); the sections each node declares
are in ``docs/ros.md`` (Parameters).

A flooded mask (coverage > ``mask.max_coverage``) is published as
an all-zero mask, so the inpainting node passes that frame through unchanged; it is counted here as
``passthrough.max_coverage``. A mask that is not mono8/8UC1 or cannot be decoded is logged
(throttled), counted (``dropped.bad_mask``) and skipped.

Run: ``python -m glare_inpaint_ros.ros.mask_dilation_node --ros-args --params-file config/x.yaml``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

import numpy as np
from sensor_msgs.msg import Image

from .base import GlareNode, node_cli, run_nodes
from .conversions import mask_to_array


class MaskDilationNode(GlareNode):
    """Refines (cleans and dilates) each raw mask and publishes it on ``glare/mask``."""

    def __init__(self, node_name: str = "mask_dilation", **kwargs: Any) -> None:
        super().__init__(node_name, ("mask",), **kwargs)
        self.pub_mask = self.create_publisher(Image, "glare/mask", self.pub_qos)
        self.sub = self.create_subscription(Image, "glare/mask_raw", self._on_mask, self.sub_qos)

    def _on_mask(self, msg: Image, info: dict | None) -> None:
        raw = self.receive(msg, info, "glare/mask_raw", mask_to_array, "bad_mask")
        if raw is None:
            return
        t0 = time.perf_counter()
        try:
            refined = self.remover.refine(raw)
        except Exception as exc:  # noqa: BLE001 - a bad frame must never stop the node
            self.fail_safe(None, msg, exc,
                           "mask refinement")  # no mask to pass through: counted drop
            return
        self.stats.processed((time.perf_counter() - t0) * 1e3)
        self.stats.coverage(refined.coverage)
        mask = refined.mask
        if refined.flooded:
            self.stats.passthrough("max_coverage")
            self.warn_throttled(
                "max_coverage",
                f"mask covers {refined.coverage:.0%} > mask.max_coverage: publishing an empty "
                "mask (frame passes through)",
            )
            mask = np.zeros_like(raw)
        self.publish_array(self.pub_mask, mask, "mono8", msg.header)
        self.stats.published()


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until Ctrl-C; ``--help`` prints the usage; exit code 2 on an invalid start-up
    parameter."""
    return run_nodes([MaskDilationNode], args, cli=node_cli("mask_dilation", __doc__))


if __name__ == "__main__":
    sys.exit(main())
