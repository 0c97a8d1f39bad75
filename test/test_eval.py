"""Evaluation harness: metrics, data set discovery, and the ``eval`` command end to end."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import ROOT, SHARED_DATA
from glare_inpaint_ros.tooling.cli import main
from glare_inpaint_ros.tooling.eval import metrics as M
from glare_inpaint_ros.tooling.eval.dataset import (
    DERIVED_MASK_THRESHOLD, Dataset, derive_mask, write_image,
)
from glare_inpaint_ros.synth import make_dataset, make_sample

# --------------------------------------------------------------------------- detection metrics


def _mask(shape: tuple[int, int], *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """uint8 mask with 255 in each (x0, y0, x1, y1) box (end exclusive)."""
    m = np.zeros(shape, np.uint8)
    for x0, y0, x1, y1 in boxes:
        m[y0:y1, x0:x1] = 255
    return m


def test_detection_scores_hand_made_masks() -> None:
    gt = _mask((10, 10), (0, 0, 4, 1))              # 4 px
    pred = _mask((10, 10), (1, 0, 4, 1), (0, 5, 3, 6))  # 3 px inside gt + 3 px outside
    s = M.detection_scores(pred, gt)
    # TP 3, FP 3, FN 1
    assert s["precision"] == pytest.approx(3 / 6)
    assert s["recall"] == pytest.approx(3 / 4)
    assert s["f1"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)
    assert s["iou"] == pytest.approx(3 / 7)
    assert M.detection_scores(gt, gt) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0}
    # bool and any non-zero uint8 are masks too
    assert M.detection_scores(pred > 0, (gt > 0).astype(np.uint8)) == s


def test_detection_scores_empty_cases() -> None:
    empty, some = np.zeros((5, 5), np.uint8), _mask((5, 5), (1, 1, 3, 3))
    assert M.detection_scores(empty, empty) == {
        "precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0,
    }
    missed = M.detection_scores(empty, some)
    assert missed == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "iou": 0.0}
    false_alarm = M.detection_scores(some, empty)
    assert false_alarm == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "iou": 0.0}


def test_detection_counts_pool_over_images() -> None:
    gt1, pred1 = _mask((4, 4), (0, 0, 2, 2)), _mask((4, 4), (0, 0, 2, 1))  # TP 2, FN 2
    gt2, pred2 = np.zeros((4, 4), np.uint8), _mask((4, 4), (3, 3, 4, 4))   # FP 1
    pooled = M.detection_counts(pred1, gt1) + M.detection_counts(pred2, gt2)
    assert (pooled.tp, pooled.fp, pooled.fn, pooled.total) == (2, 1, 2, 32)
    assert pooled.scores()["iou"] == pytest.approx(2 / 5)


def test_detection_bad_input() -> None:
    with pytest.raises(ValueError, match="does not match"):
        M.detection_scores(np.zeros((4, 5), np.uint8), np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="dtype"):
        M.detection_scores(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="numpy"):
        M.detection_scores([[0, 0], [0, 0]], np.zeros((2, 2), np.uint8))


# --------------------------------------------------------------------------- inpainting metrics


def _random_image(
    shape: tuple[int, ...], seed: int = 0, lo: int = 20, hi: int = 230
) -> np.ndarray:
    return np.random.default_rng(seed).integers(lo, hi, shape, dtype=np.uint8)


def test_psnr_constant_offset_frame_and_region() -> None:
    ref = _random_image((40, 50, 3))
    assert M.psnr(ref + 5, ref) == pytest.approx(20 * math.log10(255 / 5))
    region = _mask((40, 50), (10, 10, 20, 30))
    out = ref.copy()
    out[region > 0] += 10
    frac = np.count_nonzero(region) / region.size
    assert M.psnr(out, ref, region) == pytest.approx(20 * math.log10(255 / 10))
    assert M.psnr(out, ref) == pytest.approx(10 * math.log10(255 ** 2 / (100 * frac)))


def test_psnr_identical_is_capped_and_empty_region_is_nan() -> None:
    ref = _random_image((16, 16, 3))
    assert M.psnr(ref, ref) == M.PSNR_CAP_DB
    assert M.psnr(ref, ref.copy(), _mask((16, 16), (0, 0, 4, 4))) == M.PSNR_CAP_DB
    assert math.isnan(M.psnr(ref + 1, ref, np.zeros((16, 16), np.uint8)))
    with pytest.raises(ValueError, match="does not match"):
        M.psnr(ref, ref[:8])
    with pytest.raises(TypeError, match="dtype"):
        M.psnr(ref.astype(np.float32), ref)


def test_ssim_identical_is_one_and_damage_lowers_it() -> None:
    ref = cv2.GaussianBlur(_random_image((48, 64, 3), 1), (5, 5), 0)
    region = _mask((48, 64), (20, 10, 40, 30))
    assert M.ssim(ref, ref) == pytest.approx(1.0)
    assert M.ssim(ref, ref, region) == pytest.approx(1.0)
    damaged = ref.copy()
    damaged[region > 0] = 255
    assert M.ssim(damaged, ref, region) < 0.5
    # the frame value is skimage's own mean SSIM
    from skimage.metrics import structural_similarity

    expected = structural_similarity(damaged, ref, channel_axis=2, data_range=255)
    assert M.ssim(damaged, ref) == pytest.approx(expected, abs=1e-12)
    assert M.ssim(damaged, ref) > M.ssim(damaged, ref, region)


def test_ssim_map_update_matches_full_computation() -> None:
    ref = cv2.GaussianBlur(_random_image((60, 80, 3), 2), (3, 3), 0)
    image = np.clip(ref.astype(np.int16) + _random_image((60, 80, 3), 3, 0, 9) - 4, 0, 255).astype(
        np.uint8
    )
    changed = _mask((60, 80), (0, 0, 3, 2), (30, 20, 45, 31), (78, 57, 80, 60), (50, 5, 51, 6))
    out = image.copy()
    out[changed > 0] = _random_image((int(np.count_nonzero(changed)), 3), 4)
    updated = M.ssim_map_update(M.ssim_map(image, ref), out, ref, changed)
    full = M.ssim_map(out, ref)
    assert np.abs(updated - full).max() < 1e-9
    assert np.abs(M.ssim_map(image, ref) - full).max() > 0.1  # the update did change something


def test_image_scores_keys_and_values() -> None:
    ref = _random_image((30, 30, 3))
    region = _mask((30, 30), (5, 5, 15, 15))
    s = M.image_scores(ref, ref, region)
    assert s == {"psnr_region": M.PSNR_CAP_DB, "psnr_frame": M.PSNR_CAP_DB,
                 "ssim_region": pytest.approx(1.0), "ssim_frame": pytest.approx(1.0)}
    assert math.isnan(M.nanmean([math.nan, None]))  # type: ignore[list-item]
    assert M.nanmean([1.0, math.nan, 3.0]) == 2.0


# --------------------------------------------------------------------------- data sets


def _write_set(
    root: Path, names: dict[str, str], *, mask: bool, gt: bool, size: tuple[int, int] = (40, 30)
) -> None:
    """A small set: ``names`` maps stem -> input extension; masks are png, gt png."""
    w, h = size
    for sub in ["input"] + (["mask"] if mask else []) + (["gt"] if gt else []):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, (stem, ext) in enumerate(names.items()):
        clean = np.full((h, w, 3), 60 + 10 * i, np.uint8)
        image = clean.copy()
        image[5:10, 8:20] = 250
        write_image(root / "input" / f"{stem}{ext}", image)
        if mask:
            m = np.zeros((h, w), np.uint8)
            m[5:10, 8:20] = 200  # any value >= 128 is glare
            write_image(root / "mask" / f"{stem}.png", m)
        if gt:
            write_image(root / "gt" / f"{stem}.png", clean)


def test_dataset_with_masks_and_gt_matched_by_stem(tmp_path: Path) -> None:
    _write_set(tmp_path, {"a": ".png", "b": ".bmp"}, mask=True, gt=True)
    ds = Dataset(tmp_path)
    assert (len(ds), ds.names(), ds.mask_source, ds.has_gt) == (2, ["a", "b"], "file", True)
    samples = list(ds)
    assert [s.name for s in samples] == ["a", "b"]
    for s in samples:
        assert s.image.shape == (30, 40, 3) and s.gt.shape == (30, 40, 3)
        assert set(np.unique(s.mask)) == {0, 255}
        assert np.count_nonzero(s.mask) == 5 * 12


def test_dataset_input_only(tmp_path: Path) -> None:
    _write_set(tmp_path, {"x": ".jpg"}, mask=False, gt=False)
    ds = Dataset(tmp_path, name="raw")
    (sample,) = list(ds)
    assert (ds.name, ds.has_mask, ds.mask_source, sample.mask, sample.gt) == (
        "raw", False, None, None, None,
    )


def test_dataset_gt_without_masks_derives_the_region(tmp_path: Path) -> None:
    _write_set(tmp_path, {"a": ".png"}, mask=False, gt=True)
    ds = Dataset(tmp_path)
    (sample,) = list(ds)
    assert ds.mask_source == "derived" and sample.mask_source == "derived"
    expected = _mask((30, 40), (8, 5, 20, 10))
    assert np.array_equal(sample.mask, expected)
    # the rule: brighter by at least the threshold in some channel; darker never counts
    clean = np.full((2, 2, 3), 100, np.uint8)
    img = clean.copy()
    img[0, 0, 1] += DERIVED_MASK_THRESHOLD
    img[0, 1, 2] += DERIVED_MASK_THRESHOLD - 1
    img[1, 0] -= 50
    assert derive_mask(img, clean).tolist() == [[255, 0], [0, 0]]


def test_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        Dataset(tmp_path / "missing")
    with pytest.raises(ValueError, match="no input/"):
        Dataset(tmp_path)
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="contains no images"):
        Dataset(tmp_path)


def test_dataset_missing_pair_and_duplicate_stem(tmp_path: Path) -> None:
    _write_set(tmp_path / "s1", {"a": ".png", "b": ".png"}, mask=True, gt=False)
    (tmp_path / "s1" / "mask" / "b.png").unlink()
    with pytest.raises(ValueError, match=r"mask: no file for 1 input image\(s\): b"):
        Dataset(tmp_path / "s1")
    _write_set(tmp_path / "s2", {"a": ".png"}, mask=False, gt=False)
    _write_set(tmp_path / "s2", {"a": ".jpg"}, mask=False, gt=False)
    with pytest.raises(ValueError, match="two images share the name 'a'"):
        Dataset(tmp_path / "s2")


def test_dataset_mismatched_sizes(tmp_path: Path) -> None:
    _write_set(tmp_path, {"a": ".png"}, mask=True, gt=True)
    write_image(tmp_path / "gt" / "a.png", np.zeros((31, 40, 3), np.uint8))
    ds = Dataset(tmp_path)
    with pytest.raises(
        ValueError, match=r"gt/a.png: size 40x31 does not match its input image 40x30"
    ):
        list(ds)
    write_image(tmp_path / "gt" / "a.png", np.zeros((30, 40, 3), np.uint8))
    write_image(tmp_path / "mask" / "a.png", np.zeros((30, 41), np.uint8))
    with pytest.raises(ValueError, match=r"mask/a.png: size 41x30"):
        list(ds)


def test_artefact_scores_count_dark_and_garish_changes_only() -> None:
    """Changes judged against the unchanged surface around them: a blotch darker than 0.6x it
    and a dot more saturated by over 0.25 count, a change to the surface's own look does not."""
    image = np.full((100, 200, 3), (90, 110, 200), np.uint8)  # a reddish surface, S 0.55
    assert M.artefact_scores(image.copy(), image) == {
        "changed_pct": 0.0, "darkened_pct": 0.0, "oversaturated_pct": 0.0}
    out = image.copy()
    out[10:20, 10:20] = (30, 40, 70)  # 100 px dark blotch (max 70 < 0.6 x 200)
    out[40:50, 100:105] = (0, 20, 220)  # 50 px garish dot (S 1.0)
    out[70:80, 150:160] = (80, 100, 190)  # 100 px changed by 10 levels, like the surface
    s = M.artefact_scores(out, image)
    assert s["changed_pct"] == pytest.approx(100 * 250 / 20000)
    assert s["darkened_pct"] == pytest.approx(100 * 100 / 20000)
    assert s["oversaturated_pct"] == pytest.approx(100 * 50 / 20000)
    # a frame changed everywhere has no surface to compare with: nothing is judged
    dark = M.artefact_scores(np.zeros_like(image), image)
    assert dark["changed_pct"] == 100.0 and dark["darkened_pct"] == 0.0
    grey = np.full((50, 50), 120, np.uint8)
    blotch = grey.copy()
    blotch[5:9, 5:9] = 30
    g = M.artefact_scores(blotch, grey)
    assert g["darkened_pct"] == pytest.approx(100 * 16 / 2500) and np.isnan(g["oversaturated_pct"])
    with pytest.raises(ValueError, match="shape"):
        M.artefact_scores(out[:50], image)
    # Beside the unlit border of an endoscope's view (every channel under 32, its saturation
    # noise): a change to the surface's own look is judged against the lit surface only.
    framed = image.copy()
    framed[60:] = (11, 11, 11)
    out = framed.copy()
    out[50:60, 50:70] = (80, 100, 190)
    assert M.artefact_scores(out, framed)["oversaturated_pct"] == 0.0
    out[50:60, 100:120] = (0, 20, 220)  # a garish dot there still counts
    assert M.artefact_scores(out, framed)["oversaturated_pct"] == pytest.approx(100 * 200 / 20000)


