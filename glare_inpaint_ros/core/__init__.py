"""ROS-free core: detection, mask operations, inpainting backends and the pipeline object.

Nothing in this package imports rclpy or any ROS message type.
"""

from .detectors import DETECTORS, Detector
from .inpainting import INPAINTERS, Inpainter
from .masks import MaskRefiner, RefinedMask
from .params import ParamSpec, Schema
from .pipeline import SCHEMA, GlareRemover, GlareResult, load_config

__all__ = [
    "DETECTORS", "Detector", "INPAINTERS", "Inpainter", "MaskRefiner", "RefinedMask",
    "ParamSpec", "Schema", "SCHEMA", "GlareRemover", "GlareResult", "load_config",
]
