"""flake8 over the package, its tests, tools and launch files, run as ROS 2 packages run it
(ament_flake8).

The configuration is the ``[flake8]`` section of ``setup.cfg``: ament_flake8's defaults plus the
deviations of our style, each explained there.
"""

from pathlib import Path

import pytest

main_with_errors = pytest.importorskip(
    "ament_flake8.main", reason="ament_flake8 is not installed (tools/setup.sh installs it)"
).main_with_errors

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["glare_inpaint_ros", "launch", "test", "tools", "setup.py"]


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # ament_flake8 skips the dot and underscore folders (.venv) of the cwd
    rc, errors = main_with_errors(argv=["--config", "setup.cfg", *PATHS])
    assert rc == 0, "Found %d code style errors / warnings:\n" % len(errors) + "\n".join(errors)
