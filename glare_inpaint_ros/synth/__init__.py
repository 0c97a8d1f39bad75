"""Seeded synthetic glare dataset: scikit-image photos with rendered specular highlights.

Used by the eval harness, the tests, the demo and model training. Everything is reproducible:
sample ``index`` of seed ``seed`` is always the same arrays (its random stream is
``numpy.random.default_rng([seed, index])``), independent of how many other samples are made.

Conventions: images are BGR uint8 ``HxWx3``, masks ``HxW`` uint8 with 255 = glare, sizes are
given as ``(width, height)`` in px.

Highlight model (:func:`render_glare`): a float32 highlight map ``A`` (``HxWx3``, 0..1 per
channel, the light's colour times an intensity profile, summed over highlights and clipped to 1)
is *screen*-blended onto the clean image::

    out = 1 - (1 - clean) * (1 - A)        (all in 0..1)

so an intensity >= 1 saturates the pixel to the light colour (a saturated core) while weaker
highlights brighten it smoothly. Three kinds of highlight are drawn, of random sizes and counts:

* **lobes**: rotated ellipses with a super-Gaussian (Phong-like) falloff
  ``peak * exp(-0.5 * r^(2k))``, ``r`` the normalised elliptical radius, ``k`` in 1.5..4
  (1 would be a Gaussian/Phong lobe; larger k = the flatter top and shorter rim of an extended
  light source seen in a glossy surface); peaks from 0.6 (not saturated) to 2.5 (a wide saturated
  core);
* **streaks**: very elongated super-Gaussian ellipses (aspect 6..25, ``k`` 1.2..3) along a random
  direction, as on wet roads, polished rails or cylinders;
* **glints**: clusters of tiny (1.2..4 px sigma) spots tinted by a more coloured light.

Ground-truth rule (:data:`GT_DELTA`): a pixel is glare where the highlight raises it by at least
``GT_DELTA`` = 20 8-bit levels in some channel, i.e. ``max_c(out_c - clean_c) >= 20``. Fainter
halo is left out of the mask: it is within the dilation margin the pipeline adds anyway and
invisible to any detector. A pixel that was already saturated cannot be raised, so it is not glare.

Glare over content (an added kind, :func:`make_content_sample`, ``make-synthetic --content``, eval
``--synthetic-content``): the clean frame is a rendered scene of :mod:`.content` (lane paint,
labels with text, white cars and signs, night streets) and the highlights are *added* light aimed
at that content (:func:`render_content_glare`); its own stream ``default_rng([seed, index, 2])``,
so the set above is unchanged.

Glints on labels (:func:`make_glint_label_sample`, eval ``--synthetic-labels``): white print of
short words on a glossy, saturated stock with small clipped glints all over: what a glint test can
mistake for glints (the dot of an i, a minus sign) next to what it must take; stream
``default_rng([seed, index, 4])``.

Hard negatives (training data only, ``make_sample(..., hard_negatives=p)``, off by default): with
probability ``p`` the clean scene first gets things painted in that look bright but are not glare
(saturated coloured objects, white matte patches, dark scenes with a few lit objects) and the
highlights may be dim; the GT rule above is unchanged.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np

if TYPE_CHECKING:
    from . import content

#: Minimum rise (8-bit levels, in the channel that rises most) for a pixel to be in the GT mask.
GT_DELTA: int = 20

#: scikit-image photos used as clean scenes (all ship inside the wheel; no download). They must be
#: free of real highlights, which the GT mask would not label: ``astronaut`` (helmet ring),
#: ``coffee`` (spoon), ``rocket`` (lamps), ``hubble_deep_field`` (stars) and ``stereo_motorcycle``
#: (chrome) are left out
#: for that reason. ``camera``, ``gravel`` and ``clock`` are grey (textured hard negatives).
PHOTO_NAMES: tuple[str, ...] = (
    "chelsea", "cat", "immunohistochemistry", "retina", "camera", "gravel", "clock",
)

#: Frame area the highlight sizes are designed for (640 x 480 px); other sizes scale with
#: sqrt(area).
_REF_AREA = 640.0 * 480.0


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    """The clean photos, BGR uint8, loaded once and marked read-only."""
    import skimage.data

    out = []
    for name in PHOTO_NAMES:
        img = getattr(skimage.data, name)()
        img = np.asarray(img)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        bgr = np.ascontiguousarray(cv2.cvtColor(img[:, :, :3], cv2.COLOR_RGB2BGR))
        bgr.flags.writeable = False
        out.append(bgr)
    return tuple(out)


def clean_images() -> list[np.ndarray]:
    """The clean scenes (:data:`PHOTO_NAMES`) as BGR uint8 ``HxWx3`` arrays (fresh copies)."""
    return [p.copy() for p in _photos()]


def _check_bgr8(image: np.ndarray, name: str) -> np.ndarray:
    """A contiguous BGR uint8 ``HxWx3`` array, or TypeError/ValueError naming the problem."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"{name} dtype must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must be HxWx3 (BGR), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    return np.ascontiguousarray(image)


