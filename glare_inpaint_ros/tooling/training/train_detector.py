"""``glare-inpaint train-detector``: train the ``learned`` detector's tiny network on CPU, export
ONNX.

Data: :func:`glare_inpaint_ros.synth.make_sample` at 640x480 with dataset seed
``--seed`` (default :data:`TRAIN_SEED` = 1000) for training and ``--seed + 1`` for validation
(checkpoint and threshold selection), both with ``hard_negatives=--hard-negatives`` (the share of
scenes with painted-in non-glare content: saturated coloured objects, white matte patches, dark
scenes, dim highlights). The evaluation set uses seed 0 without hard negatives, whose random
streams (``default_rng([0, index])``) are disjoint from these, so no evaluation image is trained
on. The clean *photos* are the same few scikit-image scenes in every seed (different crops,
scales, flips, exposures and highlights): synthetic F1 measures in-distribution accuracy; the real
images in the shared data folder (``../shared/data`` beside the checkout) are the test of
transfer (never trained on).

Training mirrors inference exactly (see :mod:`.detector_net`): the frame is area-downscaled by
``context_scale`` (the network's input, default 1/8) and by ``scale`` (the head, default 1 = full
resolution), both rounded to 8-bit levels like ``cv2.resize`` on uint8, the network predicts
coefficient maps, the head logits are upsampled bilinearly to the frame, and the loss (BCE + soft
dice, equal weights) is taken against the full-resolution GT mask. Random 256x256 crops (at
multiples of ``1 / context_scale``) with flips, Adam with a cosine learning rate over a fixed
number of steps (``--steps``), validation every ``--val-every`` steps,
``torch.set_num_threads(--threads)`` (default 1: on a 2-core machine 2 threads spin-wait and are
~10x slower), everything seeded (``--torch-seed``): the same command on the same torch version
gives the same weights, whatever the machine's load.

Outputs: ``--out`` (default ``runs/train-detector-<UTC time>/glare_detector.onnx``: a new run
folder, never the shipped model; pass ``--out glare_inpaint_ros/models/glare_detector.onnx`` to
replace that on purpose) and beside it
``glare_detector.pt`` (state dict + architecture) is *not* written unless ``--save-pt`` is given;
a JSON summary (validation F1 per threshold, chosen threshold) is printed and written next to
the ONNX file as ``<stem>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from ...core.detectors.learned import SHIPPED_MODEL

#: Dataset seed of the training samples (validation: TRAIN_SEED + 1). Evaluation uses seed 0.
TRAIN_SEED = 1000
#: Frame size of the training samples, (width, height) px.
TRAIN_SIZE = (640, 480)
#: Default output: the shipped model.
DEFAULT_OUT = SHIPPED_MODEL


def make_arrays(n: int, seed: int, cache: Path | None = None,
                hard_negatives: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(images [n, 480, 640, 3] uint8 BGR, masks [n, 480, 640] bool)`` of synth seed ``seed``,
    cached in ``cache`` (npz)."""
    if cache is not None and cache.is_file():
        data = np.load(cache)
        if len(data["images"]) == n:
            return data["images"], data["masks"]
    from tqdm import tqdm

    from ...synth import make_sample

    images = np.empty((n, TRAIN_SIZE[1], TRAIN_SIZE[0], 3), np.uint8)
    masks = np.empty((n, TRAIN_SIZE[1], TRAIN_SIZE[0]), bool)
    for i in tqdm(range(n), desc=f"synthetic seed {seed}", unit="img", mininterval=10):
        image, mask, _ = make_sample(i, seed, TRAIN_SIZE, hard_negatives=hard_negatives)
        images[i], masks[i] = image, mask > 0
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=images, masks=masks)
    return images, masks


def forward_frame(net, frames, scale: float,
                  context_scale: float = 0.125):  # type: ignore[no-untyped-def]
    """Full-frame logits ``[N, 1, H, W]`` for uint8 BGR frames ``[N, H, W, 3]`` (training path).

    Mirrors :class:`~glare_inpaint_ros.core.detectors.learned.LearnedDetector`: the network sees
    the frame area-downscaled by ``context_scale``, the head works at ``scale``; both are 1/k for
    integer k and ``H, W`` must be multiples of ``1 / context_scale`` (area downscaling = average
    pooling there).
    """
    import torch
    import torch.nn.functional as F

    from .detector_net import head_logits

    x = frames.to(torch.float32).permute(0, 3, 1, 2)
    f_head, f_ctx = int(round(1.0 / scale)), int(round(1.0 / context_scale))
    # Both downscales are rounded (half up) to 8-bit levels, like cv2.resize(INTER_AREA) on uint8.
    head = torch.floor(F.avg_pool2d(x, f_head) + 0.5) if f_head > 1 else x
    ctx = torch.floor(F.avg_pool2d(x, f_ctx) + 0.5)
    coef = net(ctx.permute(0, 2, 3, 1))
    logit = head_logits(coef, head.permute(0, 2, 3, 1))
    if logit.shape[-2:] != frames.shape[1:3]:
        logit = F.interpolate(logit, size=frames.shape[1:3], mode="bilinear", align_corners=False)
    return logit


