"""sensor_msgs/Image encodings <-> numpy arrays, with no ROS import.

Used by the ROS layer (rclpy messages) and by the bag tools (rosbags messages) alike, so the
rules live in one place. Conventions: arrays are OpenCV layout ``HxW`` or ``HxWxC``; colour order
is whatever the encoding says (``rgb8`` arrays are RGB, not converted), see :func:`to_bgr` /
:func:`from_bgr` for the processing view.
"""

from __future__ import annotations

import sys
from typing import Union

import cv2
import numpy as np

# encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "bgr8": (np.dtype(np.uint8), 3),
    "rgb8": (np.dtype(np.uint8), 3),
    "bgra8": (np.dtype(np.uint8), 4),
    "rgba8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "8UC1": (np.dtype(np.uint8), 1),
    "8UC3": (np.dtype(np.uint8), 3),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
}

Buffer = Union[bytes, bytearray, memoryview, np.ndarray]


class ImageFormatError(ValueError):
    """An image message that cannot be turned into an array (the message says why)."""


def decode(encoding: str, height: int, width: int, step: int, data: Buffer,
           is_bigendian: int = 0) -> np.ndarray:
    """Return an array view of an image message's pixel buffer (zero copy where possible).

    Args:
        encoding: one of :data:`ENCODINGS`.
        height, width: pixels.
        step: bytes per row including padding (``>= width * channels * itemsize``).
        data: the message's ``data`` (bytes, array('B'), memoryview or uint8 ndarray).
        is_bigendian: 1 if 16-bit samples are big-endian.

    Raises:
        ImageFormatError: unsupported encoding, zero size, ``step`` too small, or ``data`` length
            different from ``step * height``.
    """
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, ch = ENCODINGS[encoding]
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"empty image ({width}x{height})")
    row = width * ch * dtype.itemsize
    if step < row:
        raise ImageFormatError(f"step {step} < width*channels*bytes = {row}")
    buf = (np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray)
           else data.view(np.uint8).reshape(-1))
    if buf.size != step * height:
        raise ImageFormatError(
            f"data has {buf.size} bytes, expected step*height = {step * height}")
    rows = buf.reshape(height, step)[:, :row]
    if dtype.itemsize > 1:
        big = bool(is_bigendian)
        dt = dtype.newbyteorder(">" if big else "<")
        arr = np.ascontiguousarray(rows).view(dt).reshape(height, width, ch)
        if dt.byteorder not in ("=", "|") and (dt.byteorder == ">") != (sys.byteorder == "big"):
            arr = arr.astype(dtype)
    else:
        arr = (rows.reshape(height, width, ch) if step == row
               else np.ascontiguousarray(rows).reshape(height, width, ch))
    return arr[:, :, 0] if ch == 1 else arr


def check_fits(array: np.ndarray, encoding: str) -> int:
    """Return the row size in bytes (``step`` without padding) of ``array`` sent as ``encoding``.

    Raises:
        ImageFormatError: unknown encoding, or the array's dtype/channels do not fit it.
    """
    if encoding not in ENCODINGS:
        raise ImageFormatError(f"unsupported encoding {encoding!r}")
    dtype, ch = ENCODINGS[encoding]
    got = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype != dtype or got != ch:
        raise ImageFormatError(
            f"array {array.dtype} with {got} channel(s) does not fit {encoding}")
    return array.shape[1] * ch * dtype.itemsize


def encode(array: np.ndarray, encoding: str) -> tuple[int, int, int, bytes]:
    """Return ``(height, width, step, data)`` for ``array`` in ``encoding`` (no row padding).

    Raises:
        ImageFormatError: array dtype/channels do not fit the encoding.
    """
    step = check_fits(array, encoding)
    return array.shape[0], array.shape[1], step, np.ascontiguousarray(array).tobytes()


def to_bgr(array: np.ndarray, encoding: str) -> np.ndarray:
    """Processing view for the core: BGR/BGRA/mono as OpenCV expects (rgb8 -> bgr8 etc.).

    uint16 mono is returned as is (backends that cannot fill 16 bits convert themselves).
    """
    if encoding == "rgb8":
        return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if encoding == "rgba8":
        return cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    return array


def from_bgr(array: np.ndarray, encoding: str) -> np.ndarray:
    """Inverse of :func:`to_bgr`: back to the message's channel order."""
    if encoding == "rgb8":
        return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    if encoding == "rgba8":
        return cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA)
    return array
