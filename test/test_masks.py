"""Mask operations: speck removal, hole filling, dilation, coverage guard (checked against
labelling)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from glare_inpaint_ros.core.masks import (
    MaskRefiner, clean_components, compare, coverage, dilate, fill_small_holes, in_a_text_row,
    label_boxes, label_quantile, remove_small_components, spot_like, upscale_nearest,
)


def _reference(mask: np.ndarray, min_area: int, max_hole: int) -> np.ndarray:
    """Slow, obviously-correct version with connectedComponentsWithStats."""
    out = mask.copy()
    if min_area > 1:
        n, lab, st, _ = cv2.connectedComponentsWithStats(out, connectivity=8)
        for i in range(1, n):
            if st[i, cv2.CC_STAT_AREA] < min_area:
                out[lab == i] = 0
    if max_hole > 0:
        inv = cv2.bitwise_not(out)
        n, lab, st, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
        h, w = out.shape
        for i in range(1, n):
            x, y, bw, bh, area = st[i]
            if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
                continue
            if area <= max_hole:
                out[lab == i] = 255
    return out


@pytest.mark.parametrize("seed", range(12))
def test_clean_components_matches_labelling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = np.zeros((90, 120), np.uint8)
    for _ in range(rng.integers(1, 8)):
        c = (int(rng.integers(0, 120)), int(rng.integers(0, 90)))
        cv2.ellipse(
            m, c, (int(rng.integers(2, 20)), int(rng.integers(2, 15))), float(rng.uniform(0, 180)),
            0, 360, 255, -1,
        )
        # holes
        cv2.ellipse(m, c, (int(rng.integers(0, 4)), int(rng.integers(0, 4))), 0, 0, 360, 0, -1)
    m[rng.integers(0, 90, 40), rng.integers(0, 120, 40)] = 255  # specks
    m[rng.integers(0, 90, 40), rng.integers(0, 120, 40)] = 0  # pinholes
    min_area, max_hole = int(rng.integers(2, 12)), int(rng.integers(1, 30))
    np.testing.assert_array_equal(
        clean_components(m, min_area, max_hole), _reference(m, min_area, max_hole)
    )


def test_speck_removed_blob_kept_and_hole_filled() -> None:
    m = np.zeros((50, 50), np.uint8)
    m[5, 5] = 255
    m[10:30, 10:30] = 255
    m[18:20, 18:20] = 0
    out = fill_small_holes(remove_small_components(m, 4), 16)
    assert out[5, 5] == 0
    assert out[18:20, 18:20].all() and out[10:30, 10:30].all()
    assert m[5, 5] == 255 and m[18, 18] == 0  # input untouched


def test_border_background_is_not_a_hole() -> None:
    m = np.zeros((20, 20), np.uint8)
    m[:, 5] = 255  # splits off a 5-px wide strip touching the border
    assert fill_small_holes(m, 1000)[:, :5].max() == 0


def test_dilation_grows_by_half_kernel() -> None:
    m = np.zeros((41, 41), np.uint8)
    m[20, 20] = 255
    for shape in ("ellipse", "rect", "cross"):
        d = dilate(m, 7, shape)
        assert d[20, 17] == 255 and d[20, 23] == 255 and d[20, 16] == 0
    assert dilate(m, 0) is m


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (36, 64), (45, 97)])
def test_upscale_nearest_equals_opencv(shape: tuple[int, int]) -> None:
    """Power-of-two factors take the doubling path; any other size is OpenCV's own resize: the
    same pixels either way."""
    h, w = shape
    mask = ((np.random.default_rng(h * w).random(shape) < 0.2) * 255).astype(np.uint8)
    for size in [(2 * w, 2 * h), (4 * w, 4 * h), (8 * w, 8 * h), (3 * w, 3 * h),
                 (2 * w + 1, 2 * h), (2 * w, 4 * h), (w, h)]:
        expected = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(upscale_nearest(mask, size), expected)


def test_refiner_reports_flooding_and_coverage() -> None:
    r = MaskRefiner(**{"max_coverage": 0.1, "dilation.kernel_size": 0, "min_area": 0})
    m = np.zeros((100, 100), np.uint8)
    m[:20, :] = 255
    res = r.refine(m)
    assert res.coverage == pytest.approx(0.2) and res.flooded
    m[:] = 0
    m[:5, :] = 255
    res = r.refine(m)
    assert res.coverage == pytest.approx(coverage(m)) and not res.flooded


@pytest.mark.parametrize(
    "bad",
    [
        {"dilation.kernel_size": -1}, {"dilation.kernel_shape": "star"}, {"max_coverage": 1.5},
        {"min_area": 2.5},
    ],
)
def test_refiner_refuses_invalid_params(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        MaskRefiner(**bad)


def test_refiner_rejects_bad_masks() -> None:
    r = MaskRefiner()
    with pytest.raises(TypeError):
        r.refine(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError):
        r.refine(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        r.refine(np.zeros((0, 4), np.uint8))


def test_spot_like_tells_spots_from_strokes() -> None:
    """Discs and a small square are spots; a line, a ring and an L are strokes; the labelled
    pixels given by the caller give the same answer as the label image alone."""
    img = np.zeros((120, 200), np.uint8)
    cv2.circle(img, (20, 20), 8, 255, -1)           # disc: spot
    cv2.circle(img, (60, 20), 2, 255, -1)           # small disc: spot
    cv2.rectangle(img, (90, 12), (99, 21), 255, -1)  # square: spot
    cv2.line(img, (10, 60), (120, 60), 255, 3)       # lane line / letter stroke
    cv2.circle(img, (160, 40), 20, 255, 2)           # ring (an O)
    cv2.rectangle(img, (10, 90), (60, 94), 255, -1)  # an L
    cv2.rectangle(img, (10, 90), (14, 115), 255, -1)
    n, labels = cv2.connectedComponents(img, connectivity=8, ltype=cv2.CV_32S)
    spot = spot_like(labels, n)
    by_place = {name: bool(spot[labels[y, x]]) for name, (x, y) in {
        "disc": (20, 20), "small": (60, 20), "square": (95, 16), "line": (60, 60),
        "ring": (180, 40), "L": (30, 92)}.items()}
    assert by_place == {"disc": True, "small": True, "square": True, "line": False,
                        "ring": False, "L": False}
    assert not spot[0]
    ys, xs = np.nonzero(labels)
    np.testing.assert_array_equal(spot_like(labels, n, pixels=(ys, xs, labels[ys, xs])), spot)


def test_label_quantile_matches_numpy_per_label() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 400)
    values = rng.normal(0, 1, 400)
    labels[labels == 3] = 4  # label 3 has no sample
    levels = rng.integers(0, 256, 400).astype(np.uint8)  # the integer-sort path
    # float32 with both signs, zeros and ties: the ordered-bits path
    singles = np.round(rng.normal(0, 50, 400)).astype(np.float32) / np.float32(4.0)
    singles[:20] = 0.0
    for vals in (values, levels, singles):
        for q in (0.0, 0.5, 0.75, 1.0):
            out = label_quantile(vals, labels, 6, q)
            for lab in range(6):
                sel = vals[labels == lab]
                if sel.size:
                    assert out[lab] == np.percentile(sel, 100 * q, method="lower")
                else:
                    assert np.isnan(out[lab])


def test_label_boxes_match_the_labelling_statistics() -> None:
    rng = np.random.default_rng(0)
    m = (rng.random((60, 80)) > 0.93).astype(np.uint8) * 255
    m = cv2.dilate(m, None)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    pts = cv2.findNonZero(m).reshape(-1, 2)
    boxes = label_boxes((pts[:, 1], pts[:, 0], labels[pts[:, 1], pts[:, 0]]), n)
    x, y, w, h = (stats[1:, k] for k in range(4))
    assert np.array_equal(boxes[1:], np.stack([y, y + h - 1, x, x + w - 1], axis=1))
    assert boxes[0, 1] == -1 and boxes[0, 3] == -1  # (the background: no pixels)


def _text_boxes(*boxes: tuple[int, int, int, int]) -> np.ndarray:
    """Label boxes (top, bottom, left, right) with an empty label 0 in front."""
    return np.array([(10 ** 9, -1, 10 ** 9, -1), *boxes], np.int64)


def test_in_a_text_row_takes_compact_print_among_letters_only() -> None:
    """An i (5x4 px) and a minus sign (2x5) between letters 10 px tall on one baseline are in a
    row of print, and so are an i beside one letter on its baseline ("in") and the dot above a
    letter or above a compact stem; a spot above the row, beside a single letter off its
    baseline, among letters of scattered baselines or heights (streaks of a wet sheen), or
    taller than the letters is not. A piece found to be print counts as a letter for the others
    (the t of "it" beside a compact i), and so does an upright one (print out of focus)."""
    row = [(20, 29, 10, 15), (20, 29, 20, 25), (22, 29, 30, 34)]  # l, l, x-height letter

    def verdict(letters: list, spot: tuple, others: tuple = ()) -> bool:
        """The spot's verdict among ``letters`` and ``others`` (compact pieces, no letters)."""
        boxes = _text_boxes(*letters, *others, spot)
        is_letter = np.array([False] + [True] * len(letters) + [False] * (len(others) + 1))
        judged = np.zeros(len(boxes), bool)
        judged[-1] = True
        return bool(in_a_text_row(boxes, judged, is_letter)[-1])

    assert verdict(row, (25, 29, 38, 41))  # an i after them
    assert verdict(row, (24, 25, 0, 4))  # a minus sign before them
    assert not verdict(row, (5, 8, 20, 23))  # above the row
    assert verdict(row[:1], (21, 29, 18, 21))  # "li": an i beside one letter, on its baseline
    assert not verdict(row[:1], (21, 26, 18, 21))  # beside it, off its baseline
    assert not verdict(row[:1], (21, 29, 22, 25))  # on its baseline, a letter's height away
    assert not verdict([(20, 29, 10, 15), (14, 24, 20, 25)], (22, 26, 30, 33))  # baselines
    assert not verdict([(20, 29, 10, 15), (12, 29, 20, 25)], (22, 26, 30, 33))  # heights
    assert not verdict(row, (16, 33, 38, 43))  # taller than the letters
    assert not verdict(row, (25, 29, 70, 73))  # far along the row
    assert verdict(row, (16, 18, 21, 24))  # the dot above the second letter
    assert not verdict(row, (10, 12, 21, 24))  # a spot further above it
    stem = (24, 31, 80, 82)  # a short stem, compact: no letter (far along the row)
    assert verdict(row, (19, 21, 80, 82), (stem,))  # the dot of an i whose stem is compact
    assert not verdict(row, (18, 22, 80, 82), (stem,))  # a spot more than half the stem's height
    assert not verdict(row, (19, 21, 80, 82))  # the same dot without the stem
    # "it" after the row, both pieces compact: the i stands in the row, and the t beside the i
    # (too far from the letters for a row or a pair of its own) is print as the i is.
    boxes = _text_boxes(*row, (22, 29, 38, 41), (20, 29, 44, 49))
    judged = np.array([False] * 4 + [True] * 2)
    assert in_a_text_row(boxes, judged, ~judged & (np.arange(len(boxes)) > 0))[-2:].all()
    assert not in_a_text_row(boxes[[0, 1, 2, 3, 5]], judged[[0, 1, 2, 3, 5]],
                             np.array([False, True, True, True, False]))[-1]  # the t alone
    # Print out of focus: "it" alone, both pieces compact (no letters at all). An upright piece
    # (1.5 times as tall as wide, 8 px or more) counts as a letter for the other, never for
    # itself; two round spots side by side on one baseline (glints) are no print.
    none = np.zeros(3, bool)
    both = np.array([False, True, True])
    assert in_a_text_row(_text_boxes((20, 29, 10, 12), (21, 29, 15, 19)), both, none)[1:].all()
    assert not in_a_text_row(_text_boxes((20, 27, 10, 17), (20, 27, 20, 27)), both, none).any()
    assert not in_a_text_row(_text_boxes((20, 29, 10, 12)), np.array([False, True]),
                             np.zeros(2, bool)).any()


