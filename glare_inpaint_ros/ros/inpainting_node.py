"""``inpainting``: ``image`` + ``glare/mask`` (paired by header.stamp) -> ``image_deglared``.

Uses :meth:`GlareRemover.inpaint`. The output has the input's header and encoding; pixels outside
the mask are unchanged. Pairing is exact on ``header.stamp`` with a bounded cache
(:class:`.sync.StampSync`); a 10 ms timer publishes, unchanged, every image whose mask did not
arrive within ``sync.timeout_ms`` (``passthrough.mask_timeout``), so a missing mask never stalls
the output.

Parameters: every one, with its default, range and description, is in the generated
``config/glare_inpaint.yaml`` (``tools/gen_params_yaml.py``); the sections each node declares
are in ``docs/ros.md`` (Parameters).

Cache overflow (``sync.cache_size`` images and, separately, masks): the oldest is evicted (an
evicted image is published unchanged, ``passthrough.evicted``; an evicted mask is
``dropped.mask_evicted``). A second waiting image with the same stamp replaces the first, which
is published unchanged at once (``passthrough.duplicate_stamp``); a second mask with the same
stamp replaces the first (``dropped.mask_duplicate``). ``deadline_ms`` is measured from the
image's arrival in this node.

Bad inputs: an undecodable image is dropped (``dropped.bad_image``); a mask that is not
mono8/8UC1 or cannot be decoded is dropped (``dropped.bad_mask``, its image then times out); a mask
whose size differs from its image passes the image through (``passthrough.bad_mask``).

Run: ``python -m glare_inpaint_ros.ros.inpainting_node --ros-args --params-file config/x.yaml``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from sensor_msgs.msg import Image

from ..core.params import ParamSpec
from .base import (DEADLINE_PARAM, DEBUG_PARAM, GlareNode, node_cli, run_nodes, stamp_key,
                   stamp_seconds)
from .conversions import ImageFormatError, from_bgr, image_to_array, image_to_bgr, mask_to_array
from .sync import StampSync

SYNC_PARAMS = (
    ParamSpec("sync.timeout_ms", 100.0,
              "An image whose mask has not arrived after this long is published unchanged, ms.",
              1.0, 60_000.0),
    ParamSpec("sync.cache_size", 10,
              "Images (and masks) waiting for their partner; the oldest is evicted beyond this.",
              1, 1000),
)
#: period of the sync timeout check, seconds.
SYNC_TIMER_S = 0.01


class InpaintingNode(GlareNode):
    """Fills the masked pixels of each image with its stamp-matched mask."""

    def __init__(self, node_name: str = "inpainting", **kwargs: Any) -> None:
        super().__init__(node_name, ("input", "inpainting", "temporal"),
                         SYNC_PARAMS + (DEADLINE_PARAM, DEBUG_PARAM), **kwargs)
        self.sync: StampSync[tuple[Image, float], Image] = StampSync(
            self.params["sync.cache_size"], self.params["sync.timeout_ms"] / 1e3
        )
        self.pub_image = self.create_publisher(Image, "image_deglared", self.pub_qos)
        self.pub_debug = self.create_publisher(Image, "glare/debug", self.pub_qos)
        self.sub_image = self.subscribe_image(self._on_image)
        self.sub_mask = self.create_subscription(Image, "glare/mask", self._on_mask, self.sub_qos)
        self.timer = self.create_timer(SYNC_TIMER_S, self._expire)

    def on_node_params_changed(self, changed: dict[str, Any]) -> None:
        self.sync.configure(self.params["sync.cache_size"], self.params["sync.timeout_ms"] / 1e3)

    # -- callbacks ---------------------------------------------------------------------------
    def _on_image(self, msg: Image, info: dict | None) -> None:
        now = time.monotonic()
        # validate now (zero copy): a bad image must not wait for a mask
        if self.receive(msg, info, "image", image_to_array, "bad_image") is None:
            return
        dups = self.sync.counters.duplicates
        pair, evicted = self.sync.add_image(stamp_key(msg.header), (msg, now), now)
        replaced = (self.sync.counters.duplicates
                    - dups)  # 1 if an image with this stamp was waiting
        for i, (old_msg, _arrived) in enumerate(evicted):
            reason = "duplicate_stamp" if i < replaced else "evicted"
            if reason == "duplicate_stamp":
                self.warn_throttled(
                    reason, "two images with the same header.stamp: passing the older one through")
            self.publish_original(self.pub_image, old_msg, reason)
        if pair is not None:
            self._process(*pair)

    def _on_mask(self, msg: Image, info: dict | None) -> None:
        now = time.monotonic()
        if self.receive(msg, info, "glare/mask", mask_to_array, "bad_mask", count=False) is None:
            return
        dups = self.sync.counters.duplicates
        pair, evicted = self.sync.add_mask(stamp_key(msg.header), msg, now)
        replaced = self.sync.counters.duplicates - dups  # an older mask with this stamp, discarded
        self.stats.dropped("mask_duplicate", replaced)
        self.stats.dropped("mask_evicted", len(evicted) - replaced)
        if pair is not None:
            self._process(*pair)

    def _expire(self) -> None:
        for img_msg, _arrived in self.sync.expire(time.monotonic()):
            self.publish_original(self.pub_image, img_msg, "mask_timeout")

    # -- processing --------------------------------------------------------------------------
    def _process(self, item: tuple[Image, float], mask_msg: Image) -> None:
        msg, arrived = item
        deadline_s = self.params["deadline_ms"] / 1e3
        if deadline_s and time.monotonic() - arrived >= deadline_s:
            self.publish_original(self.pub_image, msg, "deadline")
            return
        t0 = time.perf_counter()
        try:
            bgr = image_to_bgr(msg)
            try:
                mask = mask_to_array(mask_msg, bgr.shape)
            except ImageFormatError as exc:
                self.warn_throttled("bad_mask", f"passing image through: {exc}")
                self.publish_original(self.pub_image, msg, "bad_mask")
                return
            # temporal.* (off by default) runs on the header stamp
            result = self.remover.fill_frame(bgr, mask, stamp_seconds(msg.header))
            self.stats.coverage(result.coverage)
            if result.passthrough:  # empty mask: the input is the output
                out_msg = msg
            else:
                out = from_bgr(result.image, msg.encoding)
                out_msg = None
            self.record_temporal(result)
        except Exception as exc:  # noqa: BLE001 - a bad frame must never stop the node
            self.fail_safe(self.pub_image, msg, exc, "inpainting")
            return
        elapsed = time.perf_counter() - t0
        self.stats.processed(elapsed * 1e3)
        if deadline_s and time.monotonic() - arrived > deadline_s:
            self.publish_original(self.pub_image, msg, "deadline")
            return
        if out_msg is None:
            self.publish_array(self.pub_image, out, msg.encoding, msg.header)
            self.stats.published()
        else:
            self.publish_original(self.pub_image, out_msg)
        self.publish_debug(self.pub_debug, msg, result.mask)


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until Ctrl-C; ``--help`` prints the usage; exit code 2 on an invalid start-up
    parameter."""
    return run_nodes([InpaintingNode], args, cli=node_cli("inpainting", __doc__))


if __name__ == "__main__":
    sys.exit(main())
