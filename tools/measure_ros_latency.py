#!/usr/bin/env python3
"""End-to-end FPS and latency of the glare nodes, measured over real DDS.

Starts the chosen pipeline as child processes, publishes synthetic frames with a few specular
highlights on ``/latency/image`` at a fixed rate, and times their ``/latency/image_deglared``
(the benchmark's ``rate`` phase, :meth:`glare_inpaint_ros.tooling.bench.harness.Probe.run_phase`):
latency = receive time - header.stamp (the stamp is set right before publishing, system clock),
so it covers transport both ways plus all processing.

Pipelines: ``three`` (specular_detector, mask_dilation, inpainting as three processes),
``fused`` (glare_remover), ``composed`` (glare_pipeline: the three nodes in one process).

Example (the numbers in the report were measured with this):
    .venv/bin/python tools/measure_ros_latency.py --pipeline three fused --width 1280 --height 720
    --rate 30 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glare_inpaint_ros.tooling.bench.harness import (  # noqa: E402
    NodeProcesses, Probe, ros_node, spinning)
from glare_inpaint_ros.ros.env import apply_defaults  # noqa: E402
from glare_inpaint_ros.ros.pipelines import COMPOSED, EXECUTABLES, node_processes  # noqa: E402

#: processes of each pipeline: the node processes of ``three`` / ``fused``, or glare_pipeline.
PIPELINES = {
    "three": node_processes("three"),
    "fused": node_processes("fused"),
    "composed": {COMPOSED: EXECUTABLES[COMPOSED].module_path},
}


def synthetic_frame(width: int, height: int, n_highlights: int = 4, seed: int = 0) -> np.ndarray:
    """A textured BGR frame with ``n_highlights`` saturated white ellipses (about 30x20 px
    each)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 110 + 40 * np.sin(x / 17.0) * np.cos(y / 23.0) + rng.normal(0, 6, (height, width))
    img = np.dstack([base, 0.8 * base + 20, 0.6 * base + 40]).clip(0, 255).astype(np.uint8)
    for _ in range(n_highlights):
        c = (int(rng.integers(60, width - 60)), int(rng.integers(60, height - 60)))
        cv2.ellipse(img, c, (int(rng.integers(10, 20)), int(rng.integers(6, 12))),
                    float(rng.uniform(0, 180)), 0, 360,
                    (255, 255, 255), -1)
    return img


def run(pipeline: str, width: int, height: int, rate: float, seconds: float, warmup: float,
        params: list[str] = ()) -> dict[str, float]:
    """Stream to ``pipeline`` at ``rate`` Hz: ``warmup`` s unmeasured, then ``seconds``
    measured."""
    ros_args = [arg for p in ("sync.timeout_ms:=200.0", *params) for arg in ("-p", p)]
    with NodeProcesses(PIPELINES[pipeline], "/latency", ros_args):
        node = ros_node("latency_probe")
        with spinning(node):
            probe = Probe(node, "/latency/image", "/latency/image_deglared", reliable=False,
                          depth=5)
            probe.set_frames([synthetic_frame(width, height)])
            r = probe.run_phase({"name": pipeline, "mode": "rate", "rate_hz": rate,
                                 "seconds": seconds,
                                 "warmup_s": warmup})
    lat = r["latency"]
    return {"sent": r["sent"], "received": r["received"], "fps": r["fps"],
            "latency_p50_ms": lat["p50_ms"],
            "latency_p95_ms": lat["p95_ms"], "latency_max_ms": lat["max_ms"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", nargs="+", choices=list(PIPELINES),
                        default=["three", "fused"])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--rate", type=float, default=30.0, help="publish rate, Hz")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration, s")
    parser.add_argument("--warmup", type=float, default=4.0,
                        help="discovery and warm-up before measuring, s")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra node parameter (repeatable), e.g. -p "
                             "qos.subscription.depth:=1")
    opts = parser.parse_args(argv)
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    apply_defaults()
    print(f"{opts.width}x{opts.height} bgr8 at {opts.rate:g} Hz, {opts.seconds:g} s, "
          f"profile={os.environ.get('FASTRTPS_DEFAULT_PROFILES_FILE', '-')} params={opts.param}")
    for name in opts.pipeline:
        r = run(name, opts.width, opts.height, opts.rate, opts.seconds, opts.warmup, opts.param)
        print(f"{name:9s} sent {r['sent']:4d} received {r['received']:4d}  fps {r['fps']:6.1f}  "
              f"latency p50 {r['latency_p50_ms']:6.1f} ms  p95 {r['latency_p95_ms']:6.1f} ms  max "
              f"{r['latency_max_ms']:6.1f} ms",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
