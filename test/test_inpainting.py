"""Inpainting backends (every registered one that needs no model file) and the ROI machinery."""

from __future__ import annotations

import numpy as np
import pytest
import cv2

from glare_inpaint_ros.core.inpainting import INPAINTERS, Inpainter
from glare_inpaint_ros.core.inpainting.base import paste_masked
from glare_inpaint_ros.core.inpainting.fast import push_pull_fill
from glare_inpaint_ros.core.inpainting.roi import (
    PAIRWISE_MAX, _merge_pairwise, _merge_raster, component_boxes, component_rects, grow_boxes,
    merge_boxes,
)


def _buildable() -> list[str]:
    """Backends that build with default parameters; ones that need a model file are left out."""
    names = []
    for name, cls in INPAINTERS.items():
        try:
            cls()
        except ValueError as exc:
            if "model" in str(exc).lower():
                continue
            raise
        names.append(name)
    return names


BACKENDS = _buildable()
#: The backends that paint over the mask. ``separation`` subtracts a highlight and fills only
#: clipped
#: highlight cores, leaving a painted-in white disc with no highlight around it alone; its own
#: tests are in test_dichromatic.py.
FILL_BACKENDS = [name for name in BACKENDS if name != "separation"]
H, W = 72, 96


def make(name: str, **kw) -> Inpainter:
    return INPAINTERS.get(name)(**kw)


