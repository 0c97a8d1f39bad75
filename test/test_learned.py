"""Learned inpainting backends (onnx, torch, learned): conventions, crops, errors, the shipped
model.

The external conventions are checked with tiny models built here and exported to ONNX in a tmp
dir. Each fills holes with a known colour chosen *through the mask input*: with a wrong mask
polarity the hole pixels would come back as the (white) glare input, with a wrong channel order
the colour would be swapped, with a wrong output range it would be clipped or dark, so every such
mistake fails the colour check.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from glare_inpaint_ros.core.inpainting import INPAINTERS  # noqa: E402
from glare_inpaint_ros.core.inpainting.model import (  # noqa: E402
    SHIPPED_SPEC, crop_rect, feather_alpha, upscale_window,
)
from glare_inpaint_ros.core.inpainting.model_spec import load_spec  # noqa: E402

FILL_RGB = (0.2, 0.5, 0.8)  # colour the test models paint into holes, RGB 0..1
FILL_BGR8 = np.array([round(255 * c) for c in FILL_RGB[::-1]], np.int16)


class LamaLike(torch.nn.Module):
    """LaMa export convention: float RGB 0..1 NCHW, mask 1 = hole, output RGB 0..255."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("colour", torch.tensor(FILL_RGB).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (image * (1 - mask) + self.colour * mask) * 255.0


class MiganLike(torch.nn.Module):
    """MI-GAN pipeline convention: uint8 RGB NCHW, mask uint8 255 = known, output uint8."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("colour", torch.tensor(FILL_RGB).view(1, 3, 1, 1) * 255.0)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        known = mask.float() / 255.0
        return (
            (image.float() * known + self.colour * (1 - known) + 0.5).clamp(0, 255).to(torch.uint8)
        )


class NhwcBgr(torch.nn.Module):
    """A user model: NHWC float BGR 0..255, mask 0 = hole (1 = known), output NHWC BGR 0..255."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("colour", torch.tensor(FILL_RGB[::-1]).view(1, 1, 1, 3) * 255.0)

    def forward(self, img: torch.Tensor, msk: torch.Tensor) -> torch.Tensor:
        return img * msk + self.colour * (1 - msk)


def _export(model: torch.nn.Module, path: Path, inputs: tuple, names: list[str], out: str,
            dynamic: bool) -> Path:
    axes = None
    if dynamic:
        axes = {n: {0: "b", 2: "h", 3: "w"} for n in names + [out]}
    torch.onnx.export(model, inputs, str(path), input_names=names, output_names=[out],
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        # Fixed 64x64 input, fixed batch 1 (the backend must resize crops and loop).
        "lama": _export(
            LamaLike(), d / "lama.onnx", (torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64)),
            ["image", "mask"], "output", dynamic=False,
        ),
        "migan": _export(
            MiganLike(),
            d / "migan.onnx",
            (
                torch.zeros(1, 3, 40, 48, dtype=torch.uint8),
                torch.zeros(1, 1, 40, 48, dtype=torch.uint8),
            ),
            ["image", "mask"],
            "result",
            dynamic=True,
        ),
        "nhwc": _export(
            NhwcBgr(), d / "nhwc.onnx", (torch.rand(1, 40, 48, 3), torch.ones(1, 40, 48, 1)),
            ["img", "msk"], "out", dynamic=False,
        ),
        "dir": d,
    }


