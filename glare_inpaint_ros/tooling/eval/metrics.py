"""Evaluation metrics for glare detection (pixel-wise) and inpainting (PSNR / SSIM in a region).

Conventions (the whole package): images are ``HxW`` or ``HxWxC`` uint8 BGR; masks are ``HxW`` uint8
with 255 = glare (any non-zero value counts as glare, bool masks are accepted).

Detection (:func:`detection_counts`, :func:`detection_scores`): a predicted mask against a ground
truth mask, counted per pixel. ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``,
``F1 = 2 P R / (P + R)``, ``IoU = TP / (TP + FP + FN)``. Undefined ratios (a zero denominator):

* both masks empty -> every score is 1.0 (nothing to find, nothing wrongly found: perfect);
* otherwise a ratio with a zero denominator is 0.0 (no prediction while glare exists has
  precision 0, a prediction on a glare-free frame has recall 0), so F1 and IoU are 0.0.

Scores pooled over a data set (:meth:`DetectionCounts.scores` of summed counts) weight every pixel
equally; the mean of per-image scores weights every image equally. The harness reports both.

Inpainting (:func:`psnr`, :func:`ssim_map`, :func:`masked_mean`): 8-bit data range 255.
PSNR of identical pixels (MSE = 0) is capped at :data:`PSNR_CAP_DB` (100 dB) instead of infinity,
so means stay finite; an empty region gives NaN (no pixel to score), which aggregations skip.
SSIM is :func:`skimage.metrics.structural_similarity` (7x7 uniform window, data range 255, per
channel, ``full=True`` map averaged over the channels) averaged over the region's pixels; the
whole-frame value is the mean of the map without its 3 px border strip, i.e. exactly skimage's own
mean SSIM. scikit-image is an optional ``eval`` dependency, imported on first use.

No harm (:func:`no_harm_scores`): on a glare-free frame every change is harm. A pixel is *altered*
when some channel of the output differs from the input by more than :data:`ALTERED_LEVELS` (8)
levels; *bright content* (:func:`bright_content_mask`) is what a glare detector is most tempted to
take for glare and a downstream detector most needs: bright, unsaturated pixels, HSV (OpenCV scale)
``V >= 180`` and ``S <= 60`` (white and pale lane paint, letters, white cars, lit windows, lamps).

Artefacts (:func:`artefact_scores`): on frames with glare and no clean image, changed pixels that
come out much darker or more saturated than the unchanged surface around them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ...core.dichromatic import UNLIT
from ...core.inpainting.roi import component_boxes
from ...core.validation import check_image, check_mask

#: PSNR reported for identical images (MSE = 0), in dB.
PSNR_CAP_DB = 100.0
#: Side of skimage's default SSIM window (px); the map value at a pixel depends on the
#: ``SSIM_WIN // 2`` px around it.
SSIM_WIN = 7


# --------------------------------------------------------------------------- detection


@dataclass
class DetectionCounts:
    """Pixel counts of one or more (predicted, ground truth) mask pairs.

    Attributes:
        tp: pixels glare in both masks.
        fp: pixels glare in the prediction only.
        fn: pixels glare in the ground truth only.
        total: all pixels compared (so ``TN = total - tp - fp - fn``).
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    total: int = 0

    def __add__(self, other: "DetectionCounts") -> "DetectionCounts":
        return DetectionCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                               self.total + other.total)

    def scores(self) -> dict[str, float]:
        """``precision``, ``recall``, ``f1``, ``iou`` (0..1) with the module's empty-case rules."""
        tp, fp, fn = self.tp, self.fp, self.fn
        if tp + fp + fn == 0:  # both masks empty
            return {"precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0}
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "iou": tp / (tp + fp + fn)}


def detection_counts(pred: np.ndarray, gt: np.ndarray) -> DetectionCounts:
    """Pixel counts of a predicted mask against a ground-truth mask (non-zero = glare).

    Raises:
        TypeError / ValueError: not a mask (see :func:`check_mask`), or the two sizes differ.
    """
    gt = check_mask(gt, name="ground-truth mask") > 0
    pred = check_mask(pred, gt.shape, name="predicted mask") > 0
    tp = int(np.count_nonzero(pred & gt))
    n_pred, n_gt = int(np.count_nonzero(pred)), int(np.count_nonzero(gt))
    return DetectionCounts(tp, n_pred - tp, n_gt - tp, int(gt.size))


