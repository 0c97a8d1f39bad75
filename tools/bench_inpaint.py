#!/usr/bin/env python3
"""Scratch benchmark of the inpainting backends: speed (ROI vs full frame) and fill quality.

Speed: 1280x720 BGR frames (scikit-image ``astronaut`` resized), glare-like masks of 8-15
ellipses covering 0.5 %, 2 % and 10 % of the frame; median and p95 wall time per
``Inpainter.inpaint`` call in ms, with ``roi`` on and off.

Quality: the same kind of masks (2 % and 5 %) over scikit-image photos (astronaut, coffee,
chelsea, rocket); masked-region PSNR (dB) of each backend's fill against the clean photo.

Usage (from the repository root)::

    .venv/bin/python tools/bench_inpaint.py                 # both tables, 100 frames per cell
    .venv/bin/python tools/bench_inpaint.py --threads 1 --clock cpu   # stable on a busy machine
    .venv/bin/python tools/bench_inpaint.py --frames 30 --backends fast,telea --no-quality
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glare_inpaint_ros.core.inpainting import INPAINTERS, Inpainter  # noqa: E402

FRAME_SIZE = (1280, 720)  # W x H, px
COVERAGES = (0.005, 0.02, 0.10)  # fractions 0..1 of the frame


def blob_mask(shape: tuple[int, int], coverage: float, rng: np.random.Generator,
              n_blobs: tuple[int, int] = (8, 15)) -> np.ndarray:
    """``HxW`` uint8 mask (255 = glare) of ``n_blobs`` random rotated filled ellipses whose union
    covers about ``coverage`` (fraction 0..1) of the frame (within ~10 %)."""
    h, w = shape
    n = int(rng.integers(n_blobs[0], n_blobs[1] + 1))
    centres = np.stack([rng.uniform(0, w, n), rng.uniform(0, h, n)], axis=1)
    aspect = rng.uniform(1.0, 3.0, n)  # major / minor axis
    angles = rng.uniform(0, 180, n)
    rel = rng.uniform(0.5, 1.5, n)  # relative size of each blob
    target = coverage * h * w
    scale = np.sqrt(target / np.sum(np.pi * rel**2 * aspect))  # minor semi-axis per unit of rel
    mask = np.zeros((h, w), np.uint8)
    for _ in range(8):  # overlaps and clipping at the border shrink the union: rescale
        mask.fill(0)
        for (cx, cy), a, ang, r in zip(centres, aspect, angles, rel):
            minor = max(1, int(round(r * scale)))
            cv2.ellipse(mask, (int(cx), int(cy)), (int(round(minor * a)), minor), float(ang), 0,
                        360, 255, -1)
        got = cv2.countNonZero(mask)
        if abs(got - target) <= 0.05 * target:
            break
        scale *= np.sqrt(target / max(got, 1))
    return mask


def frame_bgr(size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A natural BGR uint8 photo (scikit-image ``astronaut``) resized to ``size`` (W, H)."""
    from skimage import data

    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), size,
                      interpolation=cv2.INTER_CUBIC)


def time_inpainter(inp: Inpainter, image: np.ndarray, masks: list[np.ndarray], frames: int,
                   clock: str = "wall") -> np.ndarray:
    """Times (ms) of ``frames`` calls of ``inp.inpaint``, cycling through ``masks``.

    ``clock``: ``"wall"`` (``perf_counter``) or ``"cpu"`` (this thread's CPU time: stable on a
    loaded machine, and equal to wall time on an idle one when OpenCV runs single-threaded).
    """
    timer = time.perf_counter if clock == "wall" else time.thread_time
    inp.inpaint(image, masks[0])  # warm-up
    times = np.empty(frames)
    for i in range(frames):
        m = masks[i % len(masks)]
        t0 = timer()
        inp.inpaint(image, m)
        times[i] = (timer() - t0) * 1e3
    return times


def speed_table(backends: list[str], frames: int, seed: int = 0,
                clock: str = "wall") -> list[dict]:
    """Median/p95 ms per backend x coverage x ROI on 1280x720 BGR frames."""
    image = frame_bgr()
    rows = []
    for cov in COVERAGES:
        rng = np.random.default_rng(seed)
        masks = [blob_mask(image.shape[:2], cov, rng) for _ in range(10)]
        real_cov = float(np.mean([cv2.countNonZero(m) / m.size for m in masks]))
        for name in backends:
            res = {}
            for roi in (True, False):
                t = time_inpainter(INPAINTERS.get(name)(roi=roi), image, masks, frames, clock)
                res[roi] = (float(np.median(t)), float(np.percentile(t, 95)))
            rows.append({"backend": name, "coverage": real_cov, "roi": res[True],
                         "full": res[False],
                         "speedup": res[False][0] / res[True][0]})
            r = rows[-1]
            print(f"{name:6s} {100 * real_cov:5.2f}%  roi {r['roi'][0]:8.2f} / "
                  f"{r['roi'][1]:8.2f}   "
                  f"full {r['full'][0]:8.2f} / {r['full'][1]:8.2f}   x{r['speedup']:.1f}",
                  flush=True)
    return rows


def quality_table(backends: list[str], seed: int = 1) -> dict[str, dict[str, float]]:
    """Masked-region PSNR (dB, mean over photos and masks) per backend and coverage."""
    from skimage import data

    from glare_inpaint_ros.tooling.eval.metrics import psnr

    photos = {n: cv2.cvtColor(getattr(data, n)(), cv2.COLOR_RGB2BGR)
              for n in ("astronaut", "coffee", "chelsea", "rocket")}
    out: dict[str, dict[str, float]] = {}
    for cov in (0.02, 0.05):
        rng = np.random.default_rng(seed)
        cases = [(img, blob_mask(img.shape[:2], cov, rng)) for img in photos.values()
                 for _ in range(3)]
        for name in backends:
            inp = INPAINTERS.get(name)()
            scores = [psnr(inp.inpaint(img, m), img, m) for img, m in cases]
            out.setdefault(name, {})[f"{cov:.0%}"] = float(np.mean(scores))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100, help="timed frames per cell (default 100)")
    ap.add_argument("--backends", default="telea,ns,fast", help="comma-separated backend names")
    ap.add_argument("--threads", type=int, default=-1,
                    help="cv2.setNumThreads value (default: leave OpenCV's default)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time, or this thread's CPU time (use with --threads 1 on a busy "
                         "machine)")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed table")
    ap.add_argument("--no-quality", action="store_true", help="skip the quality table")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.threads >= 0:
        cv2.setNumThreads(args.threads)
    if not args.no_speed:
        print(f"speed: {FRAME_SIZE[0]}x{FRAME_SIZE[1]} BGR uint8, {args.frames} frames/cell, "
              f"{args.clock} "
              f"clock, cv2 threads {cv2.getNumThreads()}; ms median / p95 (roi on, roi off), "
              "speed-up = full/roi median")
        speed_table(backends, args.frames, clock=args.clock)
    if not args.no_quality:
        print(
            "\nquality: masked-region PSNR dB vs clean photo (astronaut, coffee, chelsea, rocket; "
            "3 masks each)")
        for name, by_cov in quality_table(backends).items():
            print(f"{name:6s} " + "  ".join(f"{k}: {v:6.2f}" for k, v in by_cov.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
