"""The interface every inpainting backend implements, with the shared ROI machinery."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import cv2
import numpy as np

from ..params import ParamSpec, Schema
from ..validation import check_image, check_mask
from .roi import Box, component_boxes, grow_boxes


def paste_masked(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> None:
    """Copy ``src`` into ``dst`` (same shape; ``dst`` a view, written in place) where ``mask > 0``.

    ``cv2.copyTo`` when ``dst``'s layout is one OpenCV can wrap (rows of contiguous pixels), else
    ``np.copyto`` (e.g. the B, G, R view of a BGRA image). The OpenCV path is ~10x faster on a
    small crop and ~250x on a 720p frame, where numpy's masked copy over an interleaved 3-channel
    axis takes ~10 ms.
    """
    pixel = dst.itemsize * (dst.shape[2] if dst.ndim == 3 else 1)
    packed = dst.strides[1] == pixel and (dst.ndim == 2 or dst.strides[2] == dst.itemsize)
    if packed and dst.strides[0] > 0:
        cv2.copyTo(src, mask, dst)
    else:
        sel = mask > 0
        np.copyto(dst, src, where=sel[:, :, None] if dst.ndim == 3 else sel)


class Inpainter(ABC):
    """Fills the masked pixels of an image.

    Contract of :meth:`inpaint` (tested for every registered backend):
      * returns an array of the input's shape, dtype and channel order (BGR stays BGR);
      * pixels where ``mask == 0`` are bit-identical to the input;
      * an all-zero mask returns (a copy of) the input without calling the backend;
      * the input arrays are never modified (read-only and non-contiguous arrays are fine);
      * the alpha channel of a BGRA image is never inpainted: it is copied from the input
        (glare changes colour, not opacity), only B, G, R are filled.

    Subclasses declare ``PARAMS`` (names relative to ``inpainting.<name>.``), accept them as
    keyword arguments, and implement :meth:`_inpaint` for one crop. By default :meth:`inpaint`
    works on ROIs: the bounding boxes of the mask's connected components grown by ``roi_margin``
    px, overlapping boxes merged (see :mod:`.roi`), so a small mask never costs a full-frame fill.
    Learned backends that batch crops override :meth:`inpaint_rois`.

    What :meth:`_inpaint` receives is set by two class attributes:
      * ``SUPPORTED_DTYPES``: other image dtypes are refused by :meth:`inpaint` with ``TypeError``;
      * ``SUPPORTED_CHANNELS``: 1 (mono) and/or 3 (BGR). A mono image given to a backend without 1
        is expanded to BGR, filled, and converted back (``BGR2GRAY``); BGRA never reaches it.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()
    #: image dtypes the backend handles in ``_inpaint``; others give ``TypeError``.
    SUPPORTED_DTYPES: ClassVar[tuple] = (np.uint8,)
    #: channel counts ``_inpaint`` handles: 1 = mono ``HxW``, 3 = BGR ``HxWx3``.
    SUPPORTED_CHANNELS: ClassVar[tuple[int, ...]] = (1, 3)

    def __init__(self, *, roi: bool = True, roi_margin: int = 16, **params: Any) -> None:
        if isinstance(roi_margin, bool) or not isinstance(roi_margin,
                                                          (int, np.integer)) or roi_margin < 0:
            raise ValueError(f"roi_margin must be an integer >= 0 px, got {roi_margin!r}")
        self.roi = bool(roi)
        self.roi_margin = int(roi_margin)
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)

    def boxes(self, mask: np.ndarray, rects: np.ndarray | None = None) -> list[Box]:
        """The ``(x0, y0, x1, y1)`` boxes (px, exclusive end) :meth:`inpaint` fills for ``mask``
        (uint8, non-zero = fill): the merged component boxes with ``roi``, else the whole frame;
        ``[]`` for an all-zero mask. ``rects``: the mask's :func:`.roi.component_rects` when the
        caller already has them (saves one contour pass)."""
        if self.roi:
            if rects is None:
                return component_boxes(mask, self.roi_margin)
            return grow_boxes(rects, self.roi_margin, mask.shape)
        if cv2.countNonZero(mask) == 0:
            return []
        return [(0, 0, mask.shape[1], mask.shape[0])]

    def inpaint(self, image: np.ndarray, mask: np.ndarray, *,
                rects: np.ndarray | None = None,
                detected: np.ndarray | None = None) -> np.ndarray:
        """Return a new image: ``image`` with the pixels where ``mask > 0`` filled.

        Args:
            image: ``HxW`` or ``HxWxC`` (C = 1 mono, 3 BGR, 4 BGRA), a dtype in
                ``SUPPORTED_DTYPES`` (uint8; also uint16 for the classical backends).
            mask: ``HxW`` (or ``HxWx1``) uint8 (non-zero = fill, 255 by convention) or bool,
                same ``H x W`` as the image.
            rects: optional :func:`.roi.component_rects` of ``mask``, when the caller computed
                them already (the pipeline shares them with the temporal fill).
            detected: the mask before :meth:`extend_mask` (same size, a subset of ``mask``), or
                None (= ``mask``): the ``separation`` backend only separates, never fills, the
                extension's pixels; the other backends ignore it.

        Raises:
            TypeError: not arrays, or an unsupported dtype (float64, int32, uint16 for an
                8-bit-only backend ...).
            ValueError: empty image/mask, bad shape, or mask size different from the image's.
        """
        src = check_image(image, dtypes=self.SUPPORTED_DTYPES)
        mask = check_mask(mask, src.shape)
        if detected is not None:
            detected = check_mask(detected, src.shape)
        # Exactly one full-frame copy: check_image only copies a non-contiguous input, and then
        # that private copy becomes the output while the caller's view stays the (read-only)
        # source.
        if np.may_share_memory(src, image):
            out = src.copy()
        else:
            out = src
            src = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
        boxes = self.boxes(mask, rects)
        if not boxes:
            return out.reshape(image.shape)  # HxWx1 in, HxWx1 out (a view, no copy)
        if src.ndim == 3 and src.shape[2] == 4:  # BGRA: fill B, G, R; alpha stays as copied
            src, target = src[:, :, :3], out[:, :, :3]
        else:
            target = out
        if src.ndim == 2 and 1 not in self.SUPPORTED_CHANNELS:
            self._inpaint_mono_as_bgr(src, mask, boxes, target)
        else:
            self.inpaint_rois(src, mask, boxes, target, detected=detected)
        return out.reshape(image.shape)

    def extend_mask(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mask this backend fills for a detected ``mask`` on ``image`` (the pipeline calls
        this before :meth:`inpaint`, passing ``mask`` as ``detected``, and reports the detected
        mask plus the extension's pixels that changed): ``mask`` itself here; the ``separation``
        backend adds the faint sheen and fringe around each highlight, which it separates rather
        than paints over."""
        return mask

    def _inpaint_mono_as_bgr(
        self, image: np.ndarray, mask: np.ndarray, boxes: list[Box], out: np.ndarray
    ) -> None:
        """Fill a mono image with a colour-only backend: per box, gray -> BGR -> fill -> gray."""
        for x0, y0, x1, y1 in boxes:
            bgr = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_GRAY2BGR)
            filled = bgr.copy()
            m = mask[y0:y1, x0:x1]
            self.inpaint_rois(bgr, m, [(0, 0, x1 - x0, y1 - y0)], filled)
            np.copyto(out[y0:y1, x0:x1], cv2.cvtColor(filled, cv2.COLOR_BGR2GRAY), where=m > 0)

    def inpaint_rois(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        boxes: list[Box],
        out: np.ndarray,
        *,
        detected: np.ndarray | None = None,
    ) -> None:
        """Fill each ``(x0, y0, x1, y1)`` box (exclusive end) of ``out`` in place.

        ``image`` and ``out`` have the same shape (mono or BGR; possibly non-contiguous views,
        never the same memory); ``mask`` is C-contiguous uint8 0/255. Boxes are pairwise
        disjoint. Only pixels under the mask are written, so outside-mask pixels stay identical.
        ``detected``: as in :meth:`inpaint` (unused here).
        """
        for x0, y0, x1, y1 in boxes:
            m = np.ascontiguousarray(mask[y0:y1, x0:x1])
            filled = self._inpaint(np.ascontiguousarray(image[y0:y1, x0:x1]), m)
            paste_masked(out[y0:y1, x0:x1], filled, m)

    @abstractmethod
    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill one C-contiguous crop (``HxW`` or ``HxWx3`` as ``SUPPORTED_CHANNELS`` allows, a
        dtype of ``SUPPORTED_DTYPES``); ``mask`` is uint8 0/255 of the crop's ``H x W``.

        Must not modify its inputs. Returns an array of the crop's shape and dtype; values
        outside the mask are discarded.
        """

    def warmup(self, shape: tuple[int, ...] = (64, 64, 3)) -> None:
        """Run once on a dummy frame so the first real frame pays no start-up cost."""
        img = np.zeros(shape, np.uint8)
        m = np.zeros(shape[:2], np.uint8)
        m[shape[0] // 4: shape[0] // 2, shape[1] // 4: shape[1] // 2] = 255
        self.inpaint(img, m)
