"""Start node processes, publish frames, collect the outputs: the one harness of the ROS tools.

Used by the benchmark (:mod:`.ros`, with :mod:`.probe` as its probe process),
``glare-inpaint demo`` (:mod:`glare_inpaint_ros.tooling.cli.demo`), ``glare-inpaint soak``
(:mod:`glare_inpaint_ros.tooling.cli.soak`) and ``tools/measure_ros_latency.py``.

* :class:`NodeProcesses`: node modules as child processes (``python -m MODULE ... --ros-args``)
  in one namespace, with their logs; stops them with SIGINT, then terminate, abort, kill.
* :class:`Probe`: the camera and the sink on an rclpy node: publishes serialised frames (only the
  stamp bytes are patched per send: one buffer copy per frame) and receives the outputs raw (only
  the stamp is read). Latency = receive wall time - ``header.stamp`` (ms): both transports, every
  node's processing and queueing. :meth:`Probe.run_phase` runs one measured phase:

  * ``rate``: publish at ``rate_hz`` like a camera (a frame that could not be sent on time is not
    made up for later);
  * ``flat``: flat out, closed loop: at most ``window`` frames in flight (a new frame is sent as
    soon as an output returns, or after 1 s without one), so the nodes never wait for input and
    no frame is published only to be dropped;

  each for ``warmup_s`` unmeasured then ``seconds`` measured (or until ``frames`` outputs have
  arrived, with ``marks``: output counts at which a ``mark`` event is emitted, used for the RSS
  samples of the bench's memory section). Frames whose output never arrives within the drain time
  after the phase are ``lost``. Node diagnostics (``/diagnostics``) give the pass-through and drop
  counters of the phase (approximate: they are published every ``diagnostics.period_s``).
* :func:`ros_node`, :func:`spinning`: the probe's node on its own context, spun in a thread.
* :func:`cpu_seconds`, :func:`rss_mib`: CPU time and resident memory of a process.
"""

from __future__ import annotations

import importlib
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ...stats import percentiles

#: byte offset of ``header.stamp`` (int32 sec, uint32 nanosec) in a CDR-serialised Image: after
#: the 4-byte encapsulation header.
STAMP_OFFSET = 4
STAMP = struct.Struct("<iI")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: the checkout holding this package: children import it from here even when it is not installed.
CHECKOUT = str(Path(__file__).resolve().parents[3])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, s (NaN if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15 of stat)


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid``, MiB (NaN if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def child_env(base: Mapping[str, str] | None = None, **overrides: str) -> dict[str, str]:
    """``base`` (default ``os.environ``) with ``overrides``, :data:`CHECKOUT` first on
    ``PYTHONPATH`` and Python's fault handler on (unless set): a child that
    :meth:`NodeProcesses.stop` has to abort prints every thread's stack into its log first."""
    env = dict(os.environ if base is None else base, **overrides)
    env.setdefault("PYTHONFAULTHANDLER", "1")
    env["PYTHONPATH"] = (CHECKOUT
                         + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""))
    return env


def _abort(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGABRT)


