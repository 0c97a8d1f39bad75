"""``learned``: the project's own compact inpainting network, shipped with the package.

The model (``glare_inpaint_ros/models/glare_unet.onnx``, described by ``glare_unet.yaml``; card:
``models/MODEL_CARD.md``) is trained by ``glare-inpaint train``
(:mod:`glare_inpaint_ros.tooling.training`) and run through ONNX Runtime by the ``onnx`` backend's
machinery; no path is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import INPAINTERS
from .model import CROP_PARAMS, SHIPPED_SPEC, ModelInpainter, resolve_spec
from .onnx_backend import RUNTIME_PARAMS, OnnxInpainter


@INPAINTERS.register("learned")
class LearnedInpainter(OnnxInpainter):
    """The project's own compact network (``glare_inpaint_ros/models/glare_unet.onnx``, described
    by ``glare_unet.yaml``; see ``models/MODEL_CARD.md``) through ONNX Runtime; no path needed."""

    PARAMS = RUNTIME_PARAMS + CROP_PARAMS

    def __init__(self, *, roi: bool = True, roi_margin: int = 16, **params: Any) -> None:
        ModelInpainter.__init__(self, roi=roi, roi_margin=roi_margin, **params)
        spec = resolve_spec(str(SHIPPED_SPEC))
        assert spec is not None
        self._open(Path(spec.files.get("onnx", "")), spec, "auto")
