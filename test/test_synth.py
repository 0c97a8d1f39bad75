"""The seeded synthetic glare dataset (glare_inpaint_ros.synth)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from glare_inpaint_ros.tooling import cli
from glare_inpaint_ros import synth

SMALL = (160, 120)  # (width, height) px: keeps the tests fast


def test_clean_images_are_bgr_uint8_copies() -> None:
    images = synth.clean_images()
    assert len(images) == len(synth.PHOTO_NAMES) >= 5
    for img in images:
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    images[0][:] = 0  # a caller's change must not leak into the next call
    assert synth.clean_images()[0].any()


def test_make_sample_is_reproducible_and_seed_dependent() -> None:
    a = synth.make_sample(3, seed=1, size=SMALL)
    b = synth.make_sample(3, seed=1, size=SMALL)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    c = synth.make_sample(3, seed=2, size=SMALL)
    assert not np.array_equal(a[0], c[0])
    d = synth.make_sample(4, seed=1, size=SMALL)
    assert not np.array_equal(a[0], d[0])


def test_make_sample_shapes_and_gt_rule() -> None:
    width, height = SMALL
    for i in range(len(synth.PHOTO_NAMES)):
        image, mask, clean = synth.make_sample(i, size=SMALL)
        assert image.shape == clean.shape == (height, width, 3) and image.dtype == np.uint8
        assert mask.shape == (height, width) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}
        rise = cv2.subtract(image, clean).max(axis=2)
        np.testing.assert_array_equal(mask > 0, rise >= synth.GT_DELTA)
        assert mask.any(), f"sample {i} has an empty mask"
        # Glare only brightens: nothing outside the highlights is darker than the clean image.
        assert (image >= clean).all()


@pytest.mark.parametrize("coverage", [(0.005, 0.02), (0.02, 0.05)])
def test_render_glare_coverage(coverage: tuple[float, float]) -> None:
    clean = synth.make_sample(0, size=(320, 240))[2]
    covs = []
    for s in range(6):
        _, mask = synth.render_glare(clean, np.random.default_rng(s), coverage=coverage)
        covs.append(np.count_nonzero(mask) / mask.size)
    lo, hi = coverage
    assert all(0.8 * lo <= c <= 1.05 * hi for c in covs), covs


def test_highlights_are_not_all_saturated() -> None:
    unsaturated = 0
    for i in range(6):
        image, mask, _ = synth.make_sample(i, size=SMALL)
        unsaturated += np.count_nonzero((mask > 0) & (image.min(axis=2) < 240))
    assert unsaturated > 0


def test_render_glare_rejects_bad_input() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError):
        synth.render_glare(np.zeros((8, 8, 3), np.float32), rng)
    with pytest.raises(ValueError):
        synth.render_glare(np.zeros((8, 8), np.uint8), rng)
    with pytest.raises(ValueError):
        synth.render_glare(np.zeros((0, 8, 3), np.uint8), rng)
    with pytest.raises(ValueError):
        synth.render_glare(np.zeros((8, 8, 3), np.uint8), rng, coverage=(0.1, 0.01))
    with pytest.raises(ValueError):
        synth.make_sample(-1)
    with pytest.raises(ValueError):
        synth.make_sample(0, size=(4, 4))


def test_make_dataset_and_cli(tmp_path) -> None:
    out = synth.make_dataset(tmp_path / "a", n=2, seed=5, size=(64, 48))
    for sub in ("input", "mask", "gt"):
        assert sorted(p.name for p in (out / sub).iterdir()) == ["0000.png", "0001.png"]
    image, mask, clean = synth.make_sample(1, seed=5, size=(64, 48))
    np.testing.assert_array_equal(cv2.imread(str(out / "input" / "0001.png")), image)
    np.testing.assert_array_equal(
        cv2.imread(str(out / "mask" / "0001.png"), cv2.IMREAD_GRAYSCALE), mask
    )
    np.testing.assert_array_equal(cv2.imread(str(out / "gt" / "0001.png")), clean)

    rc = cli.main(
        [
            "make-synthetic", str(tmp_path / "b"), "--n", "2", "--seed", "5", "--width", "64",
            "--height", "48",
        ]
    )
    assert rc == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "b" / "input" / "0001.png")), image)


def test_default_sample_is_the_evaluation_stream() -> None:
    """Without hard negatives a sample is what the evaluation set holds, whatever was generated
    before it; a hard-negative draw that paints nothing leaves the sample exactly the default one
    (its own random stream does not shift the photo's or the highlights')."""
    order = [2, 0, 1]
    first = {i: synth.make_sample(i, 0, SMALL) for i in order}
    for i in sorted(order):  # another order, explicit 0.0: the same samples
        for ref, got in zip(first[i], synth.make_sample(i, 0, SMALL, hard_negatives=0.0)):
            np.testing.assert_array_equal(got, ref)
    untouched = touched = 0
    for i in range(10):
        default = synth.make_sample(i, 5, SMALL)
        mixed = synth.make_sample(i, 5, SMALL, hard_negatives=0.5)
        if np.array_equal(mixed[2], default[2]):  # no objects painted into this scene
            untouched += 1
            for ref, got in zip(default, mixed):
                np.testing.assert_array_equal(got, ref)
        else:
            touched += 1
    assert untouched and touched, (untouched, touched)  # both cases were checked


def test_hard_negatives_paint_bright_objects_that_are_not_glare() -> None:
    size = (320, 240)
    objects = masked_objects = dim_glare = 0
    for index in range(8):
        plain = synth.make_sample(index, 7, size)
        image, mask, clean = synth.make_sample(index, 7, size, hard_negatives=1.0)
        rise = cv2.subtract(image, clean).max(axis=2)
        np.testing.assert_array_equal(mask > 0, rise >= synth.GT_DELTA)  # the GT rule decides
        assert (image >= clean).all()
        # Painted-in saturated, bright objects (not in the plain sample's clean scene) ...
        hsv = cv2.cvtColor(clean, cv2.COLOR_BGR2HSV)
        obj = (
            (cv2.absdiff(clean, plain[2]).max(axis=2) > 30)
            & (hsv[:, :, 1] >= 120)
            & (hsv[:, :, 2] >= 110)
        )
        # ... are unmasked wherever no highlight landed on them.
        assert not mask[obj & (rise == 0)].any()
        objects += np.count_nonzero(obj)
        masked_objects += np.count_nonzero(mask[obj])
        dim_glare += np.count_nonzero((mask > 0) & (image.max(axis=2) < 150))
    assert objects > 0.05 * 8 * size[0] * size[1], objects
    assert masked_objects < 0.1 * objects
    assert dim_glare > 0  # dim highlights on dark scenes are glare


def test_hard_negatives_probability() -> None:
    changed = [
        not np.array_equal(
            synth.make_sample(i, 3, SMALL, hard_negatives=0.5)[2],
            synth.make_sample(i, 3, SMALL)[2],
        )
        for i in range(12)
    ]
    assert 0 < sum(changed) < 12
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError):
            synth.make_sample(0, size=SMALL, hard_negatives=bad)
    with pytest.raises(ValueError):
        synth.render_glare(
            synth.make_sample(0, size=SMALL)[2], np.random.default_rng(0), strength=0.0
        )
