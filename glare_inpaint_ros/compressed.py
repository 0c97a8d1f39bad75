"""sensor_msgs/CompressedImage (JPEG/PNG) <-> numpy arrays, with no ROS import.

One place for the ``compressed`` transport rules, shared by the ROS nodes (``input_transport:
compressed``) and the bag tools. Format strings follow ROS 2 ``image_transport``'s ``compressed``
plugin: ``"<encoding>; <jpeg|png> compressed <target>"``, e.g. ``"bgr8; jpeg compressed bgr8"``
(colour images are stored as BGR, mono as is). Bare ``"jpeg"`` / ``"png"`` (as many camera
drivers write) are read as BGR or mono. ``compressedDepth`` is not supported.

Arrays use the conventions of :mod:`glare_inpaint_ros.encodings`: OpenCV layout, channel order as
the encoding says (an ``rgb8`` array is RGB), uint8 or uint16 (16-bit only in PNG).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from .encodings import ENCODINGS, Buffer, ImageFormatError
from .imageheader import DEFAULT_MAX_PIXELS, decode_image

CompressionFormat = Literal["jpeg", "png"]
FORMATS: tuple[str, ...] = ("jpeg", "png")

# Encodings image_transport treats as colour (converted to BGR before compressing).
_COLOUR = {"bgr8", "rgb8", "bgra8", "rgba8"}
# cv2 conversion from a BGR / mono decoded array to each 8-bit encoding's channel order.
_FROM_BGR = {"rgb8": cv2.COLOR_BGR2RGB, "bgra8": cv2.COLOR_BGR2BGRA, "rgba8": cv2.COLOR_BGR2RGBA,
             "mono8": cv2.COLOR_BGR2GRAY, "8UC1": cv2.COLOR_BGR2GRAY}
_FROM_MONO = {"bgr8": cv2.COLOR_GRAY2BGR, "8UC3": cv2.COLOR_GRAY2BGR, "rgb8": cv2.COLOR_GRAY2RGB,
              "bgra8": cv2.COLOR_GRAY2BGRA, "rgba8": cv2.COLOR_GRAY2RGBA}
_TO_BGR = {"rgb8": cv2.COLOR_RGB2BGR, "bgra8": cv2.COLOR_BGRA2BGR, "rgba8": cv2.COLOR_RGBA2BGR}


def parse_format(fmt: str) -> tuple[str | None, str, str | None]:
    """Split a CompressedImage ``format`` into ``(encoding, codec, target)``.

    ``"rgb8; jpeg compressed bgr8"`` -> ``("rgb8", "jpeg", "bgr8")``; ``"jpeg"`` ->
    ``(None, "jpeg", None)``; ``"mono8; jpeg compressed "`` -> ``("mono8", "jpeg", None)``.

    Raises:
        ImageFormatError: empty, ``compressedDepth``, or a codec other than jpeg/png.
    """
    text = fmt.strip()
    if "compresseddepth" in text.lower():
        raise ImageFormatError(f"CompressedImage format {fmt!r}: compressedDepth is not supported")
    encoding: str | None = None
    rest = text
    if ";" in text:
        head, rest = text.split(";", 1)
        encoding = head.strip() or None
    words = rest.replace("compressed", " ").split()
    codec = words[0].lower() if words else ""
    if codec == "jpg":
        codec = "jpeg"
    if codec not in FORMATS:
        raise ImageFormatError(
            f"CompressedImage format {fmt!r}: unknown codec {codec or '(none)'!r}; supported: "
            "jpeg, png")
    target = words[1] if len(words) > 1 else None
    return encoding, codec, target


def decode_compressed(fmt: str, data: Buffer,
                      max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    """Decode a CompressedImage into ``(array, encoding)``, like image_transport's subscriber.

    The size is read from the data's header first
    (:func:`glare_inpaint_ros.imageheader.decode_image`): an image claiming more than
    ``max_pixels`` is refused without decoding.

    Args:
        fmt: the message's ``format`` string (see module docstring).
        data: the message's ``data`` (bytes, array('B'), memoryview or uint8 ndarray).
        max_pixels: the largest ``width * height`` decoded (0 = no limit).

    Returns:
        The pixels in the original ``encoding``'s channel order (``rgb8`` -> RGB array), and that
        encoding. Bare ``"jpeg"``/``"png"`` give ``bgr8``/``bgra8``/``mono8``/``mono16`` by
        content.

    Raises:
        ImageTooLargeError: the header claims more than ``max_pixels`` (an ImageFormatError).
        ImageFormatError: unknown format, empty or undecodable data (any decoder failure), or
            decoded pixels that do not fit the encoding named in ``fmt``.
    """
    encoding, codec, target = parse_format(fmt)
    if len(memoryview(data) if not isinstance(data, np.ndarray) else data.reshape(-1)) == 0:
        raise ImageFormatError(f"CompressedImage ({fmt!r}) has no data")
    try:
        img = decode_image(data, cv2.IMREAD_UNCHANGED, max_pixels)
    except ImageFormatError as exc:
        raise type(exc)(f"CompressedImage ({fmt!r}): {exc}") from None
    channels = 1 if img.ndim == 2 else img.shape[2]
    if channels >= 3 and target is not None and target.startswith("rgb"):
        # The encoder was given RGB data; OpenCV's "BGR" view of it is really RGB.
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)
    if encoding is None:
        if img.dtype == np.uint16:
            encoding = "mono16" if channels == 1 else "unsupported 16-bit colour"
        else:
            encoding = {1: "mono8", 3: "bgr8", 4: "bgra8"}.get(channels, f"{channels}-channel")
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f"CompressedImage format {fmt!r}: unsupported encoding {encoding!r}")
    dtype, want = ENCODINGS[encoding]
    if img.dtype != dtype:
        raise ImageFormatError(
            f"{codec} data decoded to {img.dtype}, but format {fmt!r} says {encoding}")
    if channels == want and encoding in ("bgr8", "bgra8", "8UC3", "mono8", "8UC1", "mono16",
                                         "16UC1"):
        return img, encoding
    if channels == 1 and encoding in _FROM_MONO:
        return cv2.cvtColor(img, _FROM_MONO[encoding]), encoding
    if channels == 4 and want == 4 and encoding == "rgba8":
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA), encoding
    if channels == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        channels = 3
    if channels == 3 and encoding in _FROM_BGR:
        return cv2.cvtColor(img, _FROM_BGR[encoding]), encoding
    if channels == 3 and want == 3:
        return img, encoding
    raise ImageFormatError(
        f"{codec} data decoded to {channels} channel(s), which does not fit {encoding}")


def encode_compressed(
    array: np.ndarray, encoding: str, fmt: CompressionFormat = "jpeg", *, jpeg_quality: int = 95,
    png_level: int = 3
) -> tuple[str, bytes]:
    """Compress an image like image_transport's ``compressed`` publisher.

    Args:
        array: pixels in ``encoding``'s channel order (checked against it).
        encoding: the raw encoding (becomes the part before ``;`` in the format string).
        fmt: ``"jpeg"`` (8-bit only; alpha is dropped) or ``"png"`` (8 or 16 bit).
        jpeg_quality: 1..100 (image_transport default 95).
        png_level: zlib level 0..9 (image_transport default 3).

    Returns:
        ``(format, data)``, e.g. ``("rgb8; jpeg compressed bgr8", b"...")``.

    Raises:
        ImageFormatError: unsupported encoding, an array that does not fit it, 16-bit JPEG.
        ValueError: unknown ``fmt`` or out-of-range quality/level.
    """
    if fmt not in FORMATS:
        raise ValueError(f"compression format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
    if not 0 <= png_level <= 9:
        raise ValueError(f"png_level must be in 0..9, got {png_level}")
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f"unsupported encoding {encoding!r}; supported: {', '.join(ENCODINGS)}")
    dtype, ch = ENCODINGS[encoding]
    if not isinstance(array, np.ndarray):
        raise TypeError(f"image must be a numpy.ndarray, got {type(array).__name__}")
    got = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype != dtype or got != ch or array.ndim not in (2, 3):
        raise ImageFormatError(f"array {array.dtype} {array.shape} does not fit {encoding}")
    if fmt == "jpeg" and dtype != np.uint8:
        raise ImageFormatError(f"jpeg cannot store 16-bit {encoding}; use png")
    img, target = array, ""
    if encoding in _COLOUR:
        img, target = (cv2.cvtColor(array, _TO_BGR[encoding]) if encoding in _TO_BGR
                       else array), "bgr8"
    elif ch == 1:
        target = "mono16" if dtype == np.uint16 else "mono8"
    else:  # 8UC3: stored as given
        target = encoding
    params = ([cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if fmt == "jpeg"
              else [cv2.IMWRITE_PNG_COMPRESSION, png_level])
    ok, out = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", np.ascontiguousarray(img), params)
    if not ok:  # pragma: no cover - OpenCV only fails on shapes checked above
        raise ImageFormatError(f"OpenCV could not encode {encoding} {array.shape} as {fmt}")
    return f"{encoding}; {fmt} compressed {target}", out.tobytes()
