"""``glare-inpaint train``: train :class:`~glare_inpaint_ros.tooling.training.net.GlareNet` on CPU,
export ONNX.

The network learns a correction to the ``fast`` (push-pull) fill, trained through *exactly* the
inference path of the ``learned`` backend (:mod:`glare_inpaint_ros.core.inpainting.model`): a
full frame and its hole mask -> the same component boxes and 128 px-context crops
(``component_boxes`` / ``group_boxes`` / ``crop_rect``) cut from the frame prefilled by the
``fast`` backend -> ``prepare_crop`` (``INTER_AREA`` downscale to ``max_side``) -> the network ->
its change upsampled bilinearly (= ``upscale_window``) to the crop's native size and added to
the native fill -> the same feathered paste. The loss is taken at native resolution on the hole
pixels, so an untrained (zero-residual) network starts at exactly the ``fast`` backend's quality.

Data (all offline, seeded):

* synthetic glare frames (:func:`glare_inpaint_ros.synth.make_sample`, dataset seeds
  :data:`SYNTH_SEED` (training) and :data:`VAL_SEED` (validation), never the evaluation seed 0):
  input = the frame *with* glare, hole = its GT mask dilated by 2..5 px, target = the clean frame;
* frames cut from scikit-image photos (:data:`EXTRA_PHOTOS` plus the synthetic set's photos) with
  random specular-like blob/streak/speckle masks, input = target = the clean photo;

with flips and 90-degree rotations. Loss: L1 + 5 x MSE on the hole pixels (no pretrained
networks). Adam, warm-up + cosine learning rate. Seeded: the same command with the same torch
version and ``--threads`` reproduces the weights.

Outputs in ``--out``: ``glare_unet.pt`` (state dict, also written every 250 steps),
``glare_unet.onnx`` + ``glare_unet.yaml`` (see :mod:`.export`), ``train_log.csv`` (step, loss,
validation hole PSNR of the net and of the plain push-pull fill, dB).
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import cv2
import numpy as np

from ...core.inpainting.model import CROP_PARAMS
from .export import SPEC, export_onnx

#: Dataset seed of the synthetic training frames (evaluation uses seed 0).
SYNTH_SEED = 1000
#: Dataset seed of the synthetic validation frames.
VAL_SEED = 2000
#: Training frame size (width, height), px: the evaluation set's size.
FRAME = (640, 480)
#: Model input side (the YAML's ``max_side``), px.
MAX_SIDE: int = SPEC["max_side"]
_CROP_DEFAULTS = {p.name: p.default for p in CROP_PARAMS}
#: Context margin of the crops, px (the backends' ``context_margin`` default, 128).
MARGIN: int = _CROP_DEFAULTS["context_margin"]
#: Feather of the paste, px (the backends' ``feather`` default, 3).
FEATHER: int = _CROP_DEFAULTS["feather"]
#: Extra scikit-image photos (in the wheel, no download) used with random masks.
EXTRA_PHOTOS: tuple[str, ...] = (
    "astronaut", "coffee", "rocket", "colorwheel", "coins", "moon", "grass", "brick", "cell",
    "page",
)


def _load_photos() -> list[np.ndarray]:
    """Clean RGB uint8 photos: the synthetic set's scenes plus :data:`EXTRA_PHOTOS`."""
    import skimage.data

    from ...synth import clean_images

    photos = [cv2.cvtColor(p, cv2.COLOR_BGR2RGB) for p in clean_images()]
    for name in EXTRA_PHOTOS:
        img = np.asarray(getattr(skimage.data, name)())
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        photos.append(np.ascontiguousarray(img[:, :, :3]))
    return photos