def loss_fn(logit, target):  # type: ignore[no-untyped-def]
    """BCE (mean over pixels) + soft dice loss (1 - dice over the batch), equal weights."""
    import torch
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logit, target)
    prob = torch.sigmoid(logit)
    inter = (prob * target).sum()
    dice = 1.0 - (2.0 * inter + 1.0) / (prob.sum() + target.sum() + 1.0)
    return bce + dice


def pooled_f1(net, images: np.ndarray, masks: np.ndarray, scale: float, context_scale: float,
              thresholds: list[float]) -> dict[float, float]:  # type: ignore[no-untyped-def]
    """Pooled pixel F1 (0..1) on a set for each probability threshold."""
    import torch

    counts = {t: np.zeros(3) for t in thresholds}  # tp, fp, fn
    net.eval()
    with torch.no_grad():
        for i in range(0, len(images), 8):
            logit = forward_frame(net, torch.from_numpy(images[i:i + 8]), scale,
                                  context_scale)[:, 0].numpy()
            gt = masks[i:i + 8]
            for t in thresholds:
                pred = logit >= math.log(t / (1.0 - t))
                counts[t] += (np.count_nonzero(pred & gt), np.count_nonzero(pred & ~gt),
                              np.count_nonzero(~pred & gt))
    net.train()
    out = {}
    for t, (tp, fp, fn) in counts.items():
        out[t] = float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 1.0
    return out


