"""Process environment defaults for the ROS 2 side: local discovery and the project's FastDDS profile.

Shared by the demo, the tools and the tests. Every function here only *fills in* variables the
user has not set (``os.environ.setdefault`` semantics); an explicit setting always wins.

* ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``: discovery stays on this machine (Jazzy's
  replacement for ``ROS_LOCALHOST_ONLY``).
* ``FASTRTPS_DEFAULT_PROFILES_FILE=<share>/config/fastdds_profile.xml``: the shipped FastDDS
  2.x profile (64 MB shared-memory segment, UDPv4 on 127.0.0.1 only). Without it the default
  512 KB segment drops most best-effort frames of 640x480 and more. Not set if the user already
  set it or its Fast DDS 3 spelling ``FASTDDS_DEFAULT_PROFILES_FILE``.

Files are looked up in the installed package share (``share/glare_inpaint_ros/config`` via
ament_index, i.e. after ``colcon build`` + ``source install/setup.bash``), else in the source
tree's ``config/`` folder (a plain ``pip install -e .`` or a checkout).

This module imports no rclpy: it must run before the first ``import rclpy``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping

PACKAGE = "glare_inpaint_ros"
PROFILE_FILE = "fastdds_profile.xml"
PARAMS_FILE = "glare_inpaint.yaml"
PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
DISCOVERY_VAR = "ROS_AUTOMATIC_DISCOVERY_RANGE"

_SOURCE_CONFIG = Path(__file__).resolve().parents[2] / "config"


def config_dir() -> Path:
    """The folder holding ``glare_inpaint.yaml`` and ``fastdds_profile.xml``.

    The installed share folder (``<prefix>/share/glare_inpaint_ros/config``) when ament_index
    knows the package and the folder exists, else the source tree's ``config/``.
    """
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:  # no ament_index: plain venv without the ROS wheels
        return _SOURCE_CONFIG
    try:
        share = Path(get_package_share_directory(PACKAGE)) / "config"
    except (PackageNotFoundError, ValueError, OSError):  # OSError: AMENT_PREFIX_PATH unset
        return _SOURCE_CONFIG
    return share if share.is_dir() else _SOURCE_CONFIG


def config_file(name: str) -> Path:
    """Path of ``name`` in :func:`config_dir`; raises ``FileNotFoundError`` naming it if absent."""
    path = config_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} not found in {path.parent} (installed share or source config/)")
    return path


def profile_path() -> Path:
    """The shipped FastDDS profile (``config/fastdds_profile.xml``)."""
    return config_file(PROFILE_FILE)


def params_path() -> Path:
    """The default ROS 2 parameter file (``config/glare_inpaint.yaml``)."""
    return config_file(PARAMS_FILE)


def apply_defaults(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Fill in local discovery and the FastDDS profile in ``environ`` (default ``os.environ``).

    Only variables that are unset are written; a user's explicit value (even an empty one) is
    kept. Call before ``import rclpy`` / ``rclpy.init`` so the profile is read at participant
    creation; child processes inherit it.

    Returns:
        the variables this call set (name -> value), empty if the user had set them all.
    """
    env = os.environ if environ is None else environ
    changed: dict[str, str] = {}
    if DISCOVERY_VAR not in env:
        env[DISCOVERY_VAR] = changed[DISCOVERY_VAR] = "LOCALHOST"
    if not any(var in env for var in PROFILE_VARS):
        try:
            env[PROFILE_VARS[0]] = changed[PROFILE_VARS[0]] = str(profile_path())
        except FileNotFoundError:
            pass  # nothing shipped (stripped install): FastDDS defaults apply
    return changed