def _light_colour(rng: np.random.Generator, tint_range: tuple[float, float]) -> np.ndarray:
    """A light colour (BGR float32, max channel 1): white mixed with a random hue by ``tint``."""
    hue = np.uint8(rng.integers(0, 180))
    pure = cv2.cvtColor(np.array([[[hue, 255, 255]]], np.uint8), cv2.COLOR_HSV2BGR)[0, 0] / 255.0
    tint = rng.uniform(*tint_range)
    colour = (1.0 - tint) + tint * pure
    return (colour / colour.max()).astype(np.float32)


def _ellipse_profile(
    h: int, w: int, cx: float, cy: float, sx: float, sy: float, angle: float, sharpness: float,
) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Super-Gaussian ellipse ``exp(-0.5 * r^(2*sharpness))`` on its bounding box.

    ``sx``/``sy`` are the 1-sigma semi-axes in px, ``angle`` in radians. Returns the box (as
    slices into the ``h x w`` frame) and the float32 profile on it, or None if it is off-frame.
    """
    reach = 3.5 * max(sx, sy)
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, w)
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, h)
    if x0 >= x1 or y0 >= y1:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = xs - np.float32(cx), ys - np.float32(cy)
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    u = (dx * c + dy * s) / np.float32(sx)
    v = (-dx * s + dy * c) / np.float32(sy)
    r2 = u * u + v * v
    prof = (np.exp(np.float32(-0.5) * r2 ** np.float32(sharpness)) if sharpness != 1.0
            else np.exp(np.float32(-0.5) * r2))
    return (slice(y0, y1), slice(x0, x1)), prof.astype(np.float32)


def _draw_highlight(
    rng: np.random.Generator, h: int, w: int, light: np.ndarray, scale: float, size_factor: float,
) -> list[tuple[tuple[slice, slice], np.ndarray]]:
    """One random highlight (lobe, streak or glint cluster) as ``(box, HxWx3 float32 map)``
    parts."""
    kind = rng.choice(3, p=(0.5, 0.25, 0.25))
    parts: list[tuple[tuple[slice, slice], np.ndarray]] = []
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    if kind == 0:  # elliptical lobe
        sigma = np.exp(rng.uniform(np.log(4.0), np.log(32.0))) * scale * size_factor
        aspect = rng.uniform(1.0, 2.5)
        peak = rng.uniform(0.6, 2.5)
        spec = [
            (cx, cy, sigma * aspect, sigma, rng.uniform(0, np.pi), rng.uniform(1.5, 4.0), peak,
             light)]
    elif kind == 1:  # streak
        across = rng.uniform(1.5, 7.0) * scale * size_factor
        along = across * rng.uniform(6.0, 25.0)
        peak = rng.uniform(0.6, 2.0)
        spec = [(cx, cy, along, across, rng.uniform(0, np.pi), rng.uniform(1.2, 3.0), peak, light)]
    else:  # cluster of small coloured glints
        glint_light = _light_colour(rng, (0.1, 0.5))
        n = int(rng.integers(3, 13))
        spread = rng.uniform(8.0, 40.0) * scale * size_factor
        spec = []
        for _ in range(n):
            sigma = rng.uniform(1.2, 4.0) * scale * max(size_factor, 0.5)
            spec.append((
                cx + rng.normal(0, spread), cy + rng.normal(0, spread), sigma,
                sigma * rng.uniform(0.7, 1.0), rng.uniform(0, np.pi), rng.uniform(1.0, 2.0),
                rng.uniform(0.7, 2.0), glint_light,
            ))
    for gx, gy, sx, sy, angle, sharp, peak, colour in spec:
        res = _ellipse_profile(h, w, gx, gy, sx, sy, angle, sharp)
        if res is None:
            continue
        box, prof = res
        parts.append((box, (prof * np.float32(peak))[:, :, None] * colour[None, None, :]))
    return parts


def _screen(clean_f: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Screen-blend ``amount`` (0..1+, clipped to 1) onto ``clean_f`` (float32 0..1)."""
    return 1.0 - (1.0 - clean_f) * (1.0 - np.minimum(amount, 1.0))


def _gt(clean_f: np.ndarray, out_f: np.ndarray) -> np.ndarray:
    """GT rule: bool, the highest per-channel rise is >= :data:`GT_DELTA` levels."""
    return (out_f - clean_f).max(axis=2) * 255.0 >= GT_DELTA - 1e-3