# --------------------------------------------------------------------------- the eval command


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``glare-inpaint eval`` on 6 synthetic 160x120 images, two backends."""
    out = tmp_path_factory.mktemp("eval")
    rc = main(
        [
            "eval", "--synthetic", "6", "--size", "160x120", "--seed", "3", "--detectors",
            "threshold", "--backends", "telea,fast", "--out", str(out), "--no-progress",
        ]
    )
    assert rc == 0
    return out


def test_eval_writes_report_files(eval_run: Path) -> None:
    for name in ("report.md", "report.json", "contact_sheet.png"):
        assert (eval_run / name).stat().st_size > 0
    assert not (eval_run / "outputs").exists()  # only with --save-outputs when clean GT exists
    sheet = cv2.imread(str(eval_run / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[1] == 4 * 240
    md = (eval_run / "report.md").read_text()
    for text in (
        "### Detection",
        "### Inpainting",
        "### Runtime",
        "threshold/telea",
        "oracle/fast",
        "nothing",
    ):
        assert text in md


def test_eval_json_contains_the_metrics(eval_run: Path) -> None:
    report = json.loads((eval_run / "report.json").read_text())
    (ds,) = report["datasets"].values()
    assert ds["n_images"] == 6 and len(ds["images"]) == 6 and ds["mask_source"] == "file"
    assert report["meta"]["backends"] == ["telea", "fast"]
    for kind in ("raw", "final"):
        scores = ds["detection"]["threshold"][kind]
        for key in ("precision", "recall", "f1", "iou", "mean_f1", "mean_iou"):
            assert 0.0 <= scores[key] <= 1.0
    assert set(ds["inpainting"]) == {
        "nothing", "oracle/telea", "oracle/fast", "threshold/telea", "threshold/fast",
    }
    for key, stages in ds["runtime_ms"].items():
        assert stages["total"] >= stages["inpaint"] >= 0.0
    first = ds["images"][0]
    assert set(first["inpainting"]) == set(ds["inpainting"])
    # artefacts: every combination and the clean GT as the reference row
    assert list(ds["artefacts"]) == ["clean GT (reference)", "threshold/telea", "threshold/fast"]
    for a in ds["artefacts"].values():
        assert 0.0 <= a["darkened_pct"] <= a["darkened_pct_worst"] <= a["changed_pct_worst"]
    assert 0.0 < first["glare_fraction"] < 1.0


def test_eval_pipeline_and_oracle_beat_doing_nothing(eval_run: Path) -> None:
    ds = next(iter(json.loads((eval_run / "report.json").read_text())["datasets"].values()))
    inp = ds["inpainting"]
    nothing = inp["nothing"]["psnr_region"]
    assert inp["nothing"]["delta_psnr_region"] == 0.0
    for variant in ("threshold/telea", "threshold/fast", "oracle/telea", "oracle/fast"):
        assert inp[variant]["psnr_region"] > nothing
        assert inp[variant]["delta_psnr_region"] == pytest.approx(
            inp[variant]["psnr_region"] - nothing
        )
    assert inp["oracle/telea"]["ssim_region"] > inp["nothing"]["ssim_region"]


def test_eval_on_sets_without_clean_ground_truth(tmp_path: Path) -> None:
    data = tmp_path / "nogt"
    (data / "input").mkdir(parents=True)
    for i in range(2):
        image, _, _ = make_sample(i, seed=5, size=(96, 72))
        write_image(data / "input" / f"img{i}.png", image)
    masks_only = tmp_path / "masks_only"
    make_dataset(masks_only, n=2, seed=5, size=(96, 72))
    shutil.rmtree(masks_only / "gt")
    out = tmp_path / "out"
    assert main(["eval", str(data), str(masks_only), "--detectors", "threshold", "--backends",
                 "fast", "--out", str(out), "--no-progress"]) == 0
    sets = json.loads((out / "report.json").read_text())["datasets"]
    ds = sets["nogt"]
    assert "detection" not in ds and "inpainting" not in ds
    assert list(ds["artefacts"]) == ["threshold/fast"]  # (no clean GT: no reference row)
    assert "### Artefacts" in (out / "report.md").read_text()
    assert len(ds["images"]) == 2 and set(ds["runtime_ms"]) == {"threshold/fast"}
    assert sorted(p.name for p in (out / "outputs" / "nogt").iterdir()) == [
        "img0.png", "img0_mask.png", "img1.png", "img1_mask.png"]
    assert (
        "inpainting" not in sets["masks_only"]
        and (out / "outputs" / "masks_only" / "0001.png").is_file()
    )
    assert 0.0 <= sets["masks_only"]["detection"]["threshold"]["raw"]["f1"] <= 1.0
    assert cv2.imread(str(out / "contact_sheet.png")) is not None


def test_eval_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--out", str(tmp_path)]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    make_dataset(tmp_path / "tiny", n=1, size=(32, 24))
    assert (
        main(["eval", str(tmp_path / "tiny"), "--detectors", "bogus", "--out", str(tmp_path)]) == 2
    )
    assert "unknown detector 'bogus'" in capsys.readouterr().err


def test_python_m_eval_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "glare_inpaint_ros.tooling.eval", "--help"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and "--synthetic" in proc.stdout


@pytest.mark.skipif(
    not (SHARED_DATA / "sihr_shen").is_dir(),
    reason=f"real data set {SHARED_DATA / 'sihr_shen'} not present (the shared/data folder beside "
    "the repository: see shared/README.md)",
)
def test_shared_sihr_shen_derived_masks() -> None:
    ds = Dataset(SHARED_DATA / "sihr_shen")
    assert ds.mask_source == "derived"
    sample = ds.load(ds.names()[0])
    frac = np.count_nonzero(sample.mask) / sample.mask.size
    assert 0.0 < frac < 0.2
    assert M.psnr(sample.image, sample.gt, sample.mask) < M.psnr(sample.image, sample.gt)


def test_synthetic_cache_is_reused(tmp_path: Path) -> None:
    from glare_inpaint_ros.tooling.eval.run import synthetic_dataset

    first = synthetic_dataset(tmp_path, 2, 7, (32, 24))
    marker = first / "input" / "marker.txt"
    marker.write_text("kept")
    assert synthetic_dataset(tmp_path, 2, 7, (32, 24)) == first and marker.exists()
    assert sorted(p.name for p in (first / "mask").iterdir()) == ["0000.png", "0001.png"]
    assert synthetic_dataset(tmp_path, 2, 8, (32, 24)) != first
    assert not list(tmp_path.glob(".*.partial"))


def test_eval_scores_match_direct_computation(tmp_path: Path) -> None:
    """The harness's shortcuts (SSIM map patched around the mask) give the plain metric values."""
    from glare_inpaint_ros.core.pipeline import GlareRemover, load_config
    from glare_inpaint_ros.tooling.eval.run import build_combos, evaluate_dataset

    make_dataset(tmp_path / "set", n=2, seed=9, size=(128, 96))
    ds = Dataset(tmp_path / "set")
    base = load_config()
    section, sheet = evaluate_dataset(ds, build_combos(base, ["threshold"], ["telea"]), base,
                                      sheet_rows=1, progress=False)
    assert len(sheet) == 1
    for record in section["images"]:
        sample = ds.load(record["name"])
        out = GlareRemover(
            {**base, "detector.type": "threshold", "inpainting.backend": "telea"}
        ).process(sample.image)
        got = record["inpainting"]["threshold/telea"]
        assert got["ssim_frame"] == pytest.approx(M.ssim(out.image, sample.gt), abs=1e-9)
        assert got["ssim_region"] == pytest.approx(
            M.ssim(out.image, sample.gt, sample.mask), abs=1e-9
        )
        assert got["psnr_region"] == pytest.approx(M.psnr(out.image, sample.gt, sample.mask))
        assert record["detection"]["threshold"]["raw"] == M.detection_scores(
            out.mask_raw, sample.mask
        )
        assert record["detection"]["threshold"]["final"] == M.detection_scores(
            out.mask, sample.mask
        )
        assert record["artefacts"]["threshold/telea"] == M.artefact_scores(out.image, sample.image)
        reference = M.artefact_scores(sample.gt, sample.image)
        assert record["artefacts"]["clean GT (reference)"] == reference


