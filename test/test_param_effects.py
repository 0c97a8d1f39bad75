"""Every documented core parameter does what its description says: one direct test each, set
through the config (``GlareRemover(config)``: the path of the YAML files and the ROS parameters),
so a parameter that is ignored, or not passed on to its stage, fails here.

Parameters tested elsewhere: ``fast.levels`` / ``fast.gain`` / ``inpainting.roi_margin`` / the
OpenCV ``radius`` (behaviour) in test_inpainting.py, ``mask.max_coverage`` in test_masks.py and
test_eval.py, ``threshold.mode`` otsu in test_detectors.py, ``detector.learned.threshold`` /
``scale`` in test_detector_learned.py, ``temporal.max_gap_s`` and the ``temporal.mask.*``
hysteresis and ``temporal.fill.max_age_s`` / ``smoothing_s`` in test_temporal.py, the learned /
onnx / torch backends' model and crop parameters in test_learned.py,
``inpainting.separation.floor_quantile`` / ``ring_saturation_margin`` / ``pale_cores`` and
``detector.dichromatic.white_chroma_ratio`` in test_dichromatic.py,
``inpainting.separation.sheen_px`` and ``fringe_px`` in test_sheen.py, node parameters (``qos.*``,
``sync.*``, ``deadline_ms``, ``debug.enabled``, ``diagnostics.period_s``, ``input_transport``,
``passthrough_on_error``, ``opencv_threads``) in the ROS tests.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import CLASSIC_CHAIN
from glare_inpaint_ros.core.pipeline import GlareRemover

# --------------------------------------------------------------------------- mask.*


def _refine(mask: np.ndarray, **mask_params) -> np.ndarray:
    config = {
        "mask.min_area": 0, "mask.fill_holes_area": 0,
        **{f"mask.{k}": v for k, v in mask_params.items()},
    }
    return GlareRemover(config).refine(mask).mask


def _square(size: int = 5, frame: int = 61) -> np.ndarray:
    m = np.zeros((frame, frame), np.uint8)
    c = frame // 2 - size // 2
    m[c:c + size, c:c + size] = 255
    return m


def _width(mask: np.ndarray) -> int:
    return cv2.boundingRect(mask)[2]


@pytest.mark.parametrize("shape", ["rect", "ellipse", "cross"])
def test_dilation_kernel_size_and_iterations_set_the_mask_width(shape: str) -> None:
    """A k px structuring element grows a component by k - 1 px across, per pass; k <= 1 or no
    pass leaves it alone."""
    square = _square()
    for k in (0, 1, 2, 3, 4, 5, 7, 8, 9):
        for iterations in (0, 1, 2, 3):
            out = _refine(square, **{"dilation.kernel_size": k, "dilation.kernel_shape": shape,
                                     "dilation.iterations": iterations})
            grow = iterations * (k - 1) if k > 1 else 0
            assert _width(out) == 5 + grow, (k, iterations)
            assert (out[square > 0] == 255).all()


def test_dilation_kernel_shape_sets_the_corners() -> None:
    """A 7 px kernel on a 5 px square: rect fills the 11 x 11 box, cross leaves its four 3 x 3
    corners empty, ellipse lies in between."""
    square = _square()
    counts = {
        s: np.count_nonzero(
            _refine(square, **{"dilation.kernel_size": 7, "dilation.kernel_shape": s})
        )
        for s in ("rect", "ellipse", "cross")
    }
    assert counts["rect"] == 11 * 11
    assert counts["cross"] == 11 * 11 - 4 * 3 * 3
    assert counts["cross"] < counts["ellipse"] < counts["rect"]


def test_min_area_drops_smaller_components_only() -> None:
    m = np.zeros((40, 60), np.uint8)
    m[5, 5:8] = 255  # 3 px
    m[20, 20:24] = 255  # 4 px
    m[30:33, 40:43] = 255  # 9 px
    for min_area, kept in ((0, 16), (1, 16), (4, 13), (5, 9), (10, 0)):
        out = _refine(m, min_area=min_area, **{"dilation.kernel_size": 0})
        assert np.count_nonzero(out) == kept, min_area
        assert not (out > m).any()


def test_fill_holes_area_fills_holes_up_to_that_size() -> None:
    m = np.zeros((40, 40), np.uint8)
    m[10:25, 10:25] = 255
    m[14:17, 14:17] = 0  # 9 px hole
    for area, filled in ((0, False), (8, False), (9, True), (100, True)):
        out = _refine(m, fill_holes_area=area, **{"dilation.kernel_size": 0})
        assert bool(out[14:17, 14:17].all()) == filled and (
            out[14:17, 14:17].any() == filled
        ), area
        assert np.array_equal(out[m > 0], m[m > 0])


# --------------------------------------------------------------------------- detector.threshold.*

#: V levels of grey patches on a V = 100 background (the background is > 95 % of the frame).
LEVELS = (150, 180, 200, 220, 240, 250, 255)


def _patch_scene(
    background: int = 100,
) -> tuple[np.ndarray, list[tuple[int, slice, slice]], tuple[slice, slice]]:
    """A 240 x 320 grey frame of level ``background``, 8 x 8 px grey patches at :data:`LEVELS`
    and one saturated red 8 x 8 patch (V = 255, S = 255). Returns (image, [(level, ys, xs)],
    red)."""
    img = np.full((240, 320, 3), background, np.uint8)
    patches = []
    for i, level in enumerate(LEVELS):
        ys, xs = slice(20, 28), slice(20 + 30 * i, 28 + 30 * i)
        img[ys, xs] = level
        patches.append((level, ys, xs))
    red = (slice(200, 208), slice(20, 28))
    img[red] = (0, 0, 255)
    return img, patches, red


def _detected_levels(config: dict, background: int = 100) -> tuple[set[int], bool]:
    img, patches, red = _patch_scene(background)
    mask = GlareRemover({"detector.type": "threshold", **config}).detect(img)
    found = set()
    for level, ys, xs in patches:
        part = mask[ys, xs]
        assert part.all() or not part.any(), level  # a uniform patch is all in or all out
        if part.all():
            found.add(level)
    elsewhere = mask.copy()
    for _, ys, xs in patches:
        elsewhere[ys, xs] = 0
    red_found = bool(mask[red].all())
    elsewhere[red] = 0
    if background < 170:
        assert not elsewhere.any()
    return found, red_found


def _at_least(t: int) -> set[int]:
    return {v for v in LEVELS if v >= t}


def test_threshold_percentile_mode_floor_offset_percentile() -> None:
    # p95 of V is the background (100): threshold = max(100 + offset, floor), capped at ceiling.
    assert _detected_levels({}) == (_at_least(170), False)  # 100 + 40 < floor 170
    assert _detected_levels({"detector.threshold.floor": 210})[0] == _at_least(210)
    assert _detected_levels({"detector.threshold.floor": 0, "detector.threshold.offset": 90})[
        0
    ] == _at_least(190)
    assert _detected_levels({"detector.threshold.floor": 0, "detector.threshold.offset": 130})[
        0
    ] == _at_least(230)
    # percentile 99.9 reaches the patches (~0.6 % of the frame): 250 + 0 -> only 250 and 255
    assert _detected_levels({"detector.threshold.floor": 0, "detector.threshold.offset": 0,
                             "detector.threshold.percentile": 99.9})[0] == _at_least(250)


def test_threshold_ceiling_caps_the_adaptive_threshold() -> None:
    # A bright frame (background V 230): 230 + 40 = 270 is capped at the ceiling.
    assert _detected_levels({}, background=230)[0] == _at_least(245)
    assert _detected_levels({"detector.threshold.ceiling": 252}, background=230)[0] == _at_least(
        252
    )


def test_threshold_fixed_mode_uses_value_min() -> None:
    # the default value_min
    assert _detected_levels({"detector.threshold.mode": "fixed"})[0] == _at_least(230)
    assert _detected_levels(
        {"detector.threshold.mode": "fixed", "detector.threshold.value_min": 200}
    )[0] == _at_least(200)
    # value_min only counts in fixed mode
    assert _detected_levels({"detector.threshold.value_min": 200})[0] == _at_least(170)


def test_threshold_saturation_max_excludes_coloured_bright_pixels() -> None:
    assert _detected_levels({})[1] is False
    assert _detected_levels({"detector.threshold.saturation_max": 255})[1] is True
    # grey patches have S = 0: still found with the strictest test
    assert _detected_levels({"detector.threshold.saturation_max": 0})[0] == _at_least(170)


# --------------------------------------------------------------------------- inpainting.*


def test_roi_margin_and_backend_params_reach_the_backend_from_the_config() -> None:
    """The behaviour of each is tested on the backends in test_inpainting.py; here the config
    path."""
    yy, xx = np.mgrid[0:96, 0:128]
    img = np.dstack([(30 + xx + yy).astype(np.uint8)] * 3)
    mask = np.zeros((96, 128), np.uint8)
    mask[44:52, 60:68] = 255
    hole = mask > 0
    for backend in ("fast", "telea", "ns"):
        g = GlareRemover(
            {**CLASSIC_CHAIN, "inpainting.backend": backend, "inpainting.roi_margin": 4}
        )
        base = g.inpaint(img, mask)[hole]
        beyond, within = img.copy(), img.copy()
        beyond[34:62, 50:78] = 0
        beyond[39:57, 55:73] = img[39:57, 55:73]  # the 5 px beyond the 4 px margin changed
        within[40:56, 56:72] = 0
        within[hole] = img[hole]  # the 4 px margin changed
        assert np.array_equal(g.inpaint(beyond, mask)[hole], base), backend
        assert not np.array_equal(g.inpaint(within, mask)[hole], base), backend
    assert (
        GlareRemover({**CLASSIC_CHAIN, "inpainting.fast.gain": 3.0}).inpainter.params["gain"]
        == 3.0
    )
    assert (
        GlareRemover({**CLASSIC_CHAIN, "inpainting.fast.levels": 2}).inpainter.params["levels"]
        == 2
    )
    for backend in ("telea", "ns"):
        g = GlareRemover({"inpainting.backend": backend, f"inpainting.{backend}.radius": 7.5})
        assert g.inpainter.params["radius"] == 7.5
    assert not GlareRemover({"inpainting.roi": False}).inpainter.roi


# -- detector.local_contrast.* --------------------------------------------------------------------


def _lc(image: np.ndarray, **params) -> np.ndarray:
    config = {
        "detector.type": "local_contrast",
        **{f"detector.local_contrast.{k}": v for k, v in params.items()},
    }
    return GlareRemover(config).detect(image)


def _contrast_scene(noise: float = 0.0) -> tuple[np.ndarray, dict[str, tuple[slice, slice]]]:
    """Grey background (min(B,G,R) 60, optionally with texture: uniform noise of that amplitude in
    16 x 16 px blocks, coarse enough for the background's MAD to see it), and 10 x 10 px patches:
    ``weak`` (min 110: 50 levels of contrast, below the default strong_delta 80, not absolutely
    bright), ``strong`` (min 170: 110 levels) and ``coloured`` (B, G 120, R 255: V 255 but
    saturation 135)."""
    rng = np.random.default_rng(0)
    img = np.full((240, 320, 3), 60, np.float32)
    if noise:
        blocks = rng.uniform(-noise, noise, (15, 20)).astype(np.float32)
        img += cv2.resize(blocks, (320, 240), interpolation=cv2.INTER_NEAREST)[:, :, None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    regions = {"weak": (slice(40, 50), slice(40, 50)), "strong": (slice(40, 50), slice(150, 160)),
               "coloured": (slice(150, 160), slice(40, 50))}
    img[regions["weak"]] = 110
    img[regions["strong"]] = 170
    img[regions["coloured"]] = (120, 120, 255)
    return img, regions


def _found(mask: np.ndarray, regions: dict, name: str) -> bool:
    part = mask[regions[name]]
    return bool(part.mean() > 0.5 * 255)


def test_local_contrast_hysteresis_strong_and_weak_delta() -> None:
    img, reg = _contrast_scene()
    default = _lc(img)
    # weak alone: no seed
    assert _found(default, reg, "strong") and not _found(default, reg, "weak")
    assert _found(_lc(img, hysteresis=False), reg, "weak")  # every candidate kept
    assert _found(_lc(img, strong_delta=40), reg, "weak")  # 50 levels now make it its own seed
    # not even a candidate
    assert not _found(_lc(img, hysteresis=False, weak_delta=60), reg, "weak")
    assert np.count_nonzero(default) <= np.count_nonzero(_lc(img, hysteresis=False))


def test_local_contrast_saturation_max_of_the_absolute_test() -> None:
    img, reg = _contrast_scene()
    # 60 levels of min contrast, no seed: saturation 135 > 100
    assert not _found(_lc(img), reg, "coloured")
    assert _found(_lc(img, saturation_max=255), reg, "coloured")  # now absolutely bright: a seed


def test_local_contrast_mad_factor_raises_the_threshold_on_texture() -> None:
    img, reg = _contrast_scene(noise=12.0)
    assert _found(_lc(img, hysteresis=False, mad_factor=0.0), reg, "weak")
    assert not _found(_lc(img, hysteresis=False, mad_factor=10.0), reg, "weak")


def test_local_contrast_background_px_sees_highlights_smaller_than_half_the_window() -> None:
    img = np.full((240, 320, 3), 60, np.uint8)
    # 60 x 60 px, min 110: contrast only against a wide background
    big = (slice(90, 150), slice(130, 190))
    img[big] = 110
    small_window = _lc(img, hysteresis=False, background_px=72)
    wide_window = _lc(img, hysteresis=False, background_px=301)
    assert wide_window[big].all()
    assert np.count_nonzero(small_window[big]) < 0.5 * np.count_nonzero(wide_window[big])


def test_local_contrast_absolute_mode() -> None:
    img = np.full((240, 320, 3), 60, np.uint8)
    # V 235 over 19 % of the frame: no local contrast inside
    area = (slice(60, 180), slice(100, 220))
    img[area] = 235
    centre = (slice(110, 130), slice(150, 170))
    # percentile: p95 = 235 + 40, capped at the 245 ceiling: not bright; fixed: value_min 230
    assert not _lc(img)[centre].any()
    assert _lc(img, absolute_mode="fixed")[centre].all()


# --------------------------------------------------------------------------- detector.cluster.*


def _cluster_scene(
    highlight: tuple[int, int, int] = (230, 230, 230)
) -> tuple[np.ndarray, np.ndarray]:
    """Block-textured dark background (~80) with one 12 px-radius highlight disc; (image, disc)."""
    rng = np.random.default_rng(1)
    blocks = cv2.resize(
        rng.uniform(-15, 15, (15, 20)).astype(np.float32), (320, 240),
        interpolation=cv2.INTER_NEAREST,
    )
    img = np.clip(80 + blocks[:, :, None] * np.ones(3, np.float32), 0, 255).astype(np.uint8)
    cv2.circle(img, (80, 80), 12, highlight, -1)
    disc = np.zeros((240, 320), np.uint8)
    cv2.circle(disc, (80, 80), 12, 255, -1)
    return img, disc > 0


def _cluster(image: np.ndarray, **params):
    g = GlareRemover(
        {"detector.type": "cluster", **{f"detector.cluster.{k}": v for k, v in params.items()}}
    )
    return g.detect(image), g.detector


def test_cluster_centre_tests_value_whiteness_contrast() -> None:
    """The highlight's cluster centre has V = min(B,G,R) = 230 and a contrast feature clipped at
    64 levels: raising any of the three minimums above that leaves no glare cluster."""
    img, disc = _cluster_scene()
    assert (_cluster(img)[0][disc] > 0).mean() > 0.9
    for key in ("value_min", "whiteness_min"):
        assert (_cluster(img, **{key: 225})[0][disc] > 0).mean() > 0.9, key
        assert not _cluster(img, **{key: 240})[0].any(), key
    assert not _cluster(img, contrast_min=70)[0].any()
    tinted, disc = _cluster_scene((150, 230, 230))  # V 230 but min(B,G,R) 150
    assert (_cluster(tinted)[0][disc] > 0).mean() > 0.9
    assert not _cluster(tinted, whiteness_min=160)[0].any()


def test_cluster_bright_min_keeps_glare_pixels_without_contrast() -> None:
    """A large bright plateau checkered 248 / 254 in 2 px cells (one half-resolution pixel each):
    inside, the 248 cells are below their local background (no contrast), so with contrast_min 0
    they are kept only if V >= bright_min."""
    img = np.full((240, 320, 3), 80, np.uint8)
    yy, xx = np.mgrid[0:100, 0:140]
    img[70:170, 90:230] = np.where((yy // 2 + xx // 2) % 2 == 0, 248, 254)[:, :, None]
    cv2.circle(img, (40, 40), 10, (255, 255, 255), -1)
    inner = (slice(100, 140), slice(130, 190))
    base = {"contrast_min": 0, "mad_factor": 0.0}
    assert _cluster(img, bright_min=240, **base)[0][inner].all()
    high = _cluster(img, bright_min=250, **base)[0][inner]
    np.testing.assert_array_equal(high > 0, img[inner][:, :, 0] == 254)


def test_cluster_fit_parameters_shape_the_centres() -> None:
    """``clusters`` is the number of centres; the sampling and fitting parameters (and the seed)
    change where they land; the same parameters give the same centres (reproducible)."""
    img, _ = _cluster_scene()
    base = _cluster(img)[1].centres
    assert base.shape == (5, 3) and np.array_equal(_cluster(img)[1].centres, base)
    assert _cluster(img, clusters=3)[1].centres.shape == (3, 3)
    for key, value in (
        ("seed", 1), ("sample_size", 500), ("tail_fraction", 0.0), ("iterations", 1),
        ("mad_factor", 10.0), ("background_px", 301),
    ):
        centres = _cluster(img, **{key: value})[1].centres
        assert not np.array_equal(centres, base), key
        assert np.array_equal(_cluster(img, **{key: value})[1].centres, centres), key


# -- temporal.* (motion, fill) --------------------------------------------------------------------


def _texture(h: int = 120, w: int = 200, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(
        cv2.resize(
            rng.normal(0, 1, (h // 4, w // 4, 3)).astype(np.float32), (w, h),
            interpolation=cv2.INTER_CUBIC,
        ),
        (0, 0),
        2.0,
    )
    return np.ascontiguousarray(
        (40 + 170 * (big - big.min()) / (big.max() - big.min())).astype(np.uint8)
    )


def _motion(config: dict, frames: list[np.ndarray]):
    stages = GlareRemover({**CLASSIC_CHAIN, "temporal.fill.enabled": True, **config}).temporal
    return [stages.tracker.update(f, i / 30.0) for i, f in enumerate(frames)]


def test_scene_cut_threshold() -> None:
    a = _texture()
    b = cv2.add(a, np.full_like(a, 50))  # thumbnails ~45 levels apart
    assert _motion({}, [a, b])[1].event == "reset_scene_cut"  # default 40
    assert _motion({"temporal.scene_cut_threshold": 60.0}, [a, b])[1].event is None


def test_flow_scale_sets_the_flow_resolution() -> None:
    img = _texture(240, 320)
    assert _motion({}, [img])[0].small_size == (80, 60)  # 0.25 of 320 x 240
    assert _motion({"temporal.flow_scale": 0.5}, [img])[0].small_size == (160, 120)
    # small side >= 32 px
    assert _motion({"temporal.flow_scale": 0.05}, [img])[0].small_size == (43, 32)


def test_flow_method_selects_the_optical_flow() -> None:
    tex = _texture(120, 220)
    frames = [
        np.ascontiguousarray(tex[:, 8:208]), np.ascontiguousarray(tex[:, 4:204]),
    ]  # content moves 4 px right
    flows = {}
    for method in ("dis", "farneback"):
        motion = _motion({"temporal.flow_method": method, "temporal.flow_scale": 1.0}, frames)[1]
        assert motion.method == method
        flows[method] = motion.flow_small()
        # backward flow: where each current pixel was in the previous frame, 4 px to the left
        assert abs(float(np.median(flows[method][30:90, 30:170, 0])) + 4.0) < 1.0, method
    assert not np.array_equal(flows["dis"], flows["farneback"])


def test_max_photometric_error_gates_the_temporal_fill() -> None:
    """The background under a fixed square slid into view: the temporal fill reuses it, unless the
    flow check allows no error at all (then the output is the spatial fill)."""
    tex = _texture(120, 220)
    frames = []
    for i in range(6):
        f = np.ascontiguousarray(tex[:, 3 * i: 3 * i + 160]).copy()
        f[50:74, 60:84] = 255
        frames.append(f)
    outs = {}
    for err in (12.0, 0.0):
        g = GlareRemover(
            {
                **CLASSIC_CHAIN, "temporal.fill.enabled": True,
                "temporal.fill.max_photometric_error": err,
            }
        )
        outs[err] = [g.process(f, stamp=i / 30.0) for i, f in enumerate(frames)][-1]
        spatial = g.inpaint(frames[-1], outs[err].mask)
        reused = not np.array_equal(outs[err].image, spatial)
        assert reused == (err > 0), err


def _sliding_glare(n: int = 6) -> list[np.ndarray]:
    """A texture sliding 3 px per frame under a fixed saturated square."""
    tex = _texture(120, 220)
    frames = []
    for i in range(n):
        f = np.ascontiguousarray(tex[:, 3 * i: 3 * i + 160]).copy()
        f[50:74, 60:84] = 255
        frames.append(f)
    return frames


@pytest.mark.parametrize(
    "key,values", [("temporal.fill.feather_px", (0, 8)), ("temporal.fill.ring_px", (2, 24))]
)
def test_temporal_fill_seam_and_ring_params_change_the_fill(
    key: str, values: tuple[int, int]
) -> None:
    """feather_px (seam between temporal and spatial fill) and ring_px (ring of the flow check)
    change the temporal fill of the same stream; outside the mask nothing changes."""
    frames = _sliding_glare()
    outs = []
    for v in values:
        g = GlareRemover({**CLASSIC_CHAIN, "temporal.fill.enabled": True, key: v})
        res = [g.process(f, stamp=i / 30.0) for i, f in enumerate(frames)][-1]
        assert np.array_equal(res.image[res.mask == 0], frames[-1][res.mask == 0])
        outs.append(res.image)
    assert not np.array_equal(*outs)


def test_temporal_fill_without_an_observed_ring_pixel() -> None:
    """A hole whose flow-check ring holds no pixel observed in the previous frame (a 2-px ring
    around a highlight the motion cue grew: the ring was filled in the previous frame) is
    filled from the earlier frames without the flow's sub-pixel refinement, not an error (it
    raised in OpenCV's colour conversion of an empty pixel list)."""
    frames = _sliding_glare()
    g = GlareRemover({**CLASSIC_CHAIN, "temporal.fill.enabled": True,
                      "temporal.fill.ring_px": 2, "temporal.motion_cue.grow_px": 6})
    for i, f in enumerate(frames):
        res = g.process(f, stamp=i / 30.0)
        assert res.passthrough is None
        assert np.array_equal(res.image[res.mask == 0], f[res.mask == 0])
    assert res.temporal_reused > 0


# -- inpainting.learned.max_batch -----------------------------------------------------------------


def test_learned_max_batch_is_the_most_crops_per_inference_call() -> None:
    pytest.importorskip("onnxruntime")
    from glare_inpaint_ros.core.inpainting import INPAINTERS

    cls = INPAINTERS.get("learned")
    batches: list[int] = []

    class Counting(cls):  # the real model, recording the batch size of each call
        def _run(self, image, mask):
            batches.append(int(image.shape[0]))
            return super()._run(image, mask)

    img = np.full((200, 300, 3), 120, np.uint8)
    mask = np.zeros((200, 300), np.uint8)
    for x in (30, 150, 270):  # three components farther apart than the context: three crops
        for y in (30, 170):
            cv2.circle(mask, (x, y), 5, 255, -1)
    for max_batch, calls in ((1, 6), (4, 2), (8, 1)):
        inp = Counting(max_batch=max_batch, context_margin=8)
        batches.clear()
        inp.inpaint(img, mask)
        assert len(batches) == calls and max(batches) <= max_batch, (max_batch, batches)
        assert sum(batches) == 6


# --------------------------------------------------------------------------- ONNX Runtime threads


@pytest.mark.skipif(
    not __import__("os").path.isdir("/proc/self/task"),
    reason="needs Linux /proc/self/task to count threads",
)
@pytest.mark.parametrize("key", ["detector.learned.threads", "inpainting.learned.threads"])
def test_onnx_threads_is_the_intra_op_thread_pool(key: str) -> None:
    """``threads: n`` gives the ONNX Runtime session an intra-op pool of n - 1 worker threads (the
    calling thread is the n-th); counted as OS threads of this process."""
    import os

    pytest.importorskip("onnxruntime")
    tasks = lambda: set(os.listdir("/proc/self/task"))  # noqa: E731
    section = key.split(".")[0]
    base = (
        {"detector.type": "learned"}
        if section == "detector"
        else {"inpainting.backend": "learned"}
    )
    kept = [
        GlareRemover({**base, key: 1})
    ]  # the runtime's own one-off threads start with the first session
    for threads in (1, 4, 2):
        before = tasks()
        kept.append(GlareRemover({**base, key: threads}))
        assert (
            len(tasks() - before) == threads - 1
        ), threads  # new threads (others may end meanwhile)
