"""Rendered glare-free content: what the detector downstream of the glare stage looks for.

Seeded, reproducible scenes (ROS-free; numpy + OpenCV only) used as a *no-harm* set (there is no
glare in them: every pixel a glare chain changes is harm) and as the clean frames under the
glare-over-content set (:func:`glare_inpaint_ros.synth.make_content_sample`). Four kinds,
``KINDS[index % 4]``:

* ``road``: asphalt texture in perspective with lane paint: solid and dashed white lines, a solid
  white or yellow edge line, optional turn arrows and a zebra crossing (painted on a bird's-eye
  canvas, then warped by a homography, so markings narrow towards the horizon);
* ``label``: a printed label filling the frame: 2..4 lines of text in several Hershey fonts, sizes
  and colours, white on dark, dark on white, or on glossy-looking stock (smooth linear + radial
  gradients);
* ``car``: a road (as above) with a white car seen from behind and a road sign with text on a pole;
* ``night``: a dark street with buildings, lit windows and street lamps (bright, unsaturated light
  sources that are *not* glare).

Conventions: images BGR uint8 ``HxWx3``; sizes ``(width, height)`` in px; segments
``(x0, y0, x1, y1)`` in image px. Sample ``index`` of ``seed`` draws from
``numpy.random.default_rng([seed, index, 7])`` only, so it does not depend on other samples.

Ground truth carried with each scene (:class:`ContentScene`): the text printed (``text``, lines
joined by newlines; None when the scene has no text to read) and the two long edges of every
painted lane line and dash (``lanes``; empty when there is no lane paint), which is what an
edge-based lane finder sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: Scene kinds, drawn in this order by ``index % len(KINDS)``.
KINDS: tuple[str, ...] = ("road", "label", "car", "night")

#: Hershey fonts used for printed text (the script fonts are left out: handwriting, not print).
FONTS: tuple[int, ...] = (
    cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)

#: Words printed on labels and signs (product labels, batch codes, street signs).
WORDS: tuple[str, ...] = (
    "ORGANIC", "Milk", "FRESH", "Juice", "Batch", "EXP", "LOT", "Net", "Weight", "SALE", "Price",
    "STORE", "Cool", "Keep", "Dry", "Place", "Best", "Before", "Made", "In", "Natural", "Water",
    "Coffee", "Beans", "Rice", "Pasta", "Olive", "Oil", "Sugar", "Salt", "Tea", "Honey", "Glass",
    "Recycle", "Label", "Code", "Serial", "Model", "Parts", "Order",
)
SIGN_WORDS: tuple[str, ...] = ("EXIT", "STOP", "SLOW", "CITY", "PARK", "NORTH", "SOUTH", "CENTRE",
                               "AIRPORT")


@dataclass
class ContentScene:
    r"""One rendered glare-free frame and what it shows.

    Attributes:
        image: BGR uint8 ``HxWx3``.
        kind: one of :data:`KINDS`.
        text: printed text (lines joined by ``"\n"``), or None when there is nothing to read.
        lanes: ``(N, 4)`` float32 segments ``(x0, y0, x1, y1)`` in px: both long edges of every
            painted lane line / dash, clipped to the frame below the horizon; ``(0, 4)`` when there
            is none.
        targets: ``(M, 4)`` float32 boxes ``(x0, y0, x1, y1)`` in px of the content a highlight
            should cover (text lines, lane paint, car body, sign, lamps): where the
            glare-over-content generator puts its highlights.
    """

    image: np.ndarray
    kind: str
    text: str | None
    lanes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))

    def truth(self) -> dict[str, Any]:
        """JSON-able ground truth (no image): ``kind``, ``text``, ``lanes``, ``targets``
        (lists)."""
        return {"kind": self.kind, "text": self.text,
                "lanes": np.round(self.lanes, 2).tolist(),
                "targets": np.round(self.targets, 2).tolist()}


def write_truth(path: str | Path, truth: dict[str, Any]) -> None:
    """Write :meth:`ContentScene.truth` as JSON (UTF-8)."""
    Path(path).write_text(json.dumps(truth), encoding="utf-8")


def read_truth(path: str | Path) -> dict[str, Any]:
    """Read a truth JSON written by :func:`write_truth`; ``lanes``/``targets`` as ``(N, 4)``
    float32."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("lanes", "targets"):
        data[key] = np.asarray(data.get(key) or [], np.float32).reshape(-1, 4)
    return data