def test_eval_all_detectors_runs_or_skips_each(tmp_path: Path) -> None:
    from glare_inpaint_ros.core.detectors import DETECTORS
    from glare_inpaint_ros.core.pipeline import load_config

    make_dataset(tmp_path / "set", n=1, seed=2, size=(64, 48))
    out = tmp_path / "out"
    assert main(["eval", str(tmp_path / "set"), "--detectors", "all", "--backends", "telea",
                 "--out", str(out), "--no-progress"]) == 0
    meta = json.loads((out / "report.json").read_text())["meta"]
    # the config's own detector first
    assert (meta["detectors"][0] == load_config()["detector.type"])
    ran = {f"{d}/telea" for d in meta["detectors"]}
    assert ran.isdisjoint(meta["skipped"])
    assert ran | set(meta["skipped"]) == {f"{d}/telea" for d in DETECTORS.names()}


def test_eval_survives_a_frame_passed_through_for_max_coverage(tmp_path: Path) -> None:
    """A flooded frame (final mask over ``mask.max_coverage``) is passed through by the pipeline
    without an inpaint stage: eval scores it as the input itself and keeps the other frame's
    times."""
    data = make_dataset(tmp_path / "set", n=2, seed=4, size=(96, 72))
    flooded = cv2.imread(str(data / "gt" / "0001.png"))
    flooded[:, : flooded.shape[1] // 2] = 255  # half the frame saturated white: far over 25 %
    mask = np.zeros(flooded.shape[:2], np.uint8)
    mask[:, : flooded.shape[1] // 2] = 255
    write_image(data / "input" / "0001.png", flooded)
    write_image(data / "mask" / "0001.png", mask)
    out = tmp_path / "out"
    assert main(["eval", str(data), "--detectors", "threshold", "--backends", "telea", "--out",
                 str(out), "--no-progress"]) == 0
    ds = json.loads((out / "report.json").read_text())["datasets"]["set"]
    key = ds["primary"]
    by_name = {r["name"]: r for r in ds["images"]}
    assert by_name["0001"]["passthrough"][key] == "max_coverage"
    assert by_name["0000"]["passthrough"][key] is None  # the ordinary frame was inpainted
    assert ds["passthrough"][key] == {"max_coverage": 1}
    # passed through: scored exactly like doing nothing
    assert by_name["0001"]["inpainting"][key] == by_name["0001"]["inpainting"]["nothing"]
    assert (
        by_name["0000"]["inpainting"][key]["psnr_region"]
        > by_name["0000"]["inpainting"]["nothing"]["psnr_region"]
    )
    # the inpaint time is the median over frames that were inpainted (just the one)
    assert ds["runtime_ms"][key]["inpaint"] > 0.0
    md = (out / "report.md").read_text()
    runtime = md[md.index("### Runtime"):]
    row = next(line for line in runtime.splitlines() if line.startswith(f"| {key} |"))
    assert row.endswith("| 0 | 1 |"), row  # empty-mask and over-max_coverage counts
