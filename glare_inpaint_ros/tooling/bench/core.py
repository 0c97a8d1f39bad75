"""Core sections of the benchmark: per-stage timings and the naive baseline (no ROS).

``core``: for every resolution and mask coverage, on the same frames (:mod:`.frames`):

* ``detect``: every registered detector (``GlareRemover.detect`` path: ``Detector.detect``);
* ``refine``: :class:`~glare_inpaint_ros.core.masks.MaskRefiner` (speck removal, hole filling,
  dilation) with the default ``mask.*`` parameters, on the rendered GT mask;
* ``inpaint``: every chosen backend on the refined GT mask (so all backends fill the same
  pixels, independent of detector quality);
* ``pipeline``: :meth:`GlareRemover.process` with the default configuration (its own detector
  output), with its per-stage split.

``naive``: the baseline a user writes in ten minutes, :func:`naive_remove_glare` (HSV threshold,
``cv2.dilate``, ``cv2.inpaint`` Telea on the full frame), against the default pipeline, timed
alternately frame by frame so machine load hits both alike.

Every cell reports ``median_ms``, ``p95_ms`` and ``n`` (timed calls, after one warm-up call).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import cv2
import numpy as np

from ...core.detectors import DETECTORS

from ...core.masks import coverage as mask_coverage
from ...core.pipeline import GlareRemover, build_detector, build_inpainter, load_config
from ...stats import percentiles
from .frames import FrameCache, FrameSet

#: Resolutions of the core section, (width, height) px.
SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
#: Nominal glare coverages of the core section, fractions 0..1.
COVERAGES: tuple[float, ...] = (0.005, 0.02, 0.10)
#: Inpainting backends timed by default (``learned`` is skipped with a reason if its model is
#: absent).
BACKENDS: tuple[str, ...] = ("telea", "ns", "fast", "learned")
#: Size and coverage of the naive-vs-default comparison.
NAIVE_SIZE: tuple[int, int] = (1280, 720)
NAIVE_COVERAGE: float = 0.02


def summarize(values_ms: Sequence[float]) -> dict[str, float | int]:
    """``{"median_ms", "p95_ms", "n"}`` of a list of durations in ms (NaN when empty)."""
    p50, p95 = percentiles(values_ms)
    return {"median_ms": p50, "p95_ms": p95, "n": len(values_ms)}


def time_calls(fn: Callable[[Any], Any], inputs: Sequence[Any], frames: int, max_s: float,
               min_frames: int = 3) -> list[float]:
    """Wall times (ms) of ``fn(inputs[i % len(inputs)])`` after one untimed warm-up call.

    Stops after ``frames`` calls, or earlier once ``max_s`` seconds were spent and at least
    ``min_frames`` calls were timed (slow cells such as Navier-Stokes at 1080p).
    """
    if frames < 1 or not inputs:
        raise ValueError(
            f"need frames >= 1 and at least one input, got frames={frames}, {len(inputs)} inputs")
    fn(inputs[0])
    times: list[float] = []
    start = time.perf_counter()
    for i in range(frames):
        t0 = time.perf_counter()
        fn(inputs[i % len(inputs)])
        t1 = time.perf_counter()
        times.append((t1 - t0) * 1e3)
        if t1 - start > max_s and len(times) >= min_frames:
            break
    return times


def naive_remove_glare(bgr: np.ndarray, value_min: int = 230, saturation_max: int = 100,
                       kernel_size: int = 7, radius: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """The ten-minute baseline: HSV threshold -> ``cv2.dilate`` -> full-frame Telea.

    Same thresholds (V >= ``value_min``, S <= ``saturation_max``, 8-bit levels), dilation
    (``kernel_size`` px ellipse) and Telea radius (px) as the pipeline's defaults, so both find
    and fill about the same pixels.

    Returns:
        ``(cleaned BGR image, dilated mask)`` (mask uint8, 255 = glare).
    """
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    mask = cv2.inRange(hsv, (0, 0, value_min), (180, saturation_max, 255))
    mask = cv2.dilate(mask,
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel_size, kernel_size)))
    return cv2.inpaint(bgr, mask, radius, cv2.INPAINT_TELEA), mask


def _cell(section: str, name: str, fs: FrameSet, times: list[float],
          **extra: Any) -> dict[str, Any]:
    return {"stage": section, "name": name, "width": fs.size[0], "height": fs.size[1],
            "coverage": fs.coverage, **summarize(times), **extra}


def run_core(cache: FrameCache, sizes: Iterable[tuple[int, int]] = SIZES,
             coverages: Iterable[float] = COVERAGES, backends: Iterable[str] = BACKENDS,
             detectors: Iterable[str] | None = None, frames: int = 30, max_cell_s: float = 3.0,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Time every stage; returns ``{"rows": [...], "skipped": {name: reason}, "frames": ...}``.

    Each row: ``stage`` (detect / refine / inpaint / pipeline), ``name`` (detector, backend,
    ``default``), ``width``, ``height``, ``coverage`` (nominal), ``mask_coverage`` (the mask the
    stage worked on or produced), ``median_ms``, ``p95_ms``, ``n``; pipeline rows add the
    median split per stage (``detect_ms``, ``refine_ms``, ``inpaint_ms``).
    """
    say = progress or (lambda _msg: None)
    det_names = list(detectors) if detectors is not None else DETECTORS.names()
    dets, inps, skipped = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="glare_bench_static_") as tmp:
        # The static detector needs a mask file: a fixed 640x480 mask of two blobs (a lamp's
        # reflection on the housing, say), resized by the detector to each frame.
        static = np.zeros((480, 640), np.uint8)
        cv2.circle(static, (120, 90), 25, 255, -1)
        cv2.ellipse(static, (500, 400), (60, 20), 15, 0, 360, 255, -1)
        static_path = str(Path(tmp) / "static_mask.png")
        cv2.imwrite(static_path, static)
        base = (load_config({"detector.static.path": static_path}) if "static" in DETECTORS
                else load_config())
        for name in det_names:
            try:
                dets[name] = build_detector({**base, "detector.type": name})
            except (ValueError, ImportError, OSError) as exc:
                skipped[f"detector:{name}"] = str(exc)
    for name in backends:
        try:
            inps[name] = build_inpainter(load_config({"inpainting.backend": name}))
        except (ValueError, ImportError, OSError, RuntimeError) as exc:
            skipped[f"inpainting:{name}"] = str(exc)
    rows: list[dict[str, Any]] = []
    remover = GlareRemover()
    for size in sizes:
        for cov in coverages:
            fs = cache.get(size, cov)
            images = [f.image for f in fs.frames]
            refined = [remover.refine(f.gt_mask).mask for f in fs.frames]
            refined_cov = float(np.mean([mask_coverage(m) for m in refined]))
            say(f"core {size[0]}x{size[1]} coverage {cov:.1%} (rendered {fs.gt_coverage:.2%}, "
                f"refined {refined_cov:.2%})")
            for name, det in dets.items():
                det.reset()
                masks = [det.detect(im) for im in images]
                rows.append(_cell("detect", name, fs,
                                  time_calls(det.detect, images, frames, max_cell_s),
                                  mask_coverage=float(np.mean([mask_coverage(m) for m in masks]))))
            rows.append(_cell("refine", "mask", fs,
                              time_calls(remover.refine, [f.gt_mask for f in fs.frames], frames,
                                         max_cell_s),
                              mask_coverage=refined_cov))
            pairs = list(zip(images, refined))
            for name, inp in inps.items():
                rows.append(_cell("inpaint", name, fs,
                                  time_calls(lambda p, inp=inp: inp.inpaint(*p), pairs, frames,
                                             max_cell_s),
                                  mask_coverage=refined_cov))
            results = []
            times = time_calls(lambda im: results.append(remover.process(im)), images, frames,
                               max_cell_s)
            results = results[1:]  # drop the warm-up call
            split = {f"{k}_ms": float(np.median([r.timings_ms[k] for r in results]))
                     for k in ("detect", "refine", "inpaint")}
            rows.append(_cell("pipeline", "default", fs, times,
                              mask_coverage=float(np.mean([r.coverage for r in results])),
                              **split))
    return {"rows": rows, "skipped": skipped, "frames": frames, "max_cell_s": max_cell_s,
            "frames_per_set": cache.count}


