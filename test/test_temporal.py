"""Temporal mask hysteresis, temporal fill and the temporal flicker metric (core/temporal/,
eval/sequences.py)."""

from __future__ import annotations

import math
import subprocess
import sys

import cv2
import numpy as np
import pytest

from helpers import CLASSIC_CHAIN, sliding_sequence, texture
from glare_inpaint_ros.core.inpainting import INPAINTERS
from glare_inpaint_ros.core.pipeline import SCHEMA, GlareRemover
from glare_inpaint_ros.core.inpainting.roi import component_rects
from glare_inpaint_ros.core.temporal import (
    OUT_OF_ORDER, MotionTracker, TemporalFill, TemporalMask, area_resize,
)
from glare_inpaint_ros.core.temporal.pixels import blend


def _tm(**kw) -> TemporalMask:
    return TemporalMask(**{"motion_compensation": False, **kw})


def _run_pixel(tm: TemporalMask, detections: list[bool], stamps: list[float]) -> list[bool]:
    """Feed a 4x4 mask whose pixel (1, 1) follows ``detections`` (a new stream: its own tracker,
    time only); return that pixel's output."""
    tracker = MotionTracker()
    out = []
    for d, t in zip(detections, stamps):
        m = np.zeros((4, 4), np.uint8)
        m[1, 1] = 255 if d else 0
        out.append(bool(tm.update(m, tracker.update(None, t))[1, 1]))
    return out


def test_hysteresis_enter_and_exit_counts() -> None:
    # 10 Hz: window 0.5 s -> M = 5 frames, N = ceil(0.6 * 5) = 3; exit 0.3 s -> K = 3 misses.
    window_s, frac, exit_s, rate = 0.5, 0.6, 0.3, 10.0
    m_frames, k_frames = round(window_s * rate), round(exit_s * rate)
    n_frames = math.ceil(frac * m_frames)
    tm = _tm(window_s=window_s, enter_fraction=frac, exit_s=exit_s)
    quiet, on, off = 10, 8, 6
    det = [False] * quiet + [True] * on + [False] * off
    out = _run_pixel(tm, det, [i / rate for i in range(len(det))])
    assert tm.counts() == (n_frames, m_frames, k_frames)
    first_in = out.index(True)
    assert first_in == quiet + n_frames - 1  # enters on the N-th consecutive detection
    last_in = len(out) - 1 - out[::-1].index(True)
    assert last_in == quiet + on + k_frames - 2  # still in after K-1 misses, out after K
    assert not out[quiet + on + k_frames - 1]
    # Intermittent detection (every other frame) reaches N of M and then never leaves (gaps < K).
    tm.reset()
    det = [False] * quiet + [i % 2 == 0 for i in range(12)]
    out = _run_pixel(tm, det, [i / rate for i in range(len(det))])
    assert out[quiet + 4] and not out[quiet + 3]  # 3rd hit (frame +4) makes 3 of the last 5
    assert all(out[quiet + 4:])


def _on_off_times(rate: float) -> tuple[float, float]:
    tm = _tm(window_s=0.5, enter_fraction=0.6, exit_s=0.3)
    stamps = [i / rate for i in range(int(3.0 * rate))]
    det = [1.0 <= t < 2.0 for t in stamps]
    out = _run_pixel(tm, det, stamps)
    t_on = stamps[out.index(True)]
    t_off = stamps[len(out) - out[::-1].index(True)]
    return t_on, t_off


def test_same_behaviour_at_10_and_60_hz() -> None:
    on10, off10 = _on_off_times(10.0)
    on60, off60 = _on_off_times(60.0)
    # Same time constants: the switching times agree to within one frame of the slower stream.
    assert abs(on10 - on60) <= 0.1 + 1e-9
    assert abs(off10 - off60) <= 0.1 + 1e-9
    assert 1.0 < on60 < 1.5 and 2.0 < off60 < 2.5


