"""The glare pipelines, declared once: the executables of the package and the nodes of each
pipeline.

Plain data and the standard library only (no rclpy, no relative imports): ``setup.py`` loads
this file by path for its console scripts. Read by ``setup.py``, the launch files (through
:mod:`.launch_common`), :mod:`.compose` (the node classes), :mod:`.params` (the node modules whose
parameters go into ``config/glare_inpaint.yaml``) and the tools that start a pipeline as
processes (``glare-inpaint demo`` / ``soak`` / ``bench``, ``tools/measure_ros_latency.py``).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

#: the Python package the executables' modules live in (``<PACKAGE>.ros.<module>``).
PACKAGE = "glare_inpaint_ros"


class Executable(NamedTuple):
    """One console script (``ros2 run glare_inpaint_ros <name>``) of the package."""

    name: str  #: the console script; for a node executable also the node's name
    module: str  #: the module under ``glare_inpaint_ros.ros`` whose ``main`` it runs
    node_class: str | None = None  #: the node class it spins; None for :data:`COMPOSED`

    @property
    def module_path(self) -> str:
        """The full module name (``python -m`` runs it like the console script)."""
        return f"{PACKAGE}.ros.{self.module}"

    @property
    def target(self) -> str:
        """The entry point, ``"module:function"``."""
        return f"{self.module_path}:main"


#: every node executable, in data-flow order, then :data:`COMPOSED`.
EXECUTABLES: dict[str, Executable] = {e.name: e for e in (
    Executable("specular_detector", "specular_detector_node", "SpecularDetectorNode"),
    Executable("mask_dilation", "mask_dilation_node", "MaskDilationNode"),
    Executable("inpainting", "inpainting_node", "InpaintingNode"),
    Executable("glare_remover", "glare_remover_node", "GlareRemoverNode"),
    Executable("glare_pipeline", "pipeline_main"),
)}
#: the executable that runs one pipeline's nodes in one process (``--pipeline NAME``); its nodes
#: keep the names given in the code.
COMPOSED = "glare_pipeline"
#: node executables of each pipeline, in data-flow order (the default is the first).
PIPELINES: dict[str, tuple[str, ...]] = {
    "three": ("specular_detector", "mask_dilation", "inpainting"),
    "fused": ("glare_remover",),
}


def console_scripts() -> dict[str, str]:
    """Executable name -> entry point ``"module:function"`` (setup.py's console scripts)."""
    return {e.name: e.target for e in EXECUTABLES.values()}


def node_modules() -> tuple[str, ...]:
    """The full module names of the node executables (not :data:`COMPOSED`), in :data:`EXECUTABLES`
    order."""
    return tuple(e.module_path for e in EXECUTABLES.values() if e.node_class)


def node_processes(pipeline: str) -> dict[str, str]:
    """Node name -> module, one process per node of ``pipeline`` (``ValueError`` if unknown)."""
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; choose from {', '.join(PIPELINES)}")
    return {name: EXECUTABLES[name].module_path for name in PIPELINES[pipeline]}


def node_class(name: str) -> Any:
    """The node class of executable ``name``, imported (this imports rclpy)."""
    e = EXECUTABLES[name]
    if e.node_class is None:
        raise ValueError(f"{name} composes a pipeline; it has no node class of its own")
    return getattr(importlib.import_module(e.module_path), e.node_class)