def render_glare(
    clean: np.ndarray, rng: np.random.Generator, *, coverage: tuple[float, float] = (0.005, 0.05),
    strength: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Add random specular highlights to ``clean``.

    Args:
        clean: BGR uint8 ``HxWx3`` (not modified).
        rng: the random stream (the result is a pure function of ``clean`` and its state).
        coverage: ``(low, high)`` fractions 0..1 of the frame: a target GT coverage is drawn
            uniformly in this range and highlights are added until it is reached; a highlight that
            would push the coverage above ``high`` is retried smaller or dropped. On a frame that
            is almost entirely saturated the target may be unreachable (fewer pixels are marked).
        strength: factor (> 0) on every highlight's peak; < 1 draws dim, unsaturated highlights
            (more of them are drawn to reach the coverage; the GT rule still decides the mask).

    Returns:
        ``(image_with_glare, gt_mask)``: BGR uint8, and ``HxW`` uint8 with 255 where the
        highlight raises the pixel by >= :data:`GT_DELTA` levels (see the module docstring).

    Raises:
        TypeError / ValueError: ``clean`` is not a non-empty BGR uint8 image, or ``coverage`` is
            not ``0 <= low <= high <= 1``.
    """
    clean = _check_bgr8(clean, "clean")
    lo, hi = (float(c) for c in coverage)
    if not (0.0 <= lo <= hi <= 1.0):
        raise ValueError(f"coverage must satisfy 0 <= low <= high <= 1, got {coverage!r}")
    if not strength > 0.0:
        raise ValueError(f"strength must be > 0, got {strength!r}")
    h, w = clean.shape[:2]
    clean_f = clean.astype(np.float32) / np.float32(255.0)
    amount = np.zeros((h, w, 3), np.float32)
    gt = np.zeros((h, w), bool)
    target = rng.uniform(lo, hi) * h * w
    limit = hi * h * w
    light = _light_colour(rng, (0.0, 0.3))
    scale = float(np.sqrt(h * w / _REF_AREA))
    count = 0
    for _ in range(200):
        if count >= target:
            break
        size_factor = 1.0
        for _retry in range(4):
            parts = _draw_highlight(rng, h, w, light, scale, size_factor)
            saved = [(box, amount[box].copy(), gt[box].copy()) for box, _ in parts]
            for box, add in parts:
                amount[box] += add if strength == 1.0 else add * np.float32(strength)
            for box, _ in parts:
                gt[box] = _gt(clean_f[box], _screen(clean_f[box], amount[box]))
            new_count = int(np.count_nonzero(gt))
            if new_count <= limit:
                count = new_count
                break
            for box, a, g in reversed(saved):  # too big: undo and retry smaller
                amount[box] = a
                gt[box] = g
            size_factor *= 0.5
    out = np.clip(_screen(clean_f, amount) * np.float32(255.0) + np.float32(0.5), 0,
                  255).astype(np.uint8)
    # Recompute on the quantised output so the mask exactly follows the rule on the returned pair.
    rise = cv2.subtract(out, clean).max(axis=2)
    mask = np.where(rise >= GT_DELTA, np.uint8(255), np.uint8(0))
    return out, mask


def _augment(photo: np.ndarray, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A random scale (1..1.8x the cover scale), crop, horizontal flip and exposure of
    ``photo``."""
    width, height = size
    ph, pw = photo.shape[:2]
    s = max(width / pw, height / ph) * rng.uniform(1.0, 1.8)
    sw, sh = max(width, int(round(pw * s))), max(height, int(round(ph * s)))
    interp = cv2.INTER_AREA if s < 1.0 else cv2.INTER_LINEAR
    scaled = cv2.resize(photo, (sw, sh), interpolation=interp)
    x0 = int(rng.integers(0, sw - width + 1))
    y0 = int(rng.integers(0, sh - height + 1))
    crop = scaled[y0:y0 + height, x0:x0 + width]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    # Exposure: gain 0.5..1.05 and gamma 0.8..1.25 (auto-exposure with a bright light in view).
    gain, gamma = rng.uniform(0.5, 1.05), rng.uniform(0.8, 1.25)
    lut = np.clip(255.0 * gain * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(cv2.LUT(np.ascontiguousarray(crop), lut))


def _paint_object(canvas: np.ndarray, rng: np.random.Generator, colour: np.ndarray, relief: float,
                  texture: float, scale: float) -> None:
    """Paint one matte object onto ``canvas`` (float32 BGR 0..1, in place).

    The object is a rotated super-ellipse (round to boxy) of ``colour`` (BGR 0..1) with diffuse
    (Lambertian) shading of a dome under a random light, depth ``relief`` (0 = flat, 1 = black at
    the rim), multiplicative texture of relative amplitude ``texture`` and a 1 px anti-aliased
    edge.
    """
    h, w = canvas.shape[:2]
    sx = np.exp(rng.uniform(np.log(35.0), np.log(220.0))) * scale
    sy = sx * rng.uniform(0.4, 1.0)
    cx, cy, angle, power = (rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, np.pi),
                            rng.uniform(2.0, 6.0))
    x0, x1 = max(int(cx - sx) - 1, 0), min(int(cx + sx) + 2, w)
    y0, y1 = max(int(cy - sx) - 1, 0), min(int(cy + sx) + 2, h)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    u = ((xs - cx) * c + (ys - cy) * s) / np.float32(sx)
    v = (-(xs - cx) * s + (ys - cy) * c) / np.float32(sy)
    r = (np.abs(u) ** power + np.abs(v) ** power) ** (1.0 / power)
    alpha = np.clip((1.0 - r) * np.float32(sy) + 0.5, 0.0, 1.0)[:, :, None]
    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7), 1.0], np.float32)
    light /= np.linalg.norm(light)
    nz = np.sqrt(np.maximum(1.0 - u * u - v * v, 0.0))
    shade = np.clip(u * light[0] + v * light[1] + nz * light[2], 0.0, 1.0)
    noise = cv2.GaussianBlur(rng.standard_normal(xs.shape).astype(np.float32), (0, 0),
                             rng.uniform(0.7, 3.0))
    noise *= np.float32(texture) / (noise.std() + np.float32(1e-6))
    obj = (colour[None, None, :] * ((1.0 - relief) + relief * shade)[:, :, None]
           * (1.0 + noise)[:, :, None])
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1.0 - alpha) + np.clip(obj, 0.0, 1.0) * alpha