def test_dropped_frames_do_not_change_the_mask_of_a_steady_highlight() -> None:
    rate = 30.0
    stamps = [i / rate for i in range(40)]
    dropped = set(range(15, 21))  # 0.2 s of missing frames (< max_gap_s = 0.5)
    det = [i >= 5 for i in range(40)]
    full = _run_pixel(_tm(), det, stamps)
    kept = [i for i in range(40) if i not in dropped]
    tm = _tm()
    with_gap = _run_pixel(tm, [det[i] for i in kept], [stamps[i] for i in kept])
    assert with_gap == [full[i] for i in kept]
    # A pixel detected right before and after the gap stays in (the gap is not evidence of absence
    # beyond exit_s worth of time: 0.2 s < exit_s = 0.3 s).
    assert with_gap[kept.index(21)]


def test_out_of_order_frame_is_ignored_for_the_state() -> None:
    rng = np.random.default_rng(1)
    masks = [np.where(rng.random((8, 8)) < 0.4, 255, 0).astype(np.uint8) for _ in range(8)]
    stamps = [0.1 * i for i in range(8)]
    ref, ref_tracker = _tm(), MotionTracker()
    expected = [ref.update(m, ref_tracker.update(None, t)) for m, t in zip(masks, stamps)]
    tm, tracker = _tm(), MotionTracker()
    for i, (m, t) in enumerate(zip(masks, stamps)):
        np.testing.assert_array_equal(tm.update(m, tracker.update(None, t)), expected[i])
        if i == 4:  # a late frame (older stamp, within max_gap_s): per-frame mask, state untouched
            late = np.full((8, 8), 255, np.uint8)
            np.testing.assert_array_equal(tm.update(late, tracker.update(None, t - 0.05)), late)
    tracker = MotionTracker()
    tracker.update(None, 1.0)
    assert tracker.update(None, 0.9).event == OUT_OF_ORDER


def _held_mask_after(event_image: np.ndarray, event_stamp: float, image: np.ndarray) -> np.ndarray:
    """Hold a detected square for 10 frames, then show ``event_image`` at ``event_stamp`` with no
    detection."""
    tm = TemporalMask(window_s=0.3, enter_fraction=0.5, exit_s=2.0, motion_compensation=False)
    tracker = MotionTracker()
    m = np.zeros(image.shape[:2], np.uint8)
    m[40:60, 40:60] = 255
    for i in range(10):
        tm.update(m, tracker.update(image, 0.1 * i))
    return tm.update(np.zeros_like(m), tracker.update(event_image, event_stamp))


def test_reset_on_scene_cut_backwards_jump_and_gap() -> None:
    a = texture(120, 160, seed=1)
    b = (texture(120, 160, seed=9) * 0.3).astype(np.uint8)  # a different, darker scene
    assert _held_mask_after(a, 1.0, a).any()  # same scene: still held (exit_s = 2 s)
    assert not _held_mask_after(b, 1.0, a).any()  # scene cut: restarted
    assert not _held_mask_after(a, -10.0, a).any()  # time jump backwards: restarted
    assert not _held_mask_after(a, 5.0, a).any()  # gap > max_gap_s: restarted
    tracker = MotionTracker()
    tracker.update(a, 0.0)
    assert tracker.update(b, 0.1).event == "reset_scene_cut"
    assert tracker.update(b, -20.0).event == "reset_backwards"
    assert tracker.update(b, 10.0).event == "reset_gap"


def test_temporal_fill_reproduces_background_seen_before() -> None:
    frames, cleans, mask = sliding_sequence(14, 3)
    telea = INPAINTERS.get("telea")()
    tf, tracker = TemporalFill(), MotionTracker()
    hole = mask > 0
    err_t = err_s = 0.0
    for i, img in enumerate(frames):
        spatial = telea.inpaint(img, mask)
        out = tf.update(img, mask, spatial, tracker.update(img, i / 30.0))
        np.testing.assert_array_equal(out[~hole], img[~hole])  # outside the mask: bit-identical
        if i >= 12:  # the background under the square slid in from the right edge by now
            err_t += float(np.abs(out[hole].astype(float) - cleans[i][hole]).mean())
            err_s += float(np.abs(spatial[hole].astype(float) - cleans[i][hole]).mean())
    assert (tf.last_source[hole] == 1).mean() > 0.8
    assert err_t < 0.4 * err_s, (err_t, err_s)


