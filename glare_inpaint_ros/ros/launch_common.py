"""Shared building blocks of the launch files in ``launch/`` (written once, used by each of them).

Launch arguments (all files):

* ``namespace`` (default ``''``): namespace pushed onto every node and relative topic; one
  namespace per camera, e.g. ``namespace:=front_camera``.
* ``image`` (default ``image``): the input topic, remapped onto the nodes' ``image``
  (relative names resolve inside ``namespace``; ``/camera/image_raw`` is absolute).
* ``params_file`` (default: the installed ``config/glare_inpaint.yaml``): ROS 2 parameter file.
* ``use_sim_time`` (default ``false``): use ``/clock`` (bag playback with ``--clock``).
* ``respawn`` (default ``true``): restart a node process that exits (a crash, a kill, the
  out-of-memory killer) after :data:`RESPAWN_DELAY_S` seconds; what the feed carries meanwhile is
  in docs/reliability.md ("A stage that dies"). A process that exits because of a bad parameter is
  restarted too, and logs its one FATAL line each time.
* ``fastdds_profile`` (default: ``$FASTRTPS_DEFAULT_PROFILES_FILE``, else
  ``$FASTDDS_DEFAULT_PROFILES_FILE``, else the installed ``config/fastdds_profile.xml``): exported
  as ``FASTRTPS_DEFAULT_PROFILES_FILE`` to the nodes, so a user's own setting is kept; ``''``
  leaves the variable alone (e.g. multi-host setups: the shipped profile's UDP is loopback-only).
* ``add_node`` (default ``''``; ``glare_pipeline`` only, i.e. ``glare_composed.launch.py``): your
  node classes to run in the glare process, ``package.module:ClassName`` (several:
  comma-separated),
  e.g. ``add_node:=my_detector.node:Detector``; they get the same namespace, parameters file and
  remappings (see :mod:`.compose`).
* ``pipeline`` (default ``three``; ``glare_pipeline`` only): ``three`` stage nodes or the ``fused``
  node.

Needs ``launch`` and ``launch_ros`` (a ROS 2 install); nothing else in the package imports this.
"""

from __future__ import annotations

import os
from typing import Sequence

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, LogInfo, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PythonExpression
from launch_ros.actions import Node, PushRosNamespace

from .env import PACKAGE, PARAMS_FILE, PROFILE_FILE, PROFILE_VARS
from .pipelines import COMPOSED

#: seconds between a node process's exit and its restart (``respawn``).
RESPAWN_DELAY_S = 2.0


def share_config(name: str) -> str:
    """Path of ``name`` in the installed ``share/glare_inpaint_ros/config``."""
    return os.path.join(get_package_share_directory(PACKAGE), "config", name)


def declare_arguments() -> list:
    """``DeclareLaunchArgument`` actions for every argument listed in the module docstring."""
    profile_default = EnvironmentVariable(
        PROFILE_VARS[0],
        default_value=EnvironmentVariable(PROFILE_VARS[1],
                                          default_value=share_config(PROFILE_FILE)),
    )
    return [
        DeclareLaunchArgument("namespace", default_value="",
                              description="Namespace of the nodes and topics (one per camera)."),
        DeclareLaunchArgument("image", default_value="image",
                              description="Input image topic, remapped onto 'image'."),
        DeclareLaunchArgument("params_file", default_value=share_config(PARAMS_FILE),
                              description="ROS 2 parameter file for the nodes."),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="Use the /clock topic as time source."),
        DeclareLaunchArgument("add_node", default_value="",
                              description="glare_pipeline only: your node classes "
                                          "(package.module:ClassName, comma-separated) to run in "
                                          "its process."),
        DeclareLaunchArgument("pipeline", default_value="three",
                              description="glare_pipeline only: 'three' stage nodes or the "
                                          "'fused' node."),
        DeclareLaunchArgument("respawn", default_value="true",
                              description="Restart a node process that exits, after "
                                          f"{RESPAWN_DELAY_S:g} s."),
        DeclareLaunchArgument(
            "fastdds_profile", default_value=profile_default,
            description="FastDDS XML profile exported as FASTRTPS_DEFAULT_PROFILES_FILE ('' = "
                        "leave the environment alone).",
        ),
    ]


def set_profile_env() -> SetEnvironmentVariable:
    """Export ``fastdds_profile`` as ``FASTRTPS_DEFAULT_PROFILES_FILE`` unless it is empty."""
    profile = LaunchConfiguration("fastdds_profile")
    return SetEnvironmentVariable(
        PROFILE_VARS[0], profile,
        condition=IfCondition(PythonExpression(["'", profile, "' != ''"])),
    )


def glare_node(executable: str) -> Node:
    """One node process of this package with the shared parameters and the ``image`` remapping.

    A node executable's node is named after it; ``glare_pipeline`` (:data:`.pipelines.COMPOSED`)
    gets no name, which keeps the names given in the code (its one process holds several nodes: a
    launch-level name would rename all of them).
    """
    arguments = []
    if executable == COMPOSED:  # composition options (before --ros-args)
        arguments = ["--pipeline", LaunchConfiguration("pipeline"), "--add-node",
                     LaunchConfiguration("add_node")]
    return Node(
        package=PACKAGE,
        executable=executable,
        name=None if executable == COMPOSED else executable,
        arguments=arguments,
        parameters=[LaunchConfiguration("params_file"),
                    {"use_sim_time": LaunchConfiguration("use_sim_time")}],
        remappings=[("image", LaunchConfiguration("image"))],
        output="screen",
        emulate_tty=True,
        respawn=LaunchConfiguration("respawn"),
        respawn_delay=RESPAWN_DELAY_S,
    )


def profile_notice() -> LogInfo:
    """A launch-output line: the user's own camera / detector processes need the profile too."""
    return LogInfo(
        msg=["glare_inpaint_ros: nodes use the FastDDS profile '",
             LaunchConfiguration("fastdds_profile"),
             "'. Start your camera driver and detector with it too, or they lose most large "
             "frames: "
             "eval $(ros2 run glare_inpaint_ros glare-inpaint env)"],
        condition=IfCondition(
            PythonExpression(["'", LaunchConfiguration("fastdds_profile"), "' != ''"])),
    )


def glare_launch_description(executables: Sequence[str]) -> LaunchDescription:
    """Arguments, profile export (and a notice about it) and one process per executable inside the
    pushed namespace."""
    group = GroupAction(
        [PushRosNamespace(LaunchConfiguration("namespace"))] + [glare_node(e)
                                                                for e in executables])
    return LaunchDescription(declare_arguments() + [set_profile_env(), profile_notice(), group])
