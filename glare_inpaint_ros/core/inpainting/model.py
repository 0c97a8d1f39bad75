"""Shared machinery of the learned backends (``onnx``, ``torch``, ``learned``): crops, batching,
model conventions, pasting.

Per mask component (a box from :func:`.roi.component_boxes`) a square-ish crop is cut with
``context_margin`` px of context on every side, shifted inward at the frame edges (never clipped
smaller unless the frame itself is smaller; for a model described with ``prefill: pushpull`` it
is cut from the frame prefilled by the ``fast`` backend); it is resized to the model's
fixed size, or (dynamic models) downscaled to ``max_side`` if larger and padded to the pad
multiple; the crops of one frame are inpainted in batches of up to ``max_batch``; each result is
resized back and only the masked pixels of its own box are written, blended with a ``feather`` px
ramp inside the mask edge, so pixels outside the mask stay bit-identical.

Internally crops are float32 RGB 0..1, ``HxWx3``; :class:`ModelSpec` converts them to the model's
layout/dtype/range/channel order and mask polarity (one place for pre/post-processing for every
runtime). Subclasses load the model in ``__init__`` (lazy imports of the runtime), set
``self.spec``, implement :meth:`ModelInpainter._run` and call :meth:`ModelInpainter._finish_init`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar, NamedTuple

import cv2
import numpy as np

from ..params import ParamSpec
from .base import Inpainter, paste_masked
from . import INPAINTERS
from .model_spec import CONVENTIONS, ModelSpec, load_spec
from .roi import merge_boxes

LOG = logging.getLogger(__name__)

#: Folder of the project's shipped model and its YAML description.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
#: The shipped model's YAML description (used by the ``learned`` backend).
SHIPPED_SPEC = MODELS_DIR / "glare_unet.yaml"

Box = tuple[int, int, int, int]

#: Parameters shared by every learned backend (relative to ``inpainting.<backend>.``).
CROP_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("context_margin", 128,
              "Context kept around each mask component's box on every side, px (the crop is then "
              "resized to the model's input).", 0, 4096),
    ParamSpec("feather", 3,
              "Width of the blend ramp inside the mask edge, px: a masked pixel at distance d "
              "from the unmasked region gets min(d / feather, 1) of the model output (0 = hard "
              "paste).", 0, 64),
    ParamSpec("max_batch", 8,
              "Most crops per inference call (a model with a fixed batch size of 1 is called once "
              "per crop).", 1, 256),
    ParamSpec("max_side", -1,
              "Dynamic-size models: crops longer than this are downscaled to it before inference, "
              "px; 0 = never downscale; -1 = the model description's value.", -1, 8192),
)
#: Parameters that say which convention a user-supplied model follows.
CONVENTION_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("model_spec", "",
              "YAML model description (input names, layout, dtype, range, channel order, mask "
              "polarity, size); '' = detect from the model.", read_only=True),
    ParamSpec("convention", "auto",
              "Model convention when model_spec is '': auto (uint8 image input -> migan, float -> "
              "lama), lama (float RGB 0..1, mask 1 = hole) or migan (uint8 RGB, mask 255 = "
              "known).", choices=("auto",) + tuple(CONVENTIONS), read_only=True),
)

_NP_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8}


def crop_rect(box: Box, width: int, height: int, margin: int) -> Box:
    """A square-ish crop ``(x0, y0, x1, y1)`` around ``box`` with ``margin`` px on each side.

    The side is ``max(box w, box h) + 2 * margin`` px, centred on the box, limited to the frame
    size, and shifted inward (not clipped) where it would leave the frame.
    """
    bx0, by0, bx1, by1 = box
    side = max(bx1 - bx0, by1 - by0) + 2 * margin
    cw, ch = min(side, width), min(side, height)
    cx, cy = (bx0 + bx1) / 2.0, (by0 + by1) / 2.0
    x0 = int(np.clip(round(cx - cw / 2.0), 0, width - cw))
    y0 = int(np.clip(round(cy - ch / 2.0), 0, height - ch))
    return x0, y0, x0 + cw, y0 + ch


def group_boxes(mask: np.ndarray, boxes: list[Box], reach: int) -> list[Box]:
    """Tight mask boxes of ``boxes``, grouped: boxes closer than ``2 * reach`` px are merged
    (their context crops would mostly overlap, so one crop serves them all).

    Returns disjoint ``(x0, y0, x1, y1)`` boxes (end exclusive), each the bounding box of the mask
    pixels it owns.
    """
    tight: list[Box] = []
    for x0, y0, x1, y1 in boxes:
        pts = cv2.findNonZero(mask[y0:y1, x0:x1])
        if pts is not None:
            bx, by, bw, bh = cv2.boundingRect(pts)
            # Grown by ``reach`` on each side, in coordinates shifted by +reach (kept >= 0).
            tight.append((x0 + bx, y0 + by, x0 + bx + bw + 2 * reach, y0 + by + bh + 2 * reach))
    return [(x0, y0, x1 - 2 * reach, y1 - 2 * reach) for x0, y0, x1, y1 in merge_boxes(tight)]


def to_rgb_float(crop: np.ndarray) -> np.ndarray:
    """An image crop (mono / BGR / BGRA, uint8 or uint16) as float32 RGB 0..1 ``HxWx3``."""
    scale = np.float32(1.0 / (65535.0 if crop.dtype == np.uint16 else 255.0))
    if crop.ndim == 2:
        rgb = np.repeat(crop[:, :, None], 3, axis=2)
    else:
        rgb = crop[:, :, 2::-1]
    return rgb.astype(np.float32) * scale


def from_rgb_float(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Float RGB 0..1 ``HxWx3`` back to ``like``'s channel layout (mono / BGR; BGRA keeps
    ``like``'s alpha) and dtype, rounded and clipped."""
    peak = 65535.0 if like.dtype == np.uint16 else 255.0
    if like.ndim == 2:
        vals = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    else:
        vals = rgb[:, :, ::-1]
    vals = np.clip(vals * np.float32(peak) + np.float32(0.5), 0, peak).astype(like.dtype)
    if like.ndim == 3 and like.shape[2] == 4:
        vals = np.concatenate([vals, like[:, :, 3:4]], axis=2)
    return vals