def test_temporal_fill_falls_back_to_spatial_where_never_seen() -> None:
    telea = INPAINTERS.get("telea")()
    frames, _, mask = sliding_sequence(3, 3)
    tf, tracker = TemporalFill(smoothing_s=0.0), MotionTracker()
    spatial0 = telea.inpaint(frames[0], mask)
    # nothing seen yet
    np.testing.assert_array_equal(
        tf.update(frames[0], mask, spatial0, tracker.update(frames[0], 0.0)), spatial0
    )
    # The glare moves WITH the surface (the whole frame, square included, slides): the background
    # under it was never visible, so the inner part of the hole is the spatial fill.
    tex = texture(120, 200, seed=3)
    tf.reset()
    tracker.reset()
    inner = np.zeros((120, 160), bool)
    for i in range(5):
        img = np.ascontiguousarray(tex[:, 2 * i: 2 * i + 160]).copy()
        img[50:74, 60 - 2 * i: 84 - 2 * i] = 255
        m = np.zeros((120, 160), np.uint8)
        m[46:78, 56 - 2 * i: 88 - 2 * i] = 255
        spatial = telea.inpaint(img, m)
        out = tf.update(img, m, spatial, tracker.update(img, i / 30.0))
        inner[:] = False
        inner[52:72, 62 - 2 * i: 82 - 2 * i] = True
        np.testing.assert_array_equal(out[inner], spatial[inner])
    # Unreliable flow (the previous frame shows another texture, below the scene-cut threshold):
    tf.reset()
    tracker.reset()
    a, b = texture(120, 160, seed=4), texture(120, 160, seed=5)
    tf.update(a, mask, telea.inpaint(a, mask), tracker.update(a, 0.0))
    spatial_b = telea.inpaint(b, mask)
    np.testing.assert_array_equal(
        tf.update(b, mask, spatial_b, tracker.update(b, 0.033)), spatial_b
    )


def test_bad_input_is_rejected() -> None:
    tf = TemporalFill()
    img = np.zeros((20, 30, 3), np.uint8)
    motion = MotionTracker().update(img, 0.0)
    with pytest.raises(ValueError, match="does not match"):
        tf.update(img, np.zeros((20, 31), np.uint8), img, motion)
    with pytest.raises(ValueError, match="spatial"):
        tf.update(img, np.zeros((20, 30), np.uint8), np.zeros((20, 30, 4), np.uint8), motion)
    with pytest.raises(ValueError, match="does not match"):
        TemporalMask().update(np.zeros((20, 31), np.uint8), motion)
    with pytest.raises(ValueError, match="enter_fraction"):
        TemporalMask(enter_fraction=1.5)
    with pytest.raises(ValueError, match="finite"):
        MotionTracker().update(img, float("nan"))


