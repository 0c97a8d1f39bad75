"""ROS sections of the benchmark: the nodes over DDS as separate processes, CPU and memory.

Each pipeline is started as child processes (``sys.executable -m <module> --ros-args ...``) in a
private namespace, on a fresh ``ROS_DOMAIN_ID`` with localhost discovery and the project's
FastDDS profile (``config/fastdds_profile.xml``, forced), with reliable input QoS on the nodes
and on the probe. The probe (:mod:`.probe`, its own process, running :class:`.harness.Probe`)
publishes the benchmark frames and times the outputs. Pipelines (:data:`PIPELINES`):

* ``relay``: :mod:`.relay`, republishes each image unchanged: the transport floor;
* ``three``: specular_detector, mask_dilation, inpainting as three processes;
* ``composed``: ``glare_pipeline`` (the three nodes in one process);
* ``fused``: ``glare_remover`` (one node);
* ``fused_detector``: ``glare_remover`` and a detector node (:mod:`.detector`) as two processes;
* ``same_process``: ``glare_pipeline --pipeline fused --add-node ...``: the fused node and the
  detector node in one process (:func:`glare_inpaint_ros.ros.compose.add_glare_nodes`);
* ``embed_detector``: the detector node alone, removing glare in its own callback
  (:class:`glare_inpaint_ros.ros.embed.GlareFilter`);
* ``embed``: the same without the blob detection (publishes an empty PoseArray with the image's
  header): the embedded glare removal's own cost, to compare with ``fused``.

These four are timed at the detector's ``detections`` (a PoseArray with the image's header), the
others at ``image_deglared``.

``ros`` section, per pipeline and resolution: a 30 Hz phase (latency p50/p95/p99, lost frames)
and a flat-out phase (sustained FPS), with CPU use of each process over the measured window
(``/proc/<pid>/stat`` user + system time / wall time, 100 % = one core).
``memory`` section: RSS (``/proc/<pid>/status`` VmRSS, MiB) of every node process at output
counts 100 .. ``frames`` of a flat-out run; growth = last - first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ...ros.pipelines import COMPOSED, EXECUTABLES, node_processes
from .frames import FrameCache
from .harness import NodeProcesses, child_env, cpu_seconds, rss_mib

_COMPOSED = EXECUTABLES[COMPOSED].module_path
_DETECTOR = "glare_inpaint_ros.tooling.bench.detector"
#: processes of each pipeline, one ``"module [arguments before --ros-args]"`` string per process.
PIPELINES: dict[str, tuple[str, ...]] = {
    "relay": ("glare_inpaint_ros.tooling.bench.relay",),
    "three": tuple(node_processes("three").values()),
    "composed": (_COMPOSED,),
    "fused": tuple(node_processes("fused").values()),
    # Composition with a detector (glare_inpaint_ros.tooling.bench.detector stands in for the
    # user's node):
    "fused_detector": (*node_processes("fused").values(), _DETECTOR),
    "same_process": (f"{_COMPOSED} --pipeline fused --add-node {_DETECTOR}:BlobDetector",),
    "embed_detector": (f"{_DETECTOR} --embed",),
    "embed": (f"{_DETECTOR} --embed-only",),
}
#: the topic the probe times, per pipeline (default ``image_deglared``): the detector's output
#: (``detections``, a PoseArray with the image's header) where a detector is part of the pipeline.
OUT_TOPICS: dict[str, str] = dict.fromkeys(
    ("fused_detector", "same_process", "embed_detector", "embed"), "detections")
#: node parameters of every run: reliable inputs with a keep-last queue of 5 (the no-loss
#: configuration: a scheduling hiccup of up to 5 frames is absorbed instead of dropping the oldest
#: frame, which the default depth 1 does), a sync timeout far above any processing time (so the
#: inpainting node never passes a frame through for a late mask), and diagnostics twice a second
#: (the probe reads the pass-through / drop counters from them).
NODE_PARAMS: tuple[str, ...] = ("qos.subscription.reliability:=reliable",
                                "qos.subscription.depth:=5",
                                "sync.timeout_ms:=2000.0", "diagnostics.period_s:=0.5")
#: resolutions of the ros section, (width, height) px.
ROS_SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (1920, 1080))
#: nominal glare coverage of the frames sent to the nodes, fraction 0..1.
ROS_COVERAGE = 0.02


def bench_env(domain_id: int | None = None) -> dict[str, str]:
    """Environment of every child: fresh domain, localhost discovery, the project's FastDDS
    profile.

    Args:
        domain_id: ``ROS_DOMAIN_ID`` (default: derived from the pid, 1..100, offset from the
            test suite's ``1 + pid % 100``; the private namespace keeps runs apart anyway).
    """
    from ...ros.env import DISCOVERY_VAR, PROFILE_VARS, profile_path

    env = child_env()
    env["ROS_DOMAIN_ID"] = str(domain_id if domain_id is not None
                               else 1 + (os.getpid() + 50) % 100)
    env[DISCOVERY_VAR] = "LOCALHOST"
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    for var in PROFILE_VARS:
        env.pop(var, None)
    env[PROFILE_VARS[0]] = str(profile_path())
    return env


def start_pipeline(name: str, namespace: str, env: dict[str, str], log_dir: Path,
                   params: Sequence[str] = NODE_PARAMS) -> NodeProcesses:
    """The processes of :data:`PIPELINES` ``[name]``, each named after its module's last part (a
    second process of the same module gets a suffix), logged to
    ``log_dir/<name>_<process>.log``."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(PIPELINES)}")
    commands = {f"{command.split()[0].rsplit('.', 1)[1]}{i if i else ''}": command
                for i, command in enumerate(PIPELINES[name])}
    ros_args = [arg for p in params for arg in ("-p", p)]
    return NodeProcesses(commands, namespace, ros_args, env, log_dir, log_prefix=f"{name}_")


