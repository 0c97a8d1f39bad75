"""``glare-inpaint demo``: stream a sample sequence with glare through the real ROS 2 pipeline.

What it does:

1. Environment (:mod:`.env`): localhost discovery and the shipped FastDDS profile, unless set.
   ``ROS_DOMAIN_ID``: the user's if set; otherwise a random free domain in 1..100 (a domain
   counts as free when no other node shows up on it within 0.7 s). All topics also live in a
   private namespace ``/glare_demo_<pid>``, so even a shared domain does not mix streams.
2. Starts the three nodes (``specular_detector``, ``mask_dilation``, ``inpainting``; or the
   fused ``glare_remover`` with ``--fused``) as separate processes:
   ``python -m glare_inpaint_ros.ros.<module> --ros-args -r __ns:=<ns> --params-file <yaml>``.
3. The sample sequence: generated deterministically at run time by
   :func:`glare_inpaint_ros.synth.make_sample` (seeded scikit-image photos with rendered
   highlights, with the ground-truth mask and the clean image), so nothing is shipped and any
   resolution works. ``min(frames, 20)`` distinct samples are generated and cycled.
4. Waits until the nodes are discovered and one warm-up frame came back processed (up to 20 s;
   a node's first calls can exceed ``sync.timeout_ms``), then publishes the
   sequence on ``<ns>/image`` (bgr8, reliable, header stamp = publish time) at ``--rate`` Hz and
   receives ``<ns>/image_deglared``.
5. Stops the nodes (SIGINT, then terminate, abort, kill) and writes into ``--out``:
   ``before_after.png`` (rows of input | output), ``report.json`` and ``report.md`` (frames in /
   out / unchanged: nothing found or passed through, and the nodes' reasons for passing frames
   through, their ``passthrough.*`` diagnostics counts during the stream; output FPS, end-to-end
   latency p50/p95 = receive time - header stamp in ms, PSNR of the glare region against the
   clean image before and after, in dB) and
   ``logs/<node>.log``.

Exit code: 0 when at least one frame came back, 1 when none did, 2 when the nodes did not start.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from ...ros import env
from ..bench.harness import (
    NodeProcesses, Probe, child_env, counter_delta, ros_node, spinning,
)
from ...stats import percentiles
from ...ros.pipelines import node_processes

#: distinct synthetic samples generated; longer sequences cycle through them.
MAX_DISTINCT_SAMPLES = 20
PROBE_S = 0.7
#: seconds of warm-up allowed for a first *processed* frame (after the first frame back).
WARM_S = 20.0
#: seconds to wait for the nodes' next diagnostics after the stream (their period is 1 s).
DIAG_WAIT_S = 2.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``glare-inpaint demo``."""
    parser.add_argument("--out", type=Path, default=Path("glare_demo_out"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=60,
                        help="frames to publish (default: %(default)s)")
    parser.add_argument("--width", type=int, default=640,
                        help="frame width, px (default: %(default)s)")
    parser.add_argument("--height", type=int, default=480,
                        help="frame height, px (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="publish rate, Hz (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="synthetic sample seed (default: %(default)s)")
    parser.add_argument("--fused", action="store_true",
                        help="run the fused glare_remover node instead of three nodes")
    parser.add_argument("--params-file", type=Path, default=None,
                        help="ROS 2 parameter file for the nodes (default: the installed "
                             "config/glare_inpaint.yaml)")
    parser.add_argument("--startup-timeout", type=float, default=60.0,
                        help="seconds to wait for the nodes to come up (default: %(default)s)")


@dataclass
class StreamResult:
    """What came back from one run."""

    published: int = 0
    publish_times: list[float] = field(default_factory=list)   # perf_counter, s
    recv_times: list[float] = field(default_factory=list)      # wall time, s
    latencies_ms: list[float] = field(default_factory=list)    # receive time - header stamp
    received: set[int] = field(default_factory=set)            # frame numbers
    unchanged: int = 0                                         # outputs identical to the input
    passthrough_reasons: dict[str, int] = field(default_factory=dict)  # the nodes' diagnostics
    psnr_before: list[float] = field(default_factory=list)     # dB, glare region vs clean
    psnr_after: list[float] = field(default_factory=list)
    outputs: dict[int, np.ndarray] = field(default_factory=dict)  # kept for the panel only


def _check_args(args: argparse.Namespace) -> None:
    if args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.width < 8 or args.height < 8:
        raise ValueError(f"--width/--height must be >= 8 px, got {args.width}x{args.height}")
    if not (0.1 <= args.rate <= 1000.0):
        raise ValueError(f"--rate must be in 0.1..1000 Hz, got {args.rate}")
    if args.params_file is not None and not Path(args.params_file).is_file():
        raise ValueError(f"--params-file {args.params_file} does not exist")


def make_sequence(n: int, size: tuple[int, int],
                  seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``min(n, MAX_DISTINCT_SAMPLES)`` synthetic ``(input, gt_mask, clean)`` samples of
    ``size=(w, h)``: glossy coloured objects with white-light highlights (the kind the default
    chain removes)."""
    from ...synth import make_glossy_sample

    return [make_glossy_sample(i, seed, size) for i in range(min(n, MAX_DISTINCT_SAMPLES))]


def _open_context(user_domain: str | None) -> tuple[Any, int]:
    """An rclpy node (on a context of its own) on the user's domain, or on a random free one in
    1..100."""
    import rclpy

    candidates = ([int(user_domain)] if user_domain is not None
                  else random.SystemRandom().sample(range(1, 101), 8))
    for i, domain in enumerate(candidates):
        node = ros_node("glare_demo", namespace=f"/glare_demo_{os.getpid()}", domain_id=domain)
        if user_domain is not None or i == len(candidates) - 1:
            return node, domain
        time.sleep(PROBE_S)
        if len(node.get_node_names_and_namespaces()) <= 1:
            return node, domain
        node.destroy_node()
        rclpy.shutdown(context=node.context)
    raise AssertionError("unreachable")


def _psnr_region(image: np.ndarray, clean: np.ndarray, mask: np.ndarray) -> float:
    from ..eval.metrics import psnr

    return psnr(image, clean, mask)


def stream(probe: Probe, samples: list, frames: int, rate: float, expect_subs: int,
           graph_topics: list[tuple[str, int, int]], procs: NodeProcesses,
           startup_timeout: float) -> StreamResult:
    """Wait for the pipeline, warm it up, publish ``frames`` frames at ``rate`` Hz, collect outputs
    (``probe``: keeping its outputs, its node spun in another thread)."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image

    from ...ros.conversions import image_to_array

    node = probe.node

    def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if cond():
                return True
            if procs.dead():
                return False
            time.sleep(0.05)
        return cond()

    def discovered() -> bool:
        if probe.pub.get_subscription_count() < expect_subs:
            return False
        sub_pubs = node.count_publishers(f"{node.get_namespace()}/image_deglared")
        return sub_pubs >= 1 and all(
            node.count_publishers(t) >= p and node.count_subscribers(t) >= s for t, p,
            s in graph_topics
        )

    if not wait_for(discovered, startup_timeout):
        raise RuntimeError("the pipeline nodes were not discovered"
                           + (f" (exited: {', '.join(procs.dead())})" if procs.dead() else ""))

    def alive() -> None:
        if procs.dead():
            raise TimeoutError("a node exited")

    def processed(i: int, stamp: int) -> bool:
        with probe.lock:
            data = probe.outputs[stamp]
        out = image_to_array(deserialize_message(data, Image))
        image = samples[i % len(samples)][0]
        return out.shape == image.shape and not np.array_equal(out, image)

    # Warm-up: one frame every 0.25 s until one comes back (matching), then until one comes back
    # processed: a node's first calls (allocations, lazy imports) can exceed the inpainting
    # node's sync.timeout_ms, and its frames then pass through, correctly, but not as a demo.
    try:
        probe.wait_ready(startup_timeout, check=alive)
    except TimeoutError:
        raise RuntimeError("no warm-up frame came back from the pipeline") from None
    try:
        probe.wait_ready(WARM_S, check=alive, accept=processed)
    except TimeoutError:
        pass  # the report says how many passed through, and why
    time.sleep(0.3)  # let late warm-up duplicates drain
    before = probe.counters(fresh_within_s=DIAG_WAIT_S)  # warm-up frames counted

    res = StreamResult()
    stamps: list[int] = []
    period = 1.0 / rate
    t0 = time.perf_counter()
    for i in range(frames):
        time.sleep(max(0.0, t0 + i * period - time.perf_counter()))
        res.publish_times.append(time.perf_counter())
        stamps.append(probe.send(i))
        res.published += 1

    def back() -> int:
        with probe.lock:
            return sum(stamp in probe.arrivals for stamp in stamps)

    # Drain: until everything is back or 2 s without a new output.
    last = back()
    while last < frames and wait_for(lambda: back() > last, 2.0):
        last = back()

    for values in counter_delta(before, probe.counters(fresh_within_s=DIAG_WAIT_S)).values():
        for key, grown in values.items():
            if key.startswith("passthrough.") and grown > 0:
                reason = key.split(".", 1)[1]
                res.passthrough_reasons[reason] = (res.passthrough_reasons.get(reason, 0)
                                                   + int(grown))

    distinct = min(frames, len(samples))  # panel: up to 4 different samples
    panel_frames: set[int] = set(
        np.linspace(0, distinct - 1, min(4, distinct)).round().astype(int).tolist())
    with probe.lock:
        arrivals, outputs = dict(probe.arrivals), dict(probe.outputs or {})
    for i, stamp in enumerate(stamps):
        if stamp not in arrivals:
            continue
        res.received.add(i)
        res.recv_times.append(arrivals[stamp] / 1e9)
        res.latencies_ms.append((arrivals[stamp] - stamp) / 1e6)
        out = image_to_array(deserialize_message(outputs[stamp], Image))
        image, mask, clean = samples[i % len(samples)]
        if out.shape != image.shape:
            continue
        res.unchanged += bool(np.array_equal(out, image))
        res.psnr_before.append(_psnr_region(image, clean, mask))
        res.psnr_after.append(_psnr_region(out, clean, mask))
        if i in panel_frames:
            res.outputs[i] = out
    return res


def _percentile(values: list[float], q: float) -> float | None:
    (v,) = percentiles(values, (q,))
    return round(v, 2) if math.isfinite(v) else None


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return round(float(np.mean(finite)), 2) if finite else None


def summarize(res: StreamResult, args: argparse.Namespace, domain: int, namespace: str,
              params: Path, exit_codes: dict[str, int | None]) -> dict[str, Any]:
    """The numbers of ``report.json``."""
    recv = sorted(res.recv_times)
    pubt = res.publish_times
    return {
        "mode": "fused" if args.fused else "three_nodes",
        "size": [args.width, args.height],
        "rate_hz": args.rate,
        "frames_published": res.published,
        "frames_received": len(res.received),
        "frames_lost": res.published - len(res.received),
        "frames_unchanged": res.unchanged,
        "passthrough_reasons": res.passthrough_reasons,
        "publish_fps": round((len(pubt) - 1) / (pubt[-1] - pubt[0]), 2) if len(pubt) > 1
        and pubt[-1] > pubt[0] else None,
        "output_fps": round((len(recv) - 1) / (recv[-1] - recv[0]), 2) if len(recv) > 1
        and recv[-1] > recv[0] else None,
        "latency_ms": {"p50": _percentile(res.latencies_ms, 50),
                       "p95": _percentile(res.latencies_ms, 95),
                       "max": _percentile(res.latencies_ms, 100)},
        "glare_region_psnr_db": {"before": _mean(res.psnr_before), "after": _mean(res.psnr_after)},
        "ros_domain_id": domain,
        "namespace": namespace,
        "params_file": str(params),
        "fastdds_profile": os.environ.get(env.PROFILE_VARS[0])
        or os.environ.get(env.PROFILE_VARS[1]),
        "node_exit_codes": exit_codes,
    }


def write_panel(path: Path, samples: list, outputs: dict[int, np.ndarray],
                panel_width: int = 480) -> None:
    """Rows of ``input | output`` for the frames in ``outputs``, each panel ``panel_width`` px
    wide."""
    rows = []
    for i in sorted(outputs):
        image = samples[i % len(samples)][0]
        pair = []
        for label, im in ((f"input #{i}", image), (f"output #{i}", outputs[i])):
            h = max(1, round(im.shape[0] * panel_width / im.shape[1]))
            im = cv2.resize(im, (panel_width, h), interpolation=cv2.INTER_AREA)
            cv2.putText(im, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3,
                        cv2.LINE_AA)
            cv2.putText(im, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1,
                        cv2.LINE_AA)
            pair.append(im)
        rows.append(np.hstack(pair))
    if rows and not cv2.imwrite(str(path), np.vstack(rows)):
        raise OSError(f"could not write {path}")


def write_markdown(path: Path, report: dict[str, Any]) -> None:
    """A human-readable ``report.md`` of :func:`summarize`'s numbers."""
    lat, ps = report["latency_ms"], report["glare_region_psnr_db"]
    lines = [
        "# glare_inpaint_ros demo",
        "",
        f"Pipeline: **{report['mode']}**, {report['size'][0]}x{report['size'][1]} bgr8 at "
        f"{report['rate_hz']} Hz, "
        f"ROS_DOMAIN_ID {report['ros_domain_id']}, namespace `{report['namespace']}`.",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| frames published / received / lost | {report['frames_published']} / "
        f"{report['frames_received']} / {report['frames_lost']} |",
        f"| frames unchanged (nothing found, or passed through) | {report['frames_unchanged']} |",
        "| pass-through reasons (nodes' diagnostics) | "
        + (", ".join(f"{k}: {v}" for k, v in sorted(report["passthrough_reasons"].items()))
           or "none") + " |",
        f"| publish rate / output rate (FPS) | {report['publish_fps']} / {report['output_fps']} |",
        f"| end-to-end latency p50 / p95 / max (ms) | {lat['p50']} / {lat['p95']} / {lat['max']} "
        "|",
        f"| glare-region PSNR vs clean, before / after (dB) | {ps['before']} / {ps['after']} |",
        "",
        "Latency = receive time - header stamp (stamped at publish). PSNR is measured inside the",
        "ground-truth glare mask against the clean synthetic image (higher is better).",
        "",
        "![before / after](before_after.png)",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    """Run the demo (see the module docstring); returns the exit code."""
    from . import output_folder

    try:
        _check_args(args)
        params = Path(args.params_file) if args.params_file else env.params_path()
        out = output_folder(Path(args.out))
    except (ValueError, FileNotFoundError) as exc:
        print(f"glare-inpaint demo: error: {exc}", file=sys.stderr)
        return 2
    env.apply_defaults()
    user_domain = os.environ.get("ROS_DOMAIN_ID") or None

    node, domain = _open_context(user_domain)
    namespace = node.get_namespace()
    procs = NodeProcesses(node_processes("fused" if args.fused else "three"), namespace,
                          ["--params-file", str(params)], child_env(ROS_DOMAIN_ID=str(domain)),
                          out / "logs")
    res: StreamResult | None = None
    error: str | None = None
    try:
        with spinning(node):
            probe = Probe(node, "image", "image_deglared", keep_outputs=True)
            samples = make_sequence(args.frames, (args.width, args.height),
                                    args.seed)  # while the nodes start
            probe.set_frames([sample[0] for sample in samples], frame_id="glare_demo_camera")
            if args.fused:
                expect_subs, topics = 1, []
            else:
                expect_subs = 2  # specular_detector and inpainting read image
                topics = [(f"{namespace}/glare/mask_raw", 1, 1), (f"{namespace}/glare/mask", 1, 1)]
            res = stream(probe, samples, args.frames, args.rate, expect_subs, topics, procs,
                         args.startup_timeout)
    except RuntimeError as exc:
        error = str(exc)
    finally:
        exit_codes = procs.stop()
    if error is not None or res is None:
        print(f"glare-inpaint demo: {error}; node logs in {out / 'logs'}", file=sys.stderr)
        return 2
    report = summarize(res, args, domain, namespace, params, exit_codes)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_markdown(out / "report.md", report)
    write_panel(out / "before_after.png", samples, res.outputs)
    lat, ps = report["latency_ms"], report["glare_region_psnr_db"]
    print(f"{report['mode']}: {report['frames_received']}/{report['frames_published']} frames "
          "back "
          f"({report['frames_unchanged']} unchanged), {report['output_fps']} FPS, "
          f"latency p50 {lat['p50']} ms p95 {lat['p95']} ms, glare-region PSNR {ps['before']} -> "
          f"{ps['after']} dB; "
          f"wrote {out}/report.md")
    return 0 if res.received else 1
