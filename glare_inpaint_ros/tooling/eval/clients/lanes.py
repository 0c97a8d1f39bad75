"""Lane-marking client: a classical lane-paint finder, scored on how much of the reference paint it
finds.

The finder is the recipe of driving tutorials (no learning):

1. colour selection in HLS (OpenCV scale, H 0..180): white paint ``L >= 200``; yellow paint
   ``15 <= H <= 35``, ``L >= 80``, ``S >= 80``;
2. Canny edges (50 / 150) of the blurred (5x5 Gaussian) grey image, kept where the colour selection
   (dilated 3 px) is set, so only paint borders remain;
3. a road-region trapezoid: bottom edge the full frame width, top edge from 35 % to 65 % of the
   width at 58 % of the height;
4. :func:`cv2.HoughLinesP` (rho 1 px, theta 1 deg, 15 votes, min length 2 % of the frame
   diagonal, max gap 1 %); near-horizontal segments (``|dy| < 0.3 |dx|``) are dropped (a lane
   line is never horizontal in a forward camera; stop lines and shadows edges often are).

Score (:meth:`LaneClient.score`, 0..1): the share of the reference paint length, sampled every 2
px, that lies within ``tol`` px of a detected candidate segment of similar direction (within 10
deg), ``tol = max(3, 0.5 % of the frame diagonal)`` (3.9 px at 640x480, 7.3 px at 1280x720). The
reference is the known painted lane-line edges for rendered frames (``truth["lanes"]``, only the
parts inside the road trapezoid), else the segments the finder detects on the clean frame.
It measures what is still *found*; extra segments (from glare streaks) are not penalised here.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

#: Road region: top edge y as a fraction of the height, its x span as fractions of the width.
ROI_TOP_Y = 0.58
ROI_TOP_X = (0.35, 0.65)
#: Maximum angle (deg) between a reference segment and a matching candidate.
ANGLE_TOL_DEG = 10.0
#: Reference sampling step along segments, px.
SAMPLE_STEP = 2.0


def road_region(shape: tuple[int, ...]) -> np.ndarray:
    """``HxW`` uint8 mask (255 inside) of the road trapezoid for a frame of ``shape``."""
    h, w = shape[:2]
    poly = np.array([[0, h - 1], [w - 1, h - 1], [ROI_TOP_X[1] * w, ROI_TOP_Y * h],
                     [ROI_TOP_X[0] * w, ROI_TOP_Y * h]], np.float32)
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 255)
    return m


def paint_mask(image: np.ndarray) -> np.ndarray:
    """``HxW`` uint8 mask (255) of white or yellow paint colour (see the module docstring)."""
    hls = cv2.cvtColor(image, cv2.COLOR_BGR2HLS)
    white = cv2.inRange(hls, (0, 200, 0), (180, 255, 255))
    yellow = cv2.inRange(hls, (15, 80, 80), (35, 255, 255))
    return cv2.bitwise_or(white, yellow)


def detect_segments(image: np.ndarray) -> np.ndarray:
    """Lane-paint segments in ``image`` (BGR uint8): ``(N, 4)`` float32 ``(x0, y0, x1, y1)`` px."""
    h, w = image.shape[:2]
    diag = float(np.hypot(h, w))
    paint = cv2.dilate(paint_mask(image), np.ones((7, 7), np.uint8))
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    edges = cv2.Canny(grey, 50, 150)
    edges &= paint
    edges &= road_region(image.shape)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, 15, minLineLength=max(10, int(0.02 * diag)),
                            maxLineGap=max(4, int(0.01 * diag)))
    if lines is None:
        return np.zeros((0, 4), np.float32)
    seg = lines.reshape(-1, 4).astype(np.float32)
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    return seg[np.abs(dy) >= 0.3 * np.abs(dx)]


def _angles(seg: np.ndarray) -> np.ndarray:
    """Undirected segment directions in radians, 0..pi."""
    return np.mod(np.arctan2(seg[:, 3] - seg[:, 1], seg[:, 2] - seg[:, 0]), np.pi)


def _samples(reference: np.ndarray, region: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Points every :data:`SAMPLE_STEP` px along the segments (inside ``region`` if given) and
    their angles."""
    pts, ang = [], []
    for s, a in zip(reference, _angles(reference)):
        n = max(2, int(np.hypot(s[2] - s[0], s[3] - s[1]) / SAMPLE_STEP) + 1)
        t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        p = s[:2][None, :] * (1 - t) + s[2:][None, :] * t
        pts.append(p)
        ang.append(np.full(n, a, np.float32))
    if not pts:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32)
    p, a = np.concatenate(pts), np.concatenate(ang)
    if region is not None:
        h, w = region.shape
        xi, yi = np.clip(np.round(p[:, 0]).astype(int), 0,
                         w - 1), np.clip(np.round(p[:, 1]).astype(int), 0, h - 1)
        keep = region[yi, xi] > 0
        p, a = p[keep], a[keep]
    return p, a


