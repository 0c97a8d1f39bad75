"""Best-effort frame loss between two processes, with and without the project's FastDDS profile.

Starts a subscriber process and a publisher process (1280x720 bgr8 by default, 30 Hz, best-effort,
depth 5) twice: once with ``FASTRTPS_DEFAULT_PROFILES_FILE=config/fastdds_profile.xml`` and once
with the FastDDS defaults, and prints frames received / sent for each.

    .venv/bin/python tools/measure_frame_loss.py [--frames 150] [--width 1280 --height 720]

Each run uses a private ROS_DOMAIN_ID and localhost discovery. Also checks that the profile
loaded without a FastDDS XML error (printed on stderr at participant creation).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _qos():
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.BEST_EFFORT)


def role_pub(a: argparse.Namespace) -> int:
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("loss_pub")
    pub = node.create_publisher(Image, "loss_image", _qos())
    t_end = time.monotonic() + 20.0
    while pub.get_subscription_count() < 1 and time.monotonic() < t_end:
        time.sleep(0.05)
    time.sleep(0.5)
    frame = np.random.default_rng(0).integers(0, 255, (a.height, a.width, 3), dtype=np.uint8)
    msg = Image(height=a.height, width=a.width, encoding="bgr8", step=a.width * 3,
                data=frame.tobytes())
    period = 1.0 / a.rate
    t0 = time.monotonic()
    for i in range(a.frames):
        msg.header.frame_id = str(i)
        pub.publish(msg)
        time.sleep(max(0.0, t0 + (i + 1) * period - time.monotonic()))
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()
    return 0


def role_sub(a: argparse.Namespace) -> int:
    import rclpy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("loss_sub")
    got: list[int] = []
    node.create_subscription(Image, "loss_image", lambda m: got.append(int(m.header.frame_id)),
                             _qos())
    t_end = time.monotonic() + 20.0 + a.frames / a.rate
    last = None
    while time.monotonic() < t_end:
        rclpy.spin_once(node, timeout_sec=0.1)
        if got:
            last = last or time.monotonic()
            if got[-1] >= a.frames - 1 or time.monotonic() - last > a.frames / a.rate + 3.0:
                break
    print(json.dumps({"received": len(set(got))}), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


def run_pair(a: argparse.Namespace, profile: bool, domain: int) -> dict:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               RMW_IMPLEMENTATION="rmw_fastrtps_cpp")
    for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"):
        env.pop(var, None)
    if profile:
        env["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(ROOT / "config" / "fastdds_profile.xml")
    common = [sys.executable, __file__, "--frames", str(a.frames), "--width", str(a.width),
              "--height", str(a.height), "--rate", str(a.rate)]
    sub = subprocess.Popen(common + ["--role", "sub"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    pub = subprocess.Popen(common + ["--role", "pub"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    out, err = sub.communicate(timeout=120)
    _, perr = pub.communicate(timeout=60)
    received = json.loads(out.strip().splitlines()[-1])["received"] if out.strip() else 0
    xml_errors = [ln for ln in (err + perr).splitlines() if "XML" in ln or "xml" in ln]
    return {"profile": profile, "sent": a.frames, "received": received, "xml_errors": xml_errors}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--rate", type=float, default=30.0, help="publish rate, Hz")
    p.add_argument("--role", choices=("pub", "sub"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.role == "pub":
        return role_pub(a)
    if a.role == "sub":
        return role_sub(a)
    base = 1 + os.getpid() % 90
    for i, profile in enumerate((True, False)):
        r = run_pair(a, profile, base + i)
        print(f"{'with' if profile else 'without'} profile: {r['received']}/{r['sent']} frames "
              f"{a.width}x{a.height} bgr8 best-effort received; XML errors: "
              f"{r['xml_errors'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