def feather_alpha(mask: np.ndarray, feather: int) -> np.ndarray:
    """Blend weight 0..1 (float32 ``HxW``): ``min(d / feather, 1)`` inside the mask, 0 outside.

    ``d`` is the Euclidean distance (px) of a masked pixel to the nearest unmasked one (1 on the
    mask edge). ``feather = 0`` gives 1 on every masked pixel.
    """
    if feather <= 0:
        return (mask > 0).astype(np.float32)
    dist = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    return np.minimum(dist * np.float32(1.0 / feather), np.float32(1.0))


class CropJob(NamedTuple):
    """One crop prepared for a model (see :func:`prepare_crop`)."""

    #: Model-size input, float32 RGB 0..1 ``mh x mw x 3``.
    model_rgb: np.ndarray
    #: Model-size hole map, float32 ``mh x mw``, 1 = hole (any partly-hole model pixel).
    model_hole: np.ndarray
    #: The crop's native ``(h, w)``, px.
    native_hw: tuple[int, int]


def prepare_crop(crop: np.ndarray, hole: np.ndarray, model_hw: tuple[int, int]) -> CropJob:
    """Resize one crop (and its hole map) to the model size ``(mh, mw)`` px (before padding).

    Downscaling uses ``INTER_AREA``; any model pixel that is partly hole is a hole, so no glare
    leaks in as "known" context.

    Args:
        crop: mono / BGR / BGRA crop, uint8 or uint16, ``h x w`` (for a ``prefill: pushpull``
            model: the frame already prefilled by the ``fast`` backend).
        hole: uint8 ``h x w``, non-zero = hole.
        model_hw: the model input ``(mh, mw)`` before padding, px.
    """
    h, w = hole.shape
    mh, mw = model_hw
    if (mh, mw) != (h, w):
        interp = cv2.INTER_AREA if mh * mw < h * w else cv2.INTER_LINEAR
        crop = cv2.resize(np.ascontiguousarray(crop), (mw, mh), interpolation=interp)
        hole = cv2.resize(np.ascontiguousarray(hole), (mw, mh), interpolation=cv2.INTER_AREA)
    return CropJob(to_rgb_float(crop), (hole > 0).astype(np.float32), (h, w))