def smooth_image(h: int = H, w: int = W, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    """Smooth BGR (or mono/BGRA) test image: a different linear ramp per channel, full range."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ramps = [
        30 + 150 * xx / w + 40 * yy / h, 220 - 120 * yy / h, 60 + 90 * (xx + yy) / (w + h),
        90 + 160 * yy / h,
    ]
    scale = 257.0 if dtype == np.uint16 else 1.0
    planes = [np.rint(r * scale).astype(dtype) for r in ramps[:channels]]
    return planes[0] if channels == 1 else np.dstack(planes)


def blob_mask(h: int = H, w: int = W, seed: int = 0, n: int = 4) -> np.ndarray:
    """A few filled ellipses (255 = glare), one of them touching the frame border."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for _ in range(n):
        c = (int(rng.integers(8, w - 8)), int(rng.integers(8, h - 8)))
        cv2.ellipse(
            m, c, (int(rng.integers(2, 7)), int(rng.integers(2, 5))), float(rng.integers(0, 180)),
            0, 360, 255, -1,
        )
    cv2.circle(m, (w - 1, 0), 5, 255, -1)
    return m


def glare_inset(name: str) -> int:
    """Width of the ring inside the mask edge where backend ``name`` blends its output with the
    input by design (the learned backends' ``feather``, px); 0 for the others."""
    return int(make(name).params.get("feather", 0))


def paint_glare(img: np.ndarray, mask: np.ndarray, inset: int = 0) -> np.ndarray:
    """A copy of ``img`` with saturated white glare painted under ``mask`` (colour channels only;
    a BGRA alpha is kept). The true pixels are thus hidden: an inpainter that returned its input
    would leave the glare, which the tests compare against the clean ``img``.

    ``inset``: paint only pixels at least this far (px) from the unmasked region, as the pipeline's
    dilated masks leave a ring of clean pixels around the glare (see :func:`glare_inset`)."""
    out = img.copy()
    peak = np.iinfo(img.dtype).max
    sel = mask.reshape(mask.shape[:2]) > 0
    if inset > 0:
        sel = cv2.distanceTransform(sel.astype(np.uint8), cv2.DIST_L2, 3) >= inset
    if out.ndim == 3 and out.shape[2] == 4:
        out[..., :3][sel] = peak
    else:
        out[sel] = peak
    return out


def layouts(name: str) -> list[tuple[str, np.ndarray]]:
    """(label, image) for every layout the core accepts, for backend ``name``'s dtypes."""
    out = []
    for dtype in (np.uint8, np.uint16):
        if dtype not in make(name).SUPPORTED_DTYPES:
            continue
        for ch in (1, 3, 4):
            out.append((f"{np.dtype(dtype).name}x{ch}", smooth_image(channels=ch, dtype=dtype)))
    out.append(("uint8 HxWx1", smooth_image(channels=1)[:, :, None]))
    return out


# --------------------------------------------------------------------------- backend contract


@pytest.mark.parametrize("roi", [True, False])
@pytest.mark.parametrize("name", FILL_BACKENDS)
def test_layouts_shape_dtype_outside_identical(name: str, roi: bool) -> None:
    mask = blob_mask()
    for label, clean in layouts(name):
        img = paint_glare(clean, mask, glare_inset(name))
        before = img.copy()
        out = make(name, roi=roi).inpaint(img, mask)
        assert out.shape == img.shape and out.dtype == img.dtype, label
        assert np.array_equal(img, before), f"{label}: input modified"
        assert not np.shares_memory(out, img), label
        outside = mask == 0
        assert np.array_equal(
            out[outside], img[outside]
        ), f"{label}: pixels outside the mask changed"
        if img.ndim == 3 and img.shape[2] == 4:
            assert np.array_equal(out[:, :, 3], img[:, :, 3]), f"{label}: alpha must be copied"
        # The glare is gone and the fill follows the smooth ramps (every channel, so no channel
        # was swapped or lost).
        peak = 65535.0 if img.dtype == np.uint16 else 255.0
        err = np.abs(out.astype(np.float64) - clean)[mask > 0] / peak
        assert err.mean() < 0.03, f"{label}: mean error {err.mean():.3f} of full range"


@pytest.mark.parametrize("name", FILL_BACKENDS)
def test_channel_order_preserved(name: str) -> None:
    img = np.empty((40, 50, 3), np.uint8)
    img[:] = (10, 120, 240)  # B, G, R
    img[:, :25] = (30, 140, 200)
    mask = np.zeros((40, 50), np.uint8)
    cv2.circle(mask, (38, 20), 6, 255, -1)  # inside the right half only
    out = make(name).inpaint(paint_glare(img, mask, glare_inset(name)), mask)
    filled = out[mask > 0].astype(int)
    assert np.abs(filled - (10, 120, 240)).max() <= 12


@pytest.mark.parametrize("name", FILL_BACKENDS)
def test_gradient_hole_filled_close_to_truth(name: str) -> None:
    """A 10 px-radius off-centre hole in a smooth ramp: the fill must be far closer than a flat
    fill with the mean known colour."""
    img = smooth_image(96, 128)
    mask = np.zeros((96, 128), np.uint8)
    cv2.circle(mask, (30, 24), 10, 255, -1)
    out = make(name).inpaint(paint_glare(img, mask, glare_inset(name)), mask)
    sel = mask > 0
    err = np.abs(out.astype(float) - img)[sel]
    flat = np.abs(img[~sel].mean(axis=0) - img[sel].astype(float))  # mean colour of known pixels
    assert err.mean() < 4.0 and err.mean() < 0.2 * flat.mean(), (err.mean(), flat.mean())
    assert err.max() < 25


@pytest.mark.parametrize("name", BACKENDS)
def test_zero_mask_returns_copy(name: str) -> None:
    img = smooth_image()
    for roi in (True, False):
        out = make(name, roi=roi).inpaint(img, np.zeros((H, W), np.uint8))
        assert np.array_equal(out, img) and not np.shares_memory(out, img)
        out[0, 0] = 0  # writable, and not the caller's array
        assert img[0, 0, 0] != 0


@pytest.mark.parametrize("name", FILL_BACKENDS)
def test_readonly_noncontiguous_bool_mask_and_border(name: str) -> None:
    big = smooth_image(2 * H, 2 * W)
    clean = big[::2, 1::2].copy()
    mask = blob_mask()
    mask[:, :3] = 255  # touches the left border along its whole height
    mask[-2:, :] = 255  # and the bottom one
    big[::2, 1::2] = paint_glare(clean, mask, glare_inset(name))
    view = big[::2, 1::2]  # non-contiguous view, 72 x 96
    view.flags.writeable = False
    ro_mask = mask.copy()
    ro_mask.flags.writeable = False
    inp = make(name)
    ref = inp.inpaint(np.ascontiguousarray(view), mask)
    out = inp.inpaint(view, ro_mask)
    assert np.array_equal(out, ref) and out.flags.writeable and out.flags.c_contiguous
    assert np.array_equal(inp.inpaint(view, mask > 0), ref), "bool mask must act like 255"
    assert np.array_equal(
        inp.inpaint(view, (mask > 0).astype(np.uint8)), ref
    ), "any non-zero is glare"
    assert np.array_equal(inp.inpaint(view, mask[:, :, None]), ref), "HxWx1 mask"
    assert np.array_equal(big[::2, 1::2], view)
    err = np.abs(out.astype(float) - clean)[mask > 0]
    assert err.mean() < 8.0


@pytest.mark.parametrize("name", FILL_BACKENDS)
def test_roi_false_fills_whole_frame_box(name: str) -> None:
    inp_full, inp_roi = make(name, roi=False), make(name, roi=True, roi_margin=4)
    mask = blob_mask()
    assert inp_full.boxes(mask) == [(0, 0, W, H)]
    assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in inp_roi.boxes(mask)) < H * W
    img = smooth_image()
    for inp in (inp_full, inp_roi):
        out = inp.inpaint(paint_glare(img, mask, glare_inset(name)), mask)
        assert np.abs(out.astype(float) - img)[mask > 0].mean() < 8.0