def train(args: argparse.Namespace) -> dict:
    """Train, pick the best validation checkpoint, export ONNX; returns the summary dict."""
    import torch

    from .detector_net import GlareSegNet, export_onnx

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.torch_seed)
    rng = np.random.default_rng(args.torch_seed)
    cache = Path(args.cache) if args.cache else None
    hn = args.hard_negatives
    tag = f"_hn{hn:g}" if hn else ""
    images, masks = make_arrays(args.n_train, args.seed,
                                cache / f"train_{args.seed}_{args.n_train}{tag}.npz" if cache
                                else None, hn)
    val_images, val_masks = make_arrays(args.n_val, args.seed + 1,
                                        cache / f"val_{args.seed + 1}_{args.n_val}{tag}.npz"
                                        if cache else None, hn)
    net = GlareSegNet(width=args.width)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    step_px = int(round(1.0 / args.context_scale))
    crop = args.crop - args.crop % step_px
    h, w = images.shape[1:3]
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7]
    best = {"f1": -1.0}
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        for group in opt.param_groups:  # cosine decay over the steps
            group["lr"] = args.lr * 0.5 * (1.0 + math.cos(math.pi * (step - 1) / args.steps))
        idx = rng.integers(0, len(images), args.batch)
        ys = rng.integers(0, (h - crop) // step_px + 1, args.batch) * step_px
        xs = rng.integers(0, (w - crop) // step_px + 1, args.batch) * step_px
        batch_img = np.stack([images[i, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)])
        batch_gt = np.stack([masks[i, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)])
        if rng.random() < 0.5:
            batch_img, batch_gt = batch_img[:, :, ::-1], batch_gt[:, :, ::-1]
        if rng.random() < 0.5:
            batch_img, batch_gt = batch_img[:, ::-1], batch_gt[:, ::-1]
        frames = torch.from_numpy(np.ascontiguousarray(batch_img))
        target = torch.from_numpy(np.ascontiguousarray(batch_gt)).to(torch.float32)[:, None]
        loss = loss_fn(forward_frame(net, frames, args.scale, args.context_scale), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.val_every == 0 or step == args.steps:
            now = time.perf_counter()
            f1s = pooled_f1(net, val_images, val_masks, args.scale, args.context_scale, thresholds)
            t_best = max(f1s, key=f1s.get)
            print(f"[{(now - start) / 60:5.1f} min] step {step} loss {loss.item():.4f} val F1 "
                  + " ".join(f"{t}:{f:.3f}" for t, f in f1s.items()), flush=True)
            if f1s[t_best] > best["f1"]:
                best = {"f1": f1s[t_best], "threshold": t_best, "step": step,
                        "state": {k: v.clone() for k, v in net.state_dict().items()}}
    net.load_state_dict(best.pop("state"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(net, str(out), context_scale=args.context_scale, head_scale=args.scale)
    summary = {
        "train_seed": args.seed, "n_train": args.n_train, "val_seed": args.seed + 1,
        "n_val": args.n_val,
        "hard_negatives": args.hard_negatives, "scale": args.scale,
        "context_scale": args.context_scale,
        "width": args.width, "steps": args.steps, "batch": args.batch, "crop": args.crop,
        "lr": args.lr,
        "val_every": args.val_every, "minutes": (time.perf_counter() - start) / 60,
        "best_step": best["step"], "val_f1": best["f1"], "val_threshold": best["threshold"],
        "torch_seed": args.torch_seed, "threads": args.threads, "torch": torch.__version__,
        "onnx": out.name, "onnx_bytes": out.stat().st_size,
    }
    if args.save_pt:
        torch.save({"state_dict": net.state_dict(), "width": args.width}, out.with_suffix(".pt"))
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint train-detector``."""
    parser.add_argument("--out", type=Path, default=None,
                        help="ONNX output path (default: runs/train-detector-<UTC "
                             "time>/glare_detector.onnx; "
                             f"the shipped model is {DEFAULT_OUT.name} in the package's models "
                             "folder)")
    parser.add_argument("--seed", type=int, default=TRAIN_SEED,
                        help="synthetic dataset seed for training; seed+1 validates (default "
                             f"{TRAIN_SEED}; evaluation uses 0)")
    parser.add_argument("--n-train", type=int, default=800,
                        help="training samples (640x480), default 800")
    parser.add_argument("--n-val", type=int, default=60, help="validation samples, default 60")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="head resolution as a fraction of the frame (1/integer), default 1.0")
    parser.add_argument("--context-scale", type=float, default=0.125,
                        help="network input resolution as a fraction of the frame (1/integer), "
                             "default 0.125 (stored in the ONNX metadata)")
    parser.add_argument("--width", type=int, default=8,
                        help="network width (channels at context resolution), default 8")
    parser.add_argument("--hard-negatives", type=float, default=0.3,
                        help="share 0..1 of training/validation scenes with painted-in non-glare "
                             "content and dim highlights (synth.make_sample), default 0.3 (the "
                             "shipped model)")
    parser.add_argument("--steps", type=int, default=24000,
                        help="training steps (the cosine schedule spans them), default 24000 (the "
                             "shipped model)")
    parser.add_argument("--batch", type=int, default=8, help="crops per step, default 8")
    parser.add_argument("--crop", type=int, default=256, help="crop side in frame px, default 256")
    parser.add_argument("--lr", type=float, default=3e-3,
                        help="initial Adam learning rate (cosine decay), default 3e-3")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads, default 1")
    parser.add_argument("--torch-seed", type=int, default=0,
                        help="seed of initialisation and batch sampling, default 0")
    parser.add_argument("--val-every", type=int, default=1000,
                        help="steps between validations (and after the last step), default 1000")
    parser.add_argument("--cache", default="",
                        help="folder for cached training arrays (npz); '' = no cache")
    parser.add_argument("--save-pt", action="store_true",
                        help="also write <out>.pt (torch state dict)")


def run(args: argparse.Namespace) -> int:
    """Train and export; exit code 0."""
    for name in ("scale", "context_scale"):
        value = getattr(args, name)
        if not (0.0 < value <= 1.0) or abs(1.0 / value - round(1.0 / value)) > 1e-6:
            raise SystemExit(
                f"--{name.replace('_', '-')} must be 1/k for an integer k >= 1, got {value}")
    if args.steps < 1 or args.val_every < 1:
        raise SystemExit(
            f"--steps and --val-every must be >= 1, got {args.steps} and {args.val_every}")
    if not 0.0 <= args.hard_negatives <= 1.0:
        raise SystemExit(f"--hard-negatives must be 0..1, got {args.hard_negatives}")
    if args.out is None:  # a fresh run folder: never overwrite the shipped model by default
        args.out = (Path("runs") / time.strftime("train-detector-%Y%m%d-%H%M%S", time.gmtime())
                    / DEFAULT_OUT.name)
    elif args.out.is_dir() or not args.out.suffix:
        args.out = args.out / DEFAULT_OUT.name
    if args.out.exists() and not args.out.is_file():
        raise SystemExit(f"--out {args.out} exists and is not a file")
    print(f"writing {args.out}", flush=True)
    train(args)
    return 0
