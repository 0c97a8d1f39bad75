"""``glare-inpaint replay`` over real DDS: bag bytes and /clock arrive; the fused node processes a
replayed bag.

conftest.py gives this run a private ROS_DOMAIN_ID and localhost discovery; the replay and node
child processes inherit them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

pytest.importorskip("rosbags")
rclpy = pytest.importorskip("rclpy")

from glare_inpaint_ros.tooling.bags import sample  # noqa: E402
from glare_inpaint_ros.tooling.bags.io import (  # noqa: E402
    IMAGE, BagReader, header_stamp_ns, typestore,
)
from glare_inpaint_ros.tooling.bags.replay import replay, resolve_type  # noqa: E402
from glare_inpaint_ros.tooling.bags.io import BagError  # noqa: E402
from helpers import ROOT, interrupt_cli, stop_process  # noqa: E402

pytestmark = pytest.mark.ros
FRAMES = 5


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample.write_sample_bag(
        tmp_path_factory.mktemp("replay") / "sample", frames=FRAMES, size=(160, 120)
    )


@pytest.fixture()
def ros_node() -> Any:
    """An rclpy node in its own context, plus an executor to spin it."""
    from rclpy.executors import SingleThreadedExecutor

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("test_replay_listener", context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=ctx)


def _spin_until(executor: Any, done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        executor.spin_once(timeout_sec=0.05)
    return done()


def same_payload(received: list[bytes], sent: list[bytes]) -> bool:
    """True if each received payload is the sent one, up to DDS's zero padding to a multiple of 4
    bytes."""
    return len(received) == len(sent) and all(
        r[: len(s)] == s and 0 <= len(r) - len(s) < 4 and not r[len(s):].strip(b"\0")
        for r, s in zip(received, sent)
    )


def _replay_cmd(bag: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "glare_inpaint_ros.tooling.cli", "replay", str(bag), *extra]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_replay_publishes_the_bag_bytes_and_clock(
        bag: Path, ros_node: Any, child_process: Any) -> None:
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image

    node, executor = ros_node
    images: list[bytes] = []
    infos: list[bytes] = []
    clocks: list[int] = []
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, "/camera/image_raw", images.append, qos, raw=True)
    node.create_subscription(CameraInfo, "/camera/camera_info", infos.append, qos, raw=True)
    node.create_subscription(
        Clock, "/clock", lambda m: clocks.append(m.clock.sec * 10**9 + m.clock.nanosec), qos
    )
    proc = child_process(
        _replay_cmd(bag, "--clock", "--rate", "4", "--wait-for-subscribers", "20"), env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    _spin_until(executor, lambda: proc.poll() is not None and len(images) >= FRAMES, 60)
    _spin_until(executor, lambda: False, 0.3)  # late samples
    out = stop_process(proc, signal.SIGKILL)[1]
    assert proc.returncode == 0, out
    with BagReader(bag) as reader:
        want = {t: [bytes(m.data) for m in reader.messages([t])] for t in reader.topics}
        first, last = reader.start_time, reader.end_time - 1
    assert same_payload(images, want["/camera/image_raw"])  # byte for byte, in order
    assert same_payload(infos, want["/camera/camera_info"])
    assert clocks and clocks == sorted(clocks) and clocks[0] == first and clocks[-1] == last
    stamps = {header_stamp_ns(typestore().deserialize_cdr(d, IMAGE)) for d in images}
    assert stamps <= set(clocks)  # /clock was set to each frame's time before it was sent


def test_replay_rejects_bad_arguments(bag: Path, tmp_path: Path) -> None:
    with pytest.raises(BagError, match=r"topic\(s\) not in .*: /nope"):
        replay(bag, topics=["/nope"], log=None)
    with pytest.raises(ValueError, match="rate must be > 0"):
        replay(bag, rate=0, log=None)
    with pytest.raises(BagError, match="no such bag"):
        replay(tmp_path / "missing", log=None)
    with pytest.raises(BagError, match="message package not_a_pkg is not installed"):
        resolve_type("not_a_pkg/msg/Thing")
    assert resolve_type("sensor_msgs/msg/Image").__name__ == "Image"


@pytest.mark.slow
def test_fused_node_with_sim_time_processes_a_replayed_bag(
        bag: Path, ros_node: Any, node_process: Any) -> None:
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    node, executor = ros_node
    stamps: list[int] = []
    node.create_subscription(
        Image, "/camera/image_deglared",
        lambda m: stamps.append(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec),
        QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    glare = node_process(
        "glare_remover_node",
        "-p",
        "use_sim_time:=true",
        "-p",
        "qos.subscription.reliability:=reliable",
        # (every frame queued: this test is about sim time and stamps, not the newest-frame
        # policy, which drops frames that arrive while the node is busy on a loaded machine)
        "-p",
        f"qos.subscription.depth:={FRAMES}",
        "-r",
        "image:=/camera/image_raw",
        "-r",
        "image_deglared:=/camera/image_deglared",
        env=_env(),
    )
    assert _spin_until(
        executor, lambda: node.count_publishers("/camera/image_deglared") > 0, 60
    ), "glare_remover_node did not come up"
    replayer = subprocess.run(
        _replay_cmd(
            bag, "--clock", "--rate", "2", "--topics", "/camera/image_raw",
            "--wait-for-subscribers", "30",
        ),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayer.returncode == 0, replayer.stdout + replayer.stderr
    _spin_until(executor, lambda: len(stamps) >= FRAMES, 30)
    node_out = stop_process(glare, signal.SIGTERM, timeout=10)[1]
    with BagReader(bag) as reader:
        want = [
            header_stamp_ns(typestore().deserialize_cdr(m.data, IMAGE))
            for m in reader.messages(["/camera/image_raw"])
        ]
    assert stamps == want, node_out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_replay_stops_on_a_signal_with_one_line(bag: Path, sig: int) -> None:
    """A looping replay ends on Ctrl-C or ``kill`` with one line and 128 + N (SIGTERM gave a
    silent 130)."""
    def publishing(proc: subprocess.Popen) -> bool:
        line = proc.stderr.readline()
        assert line.startswith(f"replaying {bag}: 2 topic(s)"), line
        return True

    interrupt_cli(["replay", str(bag), "--loop"], sig, publishing, env=_env())