def random_glare_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A specular-like hole mask, ``size x size`` uint8 255 = hole: 1..5 ellipses, streaks or
    speckle clusters, dilated 1..4 px; covers about 2..35 % of the crop."""
    for _ in range(20):
        m = np.zeros((size, size), np.uint8)
        for _ in range(int(rng.integers(1, 6))):
            kind = rng.choice(3, p=(0.55, 0.2, 0.25))
            cx, cy = rng.uniform(0, size, 2)
            if kind == 0:
                a = float(np.exp(rng.uniform(np.log(2.0), np.log(size * 0.3))))
                b = a * rng.uniform(0.4, 1.0)
                cv2.ellipse(m, (int(cx), int(cy)), (max(1, int(a)), max(1, int(b))),
                            float(rng.uniform(0, 180)), 0, 360, 255, -1)
            elif kind == 1:
                length, ang = rng.uniform(10, size * 0.8), rng.uniform(0, np.pi)
                dx, dy = 0.5 * length * np.cos(ang), 0.5 * length * np.sin(ang)
                cv2.line(m, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), 255,
                         int(rng.integers(2, 7)))
            else:
                for _ in range(int(rng.integers(3, 12))):
                    px, py = rng.normal((cx, cy), size * 0.08)
                    cv2.circle(m, (int(px), int(py)), int(rng.integers(1, 4)), 255, -1)
        k = int(rng.integers(1, 5))
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
        cov = np.count_nonzero(m) / m.size
        if 0.02 <= cov <= 0.35:
            return m
    return m


class Example(NamedTuple):
    """One crop through the inference path, ready for the network and the loss."""

    model_rgb: np.ndarray  # float32 [3, mh, mw], prefilled, downscaled
    model_hole: np.ndarray  # float32 [1, mh, mw], 1 = hole
    base: np.ndarray  # float32 [3, h, w], the crop of the fast-prefilled frame
    src: np.ndarray  # float32 [3, h, w], the crop as given (with glare)
    target: np.ndarray  # float32 [3, h, w], the clean crop
    alpha: np.ndarray  # float32 [1, h, w], feathered paste weight (0 outside the hole)


def _chw(a: np.ndarray) -> np.ndarray:
    return (np.ascontiguousarray(a.transpose(2, 0, 1)) if a.ndim == 3
            else np.ascontiguousarray(a[None]))


def frame_example(image: np.ndarray, hole: np.ndarray, clean: np.ndarray,
                  pick: Callable[[int], int]) -> Example:
    """The training example of one crop of a frame, built as ``ModelInpainter.inpaint_rois``
    builds its crops (default ``context_margin``, ``feather``, ``max_side`` = :data:`MAX_SIDE`).

    Args:
        image: BGR uint8 frame with glare.
        hole: its uint8 hole mask (non-zero = fill).
        clean: the BGR uint8 target frame.
        pick: ``pick(n)`` -> which of the frame's ``n`` crops, ``0..n-1``.
    """
    from ...core.inpainting import INPAINTERS
    from ...core.inpainting.model import (crop_rect, feather_alpha, group_boxes, prepare_crop,
                                          to_rgb_float)
    from ...core.inpainting.roi import component_boxes

    pre = INPAINTERS.get("fast")().inpaint(image, hole)  # the prefill of inpaint_rois
    h, w = hole.shape
    boxes = group_boxes(hole, component_boxes(hole, 16), MARGIN // 2)
    x0, y0, x1, y1 = crop_rect(boxes[pick(len(boxes))], w, h, MARGIN)
    crop, crop_pre, crop_hole, crop_clean = (a[y0:y1, x0:x1] for a in (image, pre, hole, clean))
    ch, cw = crop_hole.shape
    scale = min(1.0, MAX_SIDE / float(max(ch, cw)))
    job = prepare_crop(crop_pre, crop_hole, (max(1, round(ch * scale)), max(1, round(cw * scale))))
    return Example(_chw(job.model_rgb), _chw(job.model_hole), _chw(to_rgb_float(crop_pre)),
                   _chw(to_rgb_float(crop)), _chw(to_rgb_float(crop_clean)),
                   _chw(feather_alpha(crop_hole, FEATHER)))


class Sampler:
    """Seeded training examples built like the ``learned`` backend's inference crops.

    Args:
        seed: random seed (augmentation, masks, crop choice).
        synth_seed: dataset seed of the synthetic frames.
        synth_frames: number of synthetic frames (640x480) kept in memory.
        synth_fraction: fraction 0..1 of examples taken from the synthetic frames.
    """

    def __init__(self, seed: int, synth_seed: int = SYNTH_SEED, synth_frames: int = 300,
                 synth_fraction: float = 0.75) -> None:
        from ...core.masks import dilate
        from ...synth import make_sample

        self.rng = np.random.default_rng(seed)
        self.photos = _load_photos()
        self.synth_fraction = synth_fraction
        self._dilate = dilate
        self.synth: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for i in range(synth_frames):
            img, mask, clean = make_sample(i, synth_seed, FRAME)
            if mask.any():
                self.synth.append((img, mask, clean))

    def _synth_frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        img, mask, clean = self.synth[int(self.rng.integers(len(self.synth)))]
        k = int(self.rng.choice([5, 7, 7, 9, 11]))
        return img, self._dilate(mask, k), clean

    def _photo_frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng
        photo = self.photos[int(rng.integers(len(self.photos)))]
        h, w = photo.shape[:2]
        fw, fh = FRAME
        s = rng.uniform(max(fw / w, fh / h), max(fw / w, fh / h) * 1.6)
        big = cv2.resize(photo, (max(fw, round(w * s)), max(fh, round(h * s))),
                         interpolation=cv2.INTER_AREA)
        y0 = int(rng.integers(0, big.shape[0] - fh + 1))
        x0 = int(rng.integers(0, big.shape[1] - fw + 1))
        frame = np.ascontiguousarray(big[y0:y0 + fh, x0:x0 + fw, ::-1])  # RGB -> BGR
        mask = np.zeros((fh, fw), np.uint8)
        side = int(rng.integers(64, 320))
        my, mx = int(rng.integers(0, fh - side + 1)), int(rng.integers(0, fw - side + 1))
        mask[my:my + side, mx:mx + side] = random_glare_mask(rng, side)
        return frame, mask, frame

    def example(self) -> Example:
        """One random crop of a random (flipped / rotated) frame, prepared exactly as at
        inference."""
        rng = self.rng
        use_synth = self.synth and rng.random() < self.synth_fraction
        img, hole, clean = self._synth_frame() if use_synth else self._photo_frame()
        flip, rot = rng.random() < 0.5, int(rng.integers(0, 4))
        img, hole, clean = (np.ascontiguousarray(np.rot90(a[:, ::-1] if flip else a, rot))
                            for a in (img, hole, clean))
        return frame_example(img, hole, clean, lambda n: int(rng.integers(n)))

    def batch(self, n: int) -> list[Example]:
        """``n`` random examples."""
        return [self.example() for _ in range(n)]


def forward_batch(net: Any, examples: list[Example]) -> tuple[Any, Any]:
    """Run ``net`` on examples (padded to a common model size, ``symmetric`` like the backend)
    and compose the native-resolution outputs.

    Returns:
        ``(pred, target)``: 1-D tensors of the hole pixels' values (all channels), 0..1.
    """
    import torch
    import torch.nn.functional as F

    from .net import PAD_MULTIPLE as PAD

    ph = max(-(-e.model_rgb.shape[1] // PAD) * PAD for e in examples)
    pw = max(-(-e.model_rgb.shape[2] // PAD) * PAD for e in examples)
    imgs, holes = [], []
    for e in examples:
        pad = ((0, 0), (0, ph - e.model_rgb.shape[1]), (0, pw - e.model_rgb.shape[2]))
        imgs.append(np.pad(e.model_rgb, pad, mode="symmetric"))
        holes.append(np.pad(e.model_hole, pad, mode="symmetric"))
    image, hole = torch.from_numpy(np.stack(imgs)), torch.from_numpy(np.stack(holes))
    change = net(image, hole) - image
    preds, targets = [], []
    for k, e in enumerate(examples):
        mh, mw = e.model_rgb.shape[1:]
        h, w = e.base.shape[1:]
        res = change[k:k + 1, :, :mh, :mw]
        if (mh, mw) != (h, w):
            res = F.interpolate(res, size=(h, w), mode="bilinear", align_corners=False)
        out = (torch.from_numpy(e.base)[None] + res).clamp(0.0, 1.0)
        src, alpha = torch.from_numpy(e.src)[None], torch.from_numpy(e.alpha)[None]
        final = src + alpha * (out - src)
        sel = (alpha > 0).expand_as(final)
        preds.append(final[sel])
        targets.append(torch.from_numpy(e.target)[None][sel])
    return torch.cat(preds), torch.cat(targets)


def hole_psnr(pred: Any, target: Any) -> float:
    """PSNR (dB, peak 1) of two 1-D tensors of hole-pixel values."""
    mse = float(((pred - target) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-10))


def train(out: Path, steps: int, seed: int, batch: int = 12, lr: float = 2e-3, threads: int = 1,
          synth_fraction: float = 0.75, log_every: int = 50) -> Path:
    """Train, save ``glare_unet.pt``, export ONNX + YAML into ``out``; return the ONNX path."""
    import torch

    from .net import GlareNet, count_parameters

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    sampler = Sampler(seed, synth_fraction=synth_fraction)
    val_sampler = Sampler(seed + 10_000, synth_seed=VAL_SEED, synth_frames=60,
                          synth_fraction=synth_fraction)
    val = val_sampler.batch(64)
    net = GlareNet()
    print(f"GlareNet: {count_parameters(net)} parameters; {len(sampler.synth)} synthetic frames, "
          f"{len(sampler.photos)} photos; data ready in {time.time() - t0:.0f} s", flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    warm = min(200, steps // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warm) * (
            0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))

    def validate() -> float:
        net.eval()
        with torch.no_grad():
            v = hole_psnr(*forward_batch(net, val))
        net.train()
        return v

    base_psnr = validate()  # the zero-initialised net is exactly the push-pull fill
    log_path = out / "train_log.csv"
    t0 = time.time()
    running = 0.0
    with open(log_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "loss", "val_psnr_net_db", "val_psnr_pushpull_db", "seconds"])
        for step in range(1, steps + 1):
            pred, tgt = forward_batch(net, sampler.batch(batch))
            diff = pred - tgt
            loss = diff.abs().mean() + 5.0 * (diff ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach())
            if step % log_every == 0 or step == steps:
                v = validate()
                n = log_every if step % log_every == 0 else step % log_every
                writer.writerow(
                    [step, f"{running / n:.5f}", f"{v:.3f}", f"{base_psnr:.3f}",
                     f"{time.time() - t0:.1f}"])
                f.flush()
                print(f"step {step}/{steps} loss {running / n:.4f} val hole PSNR {v:.2f} dB "
                      f"(push-pull {base_psnr:.2f} dB) {time.time() - t0:.0f} s", flush=True)
                running = 0.0
            if step % 250 == 0:
                torch.save(net.state_dict(), out / "glare_unet.pt")
    net.eval()
    torch.save(net.state_dict(), out / "glare_unet.pt")
    return export_onnx(net, out / "glare_unet.onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint train``."""
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder (weights, ONNX, YAML, log)")
    parser.add_argument("--steps", type=int, default=3000, help="optimiser steps (default 3000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch", type=int, default=12, help="crops per step (default 12)")
    parser.add_argument("--lr", type=float, default=2e-3,
                        help="peak Adam learning rate (default 2e-3)")
    parser.add_argument("--synth-fraction", type=float, default=0.75,
                        help="fraction 0..1 of crops from the synthetic glare frames (default "
                             "0.75)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a shared 2-core machine more "
                             "threads spin and run slower)")


def run(args: argparse.Namespace) -> int:
    """Train and export; exit code 0."""
    import sys

    from ..cli import output_folder

    if args.steps < 1:
        raise SystemExit("--steps must be >= 1")
    try:
        output_folder(args.out)  # a file in the way: one line before any training
    except ValueError as exc:
        print(f"glare-inpaint train: error: {exc}", file=sys.stderr)
        return 2
    path = train(args.out, args.steps, args.seed, batch=args.batch, lr=args.lr,
                 threads=args.threads,
                 synth_fraction=args.synth_fraction)
    print(f"wrote {path}")
    return 0
