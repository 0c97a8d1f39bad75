"""Property-based tests (hypothesis): no input makes the conversion, mask or inpainting code fail
with anything but the documented ``ValueError`` / ``TypeError`` / ``ImageFormatError``, and
whatever is accepted obeys the contract (round trips are exact; outside the mask the output equals
the input).

Kept fast: modest ``max_examples``, tiny images, no deadline. atheris (coverage-guided fuzzing) is
not used: it needs a clang-built CPython extension; hypothesis covers the same entry points.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from glare_inpaint_ros.compressed import decode_compressed, encode_compressed
from glare_inpaint_ros.core.inpainting import INPAINTERS
from glare_inpaint_ros.core.masks import MaskRefiner
from glare_inpaint_ros.core.pipeline import GlareRemover
from glare_inpaint_ros.encodings import (
    ENCODINGS, ImageFormatError, decode, encode, from_bgr, to_bgr,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: backends that need no model file (the learned ones are covered by test_learned.py).
MODEL_FREE = ("fast", "telea", "ns")
DOCUMENTED = (ValueError, TypeError)  # ImageFormatError is a ValueError

sizes = st.integers(1, 12)
ALL_DTYPES = [np.uint8, np.uint16, np.int8, np.int16, np.float32, np.float64, np.bool_]
#: mostly valid image dtypes, some invalid ones (sampled_from is uniform, so repeats weigh).
IMAGE_DTYPES = st.sampled_from([np.uint8] * 4 + [np.uint16] * 2 + ALL_DTYPES)
MASK_DTYPES = st.sampled_from([np.uint8] * 4 + [np.bool_] * 2 + [np.uint16, np.float32])


@st.composite
def encoded_images(draw) -> tuple[str, np.ndarray, int, int]:
    """(encoding, array in that encoding, row padding in bytes, is_bigendian)."""
    enc = draw(st.sampled_from(sorted(ENCODINGS)))
    dtype, ch = ENCODINGS[enc]
    h, w = draw(sizes), draw(sizes)
    shape = (h, w) if ch == 1 else (h, w, ch)
    arr = draw(arrays(dtype, shape))
    pad = draw(st.integers(0, 7))
    big = draw(st.integers(0, 1)) if dtype.itemsize > 1 else 0
    return enc, arr, pad, big


def message_fields_valid(enc: str, h: int, w: int, step: int, nbytes: int) -> bool:
    """Whether an image message with these fields is decodable, per the documented rules
    (:func:`glare_inpaint_ros.encodings.decode`): a known encoding, a non-empty size, a ``step``
    holding a row, and exactly ``step * height`` bytes. Written from the documentation, not the
    code: a refusal of valid fields (or an acceptance of invalid ones) fails the tests."""
    if enc not in ENCODINGS or h <= 0 or w <= 0:
        return False
    dtype, ch = ENCODINGS[enc]
    return step >= w * ch * np.dtype(dtype).itemsize and nbytes == step * h


def fits_encoding(arr: np.ndarray, enc: str) -> bool:
    """Whether ``arr`` can be sent as ``enc`` (its dtype and channel count)."""
    dtype, ch = ENCODINGS[enc]
    return arr.dtype == dtype and (1 if arr.ndim == 2 else arr.shape[2]) == ch


def to_buffer(arr: np.ndarray, pad: int, big: int) -> tuple[int, bytes]:
    """(step, data) of ``arr`` with ``pad`` garbage bytes after each row, in the given byte
    order."""
    h = arr.shape[0]
    a = arr.astype(arr.dtype.newbyteorder(">" if big else "<"))
    rows = a.reshape(h, -1).view(np.uint8).reshape(h, -1)
    padded = np.concatenate([rows, np.full((h, pad), 0xAB, np.uint8)], axis=1)
    return padded.shape[1], padded.tobytes()


# -- encodings -------------------------------------------------------------------------------
@FAST
@given(encoded_images())
def test_decode_round_trips_any_padding_and_byte_order(case):
    enc, arr, pad, big = case
    step, data = to_buffer(arr, pad, big)
    h, w = arr.shape[:2]
    out = decode(enc, h, w, step, data, big)
    assert out.dtype == arr.dtype.newbyteorder("=") and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    h2, w2, step2, data2 = encode(out, enc)
    assert (h2, w2, step2) == (
        h, w, w * arr.dtype.itemsize * (arr.shape[2] if arr.ndim == 3 else 1),
    )
    np.testing.assert_array_equal(decode(enc, h2, w2, step2, data2), arr)
    # the processing view and back is the identity
    np.testing.assert_array_equal(from_bgr(to_bgr(out, enc), enc), arr)


@FAST
@given(
    enc=st.one_of(
        st.sampled_from(sorted(ENCODINGS)),
        st.sampled_from(["32FC1", "yuv422", "bayer_rggb8", "", "BGR8"]), st.text(max_size=8),
    ),
    h=st.integers(-3, 12),
    w=st.integers(-3, 12),
    step=st.integers(-5, 60),
    nbytes=st.one_of(st.integers(0, 400), st.none()),
    big=st.integers(0, 1),
)
def test_decode_arbitrary_fields_only_raises_image_format_error(enc, h, w, step, nbytes, big):
    data = bytes(range(256)) * 3
    if nbytes is None:  # the size the fields call for: many examples are then valid
        nbytes = max(step * h, 0)
    valid = message_fields_valid(enc, h, w, step, min(nbytes, len(data)))
    try:
        out = decode(enc, h, w, step, data[:nbytes], big)
    except ImageFormatError:
        event("refused")
        assert not valid, "valid fields refused"
        return
    event("accepted")
    assert valid, "invalid fields accepted"
    assert out.shape[:2] == (h, w) and out.dtype == ENCODINGS[enc][0]


@FAST
@given(
    arr=arrays(st.sampled_from(ALL_DTYPES), st.tuples(sizes, sizes, st.integers(1, 5))),
    enc=st.sampled_from(sorted(ENCODINGS)),
)
def test_encode_refuses_arrays_that_do_not_fit(arr, enc):
    dtype, ch = ENCODINGS[enc]
    try:
        encode(arr, enc)
    except ImageFormatError:
        assert arr.dtype != dtype or arr.shape[2] != ch
        return
    assert arr.dtype == dtype and arr.shape[2] == ch


# -- ROS conversions (sensor_msgs/Image) -----------------------------------------------------
# The encodings/mask/inpainting properties below run without ROS; these need the message wheels.
try:
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from glare_inpaint_ros.ros.conversions import (
        array_to_image, image_to_array, image_to_bgr, mask_to_array,
    )

    HAVE_ROS = True
except ImportError:
    HAVE_ROS = False
needs_ros = pytest.mark.skipif(
    not HAVE_ROS, reason="needs the ROS 2 message wheels (sensor_msgs, rclpy)"
)


@needs_ros
@FAST
@given(encoded_images())
def test_image_message_round_trip(case):
    enc, arr, _, _ = case
    hd = Header(frame_id="cam")
    hd.stamp.sec = 7
    msg = array_to_image(arr, enc, hd)
    assert msg.header == hd and msg.encoding == enc and len(msg.data) == msg.step * msg.height
    np.testing.assert_array_equal(image_to_array(msg), arr)
    bgr = image_to_bgr(msg)
    assert bgr.shape == arr.shape and bgr.dtype == arr.dtype


@needs_ros
@FAST
@given(encoded_images())
def test_padded_big_endian_message_decodes(case):
    enc, arr, pad, big = case
    step, data = to_buffer(arr, pad, big)
    msg = Image(height=arr.shape[0], width=arr.shape[1], encoding=enc, step=step, is_bigendian=big)
    msg.data = data
    np.testing.assert_array_equal(image_to_array(msg), arr)


@needs_ros
@FAST
@given(
    enc=st.one_of(st.sampled_from(sorted(ENCODINGS)), st.just("32FC1"), st.text(max_size=6)),
    h=st.integers(0, 12), w=st.integers(0, 12), step=st.integers(0, 60),
    nbytes=st.one_of(st.integers(0, 300), st.none()),
    image_shape=st.one_of(st.none(), st.tuples(sizes, sizes)),
)
def test_arbitrary_messages_only_raise_image_format_error(enc, h, w, step, nbytes, image_shape):
    if nbytes is None:  # the size the fields call for: many examples are then valid
        nbytes = step * h
    msg = Image(height=h, width=w, encoding=enc, step=step)
    msg.data = bytes(nbytes)
    valid = message_fields_valid(enc, h, w, step, nbytes)
    event("valid" if valid else "invalid")
    for fn in (image_to_array, image_to_bgr):
        try:
            out = fn(msg)
        except ImageFormatError:
            assert not valid, f"{fn.__name__} refused a valid message"
        else:
            assert valid and out.shape[:2] == (h, w), f"{fn.__name__} accepted an invalid message"
    mask_valid = (
        valid
        and enc in ("mono8", "8UC1")
        and (image_shape is None or tuple(image_shape) == (h, w))
    )
    try:
        mask = mask_to_array(msg, image_shape)
    except ImageFormatError:
        assert not mask_valid, "valid mask refused"
        return
    assert mask_valid, "invalid mask accepted"
    assert mask.dtype == np.uint8 and mask.shape == (h, w)


@needs_ros
@FAST
@given(
    arr=arrays(
        st.sampled_from(ALL_DTYPES),
        st.one_of(st.tuples(sizes, sizes), st.tuples(sizes, sizes, st.integers(1, 5))),
    ),
    enc=st.sampled_from(sorted(ENCODINGS)),
)
def test_array_to_image_refuses_misfits_with_image_format_error(arr, enc):
    try:
        msg = array_to_image(arr, enc, Header())
    except ImageFormatError:
        assert not fits_encoding(arr, enc), "an array that fits the encoding was refused"
        return
    assert fits_encoding(arr, enc)
    np.testing.assert_array_equal(image_to_array(msg), arr.reshape(image_to_array(msg).shape))


# -- compressed -------------------------------------------------------------------------------
@FAST
@given(
    fmt=st.one_of(
        st.sampled_from(
            [
                "jpeg", "png", "bgr8; jpeg compressed bgr8", "mono16; png compressed mono16",
                "rgb8; png compressed bgr8", "compressedDepth", "", "tiff",
            ]
        ),
        st.text(max_size=20),
    ),
    data=st.binary(max_size=200),
    prefix=st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"]),
)
def test_corrupt_compressed_image_only_raises_image_format_error(fmt, data, prefix):
    try:
        arr, enc = decode_compressed(fmt, prefix + data)
    except ImageFormatError:
        return
    assert arr.size > 0 and enc in ENCODINGS


@settings(max_examples=25, deadline=None)
@given(encoded_images(), st.sampled_from(["png", "jpeg"]), st.integers(0, 200))
def test_truncated_compressed_image_is_refused_or_decoded(case, codec, cut):
    enc, arr, _, _ = case
    try:
        fmt, data = encode_compressed(arr, enc, codec)
    except ImageFormatError:
        assert codec == "jpeg" and arr.dtype == np.uint16  # documented: no 16-bit JPEG
        return
    try:
        out, out_enc = decode_compressed(fmt, bytes(data)[: max(0, len(data) - cut)])
    except ImageFormatError:
        assert cut > 0, "a complete encoded image was refused"
        return
    assert out.shape[:2] == arr.shape[:2]


# -- mask operations ----------------------------------------------------------------------------
mask_shapes = st.one_of(
    st.tuples(st.integers(0, 24), st.integers(0, 24)), st.tuples(sizes, sizes, st.integers(1, 3))
)
refiner_params = st.fixed_dictionaries(
    {
        "min_area": st.integers(0, 20), "fill_holes_area": st.integers(0, 40),
        "dilation.kernel_size": st.integers(0, 9), "dilation.iterations": st.integers(0, 3),
        "dilation.kernel_shape": st.sampled_from(["ellipse", "rect", "cross"]),
        "max_coverage": st.floats(0.0, 1.0),
    }
)


@FAST
@given(mask=arrays(MASK_DTYPES, mask_shapes), params=refiner_params)
def test_mask_refiner_accepts_or_refuses_cleanly(mask, params):
    refiner = MaskRefiner(**params)
    try:
        r = refiner.refine(mask)
    except DOCUMENTED as exc:
        event(f"refused: {type(exc).__name__}")
        ok_dtype = mask.dtype in (np.uint8, np.bool_)
        ok_shape = mask.ndim == 2 or (mask.ndim == 3 and mask.shape[2] == 1)
        assert not (ok_dtype and ok_shape and mask.size > 0), "valid mask refused"
        return
    event("accepted")
    assert r.mask.dtype == np.uint8 and r.mask.shape == mask.shape[:2]
    assert set(np.unique(r.mask)) <= {0, 255}
    assert r.coverage == pytest.approx(np.count_nonzero(r.mask) / r.mask.size)
    assert r.flooded == (r.coverage > params["max_coverage"])
    if params["min_area"] <= 1:
        raw = (mask.reshape(mask.shape[:2]) != 0)
        assert (r.mask[raw] == 255).all()  # nothing removed: only filled / grown


# -- inpainting ----------------------------------------------------------------------------------
image_shapes = st.one_of(st.tuples(st.integers(0, 20), st.integers(0, 20)),
                         st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 5)))


@st.composite
def image_and_mask(draw) -> tuple[np.ndarray, np.ndarray]:
    image = draw(arrays(IMAGE_DTYPES, image_shapes))
    same = draw(st.integers(0, 4)) > 0  # mostly the image's size
    hw = image.shape[:2] if same and image.size else draw(st.tuples(sizes, sizes))
    mask = draw(arrays(MASK_DTYPES, hw))
    return image, mask


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=image_and_mask(),
    backend=st.sampled_from(MODEL_FREE),
    roi=st.booleans(),
    margin=st.integers(0, 8),
)
def test_inpainters_accept_or_refuse_cleanly_and_never_touch_unmasked_pixels(
    data, backend, roi, margin
):
    image, mask = data
    inp = INPAINTERS.get(backend)(roi=roi, roi_margin=margin)
    image_before, mask_before = image.copy(), mask.copy()
    supported = INPAINTERS.get(backend).SUPPORTED_DTYPES
    valid_image = (image.dtype in supported and image.ndim in (2, 3) and image.size > 0
                   and (image.ndim == 2 or image.shape[2] in (1, 3, 4)))
    valid_mask = mask.dtype in (np.uint8, np.bool_) and mask.shape[:2] == image.shape[:2]
    try:
        out = inp.inpaint(image, mask)
    except DOCUMENTED as exc:
        event(f"refused: {type(exc).__name__}")
        assert not (valid_image and valid_mask), "a valid image and mask were refused"
        return
    finally:
        np.testing.assert_array_equal(image, image_before)  # inputs never modified
        np.testing.assert_array_equal(mask, mask_before)
    event("accepted")
    assert valid_image and valid_mask, "an invalid image or mask was accepted"
    assert out.shape == image.shape and out.dtype == image.dtype
    outside = mask.reshape(mask.shape[:2]) == 0
    np.testing.assert_array_equal(out[outside], image[outside])
    if image.ndim == 3 and image.shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], image[..., 3])  # alpha is never filled


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=arrays(IMAGE_DTYPES, image_shapes), backend=st.sampled_from(MODEL_FREE))
def test_pipeline_process_accepts_or_refuses_cleanly(image, backend):
    remover = GlareRemover({"inpainting.backend": backend})
    try:
        r = remover.process(image)
    except DOCUMENTED as exc:
        event(f"refused: {type(exc).__name__}")
        assert (
            image.dtype not in (np.uint8, np.uint16)
            or image.size == 0
            or (image.ndim == 3 and image.shape[2] not in (1, 3, 4))
        )
        return
    event("accepted")
    assert r.image.shape == image.shape and r.image.dtype == image.dtype
    outside = r.mask == 0
    np.testing.assert_array_equal(r.image[outside], image[outside])


@st.composite
def temporal_streams(draw) -> tuple[dict, list[tuple[np.ndarray, float | None]]]:
    """A short stream of small frames (a texture sliding under white blobs; any size, layout
    and bit depth; stamps that stall, jump back and skip) and a temporal configuration."""
    h, w = draw(st.integers(1, 48)), draw(st.integers(1, 96))
    ch = draw(st.sampled_from([0, 1, 3, 3, 4]))  # (0: HxW)
    wide = draw(st.booleans())
    config = {
        "detector.type": draw(st.sampled_from(["threshold", "dichromatic"])),
        "inpainting.backend": draw(st.sampled_from(["fast", "separation"])),
        "temporal.fill.enabled": draw(st.booleans()),
        "temporal.mask.enabled": draw(st.booleans()),
        "temporal.mask.enter_fraction": draw(st.sampled_from([0.0, 1.0])),
        "temporal.fill.ring_px": draw(st.sampled_from([1, 2, 8, 64])),
        "temporal.motion_cue.grow_px": draw(st.sampled_from([0, 6, 64])),
        "temporal.motion_cue.min_known": draw(st.sampled_from([1, 6])),
        "temporal.motion_cue.min_texture": draw(st.sampled_from([0.0, 5.5])),
        "temporal.flow_method": draw(st.sampled_from(["dis", "farneback"])),
    }
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    tex = rng.random((h, w + 64)) * 150 + 40
    frames, stamp = [], 0.0
    for i in range(draw(st.integers(2, 5))):
        f = np.repeat(tex[:, 4 * i:4 * i + w, None], max(ch, 1), axis=2)
        for _ in range(draw(st.integers(1, 3))):
            y, x, r = rng.integers(h), rng.integers(w), int(rng.integers(1, 4))
            f[max(y - r, 0):y + r, max(x - r, 0):x + r] = 255
        img = f.astype(np.uint8)
        if ch == 4:
            img[..., 3] = 255
        if ch == 0:
            img = img[..., 0]
        if wide:
            img = img.astype(np.uint16) * 257
        stamp += draw(st.sampled_from([1 / 30, 1 / 30, 0.0, -0.1, 2.0]))
        frames.append((img, draw(st.sampled_from([stamp, stamp, None]))))
    return config, frames


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=temporal_streams())
def test_temporal_stages_take_any_stream(stream):
    """The temporal stages (mask hysteresis, fill, motion cue) on any small stream: no error,
    the frame's shape and dtype kept, nothing changed outside the reported mask. (Found: DIS
    flow on frames under 32 px, an ``HxWx1`` frame returned ``HxW``, the cue's fill outside a
    mask the temporal mask held back, the separation's all-clipped ring.)"""
    config, frames = stream
    remover = GlareRemover(config)
    for img, stamp in frames:
        r = remover.process(img, stamp=stamp)
        assert r.image.shape == img.shape and r.image.dtype == img.dtype
        outside = r.mask == 0
        np.testing.assert_array_equal(r.image[outside], img[outside])
