"""``glare-inpaint soak``: run the ROS 2 pipeline for a long time and watch memory, latency and
drops.

Starts the node processes (``--mode three``: specular_detector, mask_dilation, inpainting;
``--mode fused``: glare_remover) in a private namespace with the default parameter file, then
publishes a synthetic glare frame (``--width`` x ``--height`` bgr8, default 1280x720) at ``--rate``
Hz (default 30) for ``--duration`` seconds, best effort, like a camera driver. Every
``--sample-s`` seconds it records each node process's RSS (``/proc/<pid>/status`` VmRSS, MiB) and
the end-to-end latency of the outputs received in that window (publish wall time in
``header.stamp`` -> receive time, ms, p50/p95).

Report: per process RSS in the first and the last window of ``min(60 s, duration / 3)`` (the
"first vs last minute" of a long run) and their difference; latency p50/p95 in both windows;
frames sent / received; and every node's counters from ``/diagnostics`` (``frames_in``,
``frames_out``, ``dropped.*``, ``passthrough.*``) read after a drain period, so each frame that
produced no output is accounted for by a reason. ``--json`` writes the whole record.

    glare-inpaint soak --duration 600 --mode three            # the 10-minute soak
    glare-inpaint soak --duration 20 --mode fused --json soak.json

Exit code 0 when every node process is still running at the end (and stops cleanly), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..bench.harness import rss_mib
from ...ros.pipelines import PIPELINES
from ...stats import percentiles


@dataclass
class Sample:
    """One sampling window."""

    t_s: float  # seconds since the stream started
    rss_mib: dict[str, float]  # node name -> resident set size, MiB (nan if the process is gone)
    sent: int  # frames published in this window
    received: int  # outputs received in this window
    latency_ms_p50: float
    latency_ms_p95: float


@dataclass
class SoakReport:
    """Everything the soak measured (``asdict`` gives the JSON record)."""

    mode: str
    width: int
    height: int
    rate_hz: float
    duration_s: float
    window_s: float
    samples: list[Sample] = field(default_factory=list)
    sent: int = 0  # frames published during the measured stream
    received: int = 0  # outputs received for them
    warmup_sent: int = 0  # frames published before the first output (discovery, warm-up)
    rss_first_mib: dict[str, float] = field(default_factory=dict)
    rss_last_mib: dict[str, float] = field(default_factory=dict)
    rss_growth_mib: dict[str, float] = field(default_factory=dict)
    latency_first_ms: tuple[float, float] = (float("nan"), float("nan"))
    latency_last_ms: tuple[float, float] = (float("nan"), float("nan"))
    counters: dict[str, dict[str, str]] = field(default_factory=dict)
    alive: dict[str, bool] = field(default_factory=dict)
    exit_codes: dict[str, int | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (bool(self.alive) and all(self.alive.values())
                and all(c == 0 for c in self.exit_codes.values()))


def _window_mean(samples: list[Sample], t0: float, t1: float, key: str) -> float:
    vals = [s.rss_mib[key] for s in samples if t0 <= s.t_s <= t1]
    return float(np.nanmean(vals)) if vals else float("nan")


def soak(mode: str = "three", duration_s: float = 600.0, rate_hz: float = 30.0, width: int = 1280,
         height: int = 720, sample_s: float = 5.0, logs: Path | None = None,
         startup_timeout_s: float = 60.0,
         progress: bool = True) -> SoakReport:
    """Run the soak and return its report (see the module docstring).

    Args:
        mode: ``three`` (three processes) or ``fused`` (one glare_remover process).
        duration_s: streaming time, s (after the pipeline answered its first frame).
        rate_hz: publishing rate, Hz.
        width, height: frame size, px.
        sample_s: sampling period of RSS and latency, s.
        logs: folder for the node logs (default: a temporary folder, removed afterwards).
        startup_timeout_s: how long to wait for the first output, s.

    Raises:
        ValueError: an unknown mode or an out-of-range number.
        RuntimeError: a node died during start-up or no output arrived within
            ``startup_timeout_s``.
    """
    if mode not in PIPELINES:
        raise ValueError(f"mode must be one of {', '.join(PIPELINES)}, got {mode!r}")
    if not (duration_s > 0 and 0.1 <= rate_hz <= 1000 and width >= 16 and height >= 16
            and sample_s > 0):
        raise ValueError(
            "duration_s > 0, rate_hz in 0.1..1000, width/height >= 16 px and sample_s > 0 are "
            "required")
    import tempfile

    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    from ..bench.harness import NodeProcesses, Probe, ros_node, spinning
    from ...synth import make_sample
    from ...ros.env import apply_defaults, params_path
    from ...ros.pipelines import node_processes

    apply_defaults()
    namespace = f"/soak_{os.getpid()}"
    tmp = None if logs is not None else tempfile.TemporaryDirectory(prefix="glare_soak_")
    log_dir = Path(logs) if logs is not None else Path(tmp.name)  # type: ignore[union-attr]
    report = SoakReport(mode, width, height, rate_hz, duration_s,
                        window_s=min(60.0, duration_s / 3))
    frame = make_sample(0, 0, (width, height))[0]
    procs = NodeProcesses(node_processes(mode), namespace, ["--params-file", str(params_path())],
                          log_dir=log_dir)
    try:
        node = ros_node("glare_soak")
        with spinning(node):
            # Best effort like a camera driver; outputs reliable, so that none is lost on the way
            # back.
            camera_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                                    reliability=ReliabilityPolicy.BEST_EFFORT)
            probe = Probe(node, f"{namespace}/image", f"{namespace}/image_deglared", reliable=True,
                          depth=100,
                          publish_qos=camera_qos)
            probe.set_frames([frame], frame_id="soak_camera")
            try:  # discovery + warm-up: publish slowly until the chain answers
                probe.wait_ready(startup_timeout_s, period_s=0.2, check=procs.check_alive)
            except TimeoutError as exc:
                raise RuntimeError(f"pipeline did not start ({exc}; logs in {log_dir})") from None
            report.warmup_sent = probe.sent
            time.sleep(1.0)
            probe.take_arrivals()
            with probe.lock:
                received0 = probe.received
            t0 = time.monotonic()
            next_sample, window_sent, window_recv0, i = t0 + sample_s, 0, received0, 0
            period = 1.0 / rate_hz
            while True:
                now = time.monotonic()
                if now >= t0 + duration_s:
                    break
                probe.send(0)
                report.sent += 1
                window_sent += 1
                i += 1
                if now >= next_sample:
                    lat = [(t_recv - stamp) / 1e6 for stamp,
                           t_recv in probe.take_arrivals().items()]
                    p50, p95 = percentiles(lat)
                    with probe.lock:
                        recv = probe.received
                    rss = {name: rss_mib(pid) for name, pid in procs.pids.items()}
                    report.samples.append(
                        Sample(now - t0, rss, window_sent, recv - window_recv0, p50, p95))
                    if progress:
                        mem = " ".join(f"{k}={v:.0f}MiB" for k, v in rss.items())
                        print(f"[soak] t={now - t0:6.1f}s sent={window_sent} "
                              f"recv={recv - window_recv0} "
                              f"latency p50={p50:.1f} p95={p95:.1f} ms {mem}", flush=True)
                    window_sent, window_recv0, next_sample = 0, recv, next_sample + sample_s
                time.sleep(max(0.0, t0 + i * period - time.monotonic()))
            time.sleep(3.0)  # drain: last outputs and one more diagnostics period
            with probe.lock:
                report.received = probe.received - received0
            report.counters = {name.rsplit("/", 1)[1]: dict(values) for name,
                               values in list(probe.diag.items())
                               if name.startswith(namespace + "/")}
            dead = procs.dead()
            report.alive = {name: name not in dead for name in procs.pids}
    finally:
        report.exit_codes = procs.stop()
        if tmp is not None:
            tmp.cleanup()
    w, last = report.window_s, duration_s
    for key in PIPELINES[mode]:
        report.rss_first_mib[key] = _window_mean(report.samples, 0.0, w, key)
        report.rss_last_mib[key] = _window_mean(report.samples, last - w, last, key)
        report.rss_growth_mib[key] = report.rss_last_mib[key] - report.rss_first_mib[key]
    first = [s for s in report.samples if s.t_s <= w]
    final = [s for s in report.samples if s.t_s >= last - w]
    report.latency_first_ms = (_nanmedian([s.latency_ms_p50 for s in first]),
                               _nanmedian([s.latency_ms_p95 for s in first]))
    report.latency_last_ms = (_nanmedian([s.latency_ms_p50 for s in final]),
                              _nanmedian([s.latency_ms_p95 for s in final]))
    return report


def _nanmedian(values: list[float]) -> float:
    arr = np.asarray(values, float)
    return float(np.nanmedian(arr)) if arr.size and not np.isnan(arr).all() else float("nan")


def format_report(r: SoakReport) -> str:
    """A human-readable summary of a :class:`SoakReport`."""
    lines = [
        f"soak: mode={r.mode} {r.width}x{r.height} @ {r.rate_hz:g} Hz for {r.duration_s:g} s "
        f"(windows of {r.window_s:g} s)",
        f"frames sent {r.sent}, outputs received {r.received} ({r.received / max(r.sent, 1):.1%})",
        f"latency p50/p95 first window {r.latency_first_ms[0]:.1f}/{r.latency_first_ms[1]:.1f} "
        "ms, "
        f"last window {r.latency_last_ms[0]:.1f}/{r.latency_last_ms[1]:.1f} ms",
    ]
    for name in r.rss_first_mib:
        lines.append(f"  {name:18s} RSS first {r.rss_first_mib[name]:7.1f} MiB  last "
                     f"{r.rss_last_mib[name]:7.1f} MiB  "
                     f"growth {r.rss_growth_mib[name]:+6.1f} MiB  alive={r.alive.get(name)} "
                     f"exit={r.exit_codes.get(name)}")
    for name, vals in r.counters.items():
        keys = (["frames_in", "frames_out"]
                + sorted(k for k in vals if k.startswith(("dropped.", "passthrough."))))
        lines.append(f"  {name:18s} " + " ".join(f"{k}={vals[k]}" for k in keys if k in vals))
    lines.append("OK" if r.ok else "FAILED: a node process died or exited with an error")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=tuple(PIPELINES), default="three",
                        help="three processes or the fused node")
    parser.add_argument("--duration", type=float, default=600.0,
                        help="streaming time, s (default 600)")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="publishing rate, Hz (default 30)")
    parser.add_argument("--width", type=int, default=1280, help="frame width, px (default 1280)")
    parser.add_argument("--height", type=int, default=720, help="frame height, px (default 720)")
    parser.add_argument("--sample-s", type=float, default=5.0,
                        help="sampling period, s (default 5)")
    parser.add_argument("--logs", type=Path, default=None,
                        help="keep the node logs in this folder")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the full report as JSON here")


def run(args: argparse.Namespace) -> int:
    report = soak(args.mode, args.duration, args.rate, args.width, args.height, args.sample_s,
                  args.logs)
    print(format_report(report))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=1), encoding="utf-8")
    return 0 if report.ok else 1
