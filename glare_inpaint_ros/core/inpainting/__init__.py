"""Inpainting backends, chosen by name through :data:`INPAINTERS`.

Adding one: a module here with an :class:`Inpainter` subclass decorated with
``@INPAINTERS.register("name")``, and one import line below.
"""

from ..registry import Registry
from .base import Inpainter

INPAINTERS: Registry[Inpainter] = Registry("inpainting backend")

# Implementations register themselves on import (one line each).
from . import opencv, fast, separation  # noqa: E402,F401
from . import onnx_backend, learned, torch_backend  # noqa: E402,F401

__all__ = ["INPAINTERS", "Inpainter"]
