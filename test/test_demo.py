"""``glare-inpaint demo`` end to end: real node processes over DDS, a few small frames."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from helpers import interrupt_cli

ROOT = Path(__file__).resolve().parents[1]


def _demo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # The child inherits conftest's private ROS_DOMAIN_ID, localhost discovery and profile.
    return subprocess.run([sys.executable, "-m", "glare_inpaint_ros.tooling.cli", "demo", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.ros
@pytest.mark.slow
def test_demo_three_nodes_round_trip(tmp_path):
    out = tmp_path / "demo"
    proc = _demo(
        "--out", str(out), "--frames", "6", "--width", "320", "--height", "240", "--rate", "15"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "three_nodes"
    assert report["frames_published"] == 6
    assert 1 <= report["frames_received"] <= 6
    assert report["frames_lost"] == 6 - report["frames_received"]
    # glare was actually removed (on a failure: the nodes' reasons for passing frames through)
    assert report["frames_unchanged"] < report["frames_received"], \
        report["passthrough_reasons"]
    assert report["latency_ms"]["p50"] > 0
    psnr = report["glare_region_psnr_db"]
    assert psnr["after"] > psnr["before"] + 3.0, psnr
    assert set(report["node_exit_codes"]) == {"specular_detector", "mask_dilation", "inpainting"}
    assert all(code == 0 for code in report["node_exit_codes"].values()), (
        report["node_exit_codes"],  # with the nodes' logs: a hung node's stacks (fault handler)
        {log.stem: log.read_text(errors="replace")[-3000:]
         for log in (out / "logs").glob("*.log")})
    panel = cv2.imread(str(out / "before_after.png"))
    assert panel is not None and panel.shape[1] == 2 * 480 and panel.shape[0] % 360 == 0
    assert "frames published / received / lost" in (out / "report.md").read_text()
    assert {p.name for p in (out / "logs").iterdir()} == {
        "specular_detector.log", "mask_dilation.log", "inpainting.log",
    }


@pytest.mark.ros
@pytest.mark.slow
def test_demo_reports_why_frames_passed_through(tmp_path):
    # A 1 ms sync timeout: the inpainting node cannot wait for the masks and passes frames through.
    params = tmp_path / "params.yaml"
    text = (ROOT / "config" / "glare_inpaint.yaml").read_text()
    assert "timeout_ms: 100.0" in text
    params.write_text(text.replace("timeout_ms: 100.0", "timeout_ms: 1.0"))
    out = tmp_path / "demo"
    proc = _demo("--out", str(out), "--frames", "4", "--width", "320", "--height", "240",
                 "--params-file", str(params))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    timeouts = report["passthrough_reasons"].get("mask_timeout", 0)
    assert report["frames_unchanged"] >= timeouts >= 1, report
    assert "mask_timeout: " in (out / "report.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["--frames", "0"], "--frames must be >= 1"),
    (["--width", "4"], "--width/--height must be >= 8"),
    (["--params-file", "/nonexistent.yaml"], "does not exist"),
])
def test_demo_rejects_bad_arguments(tmp_path, args, message):
    proc = _demo("--out", str(tmp_path), *args, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr


def _processes_with(text: str) -> set[int]:
    """Pids of the processes whose command line contains ``text``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.add(int(entry.name))
            except OSError:  # gone meanwhile
                pass
    return found


@pytest.mark.ros
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_demo_and_its_nodes_with_one_line(tmp_path, sig):
    """Ctrl-C, or ``kill`` / ``docker stop`` / a CI timeout (SIGTERM: its nodes used to run on as
    orphans), mid-stream: the node processes are stopped, one line, exit 128 + N."""
    nodes: set[int] = set()

    def nodes_up(proc: subprocess.Popen) -> bool:
        nodes.update(_processes_with(f"__ns:=/glare_demo_{proc.pid}"))
        if len(nodes) < 3:
            return False
        time.sleep(1.0)  # (into the nodes' start-up or the stream)
        return True

    proc = interrupt_cli(["demo", "--out", str(tmp_path / "demo"), "--frames", "100000",
                          "--width", "320", "--height", "240"], sig, nodes_up)
    left = nodes & _processes_with(f"__ns:=/glare_demo_{proc.pid}")
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the demo's node processes outlived it"
