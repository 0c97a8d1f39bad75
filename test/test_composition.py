"""Composition with a user's detector node, over real DDS: embedded (GlareFilter in the
detector's callback) and same process (add_glare_nodes, ``glare_pipeline --add-node``); the
input-loss warning; ``glare-inpaint env`` and the environment defaults on import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from geometry_msgs.msg import Pose, PoseArray  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from helpers import (  # noqa: E402
    make_scene, new_header, node_command, publish_until, result_for, stop_process, stop_processes,
    wait_for,
)
from glare_inpaint_ros.ros import GlareFilter, add_glare_nodes  # noqa: E402
from glare_inpaint_ros.ros.conversions import array_to_image, image_to_bgr  # noqa: E402
from glare_inpaint_ros.ros.diagnostics import StampGapMonitor  # noqa: E402
from glare_inpaint_ros.ros.glare_remover_node import GlareRemoverNode  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class BrightBlobDetector(Node):
    """A user's detector: publishes one pose per saturated blob of its input on ``detections``
    (with the image's header). Input ``image_deglared`` (after the glare nodes)."""

    input_topic = "image_deglared"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("blob_detector", **kwargs)
        self.pub = self.create_publisher(PoseArray, "detections", 10)
        self.create_subscription(Image, self.input_topic, self.on_image, 10)

    def prepare(self, msg: Image) -> np.ndarray:
        return image_to_bgr(msg)

    def on_image(self, msg: Image) -> None:
        gray = cv2.cvtColor(self.prepare(msg), cv2.COLOR_BGR2GRAY)
        n, _, stats, centroids = cv2.connectedComponentsWithStats((gray >= 250).astype(np.uint8))
        out = PoseArray(header=msg.header)
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] >= 20:
                pose = Pose()
                pose.position.x, pose.position.y = (float(v) for v in centroids[i])
                out.poses.append(pose)
        self.pub.publish(out)


class EmbeddedBlobDetector(BrightBlobDetector):
    """The same detector with the glare removal embedded in its callback: camera ``image`` in."""

    input_topic = "image"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.glare = GlareFilter(self)

    def prepare(self, msg: Image) -> np.ndarray:
        return image_to_bgr(self.glare.process(msg))


def _detections(h, topic: str, pub, glare: np.ndarray) -> PoseArray:
    got = h.collect(topic, PoseArray)
    sent = publish_until(pub, lambda: array_to_image(glare, "bgr8", new_header()), got)
    return result_for(got, sent)


@pytest.mark.ros
def test_embedded_glare_filter_in_a_detector_node(ctx, harness):
    det = EmbeddedBlobDetector(context=ctx, namespace="/embed")
    h = harness([det])
    pub = h.publisher("/embed/image")
    h.wait_connected(pub)
    glare = make_scene()[1]
    # glare removed inside the callback: the detector no longer sees the highlight
    assert len(_detections(h, "/embed/detections", pub, glare).poses) == 0
    assert (
        det.glare.stats.total_out >= 1
        and det.glare.last is not None
        and det.glare.last.coverage > 0
    )
    # parameters live on the user's node under the prefix; invalid ones refused, valid ones applied
    assert det.get_parameter("glare.detector.type").value == "dichromatic"  # the default
    res = det.set_parameters([Parameter("glare.inpainting.backend", value="nope")])[0]
    assert not res.successful and "inpainting.backend" in res.reason
    assert det.set_parameters([Parameter("glare.inpainting.backend", value="telea")])[0].successful
    assert det.glare.remover.config["inpainting.backend"] == "telea"
    # debug outputs only when asked for and subscribed
    masks = h.collect("/embed/glare/mask")
    assert det.set_parameters([Parameter("glare.publish.mask", value=True)])[0].successful
    assert wait_for(lambda: det.glare.pub_mask.get_subscription_count() > 0, 5.0)
    _detections(h, "/embed/detections", pub, glare)
    assert wait_for(lambda: len(masks) > 0, 2.0) and masks[-1].encoding == "mono8"
    # switched off: the detector sees the raw highlight again
    assert det.set_parameters([Parameter("glare.enabled", value=False)])[0].successful
    assert len(_detections(h, "/embed/detections", pub, glare).poses) == 1


