"""Input checks shared by every core entry point.

Conventions (the whole package): images are numpy arrays in OpenCV layout, ``H x W`` (mono) or
``H x W x C`` with C = 3 (BGR) or 4 (BGRA), dtype uint8 (uint16 accepted for mono/3-channel where a
backend says so). Masks are ``H x W`` uint8 with 255 = glare and 0 = clean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

IMAGE_DTYPES = (np.uint8, np.uint16)


def check_image(image: Any, *, name: str = "image", dtypes: tuple = IMAGE_DTYPES) -> np.ndarray:
    """Validate an image and return it as a C-contiguous array (a copy only if needed).

    Raises:
        TypeError: not a numpy array, or a dtype not in ``dtypes``.
        ValueError: empty, or a shape that is not ``HxW`` / ``HxWx{1,3,4}``.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(image).__name__}")
    if image.dtype not in dtypes:
        allowed = ", ".join(np.dtype(d).name for d in dtypes)
        raise TypeError(f"{name} dtype must be one of {allowed}, got {image.dtype}")
    if image.ndim not in (2, 3):
        raise ValueError(f"{name} must be HxW or HxWxC, got shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name} must have 1, 3 or 4 channels, got {image.shape[2]}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return np.ascontiguousarray(image)


def check_bgr(image: Any, *, name: str = "image") -> np.ndarray:
    """Like :func:`check_image` but returns a uint8 3-channel BGR view for detectors.

    Mono images are expanded to 3 channels, BGRA drops alpha, uint16 is scaled to 8 bits
    (``>> 8``). The input is never modified.
    """
    image = check_image(image, name=name)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        import cv2

        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    return image


def check_mask(mask: Any, shape: tuple[int, ...] | None = None, *,
               name: str = "mask") -> np.ndarray:
    """Validate a mask and return it as C-contiguous uint8 0/255.

    Accepts bool, or uint8 where any non-zero value counts as glare. ``shape`` (the image's
    shape) must match the mask's ``H x W`` when given.

    Raises:
        TypeError: not an array, or dtype other than uint8/bool.
        ValueError: not 2-D (an ``HxWx1`` mask is accepted), empty, or size mismatch.
    """
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(mask).__name__}")
    if mask.dtype not in (np.uint8, np.bool_):
        raise TypeError(f"{name} dtype must be uint8 or bool, got {mask.dtype}")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise ValueError(f"{name} must be HxW (one channel), got shape {mask.shape}")
    if mask.size == 0:
        raise ValueError(f"{name} is empty (shape {mask.shape})")
    if shape is not None and tuple(mask.shape[:2]) != tuple(shape[:2]):
        raise ValueError(
            f"{name} size {mask.shape[1]}x{mask.shape[0]} does not match image size "
            f"{shape[1]}x{shape[0]} (WxH)"
        )
    if mask.dtype == np.bool_:
        return mask.astype(np.uint8) * 255
    import cv2

    # Normalise any non-zero value to 255 (one fast pass, 1x1 included; the result is contiguous).
    return cv2.threshold(np.ascontiguousarray(mask), 0, 255, cv2.THRESH_BINARY)[1]
