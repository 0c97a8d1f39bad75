"""The interface every specular detector implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..params import ParamSpec, Schema
from ..validation import check_bgr


class Detector(ABC):
    """Finds glare / specular highlights in one frame.

    Subclasses declare ``PARAMS`` (their parameters, names relative to ``detector.<name>.``),
    take exactly those as keyword arguments in ``__init__`` (already validated and typed), and
    implement :meth:`_detect`. Register with ``@DETECTORS.register("name")`` and import the
    module in ``detectors/__init__.py``.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()

    def __init__(self, **params: Any) -> None:
        schema = Schema(self.PARAMS)
        self.params: dict[str, Any] = schema.validate(params)

    def detect(self, image: np.ndarray) -> np.ndarray:
        """Return the glare mask of ``image``.

        Args:
            image: BGR uint8 ``HxWx3`` (mono, BGRA and uint16 are converted; see
                :func:`~glare_inpaint_ros.core.validation.check_bgr`).

        Returns:
            ``HxW`` uint8 mask, 255 = glare, 0 = clean. The input is never modified.
        """
        return self._detect(check_bgr(image))

    @abstractmethod
    def _detect(self, bgr: np.ndarray) -> np.ndarray:
        """Detect on a validated, contiguous BGR uint8 image."""

    def reset(self) -> None:
        """Forget any state carried between frames (warm-started centres, ...)."""
