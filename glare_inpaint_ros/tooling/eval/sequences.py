"""Synthetic video sequences and temporal metrics; the ``glare-inpaint eval-temporal`` subcommand.

**Sequences** (:class:`SyntheticSequence`): a camera moving over a photo (one of
:func:`~glare_inpaint_ros.synth.clean_images`): the frame is a sliding, slowly zooming crop
window of the (upscaled) photo, rendered with ``cv2.warpAffine``. Two kinds of highlights are
screen-blended on it (the highlight model of :mod:`.synth`, drawn with
:func:`~glare_inpaint_ros.synth.render_glare` on a black frame):

* *surface* highlights, drawn once in the coordinates of frame 0 and warped with the camera, so
  they move WITH the surface (a glossy patch of the scene);
* *fixed* highlights, drawn in image coordinates (a lamp reflection on the lens / window).

``kind="metal"`` stands in for a camera panning over grey metal parts: the photo is turned grey
(achromatic: colour says nothing about its highlights) and no highlight moves with the surface:
the first set drifts at half the camera's motion, the second stays in image coordinates, so every
highlight slides over the surface under it.

Per frame: the input (with optional Gaussian noise, sigma in 8-bit levels), the clean frame, the
GT glare mask (the :data:`~glare_inpaint_ros.synth.GT_DELTA` rule) and the exact backward
motion (2x3 affine: current frame px -> previous frame px). Everything is a pure function of
``(seed, index)`` and the size / length arguments; frames are rendered on demand (a 1280x720,
120-frame sequence is never held in memory).

**Metrics**:

* temporal *flicker*: mean absolute frame-to-frame change (8-bit levels, all channels) inside
  the GT glare region of the current frame, motion-compensated with the known motion (the
  previous output warped into the current frame; pixels whose source is outside the previous
  frame are skipped); the same measure on the clean sequence is the floor (resampling and
  new content), reported as ``flicker_clean``;
* masked PSNR (dB) of the output against the clean frame inside the GT region, per frame
  (:func:`~glare_inpaint_ros.tooling.eval.metrics.psnr`).

``glare-inpaint eval-temporal --out DIR`` runs per-frame ``telea`` and ``fast`` against the
temporal stages (``temporal.mask`` + ``temporal.fill``, spatial fallback ``telea`` / ``fast``) and
writes ``temporal_report.md`` and ``temporal_report.json``; ``--bench-frames`` adds the timing of
the temporal stages alone on a 1280x720 sequence (median / p95 ms per frame).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import cv2
import numpy as np

from ...core.pipeline import GlareRemover
from ...stats import percentiles
from . import metrics as M
from ...synth import GT_DELTA, PHOTO_NAMES, clean_images, render_glare

#: Preferred photos for sequences (textured, mostly unsaturated), cycled by sequence index; those
#: that :data:`~glare_inpaint_ros.synth.PHOTO_NAMES` provides are used (else all of them).
_PREFERRED_PHOTOS: tuple[str, ...] = ("rocket", "chelsea", "gravel", "cat", "coffee", "astronaut")
SEQUENCE_PHOTOS: tuple[str, ...] = (tuple(n for n in _PREFERRED_PHOTOS if n in PHOTO_NAMES)
                                    or tuple(PHOTO_NAMES))

#: Kinds of :class:`SyntheticSequence`.
SEQUENCE_KINDS: tuple[str, ...] = ("scene", "metal")

#: Methods of the evaluation: name -> config overrides on top of the base config.
METHODS: dict[str, dict[str, Any]] = {
    "telea": {"inpainting.backend": "telea"},
    "fast": {"inpainting.backend": "fast"},
    "temporal+telea": {"inpainting.backend": "telea", "temporal.mask.enabled": True,
                       "temporal.fill.enabled": True},
    "temporal+fast": {"inpainting.backend": "fast", "temporal.mask.enabled": True,
                      "temporal.fill.enabled": True},
    "separation": {"inpainting.backend": "separation"},
    "temporal+separation": {"inpainting.backend": "separation", "temporal.mask.enabled": True,
                            "temporal.fill.enabled": True},
}
#: The per-frame reference the flicker ratio is taken against.
REFERENCE_METHOD = "telea"


def _affine_inv(a: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(a)


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2x3 affine ``a o b`` (apply ``b`` first)."""
    a3 = np.vstack([a, [0.0, 0.0, 1.0]])
    b3 = np.vstack([b, [0.0, 0.0, 1.0]])
    return (a3 @ b3)[:2]


