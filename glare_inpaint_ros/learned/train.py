"""``glare-inpaint train``: train :class:`~glare_inpaint_ros.learned.net.GlareNet` on CPU, export ONNX.

Data (all offline, seeded):

* the synthetic glare set (:func:`glare_inpaint_ros.eval.synth.make_sample`, dataset seed
  :data:`SYNTH_SEED` = 1, never the evaluation seed 0): input = the frame *with* glare, hole = its
  GT mask dilated by 2..5 px, target = the clean frame; crops are centred near a highlight;
* crops of scikit-image photos (:data:`EXTRA_PHOTOS` plus the synthetic set's photos) with random
  specular-like blob/streak/speckle masks, input = target = the clean photo.

Crops are ``--crop`` px squares (96 by default) after a random downscale (the inference path resizes a 128-px-margin crop to
at most 128 px, i.e. it also sees downscaled context), with flips, 90-degree rotations and colour
jitter. Loss: L1 in the hole + 0.5 x L1 of the image gradients in the hole + 5 x MSE in the hole
(no pretrained networks). Adam, cosine learning rate. Everything is seeded: the same command with the same
torch version and ``--threads`` reproduces the weights.

Outputs in ``--out``: ``glare_unet.pt`` (state dict), ``glare_unet.onnx`` + ``glare_unet.yaml``
(see :mod:`.export`), ``train_log.csv`` (step, loss, validation hole PSNR of the net and of the
push-pull initial fill, dB).
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import cv2
import numpy as np

#: Dataset seed of the synthetic training frames (evaluation uses seed 0).
SYNTH_SEED = 1
#: Extra scikit-image photos (in the wheel, no download) used with random masks.
EXTRA_PHOTOS: tuple[str, ...] = (
    "colorwheel", "camera", "coins", "moon", "grass", "gravel", "brick", "clock", "cell", "page",
)
CROP = 96  # default training crop side, px (a multiple of net.PAD_MULTIPLE)


def _load_photos() -> list[np.ndarray]:
    """Clean RGB uint8 photos: the synthetic set's scenes plus :data:`EXTRA_PHOTOS`."""
    import skimage.data

    from ..eval.synth import clean_images

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