def found_fraction(reference: np.ndarray, candidate: np.ndarray, shape: tuple[int, ...],
                   region: np.ndarray | None = None) -> float:
    """Share (0..1) of the reference segments' length found by candidate segments (see module
    docstring).

    NaN when the reference has no length (inside ``region``).
    """
    pts, ang = _samples(np.asarray(reference, np.float32).reshape(-1, 4), region)
    if len(pts) == 0:
        return float("nan")
    cand = np.asarray(candidate, np.float32).reshape(-1, 4)
    if len(cand) == 0:
        return 0.0
    tol = max(3.0, 0.005 * float(np.hypot(*shape[:2])))
    a, b = cand[:, :2], cand[:, 2:]
    ab = b - a
    len2 = np.maximum((ab ** 2).sum(1), 1e-6)
    # point-to-segment distances, P x S
    t = np.clip(((pts[:, None, :] - a[None]) * ab[None]).sum(-1) / len2[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    dist = np.sqrt(((pts[:, None, :] - closest) ** 2).sum(-1))
    dang = np.abs(ang[:, None] - _angles(cand)[None])
    dang = np.minimum(dang, np.pi - dang)
    ok = (dist <= tol) & (dang <= np.deg2rad(ANGLE_TOL_DEG))
    return float(ok.any(axis=1).mean())


class LaneClient:
    """Classical lane-paint finder as a downstream client (see the module docstring)."""

    name = "lanes"

    def reference(self, clean: np.ndarray, truth: dict[str, Any] | None) -> dict[str, Any] | None:
        """What must be found: the known lane edges (``truth["lanes"]``) or the clean frame's
        segments.

        Returns None when there is nothing to find (a rendered frame without lane paint, or no
        segment detected on the clean frame): the client does not apply to that frame.
        """
        if truth is not None and "lanes" in truth:
            lanes = np.asarray(truth["lanes"], np.float32).reshape(-1, 4)
            region = road_region(clean.shape)
        else:
            lanes, region = detect_segments(clean), None
        if not np.isfinite(found_fraction(lanes, lanes, clean.shape, region)):
            return None
        return {"segments": lanes, "region": region}

    def score_against(self, reference: dict[str, Any], candidate: np.ndarray) -> float:
        """Share (0..1) of the reference paint found on ``candidate`` (BGR uint8)."""
        return found_fraction(reference["segments"], detect_segments(candidate), candidate.shape,
                              reference["region"])

    def score(self, clean: np.ndarray, candidate: np.ndarray,
              truth: dict[str, Any] | None = None) -> float:
        """:meth:`reference` of ``clean`` then :meth:`score_against` ``candidate``; NaN if not
        applicable."""
        ref = self.reference(clean, truth)
        return float("nan") if ref is None else self.score_against(ref, candidate)
