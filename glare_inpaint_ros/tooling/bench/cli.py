"""``glare-inpaint bench``: measure every stage, the naive baseline, the ROS path and memory in one
run.

    glare-inpaint bench                      # everything (takes ~15 min on 2 cores)
    glare-inpaint bench --quick              # a few frames per cell, short ROS phases (~2 min)
    glare-inpaint bench --sections core,naive --out /tmp/bench
    glare-inpaint bench --sections memory    # the 5,000-frame RSS run only

Prints the table and writes ``OUT/bench.json`` and ``OUT/bench.png``. Timings depend on the
machine and its load: compare ratios measured in one run (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

SECTIONS = ("core", "naive", "ros", "memory")


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        out = [tuple(int(v) for v in item.lower().split("x")) for item in text.split(",")
               if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must look like 640x480,1280x720, got {text!r}") from None
    if not out or any(len(s) != 2 or min(s) < 8 for s in out):
        raise argparse.ArgumentTypeError(
            f"sizes must look like 640x480,1280x720 (each >= 8 px), got {text!r}")
    return out  # type: ignore[return-value]


def _fractions(text: str) -> list[float]:
    try:
        out = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"coverages must be fractions like 0.005,0.02, got {text!r}") from None
    if not out or any(not 0.0 < v <= 0.5 for v in out):
        raise argparse.ArgumentTypeError(f"coverages must be fractions in (0, 0.5], got {text!r}")
    return out


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint bench``."""
    parser.add_argument("--quick", action="store_true",
                        help="few frames per cell, short ROS phases, 300-frame memory run "
                             "(development)")
    parser.add_argument("--out", type=Path, default=Path("bench_out"),
                        help="output folder (default bench_out)")
    parser.add_argument("--sections", type=_names, default=list(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="core section sizes, e.g. 640x480,1280x720")
    parser.add_argument("--coverages", type=_fractions, default=None,
                        help="core section glare coverages, e.g. 0.005,0.02,0.1")
    parser.add_argument("--detectors", type=_names, default=None,
                        help="detectors to time (default: all registered)")
    parser.add_argument("--backends", type=_names, default=None,
                        help="inpainting backends (default telea,ns,fast,learned)")
    parser.add_argument("--frames", type=int, default=None,
                        help="timed frames per core cell (default 30, quick 5)")
    parser.add_argument("--frame-set", type=int, default=None,
                        help="distinct frames rendered per size and coverage (default 3, quick 1)")
    parser.add_argument("--pipelines", type=_names, default=None,
                        help="ROS pipelines: "
                             "relay,three,composed,fused,fused_detector,same_process,"
                             "embed_detector,embed (default all)")
    parser.add_argument("--ros-sizes", type=_sizes, default=None,
                        help="ROS section sizes (default 1280x720,1920x1080)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="measured seconds per ROS phase (default 10, quick 3)")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="camera rate of the ROS rate phase, Hz (default 30)")
    parser.add_argument("--window", type=int, default=2,
                        help="frames in flight in the flat-out phase (default 2)")
    parser.add_argument("--memory-frames", type=int, default=None,
                        help="frames of the memory run (default 5000, quick 300)")
    parser.add_argument("--threads", type=int, default=None,
                        help="cv2.setNumThreads for the core and naive sections (default: "
                             "OpenCV's, one per core)")
    parser.add_argument("--cv-threads", type=int, default=None,
                        help="OpenCV threads of each node process (the opencv_threads node "
                             "parameter; default: the nodes' own, 1)")
    parser.add_argument("--no-plot", action="store_true", help="skip bench.png")


def _validate(args: argparse.Namespace) -> None:
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad:
        raise ValueError(f"unknown section(s) {', '.join(bad)}; choose from {', '.join(SECTIONS)}")
    from .ros import PIPELINES

    bad = [p for p in (args.pipelines or []) if p not in PIPELINES]
    if bad:
        raise ValueError(
            f"unknown pipeline(s) {', '.join(bad)}; choose from {', '.join(PIPELINES)}")
    for name in ("frames", "frame_set", "memory_frames", "window"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.seconds is not None and args.seconds <= 0:
        raise ValueError(f"--seconds must be > 0, got {args.seconds}")


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen sections; returns the results dict (also what ``bench.json`` holds)."""
    import cv2

    from . import core as core_mod
    from .frames import FrameCache
    from .report import evaluate_bars, machine_info

    _validate(args)
    quick = args.quick
    if args.threads is not None:
        cv2.setNumThreads(args.threads)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    cache = FrameCache(args.frame_set or (1 if quick else 3))
    results: dict[str, Any] = {"meta": {
        "argv": sys.argv[1:],
        "date": dt.datetime.now().isoformat(timespec="seconds"), "quick": quick,
        "machine": machine_info(),
        "cv_threads": cv2.getNumThreads(), "sections": args.sections,
        "frames_per_set": cache.count,
    }}
    frames = args.frames or (5 if quick else 30)
    if "core" in args.sections:
        results["core"] = core_mod.run_core(
            cache, sizes=args.sizes or core_mod.SIZES,
            coverages=args.coverages or core_mod.COVERAGES,
            backends=args.backends or core_mod.BACKENDS, detectors=args.detectors, frames=frames,
            max_cell_s=0.5 if quick else 3.0, progress=say)
    if "naive" in args.sections:
        say("naive baseline vs default pipeline")
        results["naive"] = core_mod.run_naive(cache, frames=max(frames, 10 if quick else 50))
    if "ros" in args.sections or "memory" in args.sections:
        from .ros import PIPELINES, ROS_SIZES, run_memory, run_ros

        if "ros" in args.sections:
            results["ros"] = run_ros(cache, pipelines=args.pipelines or tuple(PIPELINES),
                                     sizes=args.ros_sizes or ROS_SIZES,
                                     seconds=args.seconds or (3.0 if quick else 10.0),
                                     warmup_s=1.0 if quick else 2.0,
                                     rate_hz=args.rate, window=args.window,
                                     cv_threads=args.cv_threads, progress=say)
        if "memory" in args.sections:
            mem_pipes = ([p for p in (args.pipelines or ("fused", "three")) if p != "relay"]
                         or ["fused"])
            results["memory"] = run_memory(cache, pipelines=mem_pipes,
                                           frames=args.memory_frames or (300 if quick else 5000),
                                           window=args.window, cv_threads=args.cv_threads,
                                           progress=say)
    results["bars"] = evaluate_bars(results)
    return results


def run(args: argparse.Namespace) -> int:
    """Run, print the table, write ``bench.json`` / ``bench.png``; exit code 0 (2 on bad
    arguments)."""
    from .report import format_table, plot, write_json

    from ..cli import output_folder

    try:
        output_folder(args.out)  # before the benchmark, not after
        results = run_bench(args)
    except ValueError as exc:
        print(f"glare-inpaint bench: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    print(format_table(results))
    path = write_json(results, args.out / "bench.json")
    print(f"\nwrote {path}")
    if not args.no_plot:
        png = plot(results, args.out / "bench.png")
        if png:
            print(f"wrote {png}")
    return 0
