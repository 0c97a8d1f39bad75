"""``glare-inpaint eval``: score the glare pipeline on data sets, write report.md / .json / contact
sheet.

For every data set (folders in the :mod:`.dataset` layout, and/or the seeded synthetic set) and
every combination of detector (``detector.type``) and inpainting backend (``inpainting.backend``)
on top of one base configuration (``--config``, else the defaults), each image is run through
:meth:`GlareRemover.process <glare_inpaint_ros.core.pipeline.GlareRemover.process>` (the detector
is reset first: images are unrelated frames) and scored:

* detection (when a GT mask exists, from ``mask/`` or derived from ``gt/``): pixel precision,
  recall, F1, IoU of the raw detector mask and of the final (refined, dilated) mask, pooled over
  all pixels of the set and as a mean per image (:mod:`.metrics`);
* inpainting (when a clean ``gt/`` image exists): PSNR (dB) and SSIM inside the GT glare region
  and over the whole frame for

  - ``nothing``: the input itself (the do-nothing baseline),
  - ``oracle/<backend>``: the backend filling the GT mask dilated like the pipeline dilates
    (``mask.dilation.*``), which judges inpainting apart from detection,
  - ``<detector>/<backend>``: the pipeline output;
* artefacts (every set, with or without ground truth: real video has none): the share of the
  frame each combination changed, and of it what came out much darker or more saturated than the
  unchanged surface around it, mean and worst image (:func:`.metrics.artefact_scores`), with
  the clean ground truth scored the same way as a reference where a set has one;
* runtime: median ms per stage (``detect``, ``refine``, ``inpaint``, ``total``) and how often the
  pipeline passed the frame through (``empty_mask``, ``max_coverage``).

No harm and downstream clients (``--no-glare DIR``, repeatable, ``--synthetic-content N`` and
``--synthetic-labels N``):

* every glare-free set (a folder of images, ``input/`` or flat) is run through every combination;
  every change is harm: per set and combination ``altered_pct``, ``content_altered_pct`` (bright,
  unsaturated pixels, :func:`.metrics.bright_content_mask`), ``min_psnr_db`` (worst whole-frame
  PSNR(output, input)) and the frames passed through (:func:`.metrics.no_harm_scores`);
* ``--synthetic-content N`` renders the glare-over-content set (:func:`.synth.make_content_sample`:
  lane paint, labels, white cars and signs, night scenes with glare on top; cached like the
  synthetic set in ``OUT/synthetic_content/``): it is scored like any set with ``mask/`` and
  ``gt/``, and its clean frames (``gt/``) are a no-glare set too (``content_clean``);
* ``--synthetic-labels N`` renders the glints-on-labels set the same way
  (:func:`.synth.make_glint_label_sample`: white print of short words on glossy stock with small
  clipped glints; ``OUT/synthetic_labels/``, clean frames ``labels_clean``);
* ``--camera blur=PX,jpeg=QUALITY`` records those two sets through a camera model
  (:class:`.synth.camera.Camera`: defocus, then JPEG with 4:2:0 chroma, on the input and the clean
  frame alike): real photos of labels are neither sharp nor lossless;
* downstream clients (``--clients``, default ``ocr,lanes``, :mod:`.clients`) score, on every
  no-glare set and on the content and labels sets, the clean frame, the frame with glare (those
  two sets only) and
  each combination's output against the scene's truth (rendered text, painted lane edges) or, for
  real photos, against what the client finds on the clean frame.

Outputs in ``--out``: ``report.md`` (tables), ``report.json`` (aggregates and per-image scores; NaN
written as null), ``contact_sheet.png`` (input | final mask | output | ground truth of a few
images per set, first detector/backend combination) (plus the worst no-harm frames of that
combination: input | final mask | output | altered pixels) and, for sets without clean ground truth
(or all sets with ``--save-outputs``), that combination's outputs in ``outputs/<set>/``. The
synthetic set is generated once into
``OUT/synthetic/n<N>_seed<S>_<W>x<H>_<hash of synth.py>/`` and reused by later runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from ...core.detectors import DETECTORS
from ...core.inpainting import INPAINTERS
from ...core.masks import coverage, dilate
from ...core.pipeline import GlareRemover, load_config
from ...core.registry import Registry
from ...synth.camera import Camera
from . import metrics as M
from .dataset import DERIVED_MASK_THRESHOLD, Dataset, NoGlareSet, write_image
from .report import SheetRow, write_contact_sheet, write_markdown

#: Images per data set shown in the contact sheet (evenly spaced through the set).
DEFAULT_SHEET_ROWS = 6
#: Name of the do-nothing baseline variant (the input scored against the clean image).
BASELINE = "nothing"
STAGES = ("detect", "refine", "inpaint", "total")
INPAINT_METRICS = ("psnr_region", "ssim_region", "psnr_frame", "ssim_frame")
#: Downstream clients run by default (``--clients``).
DEFAULT_CLIENTS = "ocr,lanes"
#: Worst no-harm frames per set shown in the contact sheet (at most ``--sheet-rows``).
NO_HARM_SHEET_ROWS = 3
#: A frame's content_altered_pct counts (in the mean and for "worst frame") only when bright
#: content covers at least this share (%) of it (a frame with a handful of bright pixels would read
#: 0 or 100 %).
MIN_CONTENT_PCT = 0.1
#: Name of the no-glare set made of the glare-over-content set's clean frames.
CONTENT_CLEAN = "content_clean"
#: No-glare set name of the glints-on-labels set's clean frames.
LABELS_CLEAN = "labels_clean"


@dataclass
class Combo:
    """One pipeline configuration under test: a detector and a backend on the base config."""

    detector: str
    backend: str
    remover: GlareRemover

    @property
    def key(self) -> str:
        return f"{self.detector}/{self.backend}"


def parse_names(text: str | None, registry: Registry, default: str) -> list[str]:
    """Comma-separated registry names; ``default`` when None.

    ``all`` stands for every registered name, ``default`` first (so the base configuration's own
    detector/backend is the primary combination shown in the contact sheet).

    Raises:
        ValueError: an unknown name (the message lists the known ones) or an empty list.
    """
    if text is None:
        return [default]
    names: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        expanded = ([default] + [n for n in registry.names() if n != default] if part == "all"
                    else [part])
        for name in expanded:
            registry.get(name)  # raises ValueError listing the known names
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError(f"empty {registry.kind} list {text!r}")
    return names


def build_combos(
    base: dict[str, Any], detectors: list[str], backends: list[str],
    skipped: dict[str, str] | None = None,
) -> list[Combo]:
    """A :class:`GlareRemover` per (detector, backend), in that nesting order.

    Args:
        skipped: if given, a combination that cannot be built with the base config (e.g. the
            ``static`` detector without its mask file, a learned backend without its model) is
            left out and its ``ValueError`` message stored here under ``detector/backend``;
            otherwise the error propagates.

    Raises:
        ValueError: a combination cannot be built (``skipped`` None), or none can.
    """
    combos = []
    for d in detectors:
        for b in backends:
            try:
                combos.append(
                    Combo(d, b,
                          GlareRemover({**base, "detector.type": d, "inpainting.backend": b})))
            except ValueError as exc:
                if skipped is None:
                    raise
                skipped[f"{d}/{b}"] = str(exc)
    if not combos:
        raise ValueError("no detector/backend combination could be built: "
                         + "; ".join(f"{k}: {v}" for k, v in (skipped or {}).items()))
    return combos


def synthetic_dataset(cache_root: Path, n: int, seed: int, size: tuple[int, int],
                      progress: bool = True) -> Path:
    """Folder of the seeded synthetic set under ``cache_root``, generated on first use.

    The folder name carries ``n``, ``seed``, the size and a hash of the generator's source
    (:mod:`.synth`), so a changed generator never reuses a stale cache. The set is written to a
    temporary sibling and renamed when complete, so an interrupted run leaves no half-written
    cache.
    """
    from ... import synth

    digest = hashlib.sha1(Path(synth.__file__).read_bytes()).hexdigest()[:8]
    folder = cache_root / f"n{n}_seed{seed}_{size[0]}x{size[1]}_{digest}"
    return _generate_once(
        folder, lambda tmp: synth.make_dataset(tmp, n=n, seed=seed, size=size, progress=progress))


def content_dataset(cache_root: Path, n: int, seed: int, size: tuple[int, int],
                    progress: bool = True, labels: bool = False,
                    camera: Camera | None = None) -> Path:
    """Folder of the seeded glare-over-content set (:func:`.synth.make_content_dataset`:
    ``input/``,
    ``mask/``, ``gt/``, ``truth/``) under ``cache_root``, generated on first use like
    :func:`synthetic_dataset` (the folder name hashes :mod:`.synth` and :mod:`.content`);
    ``labels``: the glints-on-labels set instead (:func:`.synth.make_glint_label_sample`);
    ``camera``: recorded through that camera model (:class:`.synth.camera.Camera`; its tag and
    module join the folder's name and hash)."""
    from ...synth import camera as camera_module, content
    from ... import synth

    active = camera is not None and camera.active
    sources = [synth.__file__, content.__file__] + ([camera_module.__file__] if active else [])
    digest = hashlib.sha1(b"".join(Path(f).read_bytes() for f in sources)).hexdigest()[:8]
    tag = f"_{camera.tag}" if active else ""
    folder = cache_root / f"n{n}_seed{seed}_{size[0]}x{size[1]}{tag}_{digest}"
    sample = synth.make_glint_label_sample if labels else synth.make_content_sample
    return _generate_once(folder, lambda tmp: synth.make_content_dataset(
        tmp, n=n, seed=seed, size=size, progress=progress, sample=sample,
        camera=camera if active else None))


def _generate_once(folder: Path, make: Any) -> Path:
    """``folder`` if it holds a set, else ``make(tmp)`` into a temporary sibling renamed when
    complete (an interrupted run leaves no half-written cache)."""
    if (folder / "input").is_dir():
        return folder
    tmp = folder.parent / f".{folder.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    make(tmp)
    tmp.rename(folder)
    return folder


def _oracle_mask(mask: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """The GT mask dilated exactly like the pipeline's refiner dilates (``mask.dilation.*``)."""
    return dilate(mask, config["mask.dilation.kernel_size"], config["mask.dilation.kernel_shape"],
                  config["mask.dilation.iterations"])


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else math.nan


def _detection_summary(counts: M.DetectionCounts,
                       per_image: list[dict[str, float]]) -> dict[str, float]:
    out = counts.scores()
    out["mean_f1"] = M.nanmean([s["f1"] for s in per_image])
    out["mean_iou"] = M.nanmean([s["iou"] for s in per_image])
    return out


#: The reference row of the artefact table: the clean ground truth against the input.
CLEAN_GT = "clean GT (reference)"


def _artefact_summary(per_image: list[dict[str, float]]) -> dict[str, float]:
    """Mean and worst image of each :func:`.metrics.artefact_scores` share over a set."""
    out: dict[str, float] = {}
    for key in ("changed_pct", "darkened_pct", "oversaturated_pct"):
        values = [s[key] for s in per_image if math.isfinite(s[key])]
        out[key] = M.nanmean(values)
        out[f"{key}_worst"] = max(values) if values else math.nan
    return out


def evaluate_dataset(
    dataset: Dataset,
    combos: list[Combo],
    base: dict[str, Any],
    *,
    limit: int | None = None,
    sheet_rows: int = DEFAULT_SHEET_ROWS,
    progress: bool = True,
    name: str | None = None,
    save_dir: Path | None = None,
    clients: list[Any] | None = None,
) -> tuple[dict[str, Any], list[SheetRow]]:
    """Run every combination over ``dataset`` and score it.

    Args:
        dataset: the images.
        combos: configurations under test; ``combos[0]`` fills the contact sheet.
        base: the base config (its ``mask.dilation.*`` dilates the oracle mask).
        limit: score only the first ``limit`` images (sorted by name).
        sheet_rows: images of this set to put in the contact sheet.
        progress: show a tqdm bar on stderr.
        name: the set's name in the report (default ``dataset.name``).
        save_dir: if given, the first combination's output and final mask of every image are
            written there as ``<stem>.png`` and ``<stem>_mask.png`` (255 = glare).
        clients: downstream clients (:mod:`.clients`) scored on the clean image (``gt/``, else the
            input), the input (when there is a clean image) and every combination's output, against
            the scene truth (``truth/``) or what the client finds on the clean image.

    Returns:
        the set's report section (one entry of ``report.json``'s ``datasets``) and its
        contact-sheet rows.
    """
    from tqdm import tqdm

    set_name = name or dataset.name
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
    names = dataset.names()[: limit if limit else None]
    detectors = list(dict.fromkeys(c.detector for c in combos))
    backends = list(dict.fromkeys(c.backend for c in combos))
    by_backend = {c.backend: c for c in reversed(combos)}  # any remover with that backend
    scored = dataset.has_gt
    n_sheet = min(max(sheet_rows, 0), len(names))
    sheet_idx = (set(np.linspace(0, len(names) - 1, n_sheet).round().astype(int).tolist())
                 if n_sheet else set())

    det_counts = {d: {"raw": M.DetectionCounts(), "final": M.DetectionCounts()} for d in detectors}
    det_images: dict[str, dict[str, list[dict[str, float]]]] = {d: {"raw": [], "final": []}
                                                                for d in detectors}
    variants = ([BASELINE] + [f"oracle/{b}" for b in backends] if scored
                else []) + [c.key for c in combos]
    values: dict[str, dict[str, list[float]]] = {v: {m: [] for m in INPAINT_METRICS}
                                                 for v in variants}
    times: dict[str, dict[str, list[float]]] = {c.key: {s: [] for s in STAGES} for c in combos}
    oracle_ms: dict[str, list[float]] = {b: [] for b in backends}
    passthrough: dict[str, Counter] = {c.key: Counter() for c in combos}
    images: list[dict[str, Any]] = []
    sheet: list[SheetRow] = []
    clients = clients or []

    for idx, stem in enumerate(tqdm(names, desc=set_name, unit="img", disable=not progress)):
        sample = dataset.load(stem)
        image, gt_mask, gt = sample.image, sample.mask, sample.gt
        record: dict[str, Any] = {
            "name": stem, "width": int(image.shape[1]), "height": int(image.shape[0]),
            "glare_fraction": None if gt_mask is None else coverage(gt_mask),
            "detection": {}, "inpainting": {}, "artefacts": {}, "passthrough": {},
            "total_ms": {},
        }
        refs = _client_references(clients, gt if gt is not None else image, dataset.truth(stem),
                                  None if gt is None else image, record)
        base_map = None
        if gt is not None:  # (what removing the glare really does: the reference row)
            record["artefacts"][CLEAN_GT] = M.artefact_scores(gt, image)
        if scored:
            base_map = M.ssim_map(image, gt)
            record["inpainting"][BASELINE] = M.image_scores(image, gt, gt_mask, base_map)
            oracle = _oracle_mask(gt_mask, base)
            for b in backends:
                t0 = time.perf_counter()
                out = by_backend[b].remover.inpaint(image, oracle)
                oracle_ms[b].append((time.perf_counter() - t0) * 1e3)
                # Inpainter contract: pixels outside the mask are the input's, bit for bit.
                smap = M.ssim_map_update(base_map, out, gt, oracle)
                record["inpainting"][f"oracle/{b}"] = M.image_scores(out, gt, gt_mask, smap)
        for combo in combos:
            combo.remover.reset()
            result = combo.remover.process(image)
            for stage in STAGES:
                # a frame passed through for max_coverage ran no inpaint stage: the stage's
                # median is over the frames that ran it (NaN, shown as "-", when none did)
                if stage in result.timings_ms:
                    times[combo.key][stage].append(result.timings_ms[stage])
            record["total_ms"][combo.key] = result.timings_ms["total"]
            record["passthrough"][combo.key] = result.passthrough
            if result.passthrough:
                passthrough[combo.key][result.passthrough] += 1
            if gt_mask is not None and combo.detector not in record["detection"]:
                det: dict[str, Any] = {"final_coverage": result.coverage}
                for kind, pred in (("raw", result.mask_raw), ("final", result.mask)):
                    counts = M.detection_counts(pred, gt_mask)
                    det_counts[combo.detector][kind] = det_counts[combo.detector][kind] + counts
                    det[kind] = counts.scores()
                    det_images[combo.detector][kind].append(det[kind])
                record["detection"][combo.detector] = det
            if scored:
                changed = result.mask if result.passthrough is None else np.zeros_like(result.mask)
                smap = M.ssim_map_update(base_map, result.image, gt, changed)
                record["inpainting"][combo.key] = M.image_scores(result.image, gt, gt_mask, smap)
            record["artefacts"][combo.key] = M.artefact_scores(result.image, image)
            _score_clients(clients, refs, combo.key, result.image, record)
            if combo is combos[0] and save_dir is not None:
                write_image(save_dir / f"{stem}.png", result.image)
                write_image(save_dir / f"{stem}_mask.png", result.mask)
            if combo is combos[0] and idx in sheet_idx:
                sheet.append(
                    SheetRow(set_name, stem, image, result.mask, result.image, gt, gt_mask))
        for variant, scores in record["inpainting"].items():
            for metric in INPAINT_METRICS:
                values[variant][metric].append(scores[metric])
        images.append(record)

    section: dict[str, Any] = {
        "name": set_name,
        "path": str(dataset.root),
        "n_images": len(names),
        "mask_source": dataset.mask_source,
        "has_gt": dataset.has_gt,
        "detectors": detectors,
        "backends": backends,
        "primary": combos[0].key,
    }
    if dataset.has_mask:
        section["detection"] = {
            d: {k: _detection_summary(det_counts[d][k], det_images[d][k])
                for k in ("raw", "final")}
            for d in detectors
        }
    if scored:
        base_psnr = values[BASELINE]["psnr_region"]
        inpainting: dict[str, Any] = {}
        for variant in variants:
            agg = {m: M.nanmean(values[variant][m]) for m in INPAINT_METRICS}
            agg["delta_psnr_region"] = M.nanmean(
                [v - b for v, b in zip(values[variant]["psnr_region"], base_psnr)]
            )
            agg["n_images"] = sum(math.isfinite(v) for v in values[variant]["psnr_region"])
            inpainting[variant] = agg
        section["inpainting"] = inpainting
    section["artefacts"] = {key: _artefact_summary([r["artefacts"][key] for r in images])
                            for key in ([CLEAN_GT] if dataset.has_gt else [])
                            + [c.key for c in combos]}
    section["runtime_ms"] = {
        key: {s: _median(v) for s, v in stages.items()} for key, stages in times.items()
    }
    if scored:
        section["runtime_ms_oracle_inpaint"] = {b: _median(v) for b, v in oracle_ms.items()}
    section["passthrough"] = {key: dict(c) for key, c in passthrough.items()}
    if clients:
        section["clients"] = _client_summary(clients, images, combos)
    section["images"] = images
    return section, sheet


# --------------------------------------------------------------------------- clients and no harm


def _client_references(clients: list[Any], clean: np.ndarray, truth: dict[str, Any] | None,
                       glare: np.ndarray | None, record: dict[str, Any]) -> dict[str, Any]:
    """Each client's reference for one frame; scores of the clean frame (and the glare frame) go
    into ``record["clients"][name]``. Clients that do not apply to the frame are left out."""
    refs: dict[str, Any] = {}
    record["clients"] = {}
    for client in clients:
        ref = client.reference(clean, truth)
        if ref is None:
            continue
        refs[client.name] = ref
        record["clients"][client.name] = {
            "clean": client.score_against(ref, clean),
            "glare": None if glare is None else client.score_against(ref, glare),
        }
    return refs


def _score_clients(clients: list[Any], refs: dict[str, Any], key: str, output: np.ndarray,
                   record: dict[str, Any]) -> None:
    for client in clients:
        if client.name in refs:
            record["clients"][client.name][key] = client.score_against(refs[client.name], output)


def _client_summary(clients: list[Any], images: list[dict[str, Any]],
                    combos: list[Combo]) -> dict[str, Any]:
    """Per client: mean ``clean``, ``glare`` (None without glare frames) and per-combination
    ``outputs`` scores over the frames it applies to, ``output`` = the first combination's,
    ``n_images``."""
    out: dict[str, Any] = {}
    for client in clients:
        recs = [r["clients"][client.name] for r in images if client.name in r.get("clients", {})]
        glare = [r["glare"] for r in recs if r["glare"] is not None]
        outputs = {c.key: M.nanmean([r[c.key] for r in recs]) for c in combos}
        out[client.name] = {
            "clean": M.nanmean([r["clean"] for r in recs]),
            "glare": M.nanmean(glare) if glare else None,
            "output": outputs[combos[0].key],
            "outputs": outputs,
            "n_images": len(recs),
            "primary": combos[0].key,
        }
    return out


def _altered_view(image: np.ndarray, output: np.ndarray) -> np.ndarray:
    """The input in grey with the altered pixels (:func:`.metrics.altered_mask`) in red."""
    view = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) // 2
    view[M.altered_mask(output, image)] = (0, 0, 255)
    return view


def evaluate_no_glare(
    dataset: NoGlareSet,
    combos: list[Combo],
    *,
    clients: list[Any] | None = None,
    limit: int | None = None,
    sheet_rows: int = NO_HARM_SHEET_ROWS,
    progress: bool = True,
    name: str | None = None,
) -> tuple[dict[str, Any], list[SheetRow]]:
    """Run every combination over a glare-free set: every change is harm.

    Per image and combination :func:`.metrics.no_harm_scores` and the pass-through reason; per
    combination ``altered_pct`` pooled over the set's pixels, ``content_altered_pct`` the mean over
    frames of each frame's share of bright content altered (frames whose bright content covers at
    least :data:`MIN_CONTENT_PCT` % of the frame; every such frame weighs the same, as in the
    lead's probe), ``content_altered_pct_pooled`` (every bright pixel of the set weighs the same:
    large bright
    areas such as a pale concrete road dominate it), the worst frame's ``content_altered_pct``,
    ``min_psnr_db`` and the pass-through count; the first combination's values also at the top
    level. With ``clients``: their scores on the input
    (``clean``) and each output, against the scene truth or the input's own reading.

    Returns:
        the set's ``no_harm`` section and contact-sheet rows of the first combination's
        ``sheet_rows`` worst frames (most bright content altered, then most pixels altered).
    """
    from tqdm import tqdm

    set_name = name or dataset.name
    names = dataset.names()[: limit if limit else None]
    clients = clients or []
    images: list[dict[str, Any]] = []
    worst: list[tuple[tuple[float, float], SheetRow]] = []
    for stem in tqdm(names, desc=f"{set_name} (no glare)", unit="img", disable=not progress):
        image = dataset.load(stem)
        record: dict[str, Any] = {"name": stem, "no_harm": {}, "passthrough": {}}
        refs = _client_references(clients, image, dataset.truth(stem), None, record)
        for combo in combos:
            combo.remover.reset()
            result = combo.remover.process(image)
            scores = M.no_harm_scores(result.image, image)
            record["no_harm"][combo.key] = scores
            record["passthrough"][combo.key] = result.passthrough
            _score_clients(clients, refs, combo.key, result.image, record)
            if combo is combos[0] and sheet_rows > 0:
                c = scores["content_altered_pct"]
                rank = (c if scores["content_pct"] >= MIN_CONTENT_PCT else -1.0,
                        scores["altered_pct"])
                if scores["altered_pct"] > 0 and (len(worst) < sheet_rows or rank > worst[-1][0]):
                    label = f"{stem[:14]} c {c:.0f}% f {scores['altered_pct']:.1f}%"
                    row = SheetRow(f"no harm: {set_name} (worst frames)", label, image,
                                   result.mask,
                                   result.image, _altered_view(image, result.image), None,
                                   last_title="altered > 8 levels (red)")
                    worst = sorted(worst + [(rank, row)], key=lambda t: t[0],
                                   reverse=True)[:sheet_rows]
        images.append(record)

    def with_content(rows: list[dict[str, float]]) -> list[dict[str, float]]:
        return [v for v in rows if v["content_pct"] >= MIN_CONTENT_PCT]

    per_combo: dict[str, Any] = {}
    for combo in combos:
        rows = [r["no_harm"][combo.key] for r in images]
        n = {k: sum(v[k] for v in rows)
             for k in ("n_pixels", "n_altered", "n_content", "n_content_altered")}
        passthrough = Counter(r["passthrough"][combo.key] for r in images
                              if r["passthrough"][combo.key])
        per_combo[combo.key] = {
            "altered_pct": 100.0 * n["n_altered"] / n["n_pixels"],
            "content_altered_pct": M.nanmean(
                [v["content_altered_pct"] for v in with_content(rows)]),
            "content_altered_pct_pooled": (100.0 * n["n_content_altered"] / n["n_content"]
                                           if n["n_content"]
                                           else math.nan),
            "worst_content_altered_pct": max((v["content_altered_pct"]
                                              for v in with_content(rows)),
                                             default=math.nan),
            "min_psnr_db": min(v["psnr_db"] for v in rows),
            "passthrough": dict(passthrough),
            "n_passthrough": sum(passthrough.values()),
        }
    primary = per_combo[combos[0].key]
    section: dict[str, Any] = {
        "name": set_name,
        "path": str(dataset.root),
        "n_images": len(names),
        "primary": combos[0].key,
        **{k: primary[k] for k in ("altered_pct", "content_altered_pct",
                                   "content_altered_pct_pooled",
                                   "worst_content_altered_pct", "min_psnr_db", "n_passthrough")},
        "content_pct": M.nanmean(
            [next(iter(r["no_harm"].values()))["content_pct"] for r in images]),
        "n_content_px": sum(next(iter(r["no_harm"].values()))["n_content"] for r in images),
        "combos": per_combo,
    }
    if clients:
        section["clients"] = _client_summary(clients, images, combos)
    section["images"] = images
    return section, [row for _, row in worst]


def _jsonable(value: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def evaluate(
    datasets: Iterable[Dataset],
    base: dict[str, Any],
    detectors: list[str],
    backends: list[str],
    out_dir: Path,
    *,
    limit: int | None = None,
    sheet_rows: int = DEFAULT_SHEET_ROWS,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
    save_outputs: bool = False,
    skip_unbuildable: bool = False,
    no_glare: Iterable[NoGlareSet] = (),
    clients: list[Any] | None = None,
    client_sets: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Evaluate every set and write ``report.md``, ``report.json`` and ``contact_sheet.png``.

    ``no_glare`` sets are scored for harm (:func:`evaluate_no_glare`, report key ``no_harm``);
    ``clients`` run on every no-glare set and on the ``datasets`` named in ``client_sets``
    (default: none of them); their summaries are collected under ``clients.<client>.<set>``.

    The first combination's outputs and masks go to ``out_dir/outputs/<set>/`` for sets without
    clean ground truth (nothing else shows how they fared), and for every set with
    ``save_outputs``. With ``skip_unbuildable`` combinations that cannot be built are left out
    (listed in ``meta.skipped``) instead of failing the run.

    Returns:
        the report as written to ``report.json`` (before NaN -> null).
    """
    skipped: dict[str, str] = {}
    combos = build_combos(base, detectors, backends, skipped if skip_unbuildable else None)
    for key, reason in skipped.items():
        print(f"glare-inpaint eval: skipping {key}: {reason}", file=sys.stderr)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "meta": {
            **(meta or {}),
            "detectors": list(dict.fromkeys(c.detector for c in combos)),
            "backends": list(dict.fromkeys(c.backend for c in combos)),
            "skipped": skipped,
            "config": base,
            "psnr_cap_db": M.PSNR_CAP_DB,
            "derived_mask_threshold": DERIVED_MASK_THRESHOLD,
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "opencv": cv2.__version__},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "datasets": {},
    }
    rows: list[SheetRow] = []
    client_sets = set(client_sets or ())
    for ds in datasets:
        key, i = ds.name, 2
        while key in report["datasets"]:
            key, i = f"{ds.name}_{i}", i + 1
        save_dir = out_dir / "outputs" / key if save_outputs or not ds.has_gt else None
        section, sheet = evaluate_dataset(ds, combos, base, limit=limit, sheet_rows=sheet_rows,
                                          progress=progress, name=key, save_dir=save_dir,
                                          clients=clients if ds.name in client_sets else None)
        if save_dir is not None:
            section["outputs"] = str(save_dir)
        report["datasets"][key] = section
        rows.extend(sheet)
    no_glare = list(no_glare)
    if no_glare:
        report["no_harm"] = {}
    for ds in no_glare:
        key, i = ds.name, 2
        while key in report["no_harm"]:
            key, i = f"{ds.name}_{i}", i + 1
        section, sheet = evaluate_no_glare(ds, combos, clients=clients, limit=limit,
                                           sheet_rows=min(sheet_rows, NO_HARM_SHEET_ROWS),
                                           progress=progress, name=key)
        report["no_harm"][key] = section
        rows.extend(sheet)
    if clients:
        report["clients"] = {c.name: {} for c in clients}
        sections = [(k, v) for k, v in report["datasets"].items() if "clients" in v]
        sections += list(report.get("no_harm", {}).items())
        for set_key, section in sections:
            for name, summary in section.get("clients", {}).items():
                if summary["n_images"]:  # left out where the client found nothing to score
                    report["clients"][name][set_key] = summary
    with open(out_dir / "report.json", "w", encoding="utf-8") as f:
        json.dump(_jsonable(report), f, indent=1, allow_nan=False)
    write_markdown(report, out_dir / "report.md")
    write_contact_sheet(rows, out_dir / "contact_sheet.png", title=f"{combos[0].key}")
    return report


# --------------------------------------------------------------------------- command line


def make_clients(text: str | None) -> list[Any]:
    """Downstream clients from a comma-separated list (``none`` or empty: no client).

    Raises:
        ValueError: an unknown client name.
        ImportError: a client's optional dependency is missing (the message names the extra).
    """
    from .clients import make_client

    names = [p.strip() for p in (text or "").split(",") if p.strip() and p.strip() != "none"]
    return [make_client(n) for n in dict.fromkeys(names)]


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT in px (e.g. 640x480), got {text!r}") from None
    return w, h


def _camera(text: str) -> Camera:
    try:
        return Camera.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``glare-inpaint eval``."""
    parser.add_argument("datasets", nargs="*", type=Path, metavar="DATASET",
                        help="data set folders (input/, optional mask/ and gt/)")
    parser.add_argument("--synthetic", type=int, metavar="N", default=0,
                        help="also evaluate the seeded synthetic set of N images "
                             "(generated once, cached in OUT/synthetic/)")
    parser.add_argument("--no-glare", action="append", type=Path, default=[], metavar="DIR",
                        help="glare-free image folder (input/ or flat), repeatable: every change "
                             "the chain "
                             "makes there is harm (report key no_harm)")
    parser.add_argument("--synthetic-content", type=int, metavar="N", default=0,
                        help="also evaluate the seeded glare-over-content set of N images (lane "
                             "paint, labels, "
                             "white cars and signs, night scenes; cached in "
                             "OUT/synthetic_content/); its clean "
                             f"frames are the no-glare set {CONTENT_CLEAN}")
    parser.add_argument("--synthetic-labels", type=int, metavar="N", default=0,
                        help="also evaluate the seeded glints-on-labels set of N images (white "
                             "print of short words on glossy stock with small clipped glints; "
                             "cached in OUT/synthetic_labels/); its clean frames are the no-glare "
                             f"set {LABELS_CLEAN}")
    parser.add_argument("--camera", type=_camera, default=Camera(), metavar="SPEC",
                        help="record the rendered content and labels sets through a camera "
                             "model: 'blur=PX,jpeg=QUALITY' (Gaussian defocus in px of a "
                             "640-px-wide frame, then JPEG with 4:2:0 chroma; input and clean "
                             "frame alike; default none)")
    parser.add_argument("--clients", default=DEFAULT_CLIENTS,
                        help="downstream clients scored on the no-glare and content sets, "
                             "comma-separated "
                             f"(ocr, lanes) or 'none' (default {DEFAULT_CLIENTS}; ocr needs the "
                             "eval extra)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic set seed (default 0)")
    parser.add_argument("--size", type=_size, default=(640, 480), metavar="WxH",
                        help="synthetic image size in px (default 640x480)")
    parser.add_argument("--config", type=Path,
                        help="base pipeline config (YAML, nested or ROS parameter file)")
    parser.add_argument("--detectors",
                        help="comma-separated detector types, or 'all' (default: the config's "
                        "detector.type); with 'all' those that cannot run on the config are "
                        "skipped")
    parser.add_argument("--backends",
                        help="comma-separated inpainting backends, or 'all' (default: the "
                             "config's "
                        "inpainting.backend); with 'all' those that cannot run on the config are "
                        "skipped")
    parser.add_argument("--limit", type=int, help="score only the first N images of each set")
    parser.add_argument("--sheet-rows", type=int, default=DEFAULT_SHEET_ROWS,
                        help=f"images per set in the contact sheet (default {DEFAULT_SHEET_ROWS})")
    parser.add_argument("--save-outputs", action="store_true",
                        help="write the first combination's outputs and masks to "
                             "OUT/outputs/<set>/ "
                             "(always done for sets without clean ground truth)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder for report.md/.json and contact_sheet.png")


def run(args: argparse.Namespace) -> int:
    """Run the evaluation; exit code 0, or 2 on a usage / data error (message on stderr)."""
    try:
        if not args.datasets and args.synthetic <= 0 and not args.no_glare and \
                args.synthetic_content <= 0 and args.synthetic_labels <= 0:
            raise ValueError("nothing to evaluate: give DATASET folders, --synthetic N, "
                             "--no-glare DIR, --synthetic-content N "
                             "and/or --synthetic-labels N")
        if args.limit is not None and args.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {args.limit}")
        from ..cli import output_folder

        output_folder(args.out)
        base = load_config(args.config)
        detectors = parse_names(args.detectors, DETECTORS, base["detector.type"])
        backends = parse_names(args.backends, INPAINTERS, base["inpainting.backend"])
        datasets = [Dataset(p) for p in args.datasets]
        if args.synthetic > 0:
            folder = synthetic_dataset(args.out / "synthetic", args.synthetic, args.seed,
                                       args.size,
                                       progress=not args.no_progress)
            w, h = args.size
            datasets.append(
                Dataset(folder, name=f"synthetic_n{args.synthetic}_seed{args.seed}_{w}x{h}"))
        no_glare = [NoGlareSet(p) for p in args.no_glare]
        client_sets = []
        for n, kind, clean_name in ((args.synthetic_content, "content", CONTENT_CLEAN),
                                    (args.synthetic_labels, "labels", LABELS_CLEAN)):
            if n <= 0:
                continue
            folder = content_dataset(args.out / f"synthetic_{kind}", n, args.seed, args.size,
                                     progress=not args.no_progress, labels=kind == "labels",
                                     camera=args.camera)
            w, h = args.size
            tag = f"_{args.camera.tag}" if args.camera.active else ""
            name = f"{kind}_n{n}_seed{args.seed}_{w}x{h}{tag}"
            datasets.append(Dataset(folder, name=name))
            client_sets.append(name)
            no_glare.append(
                NoGlareSet(folder / "gt", name=clean_name, truth_dir=folder / "truth"))
        clients = make_clients(args.clients) if (no_glare or client_sets) else []
        meta = {"argv": list(sys.argv), "seed": args.seed, "synthetic": args.synthetic,
                "synthetic_size": list(args.size), "limit": args.limit,
                "synthetic_content": args.synthetic_content,
                "synthetic_labels": args.synthetic_labels, "camera": args.camera.tag or None,
                "clients": [c.name for c in clients]}
        report = evaluate(datasets, base, detectors, backends, args.out, limit=args.limit,
                          sheet_rows=args.sheet_rows, progress=not args.no_progress, meta=meta,
                          save_outputs=args.save_outputs,
                          skip_unbuildable="all" in f"{args.detectors},{args.backends}".split(","),
                          no_glare=no_glare, clients=clients, client_sets=client_sets)
    except (ValueError, OSError, ImportError) as exc:
        print(f"glare-inpaint eval: error: {exc}", file=sys.stderr)
        return 2
    for name, section in report["datasets"].items():
        print(f"{name}: {section['n_images']} images", end="")
        if "detection" in section:
            best = max(section["detection"].items(), key=lambda kv: kv[1]["raw"]["f1"])
            print(f", best raw F1 {best[1]['raw']['f1']:.3f} ({best[0]})", end="")
        if "inpainting" in section:
            prim = section["inpainting"][section["primary"]]
            print(f", {section['primary']} glare-region PSNR {prim['psnr_region']:.2f} dB "
                  f"({prim['delta_psnr_region']:+.2f} dB vs nothing)", end="")
        print()
    for name, section in report.get("no_harm", {}).items():
        print(f"{name} (no glare): {section['n_images']} images, {section['primary']} altered "
              f"{section['altered_pct']:.2f} % of pixels, {section['content_altered_pct']:.1f} % "
              "of bright content, "
              f"min PSNR {section['min_psnr_db']:.1f} dB")
    for client, sets in report.get("clients", {}).items():
        for name, s in sets.items():
            glare = "-" if s["glare"] is None else f"{s['glare']:.3f}"
            print(
                f"{client} on {name}: clean {s['clean']:.3f}, glare {glare}, {s['primary']} "
                f"{s['output']:.3f}")
    print(f"wrote {args.out / 'report.md'}, report.json, contact_sheet.png")
    return 0
