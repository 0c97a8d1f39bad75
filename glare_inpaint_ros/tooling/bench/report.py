"""Benchmark output: the bars (pass/fail against the project's targets), the text table,
``bench.json`` and the ``bench.png`` plot (matplotlib, Agg backend).

Units: ms for durations, frames/s for rates, MiB for memory, % of one core for CPU, fractions
0..1 (printed as %) for coverages.
"""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any

#: RSS growth (MiB) between the first and last memory sample still counted as "flat".
MEMORY_FLAT_MIB = 10.0


def machine_info() -> dict[str, Any]:
    """CPU count, CPU model name (``/proc/cpuinfo`` / ``lscpu``), Python / OpenCV / numpy
    versions."""
    import cv2
    import numpy as np

    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "opencv": cv2.__version__, "numpy": np.__version__, "platform": platform.platform()}


def _phase(ros: dict[str, Any] | None, pipeline: str, size: tuple[int, int],
           mode: str) -> dict[str, Any] | None:
    if not ros or pipeline not in ros.get("pipelines", {}):
        return None
    for ph in ros["pipelines"][pipeline]["phases"]:
        if ph["mode"] == mode and (ph["width"], ph["height"]) == size:
            return ph
    return None


def _core_row(core: dict[str, Any] | None, stage: str, name: str, size: tuple[int, int],
              coverage: float) -> dict[str, Any] | None:
    for row in (core or {}).get("rows", []):
        if (row["stage"], row["name"], row["width"], row["height"]) == (stage, name, *size) and \
                math.isclose(row["coverage"], coverage):
            return row
    return None


def _bar(name: str, value: float | None, target: str, ok: bool | None,
         detail: str = "") -> dict[str, Any]:
    return {"bar": name, "value": value, "target": target, "pass": ok, "detail": detail}


