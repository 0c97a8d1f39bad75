"""What a real camera does to a rendered frame before the chain sees it: defocus and JPEG.

The rendered sets are sharp and lossless; photos of glossy labels are neither. A lens slightly
out of focus spreads a white letter's edge over a few px, and JPEG's 4:2:0 chroma subsampling
smears the stock's colour into thin white strokes, so a letter reads as the stock plus white
light: what the colour test takes for a highlight. ``glare-inpaint eval --camera`` renders the
content and labels sets through this model (input and clean frame alike: the clean frame is what
the same camera sees without the glare; the GT mask is unchanged).

Conventions: BGR uint8 frames; ``blur`` is the Gaussian's sigma in px of a 640-px-wide frame
(scaled with the width: the same optics at any resolution), ``jpeg`` the OpenCV JPEG quality
(1-100, OpenCV's default 4:2:0 sampling; 0 = no JPEG).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Camera:
    """Defocus (``blur``, px at 640 px width) then JPEG (``jpeg`` quality, 0 = off)."""

    blur: float = 0.0
    jpeg: int = 0

    def __post_init__(self) -> None:
        if not self.blur >= 0.0:
            raise ValueError(f"camera blur must be >= 0 px, got {self.blur}")
        if not 0 <= self.jpeg <= 100:
            raise ValueError(f"camera jpeg quality must be 0 (off) or 1-100, got {self.jpeg}")

    @classmethod
    def parse(cls, text: str) -> Camera:
        """``"blur=0.8,jpeg=90"`` (either key may be left out; ``""`` or ``"none"``: off)."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            if part == "none":
                continue
            key, sep, value = part.partition("=")
            if not sep or key not in ("blur", "jpeg"):
                raise ValueError(f"camera: expected blur=PX and/or jpeg=QUALITY, got {part!r}")
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"camera: {key} must be a number, got {value!r}") from None
        jpeg = values.get("jpeg", 0.0)
        if jpeg != int(jpeg):
            raise ValueError(f"camera: jpeg must be a whole quality, got {jpeg}")
        return cls(blur=values.get("blur", 0.0), jpeg=int(jpeg))

    @property
    def active(self) -> bool:
        """Whether the model changes a frame at all."""
        return self.blur > 0.0 or self.jpeg > 0

    @property
    def tag(self) -> str:
        """A short name for folders and reports: ``"blur0.8_jpeg90"``, ``""`` when off."""
        parts = ([f"blur{self.blur:g}"] if self.blur > 0 else []) + (
            [f"jpeg{self.jpeg}"] if self.jpeg > 0 else [])
        return "_".join(parts)

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        """The frame as this camera records it (a new array; ``bgr`` itself when off)."""
        out = bgr
        if self.blur > 0.0:
            out = cv2.GaussianBlur(out, (0, 0), self.blur * out.shape[1] / 640.0)
        if self.jpeg > 0:
            ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg])
            if not ok:
                raise ValueError("camera: JPEG encoding failed")
            out = cv2.imdecode(data, cv2.IMREAD_COLOR)
        return out
