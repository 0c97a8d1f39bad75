"""Sheen growth (``core/sheen.py``, ``inpainting.separation.sheen_px``): the mask grows from a
detected highlight core into the faint specular falloff around it, on the highlight's own
coloured material only. And the separation's fringe (``inpainting.separation.fringe_px``): the
falloff within reach of the detected mask is separated (capped, fading), never filled, and never
counts as evidence that a clipped region is a highlight.

Scenes are rendered with a known additive specular layer, so the expectations come from the
rendering: the grown mask must cover the falloff the detector missed, and stop at achromatic
content and at another material beside the highlight.
"""

from __future__ import annotations

import cv2
import numpy as np

from glare_inpaint_ros.core import GlareRemover
from glare_inpaint_ros.core.dichromatic import fit_diffuse_model
from glare_inpaint_ros.core.sheen import grow_into_sheen

H, W = 240, 320
RED = (40.0, 50.0, 190.0)  # BGR, saturation ~0.79


def lobe(cx: float, cy: float, sigma: float, peak: float) -> np.ndarray:
    """A broad additive white highlight (float32 HxW, levels)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return peak * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))


def red_object(spec: np.ndarray, seed: int = 0) -> np.ndarray:
    """A textured red surface with ``spec`` added (uint8 BGR)."""
    rng = np.random.default_rng(seed)
    base = np.empty((H, W, 3), np.float32)
    base[:] = RED
    base *= 1.0 + rng.normal(0, 0.03, (H, W, 1)).astype(np.float32)
    return np.clip(base + spec[:, :, None] + 0.5, 0, 255).astype(np.uint8)


def core_mask(spec: np.ndarray, level: float) -> np.ndarray:
    """What a detector found: the lobe's core above ``level``."""
    return np.where(spec >= level, 255, 0).astype(np.uint8)


def test_the_mask_grows_over_the_falloff_and_the_separation_removes_it() -> None:
    spec = lobe(160, 120, 22.0, 110.0)
    image = red_object(spec)
    clean = red_object(np.zeros_like(spec))
    core = core_mask(spec, 50.0)
    model = fit_diffuse_model(image, 6)
    grown = grow_into_sheen(image, core, model, level=4.0, reach_px=48)
    falloff = (spec >= 8) & (core == 0)
    assert np.count_nonzero(grown[falloff]) >= 0.8 * np.count_nonzero(falloff)
    assert np.array_equal(grown[core > 0], core[core > 0])  # nothing of the core is lost
    assert not grown[spec < 1].any()  # no growth where there is no sheen
    # Through the chain's inpainting stage: the halo is separated, not left (nor painted).
    # (the fringe off: it would separate the near falloff too)
    on = GlareRemover({"inpainting.separation.sheen_px": 48, "inpainting.separation.fringe_px": 0},
                      stages=("inpainting", "temporal"))
    off = GlareRemover({"inpainting.separation.sheen_px": 0, "inpainting.separation.fringe_px": 0},
                       stages=("inpainting", "temporal"))
    err = {}
    for name, remover in (("on", on), ("off", off)):
        result = remover.fill_frame(image, core)
        err[name] = np.abs(result.image.astype(np.float32) - clean)[falloff].mean()
    reported = on.fill_frame(image, core).mask  # the detected core and what changed around it
    assert not (reported > grown).any()
    assert np.count_nonzero(reported[falloff]) >= 0.8 * np.count_nonzero(falloff)
    assert err["on"] < 0.4 * err["off"], err