def detection_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 and IoU (fractions 0..1) of ``pred`` against ``gt``.

    Both empty is a perfect 1.0 everywhere; see the module docstring for the other empty cases.
    """
    return detection_counts(pred, gt).scores()


# --------------------------------------------------------------------------- inpainting


def _check_pair(image: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    image = check_image(image, name="image", dtypes=(np.uint8,))
    reference = check_image(reference, name="reference", dtypes=(np.uint8,))
    if image.shape != reference.shape:
        raise ValueError(
            f"image shape {image.shape} does not match reference shape {reference.shape}")
    return image, reference


def _region(region: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    return None if region is None else check_mask(region, shape, name="region") > 0


def psnr(image: np.ndarray, reference: np.ndarray, region: np.ndarray | None = None,
         *, cap_db: float = PSNR_CAP_DB) -> float:
    """Peak signal-to-noise ratio of ``image`` against ``reference`` in dB (8-bit, peak 255).

    Args:
        image, reference: uint8 arrays of the same shape (mono or BGR).
        region: optional ``HxW`` mask (non-zero = scored pixel); None scores the whole frame.
            The MSE is taken over all channels of the region's pixels.
        cap_db: value returned when the pixels are identical (MSE = 0).

    Returns:
        ``10 log10(255^2 / MSE)`` capped at ``cap_db``; NaN when ``region`` is empty.
    """
    image, reference = _check_pair(image, reference)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if region is None:
        n = image.shape[0] * image.shape[1]
        sse = cv2.norm(image, reference, cv2.NORM_L2SQR)
    else:
        sel = check_mask(region, image.shape, name="region")
        n = cv2.countNonZero(sel)
        if n == 0:
            return math.nan
        sse = cv2.norm(image, reference, cv2.NORM_L2SQR, sel)
    mse = sse / (n * channels)
    if mse == 0.0:
        return float(cap_db)
    return min(float(cap_db), 10.0 * math.log10(255.0 ** 2 / mse))


def _skimage_ssim_map(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    try:
        from skimage.metrics import structural_similarity
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "SSIM needs scikit-image (the 'eval' extra): pip install scikit-image"
        ) from exc
    if min(image.shape[:2]) < SSIM_WIN:
        raise ValueError(f"SSIM needs images of at least {SSIM_WIN}x{SSIM_WIN} px, "
                         f"got {image.shape[1]}x{image.shape[0]}")
    kwargs: dict[str, Any] = {"data_range": 255, "full": True, "win_size": SSIM_WIN}
    if image.ndim == 3:
        kwargs["channel_axis"] = 2
    _, smap = structural_similarity(image, reference, **kwargs)
    return smap.mean(axis=2) if smap.ndim == 3 else smap


def ssim_map(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (``HxW`` float64, channel mean) of ``image`` against ``reference``.

    Both uint8, same shape, at least 7x7 px. Needs scikit-image.
    """
    image, reference = _check_pair(image, reference)
    return _skimage_ssim_map(image, reference)


