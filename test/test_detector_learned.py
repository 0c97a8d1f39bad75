"""The ``learned`` detector: shipped model accuracy, clean frames, model loading, params, ONNX ==
torch."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from glare_inpaint_ros.core.detectors import DETECTORS  # noqa: E402
from glare_inpaint_ros.core.detectors.learned import SHIPPED_MODEL  # noqa: E402
from glare_inpaint_ros.core.pipeline import build_detector, load_config  # noqa: E402
from glare_inpaint_ros import synth  # noqa: E402

#: Synthetic dataset seed for these tests: not a training seed (1000, 1001) and not the eval seed
#: (0).
TEST_SEED = 4242


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return np.count_nonzero(a & b) / max(np.count_nonzero(a | b), 1)


def lobe_scene(level: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth textured 320x240 scene around ``level`` with one super-Gaussian highlight lobe
    rendered by the synth model (screen blend, saturated core); GT by the synth rule."""
    rng = np.random.default_rng(seed)
    h, w = 240, 320
    noise = cv2.GaussianBlur(rng.normal(0, 12, (h, w, 3)).astype(np.float32), (0, 0), 3)
    clean = np.clip(level + noise * np.array([1.0, 0.9, 0.8], np.float32), 0, 255).astype(np.uint8)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xs - 150) / 40) ** 2 + ((ys - 110) / 25) ** 2
    amount = (1.6 * np.exp(-0.5 * r2 ** 2))[:, :, None].astype(np.float32)
    clean_f = clean.astype(np.float32) / 255
    out_f = 1 - (1 - clean_f) * (1 - np.minimum(amount, 1))
    image = np.clip(out_f * 255 + 0.5, 0, 255).astype(np.uint8)
    gt = cv2.subtract(image, clean).max(axis=2) >= synth.GT_DELTA
    return image, gt.astype(np.uint8) * 255


@pytest.fixture(scope="module")
def detector():
    return DETECTORS.get("learned")()


@pytest.mark.parametrize("level", [60, 130])
def test_shipped_model_finds_a_highlight(detector, level: int) -> None:
    image, gt = lobe_scene(level, seed=level)
    mask = detector.detect(image)
    assert mask.shape == gt.shape and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    assert iou(mask, gt) >= 0.8, iou(mask, gt)


def test_shipped_model_on_held_out_synthetic_samples(detector) -> None:
    """Samples of a seed that is neither trained on nor the eval set: pooled IoU >= 0.7."""
    inter = union = 0
    for index in range(4):
        image, gt, _ = synth.make_sample(index, TEST_SEED, (320, 240))
        pred, ref = detector.detect(image) > 0, gt > 0
        inter += np.count_nonzero(pred & ref)
        union += np.count_nonzero(pred | ref)
    assert inter / union >= 0.7, inter / union


def test_clean_frames_give_an_almost_empty_mask(detector) -> None:
    rng = np.random.default_rng(3)
    flat = np.full((240, 320, 3), 110, np.uint8)
    textured = np.clip(100 + rng.normal(0, 4, (240, 320, 3)), 0, 255).astype(np.uint8)
    for clean in (flat, textured, synth.make_sample(1, TEST_SEED, (320, 240))[2]):
        assert np.count_nonzero(detector.detect(clean)) / clean[:, :, 0].size < 0.005