@dataclass(frozen=True)
class SequenceFrame:
    """One rendered frame.

    Attributes:
        image: input with glare (and noise), BGR uint8.
        clean: the same frame without glare or noise, BGR uint8.
        mask: GT glare mask, uint8 255 = glare.
        stamp: capture time, s.
        back: 2x3 float64 affine mapping this frame's px to the previous frame's px (identity for
            frame 0).
    """

    image: np.ndarray
    clean: np.ndarray
    mask: np.ndarray
    stamp: float
    back: np.ndarray


class SyntheticSequence:
    """A seeded camera move over a photo with surface-attached and image-fixed highlights.

    Args:
        index: sequence number (picks the photo and the random stream
            ``default_rng([seed, index])``).
        seed: data seed.
        size: ``(width, height)`` px.
        frames: number of frames.
        fps: frame rate, Hz (stamps are ``i / fps`` s).
        noise: sigma of the Gaussian noise added to the input frames, 8-bit levels.
        speed: peak camera speed, px per frame at 640 px width (scaled with the width).
        kind: ``"scene"`` (the photo in colour, surface-attached and image-fixed highlights) or
            ``"metal"`` (the photo in grey, every highlight sliding over it).

    Raises:
        ValueError: non-positive size / frames / fps, or a negative noise / speed.
    """

    def __init__(self, index: int = 0, seed: int = 0, size: tuple[int, int] = (640, 480),
                 frames: int = 60,
                 fps: float = 30.0, noise: float = 2.0, speed: float = 3.0,
                 kind: str = "scene") -> None:
        w, h = (int(v) for v in size)
        if kind not in SEQUENCE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SEQUENCE_KINDS)}, got {kind!r}")
        self.kind = kind
        if w < 16 or h < 16:
            raise ValueError(f"size must be at least 16x16 px, got {w}x{h}")
        if frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if noise < 0 or speed < 0:
            raise ValueError(f"noise and speed must be >= 0, got {noise}, {speed}")
        self.size, self.n, self.fps, self.noise = (w, h), int(frames), float(fps), float(noise)
        self.seed, self.index = int(seed), int(index)
        rng = np.random.default_rng([self.seed, self.index])
        photo = clean_images()[PHOTO_NAMES.index(
            SEQUENCE_PHOTOS[self.index % len(SEQUENCE_PHOTOS)])]
        if kind == "metal":
            photo = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        # Upscale so the moving, zooming window (up to 1.1x the frame, plus travel) stays inside.
        ph, pw = photo.shape[:2]
        up = max(1.0, 1.6 * w / pw, 1.6 * h / ph)
        if up > 1.0:
            photo = cv2.resize(photo, (round(pw * up), round(ph * up)),
                               interpolation=cv2.INTER_CUBIC)
        self.photo = photo
        ph, pw = photo.shape[:2]
        # Camera path: photo px = centre(t) + zoom(t) * (frame px - frame centre).
        k = w / 640.0
        v = speed * k
        t = np.arange(self.n, dtype=np.float64)
        phase = rng.uniform(0, 2 * np.pi, 3)
        period = rng.uniform(40, 80, 2)
        dirn = rng.uniform(0, 2 * np.pi)
        amp = v * period[0] / (2 * np.pi)
        zoom = 1.0 + 0.06 * np.sin(2 * np.pi * t / period[1] + phase[2]) - 0.03
        cx = (pw / 2 + 0.5 * v * np.cos(dirn) * (t - self.n / 2) + amp
              * np.sin(2 * np.pi * t / period[0] + phase[0]))
        cy = (ph / 2 + 0.5 * v * np.sin(dirn) * (t - self.n / 2) + amp * 0.5
              * np.sin(2 * np.pi * t / period[0] + phase[1]))
        # Keep the window inside the photo (clip the centre path).
        half_w, half_h = 1.1 * w / 2 + 2, 1.1 * h / 2 + 2
        cx = np.clip(cx, half_w, pw - half_w)
        cy = np.clip(cy, half_h, ph - half_h)
        self._to_photo = [np.array([[z, 0.0, x - z * w / 2], [0.0, z, y - z * h / 2]]) for z, x,
                          y in zip(zoom, cx, cy)]
        black = np.zeros((h, w, 3), np.uint8)
        surface, _ = render_glare(black, rng, coverage=(0.015, 0.03))
        fixed, _ = render_glare(black, rng, coverage=(0.004, 0.01))
        self._surface = surface.astype(np.float32) / np.float32(255.0)  # amounts in frame-0 px
        self._fixed = fixed.astype(np.float32) / np.float32(255.0)

    def __len__(self) -> int:
        return self.n

    @property
    def stamps(self) -> list[float]:
        return [i / self.fps for i in range(self.n)]

    def back(self, i: int) -> np.ndarray:
        """2x3 affine: px of frame ``i`` -> px of frame ``i - 1`` (identity for ``i == 0``)."""
        if i == 0:
            return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        return _compose(_affine_inv(self._to_photo[i - 1]), self._to_photo[i])

    def frame(self, i: int) -> SequenceFrame:
        """Render frame ``i`` (deterministic; noise from ``default_rng([seed, index, i])``)."""
        if not 0 <= i < self.n:
            raise IndexError(f"frame {i} out of range 0..{self.n - 1}")
        w, h = self.size
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        clean = cv2.warpAffine(self.photo, self._to_photo[i], (w, h), flags=flags,
                               borderMode=cv2.BORDER_REFLECT)
        to_frame0 = _compose(_affine_inv(self._to_photo[0]), self._to_photo[i])
        if self.kind == "metal":  # the first set drifts at half the surface's motion
            to_frame0 = 0.5 * (to_frame0 + np.eye(2, 3))
        surface = cv2.warpAffine(self._surface, to_frame0, (w, h), flags=flags,
                                 borderMode=cv2.BORDER_CONSTANT)
        amount = np.minimum(surface + self._fixed, np.float32(1.0))
        clean_f = clean.astype(np.float32) / np.float32(255.0)
        glare_f = 1.0 - (1.0 - clean_f) * (1.0 - amount)  # screen blend, as in synth.render_glare
        glare = np.clip(glare_f * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)
        mask = np.where(cv2.subtract(glare, clean).max(axis=2) >= GT_DELTA, np.uint8(255),
                        np.uint8(0))
        image = glare
        if self.noise > 0:
            rng = np.random.default_rng([self.seed, self.index, i])
            noisy = (glare.astype(np.float32)
                     + rng.normal(0.0, self.noise, glare.shape).astype(np.float32))
            image = np.clip(noisy + np.float32(0.5), 0, 255).astype(np.uint8)
        return SequenceFrame(image, clean, mask, i / self.fps, self.back(i))

    def __iter__(self) -> Iterator[SequenceFrame]:
        for i in range(self.n):
            yield self.frame(i)


