"""OpenCV's classical inpainting: Telea (fast marching) and Navier-Stokes."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from ..params import ParamSpec
from . import INPAINTERS
from .base import Inpainter


class _CvInpainter(Inpainter):
    FLAG: ClassVar[int] = cv2.INPAINT_TELEA
    PARAMS = (ParamSpec("radius", 3.0, "Neighbourhood radius considered around each filled pixel, px.", 0.5, 50.0),)

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return cv2.inpaint(image, mask, self.params["radius"], self.FLAG)


@INPAINTERS.register("telea")
class TeleaInpainter(_CvInpainter):
    """``cv2.inpaint`` with ``INPAINT_TELEA`` (Telea 2004, fast marching)."""

    FLAG = cv2.INPAINT_TELEA


@INPAINTERS.register("ns")
class NavierStokesInpainter(_CvInpainter):
    """``cv2.inpaint`` with ``INPAINT_NS`` (Bertalmio et al. 2001, Navier-Stokes)."""

    FLAG = cv2.INPAINT_NS
