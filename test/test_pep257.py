"""Docstring style (pydocstyle) of the package, its tests, tools and launch files, as ROS 2
packages check it (ament_pep257)."""

from pathlib import Path

import pytest

main = pytest.importorskip(
    "ament_pep257.main", reason="ament_pep257 is not installed (tools/setup.sh installs it)").main

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["glare_inpaint_ros", "launch", "test", "tools", "setup.py"]
# Our docstrings are Google style (summary on the first line, "Args:" / "Raises:" sections), so the
# google convention instead of ament's (which wants the summary on the second line, D213, and
# numpy-style sections); plus ament's own ignores (D100-D107: docstrings are not required
# everywhere) and the deviations that setup.cfg's [flake8] section explains: D205, D209, D415 (the
# summary may wrap over lines, closing quotes on its last line) and D402 (false positives).
IGNORE = [
    "D100", "D101", "D102", "D103", "D104", "D105", "D106", "D107", "D205", "D209", "D402", "D415",
]


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rc = main(argv=[*PATHS, "--convention", "google", "--add-ignore", *IGNORE])
    assert rc == 0, "Found code style errors / warnings"