def _hard_negative_scene(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``clean`` with non-glare content painted in, and the highlight strength to render on it.

    Half the scenes are exposed dark and near-linear (a lit object on a dark background, as in
    lab photos of glossy objects) with 2..5 objects, the others keep their exposure and get 1..4.
    Objects are saturated and bright (plastic, paint: S 150..255, V 110..255, shaded) or, less
    often, white but diffuse (paper, plaster: S <= 30, V 190..250, textured). None of this is
    glare: the GT mask only follows the highlights rendered afterwards. Dark scenes get dim
    highlights (strength 0.12..0.6) 70 % of the time, the others 30 % of the time.
    """
    h, w = clean.shape[:2]
    scale = float(np.sqrt(h * w / _REF_AREA))
    canvas = clean.astype(np.float32) / np.float32(255.0)
    dark = rng.random() < 0.5
    if dark:
        canvas = canvas ** np.float32(rng.uniform(1.0, 1.6)) * np.float32(rng.uniform(0.05, 0.3))
    for _ in range(int(rng.integers(2, 6) if dark else rng.integers(1, 5))):
        hue = rng.integers(0, 180)
        if rng.random() < (0.8 if dark else 0.6):  # saturated, bright coloured object
            hsv, relief, texture = (hue, rng.integers(150, 256),
                                    rng.integers(110,
                                                 256)), rng.uniform(0.3,
                                                                    0.9), rng.uniform(0.0, 0.06)
        else:  # white-but-diffuse matte patch with texture
            hsv, relief, texture = (hue, rng.integers(0, 31),
                                    rng.integers(190,
                                                 251)), rng.uniform(0.0,
                                                                    0.3), rng.uniform(0.03, 0.12)
        colour = cv2.cvtColor(np.array([[hsv]], np.uint8),
                              cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32) / np.float32(255.0)
        _paint_object(canvas, rng, colour, relief, texture, scale)
    strength = rng.uniform(0.12, 0.6) if rng.random() < (0.7 if dark else 0.3) else 1.0
    return np.clip(canvas * np.float32(255.0) + np.float32(0.5), 0,
                   255).astype(np.uint8), float(strength)


def make_sample(
    index: int, seed: int = 0, size: tuple[int, int] = (640, 480), hard_negatives: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``index`` of the seeded synthetic set.

    The photo is ``PHOTO_NAMES[index % len(PHOTO_NAMES)]``; crop, flip, scale, exposure and
    highlights come from ``numpy.random.default_rng([seed, index])``.

    Args:
        index: sample number, >= 0.
        seed: dataset seed, >= 0.
        size: ``(width, height)`` in px, each >= 8.
        hard_negatives: probability 0..1 that the clean scene gets non-glare content painted in
            before the highlights are rendered (:func:`_hard_negative_scene`: saturated coloured
            objects, white matte patches, dark scenes; dim highlights), drawn from its own stream
            ``default_rng([seed, index, 1])``. Training data only: 0 (the default) gives the
            evaluation set, unchanged.

    Returns:
        ``(input, mask, clean)``: BGR uint8 with glare, ``HxW`` uint8 GT mask (255 = glare),
        BGR uint8 clean image (the inpainting ground truth).
    """
    if int(index) != index or index < 0 or int(seed) != seed or seed < 0:
        raise ValueError(
            f"index and seed must be integers >= 0, got index={index!r}, seed={seed!r}")
    width, height = (int(v) for v in size)
    if width < 8 or height < 8:
        raise ValueError(f"size must be (width, height) with both >= 8 px, got {size!r}")
    if not 0.0 <= hard_negatives <= 1.0:
        raise ValueError(f"hard_negatives must be a probability 0..1, got {hard_negatives!r}")
    rng = np.random.default_rng([int(seed), int(index)])
    photos = _photos()
    clean = _augment(photos[int(index) % len(photos)], rng, (width, height))
    strength = 1.0
    if hard_negatives > 0.0:  # own stream: the default samples draw exactly what they always drew
        hard_rng = np.random.default_rng([int(seed), int(index), 1])
        if hard_rng.random() < hard_negatives:
            clean, strength = _hard_negative_scene(clean, hard_rng)
    image, mask = render_glare(clean, rng, strength=strength)
    return image, mask, clean


def make_dataset(
    out_dir: str | Path, n: int = 200, seed: int = 0, size: tuple[int, int] = (640, 480),
    progress: bool = True,
) -> Path:
    """Write samples ``0..n-1`` as ``out_dir/{input,mask,gt}/NNNN.png`` and return ``out_dir``.

    ``progress``: show a tqdm bar on stderr.

    ``input`` is the image with glare, ``mask`` the GT mask (255 = glare), ``gt`` the clean image.
    File names are zero-padded to 4 digits (more if ``n > 10000``).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    out = Path(out_dir)
    dirs = {k: out / k for k in ("input", "mask", "gt")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    digits = max(4, len(str(n - 1)))
    from tqdm import tqdm

    for i in tqdm(range(n), desc="synthetic", unit="img", leave=False, disable=not progress):
        image, mask, clean = make_sample(i, seed, size)
        name = f"{i:0{digits}d}.png"
        for key, arr in (("input", image), ("mask", mask), ("gt", clean)):
            if not cv2.imwrite(str(dirs[key] / name), arr):
                raise OSError(f"could not write {dirs[key] / name}")
    return out


# --------------------------------------------------------------------------- glare over content


def _content_highlights(scene: "content.ContentScene", rng: np.random.Generator, light: np.ndarray,
                        scale: float) -> list[tuple[float, float, float, float, float, float,
                                                    float, np.ndarray]]:
    """Highlight specs ``(cx, cy, sx, sy, angle, sharpness, peak, colour)`` aimed at the scene's
    content.

    * ``label``: 1..2 smooth lobes on text lines (a few cap heights tall, along the line): the core
      clips letters, the fringe leaves them legible;
    * ``road`` / ``car``: wet-road streaks crossing the lane paint and a lobe on it; on ``car``
      also a lobe and a cluster of glints on the white body and a lobe on the sign;
    * ``night``: blooms around lamps and lit windows, and wet-road streaks below them.
    """
    h, w = scene.image.shape[:2]
    targets = scene.targets
    specs = []

    def on(box: np.ndarray) -> tuple[float, float]:
        return float(rng.uniform(box[0], box[2])), float(rng.uniform(box[1], box[3]))

    if scene.kind == "label":
        for i in rng.permutation(len(targets))[: int(rng.integers(1, 3))]:
            box = targets[i]
            bh = max(float(box[3] - box[1]), 4.0)
            cx, cy = on(box)
            specs.append((cx, cy, bh * rng.uniform(1.2, 3.0), bh * rng.uniform(0.5, 1.0),
                          rng.uniform(-0.3, 0.3),
                          rng.uniform(1.0, 2.0), rng.uniform(1.2, 3.0), light))
    if scene.kind in ("road", "car") and len(scene.lanes):
        lanes = scene.lanes[np.maximum(scene.lanes[:, 1], scene.lanes[:, 3]) > 0.65 * h]
        lanes = lanes if len(lanes) else scene.lanes
        for _ in range(int(rng.integers(1, 4))):  # wet-road streaks crossing the paint
            x0, y0, x1, y1 = lanes[int(rng.integers(len(lanes)))]
            t = rng.uniform(0.2, 1.0)
            cx, cy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            along = rng.uniform(25.0, 90.0) * scale
            specs.append((cx, cy, along, along / rng.uniform(5.0, 12.0), rng.uniform(-0.5, 0.5),
                          rng.uniform(1.2, 2.5), rng.uniform(0.8, 2.0), light))
        x0, y0, x1, y1 = lanes[int(rng.integers(len(lanes)))]  # a lobe on the paint
        t = rng.uniform(0.3, 1.0)
        sigma = rng.uniform(8.0, 22.0) * scale
        specs.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0), sigma * rng.uniform(1.0, 2.0), sigma,
                      rng.uniform(0, np.pi), rng.uniform(1.5, 3.0), rng.uniform(1.0, 2.5), light))
    if scene.kind == "car":
        car, sign = targets[0], targets[2]
        cw = float(car[2] - car[0])
        cx, cy = on(car)
        specs.append((cx, cy, cw * rng.uniform(0.08, 0.2), cw * rng.uniform(0.05, 0.1),
                      rng.uniform(0, np.pi),
                      rng.uniform(1.5, 3.0), rng.uniform(0.8, 2.0), light))
        glint = _light_colour(rng, (0.0, 0.3))
        gx, gy = on(car)
        for _ in range(int(rng.integers(4, 11))):
            sigma = rng.uniform(1.2, 3.5) * scale
            specs.append((gx + rng.normal(0, 0.08 * cw), gy + rng.normal(0, 0.05 * cw), sigma,
                          sigma,
                          0.0, 1.5, rng.uniform(1.0, 2.5), glint))
        if rng.random() < 0.6:
            bh = float(sign[3] - sign[1])
            sx, sy = on(sign)
            specs.append((sx, sy, bh * rng.uniform(0.5, 1.2), bh * rng.uniform(0.3, 0.6),
                          rng.uniform(-0.3, 0.3),
                          rng.uniform(1.0, 2.0), rng.uniform(1.2, 3.0), light))
    if scene.kind == "night":
        for i in rng.permutation(len(targets))[: int(rng.integers(2, 5))]:
            cx, cy = on(targets[i])
            sigma = rng.uniform(8.0, 30.0) * scale
            specs.append((cx, cy, sigma, sigma * rng.uniform(0.7, 1.0), rng.uniform(0, np.pi),
                          rng.uniform(1.0, 2.0), rng.uniform(0.6, 1.5), light))
            along = rng.uniform(30.0, 100.0) * scale  # its reflection on the wet road below
            specs.append((cx + rng.normal(0, 5), rng.uniform(0.65, 0.95) * h,
                          along / rng.uniform(5, 10), along,
                          rng.uniform(-0.15, 0.15), rng.uniform(1.2, 2.5), rng.uniform(0.5, 1.2),
                          light))
    return specs


def render_content_glare(scene: "content.ContentScene",
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Glare rendered on top of a content scene (:mod:`.content`): ``(image_with_glare, gt_mask)``.

    Highlight model (unlike :func:`render_glare`'s screen blend): *additive* light, partly
    transparent, ``out = clip(clean + A)`` with ``A`` the light's colour times a smooth
    super-Gaussian lobe (:func:`_ellipse_profile`) times a peak of 0.5..3 (in units of full scale):
    the
    content under a highlight stays visible, with less contrast, in the fringe and is clipped to
    the light's colour in the core. Where the highlights go is chosen per scene kind
    (:func:`_content_highlights`). GT mask: the rule of the synthetic set, a pixel is glare where
    the output exceeds the clean frame by >= :data:`GT_DELTA` levels in some channel.
    """
    clean = _check_bgr8(scene.image, "scene.image")
    h, w = clean.shape[:2]
    scale = float(np.sqrt(h * w / _REF_AREA))
    amount = np.zeros((h, w, 3), np.float32)
    light = _light_colour(rng, (0.0, 0.3))
    for cx, cy, sx, sy, angle, sharp, peak, colour in _content_highlights(scene, rng, light,
                                                                          scale):
        res = _ellipse_profile(h, w, cx, cy, max(sx, 1.0), max(sy, 1.0), angle, sharp)
        if res is None:
            continue
        box, prof = res
        amount[box] += (prof * np.float32(peak))[:, :, None] * colour[None, None, :]
    out = np.clip(clean.astype(np.float32) + amount * np.float32(255.0) + np.float32(0.5), 0,
                  255).astype(np.uint8)
    rise = cv2.subtract(out, clean).max(axis=2)
    return out, np.where(rise >= GT_DELTA, np.uint8(255), np.uint8(0))


def make_content_sample(
    index: int, seed: int = 0, size: tuple[int, int] = (640, 480),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, "content.ContentScene"]:
    """Sample ``index`` of the glare-over-content set: a :func:`.content.render_scene` frame with
    :func:`render_content_glare` on top (highlights from ``default_rng([seed, index, 2])``).

    Returns:
        ``(input, mask, clean, scene)``: BGR uint8 with glare, ``HxW`` uint8 GT mask (255 = glare),
        the clean BGR uint8 frame (ground truth) and the scene (its ``truth()``: text, lane edges).
    """
    from . import content

    scene = content.render_scene(index, seed, size)
    image, mask = render_content_glare(scene, np.random.default_rng([int(seed), int(index), 2]))
    return image, mask, scene.image, scene


def make_glossy_sample(
    index: int, seed: int = 0, size: tuple[int, int] = (640, 480),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``index`` of the glossy-objects kind: coloured, shaded, finely textured objects on
    a dark table under one white light, with its specular lobes added on top (dichromatic model:
    diffuse + the light's colour; the strongest cores clip), like the lab photos of specular
    removal papers. Random stream ``default_rng([seed, index, 3])``.

    Returns:
        ``(input, mask, clean)``: BGR uint8 with highlights, ``HxW`` uint8 GT mask (255 = a rise
        of >= :data:`GT_DELTA` levels), the clean BGR uint8 frame.
    """
    rng = np.random.default_rng([int(seed), int(index), 3])
    w, h = size
    scale = np.sqrt(w * h / (640.0 * 480.0))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    diffuse = np.empty((h, w, 3), np.float32)
    diffuse[:] = rng.uniform(10, 30) * np.array([1.0, 1.05, 1.1], np.float32)
    spec = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.15, 0.85) * h
        ax, ay = rng.uniform(40, 110) * scale, rng.uniform(35, 90) * scale
        hue = rng.uniform(0, 180)
        sat, val = rng.uniform(0.45, 0.9), rng.uniform(150, 230)
        colour = (cv2.cvtColor(np.uint8([[[hue, sat * 255, 255]]]), cv2.COLOR_HSV2BGR)[0, 0]
                  / 255.0 * val)
        d2 = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2
        inside = d2 < 1.0
        shade = (np.clip(1.0 - 0.6 * d2, 0.0, 1.0)
                 * (1.0 + rng.normal(0, 0.03, (h, w)).astype(np.float32)))
        diffuse[inside] = (shade[:, :, None] * colour.astype(np.float32))[inside]
        for _ in range(int(rng.integers(1,
                                        3))):  # lobes on the object, towards the light (top left)
            lx, ly = cx - rng.uniform(0.1, 0.5) * ax, cy - rng.uniform(0.1, 0.5) * ay
            sig = rng.uniform(3, 12) * scale
            r2 = ((xx - lx) ** 2 + (yy - ly) ** 2) / sig ** 2
            spec += np.where(
                inside, rng.uniform(60, 400) * np.exp(-0.5 * r2 ** rng.uniform(1.0, 1.6)), 0.0)
    clean = np.clip(diffuse + 0.5, 0, 255).astype(np.uint8)
    image = np.clip(diffuse + spec[:, :, None] + 0.5, 0, 255).astype(np.uint8)
    rise = cv2.subtract(image, clean).max(axis=2)
    return image, np.where(rise >= GT_DELTA, np.uint8(255), np.uint8(0)), clean


#: Words of the glints-on-labels set: short ones, with the compact pieces of print that a glint
#: test can mistake for glints (the i, a minus sign, a dot).
LABEL_WORDS: tuple[str, ...] = (
    "is", "in", "it", "if", "of", "Li", "pH", "iO", "Fe", "SALE", "OK", "5%", "MILK", "EXP",
    "Lot", "12", "A", "Net", "250g", "NEW", "BIO", "x2", "Tea", "no", "7", "FREE", "100%", "USE",
    "BY", "03/27", "Zn", "minis", "fill", "lit", "i-1",
)


def make_glint_label_sample(
    index: int, seed: int = 0, size: tuple[int, int] = (640, 480),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, "content.ContentScene"]:
    """Sample ``index`` of the glints-on-labels set: a glossy label of a random, mostly
    saturated stock with 1-4 lines of 1-2 short words (:data:`LABEL_WORDS`) of white,
    anti-aliased print (any Hershey font, a fifth of the lines italic; rotated up to 5 degrees;
    lines may run out of the frame), and 18 small clipped glints anywhere, on the print too (a
    wet or glossy label under a lamp). Random stream ``default_rng([seed, index, 4])``.

    Returns:
        ``(input, mask, clean, scene)`` as :func:`make_content_sample`; the scene's ``text`` holds
        the lines that lie wholly inside the frame (None when none does), ``targets`` their
        boxes; the mask marks the glints (255 where a glint covers half a pixel or more).
    """
    from . import content

    rng = np.random.default_rng([int(seed), int(index), 4])
    w, h = (int(v) for v in size)
    zoom = w / 640.0
    stock = rng.integers(20, 220, 3).astype(np.float32)
    if np.ptp(stock) < 80:  # (a saturated stock: white print on it is what glints resemble)
        stock[2] = 230
    label = np.full((h, w, 3), stock, np.float32) + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    ink = np.zeros((h, w), np.uint8)
    lines, boxes = [], []
    for i in range(int(rng.integers(1, 5))):
        text = " ".join(str(t) for t in rng.choice(LABEL_WORDS, int(rng.integers(1, 3))))
        font = int(rng.integers(0, 8)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
        scale, thick = float(rng.uniform(0.8, 2.5)) * zoom, max(int(rng.integers(1, 5) * zoom), 1)
        x, y = int(rng.integers(10, max(w // 3, 11))), int(60 * zoom + i * h / 4.5)
        (tw, th), base = cv2.getTextSize(text, font, scale, thick)
        cv2.putText(ink, text, (x, y), font, scale, 255, thick, cv2.LINE_AA)
        if x + tw < w - 5 and y - th > 5 and y + base < h - 5:
            lines.append(text)
            boxes.append([x, y - th, x + tw, y + base])
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-5, 5)), 1.0)
    ink_f = cv2.warpAffine(ink, turn, (w, h)).astype(np.float32)[:, :, None] / np.float32(255.0)
    clean = label * (1 - ink_f) + np.float32(255.0) * ink_f
    spots = np.zeros((h, w), np.float32)
    for _ in range(18):
        cv2.circle(spots, (int(rng.integers(20, w - 20)), int(rng.integers(20, h - 20))),
                   max(int(rng.integers(2, 5) * zoom), 1), 1.0, -1)
    a = cv2.GaussianBlur(spots, (0, 0), 0.6)[:, :, None]
    image = np.clip(clean * (1 - a) + np.float32(255.0) * a + 0.5, 0, 255).astype(np.uint8)
    clean8 = np.clip(clean + 0.5, 0, 255).astype(np.uint8)
    scene = content.ContentScene(clean8, "label", "\n".join(lines) if lines else None,
                                 targets=np.array(boxes, np.float32).reshape(-1, 4))
    return image, np.where(a[:, :, 0] >= 0.5, np.uint8(255), np.uint8(0)), clean8, scene


def make_content_dataset(
    out_dir: str | Path, n: int = 100, seed: int = 0, size: tuple[int, int] = (640, 480),
    progress: bool = True, sample: Callable[..., tuple] = make_content_sample,
    camera: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Path:
    """Write content samples ``0..n-1`` as ``out_dir/{input,mask,gt}/NNNN.png`` +
    ``truth/NNNN.json``.

    ``gt/`` (the clean frames) alone is the rendered no-glare set; ``truth/`` holds each scene's
    :meth:`.content.ContentScene.truth` (kind, text, lane edges, content boxes). ``sample``:
    :func:`make_content_sample` (glare over content) or :func:`make_glint_label_sample`.
    ``camera``: applied to the input and the clean frame alike (:class:`.camera.Camera`: defocus,
    JPEG); the mask and the truth are the scene's.
    """
    from tqdm import tqdm

    from . import content

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    out = Path(out_dir)
    for k in ("input", "mask", "gt", "truth"):
        (out / k).mkdir(parents=True, exist_ok=True)
    digits = max(4, len(str(n - 1)))
    for i in tqdm(range(n), desc="content", unit="img", leave=False, disable=not progress):
        image, mask, clean, scene = sample(i, seed, size)
        if camera is not None:
            image, clean = camera(image), camera(clean)
        name = f"{i:0{digits}d}"
        for key, arr in (("input", image), ("mask", mask), ("gt", clean)):
            if not cv2.imwrite(str(out / key / f"{name}.png"), arr):
                raise OSError(f"could not write {out / key / name}.png")
        content.write_truth(out / "truth" / f"{name}.json", scene.truth())
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint make-synthetic``."""
    parser.add_argument("out", metavar="OUT", type=Path,
                        help="output folder (input/ mask/ gt/ are created)")
    parser.add_argument("--n", type=int, default=200, help="number of samples (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--width", type=int, default=640, help="image width in px (default 640)")
    parser.add_argument("--height", type=int, default=480, help="image height in px (default 480)")
    parser.add_argument("--content", action="store_true",
                        help="write the glare-over-content set instead (lane paint, labels, cars, "
                             "night; "
                             "adds truth/NNNN.json with the text and lane edges)")


def run(args: argparse.Namespace) -> int:
    """Write the dataset; exit code 0."""
    make = make_content_dataset if args.content else make_dataset
    out = make(args.out, n=args.n, seed=args.seed, size=(args.width, args.height))
    print(f"wrote {args.n} samples to {out}")
    return 0