def _jitter(rgbs: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random flip / rot90 / gain / gamma / saturation applied to each float32 RGB 0..1 array."""
    flip, rot = rng.random() < 0.5, int(rng.integers(0, 4))
    gain = rng.uniform(0.6, 1.15, 3).astype(np.float32) * np.float32(rng.uniform(0.7, 1.2))
    gamma = np.float32(rng.uniform(0.8, 1.25))
    sat = np.float32(rng.uniform(0.5, 1.3))
    out = []
    for a in rgbs:
        a = np.rot90(a[:, ::-1] if flip else a, rot)
        if a.ndim == 3:
            a = np.clip(a * gain, 0, 1) ** gamma
            grey = a.mean(axis=2, keepdims=True)
            a = np.clip(grey + sat * (a - grey), 0, 1)
        out.append(np.ascontiguousarray(a, dtype=np.float32))
    return out


class Sampler:
    """Seeded training batches: ``(image, hole, target)`` float32 NCHW, RGB 0..1, hole 1 = fill.

    Args:
        seed: random seed.
        synth_frames: number of synthetic frames (320x240 px) kept in memory.
        synth_fraction: fraction 0..1 of each batch taken from the synthetic frames.
    """

    def __init__(self, seed: int, synth_frames: int = 400, synth_fraction: float = 0.6, crop: int = CROP) -> None:
        from ..eval.synth import make_sample

        self.rng = np.random.default_rng(seed)
        self.crop = crop
        self.photos = _load_photos()
        self.synth_fraction = synth_fraction
        self.synth: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for i in range(synth_frames):
            img, mask, clean = make_sample(i, SYNTH_SEED, (320, 240))
            if mask.any():
                self.synth.append((cv2.cvtColor(img, cv2.COLOR_BGR2RGB), mask, cv2.cvtColor(clean, cv2.COLOR_BGR2RGB)))

    def _synth_crop(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng, C = self.rng, self.crop
        img, mask, clean = self.synth[int(rng.integers(len(self.synth)))]
        k = int(rng.integers(2, 6))
        hole = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
        s = rng.uniform(0.45, 1.0)
        h, w = mask.shape
        size = (max(C, int(w * s)), max(C, int(h * s)))
        img, clean = (cv2.resize(a, size, interpolation=cv2.INTER_AREA) for a in (img, clean))
        hole = cv2.resize(hole, size, interpolation=cv2.INTER_LINEAR)
        ys, xs = np.nonzero(hole)
        j = int(rng.integers(len(ys)))
        cy, cx = ys[j] + rng.integers(-C // 3, C // 3 + 1), xs[j] + rng.integers(-C // 3, C // 3 + 1)
        y0 = int(np.clip(cy - C // 2, 0, size[1] - C))
        x0 = int(np.clip(cx - C // 2, 0, size[0] - C))
        sl = (slice(y0, y0 + C), slice(x0, x0 + C))
        return img[sl], (hole[sl] > 0).astype(np.float32), clean[sl]

    def _photo_crop(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng, C = self.rng, self.crop
        photo = self.photos[int(rng.integers(len(self.photos)))]
        h, w = photo.shape[:2]
        s = rng.uniform(max(C / min(h, w), 0.15), max(C / min(h, w), 0.7))
        src = min(h, w, int(round(C / s)))  # source square side, px, downscaled to C
        y0 = int(rng.integers(0, h - src + 1))
        x0 = int(rng.integers(0, w - src + 1))
        crop = cv2.resize(photo[y0:y0 + src, x0:x0 + src], (C, C), interpolation=cv2.INTER_AREA)
        hole = (random_glare_mask(rng, C) > 0).astype(np.float32)
        return crop, hole, crop

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` samples as ``(image [n,3,C,C], hole [n,1,C,C], target [n,3,C,C])``, C = the crop side."""
        imgs, holes, targets = [], [], []
        for _ in range(n):
            use_synth = self.synth and self.rng.random() < self.synth_fraction
            img, hole, tgt = self._synth_crop() if use_synth else self._photo_crop()
            img, tgt = img.astype(np.float32) / 255.0, tgt.astype(np.float32) / 255.0
            img, tgt, hole = _jitter([img, tgt, hole], self.rng)
            imgs.append(img.transpose(2, 0, 1))
            targets.append(tgt.transpose(2, 0, 1))
            holes.append(hole[None])
        return np.stack(imgs), np.stack(holes), np.stack(targets)


def hole_psnr(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """PSNR (dB, peak 1) over the hole pixels of NCHW float arrays."""
    sel = np.broadcast_to(hole > 0.5, pred.shape)
    mse = float(np.mean((pred[sel] - target[sel]) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-10))


def train(out: Path, steps: int, seed: int, batch: int = 16, lr: float = 2e-3, threads: int = 2,
          crop: int = CROP, synth_fraction: float = 0.6, log_every: int = 100) -> Path:
    """Train, save ``glare_unet.pt``, export ONNX + YAML into ``out``; return the ONNX path."""
    import torch

    from .export import export_onnx
    from .net import GlareNet, count_parameters, push_pull_fill

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    if crop % 32:
        raise ValueError(f"crop must be a multiple of 32 px, got {crop}")
    sampler = Sampler(seed, crop=crop, synth_fraction=synth_fraction)
    val = Sampler(seed + 10_000, synth_frames=60).batch(48)
    v_img, v_hole, v_tgt = (torch.from_numpy(a) for a in val)
    net = GlareNet()
    print(f"GlareNet: {count_parameters(net)} parameters; {len(sampler.synth)} synthetic frames, "
          f"{len(sampler.photos)} photos", flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    warm = min(200, steps // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    with torch.no_grad():
        base_psnr = hole_psnr(push_pull_fill(v_img, v_hole).numpy(), v_tgt.numpy(), v_hole.numpy())
    log_path = out / "train_log.csv"
    t0 = time.time()
    running = 0.0
    with open(log_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "loss", "val_psnr_net_db", "val_psnr_pushpull_db", "seconds"])
        for step in range(1, steps + 1):
            img, hole, tgt = (torch.from_numpy(a) for a in sampler.batch(batch))
            pred = net(img, hole)
            denom = hole.sum() * 3 + 1.0
            l1 = ((pred - tgt).abs() * hole).sum() / denom
            gx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
            gy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
            hx = torch.maximum(hole[..., :, 1:], hole[..., :, :-1])
            hy = torch.maximum(hole[..., 1:, :], hole[..., :-1, :])
            lg = (((gx(pred) - gx(tgt)).abs() * hx).sum() + ((gy(pred) - gy(tgt)).abs() * hy).sum()) / (2 * denom)
            l2 = (((pred - tgt) ** 2) * hole).sum() / denom
            loss = l1 + 0.5 * lg + 5.0 * l2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach())
            if step % log_every == 0 or step == steps:
                net.eval()
                with torch.no_grad():
                    v = hole_psnr(net(v_img, v_hole).numpy(), v_tgt.numpy(), v_hole.numpy())
                net.train()
                n = log_every if step % log_every == 0 else step % log_every
                writer.writerow([step, f"{running / n:.5f}", f"{v:.3f}", f"{base_psnr:.3f}", f"{time.time() - t0:.1f}"])
                f.flush()
                print(f"step {step}/{steps} loss {running / n:.4f} val hole PSNR {v:.2f} dB "
                      f"(push-pull {base_psnr:.2f} dB) {time.time() - t0:.0f} s", flush=True)
                running = 0.0
            if step % 1000 == 0:
                torch.save(net.state_dict(), out / "glare_unet.pt")
    net.eval()
    torch.save(net.state_dict(), out / "glare_unet.pt")
    return export_onnx(net, out / "glare_unet.onnx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint train``."""
    parser.add_argument("--out", type=Path, required=True, help="output folder (weights, ONNX, YAML, log)")
    parser.add_argument("--steps", type=int, default=4500, help="optimiser steps (default 4500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch", type=int, default=16, help="crops per step (default 16)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate (default 2e-3)")
    parser.add_argument("--crop", type=int, default=CROP, help=f"training crop side, px, multiple of 32 (default {CROP})")
    parser.add_argument("--synth-fraction", type=float, default=0.6, help="fraction 0..1 of crops from the synthetic glare frames (default 0.6)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: on a shared 2-core machine more threads spin and run slower)")


def run(args: argparse.Namespace) -> int:
    """Train and export; exit code 0."""
    if args.steps < 1:
        raise SystemExit("--steps must be >= 1")
    path = train(args.out, args.steps, args.seed, batch=args.batch, lr=args.lr, threads=args.threads,
                 crop=args.crop, synth_fraction=args.synth_fraction, log_every=50)
    print(f"wrote {path}")
    return 0
