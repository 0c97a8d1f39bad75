"""The benchmark's frames: seeded synthetic glare at a chosen resolution and mask coverage.

Highlights come from :func:`glare_inpaint_ros.synth.render_glare`. Rendering is costly
(seconds per frame above 640x480), so each frame is rendered at a small base size of the target
aspect ratio (:data:`BASE_WIDTH` px wide) and resized to the target: the glare *fraction* of the
frame is kept, which is what the stage timings depend on. Every section of one ``bench`` run
uses the same :class:`FrameSet` (cached per size and coverage).

Conventions: sizes are ``(width, height)`` px, images BGR uint8, masks ``HxW`` uint8 with
255 = glare, coverages fractions 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...core.masks import coverage as mask_coverage
from ...synth import clean_images, render_glare

#: Width (px) at which highlights are rendered before resizing to the benchmark size.
BASE_WIDTH = 480


@dataclass(frozen=True)
class Frame:
    """One benchmark frame.

    Attributes:
        image: BGR uint8 ``HxWx3`` with rendered glare (read-only).
        gt_mask: ``HxW`` uint8, 255 = glare (read-only), the rendered highlights.
    """

    image: np.ndarray
    gt_mask: np.ndarray


@dataclass(frozen=True)
class FrameSet:
    """Frames of one size and nominal coverage.

    Attributes:
        size: ``(width, height)`` px.
        coverage: the nominal glare coverage asked for, fraction 0..1.
        frames: the frames (cycled through by the timing loops).
    """

    size: tuple[int, int]
    coverage: float
    frames: tuple[Frame, ...]

    @property
    def gt_coverage(self) -> float:
        """Mean GT coverage actually rendered, fraction 0..1."""
        return float(np.mean([mask_coverage(f.gt_mask) for f in self.frames]))


def _cover_resize(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``photo`` scaled to cover ``size`` (width, height) and centre-cropped to it."""
    w, h = size
    ph, pw = photo.shape[:2]
    s = max(w / pw, h / ph)
    sw, sh = max(w, int(round(pw * s))), max(h, int(round(ph * s)))
    scaled = cv2.resize(photo, (sw, sh),
                        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x0, y0 = (sw - w) // 2, (sh - h) // 2
    return np.ascontiguousarray(scaled[y0:y0 + h, x0:x0 + w])


def make_frame(size: tuple[int, int], coverage: float, index: int, seed: int = 0) -> Frame:
    """Frame ``index`` of the benchmark set at ``size`` (width, height px) with about ``coverage``
    (fraction 0..1) of its pixels covered by glare (several highlights).

    Raises:
        ValueError: a size below 8 px or a coverage outside ``(0, 0.5]``.
    """
    w, h = (int(v) for v in size)
    if w < 8 or h < 8:
        raise ValueError(f"size must be (width, height) with both >= 8 px, got {size!r}")
    if not 0.0 < coverage <= 0.5:
        raise ValueError(f"coverage must be a fraction in (0, 0.5], got {coverage!r}")
    base = (min(w, BASE_WIDTH), max(8, int(round(h * min(w, BASE_WIDTH) / w))))
    photos = clean_images()
    clean = _cover_resize(photos[index % len(photos)], base)
    rng = np.random.default_rng([int(seed), int(index), int(round(coverage * 1e4))])
    image, gt = render_glare(clean, rng, coverage=(coverage, coverage))
    if base != (w, h):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        gt = cv2.resize(gt, (w, h), interpolation=cv2.INTER_NEAREST)
    image.flags.writeable = False
    gt.flags.writeable = False
    return Frame(image, gt)


class FrameCache:
    """Renders each (size, coverage) set once per run; ``count`` distinct frames per set."""

    def __init__(self, count: int = 3, seed: int = 0) -> None:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self.count, self.seed = int(count), int(seed)
        self._sets: dict[tuple[tuple[int, int], float], FrameSet] = {}

    def get(self, size: tuple[int, int], coverage: float) -> FrameSet:
        """The frames at ``size`` (width, height px) and nominal ``coverage`` (fraction 0..1)."""
        key = ((int(size[0]), int(size[1])), float(coverage))
        if key not in self._sets:
            frames = tuple(make_frame(key[0], key[1], i, self.seed) for i in range(self.count))
            self._sets[key] = FrameSet(key[0], key[1], frames)
        return self._sets[key]
