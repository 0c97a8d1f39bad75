"""The benchmark's camera and sink: publishes frames to the nodes and times what comes back.

Run as a child process by :mod:`.ros` (``python -m glare_inpaint_ros.bench.probe CONFIG.json``),
so its own CPU time and GIL stay out of the measured nodes. It talks to the parent through
stdout: one line ``BENCH {json}`` per event (``ready``, ``start``, ``mark``, ``end``, ``error``).

Publishing: each frame is serialised once (``sensor_msgs/Image`` bgr8, CDR) and only the stamp
bytes are patched per send (``header.stamp`` = wall time right before ``publish``), so the probe
costs one buffer copy per frame. Receiving: a raw (serialised) subscription on the output topic;
only the stamp is read from the bytes. Latency = receive wall time - ``header.stamp`` (ms): both
transports, every node's processing and queueing.

Phases (run in order, each with its own frames file):

* ``rate``: publish at ``rate_hz`` like a camera (a frame that could not be sent on time is not
  made up for later);
* ``flat``: flat out, closed loop: at most ``window`` frames in flight (a new frame is sent as
  soon as an output returns, or after 1 s without one), so the nodes never wait for input and no
  frame is published only to be dropped;

each for ``warmup_s`` unmeasured then ``seconds`` measured (or until ``frames`` outputs have
arrived, with ``marks``: output counts at which a ``mark`` event is printed, used for the RSS
samples of the memory section). Frames whose output never arrives within the drain time after
the phase are ``lost``. Node diagnostics (``/diagnostics``) give the pass-through and drop
counters of the phase (approximate: they are published every ``diagnostics.period_s``).
"""

from __future__ import annotations

import json
import struct
import sys
import threading
import time
from typing import Any

import numpy as np

from ..stats import percentiles

#: byte offset of ``header.stamp`` (int32 sec, uint32 nanosec) in a CDR-serialised Image: after
#: the 4-byte encapsulation header.
STAMP_OFFSET = 4
STAMP = struct.Struct("<iI")


_EMIT_LOCK = threading.Lock()


def emit(event: str, **data: Any) -> None:
    """Write one ``BENCH {json}`` line for the parent process (whole lines, from any thread)."""
    line = "BENCH " + json.dumps({"event": event, **data}) + "\n"
    with _EMIT_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


