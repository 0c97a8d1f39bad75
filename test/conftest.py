"""Test session setup: a private DDS domain on localhost and the project's FastDDS profile.

Set before anything imports rclpy, so every node started by a test (in-process or as a child
process, which inherits the environment) lives on this run's own ``ROS_DOMAIN_ID``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The DDS domain of every node the tests start: GLARE_TEST_DOMAIN_ID if set (pin the tests to a
# domain other than your shell's, e.g. when a live robot uses that one), else your ROS_DOMAIN_ID
# (respected: you chose it, e.g. one per user on a shared machine), else one derived from the pid
# (1..100, the range that is safe on Linux). Shown in pytest's header.
if os.environ.get("GLARE_TEST_DOMAIN_ID"):
    os.environ["ROS_DOMAIN_ID"] = os.environ["GLARE_TEST_DOMAIN_ID"]
    _DOMAIN_FROM = "GLARE_TEST_DOMAIN_ID"
elif os.environ.get("ROS_DOMAIN_ID"):
    _DOMAIN_FROM = "your ROS_DOMAIN_ID"
else:
    os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
    _DOMAIN_FROM = "pid-derived; set GLARE_TEST_DOMAIN_ID to pin one"
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
_profile = ROOT / "config" / "fastdds_profile.xml"
if _profile.exists():
    os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(_profile)
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(_profile)



def pytest_report_header(config: pytest.Config) -> str:
    return f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} ({_DOMAIN_FROM}), ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST"


#: The classic brightness chain: for tests of mono frames and of hard-edged, saturated rendered
#: glare, which the default (colour-based, conservative) chain rightly leaves alone.
CLASSIC_CHAIN = {"detector.type": "threshold", "inpainting.backend": "fast"}



@pytest.fixture
def classic_yaml(tmp_path: Path) -> Path:
    """A pipeline YAML selecting :data:`CLASSIC_CHAIN`, for the command-line tools' ``--config``."""
    path = tmp_path / "classic_chain.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in CLASSIC_CHAIN.items()))
    return path


SHARED_DATA = ROOT.parent / "shared" / "data"


def stop_process(proc: subprocess.Popen) -> tuple[int, str]:
    """SIGINT a child process (a node, a CLI job), wait up to 15 s, kill it if needed; returns
    ``(exit code, its combined output)``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        text, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        text, _ = proc.communicate()
    return proc.returncode, text


@pytest.fixture(scope="module")
def ctx():
    """An initialised rclpy ``Context`` shared by one test module's nodes (skips without rclpy)."""
    rclpy = pytest.importorskip("rclpy")
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)