def evaluate_bars(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's performance bars, from whatever sections ran (``pass`` None = not
    measured)."""
    bars: list[dict[str, Any]] = []
    naive = results.get("naive")
    if naive:
        bars.append(_bar(f"default vs naive speed-up at {naive['width']}x{naive['height']}, "
                         f"{naive['coverage']:.0%} mask",
                         naive["speedup"], ">= 3x", naive["speedup"] >= 3.0,
                         f"naive {naive['naive']['median_ms']:.1f} ms, default "
                         f"{naive['default']['median_ms']:.1f} ms (median)"))
    ros = results.get("ros")
    for size, fps in (((1920, 1080), 30.0), ((1280, 720), 60.0)):
        ph = _phase(ros, "fused", size, "flat")
        if ph:
            bars.append(
                _bar(f"fused node FPS at {size[0]}x{size[1]} (flat out)", ph["fps"], f">= {fps:g}",
                     ph["fps"] >= fps))
    ph = _phase(ros, "three", (1280, 720), "flat")
    if ph:
        bars.append(
            _bar("three-process pipeline FPS at 1280x720 (flat out)", ph["fps"], ">= 30",
                 ph["fps"] >= 30.0))
    for size in ((1280, 720), (1920, 1080)):
        fused, relay = _phase(ros, "fused", size, "rate"), _phase(ros, "relay", size, "rate")
        proc = _core_row(results.get("core"), "pipeline", "default", size,
                         (ros or {}).get("coverage", 0.02))
        if fused and relay:
            limit = 2.0 * relay["latency"]["p95_ms"] + (proc["p95_ms"] if proc else float("nan"))
            ok = None if not proc else fused["latency"]["p95_ms"] <= limit
            bars.append(_bar(f"fused latency p95 at {size[0]}x{size[1]}, {fused['rate_hz']:g} Hz",
                             fused["latency"]["p95_ms"],
                             f"<= 2 x relay p95 + processing p95 = {limit:.1f} ms", ok,
                             f"relay p95 {relay['latency']['p95_ms']:.1f} ms, processing p95 "
                             + (f"{proc['p95_ms']:.1f} ms (core section)" if proc
                                else "n/a (core section not run)")))
    embed, fused = _phase(ros, "embed", (1280, 720), "rate"), _phase(ros, "fused", (1280, 720),
                                                                     "rate")
    if embed and fused:
        e_flat, f_flat = _phase(ros, "embed", (1280, 720),
                                "flat"), _phase(ros, "fused", (1280, 720), "flat")
        ok = (embed["latency"]["p50_ms"] <= fused["latency"]["p50_ms"] and embed["lost"]
              <= fused["lost"])
        bars.append(_bar("embedded (GlareFilter) vs fused node at 1280x720, 30 Hz: latency p50 "
                         "ratio",
                         embed["latency"]["p50_ms"] / fused["latency"]["p50_ms"],
                         "<= 1 (and no more frames lost)", ok,
                         "embed p50/p95 "
                         f"{embed['latency']['p50_ms']:.1f}/{embed['latency']['p95_ms']:.1f} ms, "
                         f"lost {embed['lost']}; "
                         "fused "
                         f"{fused['latency']['p50_ms']:.1f}/{fused['latency']['p95_ms']:.1f} ms, "
                         f"lost {fused['lost']}"
                         + ("; CPU per frame flat out "
                            f"{e_flat.get('cpu_ms_per_frame', float('nan')):.1f} vs "
                            f"{f_flat.get('cpu_ms_per_frame', float('nan')):.1f} ms" if e_flat
                            and f_flat else "")))
    if ros:
        lost = {f"{name} {ph['name']}": ph["lost"] for name, res in ros["pipelines"].items()
                for ph in res["phases"] if ph["mode"] == "rate"}
        if lost:
            total = sum(lost.values())
            bars.append(_bar("frames lost at 30 Hz, reliable QoS (all pipelines)", float(total),
                             "0", total == 0,
                             ", ".join(f"{k}: {v}" for k, v in lost.items() if v) or "none"))
    mem = results.get("memory")
    for name, res in (mem or {}).get("pipelines", {}).items():
        growth = res.get("rss_growth_mib")
        if growth:
            worst = max(growth.values())
            first, last = res["rss_first_last"]
            bars.append(_bar(f"{name}: RSS growth {first} -> {last} frames (worst process)", worst,
                             f"<= {MEMORY_FLAT_MIB:g} MiB", worst <= MEMORY_FLAT_MIB,
                             ", ".join(f"{k} {v:+.1f}" for k, v in growth.items())))
    return bars


def _ms(row: dict[str, Any] | None) -> str:
    if not row or row["n"] == 0:
        return "-"
    return f"{_num(row['median_ms'])} / {_num(row['p95_ms'])}"


def _num(ms: float) -> str:
    """A duration in ms with 3 significant digits below 100 (0.042, 1.23, 12.3, 123)."""
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def format_table(results: dict[str, Any]) -> str:
    """The human-readable report of every section that ran, and the bars."""
    lines: list[str] = []
    m = results.get("meta", {}).get("machine", {})
    if m:
        lines.append(f"machine: {m.get('nproc')} CPUs, {m.get('cpu_model')}; OpenCV "
                     f"{m.get('opencv')}, "
                     f"cv2 threads {results['meta'].get('cv_threads')}")
    core = results.get("core")
    if core:
        covs = sorted({r["coverage"] for r in core["rows"]})
        sizes = sorted({(r["width"], r["height"]) for r in core["rows"]})
        lines.append("")
        lines.append(
            "core stages, ms median / p95 per frame (columns: glare coverage of the frame)")
        head = f"{'stage':9s} {'name':15s} {'size':>10s} " + " ".join(f"{c:>15.1%}" for c in covs)
        lines += [head, "-" * len(head)]
        keys = []
        for r in core["rows"]:
            if (r["stage"], r["name"]) not in keys:
                keys.append((r["stage"], r["name"]))
        for stage, name in keys:
            for size in sizes:
                cells = [_ms(_core_row(core, stage, name, size, c)) for c in covs]
                lines.append(
                    f"{stage:9s} {name:15s} "
                    f"{size[0]:>4d}x{size[1]:<5d} " + " ".join(f"{c:>15s}" for c in cells))
        for k, why in core.get("skipped", {}).items():
            lines.append(f"  skipped {k}: {why}")
    naive = results.get("naive")
    if naive:
        lines.append("")
        lines.append(f"naive baseline vs default pipeline at {naive['width']}x{naive['height']}, "
                     f"{naive['coverage']:.0%} glare (alternating frames, "
                     f"n={naive['naive']['n']})")
        lines.append(f"  naive (HSV + dilate + full-frame Telea): {_ms(naive['naive'])} ms, "
                     f"mask {naive['naive_mask_coverage']:.2%}")
        lines.append(f"  default ({naive['default_config']['detector.type']} + "
                     f"{naive['default_config']['inpainting.backend']}"
                     f", roi={naive['default_config']['inpainting.roi']}): "
                     f"{_ms(naive['default'])} ms, "
                     f"mask {naive['default_mask_coverage']:.2%}")
        lines.append(f"  speed-up (median): {naive['speedup']:.1f}x")
        if "telea_same_mask" in naive:
            lines.append("  full-frame Telea alone on the default's own mask: "
                         f"{_ms(naive['telea_same_mask'])} ms "
                         f"(default pipeline {naive['speedup_same_mask']:.1f}x faster)")
    for key, title in (("ros", "ROS 2 over DDS"), ("memory", "memory")):
        ros = results.get(key)
        if not ros:
            continue
        lines.append("")
        lines.append(
            f"{title}: reliable QoS, FastDDS profile, node opencv_threads "
            f"{ros.get('cv_threads') if ros.get('cv_threads') is not None else 'default (1)'}; "
            "latency = receive - header.stamp, ms; cpu/fr = CPU ms of the pipeline's "
            "processes per delivered frame; CPU % of one core per process")
        head = (f"{'pipeline':14s} {'phase':24s} {'fps':>6s} {'sent':>6s} {'lost':>5s} "
                f"{'p50':>7s} {'p95':>7s} "
                f"{'p99':>7s} {'cpu/fr':>7s}  cpu")
        lines += [head, "-" * len(head)]
        for name, res in ros["pipelines"].items():
            for ph in res["phases"]:
                lat = ph["latency"]
                cpu = " ".join(f"{k}={v:.0f}%" for k, v in ph.get("cpu_percent", {}).items())
                lines.append(f"{name:14s} {ph['name']:24s} {ph['fps']:6.1f} {ph['sent']:6d} "
                             f"{ph['lost']:5d} "
                             f"{lat['p50_ms']:7.1f} {lat['p95_ms']:7.1f} {lat['p99_ms']:7.1f} "
                             f"{ph.get('cpu_ms_per_frame', float('nan')):7.1f}  {cpu}")
                for sample in ph.get("rss", []):
                    lines.append(f"{'':9s}   RSS after {sample['outputs']:5d} outputs: "
                                 + " ".join(f"{k}={v:.1f} MiB" for k,
                                            v in sample["rss_mib"].items()))
            if res.get("tracebacks"):
                lines.append(f"  {name}: TRACEBACK in {', '.join(res['tracebacks'])}")
    bars = results.get("bars", [])
    if bars:
        lines.append("")
        lines.append("bars")
        for b in bars:
            mark = {True: "PASS", False: "MISS", None: "n/a "}[b["pass"]]
            value = "-" if b["value"] is None else f"{b['value']:.2f}"
            lines.append(
                f"  [{mark}] {b['bar']}: {value} (target "
                f"{b['target']})" + (f"; {b['detail']}" if b["detail"] else ""))
    return "\n".join(lines)


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, tuples -> lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_json(results: dict[str, Any], path: Path) -> Path:
    """Write ``results`` as indented JSON (NaN written as null)."""
    path.write_text(json.dumps(_clean(results), indent=1), encoding="utf-8")
    return path


def plot(results: dict[str, Any], path: Path) -> Path | None:
    """``bench.png``: inpainting and detection cost per frame, ROS FPS and latency. None if nothing
    to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    core, ros = results.get("core"), results.get("ros")
    panels = (2 if core else 0) + (2 if ros else 0)
    if not panels:
        return None
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2), squeeze=False)
    ax_iter = iter(axes[0])
    if core:
        sizes = sorted({(r["width"], r["height"]) for r in core["rows"]})
        size = (1280, 720) if (1280, 720) in sizes else sizes[-1]
        ax = next(ax_iter)
        for stage in ("inpaint", "pipeline"):
            for name in dict.fromkeys(r["name"] for r in core["rows"] if r["stage"] == stage):
                rows = sorted((r for r in core["rows"]
                               if (r["stage"], r["name"], r["width"],
                                   r["height"]) == (stage, name, *size)),
                              key=lambda r: r["coverage"])
                ax.plot([100 * r["coverage"] for r in rows], [r["median_ms"] for r in rows], "o-",
                        label=f"{stage}: {name}" if stage == "inpaint"
                        else "whole default pipeline")
        ax.set(xlabel="glare coverage, % of frame", ylabel="ms per frame (median)", yscale="log",
               title=f"inpainting at {size[0]}x{size[1]}")
        ax.legend(fontsize=7)
        ax = next(ax_iter)
        covs = sorted({r["coverage"] for r in core["rows"]})
        cov = 0.02 if any(math.isclose(c, 0.02) for c in covs) else covs[0]
        for stage in ("detect", "refine"):
            for name in dict.fromkeys(r["name"] for r in core["rows"] if r["stage"] == stage):
                rows = [r for r in core["rows"] if (r["stage"], r["name"]) == (stage, name)
                        and math.isclose(r["coverage"], cov)]
                rows.sort(key=lambda r: r["width"] * r["height"])
                ax.plot([r["width"] * r["height"] / 1e6 for r in rows],
                        [r["median_ms"] for r in rows], "o-",
                        label=f"{stage}: {name}")
        ax.set(xlabel="megapixels", ylabel="ms per frame (median)", yscale="log",
               title=f"detection and mask refinement ({cov:.0%} glare)")
        ax.legend(fontsize=7)
    if ros:
        names = list(ros["pipelines"])
        phases = list(
            dict.fromkeys(ph["name"] for res in ros["pipelines"].values() for ph in res["phases"]))
        width = 0.8 / max(1, len(names))
        ax = next(ax_iter)
        for i, name in enumerate(names):
            fps = {ph["name"]: ph["fps"] for ph in ros["pipelines"][name]["phases"]}
            ax.bar([j + i * width for j in range(len(phases))], [fps.get(p, 0.0) for p in phases],
                   width, label=name)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(phases))], phases, rotation=20,
                      fontsize=7)
        ax.set(ylabel="outputs / s", title="ROS 2 throughput (reliable QoS)")
        ax.legend(fontsize=7)
        ax = next(ax_iter)
        rate_phases = [p for p in phases if "@flat" not in p]
        for i, name in enumerate(names):
            lat = {ph["name"]: ph["latency"] for ph in ros["pipelines"][name]["phases"]}
            xs = [j + i * width for j in range(len(rate_phases))]
            p50 = [lat[p]["p50_ms"] if p in lat else 0.0 for p in rate_phases]
            p95 = [lat[p]["p95_ms"] if p in lat else 0.0 for p in rate_phases]
            ax.bar(xs, p95, width, alpha=0.4, color=f"C{i}")
            ax.bar(xs, p50, width, color=f"C{i}", label=name)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(rate_phases))], rate_phases,
                      fontsize=7)
        ax.set(ylabel="ms (solid p50, light p95)", title="end-to-end latency")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