def test_in_a_text_row_takes_a_pair_across_a_sign() -> None:
    """The print "i-1" out of focus (the white pieces that
    :func:`..detectors.dichromatic.print_pieces` finds on a 1280x960 label, halved): the i's
    stem upright, the 1 taller, the minus sign between them short. The minus stands in the row
    of the two; the 1 has one letter on its baseline, too far for a pair but for the sign
    between them, which bridges the gap. Without the sign, or with it above the row, the 1 is
    no print."""
    stem, minus, one = (21, 43, 21, 29), (28, 34, 36, 51), (15, 46, 59, 83)
    judged = np.array([False, False, True, True])
    letters = np.array([False, True, False, True])
    assert in_a_text_row(_text_boxes(stem, minus, one), judged, letters)[2:].all()
    assert not in_a_text_row(_text_boxes(stem, one), judged[[0, 1, 3]], letters[[0, 1, 3]])[-1]
    high = (2, 8, 36, 51)  # a dash above the row: no sign between the two
    assert not in_a_text_row(_text_boxes(stem, high, one), judged, letters)[-1]


@pytest.mark.parametrize("shape", [(1, 1), (4, 1), (1, 4), (3, 5)])
def test_compare_keeps_the_shape_of_a_one_pixel_array(shape) -> None:
    """``masks.compare`` is ``cv2.compare`` against a scalar, also for a 1x1 array (which OpenCV
    takes for a scalar itself, returning 4x1)."""
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    for op, ref in ((cv2.CMP_GT, a > 0), (cv2.CMP_LE, a <= 1), (cv2.CMP_EQ, a == 0)):
        out = compare(a, 0 if op != cv2.CMP_LE else 1, op)
        assert out.shape == shape and out.dtype == np.uint8
        assert np.array_equal(out, np.where(ref, 255, 0))
