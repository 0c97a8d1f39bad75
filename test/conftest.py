"""Test session setup: a private DDS domain on localhost and the project's FastDDS profile.

Set before anything imports rclpy, so every node started by a test (in-process or as a child
process, which inherits the environment) lives on this run's own ``ROS_DOMAIN_ID``.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import cv2
import numpy as np
import pytest

if TYPE_CHECKING:  # rclpy and the messages are imported where used: see the helpers below
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The DDS domain of every node the tests start: GLARE_TEST_DOMAIN_ID if set (pin the tests to a
# domain other than your shell's, e.g. when a live robot uses that one), else your ROS_DOMAIN_ID
# (respected: you chose it, e.g. one per user on a shared machine), else one derived from the pid
# (1..100, the range that is safe on Linux). Shown in pytest's header.
if os.environ.get("GLARE_TEST_DOMAIN_ID"):
    os.environ["ROS_DOMAIN_ID"] = os.environ["GLARE_TEST_DOMAIN_ID"]
    _DOMAIN_FROM = "GLARE_TEST_DOMAIN_ID"
elif os.environ.get("ROS_DOMAIN_ID"):
    _DOMAIN_FROM = "your ROS_DOMAIN_ID"
else:
    os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
    _DOMAIN_FROM = "pid-derived; set GLARE_TEST_DOMAIN_ID to pin one"
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
_profile = ROOT / "config" / "fastdds_profile.xml"
if _profile.exists():
    os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(_profile)
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(_profile)


def pytest_report_header(config: pytest.Config) -> str:
    return f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} ({_DOMAIN_FROM}), ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST"


#: The classic brightness chain: for tests of mono frames and of hard-edged, saturated rendered
#: glare, which the default (colour-based, conservative) chain rightly leaves alone.
CLASSIC_CHAIN = {"detector.type": "threshold", "inpainting.backend": "fast"}


@pytest.fixture
def classic_yaml(tmp_path: Path) -> Path:
    """A pipeline YAML selecting :data:`CLASSIC_CHAIN`, for the command-line tools' ``--config``."""
    path = tmp_path / "classic_chain.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in CLASSIC_CHAIN.items()))
    return path


SHARED_DATA = ROOT.parent / "shared" / "data"


def stop_process(proc: subprocess.Popen) -> tuple[int, str]:
    """SIGINT a child process (a node, a CLI job), wait up to 15 s, kill it if needed; returns
    ``(exit code, its combined output)``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        text, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
    return proc.returncode, text


@pytest.fixture(scope="module")
def ctx():
    """An initialised rclpy ``Context`` shared by one test module's nodes (skips without rclpy)."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)


# -- shared helpers of the test modules (no test module imports another) ----------------------
# rclpy and the message packages are imported where used, so the modules that do not need ROS
# still collect (and skip their ROS tests) without it.
#: Size of :func:`make_scene`'s frame and the highlight's semi-axes at that size, px.
H, W = 120, 160
AXES = (14, 9)
_stamps = itertools.count(1)


def make_scene(h: int = H, w: int = W) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean BGR, BGR with a highlight, bool region of the highlight).

    The surface is a textured orange (a coloured material, as the default ``dichromatic``
    detector needs); the highlight is the light's white added on top (dichromatic model): a
    smooth lobe with a clipped elliptical core. The region is where it raises a pixel by >= 20.
    """
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 110 + 40 * np.sin(x / 7.0) * np.cos(y / 9.0)
    clean = np.dstack([0.35 * base, 0.65 * base, base + 40]).astype(np.uint8)
    cx, cy = w // 2, h // 2
    ax, ay = w * AXES[0] / W, h * AXES[1] / H
    r2 = ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2
    spec = 400.0 * np.exp(-0.5 * r2 ** 1.5)
    glare = np.clip(clean + spec[:, :, None], 0, 255).astype(np.uint8)
    region = (glare.astype(np.int16) - clean).max(axis=2) >= 20
    return clean, glare, region


def classic_overrides() -> list[Parameter]:
    """Parameters of the classic brightness chain (``threshold`` + ``fast``), for mono frames."""
    from rclpy.parameter import Parameter

    return [Parameter(k, value=v) for k, v in CLASSIC_CHAIN.items()]


def as_encoding(bgr: np.ndarray, encoding: str) -> np.ndarray:
    """``bgr`` in ``encoding``'s own layout and channel order."""
    conv = {
        "bgr8": lambda a: a,
        "rgb8": lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2RGB),
        "bgra8": lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2BGRA),
        "rgba8": lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2RGBA),
        "mono8": lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2GRAY),
        "mono16": lambda a: cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257,
    }
    return conv[encoding](bgr)


def new_header(frame_id: str = "camera_optical") -> Header:
    """A header with a stamp no other call returns (seconds count up from 1001)."""
    from std_msgs.msg import Header

    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 1000 + next(_stamps), 123_456_789
    return header


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``pred`` every 5 ms until it is true or ``timeout`` s passed; returns its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return pred()