@pytest.mark.parametrize("name", BACKENDS)
def test_tiny_images(name: str) -> None:
    inp = make(name, roi_margin=0)
    for shape in [(1, 1, 3), (1, 1), (1, 6, 3), (5, 1), (2, 2, 3)]:
        img = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape) * 7
        mask = np.zeros(shape[:2], np.uint8)
        mask[0, 0] = 255
        out = inp.inpaint(img, mask)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert np.array_equal(out[mask == 0], img[mask == 0])


@pytest.mark.parametrize("name", BACKENDS)
def test_bad_inputs(name: str) -> None:
    inp = make(name)
    img, mask = smooth_image(), blob_mask()
    with pytest.raises(ValueError, match="does not match"):
        inp.inpaint(img, mask[:-1])
    for dtype in (np.float64, np.int32, np.float32):
        with pytest.raises(TypeError, match="dtype"):
            inp.inpaint(img.astype(dtype), mask)
    with pytest.raises(TypeError, match="mask dtype"):
        inp.inpaint(img, mask.astype(np.float32))
    with pytest.raises(ValueError, match="empty"):
        inp.inpaint(np.zeros((0, 5, 3), np.uint8), np.zeros((0, 5), np.uint8))
    with pytest.raises(TypeError, match="numpy"):
        inp.inpaint(img.tolist(), mask)
    with pytest.raises(ValueError, match="channels"):
        inp.inpaint(np.zeros((H, W, 2), np.uint8), mask)


@pytest.mark.parametrize("name", BACKENDS)
def test_random_masks_and_margins(name: str) -> None:
    """Specks, lines and blobs anywhere (borders included), any margin: contract holds."""
    rng = np.random.default_rng(5)
    img = cv2.resize(
        rng.integers(0, 256, (9, 12, 3), np.uint8), (W, H), interpolation=cv2.INTER_CUBIC
    )
    for trial in range(6):
        mask = ((rng.random((H, W)) > 0.997) * 255).astype(np.uint8)
        cv2.line(
            mask, tuple(int(v) for v in rng.integers(0, W, 2)), (0, int(rng.integers(0, H))), 255,
            2,
        )
        cv2.circle(mask, (int(rng.integers(0, W)), H - 1), int(rng.integers(1, 9)), 255, -1)
        inp = make(name, roi_margin=int(rng.integers(0, 20)), roi=bool(trial % 3))
        out = inp.inpaint(img, mask)
        assert np.array_equal(out[mask == 0], img[mask == 0])


def test_paste_masked_views() -> None:
    """In-place masked copy into every kind of view inpaint_rois gets (OpenCV or numpy path)."""
    rng = np.random.default_rng(2)
    cases = [
        ((50, 60, 3), np.s_[5:30, 7:40]), ((50, 60, 4), np.s_[5:30, 7:40, :3]),
        ((50, 60), np.s_[5:30, 7:40]), ((50, 60, 3), np.s_[5:30, 7:40:2]),
        ((1, 1, 3), np.s_[:, :]),
    ]
    for shape, sl in cases:
        for dtype in (np.uint8, np.uint16):
            big = rng.integers(0, 255, shape).astype(dtype)
            expected = big.copy()
            view = big[sl]
            src = rng.integers(0, 255, view.shape).astype(dtype)
            mask = ((rng.random(view.shape[:2]) > 0.5) * 255).astype(np.uint8)
            paste_masked(view, src, mask)
            expected[sl][mask > 0] = src[mask > 0]
            assert np.array_equal(big, expected), (shape, sl, dtype)


