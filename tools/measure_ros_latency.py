#!/usr/bin/env python3
"""End-to-end FPS and latency of the glare nodes, measured over real DDS.

Starts the chosen pipeline as child processes, publishes synthetic frames with a few specular
highlights on ``/latency/image`` at a fixed rate, and records every ``/latency/image_deglared``:
latency = receive time - header.stamp (the stamp is set right before publishing, system clock),
so it covers transport both ways plus all processing.

Pipelines: ``three`` (specular_detector, mask_dilation, inpainting as three processes),
``fused`` (glare_remover), ``composed`` (glare_pipeline: the three nodes in one process).

Example (the numbers in the report were measured with this):
    .venv/bin/python tools/measure_ros_latency.py --pipeline three fused --width 1280 --height 720 --rate 30 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glare_inpaint_ros.ros.env import apply_defaults  # noqa: E402

PIPELINES = {
    "three": ["specular_detector_node", "mask_dilation_node", "inpainting_node"],
    "fused": ["glare_remover_node"],
    "composed": ["pipeline_main"],
}


def synthetic_frame(width: int, height: int, n_highlights: int = 4, seed: int = 0) -> np.ndarray:
    """A textured BGR frame with ``n_highlights`` saturated white ellipses (about 30x20 px each)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 110 + 40 * np.sin(x / 17.0) * np.cos(y / 23.0) + rng.normal(0, 6, (height, width))
    img = np.dstack([base, 0.8 * base + 20, 0.6 * base + 40]).clip(0, 255).astype(np.uint8)
    for _ in range(n_highlights):
        c = (int(rng.integers(60, width - 60)), int(rng.integers(60, height - 60)))
        cv2.ellipse(img, c, (int(rng.integers(10, 20)), int(rng.integers(6, 12))), float(rng.uniform(0, 180)), 0, 360,
                    (255, 255, 255), -1)
    return img


def run(pipeline: str, width: int, height: int, rate: float, seconds: float, warmup: float,
        params: list[str] = ()) -> dict[str, float]:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from glare_inpaint_ros.ros.conversions import array_to_image

    args = ["--ros-args", "-r", "__ns:=/latency", "-p", "sync.timeout_ms:=200.0"]
    for p in params:
        args += ["-p", p]
    procs = [subprocess.Popen([sys.executable, "-m", f"glare_inpaint_ros.ros.{m}", *args]) for m in PIPELINES[pipeline]]
    rclpy.init()
    node = rclpy.create_node("latency_probe")
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    pub = node.create_publisher(Image, "/latency/image", qos)
    lat_ms: list[float] = []
    recv_times: list[float] = []
    measuring = threading.Event()

    def on_out(msg: Image) -> None:
        now = time.time_ns()
        if measuring.is_set():
            st = msg.header.stamp
            lat_ms.append((now - (st.sec * 1_000_000_000 + st.nanosec)) / 1e6)
            recv_times.append(time.monotonic())

    node.create_subscription(Image, "/latency/image_deglared", on_out, qos)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    msg = array_to_image(synthetic_frame(width, height), "bgr8", Header(frame_id="camera"))
    period = 1.0 / rate
    sent = 0
    try:
        t_start = time.monotonic()
        t_next = t_start
        while True:
            now = time.monotonic()
            if now - t_start > warmup and not measuring.is_set():
                measuring.set()
                t_measure = now
            if measuring.is_set() and now - t_measure > seconds:
                break
            ns = time.time_ns()
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(ns, 1_000_000_000)
            pub.publish(msg)
            sent += measuring.is_set()
            t_next += period
            time.sleep(max(0.0, t_next - time.monotonic()))
        time.sleep(0.5)  # let the last frames arrive
    finally:
        measuring.clear()
        executor.shutdown()
        spin.join(timeout=5.0)
        node.destroy_node()
        rclpy.shutdown()
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    lat = np.array(lat_ms) if lat_ms else np.array([np.nan])
    span = (recv_times[-1] - recv_times[0]) if len(recv_times) > 1 else float("nan")
    return {
        "sent": sent,
        "received": len(lat_ms),
        "fps": (len(recv_times) - 1) / span if span == span and span > 0 else float("nan"),
        "latency_p50_ms": float(np.percentile(lat, 50)),
        "latency_p95_ms": float(np.percentile(lat, 95)),
        "latency_max_ms": float(np.max(lat)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", nargs="+", choices=list(PIPELINES), default=["three", "fused"])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--rate", type=float, default=30.0, help="publish rate, Hz")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration, s")
    parser.add_argument("--warmup", type=float, default=4.0, help="discovery and warm-up before measuring, s")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra node parameter (repeatable), e.g. -p qos.subscription.depth:=1")
    opts = parser.parse_args(argv)
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    apply_defaults()
    print(f"{opts.width}x{opts.height} bgr8 at {opts.rate:g} Hz, {opts.seconds:g} s, "
          f"profile={os.environ.get('FASTRTPS_DEFAULT_PROFILES_FILE', '-')} params={opts.param}")
    for name in opts.pipeline:
        r = run(name, opts.width, opts.height, opts.rate, opts.seconds, opts.warmup, opts.param)
        print(f"{name:9s} sent {r['sent']:4d} received {r['received']:4d}  fps {r['fps']:6.1f}  "
              f"latency p50 {r['latency_p50_ms']:6.1f} ms  p95 {r['latency_p95_ms']:6.1f} ms  max {r['latency_max_ms']:6.1f} ms",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
