"""Plain helpers shared by the test modules: frames, headers, waiting, the node harness.

Imported as ``from helpers import ...`` (pytest puts ``test/`` on ``sys.path``); no test module
imports ``conftest`` or another test module. What needs set-up and tear-down (a spinning
:class:`Harness`, a node process) is a fixture of ``conftest.py``, built on these.

rclpy and the message packages are imported where used, so the modules that do not need ROS
still collect (and skip their ROS tests) without it.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import cv2
import numpy as np

if TYPE_CHECKING:  # rclpy and the messages are imported where used: see the helpers below
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

#: The repository root.
ROOT = Path(__file__).resolve().parents[1]
#: The data shared by the project's checkouts (real datasets; tests skip without it).
SHARED_DATA = ROOT.parent / "shared" / "data"

#: The classic brightness chain: for tests of mono frames and of hard-edged, saturated rendered
#: glare, which the default (colour-based, conservative) chain rightly leaves alone.
CLASSIC_CHAIN = {"detector.type": "threshold", "inpainting.backend": "fast"}

#: Size of :func:`make_scene`'s frame and the highlight's semi-axes at that size, px.
H, W = 120, 160
AXES = (14, 9)
_stamps = itertools.count(1)


# -- frames ------------------------------------------------------------------------------------
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


def check_deglared(out: np.ndarray, encoding: str) -> None:
    """``out`` (``encoding``) is :func:`make_scene`'s frame with the highlight removed, the rest
    kept."""
    clean, glare, region = make_scene()
    clean_e = as_encoding(clean, encoding).astype(float)
    glare_e = as_encoding(glare, encoding).astype(float)
    err_in = np.abs(glare_e - clean_e)[region].mean()
    err_out = np.abs(out.astype(float) - clean_e)[region].mean()
    assert err_out < 0.5 * err_in, (err_out, err_in)
    far = cv2.dilate(region.astype(np.uint8), np.ones((61, 61), np.uint8)) == 0
    np.testing.assert_array_equal(out[far], as_encoding(glare, encoding)[far])


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


# -- messages ----------------------------------------------------------------------------------
def classic_overrides() -> list[Parameter]:
    """Parameters of the classic brightness chain (``threshold`` + ``fast``), for mono frames."""
    from rclpy.parameter import Parameter

    return [Parameter(k, value=v) for k, v in CLASSIC_CHAIN.items()]


def new_header(frame_id: str = "camera_optical") -> Header:
    """A header with a stamp no other call returns (seconds count up from 1001)."""
    from std_msgs.msg import Header

    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 1000 + next(_stamps), 123_456_789
    return header


def padded_clean_frame(encoding: str = "rgb8", pad: int = 5) -> Image:
    """The glare-free scene as an ``encoding`` message whose rows carry ``pad`` bytes of padding
    (``step > width * 3``): re-encoding the pixels, even losslessly, would change its bytes."""
    from sensor_msgs.msg import Image

    arr = as_encoding(make_scene()[0], encoding)
    rows = arr.reshape(arr.shape[0], -1)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 0x5A, np.uint8)], axis=1)
    msg = Image(height=arr.shape[0], width=arr.shape[1], encoding=encoding,
                step=padded.shape[1], is_bigendian=0)
    msg.data = padded.tobytes()
    msg.header = new_header("cam_clean")
    return msg


def assert_unchanged(out: Image, sent: Image) -> None:
    """``out`` is ``sent`` as it was published: same header, layout and bytes."""
    assert out.header == sent.header
    assert (out.encoding, out.height, out.width, out.step, out.is_bigendian) == (
        sent.encoding, sent.height, sent.width, sent.step, sent.is_bigendian)
    assert bytes(out.data) == bytes(sent.data)


# -- waiting -----------------------------------------------------------------------------------
def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``pred`` every 5 ms until it is true or ``timeout`` s passed; returns its last
    value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return pred()


def publish_until(pub: Any, make_msg: Callable[[], Image], got: list, timeout: float = 8.0,
                  period: float = 0.2) -> Image:
    """Publish fresh messages until one result arrives (absorbs discovery races); returns the
    last sent."""
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


# -- in-process nodes --------------------------------------------------------------------------
class Harness:
    """Spins ``nodes`` plus a tester node on one executor in a background thread.

    Made by conftest's ``harness`` fixture, which closes it at teardown.
    """

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
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        # spin_once in a loop, so that close() stops the thread before it shuts the executor
        # down: a shutdown from another thread while the executor waits races with rclpy's
        # teardown of its guard condition (seen once as an unhandled thread exception).
        while not self._stop.is_set() and self.ctx.ok():
            self.executor.spin_once(timeout_sec=0.05)

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

    def publisher(self, topic: str, msg_type: type | None = None) -> Any:
        """A publisher of the tester node (depth 10; default type: sensor_msgs/Image)."""
        if msg_type is None:
            from sensor_msgs.msg import Image

            msg_type = Image
        return self.tester.create_publisher(msg_type, topic, 10)

    def io(self, out_topic: str = "image_deglared", in_topic: str = "image", n_subs: int = 1):
        """``(received outputs, input publisher)``, the publisher already matched by the
        nodes."""
        got = self.collect(out_topic)
        pub = self.publisher(in_topic)
        self.wait_connected(pub, n_subs)
        return got, pub

    def wait_connected(self, pub: Any, n_subs: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``pub`` has ``n_subs`` subscribers (discovery)."""
        assert wait_for(lambda: pub.get_subscription_count() >= n_subs, timeout), \
            "discovery timed out"

    def alive(self) -> bool:
        """Whether the executor thread still spins (no callback took it down)."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the executor thread and destroy every node it spun (once; later calls do
        nothing)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.executor.shutdown(timeout_sec=2.0)
        for n in [*self.nodes, self.tester]:
            n.destroy_node()


# -- processes ---------------------------------------------------------------------------------
def node_command(module: str, *ros_args: str, code: str | None = None,
                 args: Iterable[str] = ()) -> list[str]:
    """``python -m glare_inpaint_ros.ros.<module> ARGS --ros-args ...`` (or ``python -c code ARGS
    --ros-args ...``): a node process's command line. Tests start it through conftest's
    ``node_process`` fixture, which stops it at teardown."""
    if code is not None:
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", f"glare_inpaint_ros.ros.{module}"]
    return [*cmd, *args, "--ros-args", *ros_args]


def stop_processes(procs: Iterable[subprocess.Popen], sig: int = signal.SIGINT,
                   timeout: float = 15.0) -> list[tuple[int, str]]:
    """Send ``sig`` to every child process still running (a node, a CLI job), then wait up to
    ``timeout`` s for each; one still running gets SIGABRT (with conftest's
    ``PYTHONFAULTHANDLER`` it prints where each thread hangs), then SIGKILL 5 s later. Returns
    ``(exit code, combined output)`` of each.

    Safe to call again on a process it stopped (or that was already waited for): it then
    returns the same code and output.
    """
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    results = []
    for proc in procs:
        try:
            text, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                text, _ = proc.communicate(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                text, _ = proc.communicate()
        results.append((proc.returncode, text))
    return results


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGINT,
                 timeout: float = 15.0) -> tuple[int, str]:
    """:func:`stop_processes` of one process: ``(exit code, its combined output)``."""
    return stop_processes([proc], sig, timeout)[0]


def interrupt_cli(args: list[str], sig: int, ready: Callable[[subprocess.Popen], bool],
                  timeout: float = 60.0, **popen_kwargs: Any) -> subprocess.Popen:
    """Start ``glare-inpaint ARGS`` (``python -m glare_inpaint_ros.tooling.cli``) in the repository
    root, poll ``ready(proc)`` every 50 ms for up to ``timeout`` s, send ``sig``, and check that
    the command ends with exit code ``128 + sig`` and exactly one stderr line (after what
    ``ready`` read), ``glare-inpaint <command>: interrupted (<SIGNAL>)``. Returns the ended
    process."""
    proc = subprocess.Popen([sys.executable, "-m", "glare_inpaint_ros.tooling.cli", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen_kwargs)
    try:
        end = time.monotonic() + timeout
        while not ready(proc):
            assert proc.poll() is None and time.monotonic() < end, (
                f"never got ready (exit {proc.poll()})")
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, (proc.returncode, err)
    assert err.strip() == f"glare-inpaint {args[0]}: interrupted ({signal.Signals(sig).name})", err
    return proc
