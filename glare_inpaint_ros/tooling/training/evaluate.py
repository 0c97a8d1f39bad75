"""Quality and speed check of inpainting backends (the numbers in ``models/MODEL_CARD.md``).

``python -m glare_inpaint_ros.tooling.training.evaluate [--n 40] [--backends learned,telea,ns,fast]
[--real DIR]``

* synthetic set (:func:`glare_inpaint_ros.synth.make_sample`, seed 0, 640x480): the GT mask
  dilated by 3 px is inpainted; PSNR (dB) and SSIM inside that region against the clean frame;
* ``--real DIR`` (e.g. ``../shared/data/sihr_shen``; none by default): real photos with ground
  truth (``DIR/input`` + ``DIR/gt``); the region is where ``max_c |input - gt| > 20`` levels
  (specks < 4 px dropped), dilated by 3 px;
* runtime: 1280x720 frame, 2 % mask in 6 blobs, median of ``--repeats`` calls (ms).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from ...core.inpainting import INPAINTERS
from ...core.masks import dilate, remove_small_components
from ..eval.metrics import psnr, ssim_map, masked_mean


def blob_mask(width: int, height: int, coverage: float, blobs: int, seed: int = 0) -> np.ndarray:
    """``height x width`` uint8 mask (255 = glare) of ``blobs`` random ellipses covering about
    ``coverage`` (fraction 0..1) of the frame."""
    rng = np.random.default_rng(seed)
    m = np.zeros((height, width), np.uint8)
    area = coverage * width * height / blobs
    for _ in range(blobs):
        aspect = rng.uniform(1.0, 2.0)
        b = np.sqrt(area / (np.pi * aspect))
        cx, cy = rng.uniform(0.1 * width, 0.9 * width), rng.uniform(0.1 * height, 0.9 * height)
        cv2.ellipse(m, (int(cx), int(cy)), (int(b * aspect), int(b)), float(rng.uniform(0, 180)),
                    0, 360, 255, -1)
    return m


def _scores(out: np.ndarray, clean: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    return psnr(out, clean, region), masked_mean(ssim_map(out, clean), region)


def evaluate(pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
             backends: list[str]) -> dict[str, tuple[float, float]]:
    """Mean region PSNR (dB) and SSIM per backend over ``(input, region, clean)`` triples."""
    res: dict[str, tuple[float, float]] = {}
    for name in backends:
        inp = INPAINTERS.get(name)()
        s = [_scores(inp.inpaint(img, region), clean, region) for img, region, clean in pairs]
        res[name] = (float(np.mean([a for a, _ in s])), float(np.mean([b for _, b in s])))
    return res


def synthetic_pairs(n: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Samples 0..n-1 of synthetic seed 0 (640x480) as ``(input, GT mask dilated 3 px, clean)``."""
    from ...synth import make_sample

    out = []
    for i in range(n):
        img, mask, clean = make_sample(i, 0, (640, 480))
        if mask.any():
            out.append((img, dilate(mask, 7), clean))
    return out


def real_pairs(folder: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``input/`` + ``gt/`` image pairs; region = ``max_c |input - gt| > 20``, specks < 4 px
    dropped, dilated 3 px."""
    out = []
    for p in sorted((folder / "input").iterdir()):
        gt_path = folder / "gt" / p.name
        img, gt = cv2.imread(str(p)), cv2.imread(str(gt_path))
        if img is None or gt is None or img.shape != gt.shape:
            continue
        diff = cv2.absdiff(img, gt).max(axis=2)
        region = dilate(
            remove_small_components(np.where(diff > 20, np.uint8(255), np.uint8(0)), 4), 7)
        out.append((img, region, gt))
    return out


def runtime_ms(name: str, repeats: int = 20) -> float:
    """Median ms of one ``inpaint`` call at 1280x720 with a 2 % mask in 6 blobs."""
    from ...synth import make_sample

    img, _, _ = make_sample(0, 0, (1280, 720))
    mask = blob_mask(1280, 720, 0.02, 6)
    inp = INPAINTERS.get(name)()
    inp.inpaint(img, mask)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        inp.inpaint(img, mask)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="synthetic samples (default 40)")
    parser.add_argument("--backends", default="learned,telea,ns,fast")
    parser.add_argument("--real", type=Path, default=None,
                        help="folder of real pairs (input/ + gt/), e.g. ../shared/data/sihr_shen "
                             "(default: none)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    backends = args.backends.split(",")
    sets = [("synthetic seed 0, 640x480", synthetic_pairs(args.n))]
    if args.real is not None:
        sets.append((str(args.real), real_pairs(args.real) if (args.real / "gt").is_dir() else []))
    for title, pairs in sets:
        if not pairs:
            print(f"{title}: no data")
            continue
        print(f"{title} ({len(pairs)} images): region PSNR dB / SSIM")
        for name, (p, s) in evaluate(pairs, backends).items():
            print(f"  {name:8s} {p:6.2f}  {s:.4f}")
    print("runtime 1280x720, 2% mask in 6 blobs (median ms):")
    for name in backends:
        print(f"  {name:8s} {runtime_ms(name, args.repeats):7.1f}")


if __name__ == "__main__":
    main()
