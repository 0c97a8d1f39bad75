"""The interface every inpainting backend implements, with the shared ROI machinery."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..params import ParamSpec, Schema
from ..validation import check_image, check_mask


class Inpainter(ABC):
    """Fills the masked pixels of an image.

    Contract of :meth:`inpaint` (tested for every registered backend):
      * returns an array of the input's shape, dtype and channel order (BGR stays BGR);
      * pixels where ``mask == 0`` are bit-identical to the input;
      * an all-zero mask returns (a copy of) the input without calling the backend;
      * the input arrays are never modified.

    Subclasses declare ``PARAMS`` (names relative to ``inpainting.<name>.``), accept them as keyword
    arguments, and implement :meth:`_inpaint` for one crop. By default :meth:`inpaint` works on ROIs:
    the bounding boxes of the mask's connected components grown by ``roi_margin`` px, overlapping
    boxes merged (see :mod:`.roi`), so a small mask never costs a full-frame fill.
    Learned backends that batch crops override :meth:`inpaint_rois`.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()
    #: dtypes/channel counts the backend handles natively in ``_inpaint``.
    SUPPORTED_DTYPES: ClassVar[tuple] = (np.uint8,)

    def __init__(self, *, roi: bool = True, roi_margin: int = 16, **params: Any) -> None:
        self.roi = roi
        self.roi_margin = roi_margin
        self.params: dict[str, Any] = Schema(self.PARAMS).validate(params)

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Return ``image`` with the pixels where ``mask > 0`` filled.

        Args:
            image: ``HxW`` or ``HxWxC`` (C = 3 BGR, 4 BGRA) uint8, or uint16 where the backend
                supports it.
            mask: ``HxW`` uint8 (non-zero = fill) or bool, same ``H x W`` as the image.
        """
        image = check_image(image)
        mask = check_mask(mask, image.shape)
        out = image.copy()
        if not mask.any():
            return out
        from .roi import component_boxes

        if self.roi:
            boxes = component_boxes(mask, self.roi_margin)
        else:
            boxes = [(0, 0, image.shape[1], image.shape[0])]
        self.inpaint_rois(image, mask, boxes, out)
        return out

    def inpaint_rois(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        boxes: list[tuple[int, int, int, int]],
        out: np.ndarray,
    ) -> None:
        """Fill each ``(x0, y0, x1, y1)`` box (exclusive end) of ``out`` in place.

        Only pixels under the mask are written, so outside-mask pixels stay identical.
        """
        for x0, y0, x1, y1 in boxes:
            crop = image[y0:y1, x0:x1]
            m = mask[y0:y1, x0:x1]
            filled = self._inpaint(np.ascontiguousarray(crop), np.ascontiguousarray(m))
            sel = m > 0
            out[y0:y1, x0:x1][sel] = filled[sel]

    @abstractmethod
    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill one contiguous crop; ``mask`` is uint8 0/255 of the crop's ``H x W``.

        May return any values outside the mask (they are discarded).
        """

    def warmup(self, shape: tuple[int, ...] = (64, 64, 3)) -> None:
        """Run once on a dummy frame so the first real frame pays no start-up cost."""
        img = np.zeros(shape, np.uint8)
        m = np.zeros(shape[:2], np.uint8)
        m[shape[0] // 4: shape[0] // 2, shape[1] // 4: shape[1] // 2] = 255
        self.inpaint(img, m)
