"""``glare-inpaint images``: one file, a folder with --save-masks, unreadable files, usage
errors."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from glare_inpaint_ros.tooling.cli import main
from glare_inpaint_ros.core.pipeline import GlareRemover
from glare_inpaint_ros.tooling.eval.dataset import write_image
from glare_inpaint_ros.synth import make_sample
from helpers import interrupt_cli


def _sample_file(
    folder: Path, stem: str, index: int, ext: str = ".png"
) -> tuple[Path, np.ndarray, np.ndarray]:
    """Write synthetic sample ``index`` (160x120) as ``folder/stem.ext``; returns path, image, GT
    mask."""
    folder.mkdir(parents=True, exist_ok=True)
    image, mask, _ = make_sample(index, seed=11, size=(160, 120))
    path = folder / f"{stem}{ext}"
    write_image(path, image)
    return path, image, mask


def test_single_file(tmp_path: Path, classic_yaml: Path) -> None:
    path, image, gt_mask = _sample_file(tmp_path / "in", "frame", 0)
    out = tmp_path / "out"
    assert (
        main(["images", str(path), str(out), "--config", str(classic_yaml), "--no-progress"]) == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["frame.png"]
    cleaned = cv2.imread(str(out / "frame.png"))
    assert cleaned.shape == image.shape
    # exactly what the configured pipeline makes of it, and the glare was touched
    assert np.array_equal(cleaned, GlareRemover(classic_yaml).process(image).image)
    assert (cleaned != image).any(axis=2)[gt_mask > 0].any()


def test_folder_with_masks_and_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], classic_yaml: Path
) -> None:
    src = tmp_path / "in"
    files = [_sample_file(src, f"img{i}", i, ext) for i, ext in enumerate((".png", ".jpg"))]
    (src / "broken.png").write_bytes(b"not a png at all")
    (src / "notes.txt").write_text("ignored: not an image extension")
    out = tmp_path / "out"
    # one failed: not all written
    assert main(["images", str(src), str(out), "--config", str(classic_yaml), "--save-masks",
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "processed 2 image(s)" in captured.out and "1 failed" in captured.out
    assert "broken.png" in captured.err
    assert sorted(p.name for p in out.iterdir()) == [
        "img0.png", "img0_mask.png", "img1.png", "img1_mask.png",
    ]
    for path, _, _ in files:
        original = cv2.imread(str(path))
        cleaned = cv2.imread(str(out / f"{path.stem}.png"))
        mask = cv2.imread(str(out / f"{path.stem}_mask.png"), cv2.IMREAD_UNCHANGED)
        assert mask.shape == original.shape[:2] and set(np.unique(mask)) <= {0, 255}
        assert np.count_nonzero(mask) > 0
        # outside the saved (final) mask the output is the input, bit for bit
        assert np.array_equal(cleaned[mask == 0], original[mask == 0])
        assert not np.array_equal(cleaned[mask > 0], original[mask > 0])


def test_nothing_processed_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(b"\xff\xd8 truncated")
    assert main(["images", str(src), str(tmp_path / "out"), "--no-progress"]) == 1
    assert "processed 0 image(s)" in capsys.readouterr().out


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", str(tmp_path / "missing.png"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["images", str(empty), str(tmp_path / "out")]) == 2
    assert "contains no images" in capsys.readouterr().err
    path, image, _ = _sample_file(tmp_path / "in", "keep", 1)
    assert main(["images", str(tmp_path / "in"), str(tmp_path / "in")]) == 2
    assert "must not be the input folder" in capsys.readouterr().err
    assert np.array_equal(cv2.imread(str(path)), image)
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("detector:\n  type: no_such_detector\n")
    assert main(["images", str(path), str(tmp_path / "out"), "--config", str(bad_config)]) == 2
    assert "no_such_detector" in capsys.readouterr().err


def test_known_blob_is_filled_and_the_rest_is_untouched(
    tmp_path: Path, classic_yaml: Path
) -> None:
    """Independent of the pipeline's code: a smooth frame with one saturated white disc. Inside
    the disc nothing stays saturated and the fill is close to the scene; farther from it than the
    default dilation (7 px kernel: 3 px) plus one pixel the output is the input, bit for bit. The
    same frame without the disc comes out bit-identical."""
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    # V <= 155
    clean = np.dstack([60 + 0.5 * xx, 90 + 0.4 * yy, 100 + 0.2 * (xx + yy)]).astype(np.uint8)
    glare = clean.copy()
    disc = np.zeros((120, 160), np.uint8)
    cv2.circle(disc, (70, 55), 9, 255, -1)
    glare[disc > 0] = 255
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "glare.png", glare)
    write_image(src / "clean.png", clean)
    out = tmp_path / "out"
    assert (
        main(["images", str(src), str(out), "--config", str(classic_yaml), "--no-progress"]) == 0
    )
    cleaned = cv2.imread(str(out / "glare.png"))
    inside = disc > 0
    assert not (cleaned[inside] == 255).all(axis=1).any()
    assert np.abs(cleaned[inside].astype(float) - clean[inside]).mean() < 10.0
    far = cv2.dilate(disc, np.ones((9, 9), np.uint8)) == 0
    assert np.array_equal(cleaned[far], glare[far])
    assert np.array_equal(cv2.imread(str(out / "clean.png")), clean)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_mid_folder_stops_with_one_line_and_no_temporary_file(tmp_path: Path,
                                                                       sig: int) -> None:
    image, _, _ = make_sample(3, seed=11, size=(640, 480))
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "f000.png", image)
    for i in range(1, 200):
        shutil.copyfile(src / "f000.png", src / f"f{i:03d}.png")
    out = tmp_path / "out"
    interrupt_cli(["images", str(src), str(out), "--no-progress"], sig,
                  lambda _proc: out.is_dir() and len(list(out.glob("*.png"))) >= 3)
    written = sorted(out.glob("*.png"))
    assert 3 <= len(written) < 200
    assert not [p.name for p in out.iterdir() if p.suffix != ".png"]  # no temporary file left
    assert all(cv2.imread(str(p)) is not None for p in written)  # each one complete