def test_the_growth_stops_at_another_material_and_at_achromatic_content() -> None:
    spec = lobe(160, 120, 22.0, 110.0)
    image = red_object(spec)
    # A pale-yellow print stripe (another, less saturated material) and a white letter stroke
    # right next to the highlight, inside the reach.
    image[60:180, 196:204] = (150, 215, 235)
    image[60:180, 118:122] = (235, 235, 235)
    core = core_mask(spec, 50.0)
    model = fit_diffuse_model(image, 6)
    grown = grow_into_sheen(image, core, model, level=4.0, reach_px=48)
    assert grown.any() and np.count_nonzero(grown) > np.count_nonzero(core)
    assert not grown[60:180, 196:204].any()
    assert not grown[60:180, 118:122].any()
    # The sheen also lies over a blue print beside the highlight: another hue, left alone
    # (colour alone cannot say whether the print is glossy too).
    blue = np.zeros((H, W), bool)
    blue[:, 185:] = True
    image = red_object(spec)
    image[blue] = np.clip(np.array([190.0, 80.0, 40.0]) + spec[blue][:, None] + 0.5, 0,
                          255).astype(np.uint8)
    core = np.where(blue, 0, core_mask(spec, 50.0)).astype(np.uint8)
    grown = grow_into_sheen(image, core, fit_diffuse_model(image, 6), level=4.0, reach_px=48)
    assert np.count_nonzero(grown[~blue]) > np.count_nonzero(core)
    assert not grown[blue].any()
    # A grey (achromatic) surface never grows, whatever its highlight.
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert np.array_equal(
        grow_into_sheen(grey, core, fit_diffuse_model(grey, 6), level=4.0, reach_px=48), core)


