"""Same process, separate nodes: the glare nodes next to your own nodes on your executor.

rclpy has no component containers; composing means constructing node classes in one process and
spinning them on one executor (the idiom of ros2/examples' ``composition``). This module does it
for the glare nodes so that your detector can share their process:

.. code-block:: python

    from glare_inpaint_ros.ros import add_glare_nodes  # importing applies the env defaults
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    rclpy.init()                       # after the import: the FastDDS profile is read here
    executor = SingleThreadedExecutor()
    add_glare_nodes(executor, pipeline="fused", namespace="front",
                    params={"detector.type": "local_contrast"},
                    remappings={"image": "/front/image_raw"})
    executor.add_node(MyDetector())    # subscribes /front/image_deglared
    executor.spin()

Messages between the nodes still go through the RMW (FastDDS hands them over inside the process);
for no hop at all, run the glare removal inside your node's callback (:mod:`.embed`).

``glare_pipeline --add-node my_pkg.detector:MyDetector`` does the same from the command line (and
``add_node:=...`` in ``glare_composed.launch.py``): :func:`load_node_class` imports the class,
which is constructed with no arguments after the glare nodes (the process's ``--ros-args`` apply to
every node in it, yours included).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Mapping

from rclpy.executors import Executor
from rclpy.node import Node
from rclpy.parameter import Parameter

from .env import late_warning
from .pipelines import PIPELINES, node_class

#: node classes of each pipeline, in data-flow order (declared in :data:`.pipelines.PIPELINES`).
GLARE_PIPELINES: dict[str, tuple[type[Node], ...]] = {
    pipeline: tuple(node_class(name) for name in names) for pipeline, names in PIPELINES.items()
}


def glare_nodes(pipeline: str = "three", *, context: Any = None, namespace: str = "",
                params: Mapping[str, Any] | None = None, params_file: str | Path | None = None,
                remappings: Mapping[str, str] | None = None) -> list[Node]:
    """Construct the nodes of ``pipeline`` (``three`` or ``fused``, see :data:`GLARE_PIPELINES`).

    Args:
        pipeline: ``three`` or ``fused``.
        context: rclpy context (default: the global one, initialised by ``rclpy.init``).
        namespace: namespace of the nodes and their relative topics (one per camera).
        params: parameter values by dotted name (each node takes the ones it declares; an invalid
            value raises :class:`.params.StartupParameterError`).
        params_file: a ROS 2 parameter YAML (e.g. ``config/glare_inpaint.yaml``), applied before
            ``params``.
        remappings: topic remappings ``{"image": "/camera/image_raw"}``.
    """
    if pipeline not in GLARE_PIPELINES:
        raise ValueError(
            f"unknown pipeline {pipeline!r}; choose from {', '.join(GLARE_PIPELINES)}")
    cli_args = ["--ros-args"]
    for src, dst in (remappings or {}).items():
        cli_args += ["-r", f"{src}:={dst}"]
    if params_file:
        cli_args += ["--params-file", str(params_file)]
    nodes: list[Node] = []
    try:
        for cls in GLARE_PIPELINES[pipeline]:
            # Overrides for parameters a node does not declare are ignored by rclpy.
            overrides = [Parameter(k, value=v) for k, v in (params or {}).items()]
            nodes.append(
                cls(context=context, namespace=namespace, cli_args=cli_args,
                    parameter_overrides=overrides))
    except Exception:
        for node in nodes:
            node.destroy_node()
        raise
    late = late_warning()
    if late:
        nodes[0].get_logger().warning(late)
    return nodes


def add_glare_nodes(executor: Executor, pipeline: str = "three", *, context: Any = None,
                    namespace: str = "",
                    params: Mapping[str, Any] | None = None, params_file: str | Path | None = None,
                    remappings: Mapping[str, str] | None = None) -> list[Node]:
    """:func:`glare_nodes`, each added to ``executor``; returns them (destroy them when done).

    Use a ``SingleThreadedExecutor``: rclpy's ``MultiThreadedExecutor`` (and one executor thread
    per node) doubled the latency and lost more 720p frames at 30 Hz (docs/performance.md,
    "Executors").
    """
    nodes = glare_nodes(pipeline, context=context, namespace=namespace, params=params,
                        params_file=params_file, remappings=remappings)
    for node in nodes:
        executor.add_node(node)
    return nodes


def load_node_class(spec: str) -> type[Node]:
    """The class named by ``"package.module:ClassName"`` (imported); ``ValueError`` saying why if
    it is not one."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--add-node wants package.module:ClassName, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} for --add-node {spec}: {exc}") from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise ValueError(f"{spec}: not an rclpy Node subclass in {module_name}")
    return cls


__all__ = ["GLARE_PIPELINES", "add_glare_nodes", "glare_nodes", "load_node_class"]
