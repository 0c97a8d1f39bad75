"""``cluster``: the clustering ("active") detector: k-means on brightness, whiteness and contrast.

Per frame, at half resolution:

1. Features per pixel (float32, roughly 0..1): ``V / 255`` (HSV value), ``min(B,G,R) / 255``
   (whiteness: high only where every channel is high) and the contrast of ``min(B,G,R)`` against
   its local background (the :func:`~.local_contrast.background` estimate plus ``mad_factor``
   times the local MAD), ``/ 64`` clipped to -1..1.
2. k-means (``clusters`` centres, ``iterations`` Lloyd steps) fitted on ``sample_size`` random
   pixels only, plus the ``tail_fraction`` of them drawn from the brightest pixels so that the
   small glare population is represented. Centres are warm-started from the previous frame
   (:meth:`ClusterDetector.reset` forgets them); a cold start spreads the centres along brightness.
3. Every pixel is labelled by its nearest centre (vectorised); the glare clusters are those whose
   centre has ``V >= value_min`` and whiteness ``>= whiteness_min`` and contrast
   ``>= contrast_min``.
4. Pixels of glare clusters are kept where their own contrast is ``>= contrast_min`` or
   ``V >= bright_min``; the half-resolution mask is upsampled (nearest) to the frame.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np

from ..params import ParamSpec
from . import DETECTORS
from .base import Detector
from .local_contrast import background
from .threshold import value_and_min

#: Scale of the contrast feature: contrast / CONTRAST_SCALE, clipped to -1..1 (8-bit levels).
CONTRAST_SCALE = 64.0


@DETECTORS.register("cluster")
class ClusterDetector(Detector):
    """k-means on (V, whiteness, local contrast), warm-started between frames, fitted on a
    subsample."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("clusters", 5, "Number of k-means centres.", 2, 16),
        ParamSpec("iterations", 4,
                  "Lloyd iterations per frame (warm-started from the previous frame's centres).",
                  1, 50),
        ParamSpec("sample_size", 3000,
                  "Pixels the k-means is fitted on per frame (never all of them).", 100, 100_000),
        ParamSpec("tail_fraction", 0.3,
                  "Fraction 0..1 of the sample drawn from the brightest 5 % of pixels (the rest "
                  "uniformly).", 0.0, 1.0),
        ParamSpec("value_min", 170,
                  "A glare cluster's centre has HSV value V >= this, 8-bit levels.", 0, 255),
        ParamSpec("whiteness_min", 120,
                  "A glare cluster's centre has min(B,G,R) >= this, 8-bit levels.", 0, 255),
        ParamSpec("contrast_min", 25,
                  "A glare cluster's centre (and every glare pixel at full resolution, unless V "
                  ">= bright_min) is this many 8-bit levels above the local background of "
                  "min(B,G,R).", 0, 255),
        ParamSpec("bright_min", 250,
                  "Full-resolution pixels of a glare cluster with V >= this (8-bit levels) are "
                  "kept even without local contrast (large saturated areas).", 0, 255),
        ParamSpec("mad_factor", 1.5,
                  "The background level for the contrast feature is raised by this factor times "
                  "the local median absolute deviation (texture), 8-bit levels per level.", 0.0,
                  20.0),
        ParamSpec("background_px", 72,
                  "Background median window for the contrast feature, px in the frame.", 9, 1024),
        ParamSpec("seed", 0, "Seed of the subsampling random generator (reproducible masks).", 0,
                  2**31 - 1),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._rng = np.random.default_rng(self.params["seed"])
        self.centres: np.ndarray | None = None
        """Current k-means centres, ``clusters x 3`` float32 (None before the first frame / after
        reset)."""

    def reset(self) -> None:
        """Forget the warm-started centres and restart the subsampling stream."""
        self.centres = None
        self._rng = np.random.default_rng(self.params["seed"])

    def _features(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Half-resolution ``(N x 3 features, contrast plane in levels, V plane)``."""
        h, w = bgr.shape[:2]
        half = (cv2.resize(bgr, (max(w // 2, 1), max(h // 2, 1)), interpolation=cv2.INTER_AREA)
                if min(h, w) >= 4 else bgr)
        value, minimum = value_and_min(half)
        bg, mad = background(minimum, max(self.params["background_px"] // 2, 9),
                             self.params["contrast_min"])
        # Background plus the texture term (mad_factor x local MAD), so busy texture is not
        # contrast.
        bg = cv2.addWeighted(mad, self.params["mad_factor"], bg, 1.0, 0.0)
        bg = cv2.resize(bg, (minimum.shape[1], minimum.shape[0]), interpolation=cv2.INTER_LINEAR)
        contrast = cv2.subtract(minimum, bg, dtype=cv2.CV_16S)
        feats = np.empty((value.size, 3), np.float32)
        feats[:, 0] = value.ravel()
        feats[:, 1] = minimum.ravel()
        feats[:, 0:2] *= np.float32(1.0 / 255.0)
        feats[:, 2] = np.clip(contrast.ravel() * np.float32(1.0 / CONTRAST_SCALE), -1.0, 1.0)
        return feats, contrast, value

    def _sample(self, feats: np.ndarray) -> np.ndarray:
        """Row indices of the fitting sample: uniform plus a share from the brightest 5 %."""
        n = feats.shape[0]
        size = min(self.params["sample_size"], n)
        n_tail = int(size * self.params["tail_fraction"])
        idx = self._rng.integers(0, n, size - n_tail)
        if n_tail:
            pool = self._rng.integers(0, n, min(n, 20 * size))
            v = feats[pool, 0]
            cut = np.quantile(v, 0.95)
            bright = pool[v >= cut]
            idx = np.concatenate([idx, bright[self._rng.integers(0, len(bright), n_tail)]])
        return idx

    def _fit(self, sample: np.ndarray) -> np.ndarray:
        k = self.params["clusters"]
        centres = self.centres
        if centres is None or centres.shape[0] != k:
            order = np.argsort(sample[:, 0], kind="stable")
            picks = order[np.linspace(0, len(order) - 1, k).astype(int)]
            centres = sample[picks].copy()
        for _ in range(self.params["iterations"]):
            labels = _nearest(sample, centres)
            for j in range(k):
                members = sample[labels == j]
                if len(members):
                    centres[j] = members.mean(axis=0)
        return centres.astype(np.float32)

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        p = self.params
        h, w = bgr.shape[:2]
        feats, contrast, value = self._features(bgr)
        self.centres = self._fit(feats[self._sample(feats)])
        c = self.centres
        glare = (
            (c[:, 0] * 255 >= p["value_min"])
            & (c[:, 1] * 255 >= p["whiteness_min"])
            & (c[:, 2] * CONTRAST_SCALE >= p["contrast_min"])
        )
        if not glare.any():
            return np.zeros((h, w), np.uint8)
        lut = np.where(glare, np.uint8(255), np.uint8(0))
        labels = _nearest(feats, c)
        half_mask = lut[labels].reshape(value.shape)
        # Pixel-level gate at half resolution, then nearest upsampling to the frame.
        gate = (contrast >= p["contrast_min"]) | (value >= p["bright_min"])
        half_mask &= np.where(gate, np.uint8(255), np.uint8(0))
        if half_mask.shape != (h, w):
            return cv2.resize(half_mask, (w, h), interpolation=cv2.INTER_NEAREST)
        return half_mask


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (squared Euclidean) for each row of ``points`` (vectorised)."""
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every centre.
    c = np.ascontiguousarray(centres, dtype=np.float32)
    scores = points @ (np.float32(-2.0) * c.T)
    scores += (c * c).sum(axis=1)[None, :]
    return np.argmin(scores, axis=1)