def _scene(h: int = 90, w: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """A textured BGR frame with a white (glare) disc and its mask."""
    rng = np.random.default_rng(3)
    img = rng.integers(30, 200, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (w // 2, h // 2), 14, 255, -1)
    img[mask > 0] = 255
    return img, mask


def _check_fill(out: np.ndarray, img: np.ndarray, mask: np.ndarray) -> None:
    assert out.shape == img.shape and out.dtype == img.dtype
    np.testing.assert_array_equal(out[mask == 0], img[mask == 0])
    inner = cv2.erode(mask, np.ones((7, 7), np.uint8)) > 0
    assert inner.sum() > 50
    err = np.abs(out[inner].astype(np.int16) - FILL_BGR8).max()
    assert err <= 2, f"hole colour off by {err} levels: {out[inner][:3]} vs {FILL_BGR8}"


@pytest.mark.parametrize("kind", ["lama", "migan"])
def test_onnx_autodetects_convention(models: dict[str, Path], kind: str) -> None:
    inp = INPAINTERS.get("onnx")(model_path=str(models[kind]), feather=0)
    expected = {"lama": ("high", (64, 64), 1, 255.0), "migan": ("low", None, None, 255.0)}[kind]
    assert (inp.spec.mask_hole, inp.spec.size, inp.spec.batch, inp._output_max) == expected
    img, mask = _scene()
    _check_fill(inp.inpaint(img, mask), img, mask)


def test_lama_output_range_detected_not_assumed(models: dict[str, Path], tmp_path: Path) -> None:
    """Same convention, output in 0..1 instead of 0..255: detected at warm-up."""

    class Lama01(LamaLike):
        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return super().forward(image, mask) / 255.0

    path = _export(
        Lama01(), tmp_path / "lama01.onnx", (torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64)),
        ["image", "mask"], "output", dynamic=True,
    )
    inp = INPAINTERS.get("onnx")(model_path=str(path), feather=0)
    assert inp._output_max == 1.0
    img, mask = _scene()
    _check_fill(inp.inpaint(img, mask), img, mask)


def test_yaml_spec_nhwc_bgr_low_polarity(models: dict[str, Path], tmp_path: Path) -> None:
    spec = tmp_path / "nhwc.yaml"
    spec.write_text(
        "image_input: img\nmask_input: msk\noutput: out\nlayout: NHWC\nchannel_order: BGR\n"
        "image_dtype: float32\nimage_max: 255\nmask_dtype: float32\nmask_max: 1\nmask_hole: low\n"
        "output_max: 255\n"
    )
    inp = INPAINTERS.get("onnx")(model_path=str(models["nhwc"]), model_spec=str(spec), feather=0)
    assert inp.spec.size == (40, 48)  # fixed size taken from the model
    img, mask = _scene()
    _check_fill(inp.inpaint(img, mask), img, mask)
    # The same model described with the wrong polarity gives glare back in the hole: the spec
    # matters.
    spec.write_text(spec.read_text().replace("mask_hole: low", "mask_hole: high"))
    wrong = INPAINTERS.get("onnx")(model_path=str(models["nhwc"]), model_spec=str(spec), feather=0)
    with pytest.raises(AssertionError):
        _check_fill(wrong.inpaint(img, mask), img, mask)


def test_fixed_batch_one_loops_over_crops(models: dict[str, Path]) -> None:
    img = np.full((80, 200, 3), 90, np.uint8)
    mask = np.zeros((80, 200), np.uint8)
    cv2.circle(mask, (30, 40), 12, 255, -1)
    cv2.circle(mask, (170, 40), 12, 255, -1)
    img[mask > 0] = 255
    inp = INPAINTERS.get("onnx")(model_path=str(models["lama"]), feather=0, context_margin=16)
    _check_fill(inp.inpaint(img, mask), img, mask)


def test_gray_uint16_and_bgra_inputs(models: dict[str, Path]) -> None:
    inp = INPAINTERS.get("onnx")(model_path=str(models["migan"]), feather=0)
    img, mask = _scene()
    for variant in (cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), img.astype(np.uint16) * 257,
                    cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)):
        out = inp.inpaint(variant, mask)
        assert out.shape == variant.shape and out.dtype == variant.dtype
        np.testing.assert_array_equal(out[mask == 0], variant[mask == 0])
        assert not np.array_equal(out[mask > 0], variant[mask > 0])
    u16 = inp.inpaint(img.astype(np.uint16) * 257, mask)
    inner = cv2.erode(mask, np.ones((7, 7), np.uint8)) > 0
    assert np.abs(u16[inner].astype(np.int32) // 257 - FILL_BGR8).max() <= 2


def test_providers_fall_back_with_warning(
    models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        inp = INPAINTERS.get("onnx")(
            model_path=str(models["migan"]), providers="tensorrt,cuda,cpu", threads=1
        )
    assert inp.providers == ["CPUExecutionProvider"]
    assert any("tensorrt" in r.getMessage() for r in caplog.records)


def test_bad_model_files_fail_at_construction(models: dict[str, Path], tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a model")
    cases = [
        ("onnx", {"model_path": str(tmp_path / "missing.onnx")}, "not found"),
        ("onnx", {"model_path": str(garbage)}, "could not load"),
        ("onnx", {}, "model_path is required"),
        (
            "onnx",
            {"model_path": str(models["migan"]), "model_spec": str(tmp_path / "none.yaml")},
            "not found",
        ),
        ("torch", {"model_path": str(garbage)}, "could not load"),
        ("torch", {"model_path": str(tmp_path / "missing.pt")}, "not found"),
        ("torch", {"model_path": str(garbage), "module": "no_such_pkg.mod:Net"}, "cannot import"),
    ]
    for name, kwargs, words in cases:
        with pytest.raises(ValueError, match=words):
            INPAINTERS.get(name)(**kwargs)
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("image_input: image\nlayout: NCWH\n")
    with pytest.raises(ValueError, match="layout"):
        INPAINTERS.get("onnx")(model_path=str(models["lama"]), model_spec=str(bad_spec))
    bad_spec.write_text("image_input: nope\nmask_input: mask\n")
    with pytest.raises(ValueError, match="not an input"):
        INPAINTERS.get("onnx")(model_path=str(models["lama"]), model_spec=str(bad_spec))


def test_torch_backend_torchscript_lama(tmp_path: Path) -> None:
    path = tmp_path / "lama.pt"
    torch.jit.trace(LamaLike(), (torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))).save(
        str(path)
    )
    inp = INPAINTERS.get("torch")(model_path=str(path), convention="lama", feather=0)
    assert inp._output_max == 255.0
    img, mask = _scene()
    _check_fill(inp.inpaint(img, mask), img, mask)


def test_crop_rect_shifts_inward_and_feather() -> None:
    # A box at the left edge: the crop keeps its full side and moves right instead of clipping.
    assert crop_rect((0, 40, 10, 50), 640, 480, 128) == (0, 0, 266, 266)
    x0, y0, x1, y1 = crop_rect((600, 400, 630, 470), 640, 480, 128)
    assert (x1, y1) == (640, 480) and (x1 - x0, y1 - y0) == (326, 326)
    # frame smaller than the crop
    assert crop_rect((10, 10, 20, 20), 100, 60, 128) == (0, 0, 100, 60)
    m = np.zeros((9, 9), np.uint8)
    m[2:7, 2:7] = 255
    a = feather_alpha(m, 2)
    assert a[0, 0] == 0 and a[4, 4] == 1.0 and 0 < a[2, 4] < 1


def test_upscale_window_matches_full_resize_and_torch() -> None:
    rng = np.random.default_rng(1)
    small = rng.random((24, 40, 3), dtype=np.float32)
    full = cv2.resize(small, (130, 77), interpolation=cv2.INTER_LINEAR)
    for window in ((0, 0, 130, 77), (5, 9, 61, 40), (100, 60, 130, 77)):
        x0, y0, x1, y1 = window
        np.testing.assert_allclose(
            upscale_window(small, (77, 130), window), full[y0:y1, x0:x1], atol=0.02
        )
    # The training path upsamples with torch (bilinear, half-pixel centres): the same values.
    ref = (
        torch.nn.functional.interpolate(
            torch.from_numpy(small.transpose(2, 0, 1))[None], size=(77, 130), mode="bilinear",
            align_corners=False,
        )[0]
        .numpy()
        .transpose(1, 2, 0)
    )
    np.testing.assert_allclose(upscale_window(small, (77, 130), (0, 0, 130, 77)), ref, atol=0.02)


def test_prefill_model_with_zero_residual_is_the_fast_fill(tmp_path: Path) -> None:
    """A ``prefill: pushpull`` model that changes nothing gives exactly the fast backend's fill
    (at native resolution, though the model runs downscaled); a non-zero change moves it."""
    import yaml

    from glare_inpaint_ros.synth import make_sample
    from glare_inpaint_ros.tooling.training.export import export_onnx
    from glare_inpaint_ros.tooling.training.net import GlareNet

    net = GlareNet()  # zero-initialised last layer
    export_onnx(net, tmp_path / "zero.onnx")
    spec = tmp_path / "zero.yaml"
    assert yaml.safe_load(spec.read_text())["prefill"] == "pushpull"
    img, gt_mask, _ = make_sample(5, 0, (320, 240))
    mask = cv2.dilate(gt_mask, np.ones((7, 7), np.uint8))
    zero = INPAINTERS.get("onnx")(model_spec=str(spec), feather=0, max_side=48)
    np.testing.assert_array_equal(
        zero.inpaint(img, mask), INPAINTERS.get("fast")().inpaint(img, mask)
    )
    with torch.no_grad():
        net.out.bias.copy_(torch.tensor([0.2, 0.2, 0.2]))
    export_onnx(net, tmp_path / "zero.onnx")
    brighter = INPAINTERS.get("onnx")(model_spec=str(spec), feather=0, max_side=48).inpaint(
        img, mask
    )
    sel = cv2.erode(mask, np.ones((9, 9), np.uint8)) > 0
    diff = brighter[sel].astype(np.int16) - INPAINTERS.get("fast")().inpaint(img, mask)[sel]
    assert np.median(diff) > 40  # +0.2 of 255 = 51 levels inside the hole (less where clipped)


def test_model_spec_rejects_unknown_prefill(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("image_input: image\nmask_input: mask\nprefill: telea\n")
    with pytest.raises(ValueError, match="prefill"):
        load_spec(bad)


# ---------------------------------------------------------------------------- the shipped model
def test_shipped_model_onnx_and_torch_agree_and_improve() -> None:
    from glare_inpaint_ros.synth import make_sample

    spec = load_spec(SHIPPED_SPEC)
    assert Path(spec.files["onnx"]).stat().st_size < 10 * 2 ** 20
    img, gt_mask, clean = make_sample(3, 0, (320, 240))
    mask = cv2.dilate(gt_mask, np.ones((7, 7), np.uint8))
    learned = INPAINTERS.get("learned")()
    via_torch = INPAINTERS.get("torch")(model_spec=str(SHIPPED_SPEC))
    a, b = learned.inpaint(img, mask), via_torch.inpaint(img, mask)
    np.testing.assert_array_equal(a[mask == 0], img[mask == 0])
    np.testing.assert_array_equal(b[mask == 0], img[mask == 0])
    sel = mask > 0
    assert np.abs(a[sel].astype(np.int16) - b[sel]).max() <= 2  # onnxruntime vs torch
    err_in = np.abs(img[sel].astype(np.float64) - clean[sel]).mean()
    err_out = np.abs(a[sel].astype(np.float64) - clean[sel]).mean()
    assert err_out < 0.5 * err_in


def test_shipped_model_raw_onnx_matches_torch() -> None:
    import onnxruntime as ort

    from glare_inpaint_ros.tooling.training.net import GlareNet

    spec = load_spec(SHIPPED_SPEC)
    net = GlareNet()
    net.load_state_dict(torch.load(spec.files["torch_state_dict"], weights_only=True))
    net.eval()
    rng = np.random.default_rng(0)
    image = rng.random((2, 3, 64, 96), dtype=np.float32)
    mask = np.zeros((2, 1, 64, 96), np.float32)
    mask[:, :, 20:40, 30:70] = 1
    with torch.inference_mode():
        ref = net(torch.from_numpy(image), torch.from_numpy(mask)).numpy()
    sess = ort.InferenceSession(spec.files["onnx"], providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": image, "mask": mask})[0]
    np.testing.assert_allclose(got, ref, atol=1e-4)
    np.testing.assert_array_equal(got[:, :, :20], image[:, :, :20])  # known pixels pass through


def test_pipeline_selects_learned_backend() -> None:
    from glare_inpaint_ros.core.pipeline import GlareRemover

    remover = GlareRemover(
        {"inpainting": {"backend": "learned", "learned": {"context_margin": 64}}}
    )
    assert type(remover.inpainter).name == "learned"
    img, mask = _scene()
    out = remover.inpaint(img, mask)
    np.testing.assert_array_equal(out[mask == 0], img[mask == 0])
    assert (out[mask > 0] < 250).mean() > 0.9  # the white glare is gone


def test_training_path_matches_the_backend(tmp_path: Path) -> None:
    """train.frame_example + train.forward_batch (what the loss sees) == the learned backend's
    output."""
    from glare_inpaint_ros.synth import make_sample
    from glare_inpaint_ros.tooling.training.export import export_onnx
    from glare_inpaint_ros.tooling.training.net import GlareNet
    from glare_inpaint_ros.tooling.training.train import MAX_SIDE, forward_batch, frame_example

    torch.manual_seed(0)
    net = GlareNet()
    with torch.no_grad():  # a non-trivial (random) correction
        net.out.weight.normal_(0.0, 0.05)
    net.eval()
    export_onnx(net, tmp_path / "rand.onnx")
    img, gt_mask, clean = make_sample(2, 0, (640, 480))
    mask = cv2.dilate(gt_mask, np.ones((7, 7), np.uint8))
    out = INPAINTERS.get("onnx")(
        model_spec=str(tmp_path / "rand.yaml"), max_side=MAX_SIDE
    ).inpaint(img, mask)
    ex = frame_example(img, mask, clean, lambda n: 0)
    with torch.no_grad():
        pred, target = forward_batch(net, [ex])
    # The same crop from the backend's output, in the same (RGB, CHW, hole-pixel) order.
    from glare_inpaint_ros.core.inpainting.model import crop_rect, group_boxes
    from glare_inpaint_ros.core.inpainting.roi import component_boxes

    x0, y0, x1, y1 = crop_rect(group_boxes(mask, component_boxes(mask, 16), 64)[0], 640, 480, 128)
    crop_hole = mask[y0:y1, x0:x1] > 0
    got = out[y0:y1, x0:x1, ::-1].transpose(2, 0, 1)[:, crop_hole].astype(np.float32) / 255.0
    want = pred.numpy().reshape(3, -1)
    # uint8 rounding
    assert (np.abs(got - want).max() < 1.5 / 255 and np.abs(got - want).mean() < 0.5 / 255)
    fast = (
        INPAINTERS.get("fast")()
        .inpaint(img, mask)[y0:y1, x0:x1, ::-1]
        .transpose(2, 0, 1)[:, crop_hole]
        / 255.0
    )
    assert np.abs(fast - want).mean() > 5.0 / 255  # the correction is large next to that tolerance


def test_torch_device_and_half_params(caplog: pytest.LogCaptureFixture) -> None:
    """device: where the model runs (CUDA refused with the parameter's name when absent);
    half: float16 on CUDA, on CPU ignored with a warning (the float32 result, bit for bit)."""
    from glare_inpaint_ros.synth import make_sample

    img, gt_mask, _ = make_sample(2, 0, (160, 120))
    mask = cv2.dilate(gt_mask, np.ones((7, 7), np.uint8))
    ref = INPAINTERS.get("torch")(model_spec=str(SHIPPED_SPEC))
    assert ref.device.type == "cpu" and not ref.half
    with caplog.at_level(logging.WARNING):
        half = INPAINTERS.get("torch")(model_spec=str(SHIPPED_SPEC), half=True)
    if torch.cuda.is_available():
        pytest.skip(
            "CUDA present: the CPU-only half=true warning and the missing-CUDA refusal do not "
            "apply"
        )
    assert not half.half and "half=true needs CUDA" in caplog.text
    np.testing.assert_array_equal(half.inpaint(img, mask), ref.inpaint(img, mask))
    with pytest.raises(ValueError, match="device"):
        INPAINTERS.get("torch")(model_spec=str(SHIPPED_SPEC), device="cuda")