def test_pipeline_integration_defaults_and_reset() -> None:
    assert (
        "temporal.mask.window_s" in SCHEMA
        and "temporal.fill.max_age_s" in SCHEMA
        and "temporal.max_gap_s" in SCHEMA
    )
    frames, cleans, _ = sliding_sequence(4, 3)
    fast = INPAINTERS.get("fast")()
    # Independent expectation of the default chain on these frames: the detector finds exactly the
    # saturated square (the texture stays far below its threshold), the refiner dilates it with the
    # default 7 px ellipse, and the frame is the fast backend's fill of that mask.
    square = np.zeros(frames[0].shape[:2], np.uint8)
    square[50:74, 60:84] = 255
    expected_mask = cv2.dilate(square, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))

    # Off by default: per-frame, whatever stream came before (stamps are ignored).
    plain = GlareRemover(CLASSIC_CHAIN)  # the sliding square is hard-edged and saturated
    for i in (1, 2, 3):
        plain.process(frames[i], stamp=i / 30.0)
    res = plain.process(frames[0], stamp=4 / 30.0)
    assert "temporal_mask" not in res.timings_ms and "temporal_fill" not in res.timings_ms
    np.testing.assert_array_equal(res.mask_raw, square)
    np.testing.assert_array_equal(res.mask, expected_mask)
    np.testing.assert_array_equal(res.image, fast.inpaint(frames[0], expected_mask))

    g = GlareRemover(
        {**CLASSIC_CHAIN, "temporal.mask.enabled": True, "temporal.fill.enabled": True}
    )
    outs = [g.process(f, stamp=i / 30.0) for i, f in enumerate(frames)]
    assert {"temporal_mask", "temporal_fill"} <= set(outs[-1].timings_ms)
    for f, r in zip(frames, outs):
        sel = r.mask == 0
        np.testing.assert_array_equal(r.image[sel], f[sel])
    # By now the temporal fill reuses background seen in earlier frames: not the spatial fill.
    assert not np.array_equal(outs[-1].image, fast.inpaint(frames[3], outs[-1].mask))
    # reset() alone restarts the state: the stream's clock continues (no gap, no jump back) and
    # the frame is the one just seen, yet nothing of the history is used.
    g.reset()
    first = g.process(frames[3], stamp=4 / 30.0)
    np.testing.assert_array_equal(first.mask, expected_mask)
    np.testing.assert_array_equal(first.image, fast.inpaint(frames[3], expected_mask))
    # ... and the mask hysteresis forgot the square: a glare-free frame right after a reset has an
    # empty mask (without the reset it would stay masked for temporal.mask.exit_s) and is
    # unchanged.
    g.reset()
    clean = g.process(cleans[3], stamp=5 / 30.0)
    assert not clean.mask.any() and clean.passthrough == "empty_mask"
    np.testing.assert_array_equal(clean.image, cleans[3])
    # The split-node entry point: an unstamped inpaint is the spatial backend alone.
    mask = outs[-1].mask
    np.testing.assert_array_equal(g.inpaint(frames[1], mask), fast.inpaint(frames[1], mask))
    g.update({"temporal.fill.enabled": False})
    assert g.temporal.fill is None and g.temporal.mask is not None


def test_flicker_metric_lower_for_temporal_on_short_sequence() -> None:
    from glare_inpaint_ros.tooling.eval.sequences import (
        METHODS, SyntheticSequence, flicker, run_sequence,
    )

    seq = SyntheticSequence(0, seed=0, size=(160, 120), frames=20)
    fr = seq.frame(3)
    assert fr.image.shape == (120, 160, 3) and fr.mask.any()
    # Exact known motion: the clean frame warped from the previous one matches closely.
    assert flicker(fr.clean, seq.frame(2).clean, fr.back, np.full((120, 160), 255, np.uint8)) < 6.0
    per_frame = run_sequence(GlareRemover(METHODS["telea"]), seq)
    temporal = run_sequence(GlareRemover(METHODS["temporal+telea"]), seq)
    f_pf, f_t = np.nanmean(per_frame.flicker), np.nanmean(temporal.flicker)
    assert f_t < 0.8 * f_pf, (f_t, f_pf)
    with pytest.raises(ValueError, match="does not match"):
        flicker(fr.clean, fr.clean[:, :100], fr.back, fr.mask)