# --------------------------------------------------------------------------- helpers


def _u8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def _noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian noise blurred by ``sigma`` px (float32 ``HxW``).

    Coarse noise (``sigma > 4``) is drawn at ``1 / (sigma / 2)`` of the size, blurred by 2 px and
    resized up (the same look at a fraction of the cost of a wide blur).
    """
    h, w = shape
    f = sigma / 2.0 if sigma > 4 else 1.0
    small = (max(2, int(round(h / f))), max(2, int(round(w / f))))
    n = rng.standard_normal(small).astype(np.float32)
    if sigma > 0:
        n = cv2.GaussianBlur(n, (0, 0), sigma / f)
    if f > 1.0:
        n = cv2.resize(n, (w, h), interpolation=cv2.INTER_CUBIC)
    return n / (n.std() + np.float32(1e-6))


def _box(points: np.ndarray) -> list[float]:
    return [float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()),
            float(points[:, 1].max())]


# --------------------------------------------------------------------------- road


def _road(rng: np.random.Generator, size: tuple[int, int], gain: float = 1.0,
          with_markings: bool = True) -> tuple[np.ndarray, np.ndarray, list[list[float]], float]:
    """Asphalt with lane paint in perspective, and sky above the horizon.

    Returns:
        ``(image float32 BGR 0..255, lanes (N, 4) float32, paint boxes, horizon y in px)``.
    """
    w, h = size
    bw, bh = 400, 1200  # bird's-eye canvas: 1 px = 3 cm across, 3 cm along (12 m x 36 m)
    base = rng.uniform(70, 115)
    tone = np.array([1.0, rng.uniform(0.97, 1.03), rng.uniform(0.95, 1.05)], np.float32)
    asphalt = (base + rng.uniform(5, 12) * _noise(rng, (bh, bw), 0.8) + rng.uniform(4, 14)
               * _noise(rng, (bh, bw), 25))
    canvas = asphalt[:, :, None] * tone[None, None, :]
    edges: list[np.ndarray] = []  # bird's-eye quads of lane lines (4 corners)
    lane_w = rng.uniform(105, 125)  # 3.2..3.75 m
    paint_w = rng.uniform(4.5, 7.0)
    centre = bw / 2 + rng.uniform(-30, 30)
    white = (np.array([rng.uniform(225, 250)] * 3, np.float32)
             * np.array([1.0, 1.0, rng.uniform(0.97, 1.0)], np.float32))
    yellow = np.array([rng.uniform(20, 60), rng.uniform(175, 205), rng.uniform(215, 245)],
                      np.float32)

    wear = np.clip(1.0 - 0.15 * np.abs(_noise(rng, (bh, bw), 3.0)), 0.6, 1.0)  # worn paint

    def paint(x0: float, y0: float, x1: float, y1: float, colour: np.ndarray,
              lane: bool = True) -> None:
        ya, yb = max(int(round(y0)), 0), min(int(round(y1)) + 1, bh)
        xa, xb = max(int(round(x0)), 0), min(int(round(x1)) + 1, bw)
        if ya < yb and xa < xb:
            a = wear[ya:yb, xa:xb, None]
            canvas[ya:yb, xa:xb] = canvas[ya:yb, xa:xb] * (1 - a) + colour[None, None, :] * a
        if lane:
            edges.append(np.array([[x0, y0, x0, y1], [x1, y0, x1, y1]], np.float32))

    if with_markings:
        left_colour = yellow if rng.random() < 0.5 else white
        xl, xr = centre - lane_w, centre + lane_w
        paint(xl - paint_w, 0, xl + paint_w * 0.0, bh, left_colour)
        paint(xr, 0, xr + paint_w, bh, white)
        dash, gap = rng.uniform(90, 110), rng.uniform(150, 220)
        y = rng.uniform(-gap, 0)
        while y < bh:
            paint(centre - paint_w / 2, max(y, 0), centre + paint_w / 2, min(y + dash, bh), white)
            y += dash + gap
        if rng.random() < 0.5:  # turn / straight arrow in a lane
            ax = centre + rng.choice([-1, 1]) * lane_w / 2
            ay = rng.uniform(bh * 0.55, bh * 0.8)
            shaft = np.array([[ax - 6, ay], [ax + 6, ay], [ax + 6, ay - 110], [ax - 6, ay - 110]],
                             np.float32)
            head = np.array([[ax - 22, ay - 110], [ax + 22, ay - 110], [ax, ay - 170]], np.float32)
            m = np.zeros((bh, bw), np.float32)
            cv2.fillPoly(m, [np.round(shaft).astype(np.int32), np.round(head).astype(np.int32)],
                         1.0)
            canvas[:] = canvas * (1 - m[:, :, None]) + white[None, None, :] * m[:, :, None]
        if rng.random() < 0.5:  # zebra crossing across the road
            zy = rng.uniform(bh * 0.45, bh * 0.7)
            x = xl - 20
            while x < xr + 20:
                paint(x, zy, x + 17, zy + 110, white, lane=False)
                x += 34

    # Perspective: the canvas bottom spans more than the frame width, the top meets near the
    # horizon.
    horizon = h * rng.uniform(0.42, 0.5)
    vx = w * rng.uniform(0.42, 0.58)
    top_half = w * rng.uniform(0.03, 0.06)
    bottom_l, bottom_r = -w * rng.uniform(0.08, 0.25), w * (1 + rng.uniform(0.08, 0.25))
    src = np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], np.float32)
    dst = np.array(
        [[vx - top_half, horizon], [vx + top_half, horizon], [bottom_r, h], [bottom_l, h]],
        np.float32)
    H = cv2.getPerspectiveTransform(src, dst)
    road = cv2.warpPerspective(canvas, H, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
    road = cv2.GaussianBlur(road, (0, 0), 0.6)
    # Sky: a pale blue-grey gradient; a dark tree line at the horizon.
    ys = np.arange(h, dtype=np.float32)[:, None, None]
    sky_top = np.array([rng.uniform(150, 200), rng.uniform(120, 160), rng.uniform(80, 120)],
                       np.float32)
    sky_bottom = sky_top * np.float32(rng.uniform(1.05, 1.2))
    t = np.clip(ys / max(horizon, 1.0), 0, 1)
    sky = sky_top * (1 - t) + sky_bottom * t + np.zeros((1, w, 1), np.float32)
    trees = horizon - np.abs(_noise(rng, (1, w), 6)[0]) * rng.uniform(4, 12) - rng.uniform(4, 15)
    tree_mask = (ys[:, :, 0] >= trees[None, :]).astype(np.float32)
    green = np.array([40, 70, 45], np.float32) * np.float32(rng.uniform(0.7, 1.2))
    sky = sky * (1 - tree_mask[:, :, None]) + green * tree_mask[:, :, None]
    below = (ys[:, :, 0] >= horizon).astype(np.float32)[:, :,
                                                        None] * np.ones((1, w, 1), np.float32)
    image = (road * below + sky * (1 - below)) * np.float32(gain)
    # Lane edges in image coordinates, cut a little below the horizon (where they are sub-pixel).
    lanes: list[np.ndarray] = []
    boxes: list[list[float]] = []
    y_min = horizon + 0.08 * (h - horizon)
    for quad in edges:
        pts = cv2.perspectiveTransform(quad.reshape(-1, 1, 2), H).reshape(-1, 4)
        for x0, y0, x1, y1 in pts:
            if y1 < y0:
                x0, y0, x1, y1 = x1, y1, x0, y0
            if y1 <= y_min:
                continue
            if y0 < y_min:
                f = (y_min - y0) / (y1 - y0)
                x0, y0 = x0 + f * (x1 - x0), y_min
            seg = _clip_segment(x0, y0, x1, y1, w, h)
            if seg is not None and np.hypot(seg[2] - seg[0], seg[3] - seg[1]) >= 8:
                lanes.append(np.array(seg, np.float32))
        corners = pts.reshape(-1, 2)
        if corners[:, 1].max() > y_min:
            boxes.append(_box(np.clip(corners, [0, y_min], [w - 1, h - 1])))
    lanes_arr = np.array(lanes, np.float32).reshape(-1, 4)
    return image, lanes_arr, boxes, float(horizon)


def _clip_segment(x0: float, y0: float, x1: float, y1: float, w: int,
                  h: int) -> tuple[float, ...] | None:
    """The part of a segment inside ``[0, w-1] x [0, h-1]`` (Liang-Barsky), or None."""
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0), (dx, w - 1 - x0), (-dy, y0), (dy, h - 1 - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
    if t0 > t1:
        return None
    return (x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy)


# --------------------------------------------------------------------------- text


def _fit_text(text: str, font: int, height_px: float, max_width: float,
              thickness: int) -> tuple[float, int]:
    """Font scale giving a cap height of about ``height_px`` px, reduced to fit ``max_width``
    px."""
    (_, base_h), _ = cv2.getTextSize("H", font, 1.0, thickness)
    scale = height_px / max(base_h, 1)
    (tw, _), _ = cv2.getTextSize(text, font, scale, thickness)
    if tw > max_width:
        scale *= max_width / tw
    return scale, thickness


def _text_lines(rng: np.random.Generator, n_lines: int) -> list[str]:
    lines = []
    for _ in range(n_lines):
        r = rng.random()
        if r < 0.2:  # a code line
            lines.append(
                f"{rng.choice(['LOT', 'EXP', 'Code', 'Batch'])} {int(rng.integers(10, 9999))}")
        else:
            lines.append(" ".join(str(rng.choice(WORDS)) for _ in range(int(rng.integers(1, 4)))))
    return lines


def _label(rng: np.random.Generator,
           size: tuple[int, int]) -> tuple[np.ndarray, str, list[list[float]]]:
    """A printed label filling the frame; returns ``(image float32, text, line boxes)``."""
    w, h = size
    style = rng.choice(["white_on_dark", "dark_on_white", "glossy"])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if style == "white_on_dark":
        bg = np.array(rng.uniform(10, 70, 3), np.float32)
        ink_choices = [np.array([245, 245, 245], np.float32), np.array([60, 220, 250], np.float32)]
    elif style == "dark_on_white":
        bg = np.array(rng.uniform(215, 250, 3), np.float32)
        bg = np.full(3, bg.mean(), np.float32) + (bg - bg.mean()) * 0.3
        ink_choices = [np.array([20, 20, 20], np.float32), np.array([110, 40, 20], np.float32),
                       np.array([30, 30, 170], np.float32)]
    else:  # glossy stock: a saturated or pale colour with smooth gradients (light falloff,
        # curvature)
        hsv = np.array([[[rng.integers(0, 180),
                          rng.choice([rng.integers(20, 60), rng.integers(120, 220)]),
                          rng.integers(120, 220)]]], np.uint8)
        bg = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
        light = bg.mean() > 150
        ink_choices = ([np.array([20, 20, 20], np.float32), np.array([90, 30, 20], np.float32)]
                       if light
                       else [np.array([245, 245, 245],
                                      np.float32), np.array([30, 30, 30], np.float32)])
    image = np.broadcast_to(bg, (h, w, 3)).astype(np.float32).copy()
    # smooth shading: a linear ramp and a broad radial lobe (diffuse, not specular)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = ((xs - w / 2) * np.cos(ang) + (ys - h / 2) * np.sin(ang)) / max(w, h)
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.5, 1.2) * max(w, h)
    lobe = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r * r))
    shade = (1.0 + rng.uniform(0.05, 0.2) * ramp
             + rng.uniform(0.0, 0.15 if style == "glossy" else 0.05) * (lobe - 0.5))
    image *= shade[:, :, None]
    image += rng.uniform(1, 3) * _noise(rng, (h, w), 0.7)[:, :, None]
    lines = _text_lines(rng, int(rng.integers(2, 5)))
    margin = 0.08 * w
    slot = (h - 2 * 0.08 * h) / len(lines)
    boxes: list[list[float]] = []
    canvas = _u8(image)
    for i, line in enumerate(lines):
        font = int(rng.choice(FONTS))
        ink = ink_choices[int(rng.integers(0, len(ink_choices)))]
        cap = min(slot * rng.uniform(0.38, 0.6), h * 0.12)
        thickness = int(max(1, round(cap / rng.uniform(9, 14))))
        scale, thickness = _fit_text(line, font, cap, w - 2 * margin, thickness)
        (tw, th), base = cv2.getTextSize(line, font, scale, thickness)
        x = margin + rng.uniform(0, max(w - 2 * margin - tw, 0))
        y = 0.08 * h + slot * i + (slot + th) / 2
        org = (int(round(x)), int(round(y)))
        cv2.putText(canvas, line, org, font, scale, tuple(float(c) for c in ink), thickness,
                    cv2.LINE_AA)
        boxes.append([float(x), float(y - th), float(x + tw), float(y + base)])
    return canvas.astype(np.float32), "\n".join(lines), boxes


# --------------------------------------------------------------------------- car, sign, night


def _car(rng: np.random.Generator, image: np.ndarray, horizon: float) -> list[float]:
    """A white car seen from behind, painted in place on ``image`` (float32); returns its box."""
    h, w = image.shape[:2]
    y_bottom = horizon + (h - horizon) * rng.uniform(0.45, 0.75)
    depth = (y_bottom - horizon) / (h - horizon)  # 0 at the horizon, 1 at the bottom
    cw = w * 0.5 * depth * rng.uniform(0.8, 1.0)
    ch = cw * rng.uniform(0.7, 0.85)
    cx = w * rng.uniform(0.4, 0.6)
    x0, x1, y0, y1 = cx - cw / 2, cx + cw / 2, y_bottom - ch, y_bottom
    body = (np.array([rng.uniform(228, 245)] * 3, np.float32)
            + rng.uniform(-4, 4, 3).astype(np.float32))
    m = np.zeros((h, w), np.uint8)
    # tyres, body (rounded), rear window, lights, plate
    for tx in (x0 + 0.05 * cw, x1 - 0.2 * cw):
        cv2.rectangle(image, (int(tx), int(y1 - 0.12 * ch)), (int(tx + 0.15 * cw), int(y1)),
                      (15, 15, 15), -1)
    r = int(max(2, 0.08 * cw))
    cv2.rectangle(m, (int(x0 + r), int(y0 + 0.35 * ch)), (int(x1 - r), int(y1 - 0.08 * ch)), 255,
                  -1)
    cv2.rectangle(m, (int(x0), int(y0 + 0.35 * ch + r)), (int(x1), int(y1 - 0.08 * ch - r)), 255,
                  -1)
    roof = np.array([[x0 + 0.12 * cw, y0 + 0.36 * ch], [x0 + 0.22 * cw, y0], [x1 - 0.22 * cw, y0],
                     [x1 - 0.12 * cw, y0 + 0.36 * ch]], np.float32)
    cv2.fillPoly(m, [np.round(roof).astype(np.int32)], 255)
    a = cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 0.7)[:, :, None]
    ys = np.arange(h, dtype=np.float32)[:, None, None]
    shade = 1.0 - 0.12 * np.clip((ys - y0) / max(ch, 1), 0, 1)
    image[:] = image * (1 - a) + body * shade * a
    win = np.array([[x0 + 0.2 * cw, y0 + 0.32 * ch], [x0 + 0.26 * cw, y0 + 0.06 * ch],
                    [x1 - 0.26 * cw, y0 + 0.06 * ch], [x1 - 0.2 * cw, y0 + 0.32 * ch]], np.float32)
    cv2.fillPoly(image, [np.round(win).astype(np.int32)], (55, 45, 40), cv2.LINE_AA)
    for lx in (x0 + 0.04 * cw, x1 - 0.16 * cw):
        cv2.rectangle(image, (int(lx), int(y0 + 0.45 * ch)),
                      (int(lx + 0.12 * cw), int(y0 + 0.58 * ch)),
                      (30, 30, 190), -1)
    cv2.rectangle(image, (int(cx - 0.14 * cw), int(y0 + 0.66 * ch)),
                  (int(cx + 0.14 * cw), int(y0 + 0.78 * ch)),
                  (235, 235, 235), -1)
    cv2.rectangle(image, (int(cx - 0.14 * cw), int(y0 + 0.66 * ch)),
                  (int(cx + 0.14 * cw), int(y0 + 0.78 * ch)),
                  (40, 40, 40), 1)
    return [float(x0), float(y0), float(x1), float(y1)]


def _sign(rng: np.random.Generator, image: np.ndarray, horizon: float) -> tuple[str, list[float]]:
    """A road sign with text on a pole at one side; returns ``(text, box)``."""
    h, w = image.shape[:2]
    text = f"{rng.choice(SIGN_WORDS)} {int(rng.integers(1, 99))}"
    font = int(rng.choice(FONTS[:2]))
    sw = w * rng.uniform(0.26, 0.34)
    cap = sw * 0.1
    scale, thick = _fit_text(text, font, cap, sw * 0.82, max(1, int(round(cap / 8))))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    sh = th * 2.6
    left = rng.random() < 0.5
    x0 = w * rng.uniform(0.02, 0.06) if left else w * rng.uniform(0.94, 0.98) - sw
    y0 = horizon - sh * rng.uniform(0.6, 1.6)
    px = x0 + sw / 2
    cv2.rectangle(image, (int(px - 3), int(y0 + sh)), (int(px + 3), int(h * 0.8)), (120, 120, 125),
                  -1)
    style = rng.random()
    if style < 0.5:  # green or blue panel, white letters
        panel = (60, 120, 20) if rng.random() < 0.5 else (150, 70, 10)
        ink = (245, 245, 245)
    else:  # white panel, black letters
        panel, ink = (238, 238, 238), (15, 15, 15)
    cv2.rectangle(image, (int(x0), int(y0)), (int(x0 + sw), int(y0 + sh)), panel, -1)
    cv2.rectangle(image, (int(x0 + 3), int(y0 + 3)), (int(x0 + sw - 3), int(y0 + sh - 3)), ink, 2)
    org = (int(x0 + (sw - tw) / 2), int(y0 + (sh + th) / 2))
    canvas = _u8(image)
    cv2.putText(canvas, text, org, font, scale, ink, thick, cv2.LINE_AA)
    image[:] = canvas
    return text, [float(x0), float(y0), float(x0 + sw), float(y0 + sh)]


def _night(rng: np.random.Generator,
           size: tuple[int, int]) -> tuple[np.ndarray, list[list[float]]]:
    """A dark street: buildings with lit windows, street lamps; returns
    ``(image, lamp/window boxes)``."""
    w, h = size
    image, _, _, horizon = _road(rng, size, gain=rng.uniform(0.15, 0.3), with_markings=False)
    image[: int(horizon)] = rng.uniform(5, 20)
    boxes: list[list[float]] = []
    x = rng.uniform(-40, 0)
    while x < w:
        bw_ = rng.uniform(0.12, 0.25) * w
        top = horizon * rng.uniform(0.1, 0.6)
        cv2.rectangle(image, (int(x), int(top)), (int(x + bw_), int(horizon + 5)),
                      tuple(float(v) for v in rng.uniform(18, 40, 3)), -1)
        for wy in np.arange(top + 12, horizon - 15, rng.uniform(22, 32)):
            for wx in np.arange(x + 8, x + bw_ - 14, rng.uniform(18, 26)):
                if rng.random() < 0.35:
                    warm = np.array(
                        [rng.uniform(90, 170), rng.uniform(190, 235), rng.uniform(235, 255)],
                        np.float32)
                    cv2.rectangle(image, (int(wx), int(wy)), (int(wx + 9), int(wy + 12)),
                                  tuple(float(v) for v in warm), -1)
                    if rng.random() < 0.3:
                        boxes.append([float(wx), float(wy), float(wx + 9), float(wy + 12)])
        x += bw_ + rng.uniform(4, 30)
    for _ in range(int(rng.integers(2, 4))):  # street lamps with a small soft glow
        lx, top = rng.uniform(0.05, 0.95) * w, horizon * rng.uniform(0.3, 0.8)
        cv2.line(image, (int(lx), int(top)), (int(lx), int(h * rng.uniform(0.6, 0.8))),
                 (35, 35, 38), 3)
        glow = np.zeros((h, w), np.float32)
        cv2.circle(glow, (int(lx), int(top)), int(rng.uniform(4, 8)), 1.0, -1, cv2.LINE_AA)
        halo = cv2.GaussianBlur(glow, (0, 0), 6) * 0.6
        lamp = np.array([rng.uniform(200, 235), rng.uniform(235, 250), 255], np.float32)
        a = np.clip(glow + halo, 0, 1)[:, :, None]
        image[:] = image * (1 - a) + lamp * a
        boxes.append([lx - 10, top - 10, lx + 10, top + 10])
    return image, boxes


# --------------------------------------------------------------------------- public


def render_scene(index: int, seed: int = 0, size: tuple[int, int] = (640, 480)) -> ContentScene:
    """Scene ``index`` of the content set of ``seed`` (kind ``KINDS[index % 4]``), see the module
    docstring.

    Args:
        index: scene number, >= 0.
        seed: set seed, >= 0.
        size: ``(width, height)`` in px, each >= 64.
    """
    if int(index) != index or index < 0 or int(seed) != seed or seed < 0:
        raise ValueError(
            f"index and seed must be integers >= 0, got index={index!r}, seed={seed!r}")
    w, h = (int(v) for v in size)
    if w < 64 or h < 64:
        raise ValueError(f"size must be (width, height) with both >= 64 px, got {size!r}")
    rng = np.random.default_rng([int(seed), int(index), 7])
    kind = KINDS[int(index) % len(KINDS)]
    noise_sigma = rng.uniform(0.8, 2.0)
    text: str | None = None
    lanes = np.zeros((0, 4), np.float32)
    if kind == "road":
        image, lanes, targets, _ = _road(rng, (w, h))
    elif kind == "label":
        image, text, targets = _label(rng, (w, h))
    elif kind == "car":
        image, lanes, paint_boxes, horizon = _road(rng, (w, h))
        car = _car(rng, image, horizon)
        text, sign = _sign(rng, image, horizon)
        targets = [car, car, sign] + paint_boxes[:2]
    else:
        image, targets = _night(rng, (w, h))
    image = image + np.float32(noise_sigma) * rng.standard_normal(image.shape).astype(np.float32)
    return ContentScene(_u8(image), kind, text, lanes,
                        np.array(targets, np.float32).reshape(-1, 4))