def ssim_map_update(base_map: np.ndarray, image: np.ndarray, reference: np.ndarray,
                    changed: np.ndarray) -> np.ndarray:
    """:func:`ssim_map` of ``image`` vs ``reference``, recomputed only where it can differ.

    ``base_map`` is the map of some other image that equals ``image`` wherever ``changed`` is 0
    (for an inpainted frame: the map of the unprocessed input, and ``changed`` the inpainted
    mask). The map only moves within ``SSIM_WIN // 2`` px of a changed pixel, so it is recomputed
    on each changed component's box plus that reach plus the same again as context (the
    window's reflect padding then matches the full-frame computation); the result equals
    ``ssim_map(image, reference)`` up to float rounding, at a fraction of the cost for small masks.

    Returns:
        a new ``HxW`` float64 map (``base_map`` is not modified).
    """
    image, reference = _check_pair(image, reference)
    changed = check_mask(changed, image.shape, name="changed")
    if base_map.shape != image.shape[:2]:
        raise ValueError(
            f"base_map shape {base_map.shape} does not match image size {image.shape[:2]}")
    out = np.array(base_map, dtype=np.float64, copy=True)
    if not changed.any():
        return out
    h, w = changed.shape
    reach = SSIM_WIN // 2
    for x0, y0, x1, y1 in component_boxes(changed, reach):
        # Context crop: another ``reach`` px around the box whose values are replaced.
        cx0, cy0 = max(0, x0 - reach), max(0, y0 - reach)
        cx1, cy1 = min(w, x1 + reach), min(h, y1 + reach)
        # The window needs at least SSIM_WIN px each way: grow the crop where it is smaller.
        if cx1 - cx0 < SSIM_WIN:
            cx0 = max(0, min(cx0, w - SSIM_WIN))
            cx1 = min(w, cx0 + SSIM_WIN)
        if cy1 - cy0 < SSIM_WIN:
            cy0 = max(0, min(cy0, h - SSIM_WIN))
            cy1 = min(h, cy0 + SSIM_WIN)
        local = _skimage_ssim_map(np.ascontiguousarray(image[cy0:cy1, cx0:cx1]),
                                  np.ascontiguousarray(reference[cy0:cy1, cx0:cx1]))
        out[y0:y1, x0:x1] = local[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    return out


def masked_mean(values: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean of a per-pixel map over ``region`` (non-zero = included); NaN for an empty region.

    With ``region=None`` the whole-frame mean leaves out the ``SSIM_WIN // 2`` px border strip,
    like :func:`skimage.metrics.structural_similarity`'s own mean.
    """
    if region is None:
        r = SSIM_WIN // 2
        inner = values[r:-r, r:-r] if min(values.shape[:2]) > 2 * r else values
        return float(inner.mean(dtype=np.float64))
    sel = _region(region, values.shape)
    if not sel.any():
        return math.nan
    return float(values[sel].mean(dtype=np.float64))


def ssim(image: np.ndarray, reference: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean SSIM (-1..1, 1 = identical) of ``image`` vs ``reference`` over ``region`` or the
    frame."""
    return masked_mean(ssim_map(image, reference), region)


def image_scores(image: np.ndarray, reference: np.ndarray, region: np.ndarray,
                 smap: np.ndarray | None = None) -> dict[str, float]:
    """PSNR (dB) and SSIM inside ``region`` and on the whole frame.

    Args:
        image: result to score (uint8, same shape as ``reference``).
        reference: ground-truth clean image.
        region: ``HxW`` mask of the glare region (non-zero = scored).
        smap: precomputed :func:`ssim_map` of the pair (e.g. from :func:`ssim_map_update`).

    Returns:
        ``psnr_region``, ``psnr_frame``, ``ssim_region``, ``ssim_frame``.
    """
    if smap is None:
        smap = ssim_map(image, reference)
    return {
        "psnr_region": psnr(image, reference, region),
        "psnr_frame": psnr(image, reference),
        "ssim_region": masked_mean(smap, region),
        "ssim_frame": masked_mean(smap),
    }


# --------------------------------------------------------------------------- no harm

#: A pixel is altered when some channel changed by more than this many 8-bit levels.
ALTERED_LEVELS = 8
#: Bright content: HSV value (0..255) at least this ...
CONTENT_V_MIN = 180
#: ... and HSV saturation (0..255) at most this.
CONTENT_S_MAX = 60


def bright_content_mask(image: np.ndarray) -> np.ndarray:
    """``HxW`` bool: bright, unsaturated pixels of a BGR uint8 image (``V >= 180 and S <= 60``,
    OpenCV HSV)."""
    image = check_image(image, name="image", dtypes=(np.uint8,))
    if image.ndim == 2:
        return image >= CONTENT_V_MIN
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    return (hsv[..., 2] >= CONTENT_V_MIN) & (hsv[..., 1] <= CONTENT_S_MAX)


def altered_mask(output: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``HxW`` bool: pixels where some channel of ``output`` differs from ``reference`` by > 8
    levels."""
    output, reference = _check_pair(output, reference)
    diff = cv2.absdiff(output, reference)
    return (diff.max(axis=2) if diff.ndim == 3 else diff) > ALTERED_LEVELS


def no_harm_scores(output: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    """How much a chain changed a glare-free frame ``clean`` into ``output`` (both uint8, same
    shape).

    Returns:
        ``altered_pct`` (0..100, share of pixels altered), ``content_altered_pct`` (0..100, share
        of the bright content pixels altered; NaN when the frame has none), ``content_pct``
        (0..100, share of the frame that is bright content), ``psnr_db`` (whole frame, capped at
        :data:`PSNR_CAP_DB` for an untouched frame), and the pixel counts ``n_pixels``,
        ``n_altered``, ``n_content``, ``n_content_altered`` (for pooling over a set).
    """
    changed = altered_mask(output, clean)
    content = bright_content_mask(clean)
    n_content = int(np.count_nonzero(content))
    n_content_altered = int(np.count_nonzero(changed & content))
    n_altered = int(np.count_nonzero(changed))
    return {
        "altered_pct": 100.0 * n_altered / changed.size,
        "content_altered_pct": 100.0 * n_content_altered / n_content if n_content else math.nan,
        "content_pct": 100.0 * n_content / content.size,
        "psnr_db": psnr(output, clean),
        "n_pixels": int(changed.size), "n_altered": n_altered,
        "n_content": n_content, "n_content_altered": n_content_altered,
    }


# --------------------------------------------------------------------------- artefacts

#: Artefacts (:func:`artefact_scores`): a changed pixel is compared with the mean of the unchanged
#: pixels in the window of this side (px, square) around it ...
ARTEFACT_WINDOW = 31
#: ... darkened: its output ``max(B, G, R)`` below this share of theirs ...
DARKENED_RATIO = 0.6
#: ... over-saturated: its output HSV saturation (0..1) above theirs by more than this.
OVERSATURATED_STEP = 0.25


def artefact_scores(output: np.ndarray, image: np.ndarray) -> dict[str, float]:
    """Changes that look like artefacts, on a frame with glare and no clean image (real video).

    Removing a highlight takes a pixel back to the surface under it: about as bright and as
    colourful as the surface around it. A changed pixel (:func:`altered_mask`) that comes out much
    darker than the unchanged pixels around it (``max(B, G, R)`` below :data:`DARKENED_RATIO`
    times their mean, :data:`ARTEFACT_WINDOW` px window) is a dark blotch; one much more
    saturated (HSV, more than :data:`OVERSATURATED_STEP` above their mean) is a garish dot. Both
    are what a downstream detector may take for an object (a lesion, a stain, a hole). An
    indicator, not a ground truth: a highlight on a dark object in front of a bright one is
    darkened rightly. Unlit pixels (every channel under
    :data:`...core.dichromatic.UNLIT`: the border around an endoscope's view) are no surface to
    compare with: their saturation is noise. Changed pixels with no unchanged, lit pixel in
    their window are not judged.

    Args:
        output: the chain's output; ``image``: its input (uint8, same shape, BGR or mono).

    Returns:
        ``changed_pct``, ``darkened_pct``, ``oversaturated_pct`` (0..100, shares of the frame;
        ``oversaturated_pct`` is NaN for mono frames).
    """
    output, image = _check_pair(output, image)
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"artefact_scores needs BGR or mono frames, got shape {image.shape}")
    changed = altered_mask(output, image)
    out = {"changed_pct": 100.0 * float(np.count_nonzero(changed)) / changed.size,
           "darkened_pct": 0.0, "oversaturated_pct": math.nan if image.ndim == 2 else 0.0}
    if not changed.any():
        return out
    k = (ARTEFACT_WINDOW, ARTEFACT_WINDOW)
    value_in = image if image.ndim == 2 else image.max(axis=2)
    # The unchanged, lit pixels: an unlit one (the border around an endoscope's view) is no
    # surface, and its saturation is noise.
    surface = ((~changed) & (value_in >= UNLIT)).astype(np.float32)
    seen = cv2.blur(surface, k)
    judged = changed & (seen > 0)
    seen = np.maximum(seen, np.float32(1e-6))

    def around(plane: np.ndarray) -> np.ndarray:  # mean of the unchanged, lit pixels around
        return cv2.blur(plane.astype(np.float32) * surface, k) / seen

    value_out = output if output.ndim == 2 else output.max(axis=2)
    dark = judged & (value_out < DARKENED_RATIO * around(value_in))
    out["darkened_pct"] = 100.0 * float(np.count_nonzero(dark)) / changed.size
    if image.ndim == 3:
        def saturation(bgr: np.ndarray) -> np.ndarray:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)[..., 1].astype(np.float32) / 255.0
        garish = judged & (saturation(output) > around(saturation(image)) + OVERSATURATED_STEP)
        out["oversaturated_pct"] = 100.0 * float(np.count_nonzero(garish)) / changed.size
    return out


def nanmean(values: list[float]) -> float:
    """Mean of the finite values (NaN when there are none); used to aggregate per-image scores."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan
