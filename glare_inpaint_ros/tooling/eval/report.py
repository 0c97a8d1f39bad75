"""Human-readable outputs of the evaluation: ``report.md`` tables and the contact sheet image.

Both read the report dictionary built by :mod:`.run` (the content of ``report.json``); no metric is
computed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import metrics as M
from .dataset import write_image

#: Size of one contact-sheet cell (px, width x height); images are fitted inside, aspect kept.
THUMB_SIZE = (240, 180)
COLUMNS = ("input", "final mask (green: GT)", "output", "ground truth")
_LABEL_H = 22  # px of the column header band
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass
class SheetRow:
    """One contact-sheet row.

    Attributes:
        group: data set name (a band with it starts each new group).
        label: image name written on the row.
        image: input, BGR uint8.
        mask: final (dilated) pipeline mask, uint8 255 = glare.
        output: pipeline output, BGR uint8.
        gt: clean ground truth (BGR uint8) or None.
        gt_mask: ground-truth glare mask (255 = glare) or None; drawn as a green outline.
        last_title: if set, ``gt`` is another view (e.g. the altered pixels of a no-harm frame) and
            this title is written on its cell.
    """

    group: str
    label: str
    image: np.ndarray
    mask: np.ndarray
    output: np.ndarray
    gt: np.ndarray | None
    gt_mask: np.ndarray | None
    last_title: str | None = None


# --------------------------------------------------------------------------- contact sheet


def _fit(image: np.ndarray, size: tuple[int, int] = THUMB_SIZE) -> np.ndarray:
    """``image`` (mono or BGR) scaled to fit ``size`` (w, h), centred on a dark grey cell."""
    w, h = size
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = min(w / image.shape[1], h / image.shape[0])
    tw, th = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    thumb = cv2.resize(image, (tw, th), interpolation=interp)
    cell = np.full((h, w, 3), 40, np.uint8)
    y0, x0 = (h - th) // 2, (w - tw) // 2
    cell[y0:y0 + th, x0:x0 + tw] = thumb
    return cell


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45) -> None:
    """White text with a black outline (readable on any background), drawn in place."""
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _mask_view(mask: np.ndarray, gt_mask: np.ndarray | None) -> np.ndarray:
    """Final mask in white with the GT mask's outline in green."""
    view = cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
    if gt_mask is not None:
        contours, _ = cv2.findContours(gt_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        thickness = max(1, round(max(mask.shape) / THUMB_SIZE[0]))
        cv2.drawContours(view, contours, -1, (0, 200, 0), thickness)
    return view


def render_contact_sheet(rows: list[SheetRow], title: str = "") -> np.ndarray:
    """The sheet as a BGR uint8 image: a header band, then per data set a band with its name and
    one row of four thumbnails per sample.

    A set without clean ground truth gets a "no ground truth" cell in the last column.
    """
    w, h = THUMB_SIZE
    header = np.full((_LABEL_H, w * len(COLUMNS), 3), 255, np.uint8)
    for i, name in enumerate(COLUMNS):
        cv2.putText(header, name if i or not title else f"{name}  [{title}]", (i * w + 6, 16),
                    _FONT, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    lines = [header]
    if not rows:
        empty = np.full((h, w * len(COLUMNS), 3), 40, np.uint8)
        _text(empty, "no images", (8, h // 2))
        lines.append(empty)
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            band = np.full((_LABEL_H, w * len(COLUMNS), 3), 220, np.uint8)
            cv2.putText(band, group, (6, 16), _FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
            lines.append(band)
        gt_cell = _fit(row.gt) if row.gt is not None else np.full((h, w, 3), 40, np.uint8)
        if row.gt is None:
            _text(gt_cell, "no ground truth", (8, h // 2))
        cells = [_fit(row.image), _fit(_mask_view(row.mask, row.gt_mask)), _fit(row.output),
                 gt_cell]
        _text(cells[0], row.label[-40:], (4, 14), 0.4)
        if row.last_title:
            _text(cells[3], row.last_title, (4, 14), 0.4)
        line = np.hstack(cells)
        for i in range(1, len(COLUMNS)):  # thin separators
            line[:, i * w] = 255
        lines.append(line)
        lines.append(np.full((2, line.shape[1], 3), 255, np.uint8))
    return np.vstack(lines)


def write_contact_sheet(rows: list[SheetRow], path: str | Path, title: str = "") -> None:
    """Render :func:`render_contact_sheet` and save it as PNG at ``path``."""
    write_image(path, render_contact_sheet(rows, title))


# --------------------------------------------------------------------------- markdown


def _f(value: Any, digits: int = 3, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def _summary(report: dict[str, Any]) -> list[str]:
    """One row per data set: best detector F1 and the pipelines' glare-region PSNR gain."""
    rows = []
    for name, ds in report.get("datasets", {}).items():
        best_raw = best_final = best_pipe = "-"
        if "detection" in ds:
            d, s = max(ds["detection"].items(), key=lambda kv: kv[1]["raw"]["f1"])
            best_raw = f"{_f(s['raw']['f1'])} ({d})"
            d, s = max(ds["detection"].items(), key=lambda kv: kv[1]["final"]["f1"])
            best_final = f"{_f(s['final']['f1'])} ({d})"
        primary = "-"
        if "inpainting" in ds:
            inp = ds["inpainting"]
            primary = (f"{_f(inp[ds['primary']]['delta_psnr_region'], 2, signed=True)} "
                       f"({ds['primary']})")
            pipes = {k: v for k,
                     v in inp.items() if k != "nothing" and not k.startswith("oracle/")}
            k, v = max(pipes.items(),
                       key=lambda kv: -math.inf if kv[1]["delta_psnr_region"] is None
                       else kv[1]["delta_psnr_region"])
            best_pipe = f"{_f(v['delta_psnr_region'], 2, signed=True)} ({k})"
        rows.append([name, str(ds["n_images"]), str(ds.get("mask_source") or "none"), best_raw,
                     best_final,
                     primary, best_pipe])
    return ["## Summary", ""] + _table(
        ["data set", "images", "GT mask", "best raw F1", "best final F1",
         "PSNR glare vs nothing, first combination (dB)", "best pipeline (dB)"], rows)


def _combo_keys(report: dict[str, Any]) -> list[str]:
    """Detector/backend keys in report order (from the first no-harm or client section)."""
    for section in report.get("no_harm", {}).values():
        return list(section["combos"])
    for sets in report.get("clients", {}).values():
        for summary in sets.values():
            return list(summary["outputs"])
    return []


def _not_measured(report: dict[str, Any]) -> list[str]:
    """A line naming the detectors / backends none of whose combinations could be built, with
    why."""
    skipped = report.get("meta", {}).get("skipped", {})
    if not skipped:
        return []
    why: dict[str, str] = {}
    for key, reason in skipped.items():
        det, back = key.split("/", 1)
        if all(f"{det}/{b}" in skipped
               for b in {k.split("/", 1)[1] for k in skipped}) and det not in why:
            why[f"detector {det}"] = reason
        elif back not in why:
            why[f"backend {back}"] = reason
    items = sorted(set(why.items()))
    return ["Not measured (cannot run on the base config): "
            + "; ".join(f"{k} ({v.split(':')[0]})" for k, v in items) + ".", ""]


def render_no_harm(report: dict[str, Any]) -> list[str]:
    """Markdown lines of the "What the chain must not do" tables (no-harm sets, downstream
    clients); empty when the report has neither. One row per detector/backend evaluated."""
    no_harm, clients = report.get("no_harm", {}), report.get("clients", {})
    keys = _combo_keys(report)
    if not keys:
        return []
    lines: list[str] = _not_measured(report)
    if no_harm:
        lines += [
            "No-harm sets (glare-free: every change is harm). Per set: **bright content altered** "
            "(share of a "
            "frame's bright unsaturated pixels, HSV V >= 180 and S <= 60, changed by > 8 levels "
            "in some channel; "
            "mean over the frames with >= 0.1 % bright content; in brackets: the worst frame; "
            "pooled over all the "
            "set's bright pixels) / frame altered (% of all pixels) / worst whole-frame "
            "PSNR(output, input) in dB / "
            "frames passed through.",
            "",
        ]
        header = (["detector/backend"]
                  + [f"{name} ({sec['n_images']})" for name, sec in no_harm.items()])
        rows = []
        for key in keys:
            row = [key]
            for sec in no_harm.values():
                c = sec["combos"].get(key)
                row.append("-" if c is None else
                           f"**{_f(c['content_altered_pct'], 1)}** "
                           f"({_f(c['worst_content_altered_pct'], 0)}; "
                           f"{_f(c.get('content_altered_pct_pooled'), 1)}) / "
                           f"{_f(c['altered_pct'], 2)} / {_f(c['min_psnr_db'], 1)} / "
                           f"{c['n_passthrough']}")
            rows.append(row)
        lines += _table(header, rows)
    if clients:
        cols = [(client, name) for client, sets in clients.items() for name in sets]
        lines += [
            "Downstream clients (0..1, higher = more found; mean over the frames each client "
            "applies to, their "
            "count in brackets): `ocr` = PP-OCRv4 character accuracy against the rendered text or "
            "the clean "
            "frame's reading; `lanes` = share of the lane-paint edges (rendered, or found on the "
            "clean frame) "
            "that a Canny + Hough lane finder still finds. `clean` = the clean frame, `glare` = "
            "the frame with "
            "glare and no chain (sets with glare only).",
            "",
        ]
        header = (["frames"]
                  + [f"{client}: {name} ({clients[client][name]['n_images']})" for client,
                     name in cols])
        rows = [["clean"] + [_f(clients[c][n]["clean"]) for c, n in cols],
                ["glare (no chain)"] + [_f(clients[c][n]["glare"]) for c, n in cols]]
        for key in keys:
            rows.append([key] + [_f(clients[c][n]["outputs"].get(key)) for c, n in cols])
        lines += _table(header, rows)
    return lines


#: The compact table leaves out client columns scored on fewer frames than this (too noisy to
#: read).
COMPACT_MIN_FRAMES = 3


def render_no_harm_compact(report: dict[str, Any]) -> list[str]:
    """One-table summary of :func:`render_no_harm` (for the README): per detector/backend the
    bright content altered on each no-harm set that has bright content (%) and each client's output
    score on each set it scored at least :data:`COMPACT_MIN_FRAMES` frames of."""
    no_harm = {n: sec for n,
               sec in report.get("no_harm", {}).items() if sec.get("n_content_px", 1)}
    clients = report.get("clients", {})
    keys = _combo_keys(report)
    if not keys:
        return []
    cols = [(client, name) for client, sets in clients.items() for name, summary in sets.items()
            if summary["n_images"] >= COMPACT_MIN_FRAMES]
    header = (["detector/backend"] + [f"content altered % ({n})" for n in no_harm]
              + [f"{c} ({n})" for c, n in cols])
    rows = [["no chain: clean / with glare"] + ["0" for _ in no_harm]
            + [f"{_f(clients[c][n]['clean'], 2)}" + ("" if clients[c][n]["glare"] is None
                                                     else f" / {_f(clients[c][n]['glare'], 2)}")
               for c, n in cols]]
    for key in keys:
        rows.append([key] + [_f(sec["combos"][key]["content_altered_pct"], 1)
                             if key in sec["combos"] else "-"
                             for sec in no_harm.values()]
                    + [_f(clients[c][n]["outputs"].get(key), 2) for c, n in cols])
    return _table(header, rows)


def render_markdown(report: dict[str, Any]) -> str:
    """``report.md`` text: per data set, detection, inpainting and runtime tables."""
    meta = report.get("meta", {})
    lines = [
        "# Glare removal evaluation",
        "",
        f"- detectors: {', '.join(meta.get('detectors', []))}; backends: "
        f"{', '.join(meta.get('backends', []))}",
        *(["- skipped (cannot be built with this config): "
           + "; ".join(f"{k}: {v}" for k, v in meta["skipped"].items())] if meta.get("skipped")
          else []),
        f"- created: {meta.get('created', '-')}; command: `{' '.join(meta.get('argv', []))}`",
        "- conventions: masks 255 = glare; detection scores are pixel-wise (pooled over all "
        "pixels of "
        "the set; 'mean F1' = mean of per-image F1; empty prediction and empty GT = 1.0); PSNR in "
        "dB "
        f"(8-bit, identical pixels capped at {meta.get('psnr_cap_db', 100):g} dB), SSIM from "
        "scikit-image (7x7 window) averaged over the region; 'glare' = inside the GT glare mask, "
        "'frame' = whole image; 'nothing' = the unprocessed input; 'oracle/B' = backend B filling "
        "the GT mask dilated like the pipeline; runtimes are medians in ms.",
        "",
    ]
    lines += _summary(report)
    no_harm = render_no_harm(report)
    if no_harm:
        lines += ["## What the chain must not do", ""] + no_harm
    for name, ds in report.get("datasets", {}).items():
        source = {"file": "from mask/", "derived": (
            "DERIVED from |input - gt| (input brighter than gt by >= "
            f"{meta.get('derived_mask_threshold', 20)} "
            "levels in some channel): approximate"), None: "none"}[ds.get("mask_source")]
        lines += [
            f"## {name}",
            "",
            f"`{ds['path']}`: {ds['n_images']} images; GT glare mask: {source}; clean GT: "
            f"{'yes' if ds.get('has_gt') else 'no'}; contact sheet: {ds['primary']}"
            + (f"; outputs of {ds['primary']} in `{ds['outputs']}`." if ds.get("outputs")
               else "."),
            "",
        ]
        if "detection" in ds:
            lines += ["### Detection (pixel-wise vs GT mask)", ""]
            rows = []
            for det, d in ds["detection"].items():
                r, f = d["raw"], d["final"]
                rows.append([det] + [_f(r[k])
                                     for k in ("precision", "recall", "f1", "iou", "mean_f1")]
                            + [_f(f[k]) for k in ("precision", "recall", "f1", "iou", "mean_f1")])
            lines += _table(["detector", "raw P", "raw R", "raw F1", "raw IoU", "raw mean F1",
                             "final P", "final R", "final F1", "final IoU", "final mean F1"], rows)
        if "inpainting" in ds:
            lines += ["### Inpainting (mean over images, vs clean GT)", ""]
            rows = [
                [v, _f(s["psnr_region"], 2), _f(s["delta_psnr_region"], 2, signed=True),
                 _f(s["ssim_region"]),
                 _f(s["psnr_frame"], 2), _f(s["ssim_frame"])]
                for v, s in ds["inpainting"].items()
            ]
            lines += _table(["variant", "PSNR glare (dB)", "vs nothing (dB)", "SSIM glare",
                             "PSNR frame (dB)", "SSIM frame"], rows)
        if ds.get("artefacts"):
            lines += ["### Artefacts (% of the frame, mean / worst image)", "",
                      "Changed pixels that came out much darker (`max(B, G, R)` below "
                      f"{M.DARKENED_RATIO:g}x) or more saturated (HSV, by more than "
                      f"{M.OVERSATURATED_STEP:g}) than the unchanged pixels within "
                      f"{M.ARTEFACT_WINDOW // 2} px: dark blotches and garish dots where glare "
                      "was removed.", ""]
            rows = [[key] + [f"{_f(a[k], 3)} / {_f(a[k + '_worst'], 3)}"
                             for k in ("changed_pct", "darkened_pct", "oversaturated_pct")]
                    for key, a in ds["artefacts"].items()]
            lines += _table(["detector/backend", "changed", "darkened", "over-saturated"], rows)
        lines += ["### Runtime (median ms per image) and pass-through counts", ""]
        rows = []
        for key, t in ds["runtime_ms"].items():
            pt = ds.get("passthrough", {}).get(key, {})
            rows.append([key] + [_f(t[s], 2) for s in ("detect", "refine", "inpaint", "total")]
                        + [str(pt.get("empty_mask", 0)), str(pt.get("max_coverage", 0))])
        lines += _table(["detector/backend", "detect", "refine", "inpaint", "total",
                         "empty mask", "over max_coverage"], rows)
        if ds.get("runtime_ms_oracle_inpaint"):
            lines += ["Oracle inpainting, median ms: " + ", ".join(
                f"{b} {_f(v, 2)}" for b, v in ds["runtime_ms_oracle_inpaint"].items()), ""]
    return "\n".join(lines)


def write_markdown(report: dict[str, Any], path: str | Path) -> None:
    """Write :func:`render_markdown` to ``path`` (UTF-8)."""
    Path(path).write_text(render_markdown(report), encoding="utf-8")