@pytest.mark.ros
@pytest.mark.parametrize("pipeline", ["three", "fused"])
def test_add_glare_nodes_next_to_a_detector_on_one_executor(ctx, harness, pipeline):
    ns = f"/same_{pipeline}"
    det = BrightBlobDetector(context=ctx, namespace=ns)
    h = harness([det])
    h.nodes += add_glare_nodes(h.executor, pipeline, context=ctx, namespace=ns,
                               params={"sync.timeout_ms": 2000.0, "mask.dilation.kernel_size": 9},
                               remappings={"image": f"{ns}/camera/image_raw"})
    assert all(n.get_parameter("mask.dilation.kernel_size").value == 9
               for n in h.nodes if n.has_parameter("mask.dilation.kernel_size"))
    pub = h.publisher(f"{ns}/camera/image_raw")
    h.wait_connected(pub, n_subs=2 if pipeline == "three" else 1)
    glare = make_scene()[1]
    raw = h.collect(f"{ns}/camera/image_raw")  # control: the camera frame itself has the highlight
    found = _detections(h, f"{ns}/detections", pub, glare)
    assert len(found.poses) == 0 and found.header.frame_id == "camera_optical"
    assert raw and (image_to_bgr(raw[-1]) >= 250).all(axis=2).sum() >= 20


@pytest.mark.ros
@pytest.mark.slow
def test_glare_pipeline_add_node_loads_the_detector_into_its_process(harness, node_process):
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = node_process("pipeline_main", "-r", "__ns:=/addnode", env=env,
                        args=["--pipeline", "fused",
                              "--add-node", "test_composition:BrightBlobDetector"])
    h = harness([])
    pub = h.publisher("/addnode/image")
    h.wait_connected(pub, timeout=30.0)
    found = _detections(h, "/addnode/detections", pub, make_scene()[1])
    assert len(found.poses) == 0
    names = {n for n, ns in h.tester.get_node_names_and_namespaces() if ns == "/addnode"}
    assert {"glare_remover", "blob_detector"} <= names
    _, out = stop_process(proc, signal.SIGTERM, timeout=10)
    assert "Traceback" not in out, out


def test_add_node_refuses_what_is_not_a_node_class():
    from glare_inpaint_ros.ros.compose import load_node_class

    assert (
        load_node_class("glare_inpaint_ros.ros.glare_remover_node:GlareRemoverNode")
        is GlareRemoverNode
    )
    for bad, why in [
        ("no_colon", "package.module:ClassName"), ("no_such_module_xyz:X", "cannot import"),
        ("glare_inpaint_ros.ros.compose:glare_nodes", "not an rclpy Node"),
    ]:
        with pytest.raises(ValueError, match=why):
            load_node_class(bad)


# -- input loss: stamps ------------------------------------------------------------------------
def test_stamp_gap_monitor_counts_missing_frames_against_the_measured_rate():
    mon = StampGapMonitor(min_intervals=10)
    stamps = [i / 30 for i in range(200) if i % 5 not in (3, 4)]  # 2 of every 5 frames lost
    missing = [mon.add(s, now_s=s) for s in stamps]
    assert 70 <= sum(missing) <= 80  # 80 lost; the first 10 intervals only measure the rate
    assert 0.35 < mon.missing_fraction() < 0.45
    # once
    assert (
        "glare-inpaint env" in mon.warning("image", processing_ms=5.0)
        and mon.warning("image") is None
    )
    steady = StampGapMonitor(min_intervals=10)
    for i in range(200):
        # jitter below 1.5x is not a gap
        steady.add(i / 30 + (0.004 if i % 2 else 0.0), now_s=i / 30)
        if i == 100:
            steady.add(0.0, now_s=i / 30)  # a jump back (bag loop) is not a gap either
    assert steady.total_missing == 0 and steady.warning("image") is None
    busy = StampGapMonitor(min_intervals=10)
    for s in stamps:
        busy.add(s, now_s=s)
    # 30 ms x 18 Hz: the node itself is the bottleneck
    assert (busy.warning("image", processing_ms=30.0) is None)


