"""OpenCV's classical inpainting: Telea (fast marching) and Navier-Stokes.

``cv2.inpaint`` takes 8-bit mono or BGR and 16-bit mono only. Anything else (16-bit BGR) is
filled one channel at a time: both methods weight the neighbours by mask geometry alone, so the
per-channel result equals the joint one (checked: bit-identical on 8-bit BGR). BGRA never reaches
the backend (the base class fills B, G, R and keeps alpha).
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from ..params import ParamSpec
from . import INPAINTERS
from .base import Inpainter


class _CvInpainter(Inpainter):
    FLAG: ClassVar[int] = cv2.INPAINT_TELEA
    PARAMS = (
        ParamSpec("radius", 3.0, "Neighbourhood radius considered around each filled pixel, px.",
                  0.5, 50.0),)
    SUPPORTED_DTYPES = (np.uint8, np.uint16)
    SUPPORTED_CHANNELS = (1, 3)

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        radius = self.params["radius"]
        if image.ndim == 2 or (image.dtype == np.uint8 and image.shape[2] in (1, 3)):
            return cv2.inpaint(image, mask, radius, self.FLAG)
        channels = [cv2.inpaint(np.ascontiguousarray(image[:, :, c]), mask, radius, self.FLAG)
                    for c in range(image.shape[2])]
        return np.stack(channels, axis=2)


@INPAINTERS.register("telea")
class TeleaInpainter(_CvInpainter):
    """``cv2.inpaint`` with ``INPAINT_TELEA`` (Telea 2004, fast marching)."""

    FLAG = cv2.INPAINT_TELEA


@INPAINTERS.register("ns")
class NavierStokesInpainter(_CvInpainter):
    """``cv2.inpaint`` with ``INPAINT_NS`` (Bertalmio et al. 2001, Navier-Stokes)."""

    FLAG = cv2.INPAINT_NS