class NodeProcesses:
    """Node modules as child processes in one namespace; a context manager that stops them.

    Args:
        commands: process name -> ``"module [arguments before --ros-args]"``.
        namespace: pushed onto every node (``-r __ns:=namespace``).
        ros_args: more ``--ros-args`` arguments of every process (``-p``, ``--params-file`` ...).
        env: the children's environment (default: :func:`child_env` of ``os.environ``).
        log_dir: each process's stdout and stderr go to ``log_dir/<log_prefix><name>.log``
            (None: to this process's).
    """

    def __init__(self, commands: Mapping[str, str], namespace: str, ros_args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None, log_dir: Path | None = None,
                 log_prefix: str = "") -> None:
        self.logs: dict[str, Path] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        env = child_env() if env is None else dict(env)
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
        try:
            for name, command in commands.items():
                module, *pre = command.split()
                cmd = [sys.executable, "-m", module, *pre, "--ros-args", "-r",
                       f"__ns:={namespace}", *ros_args]
                if log_dir is None:
                    self.procs[name] = subprocess.Popen(cmd, env=env)
                    continue
                self.logs[name] = Path(log_dir) / f"{log_prefix}{name}.log"
                with open(self.logs[name], "w", encoding="utf-8") as out:
                    self.procs[name] = subprocess.Popen(cmd, env=env, stdout=out,
                                                        stderr=subprocess.STDOUT)
        except BaseException:
            self.stop()
            raise

    @property
    def pids(self) -> dict[str, int]:
        """Process name -> pid."""
        return {name: p.pid for name, p in self.procs.items()}

    def dead(self) -> list[str]:
        """Names of the processes that have exited."""
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def check_alive(self) -> None:
        """Raise ``RuntimeError`` (with the log tail) if a process has exited."""
        for name in self.dead():
            log = self.logs.get(name)
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log else ""
            raise RuntimeError(
                f"{log.stem if log else name} exited with code "
                f"{self.procs[name].returncode}:\n{tail}")

    def stop(self, grace_s: float = 10.0) -> dict[str, int | None]:
        """SIGINT every process; terminate those still running after ``grace_s``, abort them 2 s
        later (SIGABRT: with :func:`child_env`'s fault handler, a hung node prints where it
        hangs into its log; exit code -6), kill them 2 s after that; return the exit codes
        (None: still running). A node exits within half a second on an idle machine; the
        grace covers DDS teardown on a loaded one and costs nothing when they exit."""
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        t_end = time.monotonic() + grace_s
        for escalate in (subprocess.Popen.terminate, _abort, subprocess.Popen.kill):
            for p in self.procs.values():
                try:
                    p.wait(timeout=max(0.1, t_end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    escalate(p)
            t_end = time.monotonic() + 2.0
        codes: dict[str, int | None] = {}
        for name, p in self.procs.items():
            try:
                codes[name] = p.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                codes[name] = None
        return codes

    def __enter__(self) -> "NodeProcesses":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ros_node(name: str, namespace: str = "", domain_id: int | None = None) -> Any:
    """A new rclpy node on a context of its own (initialised here, on ``domain_id`` if given)."""
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(args=[], context=ctx, domain_id=domain_id)
    return rclpy.create_node(name, namespace=namespace, context=ctx)


@contextmanager
def spinning(node: Any) -> Iterator[None]:
    """Spin ``node`` on a ``SingleThreadedExecutor`` in a thread; afterwards destroy it and shut
    its context down."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        yield
    finally:
        executor.shutdown(timeout_sec=2.0)
        spinner.join(timeout=5.0)
        node.destroy_node()
        rclpy.try_shutdown(context=node.context)


def latency_summary(values_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of latencies in ms (NaN when empty)."""
    p50, p95, p99, p100 = percentiles(values_ms, (50, 95, 99, 100))
    mean = float(np.mean(values_ms)) if values_ms else float("nan")
    return {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": p100, "mean_ms": mean}


def _no_event(event: str, **data: Any) -> None:
    """The default event sink of :class:`Probe`: drops the event."""


class Probe:
    """Publisher of serialised frames and raw subscriber of the outputs (see the module docstring).

    Args:
        node: the rclpy node to publish and subscribe on; spin it on an executor (another thread).
        in_topic, out_topic: the pipeline's input and output topics.
        reliable, depth: QoS of the output subscription, and of the publisher unless
            ``publish_qos``.
        out_type: the output type; any type whose first field is a ``std_msgs/Header`` (the stamp
            is read from the bytes).
        publish_qos: the publisher's QoS profile, if it differs.
        emit: receives the events ``start``, ``end`` and ``mark`` of :meth:`run_phase` (``event,
            **data``).
        keep_outputs: keep every output's serialised bytes in :attr:`outputs` (by stamp, ns).
    """

    def __init__(self, node: Any, in_topic: str, out_topic: str, reliable: bool = True,
                 depth: int = 10,
                 out_type: str = "sensor_msgs/msg/Image", publish_qos: Any = None,
                 emit: Callable[..., None] = _no_event, keep_outputs: bool = False) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        rel = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=rel)
        self.node = node
        self.emit = emit
        self.pub = node.create_publisher(Image, in_topic, publish_qos or qos)
        package, _, name = out_type.split("/")
        msg_type = getattr(importlib.import_module(f"{package}.msg"), name)
        self.sub = node.create_subscription(msg_type, out_topic, self._on_output, qos, raw=True)
        self.diag_sub = node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag,
                                                 50)
        self.lock = threading.Lock()
        self.arrivals: dict[int, int] = {}  # stamp ns -> receive wall time ns
        self.received = 0
        self.sent = 0  # frames published by send(), all phases
        self.outputs: dict[int, bytes] | None = {} if keep_outputs else None
        self.inflight = threading.Semaphore(1)
        self.diag: dict[str, dict[str, str]] = {}
        self.diag_seen: dict[str, int] = {}  # diagnostics messages per name
        self._buffers: list[bytearray] = []
        self.size = (0, 0)  # (width, height) px of the loaded frames
        self._marks: list[int] = []

    # -- callbacks (executor thread) ---------------------------------------------------------
    def _on_output(self, data: bytes) -> None:
        now = time.time_ns()
        sec, nsec = STAMP.unpack_from(data, STAMP_OFFSET)
        stamp = sec * 1_000_000_000 + nsec
        with self.lock:
            self.arrivals[stamp] = now
            self.received += 1
            count = self.received
            if self.outputs is not None:
                self.outputs.setdefault(stamp, data)
        self.inflight.release()
        while self._marks and count >= self._marks[0]:
            self.emit("mark", count=self._marks.pop(0))

    def _on_diag(self, msg: Any) -> None:
        for status in msg.status:
            self.diag[status.name] = {kv.key: kv.value for kv in status.values}
            self.diag_seen[status.name] = self.diag_seen.get(status.name, 0) + 1

    # -- publishing (main thread) ------------------------------------------------------------
    def set_frames(self, frames: Sequence[np.ndarray],
                   frame_id: str = "camera") -> tuple[int, int]:
        """Serialise the BGR uint8 ``frames`` (``send`` cycles through them); returns (W, H) px."""
        from rclpy.serialization import serialize_message
        from std_msgs.msg import Header

        from ...ros.conversions import array_to_image

        self.size = (int(frames[0].shape[1]), int(frames[0].shape[0]))
        self._buffers = [bytearray(
            serialize_message(array_to_image(f, "bgr8", Header(frame_id=frame_id))))
                         for f in frames]
        return self.size

    def send(self, i: int) -> int:
        """Publish frame ``i`` (cycling) stamped with the current wall time; returns the stamp,
        ns."""
        buf = self._buffers[i % len(self._buffers)]
        stamp = time.time_ns()
        STAMP.pack_into(buf, STAMP_OFFSET, *divmod(stamp, 1_000_000_000))
        self.pub.publish(bytes(buf))
        self.sent += 1
        return stamp

    def wait_ready(self, timeout_s: float, period_s: float = 0.25,
                   check: Callable[[], None] | None = None,
                   accept: Callable[[int, int], bool] | None = None) -> float:
        """Send a frame every ``period_s`` until an output comes back; returns the seconds it took.

        ``check`` is called before each send (e.g. :meth:`NodeProcesses.check_alive`, to give up
        early); ``accept(frame_index, stamp_ns)``, if given, must also hold for an output to count
        (e.g. "processed, not passed through" while the nodes still warm up); ``TimeoutError`` when
        no such output came within ``timeout_s``.
        """
        t0 = time.monotonic()
        sent: dict[int, int] = {}  # stamp ns -> frame index
        i = 0
        while time.monotonic() - t0 < timeout_s:
            with self.lock:
                back = [s for s in self.arrivals if s in sent]
            if any(accept is None or accept(sent[s], s) for s in back):
                with self.lock:
                    self.arrivals.clear()
                return time.monotonic() - t0
            if check is not None:
                check()
            sent[self.send(i)] = i
            i += 1
            time.sleep(period_s)
        raise TimeoutError(
            f"no output on the probe's topic within {timeout_s:.0f} s (nodes not running?)")

    def take_arrivals(self) -> dict[int, int]:
        """The arrivals (stamp ns -> receive wall time ns) since the last call; clears them."""
        with self.lock:
            out, self.arrivals = self.arrivals, {}
        return out

    def counters(self, fresh_within_s: float = 0.0) -> dict[str, dict[str, float]]:
        """Per node (diagnostic name): its pass-through / drop totals, from the last
        diagnostics; with ``fresh_within_s`` > 0, first wait (up to that many seconds) until
        every node seen so far has reported once more."""
        seen = dict(self.diag_seen)
        t_end = time.monotonic() + fresh_within_s
        while time.monotonic() < t_end and any(
                self.diag_seen.get(name, 0) <= n for name, n in seen.items()):
            time.sleep(0.05)
        out = {}
        for name, values in list(self.diag.items()):
            out[name] = {k: float(v) for k, v in values.items()
                         if k.startswith(("passthrough", "dropped", "frames_"))
                         and not k.endswith("_period")
                         and _is_number(v)}
        return out

    def run_phase(self, phase: dict[str, Any]) -> dict[str, Any]:
        """Run one phase (see the module docstring) and return its measurements."""
        mode, seconds, warmup = (phase["mode"], float(phase.get("seconds", 10.0)),
                                 float(phase.get("warmup_s", 2.0)))
        period = 1.0 / float(phase.get("rate_hz", 30.0))
        window = int(phase.get("window", 2))
        target = int(phase.get("frames", 0))  # stop after this many outputs (0 = by time)
        self.inflight = threading.Semaphore(window)
        measured: list[int] = []
        i = 0
        t_start = time.monotonic()
        t_next = t_start
        t_measure = None
        before: dict[str, dict[str, float]] = {}
        while True:
            now = time.monotonic()
            if t_measure is None and now - t_start >= warmup:
                with self.lock:
                    self.arrivals.clear()
                    self.received = 0
                self._marks = sorted(int(m) for m in phase.get("marks", ()))
                before = self.counters()
                t_measure = time.monotonic()
                self.emit("start", phase=phase["name"])
            if t_measure is not None:
                if target:
                    if self.received >= target or \
                            now - t_measure > float(phase.get("timeout_s", 900.0)):
                        break
                elif now - t_measure >= seconds:
                    break
            if mode == "flat":
                self.inflight.acquire(timeout=1.0)
            stamp = self.send(i)
            i += 1
            if t_measure is not None:
                measured.append(stamp)
            if mode == "rate":
                t_next += period
                delay = t_next - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    t_next = time.monotonic()  # behind: do not burst to catch up
        t_end = time.monotonic()
        self.emit("end", phase=phase["name"])
        # Drain: wait for the outputs still in flight (and one diagnostics period).
        drain_until = time.monotonic() + float(phase.get("drain_s", 1.5))
        wanted = set(measured)
        while time.monotonic() < drain_until:
            with self.lock:
                if wanted.issubset(self.arrivals.keys()):
                    break
            time.sleep(0.02)
        time.sleep(float(phase.get("diag_wait_s", 0.0)))
        with self.lock:
            arrivals = dict(self.arrivals)
        lat = [(arrivals[s] - s) / 1e6 for s in measured if s in arrivals]
        got = len(lat)
        duration = t_end - t_measure if t_measure is not None else float("nan")
        after = self.counters()
        node_counts = counter_delta(before, after)
        return {
            "name": phase["name"], "mode": mode, "width": self.size[0], "height": self.size[1],
            "rate_hz": float(phase.get("rate_hz", 0.0)) if mode == "rate" else None,
            "window": window if mode == "flat" else None,
            "sent": len(measured), "received": got, "lost": len(measured) - got,
            "duration_s": duration, "sent_fps": len(measured) / duration, "fps": got / duration,
            "latency": latency_summary(lat), "nodes": node_counts,
        }


def counter_delta(before: dict[str, dict[str, float]],
                  after: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per node, what its :meth:`Probe.counters` totals grew by from ``before`` to ``after``."""
    return {name: {k: v - before.get(name, {}).get(k, 0.0) for k, v in vals.items()}
            for name, vals in after.items()}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