def test_heavy_loss_is_told_by_sequence_numbers_within_seconds():
    # 720p without the profile: 1 frame in 15 arrives, so the stamps alone would show a 2 Hz camera
    mon = StampGapMonitor()
    t = 0.0
    while mon.missing_fraction() != mon.missing_fraction():  # NaN: not judged yet
        t += 0.5
        mon.add(t, seq_missing=14, now_s=t)
    assert t <= 3.0 and mon.missing_fraction() > 0.9
    message = mon.warning("/cam/image", processing_ms=22.0)
    assert (
        message and "glare-inpaint env" in message and "FASTRTPS_DEFAULT_PROFILES_FILE" in message
    )


@pytest.mark.ros
@pytest.mark.parametrize(
    "lossy", [True, False], ids=["publisher_losing_frames", "steady_publisher"]
)
def test_node_warns_once_with_the_fix_when_input_frames_go_missing(ctx, harness, lossy):
    ns = f"/gap_{int(lossy)}"
    node = GlareRemoverNode(context=ctx, namespace=ns)
    h = harness([node])
    logs = h.collect("/rosout", Log)
    pub = h.publisher(f"{ns}/image")
    h.wait_connected(pub)
    frame = make_scene()[1]
    t0 = time.monotonic()
    warned = lambda: any(  # noqa: E731
        "glare-inpaint env" in m.msg and m.name.endswith(f"{ns[1:]}.glare_remover")
        for m in logs
    )
    i = 0
    while time.monotonic() - t0 < (4.0 if lossy else 3.0) and not warned():
        header = new_header()
        header.stamp.sec, header.stamp.nanosec = 5000 + i // 30, (i % 30) * 33_333_333
        if not (
            lossy and i % 5 in (3, 4)
        ):  # like a publisher whose 720p frames do not fit the SHM segment
            pub.publish(array_to_image(frame, "bgr8", header))
        i += 1
        time.sleep(1 / 30)
    assert wait_for(warned, 1.0) == lossy, [m.msg for m in logs]
    if lossy:
        assert time.monotonic() - t0 < 4.0 and node.stats.total_events["input_stamp_gap"] >= 5
        assert "FASTRTPS_DEFAULT_PROFILES_FILE" in next(
            m.msg for m in logs if "glare-inpaint env" in m.msg
        )