class Harness:
    """Spins ``nodes`` plus a tester node on one executor in a background thread."""

    def __init__(self, ctx: Context, nodes: list[Node]) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.ctx = ctx
        self.nodes = nodes
        self.tester = rclpy.create_node(f"tester_{id(self)}", context=ctx)
        self.executor = SingleThreadedExecutor(context=ctx)
        for n in [*nodes, self.tester]:
            self.executor.add_node(n)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def collect(self, topic: str, msg_type: type | None = None) -> list[Any]:
        """A list that fills with the messages on ``topic`` (default type: sensor_msgs/Image)."""
        if msg_type is None:
            from sensor_msgs.msg import Image

            msg_type = Image
        got: list[Any] = []

        def cb(msg: Any) -> None:
            with self._lock:
                got.append(msg)

        self.tester.create_subscription(msg_type, topic, cb, 10)
        return got

    def publisher(self, topic: str) -> Any:
        """A sensor_msgs/Image publisher of the tester node (depth 10)."""
        from sensor_msgs.msg import Image

        return self.tester.create_publisher(Image, topic, 10)

    def io(self, out_topic: str = "image_deglared", in_topic: str = "image", n_subs: int = 1):
        """``(received outputs, input publisher)``, the publisher already matched by the nodes."""
        got = self.collect(out_topic)
        pub = self.publisher(in_topic)
        self.wait_connected(pub, n_subs)
        return got, pub

    def wait_connected(self, pub: Any, n_subs: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``pub`` has ``n_subs`` subscribers (discovery)."""
        assert wait_for(lambda: pub.get_subscription_count() >= n_subs, timeout), "discovery timed out"

    def close(self) -> None:
        """Stop the executor thread and destroy every node it spun."""
        self.executor.shutdown(timeout_sec=2.0)
        self._thread.join(timeout=5.0)
        for n in [*self.nodes, self.tester]:
            n.destroy_node()


def publish_until(pub: Any, make_msg: Callable[[], Image], got: list, timeout: float = 8.0,
                  period: float = 0.2) -> Image:
    """Publish fresh messages until one result arrives (absorbs discovery races); returns the last sent."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        msg = make_msg()
        pub.publish(msg)
        if wait_for(lambda: any(m.header.stamp == msg.header.stamp for m in got), period):
            return msg
    raise AssertionError("no output within timeout")


def result_for(got: list, sent: Image | Header) -> Image:
    """The received message with the stamp of ``sent`` (a message or a header)."""
    from std_msgs.msg import Header

    stamp = (sent if isinstance(sent, Header) else sent.header).stamp
    return next(m for m in got if m.header.stamp == stamp)


def check_deglared(out: np.ndarray, encoding: str) -> None:
    """``out`` (``encoding``) is :func:`make_scene`'s frame with the highlight removed, the rest kept."""
    clean, glare, region = make_scene()
    clean_e, glare_e = as_encoding(clean, encoding).astype(float), as_encoding(glare, encoding).astype(float)
    err_in = np.abs(glare_e - clean_e)[region].mean()
    err_out = np.abs(out.astype(float) - clean_e)[region].mean()
    assert err_out < 0.5 * err_in, (err_out, err_in)
    far = cv2.dilate(region.astype(np.uint8), np.ones((61, 61), np.uint8)) == 0
    np.testing.assert_array_equal(out[far], as_encoding(glare, encoding)[far])


def padded_clean_frame(encoding: str = "rgb8", pad: int = 5) -> Image:
    """The glare-free scene as an ``encoding`` message whose rows carry ``pad`` bytes of padding
    (``step > width * 3``): re-encoding the pixels, even losslessly, would change its bytes."""
    from sensor_msgs.msg import Image

    arr = as_encoding(make_scene()[0], encoding)
    rows = arr.reshape(arr.shape[0], -1)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 0x5A, np.uint8)], axis=1)
    msg = Image(height=arr.shape[0], width=arr.shape[1], encoding=encoding, step=padded.shape[1], is_bigendian=0)
    msg.data = padded.tobytes()
    msg.header = new_header("cam_clean")
    return msg


def assert_unchanged(out: Image, sent: Image) -> None:
    """``out`` is ``sent`` as it was published: same header, layout and bytes."""
    assert out.header == sent.header
    assert (out.encoding, out.height, out.width, out.step, out.is_bigendian) == (
        sent.encoding, sent.height, sent.width, sent.step, sent.is_bigendian)
    assert bytes(out.data) == bytes(sent.data)


def start_node(module: str, *ros_args: str, code: str | None = None) -> subprocess.Popen:
    """Start ``python -m glare_inpaint_ros.ros.<module> --ros-args ...`` (or ``python -c code
    --ros-args ...``) in the repository root, stdout+stderr captured as text."""
    cmd = [sys.executable, "-c", code] if code is not None else [sys.executable, "-m", f"glare_inpaint_ros.ros.{module}"]
    return subprocess.Popen([*cmd, "--ros-args", *ros_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT)


def texture(h: int = 120, w: int = 400, seed: int = 0) -> np.ndarray:
    """A smooth random colour texture (BGR uint8), wide enough to slide a window over."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (h // 4, w // 4, 3)).astype(np.float32)
    big = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 2.0)
    big = (big - big.min()) / (big.max() - big.min())
    return np.ascontiguousarray((40 + 170 * big).astype(np.uint8))


def sliding_sequence(n: int, step: int, h: int = 120,
                     w: int = 160) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """``(frames, clean frames, mask)``: a texture sliding left by ``step`` px per frame with a
    fixed saturated square, and the (dilated) mask of that square."""
    tex = texture(h, w + step * n + 8, seed=2)
    frames, cleans = [], []
    for i in range(n):
        clean = np.ascontiguousarray(tex[:, step * i: step * i + w])
        img = clean.copy()
        img[50:74, 60:84] = 255
        frames.append(img)
        cleans.append(clean)
    mask = np.zeros((h, w), np.uint8)
    mask[46:78, 56:88] = 255
    return frames, cleans, mask