def test_invalid_params_refused() -> None:
    for name in ("telea", "ns"):
        with pytest.raises(ValueError, match="radius"):
            make(name, radius=-1.0)
        with pytest.raises(ValueError, match="radius"):
            make(name, radius="3")
    with pytest.raises(ValueError, match="levels"):
        make("fast", levels=-1)
    with pytest.raises(ValueError, match="gain"):
        make("fast", gain=0.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        make("fast", radius=3.0)
    with pytest.raises(ValueError, match="roi_margin"):
        make("fast", roi_margin=-1)


def test_default_backend_is_separation_and_registered() -> None:
    from glare_inpaint_ros.core.pipeline import build_inpainter, load_config

    inp = build_inpainter(load_config())
    assert inp.name == "separation" and inp.roi
    assert {"telea", "ns", "fast", "separation"} <= set(BACKENDS)


# --------------------------------------------------------------------------- backend specifics


def test_opencv_uint16_colour_matches_mono_and_8bit() -> None:
    """16-bit BGR (which cv2.inpaint refuses) is filled channel by channel: each channel equals the
    16-bit mono fill of that channel, and the result tracks the 8-bit colour fill (OpenCV's 8-bit
    path rounds every filled pixel, which feeds later ones: ~1 level apart on average)."""
    img8 = cv2.resize(np.random.default_rng(3).integers(0, 256, (12, 16, 3), np.uint8), (W, H))
    img16 = img8.astype(np.uint16) * 257
    mask = blob_mask()
    glare8, glare16 = paint_glare(img8, mask), paint_glare(img16, mask)
    for name in ("telea", "ns"):
        out16 = make(name).inpaint(glare16, mask)
        for c in range(3):
            assert np.array_equal(
                out16[:, :, c], make(name).inpaint(np.ascontiguousarray(glare16[:, :, c]), mask)
            )
        out8 = make(name).inpaint(glare8, mask).astype(float)
        diff = np.abs(out16 / 257.0 - out8)[mask > 0]
        assert diff.mean() < 2.0 and diff.max() < 8, (diff.mean(), diff.max())
        # and both fills are the scene's colours, not the glare painted into the hole
        assert np.abs(out8 - img8)[mask > 0].mean() < 20.0
        assert np.abs(out16 / 257.0 - img8)[mask > 0].mean() < 20.0


def test_fast_uint16_keeps_precision() -> None:
    """A ramp spanning only 0..255 in 16-bit counts is filled to within a few counts."""
    yy, xx = np.mgrid[0:H, 0:W]
    img = (xx * 2 + yy).astype(np.uint16)
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, (40, 30), 6, 255, -1)
    out = make("fast").inpaint(paint_glare(img, mask), mask)
    assert np.abs(out.astype(float) - img)[mask > 0].mean() < 3.0


def test_fast_levels_param() -> None:
    img = smooth_image(96, 128)
    mask = np.zeros((96, 128), np.uint8)
    mask[20:76, 30:100] = 255  # 56 px tall hole: 1 level cannot cover it -> global-mean fallback
    glare = paint_glare(img, mask)
    errs = {}
    for levels in (0, 1, 3):
        out = make("fast", levels=levels, roi=False).inpaint(glare, mask)
        errs[levels] = np.abs(out.astype(float) - img)[mask > 0].mean()
    # auto depth beats 3 levels (still short of covering the hole), which beats a single level
    assert errs[0] < errs[3] < errs[1], errs


