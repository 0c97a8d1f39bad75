"""sensor_msgs/CompressedImage encode/decode (glare_inpaint_ros.compressed), image_transport format
strings."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from glare_inpaint_ros.compressed import decode_compressed, encode_compressed, parse_format
from glare_inpaint_ros.encodings import ImageFormatError

RNG = np.random.default_rng(7)


def _image(encoding: str) -> np.ndarray:
    """A smooth test picture (JPEG-friendly) in ``encoding``'s dtype and channel count."""
    h, w = 48, 64
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 4, yy * 5, (xx + yy) * 2, 255 - xx], axis=-1).astype(np.float64)
    base += RNG.normal(0, 2, base.shape)
    if encoding in ("mono16", "16UC1"):
        return (np.clip(base[..., 0], 0, 255) * 257).astype(np.uint16)
    ch = {"mono8": 1, "8UC1": 1, "bgr8": 3, "rgb8": 3, "8UC3": 3, "bgra8": 4, "rgba8": 4}[encoding]
    img = np.clip(base[..., :ch], 0, 255).astype(np.uint8)
    return img[..., 0] if ch == 1 else img


@pytest.mark.parametrize(
    "encoding", ["bgr8", "rgb8", "mono8", "8UC1", "8UC3", "bgra8", "rgba8", "mono16", "16UC1"]
)
def test_png_round_trip_is_lossless_in_the_original_channel_order(encoding: str) -> None:
    img = _image(encoding)
    fmt, data = encode_compressed(img, encoding, "png")
    assert fmt.startswith(f"{encoding}; png compressed ")
    out, enc = decode_compressed(fmt, data)
    assert enc == encoding and out.dtype == img.dtype and out.shape == img.shape
    if encoding in (
        "bgra8", "rgba8",
    ):  # image_transport stores colour as bgr8: alpha becomes opaque
        np.testing.assert_array_equal(out[..., :3], img[..., :3])
        assert (out[..., 3] == 255).all()
    else:
        np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "mono8"])
def test_jpeg_round_trip_is_close_and_keeps_channel_order(encoding: str) -> None:
    img = _image(encoding)
    fmt, data = encode_compressed(img, encoding, "jpeg", jpeg_quality=95)
    expected = f"{encoding}; jpeg compressed {'mono8' if encoding == 'mono8' else 'bgr8'}"
    assert fmt == expected
    out, enc = decode_compressed(fmt, data)
    assert enc == encoding and out.shape == img.shape
    assert np.abs(out.astype(int) - img).mean() < 3.0  # channel swaps would give tens of levels


def test_reads_what_image_transport_and_camera_drivers_write() -> None:
    bgr = _image("bgr8")
    ok, jpeg = cv2.imencode(".jpg", bgr)
    # Bare codec names, a mono image_transport string with its trailing space, and an RGB payload.
    out, enc = decode_compressed("jpeg", jpeg.tobytes())
    assert enc == "bgr8" and np.abs(out.astype(int) - bgr).mean() < 3
    ok, png = cv2.imencode(".png", bgr[..., 0])
    out, enc = decode_compressed("mono8; png compressed ", png)
    assert enc == "mono8" and np.array_equal(out, bgr[..., 0])
    ok, png = cv2.imencode(".png", bgr[..., ::-1])  # an encoder fed RGB data
    out, enc = decode_compressed("bgr8; png compressed rgb8", png)
    assert enc == "bgr8" and np.array_equal(out, bgr)
    assert parse_format("rgb8; jpeg compressed bgr8") == ("rgb8", "jpeg", "bgr8")
    assert parse_format("png") == (None, "png", None)


def test_bad_input_gives_clear_errors() -> None:
    img = _image("bgr8")
    with pytest.raises(ImageFormatError, match="undecodable jpeg data"):
        decode_compressed("bgr8; jpeg compressed bgr8", b"\xff\xd8not a jpeg at all")
    with pytest.raises(ImageFormatError, match="has no data"):
        decode_compressed("jpeg", b"")
    with pytest.raises(ImageFormatError, match="compressedDepth is not supported"):
        decode_compressed("16UC1; compressedDepth png", b"x")
    with pytest.raises(ImageFormatError, match="unknown codec 'tiff'"):
        decode_compressed("bgr8; tiff compressed bgr8", b"x")
    with pytest.raises(ImageFormatError, match="decoded to uint8, but format .* says mono16"):
        decode_compressed("mono16; png compressed mono16", cv2.imencode(".png", img[..., 0])[1])
    with pytest.raises(ImageFormatError, match="jpeg cannot store 16-bit"):
        encode_compressed(_image("mono16"), "mono16", "jpeg")
    with pytest.raises(ImageFormatError, match="does not fit mono8"):
        encode_compressed(img, "mono8", "png")
    with pytest.raises(ImageFormatError, match="unsupported encoding 'yuv422'"):
        encode_compressed(img, "yuv422", "png")
    with pytest.raises(ValueError, match="compression format must be one of jpeg, png"):
        encode_compressed(img, "bgr8", "webp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jpeg_quality must be in 1..100"):
        encode_compressed(img, "bgr8", "jpeg", jpeg_quality=0)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        encode_compressed([[1]], "mono8", "png")  # type: ignore[arg-type]