def warp_previous(prev: np.ndarray, back: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The previous frame ``prev`` warped into the current frame with ``back`` (current px ->
    previous px).

    Returns ``(warped, valid)``: ``valid`` (bool ``HxW``) is False where the source lies outside
    the previous frame.
    """
    h, w = prev.shape[:2]
    warped = cv2.warpAffine(prev, back, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    sx = back[0, 0] * xs + back[0, 1] * ys + back[0, 2]
    sy = back[1, 0] * xs + back[1, 1] * ys + back[1, 2]
    valid = (sx >= 0) & (sy >= 0) & (sx <= w - 1) & (sy <= h - 1)
    return warped, valid


def flicker(current: np.ndarray, previous: np.ndarray, back: np.ndarray,
            region: np.ndarray) -> float:
    """Motion-compensated frame-to-frame change inside ``region``, mean absolute 8-bit levels.

    Args:
        current, previous: consecutive output frames (same shape, uint8).
        back: 2x3 affine, current px -> previous px (the known motion).
        region: ``HxW`` mask of the scored pixels of the current frame (non-zero = scored).

    Returns:
        The mean over the region's valid pixels and all channels; NaN when none is valid.

    Raises:
        ValueError: mismatched shapes.
    """
    if current.shape != previous.shape:
        raise ValueError(
            f"current shape {current.shape} does not match previous shape {previous.shape}")
    if region.shape[:2] != current.shape[:2]:
        raise ValueError(
            f"region size {region.shape[:2]} does not match frame size {current.shape[:2]}")
    warped, valid = warp_previous(previous, back)
    sel = valid & (region > 0)
    if not sel.any():
        return math.nan
    diff = cv2.absdiff(current, warped)
    return float(diff[sel].mean())


@dataclass
class MethodScores:
    """Per-frame scores of one method on one sequence (NaN where undefined)."""

    flicker: list[float]
    flicker_clean: list[float]
    flicker_gt: list[float]
    flicker_gt_clean: list[float]
    psnr: list[float]
    temporal_ms: list[float]
    total_ms: list[float]


def run_sequence(remover: GlareRemover, seq: SyntheticSequence, *,
                 mask_source: str = "detector") -> MethodScores:
    """Run ``remover`` over the sequence (reset first) and score every frame.

    Args:
        remover: the pipeline (per-frame or temporal, per its config).
        seq: the sequence.
        mask_source: ``"detector"`` (the full :meth:`GlareRemover.process`) or ``"gt"`` (the GT
            mask through :meth:`~GlareRemover.refine` and :meth:`~GlareRemover.fill_frame`, to
            judge the fill apart from detection).
    """
    if mask_source not in ("detector", "gt"):
        raise ValueError(f"mask_source must be 'detector' or 'gt', got {mask_source!r}")
    remover.reset()
    scores = MethodScores([], [], [], [], [], [], [])
    prev_out = prev_clean = None
    for fr in seq:
        t0 = time.perf_counter()
        if mask_source == "detector":
            res = remover.process(fr.image, stamp=fr.stamp)
            out, mask = res.image, res.mask
            scores.temporal_ms.append(
                res.timings_ms.get("temporal_mask",
                                   0.0) + res.timings_ms.get("temporal_fill", 0.0))
        else:
            refined = remover.refine(fr.mask)
            res = remover.fill_frame(fr.image, refined.mask, fr.stamp)
            out, mask = res.image, res.mask
            scores.temporal_ms.append(math.nan)
        scores.total_ms.append((time.perf_counter() - t0) * 1e3)
        scores.psnr.append(M.psnr(out, fr.clean, fr.mask))
        if prev_out is not None:
            scores.flicker.append(flicker(out, prev_out, fr.back, mask))
            scores.flicker_clean.append(flicker(fr.clean, prev_clean, fr.back, mask))
            scores.flicker_gt.append(flicker(out, prev_out, fr.back, fr.mask))
            scores.flicker_gt_clean.append(flicker(fr.clean, prev_clean, fr.back, fr.mask))
        prev_out, prev_clean = out, fr.clean
    return scores


def _nanmean(values: Sequence[float]) -> float:
    v = [x for x in values if x == x]
    return float(np.mean(v)) if v else math.nan


def _percentile(values: Sequence[float], q: float) -> float:
    return percentiles(values, (q,))[0]


def evaluate(*, sequences: int = 3, frames: int = 60, size: tuple[int, int] = (640, 480),
             seed: int = 0,
             fps: float = 30.0, noise: float = 2.0, methods: Sequence[str] = tuple(METHODS),
             base_config: Mapping[str, Any] | None = None,
             mask_source: str = "detector", kind: str = "scene") -> dict[str, Any]:
    """Score every method on ``sequences`` synthetic sequences; returns the report dict.

    Per method: ``flicker`` (mean over frames and sequences, 8-bit levels), ``flicker_clean`` (the
    clean sequence's floor), ``flicker_ratio`` (against :data:`REFERENCE_METHOD`), ``psnr``
    (mean masked PSNR, dB), ``psnr_delta`` (against the reference), ``total_ms_median`` and per
    sequence values.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {', '.join(METHODS)}")
    base = dict(base_config or {})
    per_method: dict[str, dict[str, Any]] = {}
    seqs = [SyntheticSequence(i, seed, size, frames, fps, noise, kind=kind)
            for i in range(sequences)]
    for name in methods:
        remover = GlareRemover({**base, **METHODS[name]})
        per_seq = [run_sequence(remover, s, mask_source=mask_source) for s in seqs]
        per_method[name] = {
            "flicker": _nanmean([x for s in per_seq for x in s.flicker]),
            "flicker_clean": _nanmean([x for s in per_seq for x in s.flicker_clean]),
            "flicker_gt": _nanmean([x for s in per_seq for x in s.flicker_gt]),
            "flicker_gt_clean": _nanmean([x for s in per_seq for x in s.flicker_gt_clean]),
            "psnr": _nanmean([x for s in per_seq for x in s.psnr]),
            "total_ms_median": _percentile([x for s in per_seq for x in s.total_ms], 50),
            "per_sequence": [
                {"photo": SEQUENCE_PHOTOS[i % len(SEQUENCE_PHOTOS)],
                 "flicker": _nanmean(s.flicker),
                 "flicker_clean": _nanmean(s.flicker_clean), "psnr": _nanmean(s.psnr),
                 "psnr_frames": s.psnr}
                for i, s in enumerate(per_seq)
            ],
        }
    ref = per_method.get(REFERENCE_METHOD)
    for entry in per_method.values():
        entry["flicker_ratio"] = (entry["flicker"] / ref["flicker"] if ref and ref["flicker"]
                                  else math.nan)
        entry["flicker_gt_ratio"] = (entry["flicker_gt"] / ref["flicker_gt"] if ref
                                     and ref["flicker_gt"] else math.nan)
        entry["psnr_delta"] = entry["psnr"] - ref["psnr"] if ref else math.nan
    return {
        "settings": {"sequences": sequences, "frames": frames, "size": list(size), "seed": seed,
                     "fps": fps,
                     "noise": noise, "mask_source": mask_source, "reference": REFERENCE_METHOD,
                     "kind": kind},
        "methods": per_method,
    }


def benchmark(*, size: tuple[int, int] = (1280, 720), frames: int = 120, seed: int = 0,
              fps: float = 30.0,
              base_config: Mapping[str, Any] | None = None,
              method: str = "temporal+fast") -> dict[str, Any]:
    """Time the temporal stages alone (``temporal_mask`` + ``temporal_fill`` ms per frame) on one
    sequence.

    Returns median / p95 of the temporal stages and of the whole :meth:`GlareRemover.process`
    (the first frame, which has no previous frame, is excluded).
    """
    remover = GlareRemover({**dict(base_config or {}), **METHODS[method]})
    seq = SyntheticSequence(0, seed, size, frames, fps)
    temporal, mask_ms, fill_ms, total = [], [], [], []
    for i, fr in enumerate(seq):
        res = remover.process(fr.image, stamp=fr.stamp)
        if i == 0:
            continue
        t = res.timings_ms
        mask_ms.append(t.get("temporal_mask", 0.0))
        fill_ms.append(t.get("temporal_fill", 0.0))
        temporal.append(mask_ms[-1] + fill_ms[-1])
        total.append(t["total"])
    return {
        "size": list(size), "frames": frames, "method": method, "cv2_threads": cv2.getNumThreads(),
        "temporal_ms_median": _percentile(temporal, 50),
        "temporal_ms_p95": _percentile(temporal, 95),
        "temporal_mask_ms_median": _percentile(mask_ms, 50),
        "temporal_fill_ms_median": _percentile(fill_ms, 50),
        "total_ms_median": _percentile(total, 50), "total_ms_p95": _percentile(total, 95),
    }


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or x != x else f"{x:.{digits}f}"


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as markdown tables."""
    s = report["settings"]
    lines = [
        "# Temporal stability on synthetic sequences", "",
        f"{s['sequences']} {s.get('kind', 'scene')} sequences x {s['frames']} frames, "
        f"{s['size'][0]}x{s['size'][1]} px, "
        f"{s['fps']:g} Hz, "
        f"noise sigma {s['noise']:g}, seed {s['seed']}, masks from {s['mask_source']}. "
        "Flicker: motion-compensated mean |frame-to-frame change| inside the method's filled "
        "region (final mask; "
        "8-bit levels; `clean` = the same measure on the clean sequence; `GT` = inside the GT "
        "glare region). "
        "PSNR: inside the GT glare region, dB.", "",
        f"| method | flicker | flicker (clean) | flicker / {s['reference']} | flicker GT / "
        f"{s['reference']} | masked PSNR | PSNR - {s['reference']} | ms/frame (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, e in report["methods"].items():
        lines.append(f"| {name} | {_f(e['flicker'])} | {_f(e['flicker_clean'])} | "
                     f"{_f(e['flicker_ratio'])} | {_f(e['flicker_gt_ratio'])} | "
                     f"{_f(e['psnr'])} | {_f(e['psnr_delta'], 2)} | {_f(e['total_ms_median'], 1)} "
                     "|")
    bench = report.get("benchmark")
    if bench:
        lines += [
            "",
            f"## Cost of the temporal stages at {bench['size'][0]}x{bench['size'][1]} "
            f"({bench['method']}, "
            f"{bench['frames']} frames, OpenCV threads {bench['cv2_threads']})", "",
            "| | median ms | p95 ms |", "|---|---|---|",
            "| temporal stages (mask + fill, incl. optical flow) | "
            f"{_f(bench['temporal_ms_median'])} | {_f(bench['temporal_ms_p95'])} |",
            f"| whole pipeline | {_f(bench['total_ms_median'])} | {_f(bench['total_ms_p95'])} |",
        ]
    return "\n".join(lines) + "\n"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint eval-temporal``."""
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder for temporal_report.md / .json")
    parser.add_argument("--sequences", type=int, default=3,
                        help="number of synthetic sequences (default 3)")
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence (default 60)")
    parser.add_argument("--size", type=_size, default=(640, 480),
                        help="frame size WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="frame rate of the stamps, Hz (default 30)")
    parser.add_argument("--noise", type=float, default=2.0,
                        help="sensor noise sigma, 8-bit levels (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
                        help="methods to compare")
    parser.add_argument("--kind", choices=SEQUENCE_KINDS, default="scene",
                        help="scene: colour photos, highlights with the surface and fixed in the "
                             "image (default); metal: grey photos, every highlight sliding")
    parser.add_argument("--mask-source", choices=("detector", "gt"), default="detector",
                        help="masks from the configured detector (default) or the GT masks")
    parser.add_argument("--config", type=Path, default=None,
                        help="base pipeline config (YAML); methods override backend/temporal keys")
    parser.add_argument("--bench-frames", type=int, default=0,
                        help="also time the temporal stages on a sequence of this many frames (0 "
                             "= skip; >= 100 for the bar)")
    parser.add_argument("--bench-size", type=_size, default=(1280, 720),
                        help="benchmark frame size (default 1280x720)")


def run(args: argparse.Namespace) -> int:
    """Evaluate, write ``temporal_report.md`` / ``.json`` to ``--out``, print the markdown; exit
    code 0."""
    from ...core.params import flatten
    from ...core.pipeline import load_config

    from ..cli import output_folder

    base = {}
    try:
        output_folder(args.out)  # before minutes of work, not after
        if args.config is not None:
            base = dict(load_config(args.config))
    except (ValueError, OSError) as exc:
        print(f"glare-inpaint eval-temporal: error: {exc}", file=sys.stderr)
        return 2
    base = flatten(base)
    report = evaluate(sequences=args.sequences, frames=args.frames, size=args.size, seed=args.seed,
                      fps=args.fps,
                      noise=args.noise, methods=args.methods, base_config=base,
                      mask_source=args.mask_source, kind=args.kind)
    if args.bench_frames > 0:
        report["benchmark"] = benchmark(size=args.bench_size, frames=args.bench_frames,
                                        seed=args.seed,
                                        fps=args.fps, base_config=base)
    report["platform"] = {"python": platform.python_version(), "opencv": cv2.__version__,
                          "machine": platform.machine()}
    args.out.mkdir(parents=True, exist_ok=True)
    md = render_markdown(report)
    (args.out / "temporal_report.md").write_text(md, encoding="utf-8")

    def _clean(o: Any) -> Any:
        if isinstance(o, float) and o != o:
            return None
        if isinstance(o, dict):
            return {k: _clean(v) for k, v in o.items()}
        if isinstance(o, list):
            return [_clean(v) for v in o]
        return o

    (args.out / "temporal_report.json").write_text(json.dumps(_clean(report), indent=2),
                                                   encoding="utf-8")
    print(md)
    return 0