@pytest.mark.parametrize("dtype,channels", [(np.uint8, 3), (np.uint8, 1), (np.uint16, 3)])
def test_blend_pixel_lists(dtype: type, channels: int) -> None:
    """The blend is ``weight * a + (1 - weight) * b`` rounded: exactly b where weight is 0, a
    where 1."""
    rng = np.random.default_rng(3)
    hi = np.iinfo(dtype).max
    n = 40000  # wider than cv2.remap's map limit: the blend has no such limit
    a = rng.integers(0, hi + 1, (n, channels)).astype(dtype)
    b = rng.integers(0, hi + 1, (n, channels)).astype(dtype)
    w = rng.random(n).astype(np.float32)
    w[: n // 4] = 0.0
    w[n // 4: n // 2] = 1.0
    out = blend(a, b, w)
    assert out.shape == a.shape and out.dtype == a.dtype
    assert np.array_equal(out[: n // 4], b[: n // 4])
    assert np.array_equal(out[n // 4: n // 2], a[n // 4: n // 2])
    ref = w[:, None] * a.astype(np.float64) + (1 - w[:, None]) * b.astype(np.float64)
    assert np.abs(out.astype(np.float64) - ref).max() <= 0.51  # rounding (float32 arithmetic)


def test_since_counter_matches_bit_history() -> None:
    """With enter_fraction 0 the uint8 since-counter state gives the same masks as the bit
    history."""
    rng = np.random.default_rng(5)
    fast = TemporalMask(window_s=0.2, enter_fraction=0.0, exit_s=0.3)
    # A tiny positive fraction still gives N = 1 (any detection in the window) via the bit history.
    bits = TemporalMask(window_s=0.2, enter_fraction=1e-6, exit_s=0.3)
    tracker = MotionTracker()  # one stream, both stages (time only)
    t = 0.0
    for i in range(60):
        t += float(rng.choice([1 / 30, 1 / 15, 1 / 60]))
        mask = np.where(rng.random((12, 16)) < 0.15, 255, 0).astype(np.uint8)
        motion = tracker.update(None, t)
        assert np.array_equal(fast.update(mask, motion), bits.update(mask, motion)), i


def test_reuse_spatial_fills_in_place_and_never_writes_the_input() -> None:
    frames, _, mask = sliding_sequence(6, 3)
    telea = INPAINTERS.get("telea")()
    copy_tf, reuse_tf, alias_tf = TemporalFill(), TemporalFill(), TemporalFill()
    tracker = MotionTracker()  # the same stream for the three
    for i, img in enumerate(frames):
        before = img.copy()
        spatial = telea.inpaint(img, mask)
        motion = tracker.update(img, i / 30.0)
        expected = copy_tf.update(img, mask, spatial.copy(), motion)
        out = reuse_tf.update(img, mask, spatial, motion, reuse_spatial=True)
        assert out is spatial  # filled in place: no full-frame copy
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(img, before)
        # the input passed as its own "spatial" fill: reuse falls back to a copy, input untouched
        same = alias_tf.update(img, mask, img, motion, reuse_spatial=True)
        assert same is not img
        np.testing.assert_array_equal(img, before)


def test_shared_rects_give_the_same_fill_and_source_map() -> None:
    """The pipeline computes the mask's component rects once and hands them to the inpainter
    and the temporal fill: the result must equal each stage computing its own boxes."""
    frames, _, mask = sliding_sequence(8, 3)
    mask = mask.copy()
    mask[5:9, 5:12] = 255  # a second hole near the frame corner (clipped margins)
    fast = INPAINTERS.get("fast")()
    own, shared, tracker = TemporalFill(), TemporalFill(), MotionTracker()
    assert own.last_source is None
    for i, img in enumerate(frames):
        rects = component_rects(mask)
        spatial_shared = fast.inpaint(img, mask, rects=rects)
        spatial_own = fast.inpaint(img, mask)
        np.testing.assert_array_equal(spatial_shared, spatial_own)
        motion = tracker.update(img, i / 30.0)
        a = own.update(img, mask, spatial_own, motion)
        b = shared.update(img, mask, spatial_shared, motion, rects=rects)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(own.last_source, shared.last_source)
        src = shared.last_source
        assert src.shape == mask.shape and not src[mask == 0].any()  # codes only inside the mask
    assert (shared.last_source[mask > 0] == 1).any()  # the temporal fill ran


@pytest.mark.parametrize(
    "shape,size",
    [
        ((720, 1280), (320, 180)), ((480, 640), (160, 120)), ((481, 640), (160, 120)),
        ((100, 60), (33, 17)), ((64, 64), (64, 64)),
    ],
)
def test_area_resize_matches_inter_area(shape: tuple[int, int], size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random(shape) * 255).astype(np.uint8), (0, 0), 1.0)
    got = area_resize(img, size)
    want = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    assert got.shape == want.shape and got.dtype == np.uint8
    halvings = (
        int(math.log2(shape[1] // size[0])) if shape[1] % size[0] == 0 and shape[0] % 2 == 0 else 0
    )
    assert int(np.abs(got.astype(int) - want).max()) <= max(1, halvings)


@pytest.mark.parametrize("fps", [10.0, 30.0, 60.0])
def test_fill_smoothing_is_a_time_constant(fps: float) -> None:
    """Where the background was never seen, the fill follows the spatial fill with the same
    exponential time constant (``smoothing_s``, seconds) at any frame rate."""
    tau = 0.2
    img = texture(120, 160, seed=7)
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[50:70, 60:90] = 255  # a static highlight: the background under it is never observed
    tf, tracker = TemporalFill(smoothing_s=tau), MotionTracker()
    a, b = 60, 200
    t = 0.0
    values = []
    while t < 0.6 + 1e-9:
        spatial = img.copy()
        spatial[mask > 0] = a if t < 0.1 - 1e-9 else b  # a step of the spatial guess at 0.1 s
        out = tf.update(img, mask, spatial, tracker.update(img, t))
        values.append((t, float(out[55:65, 70:80].mean())))
        t += 1.0 / fps
    t_end, v_end = values[-1]
    t_step = min(t for t, _ in values if t >= 0.1 - 1e-9)
    dt = 1.0 / fps
    # Discrete exponential smoothing: every frame from the step on moves the fill by
    # a = 1 - exp(-dt / tau) of the way to the new value, i.e. exp(-elapsed / tau) remains.
    expected = b + (a - b) * math.exp(-(t_end - t_step + dt) / tau)
    assert abs(v_end - expected) <= 3.0, (fps, v_end, expected)
    # The same curve at every rate: exp(-0.5 / 0.2) = 8 % of the step is left 0.5 s later (+- one
    # frame).
    left = (b - v_end) / (b - a)
    assert math.exp(-(0.5 + dt) / tau) - 0.03 <= left <= math.exp(-(0.5 - dt) / tau) + 0.03, (
        fps, left,
    )
    assert (tf.last_source[mask > 0] == 2).all()  # smoothed, never "observed"


@pytest.mark.parametrize("enter_fraction", [0.0, 1e-6])  # packed uint8 state / uint32 bit history
def test_motion_compensated_mask_follows_a_moving_highlight(enter_fraction: float) -> None:
    """A highlight moving with the surface, detected only every other frame: with motion
    compensation the held mask sits on the highlight's *current* position; without it, the held
    mask is the old position (the leading edge is missed)."""
    tex = texture(240, 480, seed=9)
    shift, side = 4, 24

    def run(mc: bool) -> list[float]:
        tm = TemporalMask(
            window_s=0.2, enter_fraction=enter_fraction, exit_s=0.3, motion_compensation=mc
        )
        tracker = MotionTracker()
        cover = []
        for i in range(12):
            img = np.ascontiguousarray(tex[:, shift * i: shift * i + 320]).copy()
            x0 = 200 - shift * i  # fixed on the surface, which slides left
            img[100:100 + side, x0:x0 + side] = 250
            m = np.zeros(img.shape[:2], np.uint8)
            if i % 2 == 0:
                m[100:100 + side, x0:x0 + side] = 255
            out = tm.update(m, tracker.update(img, i / 30.0))
            if i % 2 == 1 and i > 2:  # held frames
                cover.append(float((out[100:100 + side, x0:x0 + side] > 0).mean()))
                if mc:
                    assert cv2.countNonZero(out) <= 1.2 * side * side  # no trail behind it
        return cover

    with_mc, without = run(True), run(False)
    assert min(with_mc) >= 0.95, with_mc
    assert max(without) <= 0.9, without


def test_fill_frame_is_the_tail_of_process() -> None:
    """``process`` = detect + refine + ``fill_frame`` (the inpainting node's step), stamps
    included; an empty mask still records the frame for the temporal fill."""
    frames, cleans, _ = sliding_sequence(8, 3)
    cfg = {**CLASSIC_CHAIN, "temporal.mask.enabled": True, "temporal.fill.enabled": True}
    whole, split = GlareRemover(cfg), GlareRemover(cfg)
    for i, img in enumerate(frames):
        res = whole.process(img, stamp=i / 30.0)
        refined = split.refine(split.detect(img))
        part = split.fill_frame(img, refined.mask, i / 30.0)
        np.testing.assert_array_equal(res.image, part.image)
        np.testing.assert_array_equal(res.mask, part.mask)
        assert (
            part.coverage == res.coverage > 0
            and part.passthrough is None
            and part.mask_raw is None
        )
        assert set(part.timings_ms) == {"temporal_mask", "inpaint", "temporal_fill"}
        assert part.temporal_event == res.temporal_event == ("first" if i == 0 else None)
        assert part.temporal_reused == res.temporal_reused
    assert part.temporal_reused > 0.3
    # After a gap (restart), a glare-free frame has an empty mask: nothing to fill, but the frame
    # is
    # recorded, so the next frame fills its highlight from that frame's background.
    empty = np.zeros(frames[0].shape[:2], np.uint8)
    part = split.fill_frame(cleans[6], empty, 10.0)
    assert (
        part.passthrough == "empty_mask"
        and part.image is cleans[6]
        and part.coverage == 0.0
        and not part.mask.any()
    )
    assert part.temporal_event == "reset_gap" and math.isnan(part.temporal_reused)
    assert split.temporal.fill.reused_fraction == 0.0
    part = split.fill_frame(frames[7], split.refine(split.detect(frames[7])).mask, 10.0 + 1 / 30.0)
    assert part.passthrough is None and part.temporal_reused > 0.8


def test_mono_hxwx1_frames_keep_their_shape_through_the_temporal_fill() -> None:
    """An ``HxWx1`` frame comes out ``HxWx1`` with the temporal fill on, as without it (the fill
    returned ``HxW``)."""
    frames, _, _ = sliding_sequence(6, 3)
    for cfg in ({}, {"temporal.fill.enabled": True}):
        g = GlareRemover({**CLASSIC_CHAIN, **cfg})
        for i, f in enumerate(frames):
            img = np.ascontiguousarray(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)[:, :, None])
            res = g.process(img, stamp=i / 30.0)
            assert res.image.shape == img.shape and res.image.dtype == img.dtype, cfg
            assert np.array_equal(res.image[res.mask == 0], img[res.mask == 0])
        if cfg:
            assert res.temporal_reused > 0


def test_frames_too_small_for_dis_get_their_flow_from_farneback() -> None:
    """Frames under 32 px on a side get Farneback's flow: OpenCV's DIS raises on them (8 x 8)
    and kills the process on some (a segfault at 20 x 320). Run in a child process, so a crash
    fails this test instead of ending the suite."""
    code = """
import numpy as np
from glare_inpaint_ros.core.pipeline import GlareRemover
for h, w in ((20, 320), (8, 8), (8, 64), (31, 200)):
    g = GlareRemover({"detector.type": "threshold", "inpainting.backend": "fast",
                      "temporal.fill.enabled": True, "temporal.mask.enabled": True})
    rng = np.random.default_rng(0)
    tex = (rng.random((h, w + 40)) * 150 + 40).astype(np.uint8)
    for i in range(4):
        img = np.repeat(tex[:, 3 * i:3 * i + w, None], 3, axis=2)
        img[h // 2, w // 2] = 255
        res = g.process(img, stamp=i / 30.0)
        assert res.image.shape == img.shape, (h, w)
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode,
                                                                  proc.stderr[-2000:])


def test_a_hole_within_one_flow_block() -> None:
    """A one-pixel highlight with a 1-px ring (its box inside one 4 x 4 block of the flow's
    quarter resolution) is filled from the earlier frames (the block's mask came out 4x1 from
    OpenCV's comparison, which takes a 1x1 array for a scalar, and raised)."""
    rng = np.random.default_rng(0)
    tex = cv2.GaussianBlur(rng.random((256, 400)) * 150 + 40, (0, 0), 2).astype(np.uint8)
    g = GlareRemover({**CLASSIC_CHAIN, "temporal.fill.enabled": True,
                      "temporal.fill.ring_px": 1, "temporal.fill.feather_px": 0,
                      "mask.dilation.kernel_size": 0, "mask.min_area": 0})
    for i in range(4):
        img = np.repeat(tex[:, 2 * i:2 * i + 256, None], 3, axis=2)
        img[101, 101] = 255
        res = g.process(img, stamp=i / 30.0)
        assert np.count_nonzero(res.mask) == 1 and res.passthrough is None
    assert res.temporal_reused == 1.0
