"""Process environment defaults for the ROS 2 side: local discovery and the project's FastDDS
profile.

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

This module imports no rclpy. Importing :mod:`glare_inpaint_ros.ros` calls :func:`apply_defaults`,
so a program that imports it before ``rclpy.init`` gets the defaults without doing anything; one
that calls ``rclpy.init`` first gets a warning from :class:`.embed.GlareFilter` /
:func:`.compose.glare_nodes` (:func:`late_warning`), since the profile is read when the DDS
participant is created.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, MutableMapping

if TYPE_CHECKING:
    import argparse

PACKAGE = "glare_inpaint_ros"
PROFILE_FILE = "fastdds_profile.xml"
PARAMS_FILE = "glare_inpaint.yaml"
PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
DISCOVERY_VAR = "ROS_AUTOMATIC_DISCOVERY_RANGE"

#: variables :func:`apply_defaults` set after ``rclpy.init`` had already run (too late to matter).
_set_late: dict[str, str] = {}

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
        raise FileNotFoundError(
            f"{name} not found in {path.parent} (installed share or source config/)")
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
    if changed and environ is None and _rclpy_initialised():
        _set_late.update(changed)
    return changed


def _rclpy_initialised() -> bool:
    """Whether rclpy's default context is already initialised (without importing rclpy)."""
    rclpy = sys.modules.get("rclpy")
    try:
        return bool(rclpy is not None and rclpy.ok())
    except Exception:  # noqa: BLE001 - a half-imported rclpy: not initialised
        return False


def late_warning() -> str | None:
    """A warning if :func:`apply_defaults` ran only after ``rclpy.init`` (the defaults then do not
    apply to this process's DDS participant), else None."""
    if not _set_late:
        return None
    return ("rclpy.init ran before the glare_inpaint_ros environment defaults were applied, so "
            "this process "
            f"runs without them ({', '.join(sorted(_set_late))}): import glare_inpaint_ros.ros "
            "(or call "
            "glare_inpaint_ros.ros.env.apply_defaults()) before rclpy.init, or start the process "
            "after "
            "`eval $(glare-inpaint env)`")


def export_lines(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """``export NAME=VALUE`` shell lines for local discovery and the FastDDS profile, for the
    user's own processes (camera driver, detector, bag player): the user's values where set, else
    the defaults of :func:`apply_defaults`. Printed by ``glare-inpaint env``
    (``eval $(glare-inpaint env)``).
    """
    import shlex

    env = dict(os.environ if environ is None else environ)
    apply_defaults(env)
    names = [DISCOVERY_VAR] + [v for v in PROFILE_VARS if v in env]
    return [f"export {name}={shlex.quote(env[name])}" for name in names]


def add_arguments(parser: "argparse.ArgumentParser") -> None:
    """``glare-inpaint env``: no options."""
    parser.epilog = ("Usage: eval $(glare-inpaint env) in the shell that starts your camera "
                     "driver, detector "
                     "or bag player. Values you have set are printed as they are.")


def run(args: "argparse.Namespace") -> int:
    """Print :func:`export_lines`, one per line."""
    print("\n".join(export_lines()))
    return 0