def run_naive(cache: FrameCache, size: tuple[int, int] = NAIVE_SIZE,
              coverage: float = NAIVE_COVERAGE,
              frames: int = 30) -> dict[str, Any]:
    """Naive baseline vs default pipeline on the same frames, timed alternately.

    Returns ``{"width", "height", "coverage", "naive": stats, "default": stats, "speedup",
    "telea_same_mask": stats, "speedup_same_mask", "naive_mask_coverage",
    "default_mask_coverage"}``; ``speedup`` = naive median / default median; ``*_same_mask``:
    full-frame Telea on the default
    pipeline's own refined mask (the inpainting alone, same pixels filled).
    """
    fs = cache.get(size, coverage)
    images = [f.image for f in fs.frames]
    remover = GlareRemover()
    naive_remove_glare(images[0])  # warm-up both
    remover.process(images[0])
    t_naive, t_default, t_same, cov_naive, cov_default = [], [], [], [], []
    for i in range(frames):
        im = images[i % len(images)]
        t0 = time.perf_counter()
        _, mask = naive_remove_glare(im)
        t1 = time.perf_counter()
        res = remover.process(im)
        t2 = time.perf_counter()
        cv2.inpaint(im, res.mask, 3.0,
                    cv2.INPAINT_TELEA)  # full-frame Telea on the default's own mask
        t3 = time.perf_counter()
        t_naive.append((t1 - t0) * 1e3)
        t_default.append((t2 - t1) * 1e3)
        t_same.append((t3 - t2) * 1e3)
        cov_naive.append(mask_coverage(mask))
        cov_default.append(res.coverage)
    naive, default, same = summarize(t_naive), summarize(t_default), summarize(t_same)
    return {
        "width": size[0], "height": size[1], "coverage": coverage,
        "naive": naive, "default": default,
        "speedup": naive["median_ms"] / default["median_ms"],
        # The naive fixed threshold can find more (or less) than the default detector; full-frame
        # Telea on exactly the default's mask isolates what ROI + the fast backend buy.
        "telea_same_mask": same, "speedup_same_mask": same["median_ms"] / default["median_ms"],
        "naive_mask_coverage": float(np.mean(cov_naive)),
        "default_mask_coverage": float(np.mean(cov_default)),
        "default_config": {"detector.type": remover.config["detector.type"],
                           "inpainting.backend": remover.config["inpainting.backend"],
                           "inpainting.roi": remover.config["inpainting.roi"]},
    }