def upscale_window(values: np.ndarray, native_hw: tuple[int, int], window: Box) -> np.ndarray:
    """``window`` ``(x0, y0, x1, y1)`` of ``values`` (``mh x mw x C`` float32) resized to
    ``native_hw``, computed for that window only.

    Equal to ``cv2.resize(values, (w, h), interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1]``
    (bilinear, half-pixel centres, edges replicated: also what
    ``torch.nn.functional.interpolate(..., mode="bilinear", align_corners=False)`` computes when
    upsampling), up to OpenCV's 1/32 px fixed-point interpolation weights.
    """
    h, w = native_hw
    mh, mw = values.shape[:2]
    x0, y0, x1, y1 = window
    if (mh, mw) == (h, w):
        return values[y0:y1, x0:x1]
    sx, sy = mw / float(w), mh / float(h)
    m = np.array([[sx, 0.0, (x0 + 0.5) * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5]])
    out = cv2.warpAffine(np.ascontiguousarray(values), m, (x1 - x0, y1 - y0),
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(y1 - y0, x1 - x0, *values.shape[2:])


def resolve_spec(model_spec: str) -> ModelSpec | None:
    """The YAML spec if ``model_spec`` (a path) is set, else None (detect from the model)."""
    if model_spec:
        return load_spec(model_spec)
    return None


class ModelInpainter(Inpainter):
    """Base of the learned backends: crop/batch/convention/paste logic; subclasses run the model.

    Args:
        roi, roi_margin: see :class:`~.base.Inpainter`; with ``roi=False`` the whole frame is one
            crop.
        **params: :data:`CROP_PARAMS` plus the backend's own.
    """

    SUPPORTED_DTYPES: ClassVar[tuple] = (np.uint8, np.uint16)
    #: Set by the subclass before :meth:`_finish_init`.
    spec: ModelSpec

    @abstractmethod
    def _run(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Run the model on one batch already in its convention; return its raw output array."""

    # ------------------------------------------------------------------ set-up
    def _finish_init(self, source: str) -> None:
        """Resolve ``max_side``, detect the output range and warm up; ``ValueError`` on failure.

        Args:
            source: the model's file name, for error messages.
        """
        self._prefill: Inpainter | None = None  # the fast backend, for prefill: pushpull models
        side = int(self.params["max_side"])
        self.max_side = self.spec.max_side if side < 0 else side
        try:
            if self.spec.output_max is None:
                self._output_max = self._detect_output_max()
                LOG.info("%s: output range detected as 0..%g", source, self._output_max)
            else:
                self._output_max = float(self.spec.output_max)
            self.warmup()
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - any runtime failure means an unusable model
            raise ValueError(f"model {source} failed on a test input ({type(exc).__name__}: "
                             f"{exc}); "
                             "check its convention (model_spec / convention parameters)") from exc

    def _detect_output_max(self) -> float:
        """Run a mid-grey frame with a small hole; a known-pixel output near 0.5 means 0..1 output,
        near 127 means 0..255."""
        h, w = self._padded(*self._model_hw(64, 64))
        rgb = np.full((h, w, 3), 0.5, np.float32)
        rgb[:, :, 0] = np.linspace(0.3, 0.7, w, dtype=np.float32)[None, :]
        hole = np.zeros((h, w), np.float32)
        hole[h // 3: h // 2, w // 3: w // 2] = 1.0
        n = self.spec.batch or 1
        out = self._decode(self._run(*self._encode([rgb] * n, [hole] * n)), 1.0)[0]
        known = hole < 0.5
        level = float(np.median(out[known]))
        return 255.0 if level > 2.0 else 1.0

    # ------------------------------------------------------------------ geometry
    def _model_hw(self, h: int, w: int) -> tuple[int, int]:
        """Model input size (H, W) for a crop of ``h x w`` px, before padding."""
        if self.spec.size is not None:
            return int(self.spec.size[0]), int(self.spec.size[1])
        scale = 1.0
        if self.max_side and max(h, w) > self.max_side:
            scale = self.max_side / float(max(h, w))
        return max(1, round(h * scale)), max(1, round(w * scale))

    def _padded(self, h: int, w: int) -> tuple[int, int]:
        if self.spec.size is not None:
            return h, w
        m = int(self.spec.pad_multiple)
        return -(-h // m) * m, -(-w // m) * m

    # ------------------------------------------------------------------ conventions
    def _encode(self, rgbs: list[np.ndarray],
                holes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Stack float RGB 0..1 crops and 0/1 hole maps (same size each) into model tensors."""
        spec = self.spec
        img = np.stack(rgbs)  # B,H,W,3
        if spec.channel_order == "BGR":
            img = img[..., ::-1]
        img = img * np.float32(spec.image_max)
        hole = np.stack(holes)[..., None]  # B,H,W,1
        m = hole if spec.mask_hole == "high" else 1.0 - hole
        m = m * np.float32(spec.mask_max)
        if spec.layout == "NCHW":
            img, m = img.transpose(0, 3, 1, 2), m.transpose(0, 3, 1, 2)
        return self._cast(img, spec.image_dtype), self._cast(m, spec.mask_dtype)

    @staticmethod
    def _cast(a: np.ndarray, dtype: str) -> np.ndarray:
        if dtype == "uint8":
            a = np.clip(a + 0.5, 0, 255)
        return np.ascontiguousarray(a.astype(_NP_DTYPES[dtype]))

    def _decode(self, out: np.ndarray, output_max: float | None = None) -> np.ndarray:
        """Model output -> float32 RGB 0..1, ``B x H x W x 3``."""
        out = np.asarray(out)
        if out.ndim == 3:
            out = out[None]
        if out.ndim != 4:
            raise ValueError(f"model output must be 4-D (batch, image), got shape {out.shape}")
        if self.spec.layout == "NCHW" or (out.shape[1] == 3 and out.shape[3] != 3):
            out = out.transpose(0, 2, 3, 1)
        if out.shape[3] != 3:
            raise ValueError(f"model output must have 3 channels, got shape {out.shape}")
        if self.spec.channel_order == "BGR":
            out = out[..., ::-1]
        peak = self._output_max if output_max is None else output_max
        return out.astype(np.float32) * np.float32(1.0 / peak)

    # ------------------------------------------------------------------ inference
    def _infer(self, crops: list[np.ndarray],
               holes: list[np.ndarray]) -> list[tuple[CropJob, np.ndarray]]:
        """Run crops of arbitrary sizes: resize (in the image's own dtype, the cheap path) or pad
        to the model size, batch, run, unpad.

        Args:
            crops: mono or BGR crops (uint8/uint16).
            holes: uint8 masks of the crops' sizes, non-zero = hole.

        Returns:
            Per crop its :class:`CropJob` and the model output, float32 RGB 0..1 at model size.
        """
        jobs = [prepare_crop(crop, hole, self._model_hw(*hole.shape)) for crop,
                hole in zip(crops, holes)]
        limit = int(self.params["max_batch"])
        if self.spec.batch is not None:
            limit = min(limit, int(self.spec.batch))
        results: list[tuple[CropJob, np.ndarray]] = []
        for start in range(0, len(jobs), limit):
            group = jobs[start:start + limit]
            ph = max(self._padded(*j.model_hole.shape)[0] for j in group)
            pw = max(self._padded(*j.model_hole.shape)[1] for j in group)
            batch_rgb, batch_hole = [], []
            for job in group:
                rgb, hole = job.model_rgb, job.model_hole
                mh, mw = hole.shape
                if (ph, pw) != (mh, mw):
                    pad = ((0, ph - mh), (0, pw - mw))
                    rgb = np.pad(rgb, pad + ((0, 0),), mode="symmetric")
                    hole = np.pad(hole, pad, mode="symmetric")
                batch_rgb.append(rgb)
                batch_hole.append(hole)
            n = len(group)
            # fixed batch: fill with copies
            if self.spec.batch is not None and n < self.spec.batch:
                batch_rgb += [batch_rgb[0]] * (self.spec.batch - n)
                batch_hole += [batch_hole[0]] * (self.spec.batch - n)
            out = self._decode(self._run(*self._encode(batch_rgb, batch_hole)))
            for k, job in enumerate(group):
                mh, mw = job.model_hole.shape
                results.append((job, out[k, :mh, :mw]))
        return results

    def inpaint_rois(self, image: np.ndarray, mask: np.ndarray, boxes: list[Box],
                     out: np.ndarray, *, detected: np.ndarray | None = None) -> None:
        """Inpaint every box's mask pixels from one context crop per group of nearby components,
        batched; write only masked pixels of ``out`` (mono or BGR, same shape as ``image``).

        A ``prefill: pushpull`` model sees crops of the frame prefilled by the ``fast`` backend;
        its change ``output - input`` is upsampled and added to that native-resolution fill (a
        model that changes nothing gives exactly the ``fast`` result). Other models' outputs are
        upsampled as they are.
        """
        h, w = mask.shape
        margin = int(self.params["context_margin"])
        feather = int(self.params["feather"])
        tight = group_boxes(mask, boxes, margin // 2)
        rects = [crop_rect(box, w, h, margin) if self.roi else (0, 0, w, h) for box in tight]
        if not rects:
            return
        source = image
        if self.spec.prefill == "pushpull":
            if self._prefill is None:
                self._prefill = INPAINTERS.get("fast")()
            source = self._prefill.inpaint(image, mask)
        results = self._infer([source[y0:y1, x0:x1] for x0, y0, x1, y1 in rects],
                              [mask[y0:y1, x0:x1] for x0, y0, x1, y1 in rects])
        for (bx0, by0, bx1, by1), (cx0, cy0, _, _), (job, res) in zip(tight, rects, results):
            window = (bx0 - cx0, by0 - cy0, bx1 - cx0, by1 - cy0)
            if source is image:
                pred = upscale_window(res, job.native_hw, window)
            else:
                pred = upscale_window(res - job.model_rgb, job.native_hw, window)
                pred += to_rgb_float(source[by0:by1, bx0:bx1])
            # Feather distances need the unmasked pixels just outside the box: measure on a
            # slightly larger window (clipped to the frame).
            f = feather + 1
            wx0, wy0, wx1, wy1 = max(bx0 - f, 0), max(by0 - f, 0), min(bx1 + f, w), min(by1 + f, h)
            alpha = feather_alpha(mask[wy0:wy1, wx0:wx1],
                                  feather)[by0 - wy0:by1 - wy0, bx0 - wx0:bx1 - wx0]
            region = out[by0:by1, bx0:bx1]
            src = to_rgb_float(image[by0:by1, bx0:bx1])
            blended = src + alpha[:, :, None] * (np.clip(pred, 0.0, 1.0) - src)
            paste_masked(region, from_rgb_float(blended, region), (alpha > 0).view(np.uint8))

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One crop through the model (used only by callers of the per-crop interface)."""
        full = image.copy()
        self.inpaint_rois(image, mask, [(0, 0, mask.shape[1], mask.shape[0])], full)
        return full