def run_probe(name: str, pipeline: NodeProcesses, namespace: str, phases: list[dict[str, Any]],
              env: dict[str, str],
              work: Path, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Run the probe process through ``phases`` against pipeline ``name``; attach CPU use (and RSS
    at marks) to each result."""
    out_topic = OUT_TOPICS.get(name, "image_deglared")
    cfg = {"namespace": namespace, "in_topic": "image", "out_topic": out_topic, "reliable": True,
           "out_type": "geometry_msgs/msg/PoseArray" if out_topic == "detections"
           else "sensor_msgs/msg/Image",
           "phases": phases, "ready_timeout_s": 90.0}
    cfg_path = work / f"probe_{name}.json"
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    probe = subprocess.Popen([sys.executable, "-m", "glare_inpaint_ros.tooling.bench.probe",
                              str(cfg_path)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pids = {**pipeline.pids, "probe": probe.pid}
    results: list[dict[str, Any]] = []
    cpu0: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0 = 0.0
    rss: list[dict[str, Any]] = []
    other: list[str] = []
    try:
        assert probe.stdout is not None
        for line in probe.stdout:
            if not line.startswith("BENCH "):
                other.append(line.rstrip())
                continue
            ev = json.loads(line[6:])
            kind = ev["event"]
            if kind == "start":
                t0, cpu0, rss = time.monotonic(), {k: cpu_seconds(p) for k, p in pids.items()}, []
            elif kind == "end":
                wall = time.monotonic() - t0
                cpu = {k: 100.0 * (cpu_seconds(p) - cpu0[k]) / wall for k, p in pids.items()}
            elif kind == "mark":
                rss.append(
                    {"outputs": ev["count"],
                     "rss_mib": {k: rss_mib(p) for k, p in pipeline.pids.items()}})
            elif kind == "ready":
                say(f"  {name}: up at {ev['width']}x{ev['height']} after {ev['seconds']:.1f} s")
            elif kind == "result":
                r = ev["result"]
                r["cpu_percent"] = cpu
                # CPU time the pipeline's processes spent per delivered frame: less sensitive to
                # other load on the machine than FPS or latency (which depend on the CPU share
                # obtained).
                node_cpu = sum(v for k, v in cpu.items() if k != "probe")
                r["cpu_ms_per_frame"] = node_cpu * 10.0 / r["fps"] if r["fps"] else float("nan")
                if rss:
                    r["rss"] = rss
                results.append(r)
                lat = r["latency"]
                say(f"  {name} {r['name']}: {r['fps']:.1f} fps, latency p50 {lat['p50_ms']:.1f} "
                    f"p95 {lat['p95_ms']:.1f} ms, lost {r['lost']}/{r['sent']}")
            elif kind == "error":
                pipeline.check_alive()
                raise RuntimeError(f"probe ({name}): {ev['message']}")
        if probe.wait(timeout=30) != 0 and not results:
            raise RuntimeError(f"probe ({name}) failed:\n" + "\n".join(other[-30:]))
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()
    return results


def _save_frames(cache: FrameCache, size: tuple[int, int], coverage: float, work: Path) -> str:
    path = work / f"frames_{size[0]}x{size[1]}.npy"
    if not path.exists():
        np.save(path, np.stack([f.image for f in cache.get(size, coverage).frames]))
    return str(path)


def node_params(cv_threads: int | None) -> tuple[str, ...]:
    """``-p`` values for every node: :data:`NODE_PARAMS` plus ``opencv_threads`` when given
    (None = the nodes' default, 1; 0 = OpenCV's default, one per core)."""
    return (NODE_PARAMS
            + ((f"opencv_threads:={int(cv_threads)}",) if cv_threads is not None else ()))


def _run(pipelines: Iterable[str], phases_for: Callable[[Path], list[dict[str, Any]]],
         cv_threads: int | None, say: Callable[[str], None]) -> dict[str, Any]:
    env = bench_env()
    out: dict[str, Any] = {"env": {k: env[k]
                                   for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE",
                                             "RMW_IMPLEMENTATION",
                                             "FASTRTPS_DEFAULT_PROFILES_FILE")},
                           "cv_threads": cv_threads, "node_params": list(node_params(cv_threads)),
                           "pipelines": {}}
    with tempfile.TemporaryDirectory(prefix="glare_bench_") as tmp:
        work = Path(tmp)
        phases = phases_for(work)
        for name in pipelines:
            namespace = f"/glare_bench_{os.getpid()}_{name}"
            say(f"ros: starting {name} ({', '.join(PIPELINES[name])})")
            pipe = start_pipeline(name, namespace, env, work, node_params(cv_threads))
            try:
                results = run_probe(name, pipe, namespace, phases, env, work, say)
            finally:
                codes = pipe.stop()
            logs = {log.stem: log.read_text(encoding="utf-8", errors="replace")
                    for log in pipe.logs.values()}
            bad = {k: v[-1500:] for k, v in logs.items() if "Traceback" in v}
            out["pipelines"][name] = {"processes": list(pipe.pids),
                                      "exit_codes": list(codes.values()), "phases": results,
                                      **({"tracebacks": bad} if bad else {})}
    return out


def run_ros(cache: FrameCache, pipelines: Sequence[str] = tuple(PIPELINES),
            sizes: Sequence[tuple[int, int]] = ROS_SIZES,
            seconds: float = 10.0, warmup_s: float = 2.0, rate_hz: float = 30.0, window: int = 2,
            coverage: float = ROS_COVERAGE, cv_threads: int | None = None,
            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The ``ros`` section: per pipeline and size, a ``rate_hz`` phase and a flat-out phase.

    Returns ``{"env", "cv_threads", "node_params", "pipelines": {name: {"processes", "exit_codes",
    "phases": [probe results + "cpu_percent"]}}}``; see :meth:`.harness.Probe.run_phase` for the
    phase fields.
    """
    say = progress or (lambda _m: None)

    def phases_for(work: Path) -> list[dict[str, Any]]:
        phases = []
        for w, h in sizes:
            frames = _save_frames(cache, (w, h), coverage, work)
            common = {"frames_file": frames, "seconds": seconds, "warmup_s": warmup_s}
            phases.append(
                {**common, "name": f"{w}x{h}@{rate_hz:g}Hz", "mode": "rate", "rate_hz": rate_hz})
            phases.append({**common, "name": f"{w}x{h}@flat", "mode": "flat", "window": window})
        return phases

    out = _run(pipelines, phases_for, cv_threads, say)
    out.update(seconds=seconds, warmup_s=warmup_s, rate_hz=rate_hz, window=window,
               coverage=coverage)
    return out


def run_memory(cache: FrameCache, pipelines: Sequence[str] = ("fused", "three"),
               size: tuple[int, int] = (1280, 720),
               frames: int = 5000, first: int = 100, window: int = 2,
               coverage: float = ROS_COVERAGE,
               cv_threads: int | None = None,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The ``memory`` section: RSS of every node process after ``first`` .. ``frames`` outputs
    (flat out).

    Adds to each pipeline ``"rss_growth_mib"``: {process: RSS at ``frames`` - RSS at ``first``}.
    """
    if frames <= first:
        raise ValueError(f"frames ({frames}) must exceed first ({first})")
    say = progress or (lambda _m: None)
    marks = sorted({first, *range(1000, frames, 1000), frames})

    def phases_for(work: Path) -> list[dict[str, Any]]:
        return [{"frames_file": _save_frames(cache, size, coverage, work),
                 "name": f"{size[0]}x{size[1]}@flat x{frames}",
                 "mode": "flat", "window": window, "frames": frames, "marks": marks,
                 "warmup_s": 1.0,
                 "timeout_s": max(600.0, frames / 5.0)}]

    out = _run(pipelines, phases_for, cv_threads, say)
    for res in out["pipelines"].values():
        samples = res["phases"][0].get("rss", []) if res["phases"] else []
        if len(samples) >= 2:
            a, b = samples[0]["rss_mib"], samples[-1]["rss_mib"]
            res["rss_growth_mib"] = {k: b[k] - a[k] for k in a}
            res["rss_first_last"] = [samples[0]["outputs"], samples[-1]["outputs"]]
    out.update(frames=frames, first=first, width=size[0], height=size[1])
    return out