def test_reach_and_resolution() -> None:
    spec = lobe(160, 120, 30.0, 110.0)
    image = red_object(spec)
    core = core_mask(spec, 60.0)
    model = fit_diffuse_model(image, 6)
    assert grow_into_sheen(image, core, model, level=4.0, reach_px=0) is core
    near = grow_into_sheen(image, core, model, level=4.0, reach_px=5)
    far = grow_into_sheen(image, core, model, level=4.0, reach_px=48)
    dist = cv2.distanceTransform(cv2.compare(core, 0, cv2.CMP_EQ), cv2.DIST_L2, 3)
    assert not near[dist > 6].any() and near[(dist > 0) & (dist <= 4)].any()
    assert np.count_nonzero(far) > np.count_nonzero(near)
    # On a frame over work_px the growth is decided at half size: about the same region.
    big = cv2.resize(image, (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)
    big_core = cv2.resize(core, (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)
    half = grow_into_sheen(big, big_core, fit_diffuse_model(big, 6), level=4.0, reach_px=96,
                           context_px=242, work_px=400)  # (px parameters are frame px)
    assert np.array_equal(half[big_core > 0], big_core[big_core > 0])
    small_grown = cv2.resize(far, (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)
    agree = np.count_nonzero((half > 0) == (small_grown > 0)) / half.size
    assert agree >= 0.98, agree


def test_the_growth_is_decided_in_the_light_the_separation_works_in() -> None:
    # sRGB-like video: the surface and the sheen add in linear light, then the frame is encoded
    # with gamma 2.2. With ``gamma: 2.2`` the growth must follow the linear-light sheen, as the
    # backend's subtraction does: grown over the falloff, and the separation removes it there.
    # (Decided in encoded levels, with a model fit in encoded levels, nothing grew here.)
    spec = lobe(160, 120, 22.0, 110.0)
    rng = np.random.default_rng(0)
    base = np.empty((H, W, 3), np.float32)
    base[:] = RED
    base *= 1.0 + rng.normal(0, 0.03, (H, W, 1)).astype(np.float32)

    def encode(light: np.ndarray) -> np.ndarray:
        v = np.clip(light, 0, 255) / 255.0
        return (255.0 * v ** (1 / 2.2) + 0.5).astype(np.uint8)

    image, clean = encode(base + spec[:, :, None]), encode(base)
    core = core_mask(spec, 50.0)
    falloff = (spec >= 12) & (core == 0)  # a drop of >= ~6 encoded levels on this red
    params = {"inpainting.separation.gamma": 2.2, "inpainting.separation.fringe_px": 0}
    on = GlareRemover({**params, "inpainting.separation.sheen_px": 48},
                      stages=("inpainting", "temporal"))
    off = GlareRemover({**params, "inpainting.separation.sheen_px": 0},
                       stages=("inpainting", "temporal"))
    grown = on.fill_frame(image, core).mask
    assert np.count_nonzero(grown[falloff]) >= 0.8 * np.count_nonzero(falloff)
    assert not grown[spec < 1].any()
    err = {name: np.abs(r.fill_frame(image, core).image.astype(np.float32) - clean)[falloff].mean()
           for name, r in (("on", on), ("off", off))}
    assert err["on"] < 0.4 * err["off"], err


def fringe_chain(fringe_px: int) -> GlareRemover:
    """The inpainting stage with the sheen growth off and the given fringe."""
    return GlareRemover({"inpainting.separation.fringe_px": fringe_px},
                        stages=("inpainting", "temporal"))


def test_the_fringe_separates_the_falloff_the_detector_left_and_reports_what_changed() -> None:
    spec = lobe(160, 120, 22.0, 110.0)
    image, clean = red_object(spec), red_object(np.zeros_like(spec))
    image[:, 198:212] = clean[:, 198:212] = 128  # a grey stripe in reach: nothing to separate
    core = core_mask(spec, 50.0)  # the detector stopped ~28 px from the centre
    dist = cv2.distanceTransform(cv2.bitwise_not(core), cv2.DIST_L2, 3)
    near = (dist > 0) & (dist <= 10)  # the falloff right outside the detected mask
    assert (dist[:, 202:208] < 21).any() and not near[:, 198:212].any()
    out = {px: fringe_chain(px).fill_frame(image, core) for px in (0, 21)}
    err = {px: np.abs(r.image.astype(np.float32) - clean)[near].mean() for px, r in out.items()}
    assert err[21] < 0.6 * err[0], err  # most of the near falloff is removed
    changed = np.abs(out[21].image.astype(np.int16) - image).max(axis=2) > 0
    assert not changed[dist > 21].any()  # nothing beyond the reach
    # The reported mask: the detected one plus exactly the fringe pixels that changed.
    assert np.array_equal(out[21].mask > 0, (core > 0) | changed)
    assert not out[21].mask[:, 202:208].any()  # (its edges take a little of the smoothed part)


def test_the_fringe_touches_a_paler_patch_only_a_little_and_fades() -> None:
    # A paler patch of the red right beside the highlight (12-22 px out) reads as a large
    # specular part (paler = "more white light": 53 levels), but it does not continue the
    # highlight's own part at its edge, and it lies further out: the cap (twice the part along
    # the detected edge, 32 levels at most, fading to 0 at the reach) keeps it.
    spec = lobe(160, 120, 8.0, 110.0)
    image = red_object(spec)
    yy, xx = np.mgrid[0:H, 0:W]
    patch = (xx - 190) ** 2 + (yy - 120) ** 2 <= 5 ** 2
    image[patch] = (90, 100, 230)
    core = core_mask(spec, 30.0)
    dist = cv2.distanceTransform(cv2.bitwise_not(core), cv2.DIST_L2, 3)
    assert 12 <= dist[patch].min() and dist[patch].max() <= 22
    out = fringe_chain(21).fill_frame(image, core).image
    drop = (image.astype(np.int16) - out).max(axis=2)
    fringe = (core == 0) & (dist <= 21)
    bound = 32.0 * np.clip(1.0 - dist / 23.0, 0.0, 1.0) + 2.0
    assert (drop[fringe] <= bound[fringe]).all()
    assert drop[patch].max() <= 16


def test_a_clipped_sign_with_only_the_fringe_around_it_is_not_filled() -> None:
    # A clipped white disc (a sign, a lamp) in a pale halo on red: the halo is no evidence that
    # the disc is the core of a highlight when it lies only in the fringe (the detector reported
    # the disc and 1 px of rim). Counted as evidence, the disc is painted over (the same halo
    # inside the detected mask shows it).
    spec = lobe(160, 120, 12.0, 40.0)
    image = red_object(spec)
    yy, xx = np.mgrid[0:H, 0:W]
    disc = (xx - 160) ** 2 + (yy - 120) ** 2 <= 10 ** 2
    image[disc] = 255
    tight = cv2.dilate(disc.astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
    kept = fringe_chain(21).fill_frame(image, tight).image
    assert (kept[disc].min(axis=1) >= 230).all()  # still white (its rim a little greyer)
    wide = cv2.dilate(tight, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (25, 25)))
    painted = fringe_chain(0).fill_frame(image, wide).image
    assert (painted[disc].min(axis=1) < 230).mean() > 0.9
