"""Specular detectors: threshold (fixed / adaptive), cluster, local_contrast, static."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from glare_inpaint_ros.core.detectors import DETECTORS
from glare_inpaint_ros.core.pipeline import build_detector, load_config
from glare_inpaint_ros import synth

AUTOMATIC = ["threshold", "cluster", "local_contrast"]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return np.count_nonzero(a & b) / max(np.count_nonzero(a | b), 1)


def scene(level: int, h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """A clean coloured scene around brightness ``level``: a soft gradient plus mild texture
    noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    y = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    base = level + 0.08 * level * (x + 0.5 * y)
    tint = np.array([0.85, 0.95, 1.0], np.float32)  # slightly warm (BGR)
    img = base[:, :, None] * tint + rng.normal(0, 3.0, (h, w, 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def with_highlight(
    clean: np.ndarray, value: int, rim: float = 1.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two elliptical highlights (core ``value``, Gaussian rim of ``rim`` px sigma); GT by the
    synth rule."""
    h, w = clean.shape[:2]
    layer = np.zeros((h, w), np.uint8)
    cv2.ellipse(layer, (w // 3, h // 2), (30, 18), 25, 0, 360, 255, -1)
    cv2.ellipse(layer, (2 * w // 3, h // 3), (12, 12), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(layer, (0, 0), rim).astype(np.float32)[:, :, None] / 255.0
    out = clean.astype(np.float32) * (1 - alpha) + value * alpha
    out = np.maximum(out, clean).astype(np.uint8)
    gt = cv2.subtract(out, clean).max(axis=2) >= synth.GT_DELTA
    return out, gt.astype(np.uint8) * 255


@pytest.mark.parametrize("name", AUTOMATIC)
def test_finds_a_highlight(name: str) -> None:
    image, gt = with_highlight(scene(110), 255)
    mask = DETECTORS.get(name)().detect(image)
    assert mask.shape == gt.shape and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    assert iou(mask, gt) >= 0.8, iou(mask, gt)


@pytest.mark.parametrize("name", AUTOMATIC)
def test_no_glare_gives_an_almost_empty_mask(name: str) -> None:
    det = DETECTORS.get(name)()
    for clean in (scene(110), scene(30), synth.make_sample(0, size=(320, 240))[2]):
        assert np.count_nonzero(det.detect(clean)) / clean[:, :, 0].size < 0.002


@pytest.mark.parametrize("mode", ["percentile", "otsu"])
def test_adaptive_threshold_dark_and_bright(mode: str) -> None:
    det = DETECTORS.get("threshold")(mode=mode)
    # Dark factory: unsaturated highlight (V ~ 200) that a fixed 230 threshold misses. (A threshold
    # between 35 and 200 cannot follow a soft rim down to +20 levels: the rim is sharp here.)
    dark, dark_gt = with_highlight(scene(35), 200, rim=0.7)
    assert iou(det.detect(dark), dark_gt) >= 0.8
    assert iou(DETECTORS.get("threshold")(mode="fixed").detect(dark), dark_gt) < 0.2
    # Sunny road: bright, low-saturation scene (V ~ 215) where a fixed 200 threshold floods.
    bright, bright_gt = with_highlight(scene(205), 255, rim=0.7)
    assert iou(det.detect(bright), bright_gt) >= 0.8
    assert (
        np.count_nonzero(DETECTORS.get("threshold")(mode="fixed", value_min=200).detect(bright))
        > 0.5 * bright_gt.size
    )
    # The floor keeps a dark frame without glare empty.
    assert not det.detect(scene(35)).any()


def test_local_contrast_finds_unsaturated_highlight_on_dark_scene() -> None:
    image, gt = with_highlight(scene(40), 140)  # well below any absolute threshold
    assert not DETECTORS.get("threshold")().detect(image).any()
    assert iou(DETECTORS.get("local_contrast")().detect(image), gt) >= 0.8


def test_cluster_warm_start_and_reset() -> None:
    frame1, _ = with_highlight(scene(110, seed=1), 255)
    frame2, _ = with_highlight(scene(60, seed=2), 230)
    fresh = DETECTORS.get("cluster")(iterations=1)
    fresh_mask = fresh.detect(frame2)
    fresh_centres = fresh.centres.copy()
    assert fresh_centres.shape == (5, 3)

    warm = DETECTORS.get("cluster")(iterations=1)
    warm.detect(frame1)
    warm.detect(frame2)
    assert not np.allclose(warm.centres, fresh_centres)  # started from frame 1's centres
    warm.reset()
    assert warm.centres is None
    np.testing.assert_array_equal(warm.detect(frame2), fresh_mask)
    np.testing.assert_allclose(warm.centres, fresh_centres)


def test_static_mask_file_resize_and_combine(tmp_path) -> None:
    file_mask = np.zeros((60, 80), np.uint8)
    file_mask[10:20, 40:60] = 255
    path = tmp_path / "mask.png"
    assert cv2.imwrite(str(path), file_mask)

    det = DETECTORS.get("static")(path=str(path))
    np.testing.assert_array_equal(det.detect(np.zeros((60, 80, 3), np.uint8)), file_mask)
    big = det.detect(np.zeros((120, 160, 3), np.uint8))  # twice the file's size: nearest resize
    np.testing.assert_array_equal(
        big, cv2.resize(file_mask, (160, 120), interpolation=cv2.INTER_NEAREST)
    )
    assert big[20:40, 80:120].all() and np.count_nonzero(big) == 4 * np.count_nonzero(file_mask)

    image, gt = with_highlight(scene(110, h=120, w=160), 255)
    combined = build_detector(
        load_config(
            {
                "detector": {
                    "type": "static", "static": {"path": str(path), "combine_with": "threshold"},
                }
            }
        )
    )
    expected = cv2.bitwise_or(big, DETECTORS.get("threshold")().detect(image))
    np.testing.assert_array_equal(combined.detect(image), expected)
    assert np.count_nonzero(combined.detect(image)) > np.count_nonzero(big)


def test_static_missing_or_unreadable_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        DETECTORS.get("static")(path=str(tmp_path / "nope.png"))
    with pytest.raises(ValueError, match="empty"):
        DETECTORS.get("static")()
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="could not be read"):
        DETECTORS.get("static")(path=str(junk))


@pytest.mark.parametrize("params", [
    {"value_min": 300},
    {"mode": "bogus"},
    {"saturation_max": -1},
    {"no_such_param": 1},
    {"floor": 250, "ceiling": 200},
    {"mode": 3},
])
def test_invalid_threshold_params_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        DETECTORS.get("threshold")(**params)


def test_invalid_params_refused_through_the_schema() -> None:
    with pytest.raises(ValueError, match="value_min"):
        load_config({"detector": {"threshold": {"value_min": 300}}})
    with pytest.raises(ValueError, match="clusters"):
        load_config({"detector": {"cluster": {"clusters": 1}}})
    with pytest.raises(ValueError, match="weak_delta"):
        load_config({"detector": {"local_contrast": {"weak_delta": 0}}})


@pytest.mark.parametrize("name", AUTOMATIC)
def test_bad_input_is_refused(name: str) -> None:
    det = DETECTORS.get(name)()
    with pytest.raises(TypeError):
        det.detect(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(TypeError):
        det.detect([[0, 0, 0]])
    with pytest.raises(ValueError):
        det.detect(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ValueError):
        det.detect(np.zeros((0, 10, 3), np.uint8))


@pytest.mark.parametrize("name", AUTOMATIC)
def test_other_layouts_and_tiny_frames(name: str) -> None:
    det = DETECTORS.get(name)()
    image, _ = with_highlight(scene(110), 255)
    bgr_mask = det.detect(image)
    assert (
        det.detect(np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])).shape
        == bgr_mask.shape
    )
    assert det.detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)).shape == bgr_mask.shape
    for shape in [(1, 1, 3), (3, 7, 3), (7, 3, 3)]:
        assert det.detect(np.full(shape, 100, np.uint8)).shape == shape[:2]


@pytest.mark.parametrize("name", [*AUTOMATIC, "dichromatic", "learned"])
@pytest.mark.parametrize("shape", [(1, 1, 3), (4, 1, 3), (1, 4, 3), (2, 2, 3)])
def test_one_to_four_pixel_frames_get_a_mask_of_their_size(name: str, shape: tuple) -> None:
    """Every detector's mask has the frame's size down to one pixel (OpenCV takes a 1x1 array
    for a scalar: the learned detector's comparison with 0 came out 4x1)."""
    if name == "learned":
        pytest.importorskip("onnxruntime")
    det = DETECTORS.get(name)()
    for level in (100, 255):
        mask = det.detect(np.full(shape, level, np.uint8))
        assert mask.shape == shape[:2] and mask.dtype == np.uint8, (level, mask.shape)
