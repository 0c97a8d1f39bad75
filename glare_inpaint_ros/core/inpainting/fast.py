"""Placeholder: the push-pull pyramid fill is being written."""
from __future__ import annotations

import cv2
import numpy as np

from . import INPAINTERS
from .base import Inpainter


@INPAINTERS.register("fast")
class FastInpainter(Inpainter):
    """Push-pull (normalised convolution) pyramid fill. PLACEHOLDER implementation."""

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA)
