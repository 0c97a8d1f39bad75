"""Smoke runs of the benchmark suite (``glare-inpaint bench``): structure and sanity, never timing
bars."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from glare_inpaint_ros.tooling.bench.core import naive_remove_glare, summarize, time_calls
from glare_inpaint_ros.tooling.bench.frames import FrameCache, make_frame
from glare_inpaint_ros.tooling.cli import main


def _positive(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_frames_have_the_requested_glare_coverage() -> None:
    f = make_frame((320, 180), 0.02, 0)
    assert f.image.shape == (180, 320, 3) and f.image.dtype == np.uint8
    assert f.gt_mask.shape == (180, 320) and set(np.unique(f.gt_mask)) <= {0, 255}
    assert 0.01 < np.count_nonzero(f.gt_mask) / f.gt_mask.size < 0.03
    assert not f.image.flags.writeable  # shared between sections: must not be modified
    with pytest.raises(ValueError, match="coverage"):
        make_frame((320, 180), 0.9, 0)
    with pytest.raises(ValueError, match="size"):
        make_frame((4, 180), 0.02, 0)
    with pytest.raises(ValueError, match="count"):
        FrameCache(0)


def test_timing_helpers() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s["median_ms"] == 2.5 and s["n"] == 4 and 3.0 < s["p95_ms"] <= 4.0
    assert summarize([])["n"] == 0
    calls: list[int] = []
    times = time_calls(calls.append, [1, 2], frames=5, max_s=60.0)
    assert len(times) == 5 and calls == [1, 1, 2, 1, 2, 1]  # one warm-up call, then cycling
    with pytest.raises(ValueError, match="frames"):
        time_calls(calls.append, [1], frames=0, max_s=1.0)


def test_naive_baseline_fills_the_glare() -> None:
    f = make_frame((320, 240), 0.02, 1)
    out, mask = naive_remove_glare(f.image)
    assert out.shape == f.image.shape and mask.shape == f.gt_mask.shape
    glare = f.gt_mask > 0
    assert np.count_nonzero(mask[glare]) > 0.5 * np.count_nonzero(glare)  # finds most of the glare
    assert out[glare].mean() < f.image[glare].mean() - 10  # and darkens it
    np.testing.assert_array_equal(out[mask == 0], f.image[mask == 0])


def test_cli_core_and_naive_smoke(tmp_path, capsys) -> None:
    code = main(
        [
            "bench", "--quick", "--sections", "core,naive", "--sizes", "320x240", "--coverages",
            "0.02", "--detectors", "threshold,static", "--backends", "fast,telea", "--frames", "3",
            "--out", str(tmp_path), "--no-plot",
        ]
    )
    assert code == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    rows = data["core"]["rows"]
    got = {(r["stage"], r["name"]) for r in rows}
    assert got == {
        ("detect", "threshold"), ("detect", "static"), ("refine", "mask"), ("inpaint", "fast"),
        ("inpaint", "telea"), ("pipeline", "default"),
    }
    for r in rows:
        assert (r["width"], r["height"]) == (320, 240) and r["coverage"] == 0.02
        assert r["n"] >= 3 and r["p95_ms"] >= r["median_ms"] > 0
        assert 0.0 <= r["mask_coverage"] < 0.25
    inpaint = [r for r in rows if r["stage"] == "inpaint"]
    # the dilated GT mask is what gets filled
    assert all(r["mask_coverage"] > 0.02 for r in inpaint)
    naive = data["naive"]
    assert (
        _positive(naive["speedup"])
        and _positive(naive["speedup_same_mask"])
        and naive["naive"]["n"] >= 10
    )
    assert _positive(naive["naive_mask_coverage"]) and _positive(naive["default_mask_coverage"])
    assert data["meta"]["machine"]["nproc"] >= 1
    assert [b for b in data["bars"] if b["bar"].startswith("default vs naive")]
    assert "naive baseline vs default pipeline" in capsys.readouterr().out


def test_cli_rejects_bad_arguments(tmp_path, capsys) -> None:
    assert main(["bench", "--sections", "core,gpu", "--out", str(tmp_path)]) == 2
    assert "unknown section(s) gpu" in capsys.readouterr().err
    assert (
        main(["bench", "--sections", "ros", "--pipelines", "fused,warp", "--out", str(tmp_path)])
        == 2
    )
    assert "unknown pipeline(s) warp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "640by480"])


@pytest.mark.ros
@pytest.mark.slow
def test_ros_and_memory_smoke() -> None:
    pytest.importorskip("rclpy")
    from glare_inpaint_ros.tooling.bench.report import evaluate_bars
    from glare_inpaint_ros.tooling.bench.ros import run_memory, run_ros

    cache = FrameCache(1)
    ros = run_ros(
        cache, pipelines=["relay", "fused"], sizes=[(320, 240)], seconds=1.0, warmup_s=0.5
    )
    assert ros["env"]["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert ros["env"]["FASTRTPS_DEFAULT_PROFILES_FILE"].endswith("fastdds_profile.xml")
    for name in ("relay", "fused"):
        res = ros["pipelines"][name]
        assert res["exit_codes"] == [0] and "tracebacks" not in res
        assert [p["mode"] for p in res["phases"]] == ["rate", "flat"]
        for ph in res["phases"]:
            assert (ph["width"], ph["height"]) == (320, 240)
            assert (
                ph["sent"] > 0
                and 0 < ph["received"] <= ph["sent"]
                and ph["lost"] == ph["sent"] - ph["received"]
            )
            assert _positive(ph["fps"])
            lat = ph["latency"]
            assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
            assert set(ph["cpu_percent"]) == set(res["processes"]) | {"probe"}
            assert all(v >= 0 for v in ph["cpu_percent"].values())
    mem = run_memory(cache, pipelines=["fused"], size=(320, 240), frames=150, first=100)
    res = mem["pipelines"]["fused"]
    samples = res["phases"][0]["rss"]
    assert [s["outputs"] for s in samples] == [100, 150]
    assert all(_positive(v) for s in samples for v in s["rss_mib"].values())
    assert set(res["rss_growth_mib"]) == {"glare_remover_node"}
    bars = evaluate_bars({"ros": ros, "memory": mem})
    assert any(b["bar"].startswith("frames lost") for b in bars)
    assert any(b["bar"].startswith("fused: RSS growth") for b in bars)