def test_fast_gain_param_sharpens_near_the_hole_edge() -> None:
    """A band-shaped hole across a vertical step edge: the higher the gain, the more each level
    trusts its own local mean, so the step is carried into the hole instead of being smoothed
    over."""
    step = np.dstack([np.where(np.mgrid[0:96, 0:128][1] < 64, 60, 200).astype(np.uint8)] * 3)
    mask = np.zeros((96, 128), np.uint8)
    mask[40:56, 20:108] = 255
    glare = paint_glare(step, mask)
    errs = []
    for gain in (1.0, 4.0, 16.0, 64.0):
        out = make("fast", gain=gain).inpaint(glare, mask)
        assert np.array_equal(out[mask == 0], glare[mask == 0])
        errs.append(np.abs(out.astype(float) - step)[mask > 0].mean())
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 0.25 * errs[0], errs


def _ring(shape: tuple[int, int], box: tuple[int, int, int, int], d0: int, d1: int) -> np.ndarray:
    """Pixels at Chebyshev distance ``d0..d1`` px outside ``box`` (x, y, w, h)."""
    x, y, w, h = box
    sel = np.zeros(shape, bool)
    sel[max(y - d1, 0):y + h + d1, max(x - d1, 0):x + w + d1] = True
    sel[max(y - d0 + 1, 0):y + h + d0 - 1, max(x - d0 + 1, 0):x + w + d0 - 1] = False
    return sel


@pytest.mark.parametrize("name", ["fast", "telea", "ns"])
def test_roi_margin_is_the_context_the_fill_sees(name: str) -> None:
    """With ``roi`` the fill sees the component's box plus ``roi_margin`` px: pixels just beyond
    the margin cannot change it, pixels within it do."""
    img = smooth_image(96, 128)
    mask = np.zeros((96, 128), np.uint8)
    cv2.circle(mask, (64, 48), 8, 255, -1)
    box = cv2.boundingRect(mask)
    hole = mask > 0
    for margin in (0, 4, 16):
        inp = make(name, roi_margin=margin)
        base = inp.inpaint(img, mask)[hole]
        beyond = img.copy()
        beyond[_ring(mask.shape, box, margin + 1, margin + 4)] = 0
        assert np.array_equal(inp.inpaint(beyond, mask)[hole], base), margin
        if margin:
            within = img.copy()
            within[_ring(mask.shape, box, 1, margin)] = 0
            assert not np.array_equal(inp.inpaint(within, mask)[hole], base), margin


@pytest.mark.parametrize("name", ["telea", "ns"])
def test_opencv_radius_is_the_neighbourhood_of_a_filled_pixel(name: str) -> None:
    """A one-pixel hole: known pixels 3 px away change its fill with radius 6, not with radius
    1."""
    img = smooth_image(96, 128)
    mask = np.zeros((96, 128), np.uint8)
    mask[48, 64] = 255
    far = img.copy()
    for dy, dx in ((0, 3), (0, -3), (3, 0), (-3, 0)):
        far[48 + dy, 64 + dx] = 0
    for radius, changes in ((1.0, False), (6.0, True)):
        inp = make(name, radius=radius)
        filled = inp.inpaint(far, mask)[48, 64], inp.inpaint(img, mask)[48, 64]
        assert (not np.array_equal(*filled)) == changes, (radius, filled)


def test_push_pull_no_known_pixel_returns_input() -> None:
    img = smooth_image()
    full = np.full((H, W), 255, np.uint8)
    assert np.array_equal(push_pull_fill(img, full), img)
    assert np.array_equal(make("fast").inpaint(img, full), img)


class _ColourOnly(Inpainter):
    """A real backend (Telea) that declares it handles BGR only, to exercise the mono adapter."""

    SUPPORTED_CHANNELS = (3,)
    seen: list[tuple[int, ...]]

    def _inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.seen.append(image.shape)
        return cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA)


def test_mono_image_adapted_for_colour_only_backend() -> None:
    inp = _ColourOnly()
    inp.seen = []
    clean, mask = smooth_image(channels=1), blob_mask()
    img = paint_glare(clean, mask)
    out = inp.inpaint(img, mask)
    assert inp.seen and all(len(s) == 3 and s[2] == 3 for s in inp.seen)
    ref = make("telea").inpaint(img, mask)  # Telea on mono directly
    assert out.shape == img.shape and np.array_equal(out[mask == 0], img[mask == 0])
    assert np.abs(out.astype(int) - ref).max() <= 1
    assert np.abs(out.astype(float) - clean)[mask > 0].mean() < 8.0  # the glare was filled


