"""Placeholder for the static detector (being written)."""
from __future__ import annotations

import cv2
import numpy as np

from ..params import ParamSpec
from . import DETECTORS
from .base import Detector


@DETECTORS.register("static")
class Placeholderstatic(Detector):
    PARAMS = (ParamSpec("value_min", 230, "V threshold (0..255).", 0, 255),)

    def __init__(self, inner=None, **params):
        super().__init__(**params)

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        return cv2.inRange(hsv, (0, 0, self.params["value_min"]), (180, 60, 255))
