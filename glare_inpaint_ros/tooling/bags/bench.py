"""Bag tool overhead benchmark:
``python -m glare_inpaint_ros.tooling.bags.bench [--frames 100] [--size 1280 720]``.

Writes a sample bag per storage into a temporary folder, then, in one process and on the same
frames, times (1) :meth:`GlareRemover.process` alone on the decoded BGR frames and (2) the whole
``glare-inpaint bag`` run (read, decode, process, encode, write), and prints frames/s of each and
their ratio (the bag I/O overhead). Use ratios: absolute numbers depend on the machine's load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from .io import STORAGES, BagReader, image_from_cdr
from .process import process_bag
from .sample import IMAGE_TOPIC, write_sample_bag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", type=int, nargs=2, default=(1280, 720), metavar=("W", "H"))
    parser.add_argument("--storage", choices=STORAGES, nargs="+", default=list(STORAGES))
    args = parser.parse_args()
    from ...core.pipeline import GlareRemover
    from ...encodings import to_bgr

    with tempfile.TemporaryDirectory(prefix="glare_bag_bench_") as tmp:
        for storage in args.storage:
            src = write_sample_bag(Path(tmp) / f"in_{storage}", frames=args.frames,
                                   size=tuple(args.size),
                                   storage=storage)
            with BagReader(src) as reader:
                frames = [to_bgr(*image_from_cdr(m.msgtype, m.data)[1:])
                          for m in reader.messages([IMAGE_TOPIC])]
            remover = GlareRemover()
            t0 = time.perf_counter()
            for bgr in frames:
                remover.process(bgr)
            core_fps = len(frames) / (time.perf_counter() - t0)
            del frames
            summary = process_bag(src, Path(tmp) / f"out_{storage}", [IMAGE_TOPIC], progress=False)
            print(f"{storage}: {args.frames} frames {args.size[0]}x{args.size[1]}: core "
                  f"{core_fps:.1f} frames/s, "
                  f"bag tool {summary.frames_per_s:.1f} frames/s (ratio "
                  f"{summary.frames_per_s / core_fps:.2f}; "
                  f"in-run pipeline share {summary.pipeline_ms / 1e3 / summary.elapsed_s:.0%} of "
                  "the bag tool's time)")


if __name__ == "__main__":
    main()
