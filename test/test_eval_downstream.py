"""What the detector downstream sees: rendered content, glare over it, the OCR and lane clients,
and the no-harm metrics and report keys of ``glare-inpaint eval --no-glare /
--synthetic-content``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import SHARED_DATA
from glare_inpaint_ros.tooling.cli import main
from glare_inpaint_ros.tooling.eval import metrics as M
from glare_inpaint_ros.tooling.eval.clients.lanes import (
    LaneClient, detect_segments, found_fraction,
)
from glare_inpaint_ros.synth.content import KINDS, read_truth, render_scene, write_truth
from glare_inpaint_ros.tooling.eval.dataset import NoGlareSet, write_image
from glare_inpaint_ros.tooling.eval.clients.ocr import OcrClient, char_accuracy, reading_order
from glare_inpaint_ros.synth import make_content_sample, make_glint_label_sample
from glare_inpaint_ros.synth.camera import Camera


def _need_rapidocr() -> None:
    pytest.importorskip(
        "rapidocr_onnxruntime",
        reason="the OCR client needs the eval extra rapidocr-onnxruntime "
               "(tools/setup.sh installs it)",
    )


@pytest.fixture(scope="module")
def ocr() -> OcrClient:
    _need_rapidocr()
    return OcrClient()


# --------------------------------------------------------------------------- rendered content


def test_content_scenes_are_reproducible_and_carry_their_truth(tmp_path: Path) -> None:
    kinds = []
    for i in range(4):
        a, b = render_scene(i, 3, (160, 120)), render_scene(i, 3, (160, 120))
        assert a.image.shape == (120, 160, 3) and a.image.dtype == np.uint8
        assert np.array_equal(a.image, b.image) and a.text == b.text
        kinds.append(a.kind)
    assert tuple(kinds) == KINDS
    assert not np.array_equal(
        render_scene(0, 3, (160, 120)).image, render_scene(0, 4, (160, 120)).image
    )
    label, road = render_scene(1, 0, (160, 120)), render_scene(0, 0, (160, 120))
    assert label.text and not len(label.lanes)
    assert road.text is None and len(road.lanes) >= 4
    write_truth(tmp_path / "t.json", road.truth())
    back = read_truth(tmp_path / "t.json")
    assert back["kind"] == "road" and np.allclose(back["lanes"], road.lanes, atol=0.01)


def test_make_synthetic_content_writes_truth(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["make-synthetic", str(out), "--n", "2", "--width", "96", "--height", "72",
                 "--content"]) == 0
    for sub, ext in (("input", "png"), ("mask", "png"), ("gt", "png"), ("truth", "json")):
        assert sorted(p.name for p in (out / sub).iterdir()) == [f"0000.{ext}", f"0001.{ext}"]
    assert read_truth(out / "truth" / "0001.json")["kind"] == "label"


def test_glare_over_content_adds_light_and_masks_it() -> None:
    image, mask, clean, scene = make_content_sample(1, 0, (320, 240))
    assert np.array_equal(clean, scene.image)
    rise = cv2.subtract(image, clean).max(axis=2)
    assert np.array_equal(mask > 0, rise >= 20)  # the synthetic set's GT rule
    assert 0.005 < np.count_nonzero(mask) / mask.size < 0.6
    assert not (cv2.subtract(clean, image) > 0).any()  # light is only added
    # partly transparent: pixels that rose but did not clip (the fringe)
    assert np.count_nonzero((rise >= 20) & (image.max(axis=2) < 250)) > 50


# --------------------------------------------------------------------------- OCR client


def test_glint_labels_are_reproducible_and_mark_their_glints() -> None:
    """The glints-on-labels set: seeded; the glints are added white light, marked where they
    cover half a pixel or more, the clean frame has none; the truth holds the lines wholly
    inside the frame."""
    image, mask, clean, scene = make_glint_label_sample(5, 0, (320, 240))
    again = make_glint_label_sample(5, 0, (320, 240))
    assert np.array_equal(image, again[0]) and np.array_equal(mask, again[1])
    assert not np.array_equal(image, make_glint_label_sample(6, 0, (320, 240))[0])
    glints = mask > 0
    rise, room = image.astype(int) - clean, 255 - clean.astype(int)
    assert glints.any() and (rise >= 0).all()
    assert (rise[glints] >= 0.5 * room[glints] - 1).all()  # (half covered by white light)
    assert (rise[~glints] < 0.5 * room[~glints] + 1).all()
    assert scene.kind == "label" and np.array_equal(scene.image, clean)
    for x0, y0, x1, y1 in scene.targets:
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240
    assert scene.text is None or len(scene.text.split("\n")) == len(scene.targets)


def test_char_accuracy_and_reading_order() -> None:
    assert char_accuracy("Hello  World", "hello world") == 1.0
    assert char_accuracy("Hxllo", "hello") == pytest.approx(0.8)
    assert char_accuracy("", "abcd") == 0.0
    assert np.isnan(char_accuracy("x", " "))
    boxes = [(np.array([[50, 40], [90, 40], [90, 60], [50, 60]]), "d"),
             (np.array([[0, 0], [40, 0], [40, 20], [0, 20]]), "a"),
             (np.array([[60, 2], [90, 2], [90, 22], [60, 22]]), "b"),
             (np.array([[0, 42], [40, 42], [40, 62], [0, 62]]), "c")]
    assert reading_order(boxes) == "a b\nc d"


def test_ocr_reads_rendered_text_and_glare_over_it_lowers_the_score(ocr: OcrClient) -> None:
    image, _, clean, scene = make_content_sample(1, 0, (640, 480))  # a label
    truth = scene.truth()
    assert scene.kind == "label" and truth["text"]
    clean_acc = ocr.score(clean, clean, truth)
    glare_acc = ocr.score(clean, image, truth)
    assert clean_acc >= 0.9, ocr.read(clean)
    assert glare_acc <= clean_acc - 0.2, ocr.read(image)
    # real photos: the clean frame's own reading is the reference
    assert ocr.score(clean, clean, None) == 1.0


# --------------------------------------------------------------------------- lane client


def test_lane_client_finds_rendered_lane_lines() -> None:
    scene = render_scene(0, 0, (640, 480))
    truth = scene.truth()
    client = LaneClient()
    assert client.score(scene.image, scene.image, truth) >= 0.9
    segs = detect_segments(scene.image)
    assert len(segs) >= 3
    # the paint gone (asphalt only): nothing of it is found
    blank = cv2.medianBlur(scene.image, 31)
    assert client.score(scene.image, blank, truth) <= 0.2
    # only paint counts: a dark tar seam along a lane line is not lane paint
    seam = blank.copy()
    x0, y0, x1, y1 = (int(v) for v in truth["lanes"][0])
    cv2.line(seam, (x0, y0), (x1, y1), (10, 10, 10), 3)
    assert (
        found_fraction(np.array([[x0, y0, x1, y1]], np.float32), detect_segments(seam), seam.shape)
        == 0.0
    )
    # against its own clean detections (real photos): found entirely on the clean frame
    assert client.score(scene.image, scene.image, None) == pytest.approx(1.0)


def test_found_fraction_tolerance_and_angle() -> None:
    ref = np.array([[100, 400, 200, 200]], np.float32)
    shape = (480, 640)
    assert found_fraction(ref, ref + [3, 0, 3, 0], shape) == 1.0
    assert found_fraction(ref, ref + [20, 0, 20, 0], shape) == 0.0
    half = np.array([[100, 400, 150, 300]], np.float32)
    assert found_fraction(ref, half, shape) == pytest.approx(0.5, abs=0.03)
    crossing = np.array([[100, 300, 200, 300]], np.float32)  # horizontal through the reference
    assert found_fraction(ref, crossing, shape) == 0.0
    assert np.isnan(found_fraction(np.zeros((0, 4)), ref, shape))


# --------------------------------------------------------------------------- no harm


def test_no_harm_scores_identity_and_a_painted_region() -> None:
    image = np.full((100, 200, 3), 60, np.uint8)
    image[10:30, 10:60] = 230  # 1000 px bright content (white, unsaturated)
    image[50:60, 100:110] = (0, 0, 250)  # bright but saturated: not content
    same = M.no_harm_scores(image.copy(), image)
    assert same["altered_pct"] == 0.0 and same["content_altered_pct"] == 0.0
    assert same["psnr_db"] == M.PSNR_CAP_DB and same["content_pct"] == pytest.approx(5.0)
    out = image.copy()
    out[0:20, 0:40] = 0  # 800 px painted over, of which 10 x 30 = 300 px bright content
    out[90:100, 190:200] += 8  # within the 8-level tolerance: not altered
    s = M.no_harm_scores(out, image)
    assert s["altered_pct"] == pytest.approx(100 * 800 / 20000)
    assert s["content_altered_pct"] == pytest.approx(100 * 300 / 1000)
    assert s["n_content_altered"] == 300 and s["psnr_db"] < 30
    assert np.isnan(M.no_harm_scores(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))
                    ["content_altered_pct"])


def test_evaluate_no_glare_identity_chain_and_a_chain_that_paints_a_known_region(
    tmp_path: Path,
) -> None:
    """``static`` detector = a chain that inpaints exactly a known region (an empty file: changes
    nothing)."""
    from glare_inpaint_ros.core.pipeline import GlareRemover, load_config
    from glare_inpaint_ros.tooling.eval.run import Combo, evaluate_no_glare

    box = np.zeros((48, 64), np.uint8)
    box[10:20, 20:30] = 255  # 100 px
    write_image(tmp_path / "box.png", box)
    write_image(tmp_path / "none.png", np.zeros_like(box))
    frames = tmp_path / "frames"
    frames.mkdir()
    with_box = np.full((48, 64, 3), 60, np.uint8)
    with_box[box > 0] = 230  # white: bright content, exactly the painted region
    write_image(frames / "a.png", with_box)
    other = np.full((48, 64, 3), 60, np.uint8)
    other[25:45, 40:60] = 230  # 400 px of bright content outside the painted region: left alone
    write_image(frames / "b.png", other)
    speck = np.full((48, 64, 3), 60, np.uint8)
    speck[12, 22] = (
        230  # one bright pixel (0.03 % < MIN_CONTENT_PCT), painted over: not in the mean
    )
    write_image(frames / "c.png", speck)
    base = load_config()
    combos = [
        Combo(
            name,
            "telea",
            GlareRemover(
                {
                    **base, "detector.type": "static", "inpainting.backend": "telea",
                    "detector.static.path": str(tmp_path / f"{name}.png"),
                }
            ),
        )
        for name in ("box", "none")
    ]
    section, sheet = evaluate_no_glare(NoGlareSet(frames), combos, progress=False, sheet_rows=1)
    painted, identity = section["combos"]["box/telea"], section["combos"]["none/telea"]
    # the box in a, the speck in c
    assert painted["altered_pct"] == pytest.approx(100 * 101 / (3 * 48 * 64))
    assert painted["content_altered_pct"] == pytest.approx(50.0)  # frames a (100 %) and b (0 %)
    assert painted["content_altered_pct_pooled"] == pytest.approx(100 * 101 / 501)
    assert painted["worst_content_altered_pct"] == pytest.approx(100.0)
    assert painted["n_passthrough"] == 0 and painted["min_psnr_db"] < 30
    assert identity == {
        **identity, "altered_pct": 0.0, "content_altered_pct": 0.0, "min_psnr_db": M.PSNR_CAP_DB,
        "n_passthrough": 3,
    }
    # the first combination is the headline
    assert (section["altered_pct"] == painted["altered_pct"])
    assert len(sheet) == 1 and sheet[0].label.startswith("a")


def test_no_glare_set_reads_input_folders_and_flat_folders(tmp_path: Path) -> None:
    img = render_scene(0, 0, (64, 64)).image
    for sub in ("a/input", "gt", "empty"):
        (tmp_path / sub).mkdir(parents=True)
    write_image(tmp_path / "a" / "input" / "x.png", img)
    write_image(tmp_path / "gt" / "y.png", img)
    assert NoGlareSet(tmp_path / "a").names() == ["x"] and NoGlareSet(tmp_path / "a").name == "a"
    flat = NoGlareSet(tmp_path / "gt")
    assert flat.names() == ["y"] and flat.name == f"{tmp_path.name}_gt"
    assert np.array_equal(flat.load("y"), img) and flat.truth("y") is None
    with pytest.raises(ValueError, match="no images"):
        NoGlareSet(tmp_path / "empty")


# --------------------------------------------------------------------------- eval command


def test_eval_no_glare_and_content_write_the_keys(tmp_path: Path) -> None:
    _need_rapidocr()
    folder = tmp_path / "noglare"
    folder.mkdir()
    for i in (0, 2):  # a road and a car scene, flat folder
        write_image(folder / f"s{i}.png", render_scene(i, 5, (320, 240)).image)
    out = tmp_path / "out"
    assert main(["eval", "--no-glare", str(folder), "--synthetic-content", "4",
                 "--synthetic-labels", "2", "--size", "320x240",
                 "--detectors", "threshold,local_contrast", "--backends", "fast",
                 "--out", str(out), "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["no_harm"]) == {"noglare", "content_clean", "labels_clean"}
    for section in report["no_harm"].values():
        for key in ("altered_pct", "content_altered_pct", "min_psnr_db"):
            assert section[key] is not None
        assert set(section["combos"]) == {"threshold/fast", "local_contrast/fast"}
    content = "content_n4_seed0_320x240"
    assert "detection" in report["datasets"][content]
    for client in ("ocr", "lanes"):
        s = report["clients"][client][content]
        assert {"clean", "glare", "output"} <= set(s) and s["glare"] is not None
    assert report["clients"]["lanes"]["noglare"]["glare"] is None
    labels = report["clients"]["ocr"]["labels_n2_seed0_320x240"]
    assert labels["glare"] is not None and labels["clean"] is not None
    md = (out / "report.md").read_text()
    assert "## What the chain must not do" in md and "| local_contrast/fast |" in md
    assert (out / "contact_sheet.png").is_file()


def test_camera_model_defocuses_and_bleeds_the_stock_into_white_print() -> None:
    """:class:`..synth.camera.Camera`: the blur scales with the frame's width; JPEG's 4:2:0 chroma
    smears a saturated stock into thin white strokes (what makes a letter read as the stock plus
    white light); off, a frame passes as it is. Bad specs are one-line errors."""
    assert Camera.parse("blur=0.8,jpeg=90") == Camera(0.8, 90)
    assert Camera.parse("jpeg=75") == Camera(0.0, 75) and not Camera.parse("none").active
    assert Camera(0.8, 90).tag == "blur0.8_jpeg90" and Camera().tag == ""
    for bad in ("blur=x", "sharpen=2", "jpeg=101", "jpeg=80.5", "blur=-1"):
        with pytest.raises(ValueError, match="camera"):
            Camera.parse(bad)
    image = make_glint_label_sample(38, 0, (640, 480))[2]  # the clean label: "BIO BY" on red
    assert Camera()(image) is image
    white = image.min(axis=2) >= 250
    sat = [cv2.cvtColor(x, cv2.COLOR_BGR2HSV)[:, :, 1][white]
           for x in (image, Camera(0.0, 90)(image))]
    assert np.mean(sat[1]) > np.mean(sat[0]) + 10, [np.mean(x) for x in sat]
    steep = [np.abs(np.diff(x.min(axis=2).astype(int), axis=1)).max()
             for x in (image, Camera(1.0)(image))]
    assert steep[1] < 0.5 * steep[0], steep
    large = cv2.resize(image, (1280, 960))  # (the same optics: twice the px)
    assert np.array_equal(Camera(1.0)(large), cv2.GaussianBlur(large, (0, 0), 2.0))


def test_eval_camera_records_the_rendered_sets_through_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["eval", "--synthetic-labels", "2", "--size", "320x240", "--detectors", "threshold",
            "--backends", "fast", "--clients", "none", "--no-progress"]
    assert main([*args, "--camera", "blur=0.8,jpeg=90", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert "labels_n2_seed0_320x240_blur0.8_jpeg90" in report["datasets"]
    assert report["meta"]["camera"] == "blur0.8_jpeg90"
    folder = next((out / "synthetic_labels").glob("n2_seed0_320x240_blur0.8_jpeg90_*"))
    image, _, clean, _ = make_glint_label_sample(1, 0, (320, 240))
    for sub, frame in (("input", image), ("gt", clean)):
        recorded = cv2.imread(str(folder / sub / "0001.png"), cv2.IMREAD_COLOR)
        assert np.array_equal(recorded, Camera(0.8, 90)(frame)), sub
    with pytest.raises(SystemExit) as usage:
        main([*args, "--camera", "blur=soft", "--out", str(tmp_path / "o")])
    assert usage.value.code == 2
    assert "camera: blur must be a number, got 'soft'" in capsys.readouterr().err


def test_eval_unknown_client_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "n").mkdir()
    write_image(tmp_path / "n" / "a.png", np.zeros((32, 32, 3), np.uint8))
    assert main(["eval", "--no-glare", str(tmp_path / "n"), "--clients", "radar", "--out",
                 str(tmp_path / "o"), "--no-progress"]) == 2
    assert "unknown client 'radar'" in capsys.readouterr().err


def test_clean_beats_glare_for_both_clients_on_the_content_set(ocr: OcrClient) -> None:
    """The glare-over-content set tests something: both clients find less with glare (8 frames)."""
    lanes = LaneClient()
    scores: dict[str, list[tuple[float, float]]] = {"ocr": [], "lanes": []}
    for i in range(8):
        image, _, clean, scene = make_content_sample(i, 0, (480, 360))
        for client in (ocr, lanes):
            ref = client.reference(clean, scene.truth())
            if ref is not None:
                scores[client.name].append(
                    (client.score_against(ref, clean), client.score_against(ref, image))
                )
    for name, pairs in scores.items():
        clean_mean, glare_mean = np.mean(pairs, axis=0)
        assert len(pairs) >= 4, name
        assert clean_mean > glare_mean + 0.1, (name, pairs)


def test_shared_driving_frames_no_harm_and_lanes() -> None:
    folder = SHARED_DATA / "driving_noglare"
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} is missing (../shared/data/driving_noglare)")
    from glare_inpaint_ros.core.pipeline import load_config
    from glare_inpaint_ros.tooling.eval.run import build_combos, evaluate_no_glare

    base = load_config()
    section, sheet = evaluate_no_glare(
        NoGlareSet(folder), build_combos(base, ["threshold"], ["fast"]), clients=[LaneClient()],
        limit=2, sheet_rows=1, progress=False,
    )
    assert section["n_images"] == 2 and section["name"] == "driving_noglare"
    # white/yellow paint, sky, the car: there is bright content
    assert (section["content_pct"] > 0.5)
    assert 0.0 <= section["altered_pct"] <= 100.0 and section["min_psnr_db"] > 20
    lanes = section["clients"]["lanes"]
    assert lanes["n_images"] == 2 and lanes["clean"] == pytest.approx(1.0)
    assert len(sheet) <= 1
