"""Load every ``launch/*.launch.py`` with the real ``launch`` / ``launch_ros`` and check its
description.

Requirements. With a ROS 2 install (``source /opt/ros/jazzy/setup.bash``) everything is there. In
the wheels venv of ``tools/setup.sh``:

* the ``launch`` and ``launch_ros`` sources on ``PYTHONPATH`` (no wheels: e.g. the ``jazzy``
  branches of ros2/launch and ros2/launch_ros; put their inner ``launch/`` and ``launch_ros/``
  folders' parents on the path);
* the pure-Python packages they import: ``pip install osrf_pycommon lark`` (lark parses
  substitutions);
* ``composition_interfaces``, imported by ``launch_ros`` for composable nodes (not used by these
  launch files); it has no wheel, so when it is missing this tool installs a stub module in its
  place (:func:`stub_composition_interfaces`);
* for ``--run``: the package installed where ament_index finds it with its executables
  (``.venv/bin/python -m colcon build`` + ``source install/setup.bash``, see
  tools/check_colcon_venv.py).

For each file: import it the way
``ros2 launch`` does, call ``generate_launch_description()``, and list its launch arguments and
node executables. With ``--run SECONDS`` each file is also launched for real (needs the package
installed: ``colcon build`` + ``source install/setup.bash``, so that ``ros2 run`` would find the
executables), and the nodes and the ``image_deglared`` topic are looked for on the ROS graph.

    PYTHONPATH=/path/to/launch:/path/to/launch_ros:$PYTHONPATH python tools/check_launch.py
    python tools/check_launch.py --run 8 --launch-arg namespace:=cam1 --launch-arg
    image:=/cam1/image_raw

Exit code 0 when every file loaded (and, with ``--run``, every expected node appeared).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from glare_inpaint_ros.ros.pipelines import COMPOSED, PIPELINES  # noqa: E402


def expected_nodes(executables: list[str], pipeline: str = "three") -> set[str]:
    """Node names the executables bring up (inside the pushed namespace): a node executable its
    own node, ``glare_pipeline`` the nodes of ``pipeline``."""
    return {node for exe in executables
            for node in (PIPELINES[pipeline] if exe == COMPOSED else (exe,))}


def stub_composition_interfaces() -> bool:
    """Put a stub ``composition_interfaces.srv`` in ``sys.modules`` if the real one is missing.

    ``launch_ros`` imports it (and names ``LoadNode.Request`` in annotations) only for
    ``LoadComposableNodes``, which no launch file here uses. Returns True if the stub was
    installed.
    """
    try:
        import composition_interfaces.srv  # noqa: F401
        return False
    except ImportError:
        pass
    import types

    pkg, srv = (types.ModuleType("composition_interfaces"),
                types.ModuleType("composition_interfaces.srv"))
    for name in ("LoadNode", "UnloadNode", "ListNodes"):
        service = type(name, (),
                       {"Request": type("Request", (), {}), "Response": type("Response", (), {})})
        setattr(srv, name, service)
    pkg.srv = srv
    sys.modules.update({"composition_interfaces": pkg, "composition_interfaces.srv": srv})
    return True


def load(path: Path) -> Any:
    """``generate_launch_description()`` of ``path``, loaded like ``ros2 launch`` loads it."""
    from launch.launch_description_sources import get_launch_description_from_python_launch_file

    return get_launch_description_from_python_launch_file(str(path))


def describe(description: Any) -> tuple[list[str], list[str]]:
    """(declared argument names, node executables) of a description, searching groups too."""
    from launch.actions import DeclareLaunchArgument, GroupAction
    from launch_ros.actions import Node

    args, executables = [], []

    def walk(entities: Any) -> None:
        for entity in entities:
            if isinstance(entity, DeclareLaunchArgument):
                args.append(entity.name)
            elif isinstance(entity, Node):
                exe = entity.node_executable
                executables.append(exe if isinstance(exe, str)
                                   else "".join(getattr(s, "text", "?") for s in exe))
            elif isinstance(entity, GroupAction):
                walk(entity.get_sub_entities())

    walk(description.entities)
    return args, executables


def run(path: Path, seconds: float, launch_args: list[str]) -> tuple[set[str], set[str]]:
    """Launch ``path`` for ``seconds``; return the node names and topic names seen on the graph."""
    import rclpy
    from launch import LaunchDescription, LaunchService
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    pairs = [a.split(":=", 1) for a in launch_args]
    include = IncludeLaunchDescription(PythonLaunchDescriptionSource(str(path)),
                                       launch_arguments=[(k, v) for k, v in pairs])
    service = LaunchService()
    service.include_launch_description(LaunchDescription([include]))
    seen: set[str] = set()
    topics: set[str] = set()

    async def probe() -> None:
        rclpy.init(args=[])
        node = rclpy.create_node("check_launch_probe")
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            await asyncio.sleep(0.5)
            for name, ns in node.get_node_names_and_namespaces():
                seen.add(f"{ns.rstrip('/')}/{name}")
            topics.update(name for name, _ in node.get_topic_names_and_types())
        node.destroy_node()
        rclpy.shutdown()
        # shutdown() returns None (not a coroutine) when the service already stopped, e.g. after
        # every node process died: awaiting that was the TypeError.
        pending = service.shutdown()
        if pending is not None:
            await pending

    async def main() -> None:
        await asyncio.gather(service.run_async(), probe())

    asyncio.run(main())
    return seen, topics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launch-dir", type=Path, default=ROOT / "launch")
    parser.add_argument("--run", type=float, default=0.0, metavar="SECONDS",
                        help="also launch each file for this long")
    parser.add_argument("--launch-arg", action="append", default=[], metavar="NAME:=VALUE",
                        help="argument for --run (repeatable)")
    args = parser.parse_args(argv)
    if stub_composition_interfaces():
        print(
            "composition_interfaces not installed: using a stub (composable nodes are not used "
            "here)", file=sys.stderr)
    try:
        import launch  # noqa: F401
        import launch_ros  # noqa: F401
    except ImportError as exc:
        print(f"launch / launch_ros not importable ({exc}); put them on PYTHONPATH and "
              "pip install osrf_pycommon lark (see this script's docstring)", file=sys.stderr)
        return 2
    files = sorted(args.launch_dir.glob("*.launch.py"))
    if not files:
        print(f"no *.launch.py in {args.launch_dir}", file=sys.stderr)
        return 2
    failures = 0
    for path in files:
        try:
            description = load(path)
            declared, executables = describe(description)
        except Exception as exc:  # report every file, not just the first broken one
            print(f"FAIL {path.name}: {type(exc).__name__}: {exc}")
            failures += 1
            continue
        print(f"ok   {path.name}: arguments {declared}, executables {executables}")
        if args.run > 0:
            launch_args = dict(a.split(":=", 1) for a in args.launch_arg)
            ns = launch_args.get("namespace", "").strip("/")
            prefix = f"/{ns}" if ns else ""
            expected = {f"{prefix}/{n}"
                        for n in expected_nodes(executables, launch_args.get("pipeline", "three"))}
            expected.add(f"{prefix}/image_deglared")
            seen, topics = run(path, args.run, args.launch_arg)
            missing = expected - seen - topics
            print(f"     ran {args.run:.0f} s: nodes {sorted(seen)}, topics {sorted(topics)}"
                  + (f"; MISSING {sorted(missing)}" if missing else ""))
            failures += bool(missing)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