# --------------------------------------------------------------------------- ROI boxes


def _check_merged(
    inputs: list[tuple[int, int, int, int]], merged: list[tuple[int, int, int, int]]
) -> None:
    for a in inputs:  # every input inside exactly one output
        inside = [
            b for b in merged if b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]
        ]
        assert len(inside) == 1, (a, merged)
    for i, a in enumerate(merged):  # outputs neither overlap nor touch
        for b in merged[i + 1:]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1], (a, b)


def test_merge_boxes_basic_cases() -> None:
    assert merge_boxes([]) == []
    assert merge_boxes([(1, 2, 3, 4)]) == [(1, 2, 3, 4)]
    assert sorted(merge_boxes([(0, 0, 5, 5), (10, 10, 15, 15)])) == [
        (0, 0, 5, 5), (10, 10, 15, 15),
    ]
    assert merge_boxes([(0, 0, 5, 5), (3, 3, 8, 8)]) == [(0, 0, 8, 8)]
    assert merge_boxes([(0, 0, 5, 5), (5, 0, 9, 5)]) == [(0, 0, 9, 5)]  # adjacent columns touch
    assert len(merge_boxes([(0, 0, 5, 5), (6, 0, 9, 5)])) == 2  # one-pixel gap: separate
    assert merge_boxes([(0, 0, 5, 5), (5, 5, 9, 9)]) == [(0, 0, 9, 9)]  # corner contact
    # Chain: A+B's union reaches C although neither A nor B overlaps C.
    chain = [(0, 0, 10, 4), (8, 0, 12, 20), (0, 16, 4, 30)]
    assert merge_boxes(chain) == [(0, 0, 12, 30)]
    with pytest.raises(ValueError):
        merge_boxes([(5, 0, 5, 3)])
    with pytest.raises(ValueError):
        merge_boxes([(-1, 0, 5, 3)])


def test_merge_pairwise_and_raster_agree() -> None:
    rng = np.random.default_rng(7)
    for trial in range(30):
        n = int(rng.integers(2, 60))
        xy = rng.integers(0, 300, (n, 2))
        wh = rng.integers(1, 25 if trial % 2 else 60, (n, 2))
        boxes = [tuple(int(v) for v in (x, y, x + w, y + h)) for (x, y), (w, h) in zip(xy, wh)]
        arr = np.array(boxes, np.int64)
        a = sorted(map(tuple, _merge_pairwise(arr).tolist()))
        b = sorted(map(tuple, _merge_raster(arr).tolist()))
        assert a == b
        merged = merge_boxes(boxes)
        assert sorted(merged) == a
        _check_merged(boxes, merged)


def test_merge_many_boxes_uses_raster_path() -> None:
    rng = np.random.default_rng(1)
    xy = rng.integers(0, 1000, (PAIRWISE_MAX * 4, 2))
    boxes = [(int(x), int(y), int(x) + 9, int(y) + 9) for x, y in xy]
    merged = merge_boxes(boxes)
    _check_merged(boxes, merged)


def test_component_boxes() -> None:
    m = np.zeros((100, 200), np.uint8)
    assert component_boxes(m, 8) == []
    m[40:50, 60:70] = 255
    assert component_boxes(m, 8) == [(52, 32, 78, 58)]
    assert component_boxes(m, 0) == [(60, 40, 70, 50)]
    m[0:3, 195:200] = 255  # touches the top-right corner: clipped to the frame
    assert sorted(component_boxes(m, 8)) == [(52, 32, 78, 58), (187, 0, 200, 11)]
    # A ring with a dot inside its hole: one box holding both.
    r = np.zeros((100, 100), np.uint8)
    cv2.circle(r, (50, 50), 30, 255, 3)
    r[50, 50] = 255
    assert len(component_boxes(r, 2)) == 1
    # Two blobs closer than twice the margin are merged into one box.
    two = np.zeros((60, 100), np.uint8)
    two[20:25, 20:25] = 1
    two[20:25, 40:45] = 1
    assert len(component_boxes(two, 4)) == 2 and len(component_boxes(two, 10)) == 1
    with pytest.raises(ValueError, match="margin"):
        component_boxes(two, -1)