def test_missing_or_malformed_model_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        DETECTORS.get("learned")(model_path=str(tmp_path / "nope.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not an onnx model")
    with pytest.raises(ValueError, match="could not load"):
        DETECTORS.get("learned")(model_path=str(junk))


UNET = SHIPPED_MODEL.parent / "glare_unet.onnx"


@pytest.mark.skipif(not UNET.is_file(), reason=f"shipped inpainting model {UNET} missing")
def test_a_model_with_the_wrong_inputs_is_a_value_error() -> None:
    """A real ONNX model with the wrong I/O (the project's inpainting network: float inputs)."""
    with pytest.raises(ValueError, match="uint8"):
        DETECTORS.get("learned")(model_path=str(UNET))


@pytest.mark.parametrize("params", [
    {"scale": 0.0}, {"scale": 1.5}, {"threshold": 0.0}, {"threshold": 1.0}, {"threads": -1},
    {"scale": "half"}, {"model": "x.onnx"},
])
def test_invalid_params_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        DETECTORS.get("learned")(**params)


def test_built_from_the_pipeline_config() -> None:
    det = build_detector(load_config({"detector.type": "learned", "detector.learned.scale": 0.25}))
    assert det.name == "learned" and det.params["scale"] == 0.25
    image, gt = lobe_scene(100, seed=1)
    assert det.detect(image).shape == gt.shape


def test_bad_input_is_refused(detector) -> None:
    with pytest.raises(TypeError):
        detector.detect(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((0, 8, 3), np.uint8))


def test_odd_and_tiny_frames(detector) -> None:
    for h, w in ((7, 5), (33, 47), (481, 641)):
        assert detector.detect(np.full((h, w, 3), 90, np.uint8)).shape == (h, w)


def _torch_logits(net, image: np.ndarray, det) -> np.ndarray:
    """The torch training path's logits for ``image`` at ``det``'s head and context scales."""
    import torch

    from glare_inpaint_ros.tooling.training.train_detector import forward_frame

    with torch.no_grad():
        return forward_frame(
            net, torch.from_numpy(image[None]), det.params["scale"], det.context_scale
        )[0, 0].numpy()


def _detector_logits(det, image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    logit = det.logit(image)
    if logit.shape != (h, w):
        logit = cv2.resize(logit, (w, h), interpolation=cv2.INTER_LINEAR)
    return logit + det._logit_threshold


def test_onnx_export_matches_torch(tmp_path: Path) -> None:
    """A freshly initialised network exported to ONNX and run by the detector (OpenCV head) gives
    the same logits as the torch training path."""
    torch = pytest.importorskip("torch")
    from glare_inpaint_ros.tooling.training.detector_net import GlareSegNet, export_onnx

    torch.manual_seed(7)
    net = GlareSegNet(width=6).eval()
    path = tmp_path / "det.onnx"
    export_onnx(net, str(path))
    for scale in (1.0, 0.5):
        det = DETECTORS.get("learned")(model_path=str(path), scale=scale)
        assert det.context_scale == 0.125  # read from the ONNX metadata written by export_onnx
        image, _, _ = synth.make_sample(2, TEST_SEED, (320, 240))
        ref, got = _torch_logits(net, image, det), _detector_logits(det, image)
        assert np.abs(ref - got).max() < 0.1
        assert np.mean((ref >= 0) == (got >= 0)) > 0.999


def test_shipped_onnx_matches_shipped_weights() -> None:
    torch = pytest.importorskip("torch")
    from glare_inpaint_ros.tooling.training.detector_net import GlareSegNet

    weights = SHIPPED_MODEL.with_suffix(".pt")
    if not weights.is_file():
        pytest.skip(f"torch weights {weights} not shipped beside the ONNX model")
    ckpt = torch.load(weights, map_location="cpu")
    net = GlareSegNet(width=ckpt["width"]).eval()
    net.load_state_dict(ckpt["state_dict"])
    det = DETECTORS.get("learned")()
    image, _, _ = synth.make_sample(3, TEST_SEED, (320, 240))
    ref, got = _torch_logits(net, image, det), _detector_logits(det, image)
    assert np.abs(ref - got).max() < 0.1


def test_training_is_reproducible(tmp_path: Path) -> None:
    """A fixed number of steps, seeded, one thread: the same command gives the same weights."""
    pytest.importorskip("torch")
    from glare_inpaint_ros.tooling import cli

    outs = []
    for run in ("a", "b"):
        out = tmp_path / run / "det.onnx"
        assert cli.main(["train-detector", "--out", str(out), "--n-train", "3", "--n-val", "2",
                         "--steps", "12", "--val-every", "6", "--hard-negatives", "0.5",
                         "--threads", "1"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    summary = json.loads((tmp_path / "a" / "det.json").read_text())
    assert (
        summary["steps"] == 12
        and summary["hard_negatives"] == 0.5
        and summary["best_step"] in (6, 12)
    )


def test_threshold_and_scale_params_change_the_mask() -> None:
    """threshold: the probability cut (a lower one gives a superset, a higher one a subset);
    scale: the head resolution (a different mask, still on the highlight)."""
    image, gt = lobe_scene(100, seed=5)
    masks = {
        t: build_detector(
            load_config({"detector.type": "learned", "detector.learned.threshold": t})
        ).detect(image)
        > 0
        for t in (0.05, 0.5, 0.95)
    }
    assert (masks[0.95] <= masks[0.5]).all() and (masks[0.5] <= masks[0.05]).all()
    assert masks[0.95].sum() < masks[0.5].sum() < masks[0.05].sum()
    by_scale = {
        s: build_detector(
            load_config({"detector.type": "learned", "detector.learned.scale": s})
        ).detect(image)
        for s in (0.25, 1.0)
    }
    assert not np.array_equal(by_scale[0.25], by_scale[1.0])
    assert all(iou(m, gt) >= 0.7 for m in by_scale.values()), [
        iou(m, gt) for m in by_scale.values()
    ]
