"""``colcon build`` run by the venv's Python installs executables that use that Python
(tools/check_colcon_venv.py).

Slow (a real colcon build, ~10-20 s) and skipped unless colcon is installed in the test
interpreter (``tools/setup.sh`` does not install it): ``.venv/bin/python -m pip install colcon-core
colcon-ros colcon-python-setup-py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "check_colcon_venv", ROOT / "tools" / "check_colcon_venv.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_colcon_from_the_venv_writes_the_venv_python_into_the_shebangs(tmp_path):
    tool = _tool()
    if not tool.colcon_available():
        pytest.skip(f"colcon not installed in {sys.executable} "
                    "(pip install colcon-core colcon-ros colcon-python-setup-py)")
    assert tool.check(tmp_path) == []
