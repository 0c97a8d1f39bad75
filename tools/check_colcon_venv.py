"""Build this package with colcon *from the project's venv* and check the installed executables run
in it.

Why: ``colcon build`` writes the Python that runs colcon into the ``#!`` line of every executable
it installs (``lib/glare_inpaint_ros/glare_remover`` ...). A colcon installed in another venv (or
pipx) therefore installs nodes that run without this venv's rclpy: ``No module named 'rclpy'``.
The working way is to run colcon with the venv's own interpreter:

    .venv/bin/python -m pip install colcon-core colcon-ros colcon-python-setup-py   # once
    .venv/bin/python -m colcon build --base-paths src --build-base build --install-base install

This tool does exactly that in a temporary workspace (``src/glare_inpaint_ros`` -> this checkout),
then checks that every installed executable's ``#!`` is this interpreter and that
``glare_pipeline --help`` (which imports rclpy) runs from the install space.

    .venv/bin/python tools/check_colcon_venv.py [--keep]

Exit code 0 on success, 1 on a wrong shebang or a failing executable, 2 when colcon (with its
ROS extension, colcon-ros) is not installed in this interpreter. Takes ~10-20 s; the test
``test/test_colcon_venv.py`` runs it (marked slow, skipped without colcon).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "glare_inpaint_ros"


def colcon_available() -> bool:
    """Whether colcon and its ROS package support are importable by this interpreter."""
    return all(importlib.util.find_spec(m) is not None for m in ("colcon_core", "colcon_ros"))


def check(workspace: Path) -> list[str]:
    """Build into ``workspace`` and return the problems found (empty: all good)."""
    (workspace / "src").mkdir(parents=True, exist_ok=True)
    link = workspace / "src" / PACKAGE
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    build = subprocess.run(
        [sys.executable, "-m", "colcon", "--log-base", str(workspace / "log"), "build",
         "--base-paths", "src",
         "--build-base", "build", "--install-base", "install"],
        cwd=workspace, capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        return ["colcon build failed "
                f"({build.returncode}):\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"]
    lib = workspace / "install" / PACKAGE / "lib" / PACKAGE
    exes = sorted(p for p in lib.iterdir() if p.is_file()) if lib.is_dir() else []
    if not exes:
        return [f"no executables installed in {lib}"]
    problems = []
    for exe in exes:
        shebang = exe.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        interpreter = shebang[2:].strip().split()[0] if shebang.startswith("#!") else ""
        if not interpreter or Path(interpreter).absolute() != Path(sys.executable).absolute():
            problems.append(f"{exe.name}: {shebang!r}, expected #!{sys.executable}")
    run = subprocess.run([str(lib / "glare_pipeline"), "--help"], capture_output=True, text=True,
                         timeout=120,
                         env={**os.environ, "PYTHONPATH": ""})
    if run.returncode != 0:
        problems.append(
            f"installed glare_pipeline --help failed ({run.returncode}): {run.stderr[-1500:]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build with colcon from this venv and check the executables' shebangs.")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary workspace and print its path")
    args = parser.parse_args(argv)
    if not colcon_available():
        print(f"colcon is not installed in {sys.executable}: "
              f"{sys.executable} -m pip install colcon-core colcon-ros colcon-python-setup-py",
              file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="glare_colcon_"))
    try:
        problems = check(tmp)
    finally:
        if args.keep:
            print(f"workspace: {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print(f"FAIL {p}")
    if not problems:
        print(f"ok: colcon from {sys.executable} installs executables that run with it")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