CAMERA_WITHOUT_PROFILE = """
import sys, time
import numpy as np, rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("camera_without_profile", namespace=sys.argv[1])
pub = node.create_publisher(Image, "image", QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                                                       reliability=ReliabilityPolicy.BEST_EFFORT))
frame = np.full((720, 1280, 3), 90, np.uint8)
frame[300:340, 600:660] = 255
msg = Image(height=720, width=1280, encoding="bgr8", step=1280 * 3, data=frame.tobytes())
while pub.get_subscription_count() < 1:
    time.sleep(0.05)
print("streaming", flush=True)
t0 = time.monotonic()
for i in range(int(30 * float(sys.argv[2]))):
    msg.header.stamp = node.get_clock().now().to_msg()
    pub.publish(msg)
    time.sleep(max(0.0, t0 + (i + 1) / 30 - time.monotonic()))
"""


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("GLARE_TEST_REAL_CAMERA") != "1",
    reason=(
        "set GLARE_TEST_REAL_CAMERA=1: how FastDDS loses 720p frames without the profile "
        "depends on the machine (an idle one often delivers every 3rd frame evenly and the "
        "warning did not reach /rosout in 2 of 3 runs); the warning logic is tested "
        "deterministically by test_node_warns_once_with_the_fix_when_input_frames_go_missing"
    ),
)
def test_camera_process_without_the_profile_gets_the_warning_within_seconds(
    harness, child_process
):
    """The real case: a 1280x720 best-effort camera process without the FastDDS profile (most
    frames lost on the way); the glare node (its own process, with the profile) names the fix."""
    ns = "/no_profile"
    node_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cam_env = {k: v for k, v in node_env.items()
               if k not in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")}
    h = harness([])
    logs = h.collect("/rosout", Log)
    glare = child_process(node_command("glare_remover_node", "-r", f"__ns:={ns}"), env=node_env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cam = child_process([sys.executable, "-c", CAMERA_WITHOUT_PROFILE, ns, "12"], env=cam_env,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert cam.stdout is not None
    # FastDDS logs on stdout too
    assert any("streaming" in line for line in cam.stdout), "the camera process never started"
    t0 = time.monotonic()
    assert wait_for(
        lambda: any(
            "glare-inpaint env" in m.msg and m.name == f"{ns[1:]}.glare_remover" for m in logs
        ),
        10.0,
    ), [m.msg for m in logs]
    assert time.monotonic() - t0 < 10.0
    stop_processes([cam, glare], signal.SIGTERM, timeout=10)


# -- environment ------------------------------------------------------------------------------
def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE",
            "ROS_AUTOMATIC_DISCOVERY_RANGE",
        )
    }
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_glare_inpaint_env_prints_exports_a_shell_can_eval():
    out = subprocess.run(
        ["bash", "-c", f'eval "$({sys.executable} -m glare_inpaint_ros.tooling.cli env)" && '
                       'echo "$ROS_AUTOMATIC_DISCOVERY_RANGE|$FASTRTPS_DEFAULT_PROFILES_FILE"'],
        env=_clean_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    discovery, profile = out.stdout.strip().split("|")
    assert (
        discovery == "LOCALHOST"
        and Path(profile).is_file()
        and profile.endswith("fastdds_profile.xml")
    )
    mine = subprocess.run(
        [sys.executable, "-m", "glare_inpaint_ros.tooling.cli", "env"], capture_output=True,
        text=True, env={**_clean_env(), "FASTRTPS_DEFAULT_PROFILES_FILE": "/my dir/p.xml"},
        timeout=60,
    )
    # the user's value, quoted
    assert ("export FASTRTPS_DEFAULT_PROFILES_FILE='/my dir/p.xml'" in mine.stdout)


@pytest.mark.ros
def test_importing_the_ros_package_applies_the_defaults_and_late_init_is_warned():
    code = ("import os, sys\n"
            "late = sys.argv[1] == 'late'\n"
            "import rclpy\n"
            "if late: rclpy.init()\n"
            "from glare_inpaint_ros.ros import GlareFilter\n"
            "print('PROFILE=' + os.environ.get('FASTRTPS_DEFAULT_PROFILES_FILE', ''))\n"
            "if not late: rclpy.init()\n"
            "node = rclpy.create_node('late_check')\n"
            "GlareFilter(node)\n"
            "rclpy.shutdown()\n")
    for mode in ("early", "late"):
        out = subprocess.run(
            [sys.executable, "-c", code, mode],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        profile = next(line[8:] for line in out.stdout.splitlines() if line.startswith("PROFILE="))
        assert profile.endswith("fastdds_profile.xml")
        assert ("before rclpy.init" in out.stderr) == (mode == "late"), out.stderr


def test_top_level_help_is_plain_and_readme_lists_every_command():
    from glare_inpaint_ros.tooling.cli import SUBCOMMANDS, build_parser

    text = build_parser().format_help()
    assert "``" not in text and ":mod:" not in text and "env" in text and "soak" in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in SUBCOMMANDS if f"`glare-inpaint {name}" not in readme]
    assert not missing, f"commands missing from README's table: {missing}"
