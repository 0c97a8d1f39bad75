"""Specular / glare detectors, chosen by name through :data:`DETECTORS`.

Adding one: a module here with a :class:`Detector` subclass decorated with
``@DETECTORS.register("name")``, and one import line below.
"""

from ..registry import Registry
from .base import Detector

DETECTORS: Registry[Detector] = Registry("detector")

# Implementations register themselves on import (one line each).
from . import threshold, cluster, local_contrast, static, learned, dichromatic  # noqa: E402,F401

__all__ = ["DETECTORS", "Detector"]
