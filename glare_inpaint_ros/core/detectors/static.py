"""``static``: a fixed glare mask from a file, optionally OR-ed with another detector.

For glare that does not move with the scene: a lamp reflected in the camera's own housing
window, a bright fixture in a fixed camera's view. The file is a PNG (any 8-bit image; non-zero
= glare, i.e. 255 = glare by the package convention), resized with nearest-neighbour
interpolation to each frame's size when they differ. ``combine_with`` names another detector whose
mask is OR-ed in; :func:`~glare_inpaint_ros.core.pipeline.build_detector` builds it and passes it
as ``inner``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from ..params import ParamSpec
from ..validation import check_mask
from . import DETECTORS
from .base import Detector


@DETECTORS.register("static")
class StaticMaskDetector(Detector):
    """A mask loaded once from ``path`` (255 = glare), OR-ed with ``inner``'s mask if given."""

    PARAMS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("path", "",
                  "PNG mask file (non-zero = glare), resized (nearest) to the frame size if "
                  "needed. Required.", read_only=True),
        ParamSpec("combine_with", "",
                  "Name of another detector whose mask is OR-ed with the static one ('' = none)."),
    )

    def __init__(self, inner: Detector | None = None, **params: Any) -> None:
        super().__init__(**params)
        if inner is not None and not isinstance(inner, Detector):
            raise TypeError(f"inner must be a Detector, got {type(inner).__name__}")
        self.inner = inner
        path = self.params["path"]
        if not path:
            raise ValueError("detector.static.path is empty: give the PNG mask file (255 = glare)")
        if not Path(path).is_file():
            raise ValueError(f"detector.static.path: {path!r} does not exist or is not a file")
        raw = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if raw is None:
            raise ValueError(f"detector.static.path: {path!r} could not be read as an image")
        self.mask: np.ndarray = check_mask(raw, name=f"static mask {path}")
        """The mask as loaded (``HxW`` uint8 0/255)."""
        self._resized: np.ndarray = self.mask

    def mask_for(self, shape: tuple[int, ...]) -> np.ndarray:
        """The static mask at ``shape[:2]`` (nearest-neighbour resize, cached for the last
        size)."""
        h, w = shape[:2]
        if self._resized.shape != (h, w):
            self._resized = cv2.resize(self.mask, (w, h), interpolation=cv2.INTER_NEAREST)
        return self._resized

    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        mask = self.mask_for(bgr.shape)
        if self.inner is None:
            return mask.copy()
        return cv2.bitwise_or(mask, self.inner.detect(bgr))

    def reset(self) -> None:
        """Reset the combined detector's state (the static mask itself has none)."""
        if self.inner is not None:
            self.inner.reset()