def test_component_boxes_cover_every_mask_pixel() -> None:
    rng = np.random.default_rng(11)
    m = (rng.random((120, 160)) > 0.995).astype(np.uint8) * 255  # ~100 isolated specks
    m = cv2.dilate(m, np.ones((2, 2), np.uint8))
    for margin in (0, 3, 16):
        boxes = component_boxes(m, margin)
        cover = np.zeros_like(m, dtype=np.int32)
        for x0, y0, x1, y1 in boxes:
            cover[y0:y1, x0:x1] += 1
        assert cover.max() == 1, "boxes must be disjoint"
        assert np.all(cover[m > 0] == 1)
        # Every component keeps its margin of context (clipped at the frame border).
        n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        for x, y, w, h, _ in stats[1:]:
            gx0, gy0 = max(0, x - margin), max(0, y - margin)
            gx1, gy1 = min(160, x + w + margin), min(120, y + h + margin)
            assert np.all(cover[gy0:gy1, gx0:gx1] == 1)


@pytest.mark.parametrize("name", BACKENDS)
def test_warmup_runs_the_backend_on_the_given_shape_and_leaves_results_alone(name: str) -> None:
    calls: list[tuple[tuple[int, ...], list]] = []
    cls = INPAINTERS.get(name)

    class Spy(cls):  # the real backend, recording what reaches its fill
        def inpaint_rois(self, image, mask, boxes, out, *, detected=None):
            calls.append((image.shape, list(boxes)))
            super().inpaint_rois(image, mask, boxes, out, detected=detected)

    img, mask = smooth_image(), blob_mask()
    fresh = make(name).inpaint(img, mask)
    warmed = Spy()
    for shape in ((64, 64, 3), (32, 40)):
        calls.clear()
        warmed.warmup(shape)
        assert calls and all(s == shape and boxes for s, boxes in calls), (shape, calls)
    warmed.warmup()  # the default shape
    assert calls[-1][0] == (64, 64, 3)
    assert np.array_equal(warmed.inpaint(img, mask), fresh)  # no state left behind


def test_component_rects_and_grow_boxes_equal_component_boxes() -> None:
    rng = np.random.default_rng(5)
    m = cv2.dilate(
        (rng.random((90, 130)) > 0.996).astype(np.uint8) * 255, np.ones((3, 3), np.uint8)
    )
    m[0:4, 0:4] = 255  # clipped at the corner
    rects = component_rects(m)
    assert rects.shape[1] == 4 and rects.dtype == np.int64
    assert np.all(rects[:, 2] > rects[:, 0]) and np.all(rects[:, 3] > rects[:, 1])
    for margin in (0, 2, 9, 40):
        assert sorted(grow_boxes(rects, margin, m.shape)) == sorted(component_boxes(m, margin))
    assert component_rects(np.zeros((5, 5), np.uint8)).shape == (0, 4)
    assert grow_boxes(component_rects(np.zeros((5, 5), np.uint8)), 3, (5, 5)) == []
    with pytest.raises(ValueError, match="margin"):
        grow_boxes(rects, -1, m.shape)
    with pytest.raises(ValueError, match="HxW"):
        component_rects(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.parametrize("name", FILL_BACKENDS)
def test_pipeline_with_each_backend_removes_a_saturated_disc(name: str) -> None:
    """End to end with the brightness detector and the default dilation: the glare under the
    detected disc is gone for every backend, including those that blend the input back in near the
    mask edge (the learned ones' ``feather``: the 3 px dilation ring keeps the glare out of that
    blend)."""
    from glare_inpaint_ros.core.pipeline import GlareRemover

    clean = smooth_image(96, 128)
    disc = np.zeros((96, 128), np.uint8)
    cv2.circle(disc, (60, 44), 9, 255, -1)
    frame = paint_glare(clean, disc)
    res = GlareRemover({"detector.type": "threshold", "inpainting.backend": name}).process(frame)
    assert res.passthrough is None and (res.mask[disc > 0] == 255).all()
    inside = res.image[disc > 0].astype(float)
    assert not (inside == 255).all(axis=1).any()
    assert np.abs(inside - clean[disc > 0]).mean() < 12.0