def latency_summary(values_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of latencies in ms (NaN when empty)."""
    p50, p95, p99, p100 = percentiles(values_ms, (50, 95, 99, 100))
    mean = float(np.mean(values_ms)) if values_ms else float("nan")
    return {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": p100, "mean_ms": mean}


class Probe:
    """Publisher of serialised frames and raw subscriber of the outputs (see the module docstring)."""

    def __init__(self, node: Any, in_topic: str, out_topic: str, reliable: bool, depth: int = 10,
                 out_type: str = "sensor_msgs/msg/Image") -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image

        rel = ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=rel)
        self.node = node
        self.pub = node.create_publisher(Image, in_topic, qos)
        # Any output type whose first field is a std_msgs/Header (the stamp is read from the bytes).
        import importlib

        package, _, name = out_type.split("/")
        msg_type = getattr(importlib.import_module(f"{package}.msg"), name)
        self.sub = node.create_subscription(msg_type, out_topic, self._on_output, qos, raw=True)
        self.diag_sub = node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        self.lock = threading.Lock()
        self.arrivals: dict[int, int] = {}  # stamp ns -> receive wall time ns
        self.received = 0
        self.inflight = threading.Semaphore(1)
        self.diag: dict[str, dict[str, str]] = {}
        self._buffers: list[bytearray] = []
        self.size = (0, 0)  # (width, height) px of the loaded frames
        self._marks: list[int] = []

    # -- callbacks (executor thread) ---------------------------------------------------------
    def _on_output(self, data: bytes) -> None:
        now = time.time_ns()
        sec, nsec = STAMP.unpack_from(data, STAMP_OFFSET)
        with self.lock:
            self.arrivals[sec * 1_000_000_000 + nsec] = now
            self.received += 1
            count = self.received
        self.inflight.release()
        while self._marks and count >= self._marks[0]:
            emit("mark", count=self._marks.pop(0))

    def _on_diag(self, msg: Any) -> None:
        for status in msg.status:
            self.diag[status.name] = {kv.key: kv.value for kv in status.values}

    # -- publishing (main thread) ------------------------------------------------------------
    def load_frames(self, path: str) -> tuple[int, int]:
        """Serialise the frames of a ``.npy`` file (``K x H x W x 3`` BGR uint8); returns (W, H)."""
        from rclpy.serialization import serialize_message
        from std_msgs.msg import Header

        from ..ros.conversions import array_to_image

        frames = np.load(path)
        self.size = (int(frames.shape[2]), int(frames.shape[1]))
        self._buffers = [bytearray(serialize_message(array_to_image(f, "bgr8", Header(frame_id="camera"))))
                         for f in frames]
        return self.size

    def send(self, i: int) -> int:
        """Publish frame ``i`` (cycling) stamped with the current wall time; returns the stamp, ns."""
        buf = self._buffers[i % len(self._buffers)]
        stamp = time.time_ns()
        STAMP.pack_into(buf, STAMP_OFFSET, *divmod(stamp, 1_000_000_000))
        self.pub.publish(bytes(buf))
        return stamp

    def wait_ready(self, timeout_s: float) -> float:
        """Send a frame every 0.25 s until an output comes back; returns the seconds it took."""
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < timeout_s:
            with self.lock:
                if self.arrivals:
                    self.arrivals.clear()
                    return time.monotonic() - t0
            self.send(i)
            i += 1
            time.sleep(0.25)
        raise TimeoutError(f"no output on the probe's topic within {timeout_s:.0f} s (nodes not running?)")

    def counters(self) -> dict[str, dict[str, float]]:
        """Per node (diagnostic name): its pass-through / drop totals, from the last diagnostics."""
        out = {}
        for name, values in list(self.diag.items()):
            out[name] = {k: float(v) for k, v in values.items()
                         if k.startswith(("passthrough", "dropped", "frames_")) and not k.endswith("_period")
                         and _is_number(v)}
        return out

    def run_phase(self, phase: dict[str, Any]) -> dict[str, Any]:
        """Run one phase (see the module docstring) and return its measurements."""
        mode, seconds, warmup = phase["mode"], float(phase.get("seconds", 10.0)), float(phase.get("warmup_s", 2.0))
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
                emit("start", phase=phase["name"])
            if t_measure is not None:
                if target:
                    if self.received >= target or now - t_measure > float(phase.get("timeout_s", 900.0)):
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
        emit("end", phase=phase["name"])
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
        node_counts = {name: {k: v - before.get(name, {}).get(k, 0.0) for k, v in vals.items()}
                       for name, vals in after.items()}
        return {
            "name": phase["name"], "mode": mode, "width": self.size[0], "height": self.size[1],
            "rate_hz": float(phase.get("rate_hz", 0.0)) if mode == "rate" else None,
            "window": window if mode == "flat" else None,
            "sent": len(measured), "received": got, "lost": len(measured) - got,
            "duration_s": duration, "sent_fps": len(measured) / duration, "fps": got / duration,
            "latency": latency_summary(lat), "nodes": node_counts,
        }


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the phases of the JSON config file ``argv[0]``; events on stdout, exit code 0/1."""
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0], encoding="utf-8") as f:
        cfg = json.load(f)
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    rclpy.init()
    node = rclpy.create_node("glare_bench_probe", namespace=cfg["namespace"])
    probe = Probe(node, cfg["in_topic"], cfg["out_topic"], cfg.get("reliable", True),
                  out_type=cfg.get("out_type", "sensor_msgs/msg/Image"))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    try:
        loaded = None
        for phase in cfg["phases"]:
            if phase["frames_file"] != loaded:
                width, height = probe.load_frames(phase["frames_file"])
                loaded = phase["frames_file"]
                ready_s = probe.wait_ready(float(cfg.get("ready_timeout_s", 60.0)))
                emit("ready", width=width, height=height, seconds=ready_s)
            emit("result", result=probe.run_phase(phase))
        return 0
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which owns the failure
        emit("error", message=f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        executor.shutdown()
        spin.join(timeout=5.0)
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
