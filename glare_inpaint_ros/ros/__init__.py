"""The ROS 2 layer: the glare nodes, and two ways to compose them with your own (detector) node.

* Embed (no DDS hop): :class:`GlareFilter` runs the glare removal inside your node's callback.
* Same process, separate nodes: :func:`add_glare_nodes` puts the glare nodes on your executor
  (``glare_pipeline --add-node package.module:ClassName`` from the command line).
* The node classes: :class:`SpecularDetectorNode`, :class:`MaskDilationNode`,
  :class:`InpaintingNode`, :class:`GlareRemoverNode` (each takes ``rclpy.node.Node``'s keyword
  arguments: ``context``, ``namespace``, ``parameter_overrides``, ``cli_args`` ...).

Importing this package calls :func:`apply_defaults` (localhost discovery and the project's
FastDDS profile, only where you have not set them): import it **before** ``rclpy.init``, because
FastDDS reads the profile when the participant is created. The names are loaded lazily, so the
import itself stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from .env import apply_defaults, export_lines, profile_path

apply_defaults()

_LAZY = {
    "GlareFilter": ".embed",
    "add_glare_nodes": ".compose",
    "glare_nodes": ".compose",
    "load_node_class": ".compose",
    "GLARE_PIPELINES": ".compose",
    "SpecularDetectorNode": ".specular_detector_node",
    "MaskDilationNode": ".mask_dilation_node",
    "InpaintingNode": ".inpainting_node",
    "GlareRemoverNode": ".glare_remover_node",
    "StartupParameterError": ".params",
}

__all__ = ["apply_defaults", "export_lines", "profile_path", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
